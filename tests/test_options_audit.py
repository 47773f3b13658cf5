"""Every change of an entry's options is audited once: through each options page, and by the entities that store
options without a reload; in the logbook and in diagnostics, for BMCs with and without fan control (bmcsim)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from .control_helpers import SimFactory, async_add, entity_id, start_sim, state

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

ALERTS = {
    "unreachable_polls": 5,
    "alert_cooldown": 600,
    "cpu_temperature_warning": 80,
    "cpu_temperature_critical": 90,
    "temperature_warning": 60,
    "temperature_critical": 70,
}
LOOP = {"interval": 20, "hysteresis": 4, "min_change_interval": 90, "lost_ticks": 3}


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """Prepare the recorder's database before Home Assistant starts: the logbook reads from it."""


async def _options(hass: HomeAssistant, entry: ConfigEntry, page: str, *steps: dict[str, Any]) -> None:
    """Save one options page through the real options flow (the entry reloads)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": page})
    for step in steps:
        result = await hass.config_entries.options.async_configure(result["flow_id"], step)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()


async def _audited(hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: ConfigEntry) -> list[Any]:
    """Return the option changes in the diagnostics' audit trail (what an owner downloads)."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    return [item["detail"] for item in diagnostics["control"]["audit"] if item["command"] == "options"]


async def _logbook(hass: HomeAssistant, hass_ws_client: WebSocketGenerator, start: Any) -> list[tuple[str, str]]:
    """Return this integration's logbook entries since ``start``: (name, message)."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "logbook/get_events", "start_time": start.isoformat()})
    response = await client.receive_json()
    return [(item["name"], item["message"]) for item in response["result"] if item.get("domain") == "zephyr_ipmi"]


@pytest.mark.usefixtures("recorder_mock")
async def test_every_options_page_is_audited_once_while_zephyr_holds_the_fans(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Scan interval 300 -> 10 with the CPU zone at 40 %: the reload's hand-back does not swallow the change."""
    assert await async_setup_component(hass, "logbook", {})
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": 40},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"
    start = dt_util.utcnow()

    await _options(hass, entry, "polling", {"scan_interval": 10, "allow_non_admin_control": False})
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"  # the reload handed the fans back
    assert await _audited(hass, hass_client, entry) == [
        {"allow_non_admin_control": [None, False], "scan_interval": [None, 10]}
    ]

    await _options(hass, entry, "alerts", {**ALERTS, "alert_cooldown": 900})
    await _options(hass, entry, "alerts", {**ALERTS, "alert_cooldown": 900})  # saved unchanged: nothing to audit
    await _options(hass, entry, "polling", {"scan_interval": 300, "allow_non_admin_control": True})
    assert await _audited(hass, hass_client, entry) == [
        {"allow_non_admin_control": [None, False], "scan_interval": [None, 10]},
        {key: [None, value] for key, value in sorted({**ALERTS, "alert_cooldown": 900}.items())},
        {"allow_non_admin_control": [False, True], "scan_interval": [10, 300]},
    ]
    messages = [message for name, message in await _logbook(hass, hass_ws_client, start) if name == entry.title]
    assert [message for message in messages if message.startswith("options changed")] == [
        "options changed: allow non-admin control set to off, scan interval set to 10 s",
        "options changed: alert cooldown set to 900 s, CPU temperature critical set to 90 °C, CPU temperature "
        "warning set to 80 °C, other temperature critical set to 70 °C, other temperature warning set to 60 °C, "
        "failed polls before BMC unreachable set to 5",
        "options changed: allow non-admin control off → on, scan interval 10 s → 300 s",
    ]


async def test_automatic_page_and_switch_are_audited(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser, hass_client: ClientSessionGenerator
) -> None:
    """The automatic fan control page, and its switch (which stores the options without a reload), once each."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    await _options(hass, entry, "automatic", LOOP, {"rule": "none"}, {})
    ((changed,),) = [list(detail) for detail in await _audited(hass, hass_client, entry)]
    assert changed == "automatic"

    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": entity_id(hass, entry, "switch", "automatic_fan_control")},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    audited = await _audited(hass, hass_client, entry)
    assert len(audited) == 2
    before, after = audited[1]["automatic"]
    assert (before["enabled"], after["enabled"]) == (False, True)
    assert {key: value for key, value in after.items() if key != "enabled"} == {
        key: value for key, value in before.items() if key != "enabled"
    }
    # A reload finds nothing more to record.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert len(await _audited(hass, hass_client, entry)) == 2


async def test_options_of_a_monitoring_only_bmc_are_audited(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_client: ClientSessionGenerator
) -> None:
    """An HPE iLO 4 (no IPMI fan control) still has an audit trail for its options."""
    sim = start_sim(bmc_sim_factory, "hpe-ilo4")
    entry = await async_add(hass, sim)
    assert entry.runtime_data.automatic is None
    await _options(hass, entry, "polling", {"scan_interval": 10, "allow_non_admin_control": False})
    assert await _audited(hass, hass_client, entry) == [
        {"allow_non_admin_control": [None, False], "scan_interval": [None, 10]}
    ]
