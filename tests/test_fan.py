"""Tests of the Zephyr IPMI fan platform: one fan per cooling zone, against bmcsim over UDP on 127.0.0.1."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockUser, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .control_helpers import SimFactory, async_add, async_next_interval, entity_id, sets, start_sim, state, writes

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


async def _fan(hass: HomeAssistant, service: str, fan: str, context: Context, **data: object) -> None:
    await hass.services.async_call("fan", service, {"entity_id": fan, **data}, blocking=True, context=context)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("profile", ["supermicro-x11", "dell-idrac8"])
async def test_entities(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    profile: str,
) -> None:
    """Supermicro: a fan per zone with the duty read back; Dell: All fans, and each fan (disabled)."""
    sim = start_sim(bmc_sim_factory, profile)
    entry = await async_add(hass, sim, platforms=[Platform.FAN])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_four_zone_board(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A board with four zones gets four fans: CPU zone, Peripheral zone, Zone 2 and Zone 3."""
    sim = start_sim(bmc_sim_factory, "supermicro-4zone")
    entry = await async_add(hass, sim, platforms=[Platform.FAN])
    names = [state(hass, entry, "fan", f"fan_zone_{key}").name for key in ("cpu", "peripheral", "zone_2", "zone_3")]
    assert [name.split(" ", 2)[-1] for name in names] == ["CPU zone", "Peripheral zone", "Zone 2", "Zone 3"]


async def test_set_percentage_full_mode_first(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """40 % on the CPU zone: Full mode, then the zone duty 0x28; the BMC runs it and the fans slow down."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_cpu")
    sim.control.tick(30)
    rpm_before = sim.control.sensor("FAN1")["value"]
    seq = sim.control.last_seq()

    await _fan(hass, "set_percentage", fan, admin, percentage=40)

    assert sets(sim, seq) == ["45 01 01 -> 00", "70 66 01 00 28 -> 00"]
    fans = sim.control.state()["fans"]
    assert (fans["mode_name"], fans["manual"]) == ("full", {"0": 40.0})
    cpu = state(hass, entry, "fan", "fan_zone_cpu")
    assert (cpu.state, cpu.attributes["percentage"]) == (STATE_ON, 40)
    # Full mode without a duty of its own runs the peripheral zone at 100 %, as read back.
    assert state(hass, entry, "fan", "fan_zone_peripheral").attributes["percentage"] == 100
    sim.control.tick(30)
    assert sim.control.sensor("FAN1")["value"] < rpm_before


async def test_percentage_read_back(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Under the BMC's control the percentage follows the duty the BMC reports, not a value assumed."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim, platforms=[Platform.FAN])
    before = state(hass, entry, "fan", "fan_zone_cpu")
    assert (before.state, before.attributes["percentage"]) == (STATE_OFF, 41)

    sim.control.set_load(100)
    sim.control.tick(600)
    await async_next_interval(hass, sim)

    expected = round(sim.control.state()["fans"]["zone_duty"][0])
    assert expected > 41
    assert state(hass, entry, "fan", "fan_zone_cpu").attributes["percentage"] == expected


async def test_turn_off_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Turning a zone off sends the BMC's own mode again (Optimal here); the fans keep running."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_cpu")
    await _fan(hass, "set_percentage", fan, admin, percentage=40)
    seq = sim.control.last_seq()

    await _fan(hass, "turn_off", fan, admin)

    assert sets(sim, seq) == ["45 01 02 -> 00"]
    fans = sim.control.state()["fans"]
    assert (fans["mode_name"], fans["manual"]) == ("optimal", {})
    cpu = state(hass, entry, "fan", "fan_zone_cpu")
    assert (cpu.state, cpu.attributes["percentage"]) == (STATE_OFF, 41)
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"


async def test_zero_percent_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """0 % means "off": the zone goes back to the BMC; a duty of 0 never reaches the wire."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_cpu")
    await _fan(hass, "set_percentage", fan, admin, percentage=40)
    seq = sim.control.last_seq()

    await _fan(hass, "set_percentage", fan, admin, percentage=0)
    await _fan(hass, "turn_on", fan, admin, percentage=0)

    assert sets(sim, seq) == ["45 01 02 -> 00"]
    assert not [line for line in writes(sim) if line.startswith("70 66 01") and line.split()[4] == "00"]
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF


async def test_turn_on_keeps_the_current_duty(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Turning a zone on without a percentage takes it over at the duty the BMC runs now."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _fan(hass, "turn_on", entity_id(hass, entry, "fan", "fan_zone_peripheral"), admin)

    assert sets(sim, seq) == ["45 01 01 -> 00", "70 66 01 01 29 -> 00"]
    assert state(hass, entry, "fan", "fan_zone_peripheral").attributes["percentage"] == 41


async def test_turn_on_at_full_speed_when_the_duty_is_unknown(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """X9 boards have no duty read: turning a zone on without a percentage runs it at 100 % (0xFF)."""
    sim = start_sim(bmc_sim_factory, "supermicro-x9")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _fan(hass, "turn_on", entity_id(hass, entry, "fan", "fan_zone_cpu"), admin)

    assert sets(sim, seq) == ["45 01 01 -> 00", "91 5a 03 10 ff -> 00"]


async def test_x9_duty_in_bytes(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """X9 takes the duty as 0-255: 40 % is 0x66, sent with 0x30 0x91 after Full mode."""
    sim = start_sim(bmc_sim_factory, "supermicro-x9")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _fan(hass, "set_percentage", entity_id(hass, entry, "fan", "fan_zone_cpu"), admin, percentage=40)

    assert sets(sim, seq) == ["45 01 01 -> 00", "91 5a 03 10 66 -> 00"]
    assert sim.control.state()["fans"]["manual"] == {"0": 40.0}
    # The board has no duty read: the percentage is unknown rather than assumed.
    assert state(hass, entry, "fan", "fan_zone_cpu").attributes["percentage"] is None


async def test_dell_all_fans(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Dell: manual mode first, then the duty for all fans (0xFF); off returns to automatic."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_all")
    seq = sim.control.last_seq()

    await _fan(hass, "set_percentage", fan, admin, percentage=30)

    assert sets(sim, seq) == ["30 01 00 -> 00", "30 02 ff 1e -> 00"]
    fans = sim.control.state()["fans"]
    assert (fans["manual"], fans["all_duty"]) == (True, 30.0)
    assert state(hass, entry, "fan", "fan_zone_all").state == STATE_ON

    seq = sim.control.last_seq()
    await _fan(hass, "turn_off", fan, admin)
    assert sets(sim, seq) == ["30 01 01 -> 00"]
    assert sim.control.state()["fans"]["manual"] is False


async def test_below_floor_refused(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A duty below the board's floor is refused with a translated message; nothing is sent."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    with pytest.raises(ServiceValidationError) as err:
        await _fan(hass, "set_percentage", entity_id(hass, entry, "fan", "fan_zone_cpu"), admin, percentage=5)

    assert err.value.translation_key == "duty_below_floor"
    assert str(err.value) == "The duty cycle is below this board's lowest safe duty cycle (20 %)"
    assert sets(sim, seq) == []
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
