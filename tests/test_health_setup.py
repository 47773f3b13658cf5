"""A BMC that does not answer while its entry is set up (Home Assistant starting, a reload): unreachable alerts.

Its entry never gets a poll until a setup succeeds, so the failed setups count like failed polls. bmcsim over
UDP on 127.0.0.1, silenced.
"""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.zephyr_ipmi.const import DOMAIN

from .control_helpers import SimFactory, async_add, start_sim

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


def _alerts(events: list[Event]) -> list[tuple[str, bool, str]]:
    return [(event.data["kind"], event.data["recovered"], event.data["message"]) for event in events]


async def _setup_again(hass: HomeAssistant, entry: ConfigEntry) -> ConfigEntryState:
    """Reload ``entry`` (one setup attempt, as a retry would make) and return its state."""
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    return entry.state


async def test_unreachable_while_setting_up(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Two unanswered setups (the option) alert once; the first poll after a setup that works recovers."""
    sim = start_sim(bmc_sim_factory, "generic")
    events = async_capture_events(hass, "zephyr_ipmi_alert")
    entry = await async_add(hass, sim)
    options = {**entry.options, "unreachable_polls": 2, "alert_cooldown": 0}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, str(entry.unique_id)), entry.entry_id)
    assert device is not None
    sim.control.set_fault(silent=True)

    assert await _setup_again(hass, entry) is ConfigEntryState.SETUP_RETRY
    assert events == []
    assert await _setup_again(hass, entry) is ConfigEntryState.SETUP_RETRY
    assert _alerts(events) == [
        ("bmc_unreachable", False, "The BMC did not answer 2 attempts in a row to set it up."),
    ]
    assert events[0].data["device_id"] == device.id
    assert events[0].data["server"] == entry.title
    assert await _setup_again(hass, entry) is ConfigEntryState.SETUP_RETRY
    assert len(events) == 1  # one alert per incident

    sim.control.set_fault(silent=False)
    assert await _setup_again(hass, entry) is ConfigEntryState.LOADED
    assert [(kind, recovered) for kind, recovered, _ in _alerts(events)] == [
        ("bmc_unreachable", False),
        ("bmc_unreachable", True),
    ]
    assert events[1].data["incident_id"] == events[0].data["incident_id"]
    assert events[1].data["message"].startswith("The BMC answers again; it lasted ")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_other_setup_errors_are_not_unreachable(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A different BMC answering at the address is not an unreachable BMC (it has its own repair issue)."""
    sim = start_sim(bmc_sim_factory, "generic")
    other = start_sim(bmc_sim_factory, "dell-idrac8")
    events = async_capture_events(hass, "zephyr_ipmi_alert")
    entry = await async_add(hass, sim)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "unreachable_polls": 1})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(entry, data={**entry.data, "port": other.port})

    assert await _setup_again(hass, entry) is ConfigEntryState.SETUP_RETRY

    assert [event.data["kind"] for event in events] == []
