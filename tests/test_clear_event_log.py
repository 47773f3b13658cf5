"""Clear event log in Home Assistant: the action and the button empty the BMC's SEL (bmcsim over UDP).

What an owner checks: the BMC's SEL is empty, the "SEL nearly full" repair is gone with its incident recovered,
the audit trail (logbook, diagnostics) names the clear, non-admin users are refused unless allowed, and a
record logged after the clear is alerted once, while nothing logged before it is lost or repeated.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.recorder import Recorder
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN

from .control_helpers import SimFactory, async_add, control, entity_id, start_sim

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


@pytest.fixture
async def non_admin(hass: HomeAssistant, hass_owner_user: MockUser) -> Context:
    """A call made by a Home Assistant user without administrator rights."""
    user = await hass.auth.async_create_user("Operator", group_ids=[GROUP_ID_USER])
    return Context(user_id=user.id)


async def _poll(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Run one poll of the BMC, and the health check after it."""
    await entry.runtime_data.coordinator.async_refresh()
    await entry.runtime_data.coordinator.async_wait_poll_hooks()
    await hass.async_block_till_done()


async def _clear(hass: HomeAssistant, entry: ConfigEntry, context: Context) -> None:
    await hass.services.async_call(
        DOMAIN, "clear_event_log", {"config_entry_id": entry.entry_id}, blocking=True, context=context
    )


def _alerts(events: list[Event]) -> list[tuple[str, bool]]:
    return [(event.data["kind"], event.data["recovered"]) for event in events]


def _repair(hass: HomeAssistant, entry: ConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"sel_nearly_full_{entry.entry_id}")


def _clear_requests(sim: Simulator, since: int) -> list[str]:
    """Clear SEL requests (netfn 0x0A cmd 0x47) the BMC received, as "data -> cc" hex."""
    return [f"{r.data.hex(' ')} -> {r.cc:02x}" for r in sim.control.request_log(since=since, netfn=0x0A, cmd=0x47)]


async def test_clear_a_full_event_log(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_client: ClientSessionGenerator
) -> None:
    """A full SEL: the action empties it, ends the incident and its repair, and is audited for the admin."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    alerts = async_capture_events(hass, "zephyr_ipmi_alert")
    audits = async_capture_events(hass, "zephyr_ipmi_audit")
    entry = await async_add(hass, sim)
    assert sim.control.fill_sel("login_failed") == 512
    await _poll(hass, entry)
    assert ("sel_nearly_full", False) in _alerts(alerts)
    assert _repair(hass, entry) is not None
    seq = sim.control.last_seq()
    before = len(alerts)

    await _clear(hass, entry, admin)

    assert sim.control.sel() == []
    [reserve] = [bytes(r.response) for r in sim.control.request_log(since=seq, netfn=0x0A, cmd=0x42)]
    # Reservation id, "CLR", AAh (initiate erase); the BMC answers erasure completed (01h).
    assert _clear_requests(sim, seq) == [f"{reserve.hex(' ')} 43 4c 52 aa -> 00"]
    assert _repair(hass, entry) is None
    recovered = [event.data for event in alerts[before:] if event.data["kind"] == "sel_nearly_full"]
    assert [(data["recovered"], data["severity"]) for data in recovered] == [(True, "critical")]
    assert recovered[0]["message"].startswith("The event log (SEL) has room again (0 of 512 records); it lasted ")
    assert entry.runtime_data.health.tracker.get("sel_nearly_full", "sel") is None
    # The audit trail: a logbook event and the stored trail, shown in diagnostics without the user id.
    [audit] = [event.data for event in audits if event.data["command"] == "clear_sel"]
    assert (audit["actor"], audit["result"], audit["netfn"], audit["cmd"]) == (admin.user_id, "ok", 0x0A, 0x47)
    assert audit["data"] == reserve.hex() + "434c52aa"
    assert control(entry).audit[-1]["command"] == "clear_sel"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    [shown] = [item for item in diagnostics["control"]["audit"] if item["command"] == "clear_sel"]
    assert (shown["actor"], shown["result"]) == ("**REDACTED**", "ok")
    assert diagnostics["health"]["sel_fill"] == 0

    # Nothing comes back at the next polls; a record logged after the clear is alerted once.
    await _poll(hass, entry)
    assert _repair(hass, entry) is None
    assert len(alerts) == before + 1
    sim.control.tick(2)
    sim.control.add_sel_event("ecc_uncorrectable", dimm=4)
    await _poll(hass, entry)
    await _poll(hass, entry)
    assert _alerts(alerts)[before + 1 :] == [("memory_uncorrectable_ecc", False)]
    assert "DIMM 4" in alerts[-1].data["message"]


async def test_records_logged_before_the_clear_are_alerted_first(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A record logged since the last poll is read and alerted before the clear erases it; never again after."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    alerts = async_capture_events(hass, "zephyr_ipmi_alert")
    entry = await async_add(hass, sim)
    sim.control.tick(2)
    sim.control.add_sel_event("ac_lost", psu=1)

    await _clear(hass, entry, admin)

    assert sim.control.sel() == []
    assert _alerts(alerts) == [("psu_ac_lost", False)]
    assert alerts[0].data["sensor"] == "PS2 Status"
    # A cleared SEL costs one Get SEL Info per poll again; the old record is not announced twice.
    seq = sim.control.last_seq()
    await _poll(hass, entry)
    await _poll(hass, entry)
    sel_reads = [(r.cmd, r.data) for r in sim.control.request_log(since=seq, netfn=0x0A)]
    assert sel_reads == [(0x40, b""), (0x40, b"")]
    assert _alerts(alerts) == [("psu_ac_lost", False)]
    sim.control.tick(2)
    sim.control.add_sel_event("ac_lost", psu=1)
    await _poll(hass, entry)
    assert len(alerts) == 1  # the same incident (within its cooldown): refreshed, not repeated


async def test_non_admin_refused_unless_allowed(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, non_admin: Context
) -> None:
    """Users without administrator rights are refused in words (nothing sent) unless the options allow them."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    records = sim.control.sel()
    assert records
    seq = sim.control.last_seq()

    with pytest.raises(HomeAssistantError) as err:
        await _clear(hass, entry, non_admin)

    assert err.value.translation_key == "not_allowed"
    assert str(err.value).startswith("Only Home Assistant administrators may change this BMC's fans and power or clear")
    assert _clear_requests(sim, seq) == []
    assert sim.control.sel() == records

    hass.config_entries.async_update_entry(entry, options={**entry.options, "allow_non_admin_control": True})
    await hass.async_block_till_done()
    await _clear(hass, entry, non_admin)
    assert sim.control.sel() == []
    assert control(entry).audit[-1]["actor"] == non_admin.user_id


