"""Sensors of Zephyr IPMI: threshold and multi-state discrete SDR sensors, DCMI power (W) and energy (kWh)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS, UNIT_CONVERTERS
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .automatic_entity import automatic_entities
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .entity import ZephyrDescribedEntity, ZephyrEntity, ZephyrSdrEntity, async_add_entities_as_they_appear
from .fan_control import STATUS_OPTIONS, ZephyrControlCoordinator
from .ipmi import SdrSensor, SensorKind
from .ipmi.discrete import DiscreteView, discrete_view

PARALLEL_UPDATES = 0

DCMI_KEY = "dcmi"

_KIND_DEVICE_CLASS = {
    SensorKind.TEMPERATURE: SensorDeviceClass.TEMPERATURE,
    SensorKind.VOLTAGE: SensorDeviceClass.VOLTAGE,
    SensorKind.CURRENT: SensorDeviceClass.CURRENT,
    SensorKind.POWER: SensorDeviceClass.POWER,
}
_KIND_PRECISION = {
    SensorKind.TEMPERATURE: 0,
    SensorKind.FAN: 0,
    SensorKind.VOLTAGE: 2,
    SensorKind.CURRENT: 2,
    SensorKind.POWER: 0,
}
THRESHOLD_ATTRIBUTES = {
    "lnr": "lower_non_recoverable",
    "lcr": "lower_critical",
    "lnc": "lower_non_critical",
    "unc": "upper_non_critical",
    "ucr": "upper_critical",
    "unr": "upper_non_recoverable",
}
THRESHOLD_UNIT_ATTRIBUTE = "threshold_unit"

POWER_DESCRIPTION = SensorEntityDescription(
    key="dcmi_power",
    translation_key="dcmi_power",
    device_class=SensorDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=0,
)
ENERGY_DESCRIPTION = SensorEntityDescription(
    key="dcmi_energy",
    translation_key="dcmi_energy",
    device_class=SensorDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    state_class=SensorStateClass.TOTAL_INCREASING,
    suggested_display_precision=2,
)
FAN_CONTROL_DESCRIPTION = SensorEntityDescription(
    key="fan_control",
    translation_key="fan_control",
    device_class=SensorDeviceClass.ENUM,
    options=list(STATUS_OPTIONS),
    entity_category=EntityCategory.DIAGNOSTIC,
)


def display_precision(sdr: SdrSensor) -> int | None:
    """Return the decimals that show one step of a linear reading (M x 10^k2), else the kind's default."""
    conversion = sdr.conversion
    if conversion is None or conversion.m == 0 or conversion.linearization != 0:
        return _KIND_PRECISION.get(sdr.kind)
    step = abs(conversion.m) * 10.0**conversion.k2
    # The small term keeps exact powers of ten (0.01) from rounding to the next decimal.
    return max(0, -math.floor(math.log10(step) + 1e-9))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor per threshold and multi-state discrete SDR sensor, and DCMI power and energy once answered."""

    def keys(coordinator: ZephyrCoordinator) -> Iterator[str]:
        """List threshold and multi-state discrete sensors, and DCMI when the BMC reports power."""
        for key, sdr in coordinator.sensors.items():
            if sdr.is_threshold or ((view := discrete_view(sdr)) is not None and not view.binary):
                yield key
        if coordinator.data.power is not None:
            yield DCMI_KEY

    def build(coordinator: ZephyrCoordinator, key: str) -> list[SensorEntity]:
        """Build the entities of one key."""
        if key == DCMI_KEY:
            return [ZephyrPowerSensor(coordinator), ZephyrEnergySensor(coordinator)]
        sdr = coordinator.sensors[key]
        if (view := discrete_view(sdr)) is not None:
            return [ZephyrDiscreteStateSensor(coordinator, key, view)]
        return [ZephyrSdrSensor(coordinator, key)]

    async_add_entities_as_they_appear(entry, async_add_entities, keys, build)
    async_add_entities([ZephyrFanControlSensor(entry, entry.runtime_data.control, FAN_CONTROL_DESCRIPTION)])
    async_add_entities(automatic_entities(entry, "sensor"))


class ZephyrSdrSensor(ZephyrSdrEntity, SensorEntity):
    """A threshold SDR sensor: temperature (°C), fan (rpm), voltage (V), current (A), power (W) or other."""

    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_translation_key = "threshold_sensor"
    _unrecorded_attributes = frozenset({*THRESHOLD_ATTRIBUTES.values(), THRESHOLD_UNIT_ATTRIBUTE})

    def __init__(self, coordinator: ZephyrCoordinator, key: str) -> None:
        """Describe the sensor from its SDR record."""
        super().__init__(coordinator, key)
        sdr = self.sdr
        device_class = _KIND_DEVICE_CLASS.get(sdr.kind)
        if device_class is not None and sdr.unit not in DEVICE_CLASS_UNITS[device_class]:
            device_class = None
        self._attr_device_class = device_class
        self._attr_native_unit_of_measurement = sdr.unit
        self._attr_suggested_display_precision = display_precision(sdr)
        if sdr.kind is SensorKind.FAN:
            self._attr_translation_key = "fan"

    @property
    @override
    def native_value(self) -> float | None:
        """Return the last reading in the sensor's unit."""
        return reading.value if (reading := self.reading) is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the threshold status (ok, non_critical, critical, non_recoverable), the thresholds and their unit.

        Thresholds are in the unit the state is shown in (``threshold_unit``, e.g. °F when the user
        shows temperatures in °F).
        """
        reading = self.reading
        status = reading.status if reading is not None else None
        # Thresholds are the sensor's own (Get Sensor Thresholds), read at setup and after each write.
        sdr = self.coordinator.sensors.get(self.sdr.key, self.sdr)
        thresholds: dict[str, Any] = {
            THRESHOLD_ATTRIBUTES[name]: self._in_display_unit(value)
            for name, value in sdr.thresholds.items()
            if name in THRESHOLD_ATTRIBUTES
        }
        if thresholds and (unit := self.unit_of_measurement) is not None:
            thresholds[THRESHOLD_UNIT_ATTRIBUTE] = str(unit)
        return {"status": status.value if status is not None else None, **thresholds}

    def _in_display_unit(self, value: float) -> float:
        """Convert a threshold from the SDR's unit to the unit the state is shown in (e.g. °C → °F)."""
        native, shown = self.native_unit_of_measurement, self.unit_of_measurement
        converter = UNIT_CONVERTERS.get(self.device_class) if self.device_class else None
        if converter is None or native == shown:
            return value
        converted = converter.convert(value, native, shown)
        precision = self._attr_suggested_display_precision
        return round(converted, precision + 1) if precision is not None else converted


