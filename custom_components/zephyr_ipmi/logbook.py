"""Logbook entries of Zephyr IPMI: each alert, named after its server, with its sentence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ALERT


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event[Mapping[str, Any]]], dict[str, str]]], None],
) -> None:
    """Describe ``zephyr_ipmi_alert`` events; they show on the BMC's device page through their ``device_id``."""

    @callback
    def async_describe_alert(event: Event[Mapping[str, Any]]) -> dict[str, str]:
        """Name the entry after the server: "<server> reported a critical alert: <sentence>" or "recovered: ..."."""
        data = event.data
        what = "recovered" if data.get("recovered") else f"reported a {data.get('severity', 'new')} alert"
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("server", "Zephyr IPMI")),
            LOGBOOK_ENTRY_MESSAGE: f"{what}: {data.get('message', '')}",
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe_alert)
