"""Logbook entries of Zephyr IPMI: each alert, named after its server, and each audited write to a BMC.

An audit entry reads as one English sentence for the owner ("CPU zone set to 40 % (read back 40 %)"); its
bytes, completion code and actor stay in the diagnostics' audit trail. Logbook messages of custom
integrations are not translated, so the sentences are plain English, built from the tables below (every
command name and reason the write gate, the fan control and the actions record has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_ICON, LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ALERT, EVENT_AUDIT

MODE_NAMES: Final = {
    "standard": "Standard",
    "full": "Full",
    "optimal": "Optimal",
    "pue2": "PUE2",
    "heavy_io": "Heavy IO",
    "automatic": "Automatic",
    "manual": "Manual",
}
"""Fan modes as the fan mode select shows them."""

#: Chassis Control byte 1 (IPMI 2.0 §28.3, Table 28-4): (what was asked, what was done).
CHASSIS_ACTIONS: Final = {
    0x00: ("powering the server off", "server powered off"),
    0x01: ("powering the server on", "server powered on"),
    0x02: ("power cycling the server", "server power cycled"),
    0x03: ("resetting the server", "server reset"),
    0x05: ("shutting the server down", "server asked to shut down"),
}

#: Commands refused by Home Assistant before they reached the BMC (an entity's action or a service call).
REQUESTS: Final = {
    "write": "a write",
    "turn_on": "turning a switch on",
    "turn_off": "turning a fan or switch off",
    "press": "pressing a button",
    "set_duty": "setting a fan speed",
    "select_option": "choosing a fan mode",
    "restore_automatic_fan_control": "handing the fans back to the BMC",
    "set_fan_thresholds": "setting fan thresholds",
    "tune_fan_thresholds": "tuning fan thresholds",
    "send_raw_command": "sending a raw IPMI command",
    "clear_event_log": "clearing the event log",
}

REFUSALS: Final = {
    "not_allowed": "only administrators may do this (see the options)",
    "duty_zero": "0 % would stop the fans",
    "duty_below_floor": "below the lowest duty this BMC allows",
    "duty_out_of_range": "a duty must be from 1 to 100 %",
    "unknown_zone": "this BMC has no such fan zone",
    "unknown_mode": "this BMC has no such fan mode",
    "identity_unconfirmed": "the BMC at this address could not be confirmed as this server's",
    "fan_control_lost": "the BMC keeps taking fan control back",
    "control_closing": "the integration is stopping",
    "not_supported": "this BMC does not offer it",
    "identify_interval_invalid": "the locator light takes 0 to 255 seconds",
    "threshold_invalid": "the thresholds are out of order or on the wrong side of the reading",
    "threshold_not_settable": "this sensor does not let that threshold be set",
    "raw_command_invalid": "the command is malformed",
    "raw_command_forbidden": "the command could change users, passwords, network settings or firmware",
    "hpe_no_ipmi_fan_control": "HPE iLO does not offer fan control over IPMI",
    "generic_monitoring_only": "this BMC is monitored only",
    "supermicro_fan_commands_unanswered": "this Supermicro BMC does not answer fan commands",
    "firmware_refuses_raw_fan_commands": "the BMC firmware refuses fan commands",
    "x14_lockdown": "the BMC's fan lockdown is on",
}

HAND_BACKS: Final = {
    "unload": "the integration was reloaded or removed",
    "stop": "Home Assistant stopped",
    "restart": "left over from before a restart",
    "bmc_returned": "the BMC answers again after an outage",
    "temperature": "a temperature reached its limit",
    "guard": "a BMC temperature reached its upper threshold",
    "temperature_lost": "a rule's temperature could not be read",
    "bmc_silent": "the BMC did not answer",
    "reverted": "the BMC kept taking fan control back",
    "write_failed": "a fan write failed",
    "write_refused": "a fan write failed",
    "unsupervised": "fan control became unavailable while Zephyr held the fans",
    "refused": "the BMC refused a fan write",
    "no_answer": "the BMC did not answer a fan write",
    "external": "someone else handed them back",
    "stopped": "automatic fan control stopped",
    "automatic_off": "automatic fan control was turned off",
    "automatic_error": "automatic fan control failed",
    "tuned": "fan threshold tuning finished",
    "turned_off": "a fan was turned off",
    "restored": "the restore action",
    "waiting": "waiting before taking the fans again",
    "fans_quiet": "the fans are quiet",
    "no_rule": "no rule is set",
    "reading": "waiting for a temperature reading",
}

#: Completion codes (IPMI 2.0 Table 5-2) as a person reads them.
COMPLETION_CODES: Final = {
    0xC0: "busy",
    0xC1: "command not supported",
    0xC3: "timeout",
    0xC7: "wrong request length",
    0xC9: "value out of range",
    0xCC: "invalid data",
    0xD4: "insufficient privilege",
    0xD5: "not possible in the present state",
    0xD6: "function disabled",
}

OPTION_NAMES: Final = {
    "scan_interval": ("scan interval", " s"),
    "allow_non_admin_control": ("allow non-admin control", ""),
    "unreachable_polls": ("failed polls before BMC unreachable", ""),
    "alert_cooldown": ("alert cooldown", " s"),
    "cpu_temperature_warning": ("CPU temperature warning", " °C"),
    "cpu_temperature_critical": ("CPU temperature critical", " °C"),
    "temperature_warning": ("other temperature warning", " °C"),
    "temperature_critical": ("other temperature critical", " °C"),
    "sensor_limits": ("monitoring limits of sensors", ""),
    "automatic": ("automatic fan control settings", ""),
}
"""Option keys as the options pages name them, with the unit of their value."""

ICONS: Final = {
    "options": "mdi:cog",
    "chassis_control": "mdi:power",
    "identify": "mdi:lightbulb-on",
    "clear_sel": "mdi:text-box-remove",
    "set_sensor_thresholds": "mdi:tune-vertical",
    "raw": "mdi:console",
}
AUDIT_ICON: Final = "mdi:fan"
ALERT_ICON: Final = "mdi:alert"
RECOVERED_ICON: Final = "mdi:check-circle"


def _on(value: object) -> str:
    return "on" if value else "off"


def _action(data: Mapping[str, Any]) -> tuple[str, str]:
    """Return (what was asked, what was done) for an audit entry's command, e.g. ("setting ...", "... set")."""
    command = str(data.get("command"))
    subject, duty, mode, enabled = data.get("subject"), data.get("duty"), data.get("mode"), data.get("enabled")
    raw = str(data.get("data") or "")
    first = int(raw[:2], 16) if len(raw) >= 2 and all(c in "0123456789abcdefABCDEF" for c in raw[:2]) else None
    if command == "set_zone_duty":
        zone = subject or "a fan zone"
        if duty is None:
            return f"setting {zone}'s speed", f"{zone} speed set"
        return f"setting {zone} to {duty} %", f"{zone} set to {duty} %"
    if command == "set_fan_mode":
        if mode is None:
            return "setting the fan mode", "fan mode set"
        return f"setting the fan mode to {MODE_NAMES.get(mode, mode)}", f"fan mode set to {MODE_NAMES.get(mode, mode)}"
    if command == "x14_bypass":
        return f"turning the fan control bypass {_on(enabled)}", f"fan control bypass turned {_on(enabled)}"
    if command == "set_pcie_cooling":
        if enabled is None:
            return "changing the PCIe card cooling response", "PCIe card cooling response changed"
        return (
            f"turning the PCIe card cooling response {_on(enabled)}",
            f"PCIe card cooling response turned {_on(enabled)}",
        )
    if command == "chassis_control":
        return CHASSIS_ACTIONS.get(
            -1 if first is None else first, ("changing the server's power", "server power changed")
        )
    if command == "identify":
        if first is None:
            return "blinking the locator light", "locator light blinking"
        if first == 0:
            return "turning the locator light off", "locator light turned off"
        return f"blinking the locator light for {first} s", f"locator light blinking for {first} s"
    if command == "set_sensor_thresholds":
        sensor = subject or "a sensor"
        return f"setting the thresholds of {sensor}", f"thresholds of {sensor} set"
    if command in ("clear_sel", "clear_event_log"):
        return "clearing the event log", "event log cleared"
    if command in ("raw", "send_raw_command"):
        where = f" (netfn 0x{data.get('netfn', 0):02X} cmd 0x{data.get('cmd', 0):02X})" if data.get("netfn") else ""
        return f"sending a raw IPMI command{where}", f"raw IPMI command sent{where}"
    asked = REQUESTS.get(command, f"the write {command}")
    return asked, f"{asked} done"


