"""Every audit entry the integration can record reads as an English sentence in the logbook.

The command names, refusal reasons and hand-back reasons are collected from the integration's source (the
write requests it builds, its refusals, the hand-backs it starts, its actions and entity writes), so a new one
without a sentence fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from custom_components.zephyr_ipmi.fan_control import KNOWN_REASONS
from custom_components.zephyr_ipmi.ipmi.automatic.engine import Reason
from custom_components.zephyr_ipmi.logbook import HAND_BACKS, REFUSALS, describe_audit

PACKAGE = Path(__file__).parent.parent / "custom_components" / "zephyr_ipmi"
HAND_BACK_CALLS = {"hand_back", "async_hand_back", "_async_hand_back_locked", "_safe_state", "_hand_back", "stop"}
#: A key left in a sentence: lower-case words joined by underscores ("set_zone_duty", "not_allowed").
KEY = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _collect() -> tuple[set[str], set[str], set[str]]:
    """Return the command names, refusal reasons and hand-back reasons found in the integration's source."""
    commands: set[str] = set()
    refusals: set[str] = set()
    hand_backs: set[str] = {str(reason) for reason in Reason}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                args = [_text(arg) for arg in node.args]
                keywords = {keyword.arg: _text(keyword.value) for keyword in node.keywords}
                found: dict[str, list[str | None]] = {
                    "WriteRequest": [keywords.get("name")],
                    "async_actor": [keywords.get("command")],
                }
                commands.update(value for value in found.get(name, []) if value)
                positions = {
                    "refuse": (0, 2),
                    "_refuse": (1, 3),
                    "_check_fan_control": (1, None),
                    "async_audit_refusal": (0, 2),
                }
                if name in positions:
                    command, reason = positions[name]
                    commands.update(value for value in [args[command]] if value)
                    refusals.update(value for value in [args[reason] if reason is not None else None] if value)
                if name == "IpmiWriteRefusedError" and args and args[0]:
                    refusals.add(args[0])
                if keywords.get("fan_control_reason"):
                    refusals.add(str(keywords["fan_control_reason"]))
                if name in HAND_BACK_CALLS:
                    hand_backs.update(value for value in args if value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
                if "zephyr_action" in decorators:
                    commands.add(node.name.removeprefix("_").removeprefix("async_"))
                if node.name in HAND_BACK_CALLS:  # a default reason, as in ``stop(self, reason="stopped")``
                    hand_backs.update(value for value in map(_text, node.args.defaults) if value)
                if node.name == "async_actor":  # ``command="write"``
                    commands.update(value for value in map(_text, node.args.kw_defaults) if value)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and path.name == "services.py":
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id.startswith("SERVICE_") for t in targets):
                    commands.update(value for value in [_text(node.value)] if value)
    # Reasons a firmware refusal turns fan control off with; later fan writes are refused with them.
    return commands, refusals | KNOWN_REASONS, hand_backs


COMMANDS, REASONS, HAND_BACK_REASONS = _collect()


def test_the_walk_finds_what_the_code_records() -> None:
    """The source walk sees the known writes, refusals and hand-backs (a broken walk would test nothing)."""
    assert {
        "set_fan_mode",
        "set_zone_duty",
        "x14_bypass",
        "set_pcie_cooling",
        "chassis_control",
        "identify",
    } <= COMMANDS
    assert {
        "set_sensor_thresholds",
        "clear_sel",
        "raw",
        "turn_off",
        "set_duty",
        "send_raw_command",
        "write",
    } <= COMMANDS
    assert {"not_allowed", "duty_zero", "raw_command_forbidden", "x14_lockdown", "hpe_no_ipmi_fan_control"} <= REASONS
    assert {
        "unload",
        "stop",
        "restart",
        "temperature",
        "automatic_off",
        "tuned",
        "refused",
        "stopped",
    } <= HAND_BACK_REASONS


