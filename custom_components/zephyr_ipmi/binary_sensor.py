"""Binary sensors of Zephyr IPMI: BMC connectivity, chassis power, hardware health and one-meaning discrete sensors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, override

# BinarySensorDeviceClass is re-exported by the package (where every HA version has it) without __all__.
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .delivery import is_channels_entry
from .delivery.entities import ZephyrDeliveryProblemSensor, async_add_channel_entities
from .entity import ZephyrDescribedEntity, ZephyrEntity, ZephyrSdrEntity, async_add_entities_as_they_appear
from .fan_control import STATUS_LOST, ZephyrControlCoordinator
from .ipmi import SensorStatus
from .ipmi.discrete import DiscreteView, discrete_view

PARALLEL_UPDATES = 0

FAN_CONTROL_LOST = BinarySensorEntityDescription(
    key="fan_control_lost",
    translation_key="fan_control_lost",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add connectivity, chassis power and hardware health, and a binary sensor per one-meaning discrete sensor.

    The notification channels entry gets a *Delivery problem* sensor per channel instead.
    """
    if is_channels_entry(entry):
        async_add_channel_entities(entry, async_add_entities, ZephyrDeliveryProblemSensor)
        return
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [
            ZephyrConnectivitySensor(coordinator),
            ZephyrChassisPowerSensor(coordinator),
            ZephyrHardwareHealthSensor(coordinator),
        ]
    )

    def keys(coordinator: ZephyrCoordinator) -> Iterator[str]:
        """List the discrete sensors that have one meaning (intrusion, power supply, presence, ...)."""
        for key, sdr in coordinator.sensors.items():
            if (view := discrete_view(sdr)) is not None and view.binary:
                yield key

    def build(coordinator: ZephyrCoordinator, key: str) -> list[ZephyrDiscreteSensor]:
        """Build the binary sensor of one discrete SDR sensor."""
        view = discrete_view(coordinator.sensors[key])
        return [ZephyrDiscreteSensor(coordinator, key, view)] if view is not None else []

    async_add_entities_as_they_appear(entry, async_add_entities, keys, build)

    control = entry.runtime_data.control
    if control.capabilities is not None and control.capabilities.fan_control:
        async_add_entities([ZephyrFanControlLostSensor(entry, control, FAN_CONTROL_LOST)])


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


class ZephyrHardwareHealthSensor(ZephyrEntity, BinarySensorEntity):
    """A problem while any threshold sensor of the BMC is outside its non-critical range.

    Its attributes name the offending sensors, worst threshold status first: ``non_recoverable``,
    ``critical`` and ``non_critical`` each list the names (as the BMC names them) of the sensors with
    that status, and ``entity_ids`` the entity ids of the offending sensors that have one. An attribute
    is present only while it lists something. Attribute names are translated; values are plain names.
    """

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_translation_key = "hardware_health"

    def __init__(self, coordinator: ZephyrCoordinator) -> None:
        """Attach the sensor to the BMC."""
        super().__init__(coordinator, "hardware_health")

    def _offending(self) -> list[tuple[str, str, SensorStatus]]:
        """Return (sensor key, name, status) of each threshold sensor whose last reading crossed a threshold."""
        readings = self.coordinator.data.readings
        return [
            (key, sdr.name, reading.status)
            for key, sdr in self.coordinator.sensors.items()
            if (reading := readings.get(key)) is not None
            and reading.available
            and reading.status not in (None, SensorStatus.OK)
        ]

    @property
    @override
    def is_on(self) -> bool:
        """Return whether any sensor reads outside its non-critical range."""
        return bool(self._offending())

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the offending sensors' names under their status, worst status first, and their entity ids."""
        registry = er.async_get(self.hass)
        bmc_id = self.coordinator.config_entry.unique_id or self.coordinator.identity.unique_id
        order = list(SensorStatus)
        attributes: dict[str, Any] = {}
        entity_ids: list[str] = []
        for key, name, status in sorted(self._offending(), key=lambda item: -order.index(item[2])):
            attributes.setdefault(status.value, []).append(name)
            if (entity_id := registry.async_get_entity_id("sensor", DOMAIN, f"{bmc_id}_{key}")) is not None:
                entity_ids.append(entity_id)
        if entity_ids:
            attributes["entity_ids"] = entity_ids
        return attributes


class ZephyrDiscreteSensor(ZephyrSdrEntity, BinarySensorEntity):
    """A discrete SDR sensor with one meaning: intrusion (tamper), power supply or memory (problem), presence, ...

    On while a state of that meaning is asserted (IPMI 2.0 Tables 42-2/42-3, see ``ipmi.discrete``); a
    power supply whose presence offset is deasserted (removed) is a problem too. The ``asserted``
    attribute lists every asserted state's key, translated through the translation key named after the
    state table (``power_supply``, ``physical_security``, ...); the entity keeps the name the BMC gives it.
    """

    def __init__(self, coordinator: ZephyrCoordinator, key: str, view: DiscreteView) -> None:
        """Take the device class, the states that turn it on and the translation key from ``view`` (the SDR's type)."""
        super().__init__(coordinator, key)
        self.view = view
        self._attr_translation_key = view.translation_key
        device_class = view.device_class
        self._attr_device_class = BinarySensorDeviceClass(device_class) if device_class is not None else None

    @property
    @override
    def is_on(self) -> bool | None:
        """Return whether the sensor's meaning is asserted."""
        return self.view.is_on(reading.states) if (reading := self.reading) is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the keys of the asserted states (IPMI 2.0 Table 42-2/42-3), in offset order."""
        reading = self.reading
        return {"asserted": [state.key for state in self.view.asserted(reading.states if reading else 0)]}


class ZephyrFanControlLostSensor(ZephyrDescribedEntity[ZephyrControlCoordinator], BinarySensorEntity):
    """On after the BMC kept taking fan control back and Zephyr handed the fans to it (see the repair issue)."""

    @property
    @override
    def is_on(self) -> bool:
        """Return whether fan control was lost."""
        return self.coordinator.status == STATUS_LOST