def _readback(command: str, value: str) -> str | None:
    """Return what the BMC reads back, in the entity's terms ("40 %", "Optimal", "on"), or None to leave out."""
    if command == "set_zone_duty" and value.isdigit():
        return f"{value} %"
    if command == "set_fan_mode" and value in MODE_NAMES:
        return MODE_NAMES[value]
    if value in ("True", "False"):
        return _on(value == "True")
    return None


def _option_value(value: object, unit: str) -> str:
    if isinstance(value, bool):
        return _on(value)
    return f"{value}{unit}"


def _describe_options(changed: Mapping[str, Any]) -> str:
    """Return "options changed: scan interval 300 s → 10 s, ..." (a setting not stored before is "set to")."""
    parts = []
    for key, (old, new) in changed.items():
        name, unit = OPTION_NAMES.get(key, (key.replace("_", " "), ""))
        if key == "automatic" and isinstance(old, dict) and isinstance(new, dict):
            rest = {k: v for k, v in old.items() if k != "enabled"} == {k: v for k, v in new.items() if k != "enabled"}
            if rest and bool(old.get("enabled")) != bool(new.get("enabled")):
                parts.append(f"automatic fan control turned {_on(new.get('enabled'))}")
                continue
        if isinstance(old, dict | list) or isinstance(new, dict | list):
            parts.append(f"{name} changed")
        elif old is None:
            parts.append(f"{name} set to {_option_value(new, unit)}")
        elif new is None:
            parts.append(f"{name} back to its default")
        else:
            parts.append(f"{name} {_option_value(old, unit)} → {_option_value(new, unit)}")
    return "options changed: " + ", ".join(parts)


