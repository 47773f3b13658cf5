"""Logbook entries of Zephyr IPMI: each alert, named after its server, and each audited write to a BMC."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ALERT, EVENT_AUDIT


def describe_audit(data: Mapping[str, Any]) -> str:
    """Return one line for an audit entry, e.g. "set_zone_duty (netfn 0x30 cmd 0x70 66 01 00 28): ok"."""
    command = str(data.get("command"))
    if command == "options":
        changed = data.get("detail") or {}
        return "options changed: " + ", ".join(f"{key} {old} → {new}" for key, (old, new) in changed.items())
    request = f"netfn 0x{data.get('netfn', 0):02X} cmd 0x{data.get('cmd', 0):02X}"
    if raw := data.get("data"):
        request += " " + (raw if raw == "**REDACTED**" else " ".join(raw[i : i + 2] for i in range(0, len(raw), 2)))
    line = f"{command} ({request}): {data.get('result')}"
    if (code := data.get("completion_code")) not in (None, 0):
        line += f", completion code 0x{code:02X}"
    if detail := data.get("detail"):
        line += f" ({detail})"
    return line


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
        }

    @callback
    def async_describe_audit_event(event: Event[Mapping[str, Any]]) -> dict[str, str]:
        """Describe one audited write, under the BMC's name."""
        return {
            LOGBOOK_ENTRY_NAME: str(event.data.get("name", DOMAIN)),
            LOGBOOK_ENTRY_MESSAGE: describe_audit(event.data),
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe_alert)
    async_describe_event(DOMAIN, EVENT_AUDIT, async_describe_audit_event)
