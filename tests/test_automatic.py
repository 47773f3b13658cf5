"""Automatic fan control in Home Assistant against bmcsim over UDP on 127.0.0.1, on the simulator's clock.

The control loop's clock is the simulated BMC's (the coordinator's injected clock), so the hysteresis and the
minimum time between changes are measured in simulated seconds, as the BMC's thermal model moves.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from unittest.mock import patch

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed

from bmcsim import Simulator
from custom_components.zephyr_ipmi.automatic import ZephyrAutomaticCoordinator
from custom_components.zephyr_ipmi.ipmi.automatic import AutomaticConfigError
from custom_components.zephyr_ipmi.ipmi.automatic.reader import BmcReader

from .control_helpers import SimFactory, async_add, entity_id, sets, start_sim, state

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

#: The default control interval, written out.
INTERVAL = 30


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


def automatic(entry: ConfigEntry) -> ZephyrAutomaticCoordinator:
    """Return the automatic fan control coordinator of a loaded entry, on the simulator's clock."""
    coordinator: ZephyrAutomaticCoordinator | None = entry.runtime_data.automatic
    assert coordinator is not None
    return coordinator


def on_sim_clock(coordinator: ZephyrAutomaticCoordinator, sim: Simulator) -> None:
    coordinator.clock = lambda: float(sim.control.state()["sim_time"])
    coordinator.sleep = sim.control.tick


async def tick(hass: HomeAssistant, sim: Simulator, seconds: int = INTERVAL) -> None:
    """Let ``seconds`` pass in the simulated BMC, then in Home Assistant (the control loop runs once)."""
    sim.control.tick(seconds)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds + 1))
    await hass.async_block_till_done(wait_background_tasks=True)


async def switch(hass: HomeAssistant, entry: ConfigEntry, service: str, context: Context) -> None:
    await hass.services.async_call(
        "switch",
        service,
        {"entity_id": entity_id(hass, entry, "switch", "automatic_fan_control")},
        blocking=True,
        context=context,
    )


def zone_duty(sim: Simulator, zone: int) -> int:
    return round(sim.control.state()["fans"]["zone_duty"][zone])


async def test_default_rule_end_to_end_on_x11(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Cool: zone 0 at 24 % within one tick; past 50 °C: handed back; cool again: 24 % again, not sooner
    than the hysteresis allows. Off hands back at once."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    coordinator = automatic(entry)
    on_sim_clock(coordinator, sim)
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_OFF  # off by default
    assert sim.control.sensor("FAN1")["value"] > 2050

    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_on", admin)
    # Full mode, then zone 0 at 0x18 in the six-byte form; the peripheral zone keeps the BMC's duty.
    changes = sets(sim, seq)
    assert changes[:2] == ["45 01 01 -> 00", "70 66 01 00 18 -> 00"]
    assert all(len(line.split(" -> ")[0].split()) <= 5 for line in changes)
    assert zone_duty(sim, 0) == 24
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_ON
    assert state(hass, entry, "sensor", "automatic_state").state == "holding"
    assert state(hass, entry, "sensor", "automatic_rule_cpu").state == "quiet"
    assert state(hass, entry, "sensor", "automatic_duty_cpu").state == "24"
    assert state(hass, entry, "sensor", "automatic_rule_peripheral").state == "keep"
    # The fan control entities show the take-over at once, not at the supervision's next read.
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"
    assert state(hass, entry, "select", "fan_mode").state == "full"
    assert state(hass, entry, "fan", "fan_zone_cpu").attributes["percentage"] == 24
    await tick(hass, sim)
    assert sim.control.sensor("FAN1")["value"] == 1700

    sim.control.set_load(30)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq)[0] == "45 01 02 -> 00"  # Optimal, the mode the BMC had
    assert state(hass, entry, "sensor", "automatic_state").state == "temperature"
    assert state(hass, entry, "sensor", "automatic_rule_cpu").state == "bmc"
    assert state(hass, entry, "sensor", "automatic_duty_cpu").state == "unknown"
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert state(hass, entry, "select", "fan_mode").state == "optimal"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF

    sim.control.set_load(0)
    seq = sim.control.last_seq()
    await tick(hass, sim)  # cool now, but within 60 s of the hand-back
    assert "70 66 01 00 18 -> 00" not in sets(sim, seq)
    assert state(hass, entry, "sensor", "automatic_state").state == "waiting"
    await tick(hass, sim)
    assert "70 66 01 00 18 -> 00" in sets(sim, seq)
    assert zone_duty(sim, 0) == 24

    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_off", admin)
    assert sets(sim, seq)[0] == "45 01 02 -> 00"
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_OFF
    assert state(hass, entry, "sensor", "automatic_state").state == "off"
    # The fan control entities show the hand-back at once, not at the supervision's next read.
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert state(hass, entry, "select", "fan_mode").state == "optimal"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq) == []  # off: the loop does not run