def describe_audit(data: Mapping[str, Any]) -> str:
    """Return one English sentence for an audit entry, e.g. "CPU zone set to 40 % (read back 40 %)".

    ``data`` is an audit entry (``AuditRecord.as_dict`` or an option change). Hand-backs name their reason,
    refusals and errors say why; the bytes are left to the diagnostics except for raw commands.
    """
    command = str(data.get("command"))
    if command == "options":
        return _describe_options(data.get("detail") or {})
    asked, done = _action(data)
    detail = str(data.get("detail") or "")
    hand_back = ""
    if detail.startswith("hand_back:"):
        _, hand_back, detail = [*detail.split(":", 2), ""][:3]
    why = HAND_BACKS.get(hand_back, hand_back.replace("_", " "))
    handed = f"fans handed back to the BMC ({why})" if hand_back else None
    result = data.get("result")
    if result == "ok":
        shown = _readback(command, detail.removeprefix("read back ")) if detail.startswith("read back ") else None
        line = f"{done} (read back {shown})" if shown else done
        return f"{line}: {handed}" if handed else line
    if handed:
        asked = f"{asked} to hand the fans back to the BMC ({why})"
    if result == "unchanged":
        return f"{asked}: nothing sent, the BMC already had it"
    if result == "refused":
        return f"{asked} refused: {REFUSALS.get(detail, detail.replace('_', ' ') or 'no reason given')}"
    code = data.get("completion_code")
    if isinstance(code, int) and code:
        meaning = COMPLETION_CODES.get(code)
        return f"{asked} failed: the BMC answered 0x{code:02X}" + (f" ({meaning})" if meaning else "")
    return f"{asked} failed: the BMC did not answer"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event[Mapping[str, Any]]], dict[str, str]]], None],
) -> None:
    """Describe ``zephyr_ipmi_alert`` events (on the BMC's device page through their ``device_id``) and writes."""

    @callback
    def async_describe_alert(event: Event[Mapping[str, Any]]) -> dict[str, str]:
        """Name the entry after the server: "<server> reported a critical alert: <sentence>" or "recovered: ..."."""
        data = event.data
        what = "recovered" if data.get("recovered") else f"reported a {data.get('severity', 'new')} alert"
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("server", "Zephyr IPMI")),
            LOGBOOK_ENTRY_MESSAGE: f"{what}: {data.get('message', '')}",
            LOGBOOK_ENTRY_ICON: RECOVERED_ICON if data.get("recovered") else ALERT_ICON,
        }

    @callback
    def async_describe_audit_event(event: Event[Mapping[str, Any]]) -> dict[str, str]:
        """Describe one audited write, under the BMC's name."""
        return {
            LOGBOOK_ENTRY_NAME: str(event.data.get("name", DOMAIN)),
            LOGBOOK_ENTRY_MESSAGE: describe_audit(event.data),
            LOGBOOK_ENTRY_ICON: ICONS.get(str(event.data.get("command")), AUDIT_ICON),
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe_alert)
    async_describe_event(DOMAIN, EVENT_AUDIT, async_describe_audit_event)
