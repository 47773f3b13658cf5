"""Binary sensors of Zephyr IPMI: BMC connectivity, chassis power and discrete SDR sensors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import override

# BinarySensorDeviceClass is re-exported by the package (where every HA version has it) without __all__.
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .entity import ZephyrEntity, ZephyrSdrEntity, async_add_entities_as_they_appear

PARALLEL_UPDATES = 0

SENSOR_SPECIFIC = 0x6F
"""Event/reading type code of sensors whose state offsets are defined per sensor type (IPMI 2.0 Table 42-3)."""

DISCRETE_TYPES: dict[int, tuple[BinarySensorDeviceClass, int]] = {
    # Physical security: offset 0 general chassis intrusion.
    0x05: (BinarySensorDeviceClass.TAMPER, 0b1),
    # Power supply: offsets 1 failure detected, 2 predictive failure, 3 input (AC) lost.
    0x08: (BinarySensorDeviceClass.PROBLEM, 0b1110),
    # Memory: offsets 0 correctable ECC, 1 uncorrectable ECC, 5 correctable ECC logging limit reached.
    0x0C: (BinarySensorDeviceClass.PROBLEM, 0b100011),
}
"""Sensor type → device class and the mask of state offsets that turn the binary sensor on."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add connectivity and chassis power, and a binary sensor per known discrete SDR sensor."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities([ZephyrConnectivitySensor(coordinator), ZephyrChassisPowerSensor(coordinator)])

    def keys(coordinator: ZephyrCoordinator) -> Iterator[str]:
        """List sensor-specific discrete sensors of the types above."""
        for key, sdr in coordinator.sensors.items():
            if sdr.reading_type == SENSOR_SPECIFIC and sdr.sensor_type in DISCRETE_TYPES:
                yield key

    def build(coordinator: ZephyrCoordinator, key: str) -> list[ZephyrDiscreteSensor]:
        """Build the binary sensor of one discrete SDR sensor."""
        return [ZephyrDiscreteSensor(coordinator, key)]

    async_add_entities_as_they_appear(entry, async_add_entities, keys, build)


class ZephyrConnectivitySensor(ZephyrEntity, BinarySensorEntity):
    """On while the last poll of the BMC succeeded."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "bmc_connectivity"

    def __init__(self, coordinator: ZephyrCoordinator) -> None:
        """Attach the sensor to the BMC."""
        super().__init__(coordinator, "connectivity")

    @property
    @override
    def available(self) -> bool:
        """Always available: it reports whether the BMC is."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the last poll succeeded."""
        return self.coordinator.last_update_success


class ZephyrChassisPowerSensor(ZephyrEntity, BinarySensorEntity):
    """On while the server's chassis power is on (Get Chassis Status)."""

    _attr_device_class = BinarySensorDeviceClass.POWER
    _attr_translation_key = "chassis_power"

    def __init__(self, coordinator: ZephyrCoordinator) -> None:
        """Attach the sensor to the BMC."""
        super().__init__(coordinator, "chassis_power")

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC answers chassis status."""
        return super().available and self.coordinator.data.power_on is not None

    @property
    @override
    def is_on(self) -> bool | None:
        """Return whether chassis power is on."""
        return self.coordinator.data.power_on


class ZephyrDiscreteSensor(ZephyrSdrEntity, BinarySensorEntity):
    """A discrete SDR sensor: on while any of its type's problem states is asserted."""

    def __init__(self, coordinator: ZephyrCoordinator, key: str) -> None:
        """Pick the device class and problem states from the SDR sensor type."""
        super().__init__(coordinator, key)
        self._attr_device_class, self._mask = DISCRETE_TYPES[self.sdr.sensor_type]

    @property
    @override
    def is_on(self) -> bool | None:
        """Return whether a problem state is asserted."""
        return bool(reading.states & self._mask) if (reading := self.reading) is not None else None
