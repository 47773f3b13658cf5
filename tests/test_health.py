"""Health alerts end to end: bmcsim over UDP produces each event, Home Assistant shows and announces it once.

The entries use the real ``BmcClient`` over pyghmi against bmcsim on 127.0.0.1. Time is the only thing replaced:
the health monitor's clock, where a test needs the cooldown to pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.recorder import Recorder
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, STATE_ON
from homeassistant.core import Event, HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from bmcsim import Simulator
from custom_components.zephyr_ipmi.alerts import Alert
from custom_components.zephyr_ipmi.const import (
    CONF_ALERT_COOLDOWN,
    CONF_SENSOR_LIMITS,
    CONF_UNREACHABLE_POLLS,
    DOMAIN,
    EVENT_ALERT,
)
from custom_components.zephyr_ipmi.health import HealthMonitor
from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiAuthError

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

SimFactory = Callable[..., Simulator]
USER = "alert-operator"
PASSWORD = "Sel-Reader-42"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own directory (the SDR cache and health state are written there)."""
    return hass_tmp_config_dir


class Clock:
    """The health monitor's clock, moved by the test (the cooldown is minutes long)."""

    def __init__(self) -> None:
        self.now = dt_util.utcnow()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    clock = Clock()
    with patch("custom_components.zephyr_ipmi.health.dt_util.utcnow", side_effect=lambda: clock.now):
        yield clock


def _sim(factory: SimFactory, profile: str = "supermicro-x11", **kwargs: Any) -> Simulator:
    kwargs.setdefault("users", {USER: PASSWORD})
    return factory(profile, **kwargs)


async def _add(hass: HomeAssistant, sim: Simulator, options: dict[str, Any] | None = None) -> ConfigEntry:
    """Add ``sim`` through the config flow, set its options, and wait for the first health check."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry: ConfigEntry = result["result"]
    await hass.async_block_till_done()
    if options is not None:
        hass.config_entries.async_update_entry(entry, options=options)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def _poll(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Run one poll of the BMC, and the health check after it."""
    await entry.runtime_data.coordinator.async_refresh()
    await entry.runtime_data.coordinator.async_wait_poll_hooks()
    await hass.async_block_till_done()


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _monitor(entry: ConfigEntry) -> HealthMonitor:
    monitor: HealthMonitor = entry.runtime_data.health
    return monitor


def _alerts(events: list[Event]) -> list[tuple[str, bool, str, str | None]]:
    """(kind, recovered, severity, sensor) of the captured bus events."""
    return [(e.data["kind"], e.data["recovered"], e.data["severity"], e.data["sensor"]) for e in events]


def _event_entity(hass: HomeAssistant, entry: ConfigEntry) -> State:
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{entry.unique_id}_alerts")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def _device_id(hass: HomeAssistant, entry: ConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, str(entry.unique_id)), entry.entry_id)
    assert device is not None
    return device.id


def _sel_requests(sim: Simulator, since: int) -> list[tuple[int, bytes]]:
    return [(r.cmd, r.data) for r in sim.control.request_log(since=since, netfn=0x0A) if r.kind == "ipmi"]