async def test_switch_remembered_across_restarts(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """On survives a reload; the loop writes again only after its first good read."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    await switch(hass, entry, "turn_on", admin)
    assert entry.options["automatic"]["enabled"] is True
    seq = sim.control.last_seq()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # the reload handed back (unload), then the loop took the fans again after reading them
    lines = sets(sim, seq)
    assert lines[0] == "45 01 02 -> 00"
    assert "70 66 01 00 18 -> 00" in lines
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_ON

    # Home Assistant stops: the fans go back to the BMC's mode before it logs out, and the loop ticks no more.
    seq = sim.control.last_seq()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert sets(sim, seq) == ["45 01 02 -> 00"]
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert entry.options["automatic"]["enabled"] is True  # remembered for the next start


async def test_non_admin_is_refused(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_owner_user: MockUser
) -> None:
    """A user without administrator rights may not turn automatic fan control on (nothing reaches the BMC)."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    entry = await async_add(hass, sim)
    user = await hass.auth.async_create_user("Operator", group_ids=[GROUP_ID_USER])
    seq = sim.control.last_seq()
    with pytest.raises(HomeAssistantError) as excinfo:
        await switch(hass, entry, "turn_on", Context(user_id=user.id))
    assert sets(sim, seq) == []
    assert excinfo.value.translation_key == "not_allowed"
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_OFF


async def test_numbers_validate_and_apply(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, entity_registry: er.EntityRegistry
) -> None:
    """The quiet duty (30 %) applies at the next tick; FAN1's minimum speed: 300 rpm (too close to its
    lower-critical 500 rpm) is refused with its key, 2000 rpm raises zone 0 until FAN1 turns that fast."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    fan1 = next(k for k, s in automatic(entry).sensors.items() if s.name == "FAN1")
    min_rpm = entity_id(hass, entry, "number", f"automatic_min_rpm_{fan1}")
    entity_registry.async_update_entity(min_rpm, disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    duty = entity_id(hass, entry, "number", "automatic_quiet_duty_cpu")
    assert hass.states.get(duty).state == "24.0"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": duty, "value": 30}, blocking=True, context=admin
    )
    assert hass.states.get(duty).state == "30.0"
    assert entry.options["automatic"]["rules"][0]["duty"] == 30
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert "70 66 01 00 1e -> 00" in sets(sim, seq)
    assert zone_duty(sim, 0) == 30

    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": min_rpm, "value": 300}, blocking=True, context=admin
        )
    assert excinfo.value.translation_key == "fan_rpm_below_lower_critical"
    assert excinfo.value.translation_placeholders == {"rpm": "300", "minimum": "700"}
    assert "overrides" not in entry.options["automatic"]
    await hass.services.async_call(
        "number", "set_value", {"entity_id": min_rpm, "value": 2500}, blocking=True, context=admin
    )
    assert hass.states.get(min_rpm).state == "2500.0"
    await tick(hass, sim)  # FAN1 at 2100 rpm (30 %): raise to 30 x 2500 / 2100, rounded up
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 36
    assert sim.control.sensor("FAN1")["value"] >= 2500
    assert state(hass, entry, "sensor", "automatic_rule_cpu").state == "min_rpm"

    # The hysteresis: stored, and used by the running loop without a reload.
    hysteresis = entity_id(hass, entry, "number", "automatic_hysteresis")
    assert hass.states.get(hysteresis).state == "3.0"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": hysteresis, "value": 5.5}, blocking=True, context=admin
    )
    assert hass.states.get(hysteresis).state == "5.5"
    assert entry.options["automatic"]["hysteresis"] == 5.5
    assert automatic(entry).loop is not None
    assert automatic(entry).loop.settings.hysteresis == 5.5


async def test_pulsing_offer_and_tuning(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """FAN1 trips its lower-critical threshold at the quiet duty: a repair issue offers tuning; the action tunes."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    for name, value in (("lnr", 1500), ("lcr", 1800), ("lnc", 2000)):
        sim.control.set_threshold("FAN1", name, value)
    sim.control.set_policy(panic_hold=6.5)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    issue_id = f"fan_pulsing_{entry.entry_id}"
    for _ in range(30):
        await tick(hass, sim)
        if ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id):
            break
    issue = ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"name": entry.title, "fans": "FAN1"}

    fan1 = entity_id(hass, entry, "sensor", next(k for k, s in automatic(entry).sensors.items() if s.name == "FAN1"))
    seq = sim.control.last_seq()
    response = await hass.services.async_call(
        "zephyr_ipmi", "tune_fan_thresholds", {"entity_id": fan1}, blocking=True, context=admin, return_response=True
    )
    assert response == {
        "rpm": 3500.0,
        "floor_rpm": 1400.0,
        "duty": 50,
        "thresholds": {"lower_non_critical": 1000.0, "lower_critical": 800.0, "lower_non_recoverable": 600.0},
    }
    # Set Sensor Thresholds of FAN1 (0x41), mask 07h: lnc 10, lcr 8, lnr 6 counts of 100 rpm
    assert [line for line in sets(sim, seq, netfn=0x04) if line.startswith("26")] == [
        "26 41 07 0a 08 06 fd fe ff -> 00"
    ]
    assert {k: v for k, v in sim.control.sensor("FAN1")["thresholds"].items() if k[0] == "l"} == {
        "lnr": 600.0,
        "lcr": 800.0,
        "lnc": 1000.0,
    }
    for _ in range(3):
        await tick(hass, sim)
    assert sim.control.state()["fans"]["panic"] is False
    assert zone_duty(sim, 0) == 24


