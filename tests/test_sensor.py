"""Tests of the Zephyr IPMI sensor platform."""

from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.ipmi import (
    IpmiConnectionError,
    PowerReading,
    SensorKind,
    SensorReading,
    SensorStatus,
)
from custom_components.zephyr_ipmi.sensor import display_precision

from .conftest import GUID, SENSORS, SNAPSHOT, conversion, ok, sdr, setup_integration

DEVICE = "sensor.supermicro_x11spm_tf"


@pytest.fixture
def platforms(freezer: FrozenDateTimeFactory) -> list[Platform]:
    """Set up only the sensor platform, with time already frozen."""
    return [Platform.SENSOR]


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, after: timedelta) -> None:
    """Let ``after`` pass and run the scheduled poll."""
    freezer.tick(after)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("init_integration")
async def test_entities(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Every threshold sensor, DCMI power and energy are entities of the BMC's device."""
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)

    device = device_registry.async_get_device_by_identifier((DOMAIN, GUID), mock_config_entry.entry_id)
    assert device is not None
    assert device == snapshot(name="device")
    for entity in er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id):
        assert entity.device_id == device.id


@pytest.mark.usefixtures("init_integration")
async def test_values_and_availability(
    hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """Readings follow the polls; a sensor without a reading exists but is unavailable until it reads."""
    fan2 = hass.states.get(f"{DEVICE}_fan2")
    assert fan2 is not None
    assert fan2.state == STATE_UNAVAILABLE

    readings = dict(SNAPSHOT.readings)
    readings["20_0_66"] = ok(300.0, SensorStatus.CRITICAL)
    del readings["20_0_2"]
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings, errors={"20_0_2": "timeout"})
    await _poll(hass, freezer, timedelta(seconds=300))

    fan2 = hass.states.get(f"{DEVICE}_fan2")
    assert fan2 is not None
    assert fan2.state == "300.0"
    assert fan2.attributes["status"] == "critical"
    assert hass.states.get(f"{DEVICE}_system_temp").state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    mock_client.poll.side_effect = IpmiConnectionError("no answer")
    await _poll(hass, freezer, timedelta(seconds=300))
    assert {hass.states.get(f"{DEVICE}_{name}").state for name in ("cpu_temp", "power", "energy")} == {  # type: ignore[union-attr]
        STATE_UNAVAILABLE
    }


