"""Diagnostics of Zephyr IPMI: the entry, identity, SDR, last snapshot, recent polls, alerts and fan control."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .automatic import automatic_diagnostics
from .coordinator import ZephyrConfigEntry
from .delivery import is_channels_entry
from .delivery.diagnostics import async_get_channels_diagnostics
from .fan_control import control_diagnostics

TO_REDACT = {CONF_HOST, CONF_PASSWORD, CONF_USERNAME, "guid", "serial", "mac", "placeholder_guid"}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: ZephyrConfigEntry) -> dict[str, Any]:
    """Return what a bug report needs, without credentials, address, GUID or serial number."""
    if is_channels_entry(entry):
        return await async_get_channels_diagnostics(hass, entry)
    coordinator = entry.runtime_data.coordinator
    return {
        "entry": {
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": dict(entry.options),
        },
        "identity": async_redact_data(asdict(coordinator.identity), TO_REDACT),
        "sdr": [asdict(sensor) for sensor in coordinator.sensors.values()],
        "snapshot": asdict(coordinator.data),
        "polls": [asdict(poll) for poll in coordinator.polls],
        "energy_kwh": coordinator.energy_kwh,
        "health": None if (health := entry.runtime_data.health) is None else health.diagnostics(),
        "control": control_diagnostics(entry.runtime_data.control),
        "automatic": automatic_diagnostics(entry.runtime_data.automatic),
    }