async def test_unchanged_sel_costs_one_request_per_poll(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        # The first check took the SEL's end as its start: Get SEL Info and the last record, nothing announced.
        assert _sel_requests(sim, 0)[-2:] == [(0x40, b""), (0x43, bytes.fromhex("0000 ffff 00ff"))]
        assert events == []
        seq = sim.control.last_seq()
        for _ in range(3):
            await _poll(hass, entry)
        assert _sel_requests(sim, seq) == [(0x40, b"")] * 3
        assert events == []
        assert _event_entity(hass, entry).state == "unknown"
    finally:
        await _unload_all(hass)


async def test_chassis_intrusion_alerts_once_and_asks_for_acknowledgement(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        sim.control.set_intrusion(True)
        await _poll(hass, entry)
        await _poll(hass, entry)
        assert _alerts(events) == [("chassis_intrusion", False, "critical", "Chassis Intru")]
        data = events[0].data
        assert data["message"] == "Chassis Intru: General chassis intrusion."
        assert data["server"] == entry.title
        assert data["entry_id"] == entry.entry_id
        assert data["device_id"] == _device_id(hass, entry)
        assert Alert.from_dict(data).started is not None
        state = _event_entity(hass, entry)
        assert state.attributes["event_type"] == "chassis_intrusion"
        assert state.attributes["severity"] == "critical"
        assert state.attributes["sensor"] == "Chassis Intru"
        assert state.attributes["message"] == "Chassis Intru: General chassis intrusion."
        assert state.attributes["recovered"] is False
        tamper = er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{entry.unique_id}_20_0_{sim.control.sensor('Chassis Intru')['number']}"
        )
        assert tamper is not None
        assert hass.states.get(tamper).state == STATE_ON  # type: ignore[union-attr]
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"chassis_intrusion_{entry.entry_id}")
        assert issue is not None
        assert issue.is_fixable
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["sensor"] == "Chassis Intru"

        sim.control.set_intrusion(False)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("chassis_intrusion", True, "critical", "Chassis Intru")]
        assert events[1].data["incident_id"] == data["incident_id"]
        assert events[1].data["message"].startswith("Chassis Intru: back to normal; it lasted ")
        assert _event_entity(hass, entry).attributes["recovered"] is True
        # The owner still has to acknowledge it: the repair's confirm step does.
        issue_id = f"chassis_intrusion_{entry.entry_id}"
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
        assert await async_setup_component(hass, "repairs", {})
        flows = repairs_flow_manager(hass)
        assert flows is not None
        step = await flows.async_init(DOMAIN, context={"issue_id": issue_id})
        assert step["step_id"] == "confirm"
        assert step["description_placeholders"]["sensor"] == "Chassis Intru"
        done = await flows.async_configure(step["flow_id"], {})
        assert done["type"] is FlowResultType.CREATE_ENTRY
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        await _poll(hass, entry)
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        # A new intrusion is a new incident, to acknowledge again.
        sim.control.set_intrusion(True)
        await _poll(hass, entry)
        assert len(events) == 3
        assert events[2].data["incident_id"] != data["incident_id"]
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    finally:
        await _unload_all(hass)


