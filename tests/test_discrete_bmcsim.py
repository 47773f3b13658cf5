"""Discrete sensors and hardware health end to end: Home Assistant, the real client, bmcsim over UDP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.template import Template
from homeassistant.helpers.translation import async_get_translations

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

SimFactory = Callable[..., Simulator]
USER, PASSWORD = "monitor", "Disc-Rete-42"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own directory: the SDR cache is written under its .storage."""
    return hass_tmp_config_dir


async def _add(hass: HomeAssistant, sim: Simulator) -> ConfigEntry:
    """Add ``sim`` through the config flow, as a user would; return the entry after its setup ran."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


async def _poll(entry: ConfigEntry) -> None:
    coordinator: ZephyrCoordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()


def _state(hass: HomeAssistant, entry: ConfigEntry, platform: str, number: int | str) -> State:
    """The state of the entity of sensor ``number`` (0x20 owner, LUN 0), or of an entity key."""
    key = f"20_0_{number}" if isinstance(number, int) else number
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert entity_id is not None, f"no {platform} entity for {key}"
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def _translated(hass: HomeAssistant, key: str) -> str:
    """The English text the frontend shows for ``entity.<key>`` of this integration."""
    translations = await async_get_translations(hass, "en", "entity", [DOMAIN])
    return str(translations[f"component.{DOMAIN}.entity.{key}"])


async def _attribute_text(hass: HomeAssistant, state: State, attribute: str) -> str:
    """An attribute as the frontend's more-info shows it: each value translated by the entity's translation key.

    Home Assistant's frontend looks a value up as ``component.<platform>.entity.<domain>.<translation
    key>.state_attributes.<attribute>.state.<value>``, shows the raw value when that has no string, and
    joins a list's values with ", ".
    """
    entry = er.async_get(hass).async_get(state.entity_id)
    assert entry is not None
    translations = await async_get_translations(hass, "en", "entity", [DOMAIN])
    values = state.attributes[attribute]
    prefix = f"component.{entry.platform}.entity.{entry.domain}.{entry.translation_key}.state_attributes.{attribute}"
    return ", ".join(translations.get(f"{prefix}.state.{value}", str(value)) for value in values)


async def _attribute_name(hass: HomeAssistant, state: State, attribute: str) -> str:
    """An attribute's name as the frontend shows it, looked up by the entity's translation key (fails without one)."""
    entry = er.async_get(hass).async_get(state.entity_id)
    assert entry is not None
    translations = await async_get_translations(hass, "en", "entity", [DOMAIN])
    key = f"{entry.domain}.{entry.translation_key}.state_attributes.{attribute}.name"
    return str(translations[f"component.{entry.platform}.entity.{key}"])


async def test_asserted_states_read_as_words(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A failed power supply and an open chassis list their asserted states in words; names stay the BMC's."""
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD})
    entry = await _add(hass, sim)
    sim.control.set_psu_failed(1)
    sim.control.set_intrusion(True)
    await _poll(entry)

    psu2 = _state(hass, entry, "binary_sensor", 0xC9)
    assert psu2.state == STATE_ON
    assert psu2.attributes["friendly_name"].endswith(" PS2 Status")
    assert psu2.attributes["asserted"] == ["presence_detected", "failure_detected"]
    assert await _attribute_text(hass, psu2, "asserted") == "Presence detected, Power supply failure detected"
    assert await _translated(hass, "binary_sensor.power_supply.state_attributes.asserted.name") == "Asserted states"

    intrusion = _state(hass, entry, "binary_sensor", 0xAA)
    assert intrusion.state == STATE_ON
    assert intrusion.attributes["friendly_name"].endswith(" Chassis Intru")
    assert await _attribute_text(hass, intrusion, "asserted") == "General chassis intrusion"