async def test_dcmi_power_appears_later(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A BMC that answers DCMI only later gets its power and energy sensors then; both unavailable when it stops."""
    mock_client.poll.return_value = replace(SNAPSHOT, power=None)
    await setup_integration(hass, mock_config_entry, [Platform.SENSOR])
    assert hass.states.get(f"{DEVICE}_power") is None

    mock_client.poll.return_value = SNAPSHOT
    await _poll(hass, freezer, timedelta(seconds=300))
    assert hass.states.get(f"{DEVICE}_power").state == "182.0"  # type: ignore[union-attr]
    assert hass.states.get(f"{DEVICE}_energy").state == "0.0"  # type: ignore[union-attr]

    mock_client.poll.return_value = replace(SNAPSHOT, power=None)
    await _poll(hass, freezer, timedelta(seconds=300))
    assert hass.states.get(f"{DEVICE}_power").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    # Energy follows Power: a total that cannot grow is not shown as current.
    assert hass.states.get(f"{DEVICE}_energy").state == STATE_UNAVAILABLE  # type: ignore[union-attr]


@pytest.mark.usefixtures("init_integration")
async def test_sensor_added_later(hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory) -> None:
    """A sensor that appears in the SDR (found by the hourly check) becomes an entity without a restart.

    Thresholds changed in the re-read SDR show on the existing entities too.
    """
    mock_client.check_sdr.return_value = True
    mock_client.sensors.return_value = [
        replace(sensor, thresholds={"lnr": 100.0, "lcr": 200.0}) if sensor.name == "FAN1" else sensor
        for sensor in SENSORS
    ] + [
        sdr("20_0_67", "FAN3", SensorKind.FAN, "rpm", sensor_type=0x04, conversion=conversion(100)),
    ]
    mock_client.poll.return_value = replace(SNAPSHOT, readings={**SNAPSHOT.readings, "20_0_67": ok(2100.0)})
    await _poll(hass, freezer, timedelta(hours=1))

    fan3 = hass.states.get(f"{DEVICE}_fan3")
    assert fan3 is not None
    assert fan3.state == "2100.0"
    fan1 = hass.states.get(f"{DEVICE}_fan1")
    assert fan1 is not None
    assert (fan1.attributes["lower_non_recoverable"], fan1.attributes["lower_critical"]) == (100.0, 200.0)
    assert "lower_non_critical" not in fan1.attributes


async def test_energy_restored(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    mock_client: MagicMock,
) -> None:
    """The energy total continues from its last value after a restart."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(f"{DEVICE}_energy", "12.5"),
                {"native_value": 12.5, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    await setup_integration(hass, mock_config_entry, [Platform.SENSOR])
    assert hass.states.get(f"{DEVICE}_energy").state == "12.5"  # type: ignore[union-attr]

    mock_client.poll.return_value = replace(
        SNAPSHOT, power=PowerReading(current=218.0, minimum=0.0, maximum=0.0, average=0.0)
    )
    await _poll(hass, freezer, timedelta(seconds=300))
    # (182 W + 218 W) / 2 for 300 s = 0.0167 kWh
    assert hass.states.get(f"{DEVICE}_energy").state == "12.5167"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("sensor", "expected"),
    [
        (sdr("20_0_1", "T", SensorKind.TEMPERATURE, "°C"), 0),
        (sdr("20_0_1", "V", SensorKind.VOLTAGE, "V", conversion=conversion(7, -2)), 2),
        (sdr("20_0_1", "V", SensorKind.VOLTAGE, "V", conversion=conversion(1, -2)), 2),
        (sdr("20_0_1", "V", SensorKind.VOLTAGE, "V", conversion=conversion(10, -3)), 2),
        (sdr("20_0_1", "F", SensorKind.FAN, "rpm", conversion=conversion(75)), 0),
        (sdr("20_0_1", "A", SensorKind.CURRENT, "A", conversion=None), 2),
        (sdr("20_0_1", "V", SensorKind.VOLTAGE, "V", conversion=conversion(0)), 2),
        (
            sdr("20_0_1", "V", SensorKind.VOLTAGE, "V", conversion=replace(conversion(7, -2), linearization=10)),
            2,
        ),
        (sdr("20_0_1", "%", SensorKind.OTHER, "%", conversion=None), None),
    ],
)
def test_display_precision(sensor: object, expected: int | None) -> None:
    """Precision shows one step of a linear reading, else the kind's default."""
    assert display_precision(sensor) == expected  # type: ignore[arg-type]


async def test_unit_outside_device_class(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A sensor whose unit its kind's device class does not accept gets no device class."""
    mock_client.sensors.return_value = [sdr("20_0_1", "Odd Temp", SensorKind.TEMPERATURE, "%")]
    await setup_integration(hass, mock_config_entry, [Platform.SENSOR])

    state = hass.states.get(f"{DEVICE}_odd_temp")
    assert state is not None
    assert "device_class" not in state.attributes
    assert state.attributes["unit_of_measurement"] == "%"


@pytest.mark.usefixtures("init_integration")
async def test_discrete_state_sensors(
    hass: HomeAssistant, mock_client: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """A discrete sensor with several meanings shows its most severe asserted state's key."""
    watchdog = hass.states.get(f"{DEVICE}_watchdog2")
    assert watchdog is not None
    assert (watchdog.state, watchdog.attributes["asserted"], watchdog.attributes["problem"]) == ("ok", [], False)
    assert hass.states.get(f"{DEVICE}_ps_redundancy").state == "fully_redundant"  # type: ignore[union-attr]

    readings = {
        **SNAPSHOT.readings,
        "20_0_180": SensorReading(value=None, status=None, available=True, states=0b0011),
        "20_0_203": SensorReading(value=None, status=None, available=True, states=0b0010),
    }
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await _poll(hass, freezer, timedelta(seconds=300))
    watchdog = hass.states.get(f"{DEVICE}_watchdog2")
    assert watchdog is not None
    # Timer expired (offset 0) and hard reset (offset 1): the reset is the more severe.
    assert watchdog.state == "hard_reset"
    assert watchdog.attributes["asserted"] == ["timer_expired", "hard_reset"]
    assert watchdog.attributes["problem"] is True
    redundancy = hass.states.get(f"{DEVICE}_ps_redundancy")
    assert redundancy is not None
    assert redundancy.state == "redundancy_lost"
    assert redundancy.attributes["device_class"] == "enum"

    readings["20_0_180"] = SensorReading(value=None, status=None, available=False)
    mock_client.poll.return_value = replace(SNAPSHOT, readings=readings)
    await _poll(hass, freezer, timedelta(seconds=300))
    assert hass.states.get(f"{DEVICE}_watchdog2").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
