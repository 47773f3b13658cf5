"""Tests of the Zephyr IPMI binary sensor platform."""

from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.zephyr_ipmi.ipmi import IpmiConnectionError, SensorKind, SensorReading, SensorStatus

from .conftest import SENSORS, SNAPSHOT, ok, sdr, setup_integration, states

DEVICE = "binary_sensor.supermicro_x11spm_tf"
HEALTH_STATUSES = ("non_recoverable", "critical", "non_critical")


@pytest.fixture
def platforms(freezer: FrozenDateTimeFactory) -> list[Platform]:
    """Set up only the binary sensor platform, with time already frozen."""
    return [Platform.BINARY_SENSOR]


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, after: timedelta) -> None:
    """Let ``after`` pass and run the scheduled poll."""
    freezer.tick(after)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, name: str) -> str:
    """Return the state of this BMC's binary sensor ``name``."""
    state = hass.states.get(f"{DEVICE}_{name}")
    assert state is not None
    return state.state


@pytest.mark.usefixtures("init_integration")
async def test_entities(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Connectivity, chassis power and the monitored discrete sensors; other discrete sensors are left out."""
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)
    assert hass.states.get(f"{DEVICE}_watchdog2") is None
    assert hass.states.get(f"{DEVICE}_ps_redundancy") is None


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("name", "key", "mask", "expected"),
    [
        ("chassis_intru", "20_0_170", 0b0, STATE_OFF),
        ("chassis_intru", "20_0_170", 0b1, STATE_ON),
        ("ps1_status", "20_0_202", 0b0001, STATE_OFF),  # presence detected
        ("ps1_status", "20_0_202", 0b0011, STATE_ON),  # failure detected
        ("ps1_status", "20_0_202", 0b0101, STATE_ON),  # predictive failure
        ("ps1_status", "20_0_202", 0b1001, STATE_ON),  # input lost
        ("ps1_status", "20_0_202", 0b1000001, STATE_ON),  # configuration error
        ("ps1_status", "20_0_202", 0b10000001, STATE_OFF),  # inactive (standby): a spare, not a problem
        ("ps1_status", "20_0_202", 0b0000, STATE_ON),  # removed: the SDR says it reports presence
        ("dimm_status", "20_0_210", 0b000001, STATE_ON),  # correctable ECC
        ("dimm_status", "20_0_210", 0b000010, STATE_ON),  # uncorrectable ECC
        ("dimm_status", "20_0_210", 0b100000, STATE_ON),  # correctable ECC logging limit reached
        ("dimm_status", "20_0_210", 0b001000, STATE_ON),  # memory scrub failed
        ("dimm_status", "20_0_210", 0b1000000, STATE_OFF),  # presence detected
        ("dimm_status", "20_0_210", 0b0, STATE_OFF),  # an empty DIMM slot is no problem
    ],
)
async def test_discrete_states(
    hass: HomeAssistant,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    *,
    name: str,
    key: str,
    mask: int,
    expected: str,
) -> None:
    """Each discrete sensor turns on for its type's problem offsets only; a removed power supply is a problem."""
    mock_client.poll.return_value = replace(SNAPSHOT, readings={**SNAPSHOT.readings, key: states(mask)})
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, name) == expected


@pytest.mark.usefixtures("init_integration")
async def test_unavailable(hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory) -> None:
    """A lost BMC turns connectivity off (still available) and the other sensors unavailable."""
    readings = {**SNAPSHOT.readings, "20_0_170": SensorReading(value=None, status=None, available=False)}
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings, power_on=None)
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, "bmc_connectivity") == STATE_ON
    assert _state(hass, "chassis_intru") == STATE_UNAVAILABLE
    assert _state(hass, "chassis_power") == STATE_UNAVAILABLE

    mock_client.poll.side_effect = IpmiConnectionError("no answer")
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, "bmc_connectivity") == STATE_OFF
    assert _state(hass, "ps1_status") == STATE_UNAVAILABLE

    mock_client.poll.side_effect = None
    mock_client.poll.return_value = replace(SNAPSHOT, power_on=False)
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, "bmc_connectivity") == STATE_ON
    assert _state(hass, "chassis_power") == STATE_OFF