async def test_dell_all_fans_curve(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A curve for Dell's all fans: manual, then 0x30 0x30 0x02 0xFF <duty>; up at once, down after 60 s."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8", load=0)
    entry = await async_add(hass, sim)
    cpus = [key for key, sensor in automatic(entry).sensors.items() if sensor.name == "Temp"]
    rules = [{"type": "curve", "zone": "all", "sensors": cpus, "points": [[35, 20], [50, 30], [70, 80]]}]
    await automatic(entry).async_apply({"rules": rules})
    on_sim_clock(automatic(entry), sim)
    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_on", admin)
    duty = int(state(hass, entry, "sensor", "automatic_duty_all").state)
    assert sets(sim, seq) == ["30 01 00 -> 00", f"30 02 ff {duty:02x} -> 00"]
    assert state(hass, entry, "sensor", "automatic_rule_all").state == "curve"
    await tick(hass, sim)
    assert sim.control.sensor("Fan1")["value"] == pytest.approx(14000 * duty / 100, abs=120)
    sim.control.set_load(25)
    await tick(hass, sim)
    raised = int(state(hass, entry, "sensor", "automatic_duty_all").state)
    assert raised > duty
    sim.control.set_load(0)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq) == []  # cooler, but the last change was 30 s ago
    await tick(hass, sim)
    assert int(state(hass, entry, "sensor", "automatic_duty_all").state) < raised