@pytest.mark.parametrize(
    ("fault", "key", "message"),
    [
        ({"code": 0xC1}, "command_refused", "The BMC refused the command (completion code 0xC1)"),
        ({"code": 0xD4}, "command_refused", "The BMC refused the command (completion code 0xD4)"),
        ({"silent": True}, "communication_error", "The BMC did not answer."),
    ],
)
async def test_clear_fails_in_words(
    hass: HomeAssistant, *, bmc_sim_factory: SimFactory, admin: Context, fault: dict[str, Any], key: str, message: str
) -> None:
    """A completion code or a silent BMC is reported in words; the SEL, the position and the repair stay."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    sim.control.fill_sel("login_failed")
    await _poll(hass, entry)
    health = entry.runtime_data.health
    position = health.position
    if "code" in fault:
        sim.control.set_completion_code(0x0A, 0x47, fault["code"])
    else:
        sim.control.set_fault(silent=True)

    with pytest.raises(HomeAssistantError) as err:
        await _clear(hass, entry, admin)

    assert err.value.translation_key == key
    assert str(err.value).startswith(message)
    sim.control.set_fault(silent=False)
    assert len(sim.control.sel()) == 512
    assert health.position == position
    assert _repair(hass, entry) is not None
    if "code" in fault:
        assert control(entry).audit[-1] | {"time": 0, "data": ""} == {
            "time": 0,
            "actor": admin.user_id,
            "command": "clear_sel",
            "netfn": 0x0A,
            "cmd": 0x47,
            "data": "",
            "completion_code": fault["code"],
            "result": "error",
            "detail": None,
        }


async def test_erasure_not_reported_done(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A BMC that never reports the erasure done: the owner is told, and the next poll reads what the BMC left.

    (bmcsim erases at once; the core's wait for the erasure status is replaced by "not done".)
    """
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    alerts = async_capture_events(hass, "zephyr_ipmi_alert")
    entry = await async_add(hass, sim)
    sim.control.tick(2)
    sim.control.add_sel_event("ecc_uncorrectable", dimm=2)

    with (
        patch("custom_components.zephyr_ipmi.ipmi.control.clear_sel", return_value=False),
        pytest.raises(HomeAssistantError) as err,
    ):
        await _clear(hass, entry, admin)

    assert err.value.translation_key == "sel_clear_unconfirmed"
    assert entry.title in str(err.value)
    # The record read before the clear was alerted; it is not announced again by the next poll.
    assert _alerts(alerts) == [("memory_uncorrectable_ecc", False)]
    await _poll(hass, entry)
    assert len(alerts) == 1


