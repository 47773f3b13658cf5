"""manifest.json and hacs.json follow hassfest's and HACS's rules for custom integrations."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
MANIFEST = json.loads((ROOT / "custom_components" / "zephyr_ipmi" / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_key_order_and_fields() -> None:
    """hassfest: domain, name, then the other keys in alphabetical order; custom integrations need a version."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST["domain"] == "zephyr_ipmi"
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] == "local_polling"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", req) for req in MANIFEST["requirements"])


def test_manifest_requirement_matches_the_tested_pin() -> None:
    """The pyghmi the integration installs is the one the test suite runs against."""
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements_test.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    for requirement in MANIFEST["requirements"]:
        name, version = requirement.split("==")
        assert pins[name] == version


def test_hacs_manifest() -> None:
    """HACS needs a name and the minimum Home Assistant version."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["name"] == MANIFEST["name"]
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", hacs["homeassistant"])


def test_frontend_pin_is_the_one_home_assistant_requires() -> None:
    """The browser test's frontend is the version the pinned Home Assistant asks for (else HA would pip it)."""
    import homeassistant

    frontend = json.loads(
        (Path(homeassistant.__file__).parent / "components" / "frontend" / "manifest.json").read_text(encoding="utf-8")
    )
    pins = {
        line.split("==", 1)[0]: line
        for line in (ROOT / "requirements_test.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    (required,) = [req for req in frontend["requirements"] if req.startswith("home-assistant-frontend==")]
    assert pins["home-assistant-frontend"] == required
