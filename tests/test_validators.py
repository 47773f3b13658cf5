"""hassfest's and HACS's checks, ported in tests/validators, pass on this repository and catch real defects.

The rules validate whatever the integration holds, so they keep applying as platforms, services and strings
are added. Each rule is also shown to fail on a copy of the repository with one defect seeded, and the hassfest
schemas to accept every core integration's files of the installed Home Assistant (so the port is neither
stricter nor looser than the version it follows).
"""

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.validators import hacs, hassfest

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "zephyr_ipmi"
#: Core integrations hassfest itself validates differently: special schemas (auth, onboarding, the hardware
#: firmware flows), services validated as custom (foursquare), and supported-feature filters that name enums
#: of integrations a static check does not load (ai_task, assist_satellite).
CORE_SPECIAL = {"auth", "onboarding", "homeassistant_hardware", "foursquare", "ai_task", "assist_satellite"}


@pytest.mark.parametrize("rule", sorted(hassfest.check_all(INTEGRATION)))
def test_hassfest_rule_passes(rule: str) -> None:
    """hassfest's rule passes on custom_components/zephyr_ipmi."""
    assert hassfest.check_all(INTEGRATION)[rule] == []


@pytest.mark.parametrize("check", sorted(hacs.check_hacs(ROOT)))
def test_hacs_check_passes(check: str) -> None:
    """HACS's check of the integration category passes on this repository."""
    assert hacs.check_hacs(ROOT)[check] == []


def test_quality_scale_lists_every_rule_with_an_honest_status() -> None:
    """Every rule of the current scale is listed; exempt and todo rules say why."""
    status = hassfest.quality_scale_status(INTEGRATION)
    assert set(status) == set(hassfest.ALL_RULES)
    raw = (INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8")
    for rule, value in status.items():
        if value != "done":
            assert f"  {rule}:\n    status: {value}\n    comment:" in raw, rule


def test_schemas_accept_every_core_integration() -> None:
    """The ported translations, icons and services rules accept what Home Assistant 2026.10 itself ships."""
    problems = {}
    for component in sorted(hassfest.CORE_COMPONENTS.iterdir()):
        if component.name in CORE_SPECIAL or not (component / "manifest.json").is_file():
            continue
        found = [
            *hassfest.check_translations(component, custom=False),
            *hassfest.check_icons(component),
            *hassfest.check_services(component),
        ]
        if found:
            problems[component.name] = found
    assert problems == {}


# --- each rule catches a defect ---------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the files the checks read: the integration, hacs.json, README, LICENSE, pyproject, settings."""
    copy = tmp_path / "repo"
    shutil.copytree(
        INTEGRATION, copy / "custom_components" / "zephyr_ipmi", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("hacs.json", "README.md", "LICENSE", "pyproject.toml", ".github/settings.yml"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, copy / name)
    return copy


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _strings(repo: Path, change: Callable[[dict], None]) -> None:
    for name in ("strings.json", "translations/en.json"):
        _edit_json(repo / "custom_components" / "zephyr_ipmi" / name, change)


def _set(keys: list[str], value: object) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for key in keys[:-1]:
            data = data.setdefault(key, {})
        data[keys[-1]] = value

    return change


DEFECTS: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "manifest keys out of order",
        lambda r: _edit_json(
            r / "custom_components/zephyr_ipmi/manifest.json", lambda m: m.update({"codeowners": m.pop("codeowners")})
        ),
        "manifest",
        "not sorted correctly",
    ),
    (
        "unknown manifest key",
        lambda r: _edit_json(r / "custom_components/zephyr_ipmi/manifest.json", _set(["zeroconf_name"], "bmc")),
        "manifest",
        "Invalid manifest",
    ),
    (
        "manifest without version",
        lambda r: _edit_json(r / "custom_components/zephyr_ipmi/manifest.json", lambda m: m.pop("version")),
        "manifest",
        "No 'version' key",
    ),
    (
        "unpinned requirement",
        lambda r: _edit_json(
            r / "custom_components/zephyr_ipmi/manifest.json", _set(["requirements"], ["pyghmi>=1.6"])
        ),
        "manifest",
        "must be pinned",
    ),
    (
        "HTML in a string",
        lambda r: _strings(r, _set(["config", "error", "cannot_connect"], "The BMC <b>did not</b> answer.")),
        "translations",
        "translations/en.json",
    ),
    (
        "placeholder in single quotes",
        lambda r: _strings(r, _set(["exceptions", "update_failed", "message"], "Could not read '{error}'")),
        "translations",
        "single quotes",
    ),
    (
        "data description without a field",
        lambda r: _strings(r, _set(["config", "step", "user", "data_description", "kg"], "The BMC key.")),
        "translations",
        "data_description key kg is not in data",
    ),
    (
        "entity translation key with capitals",
        lambda r: _strings(r, _set(["entity", "sensor", "Fan_Zone"], {"name": "Fan zone"})),
        "translations",
        "Invalid translation key",
    ),
    (
        "icon that is not an mdi icon",
        lambda r: _edit_json(
            r / "custom_components/zephyr_ipmi/icons.json", _set(["entity", "sensor", "fan", "default"], "fan.png")
        ),
        "icons",
        "Material Design Icons",
    ),
    (
        "service without services.yaml",
        lambda r: (r / "custom_components/zephyr_ipmi/services.yaml").unlink(),
        "services",
        "no services.yaml",
    ),
    (
        "service without translation or icon",
        lambda r: (r / "custom_components/zephyr_ipmi/services.yaml").write_text(
            (r / "custom_components/zephyr_ipmi/services.yaml").read_text()
            + "\nclear_fan_curve:\n  fields:\n    mode:\n      required: true\n      selector:\n        text:\n"
        ),
        "services",
        "no icon in icons.json",
    ),
    (
        "config flow not declared",
        lambda r: _edit_json(r / "custom_components/zephyr_ipmi/manifest.json", _set(["config_flow"], False)),
        "config_flow",
        "manifest has no 'config_flow'",
    ),
    (
        "quality scale rule left out",
        lambda r: (r / "custom_components/zephyr_ipmi/quality_scale.yaml").write_text(
            (r / "custom_components/zephyr_ipmi/quality_scale.yaml")
            .read_text()
            .replace("  docs-triggers:", "  docs-triggerz:")
        ),
        "quality_scale",
        "Invalid quality_scale.yaml",
    ),
    (
        "brands done without a brand icon",
        lambda r: (r / "custom_components/zephyr_ipmi/brand/icon.png").unlink(),
        "quality_scale",
        "[brands] marked done",
    ),
]