class ZephyrDiscreteStateSensor(ZephyrSdrEntity, SensorEntity):
    """A discrete SDR sensor with several meanings (drive slot, processor, power unit, redundancy, ...).

    Its state is the key of the most severe asserted state of its sensor type or generic
    event/reading type (IPMI 2.0 Tables 42-2/42-3, see ``ipmi.discrete``), translated through the
    translation key named after that table; ``ok`` when nothing is asserted and ``absent`` when its
    presence state is deasserted. Attributes: ``asserted`` (every asserted state's key) and
    ``problem`` (whether any asserted state is a warning or critical one).
    """

    _attr_device_class = SensorDeviceClass.ENUM

    def __init__(self, coordinator: ZephyrCoordinator, key: str, view: DiscreteView) -> None:
        """Take the states and translation key from ``view`` (the SDR's meaning)."""
        super().__init__(coordinator, key)
        self.view = view
        self._attr_options = view.options
        self._attr_translation_key = view.translation_key

    @property
    @override
    def native_value(self) -> str | None:
        """Return the key of the most severe asserted state."""
        return self.view.state(reading.states) if (reading := self.reading) is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return every asserted state's key, in offset order, and whether any is a problem."""
        states = reading.states if (reading := self.reading) is not None else 0
        return {
            "asserted": [state.key for state in self.view.asserted(states)],
            "problem": self.view.problem(states),
        }


class ZephyrPowerSensor(ZephyrEntity, SensorEntity):
    """The system's input power (W) from DCMI Get Power Reading."""

    entity_description = POWER_DESCRIPTION

    def __init__(self, coordinator: ZephyrCoordinator) -> None:
        """Attach the sensor to the BMC."""
        super().__init__(coordinator, POWER_DESCRIPTION.key)

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC answers DCMI power readings."""
        return super().available and self.coordinator.data.power is not None

    @property
    @override
    def native_value(self) -> float | None:
        """Return the current power (W)."""
        return power.current if (power := self.coordinator.data.power) is not None else None


class ZephyrEnergySensor(ZephyrEntity, RestoreSensor):
    """The energy (kWh) the system drew, integrated from DCMI power; restored across restarts."""

    entity_description = ENERGY_DESCRIPTION
    _offset = 0.0

    def __init__(self, coordinator: ZephyrCoordinator) -> None:
        """Attach the sensor to the BMC."""
        super().__init__(coordinator, ENERGY_DESCRIPTION.key)

    @override
    async def async_added_to_hass(self) -> None:
        """Continue from the last stored total."""
        await super().async_added_to_hass()
        restored = 0.0
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float | Decimal):
            restored = float(last.native_value)
        # The coordinator's integral only grows while it runs; the offset makes the total continue.
        self._offset = restored - self.coordinator.energy_kwh

    @property
    @override
    def available(self) -> bool:
        """Available while Power is: a total that cannot grow is not shown as a current one."""
        return super().available and self.coordinator.data.power is not None

    @property
    @override
    def native_value(self) -> float:
        """Return the total energy (kWh)."""
        return round(self._offset + self.coordinator.energy_kwh, 4)


class ZephyrFanControlSensor(ZephyrDescribedEntity[ZephyrControlCoordinator], SensorEntity):
    """Who controls the fans (the BMC, Zephyr), or why Zephyr cannot (HPE iLO, refused by the firmware, ...)."""

    @property
    @override
    def available(self) -> bool:
        """Always available: it says why fan control is not, even while the BMC does not answer."""
        return True

    @property
    @override
    def native_value(self) -> str:
        """Return the fan control status (one of ``STATUS_OPTIONS``)."""
        return self.coordinator.status
