"""Local ports of the repository checks Home Assistant's hassfest and HACS run on custom integrations.

Neither Docker (hassfest's image, HACS's action) nor a Home Assistant core checkout is available where the
suite runs, so the rules are written out here, each as a function that takes a path and returns the list of
problems found (empty: the rule passes). The rules follow:

- hassfest of Home Assistant 2026.10 (``script/hassfest/`` of home-assistant/core: ``manifest.py``,
  ``translations.py``, ``icons.py``, ``services.py``, ``config_flow.py``, ``quality_scale.py``), read in
  December 2026 and checked against every ``strings.json``, ``icons.json`` and ``services.yaml`` that the
  installed homeassistant 2026.10.4 package ships (``tests/test_validators.py`` runs that calibration);
- HACS's ``validate/`` checks of hacs/integration at 2.0.5-320-g324935570 (2026-08-07), which hacs/action
  runs: ``hacsjson``, ``integration_manifest``, ``brands``, ``information``, ``license``, ``description``,
  ``topics``, ``issues``, ``archived`` and the repository structure its integration category requires.

Where the core rules are stricter than the custom-integration ones (every service translated and with an
icon), the core rule is applied: Zephyr IPMI translates every string it shows.
"""