@pytest.mark.parametrize(("what", "seed", "rule", "message"), DEFECTS, ids=[defect[0] for defect in DEFECTS])
def test_hassfest_rule_catches(repo: Path, what: str, seed: Callable[[Path], None], rule: str, message: str) -> None:
    """With one defect seeded, its rule reports it."""
    integration = repo / "custom_components" / "zephyr_ipmi"
    assert hassfest.check_all(integration)[rule] == []
    seed(repo)
    problems = hassfest.check_all(integration)[rule]
    assert any(message in problem for problem in problems), problems


HACS_DEFECTS: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "unknown hacs.json key",
        lambda r: _edit_json(r / "hacs.json", _set(["description"], "IPMI")),
        "hacsjson",
        "not a valid option",
    ),
    (
        "manifest without issue tracker",
        lambda r: _edit_json(r / "custom_components/zephyr_ipmi/manifest.json", lambda m: m.pop("issue_tracker")),
        "integration_manifest",
        "issue_tracker",
    ),
    (
        "no brand icon",
        lambda r: (r / "custom_components/zephyr_ipmi/brand/icon.png").unlink(),
        "brands",
        "brand/icon.png",
    ),
    ("no readme", lambda r: (r / "README.md").unlink(), "information", "no information file"),
    (
        "license text of another license",
        lambda r: (r / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, ...\n"),
        "license",
        "pyproject.toml declares 'Apache-2.0'",
    ),
    ("no license", lambda r: (r / "LICENSE").unlink(), "license", "no license"),
    (
        "two integrations",
        lambda r: shutil.copytree(r / "custom_components/zephyr_ipmi", r / "custom_components/another"),
        "structure",
        "HACS installs only the first",
    ),
    (
        "no repository description",
        lambda r: (r / ".github/settings.yml").write_text("repository:\n  topics: ipmi\n"),
        "description",
        "no description",
    ),
]


@pytest.mark.parametrize(("what", "seed", "check", "message"), HACS_DEFECTS, ids=[defect[0] for defect in HACS_DEFECTS])
def test_hacs_check_catches(repo: Path, what: str, seed: Callable[[Path], None], check: str, message: str) -> None:
    """With one defect seeded, its HACS check reports it."""
    assert hacs.check_hacs(repo)[check] == []
    seed(repo)
    problems = hacs.check_hacs(repo)[check]
    assert any(message in problem for problem in problems), problems


def test_readme_images_exist_and_every_screenshot_is_shown() -> None:
    """The README (HACS renders it) shows no broken image, and docs/screenshots holds nothing unused."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"(?:\]\(|src=\")(docs/screenshots/[\w.-]+\.png)", readme))
    assert shown
    assert all((ROOT / path).is_file() for path in shown), shown
    assert {f"docs/screenshots/{path.name}" for path in (ROOT / "docs" / "screenshots").glob("*.png")} == shown