async def test_button(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser, entity_registry: er.EntityRegistry
) -> None:
    """The Clear event log button starts disabled (a configuration entity); once enabled, a press clears the SEL."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    button = entity_id(hass, entry, "button", "clear_event_log")
    registered = entity_registry.async_get(button)
    assert registered is not None
    assert (registered.disabled_by, registered.entity_category) == (er.RegistryEntryDisabler.INTEGRATION, "config")
    entity_registry.async_update_entity(button, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sim.control.add_sel_event("intrusion")
    assert sim.control.sel()

    await hass.services.async_call(
        "button", "press", {"entity_id": button}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )

    assert sim.control.sel() == []
    assert control(entry).audit[-1]["command"] == "clear_sel"
    assert control(entry).audit[-1]["actor"] == hass_admin_user.id


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_button_unavailable_without_a_sel(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A BMC whose Get SEL Info is an invalid command has no SEL to clear: the button is unavailable."""
    sim = start_sim(bmc_sim_factory, "generic")
    sim.control.set_completion_code(0x0A, 0x40, 0xC1)
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    button = entity_id(hass, entry, "button", "clear_event_log")
    await control(entry).async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(button)
    assert state is not None
    assert state.state == "unavailable"
    # The action still sends Clear SEL (administrators may know better); the BMC empties its log.
    sim.control.add_sel_event("intrusion")
    await hass.services.async_call(DOMAIN, "clear_event_log", {"config_entry_id": entry.entry_id}, blocking=True)
    assert sim.control.sel() == []
    assert control(entry).audit[-1]["result"] == "ok"


async def test_clear_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The clear and the recovery of the full SEL show in the logbook of the BMC's device (no deprecated lookups)."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    assert await async_setup_component(hass, "logbook", {})
    entry = await async_add(hass, sim)
    sim.control.fill_sel("login_failed")
    await _poll(hass, entry)
    start = dt_util.utcnow()
    seq = sim.control.last_seq()

    await hass.services.async_call(DOMAIN, "clear_event_log", {"config_entry_id": entry.entry_id}, blocking=True)

    [reserve] = [bytes(r.response) for r in sim.control.request_log(since=seq, netfn=0x0A, cmd=0x42)]

    await async_wait_recording_done(hass)
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, str(entry.unique_id)), entry.entry_id)
    assert device is not None
    client = await hass_ws_client(hass)
    await client.send_json(
        {"id": 1, "type": "logbook/get_events", "start_time": start.isoformat(), "device_ids": [device.id]}
    )
    response = await client.receive_json()
    assert response["success"], response
    rows = [(row.get("message", ""), row.get("icon")) for row in response["result"] if row.get("domain") == DOMAIN]
    assert ("event log cleared", "mdi:text-box-remove") in rows
    assert any(message.startswith("recovered: The event log (SEL) has room again") for message, _ in rows)
    assert {icon for message, icon in rows if message.startswith("recovered: ")} == {"mdi:check-circle"}
    # The bytes stay in the audit trail (diagnostics): the reservation ID, then "CLR" and AAh (initiate).
    clear = [item for item in entry.runtime_data.control.audit if item["command"] == "clear_sel"][-1]
    assert (clear["netfn"], clear["cmd"], clear["data"]) == (0x0A, 0x47, reserve.hex() + "434c52aa")
    assert "deprecated" not in caplog.text


async def test_repair_clears_the_event_log(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """The "nearly full" repair offers the clear: a refusal is shown in the form, a confirmation clears the SEL."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    sim.control.fill_sel("login_failed")
    await _poll(hass, entry)
    issue = _repair(hass, entry)
    assert issue is not None
    assert issue.is_fixable
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    step = await flows.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    assert step["step_id"] == "confirm"
    assert step["description_placeholders"] == {"server": entry.title, "fill": "100 %"}

    sim.control.set_completion_code(0x0A, 0x47, 0xC1, count=1)
    step = await flows.async_configure(step["flow_id"], {})
    assert step["type"] is FlowResultType.FORM
    assert step["errors"] == {"base": "clear_failed"}
    assert step["description_placeholders"]["error"] == "The BMC refused the command (completion code 0xC1)"
    assert len(sim.control.sel()) == 512
    assert _repair(hass, entry) is not None

    done = await flows.async_configure(step["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert sim.control.sel() == []
    assert _repair(hass, entry) is None
    assert (control(entry).audit[-1]["command"], control(entry).audit[-1]["actor"]) == (
        "clear_sel",
        "repair:sel_nearly_full",
    )
    await _poll(hass, entry)
    assert _repair(hass, entry) is None


async def test_repair_of_an_unloaded_entry(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A repair confirmed after its entry was unloaded sends nothing and says why."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    sim.control.fill_sel("login_failed")
    await _poll(hass, entry)
    issue = _repair(hass, entry)
    assert issue is not None
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    step = await flows.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    assert await hass.config_entries.async_unload(entry.entry_id)

    result = await flows.async_configure(step["flow_id"], {})

    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "not_loaded")
    assert len(sim.control.sel()) == 512