async def test_dell_discrete_sensors(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Every discrete sensor of a PowerEdge becomes an entity that reads as ipmitool's event column does."""
    sim = bmc_sim_factory("dell-idrac8", users={USER: PASSWORD})
    entry = await _add(hass, sim)

    # One meaning: binary sensors with a device class.
    binaries: dict[int, tuple[str, str]] = {
        0x62: ("PS1 Status", "problem"),
        0x63: ("PS2 Status", "problem"),
        0x73: ("Intrusion", "tamper"),
        0x11: ("ROMB Battery", "problem"),
    }
    for number, (name, device_class) in binaries.items():
        state = _state(hass, entry, "binary_sensor", number)
        assert (state.state, state.attributes["device_class"]) == (STATE_OFF, device_class), name
        assert state.attributes["friendly_name"].endswith(f" {name}")
    assert _state(hass, entry, "binary_sensor", 0x62).attributes["asserted"] == ["presence_detected"]

    # Several meanings: enum sensors whose state is the asserted state's key.
    enums: dict[int, tuple[str, str]] = {
        0x60: ("CPU1 Status", "presence_detected"),
        0x61: ("CPU2 Status", "presence_detected"),
        0x74: ("PS Redundancy", "fully_redundant"),
        0x75: ("Fan Redundancy", "fully_redundant"),
        0x71: ("OS Watchdog", "ok"),
        0x80: ("Drive 0", "drive_present"),
        0x8C: ("Cable SAS A", "connected"),
    }
    for number, (name, expected) in enums.items():
        state = _state(hass, entry, "sensor", number)
        assert state.state == expected, name
        assert state.attributes["device_class"] == "enum"
        assert expected in state.attributes["options"]
        assert state.attributes["problem"] is False
    assert "drive_fault" in _state(hass, entry, "sensor", 0x80).attributes["options"]
    assert await _translated(hass, "sensor.drive_slot.state.drive_present") == "Drive present"
    assert await _translated(hass, "sensor.redundancy.state.fully_redundant") == "Fully redundant"
    assert _state(hass, entry, "binary_sensor", "hardware_health").state == STATE_OFF

    # A drive fails and the RAID controller starts a rebuild on the hot spare.
    sim.control.set_sensor_states("Drive 0", 0b0000_0011)
    sim.control.set_sensor_states("CPU1 Status", 0b0100_1000_0000)  # present and throttled
    await _poll(entry)
    drive = _state(hass, entry, "sensor", 0x80)
    assert drive.state == "drive_fault"
    assert drive.attributes["asserted"] == ["drive_present", "drive_fault"]
    assert await _attribute_text(hass, drive, "asserted") == "Drive present, Drive fault"
    assert drive.attributes["problem"] is True
    assert await _translated(hass, "sensor.drive_slot.state.drive_fault") == "Drive fault"
    assert _state(hass, entry, "sensor", 0x60).state == "throttled"

    sim.control.set_sensor_states("Drive 0", 0b1000_0001)
    sim.control.set_sensor_states("OS Watchdog", 0b0010)
    await _poll(entry)
    assert _state(hass, entry, "sensor", 0x80).state == "rebuild_in_progress"
    assert _state(hass, entry, "sensor", 0x71).state == "hard_reset"


async def test_pulled_power_supply_is_a_problem(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A power supply pulled out (presence deasserted) turns its problem sensor on; redundancy is lost."""
    sim = bmc_sim_factory("dell-idrac8", users={USER: PASSWORD})
    entry = await _add(hass, sim)
    assert _state(hass, entry, "binary_sensor", 0x63).state == STATE_OFF

    sim.control.set_psu_present(1, False)
    await _poll(entry)
    psu2 = _state(hass, entry, "binary_sensor", 0x63)
    assert psu2.state == STATE_ON
    assert psu2.attributes["asserted"] == []
    assert _state(hass, entry, "binary_sensor", 0x62).state == STATE_OFF
    assert _state(hass, entry, "sensor", 0x74).state == "redundancy_lost"
    assert _state(hass, entry, "sensor", 0x74).attributes["problem"] is True
    assert float(_state(hass, entry, "sensor", 0x6B).state) == 0.0  # Current 2

    sim.control.set_psu_present(1, True)
    await _poll(entry)
    assert _state(hass, entry, "binary_sensor", 0x63).state == STATE_OFF
    assert _state(hass, entry, "sensor", 0x74).state == "fully_redundant"


async def test_hardware_health(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A failed fan below its lower critical threshold makes hardware health a problem that names it."""
    sim = bmc_sim_factory("dell-idrac8", users={USER: PASSWORD})
    entry = await _add(hass, sim)
    health = _state(hass, entry, "binary_sensor", "hardware_health")
    assert health.state == STATE_OFF
    assert {"non_recoverable", "critical", "non_critical", "entity_ids"}.isdisjoint(health.attributes)
    assert await _translated(hass, "binary_sensor.hardware_health.name") == "Hardware health"

    sim.control.set_fan_failed("Fan2")
    sim.control.tick(30)
    await _poll(entry)
    fan2 = _state(hass, entry, "sensor", 0x31)
    assert float(fan2.state) == 0.0
    assert fan2.attributes["status"] == "critical"
    assert (fan2.attributes["lower_critical"], fan2.attributes["threshold_unit"]) == (360.0, "rpm")
    assert await _translated(hass, "sensor.threshold_sensor.state_attributes.status.state.critical") == "Critical"
    health = _state(hass, entry, "binary_sensor", "hardware_health")
    assert health.state == STATE_ON
    assert (health.attributes["critical"], health.attributes["entity_ids"]) == (["Fan2"], [fan2.entity_id])
    assert await _attribute_name(hass, health, "critical") == "Critical"
    assert await _attribute_name(hass, health, "entity_ids") == "Sensor entities"
    # Usable in automations: a condition on a sensor's name, and the readings through the entity ids.
    condition = Template(f"{{{{ 'Fan2' in (state_attr('{health.entity_id}', 'critical') or []) }}}}", hass)
    assert condition.async_render() is True
    readings = Template(
        f"{{% for e in state_attr('{health.entity_id}', 'entity_ids') %}}"
        "{{ states(e) }} {{ state_attr(e, 'unit_of_measurement') }} ({{ state_attr(e, 'status') }})"
        "{% endfor %}",
        hass,
    )
    assert readings.async_render(parse_result=False) == "0.0 rpm (critical)"
    assert _state(hass, entry, "sensor", 0x75).state == "redundancy_lost"

    sim.control.set_fan_failed("Fan2", False)
    sim.control.tick(30)
    await _poll(entry)
    assert _state(hass, entry, "binary_sensor", "hardware_health").state == STATE_OFF
    assert _state(hass, entry, "sensor", 0x75).state == "fully_redundant"


async def test_shared_compact_record(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A compact record shared by two power supplies gives one entity each, numbered as the BMC numbers them."""
    sim: Any = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD})
    # Share count 2, numeric modifier, offset 1: sensors E4h "PSU 1" and E5h "PSU 2".
    sim.control.set_fault(sdr_quirks=["compact_share"])
    entry = await _add(hass, sim)
    first, second = _state(hass, entry, "binary_sensor", 0xE4), _state(hass, entry, "binary_sensor", 0xE5)
    assert first.attributes["friendly_name"].endswith(" PSU 1")
    assert second.attributes["friendly_name"].endswith(" PSU 2")
    assert (first.state, second.state) == (STATE_OFF, STATE_OFF)

    sim.control.set_psu_present(1, False)
    await _poll(entry)
    assert _state(hass, entry, "binary_sensor", 0xE4).state == STATE_OFF
    assert _state(hass, entry, "binary_sensor", 0xE5).state == STATE_ON
