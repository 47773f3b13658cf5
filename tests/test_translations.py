"""Tests that every string the integration uses is translated, and strings.json matches en.json."""

import json
import re
from pathlib import Path

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "zephyr_ipmi"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))


def test_english_matches_strings() -> None:
    """translations/en.json is a copy of strings.json."""
    assert json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8")) == STRINGS


def test_used_keys_translated() -> None:
    """Every translation key, exception key and abort reason in the code has a string."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in INTEGRATION.glob("*.py"))
    exceptions = set(re.findall(r'translation_key="(\w+)"', source)) - {
        key for platform in STRINGS["entity"].values() for key in platform
    }
    assert exceptions <= set(STRINGS["exceptions"])
    for platform, keys in (
        ("sensor", {"dcmi_power", "dcmi_energy", "fan"}),
        ("binary_sensor", {"bmc_connectivity", "chassis_power"}),
    ):
        assert keys <= set(STRINGS["entity"][platform])
    assert set(re.findall(r'reason="(\w+)"', source)) <= set(STRINGS["config"]["abort"])
    used = set(re.findall(r'error = "(\w+)"', source)) | set(re.findall(r'\{CONF_\w+: "(\w+)"\}', source))
    assert used == set(STRINGS["config"]["error"])
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    for platform, keys in icons["entity"].items():
        assert set(keys) <= set(STRINGS["entity"][platform])