def _entries(command: str) -> list[dict[str, Any]]:
    """Each outcome of ``command`` as the audit trail stores it, with and without what it sets."""
    base = {"time": 1.0, "actor": "user", "command": command, "netfn": 0x30, "cmd": 0x70, "completion_code": None}
    sets = {"subject": "CPU zone", "duty": 40, "mode": "optimal", "enabled": True}
    return [
        {**base, **extra, "data": data, **outcome}
        for extra in ({}, sets)
        for data in ("", "02", "00", "66010028", "**REDACTED**")
        for outcome in (
            {"result": "ok", "completion_code": 0, "detail": None},
            {"result": "ok", "completion_code": 0, "detail": "read back 40"},
            {"result": "ok", "completion_code": 0, "detail": "read back optimal"},
            {"result": "ok", "completion_code": 0, "detail": "read back True"},
            {"result": "ok", "completion_code": 0, "detail": "read back lcr=5,lnc=7"},
            {"result": "unchanged", "detail": "40"},
            {"result": "error", "completion_code": 0xC1, "detail": None},
            {"result": "error", "completion_code": 0xA7, "detail": None},
            {"result": "error", "detail": "no_answer"},
            {"result": "refused", "detail": "not_allowed"},
        )
    ]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_reads_as_a_sentence(command: str) -> None:
    for entry in _entries(command):
        line = describe_audit(entry)
        assert not KEY.findall(line), (entry, line)
        assert "None" not in line, (entry, line)
        assert not line.startswith("the write"), (entry, line)  # the fallback for a command without text


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_refusal_reason_reads_as_a_sentence(reason: str) -> None:
    assert reason in REFUSALS
    line = describe_audit({"command": "set_zone_duty", "result": "refused", "detail": reason, "data": ""})
    assert line == f"setting a fan zone's speed refused: {REFUSALS[reason]}"
    assert not KEY.findall(line)


@pytest.mark.parametrize("reason", sorted(HAND_BACK_REASONS))
def test_every_hand_back_reason_reads_as_a_sentence(reason: str) -> None:
    assert reason in HAND_BACKS
    done = {"command": "set_fan_mode", "mode": "optimal", "result": "ok", "completion_code": 0}
    line = describe_audit({**done, "detail": f"hand_back:{reason}:read back optimal"})
    assert line == f"fan mode set to Optimal (read back Optimal): fans handed back to the BMC ({HAND_BACKS[reason]})"
    failed = describe_audit(
        {**done, "result": "error", "completion_code": None, "detail": f"hand_back:{reason}:no_answer"}
    )
    assert failed == (
        f"setting the fan mode to Optimal to hand the fans back to the BMC ({HAND_BACKS[reason]}) failed: "
        "the BMC did not answer"
    )
    assert not KEY.findall(line + failed)


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        (
            {"command": "set_zone_duty", "subject": "CPU zone", "duty": 40, "result": "ok", "detail": "read back 40"},
            "CPU zone set to 40 % (read back 40 %)",
        ),
        (
            {
                "command": "set_fan_mode",
                "mode": "optimal",
                "result": "ok",
                "detail": "hand_back:temperature:read back optimal",
            },
            "fan mode set to Optimal (read back Optimal): fans handed back to the BMC "
            "(a temperature reached its limit)",
        ),
        ({"command": "clear_sel", "netfn": 0x0A, "cmd": 0x47, "data": "0102", "result": "ok"}, "event log cleared"),
        ({"command": "chassis_control", "data": "00", "result": "ok", "completion_code": 0}, "server powered off"),
        (
            {"command": "chassis_control", "data": "03", "result": "error", "completion_code": 0xD5},
            ("resetting the server failed: the BMC answered 0xD5 (not possible in the present state)"),
        ),
        ({"command": "identify", "data": "0f", "result": "ok"}, "locator light blinking for 15 s"),
        (
            {"command": "identify", "data": "00", "result": "unchanged"},
            ("turning the locator light off: nothing sent, the BMC already had it"),
        ),
        (
            {"command": "set_sensor_thresholds", "subject": "FAN1", "result": "ok", "detail": "read back lcr=3"},
            "thresholds of FAN1 set",
        ),
        (
            {"command": "set_pcie_cooling", "enabled": False, "result": "ok", "detail": "read back False"},
            ("PCIe card cooling response turned off (read back off)"),
        ),
        (
            {
                "command": "raw",
                "netfn": 6,
                "cmd": 0x47,
                "data": "**REDACTED**",
                "result": "refused",
                "detail": "raw_command_forbidden",
            },
            "sending a raw IPMI command (netfn 0x06 cmd 0x47) refused: the command could change users, passwords, "
            "network settings or firmware",
        ),
        (
            {"command": "set_duty", "result": "refused", "detail": "not_allowed"},
            ("setting a fan speed refused: only administrators may do this (see the options)"),
        ),
        (
            {"command": "options", "result": "ok", "detail": {"scan_interval": [300, 10], "sensor_limits": [None, {}]}},
            "options changed: scan interval 300 s → 10 s, monitoring limits of sensors changed",
        ),
        (
            {"command": "options", "detail": {"automatic": [{"enabled": False, "a": 1}, {"enabled": True, "a": 1}]}},
            "options changed: automatic fan control turned on",
        ),
        (
            {"command": "options", "detail": {"alert_cooldown": [900, None], "new_option": [None, True]}},
            "options changed: alert cooldown back to its default, new option set to on",
        ),
    ],
)
def test_examples(entry: dict[str, Any], line: str) -> None:
    """What an owner reads for a few writes, written out."""
    assert describe_audit(entry) == line
