"""Guard: the IPMI core (custom_components/zephyr_ipmi/ipmi) never imports Home Assistant."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "custom_components" / "zephyr_ipmi" / "ipmi"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_core_never_imports_homeassistant() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert {p.relative_to(CORE).as_posix() for p in files} >= {
        "control.py",
        "gate.py",
        "vendors/__init__.py",
        "vendors/supermicro.py",
        "vendors/dell.py",
    }
    offenders = {
        p.relative_to(CORE).as_posix(): name
        for p in files
        for name in _imports(p)
        if name == "homeassistant" or name.startswith("homeassistant.")
    }
    assert offenders == {}


def test_guard_sees_a_homeassistant_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom homeassistant.core import HomeAssistant\n", encoding="utf-8")
    assert "homeassistant.core" in _imports(sample)