async def test_lost_temperature_and_silent_bmc_hand_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """CPU Temp unreadable for two ticks: handed back at the second; a silent BMC: handed back when it answers."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    assert zone_duty(sim, 0) == 24
    sim.control.set_completion_code(0x04, 0x2D, 0xC3, data_prefix="01")  # Get Sensor Reading of CPU Temp
    await tick(hass, sim)
    assert state(hass, entry, "sensor", "automatic_state").state == "holding"
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq)[0] == "45 01 02 -> 00"
    assert state(hass, entry, "sensor", "automatic_state").state == "temperature_lost"
    sim.control.clear_completion_codes()
    await tick(hass, sim)
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 24

    sim.control.set_fault(silent=True)
    await tick(hass, sim)
    assert state(hass, entry, "sensor", "automatic_state").state == "bmc_silent"
    sim.control.set_fault(silent=False)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert "45 01 02 -> 00" in sets(sim, seq)
    assert sim.control.state()["fans"]["mode_name"] == "optimal"


async def test_entity_temperature_drives_a_curve(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A drive temperature from another integration drives the peripheral zone; unavailable means lost."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    entry = await async_add(hass, sim)
    hass.states.async_set("sensor.nas_disk", "38", {"unit_of_measurement": "°C", "device_class": "temperature"})
    rules = [
        {
            "type": "curve",
            "zone": "peripheral",
            "sensors": ["sensor.nas_disk"],
            "points": [[30, 25], [50, 65]],
            "handback": 55,
        },
    ]
    await automatic(entry).async_apply({"rules": rules, "lost_ticks": 1})
    on_sim_clock(automatic(entry), sim)
    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_on", admin)
    assert "70 66 01 01 29 -> 00" in sets(sim, seq)  # 38 °C -> 41 %
    hass.states.async_set("sensor.nas_disk", "44")
    await tick(hass, sim)
    assert zone_duty(sim, 1) == 53
    # Its integration stopped reporting 16 minutes ago: a stale temperature is no temperature.
    hass.states.async_set("sensor.nas_disk", "45", timestamp=time.time() - 16 * 60)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq)[0] == "45 01 02 -> 00"
    assert state(hass, entry, "sensor", "automatic_state").state == "temperature_lost"
    hass.states.async_set("sensor.nas_disk", "44")
    await tick(hass, sim)
    await tick(hass, sim)
    # taken again after a hand-back: at the curve's duty for 3 °C (the hysteresis) hotter, 47 °C -> 59 %
    assert zone_duty(sim, 1) == 59
    hass.states.async_set("sensor.nas_disk", "unavailable")
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq)[0] == "45 01 02 -> 00"
    assert state(hass, entry, "sensor", "automatic_state").state == "temperature_lost"


async def test_unexpected_error_in_a_tick_hands_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A defect in a tick (no BMC can show one: the reader is made to fail) hands the fans back at once."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    assert zone_duty(sim, 0) == 24
    seq = sim.control.last_seq()
    with patch.object(BmcReader, "__call__", side_effect=RuntimeError("defect")):
        await tick(hass, sim)
    assert sets(sim, seq) == ["45 01 02 -> 00"]
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "sensor", "automatic_state").state == "error"
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_ON
    await tick(hass, sim)  # within 60 s of the hand-back
    assert state(hass, entry, "sensor", "automatic_state").state == "waiting"
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 24


async def test_turned_on_after_a_duty_set_by_hand_keeps_the_other_zone_at_the_bmcs_duty(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A CPU zone duty set by hand puts the board in Full mode (the peripheral zone at 100 %); automatic fan
    control turned on then keeps the peripheral zone at the duty the BMC ran it at before, not at 100 %."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    before = zone_duty(sim, 1)
    assert before < 100
    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": 60},
        blocking=True,
        context=admin,
    )
    assert (zone_duty(sim, 0), zone_duty(sim, 1)) == (60, 100)
    await switch(hass, entry, "turn_on", admin)
    assert (zone_duty(sim, 0), zone_duty(sim, 1)) == (24, before)
    assert state(hass, entry, "sensor", "automatic_rule_peripheral").state == "keep"
    await switch(hass, entry, "turn_off", admin)
    assert sim.control.state()["fans"]["mode_name"] == "optimal"  # the mode the BMC had before the hand duty


async def test_hand_back_by_action_and_duty_changed_by_hand(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Restoring automatic fan control by action: the loop waits out the hysteresis before taking the fans
    again; a zone duty changed by hand is put back at the next tick."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    await hass.services.async_call(
        "zephyr_ipmi",
        "restore_automatic_fan_control",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        context=admin,
    )
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    await tick(hass, sim)
    assert state(hass, entry, "sensor", "automatic_state").state == "waiting"
    await tick(hass, sim)
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 24

    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": 60},
        blocking=True,
        context=admin,
    )
    assert zone_duty(sim, 0) == 60
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 24


async def test_stored_settings_that_no_longer_apply(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Settings naming a zone the BMC lacks fall back to the defaults, with a warning in the log."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    options = {**entry.options, "automatic": {"rules": [{"type": "quiet", "zone": "zone_7", "sensors": ["x"]}]}}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert [rule.zone for rule in automatic(entry).settings.rules] == ["cpu"]


async def test_no_rule_and_lost_fight(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Dell without a curve: on, but nothing to do. A lost fight shows as lost, and nothing is sent."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_on", admin)
    assert state(hass, entry, "sensor", "automatic_state").state == "no_rule"
    assert sets(sim, seq) == []
    entry.runtime_data.control.controller.lost = True
    await tick(hass, sim)
    assert state(hass, entry, "sensor", "automatic_state").state == "lost"
    assert sets(sim, seq) == []


async def test_tuning_refusals(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Tuning a sensor that is no fan, or a BMC without fan control, is refused with a translated error."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    cpu = next(k for k, s in automatic(entry).sensors.items() if s.name == "CPU Temp")
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            "zephyr_ipmi",
            "tune_fan_thresholds",
            {"entity_id": entity_id(hass, entry, "sensor", cpu)},
            blocking=True,
            context=admin,
            return_response=True,
        )
    assert excinfo.value.translation_key == "not_a_fan_sensor"
    with pytest.raises(AutomaticConfigError) as config_error:
        await automatic(entry).async_tune(cpu, "test")
    assert config_error.value.key == "tuning_not_a_fan"

    hpe = start_sim(bmc_sim_factory, "generic")
    hpe_entry = await async_add(hass, hpe)
    fan = next(k for k, s in hpe_entry.runtime_data.coordinator.sensors.items() if s.name == "FAN1")
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            "zephyr_ipmi",
            "tune_fan_thresholds",
            {"entity_id": entity_id(hass, hpe_entry, "sensor", fan)},
            blocking=True,
            context=admin,
            return_response=True,
        )
    assert excinfo.value.translation_key == "fan_control_unavailable"


async def test_tuning_on_x13_lower_critical_only(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """AST2600 (X13): only the lower-critical threshold is written; the repair flow tunes the pulsing fan."""
    sim = start_sim(bmc_sim_factory, "supermicro-x13", load=0)
    for name, value in (("lcr", 1800), ("lnc", 2000)):
        sim.control.set_threshold("FAN1", name, value)
    sim.control.set_policy(panic_hold=6.5)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    issue_id = f"fan_pulsing_{entry.entry_id}"
    for _ in range(30):
        await tick(hass, sim)
        if ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id):
            break
    assert ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id) is not None

    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    seq = sim.control.last_seq()
    flow = await manager.async_init("zephyr_ipmi", data={"issue_id": issue_id})
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"name": entry.title, "fans": "FAN1"}
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id) is None
    writes = [line for line in sets(sim, seq, netfn=0x04) if line.startswith("26")]
    assert writes == ["26 41 02 14 08 03 fd fe ff -> 00"]  # mask 02h: lower critical 800 rpm only
    assert sim.control.sensor("FAN1")["thresholds"]["lcr"] == 800.0
    await tick(hass, sim)
    assert sim.control.state()["fans"]["panic"] is False


async def test_curve_point_and_fan_limit_numbers(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, entity_registry: er.EntityRegistry
) -> None:
    """Curve points are numbers: a point out of order is refused; limits of one fan share one stored entry."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8", load=0)
    entry = await async_add(hass, sim)
    cpus = [key for key, sensor in automatic(entry).sensors.items() if sensor.name == "Temp"]
    rules = [{"type": "curve", "zone": "all", "sensors": cpus, "points": [[35, 20], [50, 30], [70, 80]]}]
    await automatic(entry).async_apply({"rules": rules})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    fan1 = next(k for k, s in automatic(entry).sensors.items() if s.name == "Fan1")
    for name in ("min_rpm", "max_rpm"):
        entity_registry.async_update_entity(
            entity_id(hass, entry, "number", f"automatic_{name}_{fan1}"), disabled_by=None
        )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    point2 = entity_id(hass, entry, "number", "automatic_curve_all_2_temperature")
    assert hass.states.get(point2).state == "50.0"
    assert hass.states.get(point2).name.endswith("All fans curve point 2 temperature")
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": point2, "value": 75}, blocking=True, context=admin
        )
    assert excinfo.value.translation_key == "curve_temperatures_not_increasing"
    duty3 = entity_id(hass, entry, "number", "automatic_curve_all_3_duty")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": duty3, "value": 90}, blocking=True, context=admin
    )
    assert entry.options["automatic"]["rules"][0]["points"][2] == [70, 90]

    min_rpm = entity_id(hass, entry, "number", f"automatic_min_rpm_{fan1}")
    max_rpm = entity_id(hass, entry, "number", f"automatic_max_rpm_{fan1}")
    assert hass.states.get(max_rpm).state == "0.0"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": min_rpm, "value": 3000}, blocking=True, context=admin
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": max_rpm, "value": 9000}, blocking=True, context=admin
    )
    assert entry.options["automatic"]["overrides"] == [{"fan": fan1, "min_rpm": 3000.0, "max_rpm": 9000.0}]
    assert hass.states.get(min_rpm).state == "3000.0"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": max_rpm, "value": 0}, blocking=True, context=admin
    )
    assert entry.options["automatic"]["overrides"] == [{"fan": fan1, "min_rpm": 3000.0, "max_rpm": None}]
    assert automatic(entry).settings.overrides[0].max_rpm is None