@pytest.mark.usefixtures("init_integration")
async def test_discrete_sensor_added_later(
    hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """A discrete sensor that appears in the SDR becomes a binary sensor without a restart."""
    mock_client.check_sdr.return_value = True
    mock_client.sensors.return_value = [
        *SENSORS,
        sdr("20_0_204", "PS2 Status", SensorKind.DISCRETE, None, sensor_type=0x08, reading_type=0x6F, conversion=None),
    ]
    mock_client.poll.return_value = replace(SNAPSHOT, readings={**SNAPSHOT.readings, "20_0_204": states(0b1001)})
    await _poll(hass, freezer, timedelta(hours=1))
    assert _state(hass, "ps2_status") == STATE_ON


@pytest.mark.usefixtures("init_integration")
async def test_hardware_health(hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory) -> None:
    """Hardware health is a problem while any sensor is outside its non-critical range, naming them worst first."""
    assert _state(hass, "hardware_health") == STATE_OFF
    assert hass.states.get(f"{DEVICE}_hardware_health").attributes == {  # type: ignore[union-attr]
        "device_class": "problem",
        "friendly_name": "Supermicro X11SPM-TF Hardware health",
    }

    readings = {
        **SNAPSHOT.readings,
        "20_0_1": ok(87.0, SensorStatus.NON_CRITICAL),
        "20_0_65": ok(400.0, SensorStatus.CRITICAL),
        # A sensor without a reading tells nothing about its range.
        "20_0_2": SensorReading(value=None, status=SensorStatus.CRITICAL, available=False),
    }
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await _poll(hass, freezer, timedelta(seconds=300))
    health = hass.states.get(f"{DEVICE}_hardware_health")
    assert health is not None
    assert health.state == STATE_ON
    assert health.attributes["device_class"] == "problem"
    # Worst status first. Only the binary sensor platform is set up here, so the sensors have no entity ids.
    statuses = [(key, value) for key, value in health.attributes.items() if key in HEALTH_STATUSES]
    assert statuses == [("critical", ["FAN1"]), ("non_critical", ["CPU Temp"])]
    assert "entity_ids" not in health.attributes

    readings["20_0_65"] = ok(1800.0)
    readings["20_0_1"] = ok(47.0)
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, "hardware_health") == STATE_OFF

    mock_client.poll.side_effect = IpmiConnectionError("no answer")
    await _poll(hass, freezer, timedelta(seconds=300))
    assert _state(hass, "hardware_health") == STATE_UNAVAILABLE


async def test_hardware_health_names_sensor_entities(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """With the sensor platform loaded, each offending sensor carries its entity id (from the next poll on)."""
    readings = {**SNAPSHOT.readings, "20_0_65": ok(25400.0, SensorStatus.NON_RECOVERABLE)}
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await setup_integration(hass, mock_config_entry, [Platform.SENSOR, Platform.BINARY_SENSOR])
    await _poll(hass, freezer, timedelta(seconds=300))
    health = hass.states.get(f"{DEVICE}_hardware_health")
    assert health is not None
    assert health.attributes["non_recoverable"] == ["FAN1"]
    assert health.attributes["entity_ids"] == ["sensor.supermicro_x11spm_tf_fan1"]

    readings |= {"20_0_1": ok(91.0, SensorStatus.CRITICAL), "20_0_48": ok(13.1, SensorStatus.CRITICAL)}
    readings |= {"20_0_66": ok(500.0, SensorStatus.NON_CRITICAL)}
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await _poll(hass, freezer, timedelta(seconds=300))
    health = hass.states.get(f"{DEVICE}_hardware_health")
    assert health is not None
    statuses = [(key, value) for key, value in health.attributes.items() if key in HEALTH_STATUSES]
    assert statuses == [
        ("non_recoverable", ["FAN1"]),
        ("critical", ["CPU Temp", "12V"]),
        ("non_critical", ["FAN2"]),
    ]
    assert health.attributes["entity_ids"] == [
        "sensor.supermicro_x11spm_tf_fan1",
        "sensor.supermicro_x11spm_tf_cpu_temp",
        "sensor.supermicro_x11spm_tf_12v",
        "sensor.supermicro_x11spm_tf_fan2",
    ]