async def test_restart_does_not_repeat_old_records_or_alerts(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        sim.control.set_intrusion(True)
        sim.control.add_sel_event("ecc_uncorrectable", dimm=4)
        await _poll(hass, entry)
        assert sorted(kind for kind, *_ in _alerts(events)) == ["chassis_intrusion", "memory_uncorrectable_ecc"]
        position = _monitor(entry).position
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await _poll(hass, entry)
        assert len(events) == 2
        assert _monitor(entry).position == position
        sim.control.add_sel_event("ac_lost", psu=1)
        await _poll(hass, entry)
        assert _alerts(events)[2:] == [("psu_ac_lost", False, "critical", "PS2 Status")]
    finally:
        await _unload_all(hass)


async def test_power_supply_failure_and_ac_lost(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        sim.control.set_psu_failed(psu=0)
        sim.control.set_psu_failed(psu=1, ac_lost=True)
        await _poll(hass, entry)
        assert _alerts(events) == [
            ("psu_failure", False, "critical", "PS1 Status"),
            ("psu_ac_lost", False, "critical", "PS2 Status"),
        ]
        assert events[0].data["message"] == "PS1 Status: Power supply failure detected."
        assert events[1].data["message"] == "PS2 Status: Power supply input lost (AC/DC)."
        await _poll(hass, entry)
        assert len(events) == 2
        sim.control.set_psu_failed(psu=0, failed=False)
        sim.control.set_psu_failed(psu=1, failed=False)
        await _poll(hass, entry)
        assert _alerts(events)[2:] == [
            ("psu_failure", True, "critical", "PS1 Status"),
            ("psu_ac_lost", True, "critical", "PS2 Status"),
        ]
    finally:
        await _unload_all(hass)


async def test_predictive_failure_and_lost_redundancy(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory, "dell-idrac8")
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        sim.control.set_sensor_states(sensor="PS1 Status", states=0b101)  # present, predictive failure
        sim.control.set_sensor_states(sensor="PS Redundancy", states=0b10)  # redundancy lost
        await _poll(hass, entry)
        await _poll(hass, entry)
        assert sorted(_alerts(events)) == [
            ("psu_predictive_failure", False, "warning", "PS1 Status"),
            ("psu_redundancy_lost", False, "critical", "PS Redundancy"),
        ]
        sim.control.set_sensor_states(sensor="PS1 Status", states=0b1)
        sim.control.set_sensor_states(sensor="PS Redundancy", states=0b1)  # fully redundant
        await _poll(hass, entry)
        assert sorted(_alerts(events)[2:]) == [
            ("psu_predictive_failure", True, "warning", "PS1 Status"),
            ("psu_redundancy_lost", True, "critical", "PS Redundancy"),
        ]
    finally:
        await _unload_all(hass)


async def test_memory_errors_end_after_a_quiet_cooldown(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, clock: Clock
) -> None:
    """ECC events have no lasting state on this board: one alert, then a recovery once 5 min pass without one."""
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        sim.control.add_sel_event("ecc_correctable", dimm=2)
        await _poll(hass, entry)
        clock.advance(minutes=2)
        sim.control.add_sel_event("ecc_correctable", dimm=2)
        await _poll(hass, entry)
        assert _alerts(events) == [("memory_correctable_ecc", False, "warning", "Memory sensor 0xF0")]
        assert events[0].data["message"] == (
            "Memory sensor 0xF0: Correctable ECC or other correctable memory error, DIMM 2."
        )
        clock.advance(minutes=4)
        await _poll(hass, entry)
        assert len(events) == 1
        clock.advance(minutes=2)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("memory_correctable_ecc", True, "warning", "Memory sensor 0xF0")]
        # It lasted from the first record to the last (the BMC's clock is placed in real time by Get SEL Time).
        assert events[1].data["message"] == "Memory sensor 0xF0: no further events; it lasted 2 min."
    finally:
        await _unload_all(hass)


async def test_wrong_logins_lock_an_account_out(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Five wrong passwords for another BMC user: repeated failed logins, then the lockout, one alert each."""
    sim = _sim(bmc_sim_factory, "dell-idrac8", users={USER: PASSWORD, "backup": "Right-Password-1"})
    sim.control.set_session_timeout(seconds=60, handshake=0.2)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        for _ in range(5):
            client = BmcClient("127.0.0.1", sim.port, "backup", "Wrong-Password")
            with pytest.raises(IpmiAuthError):
                await hass.async_add_executor_job(client.connect)
            await hass.async_add_executor_job(client.close)
        assert await wait_for(
            lambda: any(r.note.get("event") == "user locked" for r in sim.control.request_log(kind="event"))
        )
        await _poll(hass, entry)
        assert _alerts(events) == [
            ("failed_logins", False, "warning", "Session audit sensor 0xF1"),
            ("account_lockout", False, "critical", "Session audit sensor 0xF1"),
        ]
        assert events[0].data["message"].startswith("3 failed logins for user 3 within 15 min.")
        assert events[1].data["message"].startswith("The BMC disabled user 3 after failed logins.")
        await _poll(hass, entry)
        assert len(events) == 2
    finally:
        await _unload_all(hass)


async def test_threshold_crossing_of_the_bmc_and_of_a_monitoring_limit(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    cpu = f"20_0_{sim.control.sensor('CPU Temp')['number']}"
    options = {
        CONF_ALERT_COOLDOWN: 0,
        CONF_SENSOR_LIMITS: {f"20_0_{sim.control.sensor('System Temp')['number']}": {"warning_high": 40}},
    }
    entry = await _add(hass, sim, options)
    try:
        sim.control.set_temperature("CPU Temp", 92)
        sim.control.tick(1)
        await _poll(hass, entry)
        await _poll(hass, entry)
        assert _alerts(events) == [("threshold_crossed", False, "critical", "CPU Temp")]
        assert events[0].data["message"] == "CPU Temp is 92 °C, at or above its upper critical threshold 90 °C."
        assert events[0].data["reading"] == "92 °C"
        sim.control.set_temperature("CPU Temp", 55)
        sim.control.tick(1)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("threshold_crossed", True, "critical", "CPU Temp")]
        assert events[1].data["message"].startswith("CPU Temp is back within its thresholds (55 °C); it lasted")
        # A limit set in the options for the System Temp (the BMC's own upper thresholds are 80/85 °C).
        sim.control.set_temperature("System Temp", 45)
        sim.control.tick(1)
        await _poll(hass, entry)
        assert _alerts(events)[2:] == [("threshold_crossed", False, "warning", "System Temp")]
        assert (
            events[2].data["message"] == "System Temp is 45 °C, at or above its warning limit 40 °C set in Zephyr IPMI."
        )
        assert cpu != events[2].data["sensor"]
    finally:
        await _unload_all(hass)


async def test_failed_fan(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        sim.control.set_fan_failed("FAN2")
        sim.control.tick(30)
        await _poll(hass, entry)
        await _poll(hass, entry)
        assert _alerts(events) == [("fan_failed", False, "critical", "FAN2")]
        assert events[0].data["message"] == "FAN2 has stopped (0 rpm)."
        sim.control.set_fan_failed("FAN2", failed=False)
        sim.control.tick(30)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("fan_failed", True, "critical", "FAN2")]
        assert events[1].data["reading"] == f"{sim.control.sensor('FAN2')['value']:.0f} rpm"
    finally:
        await _unload_all(hass)


async def test_bmc_unreachable_after_n_failed_polls(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory, "generic")
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0, CONF_UNREACHABLE_POLLS: 2})
    try:
        sim.control.set_fault(silent=True)
        await _poll(hass, entry)
        assert events == []
        await _poll(hass, entry)
        assert _alerts(events) == [("bmc_unreachable", False, "critical", None)]
        assert events[0].data["message"] == "The BMC did not answer 2 polls in a row."
        assert _event_entity(hass, entry).attributes["event_type"] == "bmc_unreachable"
        sim.control.set_fault(silent=False)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("bmc_unreachable", True, "critical", None)]
        assert events[1].data["message"].startswith("The BMC answers again; it lasted")
    finally:
        await _unload_all(hass)


async def test_sel_nearly_full_and_cleared(hass: HomeAssistant, bmc_sim_factory: SimFactory, clock: Clock) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        sim.control.fill_sel("login_failed")
        await _poll(hass, entry)
        assert ("sel_nearly_full", False, "critical", None) in _alerts(events)
        full = next(e for e in events if e.data["kind"] == "sel_nearly_full")
        assert full.data["message"] == (
            "The event log (SEL) is full (512 of 512 records): the BMC drops new events, "
            "and some boards run every fan at 100 %."
        )
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"sel_nearly_full_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_placeholders == {"server": entry.title, "fill": "100 %"}
        sim.control.clear_sel()
        clock.advance(minutes=1)
        await _poll(hass, entry)
        clock.advance(minutes=5)
        await _poll(hass, entry)
        assert ("sel_nearly_full", True, "critical", None) in _alerts(events)
        assert ir.async_get(hass).async_get_issue(DOMAIN, f"sel_nearly_full_{entry.entry_id}") is None
    finally:
        await _unload_all(hass)


async def test_fan_control_lost_hook(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        _monitor(entry).async_fan_control(True, zone="cpu", detail="The BMC went back to Full mode 4 times.")
        await hass.async_block_till_done()
        assert _alerts(events) == [("fan_control_lost", False, "critical", None)]
        assert events[0].data["message"] == (
            "Zephyr IPMI lost control of fan zone cpu; the BMC runs them. The BMC went back to Full mode 4 times."
        )
        _monitor(entry).async_fan_control(True, zone="cpu")  # still lost: no second alert
        await hass.async_block_till_done()
        _monitor(entry).async_fan_control(False, zone="cpu")
        await hass.async_block_till_done()
        assert _alerts(events)[1:] == [("fan_control_lost", True, "critical", None)]
        assert events[1].data["message"].startswith("Zephyr IPMI controls fan zone cpu again; it lasted")
    finally:
        await _unload_all(hass)


async def test_rejected_login_of_zephyr(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = _sim(bmc_sim_factory, "generic")
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        sim.control.set_credentials(USER, "Changed-On-The-BMC")
        sim.control.restart_bmc(0)
        await _poll(hass, entry)  # the session is gone: fails after the retransmissions
        await _poll(hass, entry)  # logs in again: rejected
        assert _alerts(events) == [("failed_logins", False, "warning", None)]
        assert events[0].data["message"] == (
            "The BMC rejected the user name or password Zephyr IPMI logs in with; "
            "reauthenticate the BMC in Home Assistant."
        )
        sim.control.set_credentials(USER, PASSWORD)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("failed_logins", True, "warning", None)]
    finally:
        await _unload_all(hass)


async def test_flapping_sensor_gives_one_alert_per_cooldown(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, clock: Clock
) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        for _ in range(4):
            for celsius in (92, 60):
                sim.control.set_temperature("CPU Temp", celsius)
                sim.control.tick(1)
                clock.advance(minutes=1)
                await _poll(hass, entry)
        assert _alerts(events) == [("threshold_crossed", False, "critical", "CPU Temp")]
        clock.advance(minutes=5)
        await _poll(hass, entry)
        assert _alerts(events)[1:] == [("threshold_crossed", True, "critical", "CPU Temp")]
    finally:
        await _unload_all(hass)


async def test_device_triggers_listed_and_firing(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """ "When server X reports chassis intrusion" is a device trigger an automation built in the UI can use."""
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim, {CONF_ALERT_COOLDOWN: 0})
    try:
        device_id = _device_id(hass, entry)
        triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device_id)
        listed = {(t["type"], t["subtype"]) for t in triggers if t["domain"] == DOMAIN}
        assert ("chassis_intrusion", "started") in listed
        assert ("psu_failure", "ended") in listed
        assert len(listed) == 30  # 15 alert kinds, started and ended
        assert all(t["device_id"] == device_id and t["platform"] == "device" for t in triggers)
        calls = async_mock_service(hass, "test", "automation")
        trigger = {"trigger": "device", "domain": DOMAIN, "device_id": device_id, "type": "chassis_intrusion"}
        assert await async_setup_component(
            hass,
            "automation",
            {
                "automation": [
                    {
                        "triggers": [trigger | {"subtype": "started"}],
                        "actions": [
                            {"action": "test.automation", "data": {"said": "{{ trigger.event.data.message }}"}}
                        ],
                    },
                    {
                        "triggers": [trigger | {"subtype": "ended"}],
                        "actions": [{"action": "test.automation", "data": {"said": "closed"}}],
                    },
                ]
            },
        )
        sim.control.set_intrusion(True)
        await _poll(hass, entry)
        assert [call.data["said"] for call in calls] == ["Chassis Intru: General chassis intrusion."]
        sim.control.set_psu_failed(psu=0)  # another kind does not fire it
        await _poll(hass, entry)
        sim.control.set_intrusion(False)
        await _poll(hass, entry)
        assert [call.data["said"] for call in calls] == ["Chassis Intru: General chassis intrusion.", "closed"]
    finally:
        await _unload_all(hass)


async def test_alerts_in_the_logbook_of_the_device(
    recorder_mock: Recorder, hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_ws_client: WebSocketGenerator
) -> None:
    sim = _sim(bmc_sim_factory)
    assert await async_setup_component(hass, "logbook", {})
    entry = await _add(hass, sim)
    try:
        start = dt_util.utcnow()
        sim.control.set_psu_failed(psu=1)
        await _poll(hass, entry)
        await async_wait_recording_done(hass)
        client = await hass_ws_client(hass)
        await client.send_json(
            {
                "id": 1,
                "type": "logbook/get_events",
                "start_time": start.isoformat(),
                "device_ids": [_device_id(hass, entry)],
            }
        )
        response = await client.receive_json()
        assert response["success"], response
        described = [(row.get("name"), row.get("message")) for row in response["result"] if row.get("domain") == DOMAIN]
        assert described == [(entry.title, "reported a critical alert: PS2 Status: Power supply failure detected.")]
    finally:
        await _unload_all(hass)


async def test_bmc_without_sel_and_a_busy_sel(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A busy answer costs one poll's SEL read; "invalid command" means no SEL: it is not asked again."""
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        sim.control.set_completion_code(0x0A, 0x40, 0xC0, count=1)
        sim.control.set_intrusion(True)
        await _poll(hass, entry)
        assert _monitor(entry).sel_supported
        assert _alerts(events) == [("chassis_intrusion", False, "critical", "Chassis Intru")]  # from the poll
        sim.control.add_sel_event("ecc_uncorrectable", dimm=1)
        await _poll(hass, entry)
        assert [kind for kind, *_ in _alerts(events)] == ["chassis_intrusion", "memory_uncorrectable_ecc"]
        sim.control.set_completion_code(0x0A, 0x40, 0xC1)
        await _poll(hass, entry)
        assert not _monitor(entry).sel_supported
        seq = sim.control.last_seq()
        await _poll(hass, entry)
        assert _sel_requests(sim, seq) == []
        diagnostics = _monitor(entry).diagnostics()
        assert diagnostics["sel_supported"] is False
        assert diagnostics["recent_sel"] == [
            "Chassis Intru: General chassis intrusion.",
            "Memory sensor 0xF0: Uncorrectable ECC or other uncorrectable memory error, DIMM 1.",
        ]
        assert [alert["kind"] for alert in diagnostics["recent_alerts"]] == [
            "chassis_intrusion",
            "memory_uncorrectable_ecc",
        ]
        assert {incident["kind"] for incident in diagnostics["incidents"]} == {
            "chassis_intrusion",
            "memory_uncorrectable_ecc",
        }
    finally:
        await _unload_all(hass)


async def test_unreadable_saved_state_starts_from_the_sel_end(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_storage: dict[str, Any]
) -> None:
    sim = _sim(bmc_sim_factory)
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await _add(hass, sim)
    try:
        assert await hass.config_entries.async_unload(entry.entry_id)
        key = f"{DOMAIN}.health.{entry.entry_id}"
        hass_storage[key]["data"]["position"] = {"entries": "many"}
        hass_storage[key]["data"]["incidents"] = [{"kind": "chassis_intrusion"}]
        sim.control.add_sel_event("intrusion")  # logged while Home Assistant was away, then the state is lost
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert events == []
        assert _monitor(entry).position is not None
        assert _monitor(entry).position.last_record_id == sim.control.sel()[-1]["record_id"]  # type: ignore[union-attr]
    finally:
        await _unload_all(hass)


async def test_removing_the_entry_forgets_its_health_state(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_storage: dict[str, Any]
) -> None:
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim)
    sim.control.set_intrusion(True)
    await _poll(hass, entry)
    key = f"{DOMAIN}.health.{entry.entry_id}"
    assert key in hass_storage
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"chassis_intrusion_{entry.entry_id}") is not None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"chassis_intrusion_{entry.entry_id}") is None


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait until ``predicate`` holds (checked every 50 ms), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return predicate()