async def test_tuning_while_the_bmc_drives_hands_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Tuning with automatic control off: the zone runs at 50 % to measure, then goes back to the BMC."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.set_threshold("FAN1", "lcr", 1500)
    sim.control.set_threshold("FAN1", "lnc", 1700)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    fan1 = next(k for k, s in automatic(entry).sensors.items() if s.name == "FAN1")
    seq = sim.control.last_seq()
    response = await hass.services.async_call(
        "zephyr_ipmi",
        "tune_fan_thresholds",
        {"entity_id": entity_id(hass, entry, "sensor", fan1)},
        blocking=True,
        context=admin,
        return_response=True,
    )
    assert response["thresholds"] == {"lower_non_critical": 1000.0, "lower_critical": 800.0}
    lines = sets(sim, seq)
    assert lines[:2] == ["45 01 01 -> 00", "70 66 01 00 32 -> 00"]  # 50 % to measure
    assert lines[-1] == "45 01 02 -> 00"  # then back to the BMC's Optimal mode
    assert automatic(entry).control.controller.holding is False

    # a fan that gives no steady reading (stopped) is not tuned; the error is translated
    sim.control.set_fan_failed("FAN1")
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            "zephyr_ipmi",
            "tune_fan_thresholds",
            {"entity_id": entity_id(hass, entry, "sensor", fan1)},
            blocking=True,
            context=admin,
            return_response=True,
        )
    assert excinfo.value.translation_key == "tuning_no_reading"
    assert excinfo.value.translation_placeholders == {"fan": "FAN1"}
    assert sim.control.state()["fans"]["mode_name"] == "optimal"


async def test_repair_flow_failures(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """The pulsing repair aborts with a reason when tuning fails or the entry is gone; the issue stays."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    fan1 = next(k for k, s in automatic(entry).sensors.items() if s.name == "FAN1")
    automatic(entry)._pulsing_issue(frozenset({fan1}))
    issue_id = f"fan_pulsing_{entry.entry_id}"
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    sim.control.set_fan_failed("FAN1")
    flow = await manager.async_init("zephyr_ipmi", data={"issue_id": issue_id})
    result = await manager.async_configure(flow["flow_id"], {})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "not_tuned")
    assert result["description_placeholders"] == {
        "error": "Fan FAN1 gave no steady reading; its thresholds were not changed"
    }
    assert ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id) is not None

    sim.control.set_fault(silent=True)
    flow = await manager.async_init("zephyr_ipmi", data={"issue_id": issue_id})
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["reason"] == "not_tuned"
    assert result["description_placeholders"]["error"].startswith("The BMC did not answer.")
    sim.control.set_fault(silent=False)

    automatic(entry)._pulsing_issue(frozenset())
    assert ir.async_get(hass).async_get_issue("zephyr_ipmi", issue_id) is None
    automatic(entry)._pulsing_issue(frozenset({fan1}))
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state.value == "not_loaded"
    flow = await manager.async_init("zephyr_ipmi", data={"issue_id": issue_id})
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["reason"] == "not_loaded"


async def test_locked_firmware_and_diagnostics(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """iDRAC9 refusing raw fan commands (0xD4): the first write fails, the fans stay the BMC's, automatic
    control turns unavailable. Diagnostics show the settings and the last decision."""
    sim = start_sim(bmc_sim_factory, "dell-idrac9-locked", load=0)
    entry = await async_add(hass, sim)
    cpus = [key for key, sensor in automatic(entry).sensors.items() if sensor.name == "Temp"]
    await automatic(entry).async_apply(
        {"rules": [{"type": "curve", "zone": "all", "sensors": cpus, "points": [[35, 20], [70, 80]]}]}
    )
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    assert automatic(entry).data.state == "write_failed"
    await tick(hass, sim)
    assert hass.states.get(entity_id(hass, entry, "sensor", "automatic_state")).state == "unavailable"

    from custom_components.zephyr_ipmi.automatic import automatic_diagnostics

    diagnostics = automatic_diagnostics(automatic(entry))
    assert diagnostics is not None
    assert diagnostics["enabled"] is True
    assert diagnostics["settings"]["rules"][0]["zone"] == "all"
    assert diagnostics["decision"] is None or diagnostics["decision"]["action"] in ("hand_back", "idle")


async def test_diagnostics_while_holding(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    from custom_components.zephyr_ipmi.automatic import automatic_diagnostics

    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    # off, never run: nothing to hand back when it is turned off
    seq = sim.control.last_seq()
    await switch(hass, entry, "turn_off", admin)
    assert sets(sim, seq) == []
    await switch(hass, entry, "turn_on", admin)
    diagnostics = automatic_diagnostics(automatic(entry))
    assert diagnostics is not None
    assert diagnostics["holding"] is True
    assert diagnostics["decision"]["action"] == "hold"
    assert diagnostics["decision"]["writes"][0] == ["cpu", 24]
    assert diagnostics["decision"]["zones"]["cpu"]["rule"] == "quiet"
    assert diagnostics["pulsing"] == []


async def test_switch_off_while_the_bmc_is_silent_hands_back_when_it_answers(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Off while the BMC does not answer: the switch turns off, and the fans go back as soon as the BMC answers."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    assert zone_duty(sim, 0) == 24
    sim.control.set_fault(silent=True)
    await tick(hass, sim)  # the control layer's read-back finds the BMC silent too
    await switch(hass, entry, "turn_off", admin)
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_OFF
    assert zone_duty(sim, 0) == 24  # nothing reached the BMC
    sim.control.set_fault(silent=False)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert "45 01 02 -> 00" in sets(sim, seq)
    assert sim.control.state()["fans"]["mode_name"] == "optimal"


async def test_duty_set_by_hand_while_automatic_control_waits_is_handed_back_when_hot(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Automatic control on but leaving the fans to the BMC (too warm for its rule): a zone duty set by hand
    is still handed back once a temperature reaches its upper non-critical threshold."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    on_sim_clock(automatic(entry), sim)
    await switch(hass, entry, "turn_on", admin)
    assert zone_duty(sim, 0) == 24
    sim.control.set_temperature("CPU Temp", 60)  # above the quiet rule's 50 °C: the loop hands back
    await tick(hass, sim)
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "sensor", "automatic_state").state == "temperature"

    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": 30},
        blocking=True,
        context=admin,
    )
    assert zone_duty(sim, 0) == 30
    await tick(hass, sim)
    assert zone_duty(sim, 0) == 30  # warm, below its upper non-critical threshold: the owner's duty stays
    sim.control.set_temperature("CPU Temp", 82)  # over CPU Temp's upper non-critical threshold (80 °C)
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert "45 01 02 -> 00" in sets(sim, seq)  # Optimal, the mode the BMC had
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"


async def test_switch_off_while_the_first_tick_waits_hands_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """On, then off before the first tick got to the BMC (another write held it): the fans end with the BMC."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11", load=0)
    sim.control.tick(120)
    entry = await async_add(hass, sim)
    coordinator = automatic(entry)
    on_sim_clock(coordinator, sim)
    lock = coordinator.control.write_lock
    async with lock:  # a write of the same BMC is under way
        turn_on = hass.async_create_task(coordinator.async_set_enabled(True))
        for _ in range(500):  # the first tick queues behind that write
            if lock._waiters:
                break
            await asyncio.sleep(0.01)
        turn_off = hass.async_create_task(coordinator.async_set_enabled(False))
        for _ in range(500):  # off is stored before the tick ran
            if not coordinator.enabled:
                break
            await asyncio.sleep(0.01)
    await turn_on
    await turn_off
    await hass.async_block_till_done()
    assert state(hass, entry, "switch", "automatic_fan_control").state == STATE_OFF
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    seq = sim.control.last_seq()
    await tick(hass, sim)
    assert sets(sim, seq) == []
