"""Base entity of Zephyr IPMI: one device per BMC, fed by the BMC's coordinator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, override

from homeassistant.const import CONF_HOST
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator
from yarl import URL

from .const import DOMAIN
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .fan_control import ControlData, ZephyrControlCoordinator
from .ipmi import BmcIdentity, SensorReading
from .ipmi.control import FanState


def bmc_device_info(entry: ZephyrConfigEntry, identity: BmcIdentity) -> DeviceInfo:
    """Return the device of one BMC: manufacturer, model, serial number, firmware and its web interface."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.unique_id or identity.unique_id)},
        name=entry.title,
        manufacturer=identity.manufacturer,
        model=identity.model or f"Product 0x{identity.product_id:04X}",
        sw_version=identity.firmware,
        serial_number=identity.serial,
        configuration_url=str(URL.build(scheme="https", host=entry.data[CONF_HOST])),
    )


class ZephyrEntity(CoordinatorEntity[ZephyrCoordinator]):
    """An entity of one BMC's device; ``key`` makes its unique id unique within the BMC."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: ZephyrCoordinator, key: str) -> None:
        """Attach the entity to the BMC's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        identity = coordinator.identity
        self._attr_unique_id = f"{entry.unique_id or identity.unique_id}_{key}"
        self._attr_device_info = bmc_device_info(entry, identity)


class ZephyrDescribedEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of one BMC's device, described by an entity description, fed by any of the BMC's coordinators.

    The unique id is ``<BMC unique id>_<description key>``.
    """

    _attr_has_entity_name = True

    def __init__(self, entry: ZephyrConfigEntry, coordinator: CoordinatorT, description: EntityDescription) -> None:
        """Attach the entity to the BMC's device."""
        super().__init__(coordinator)
        self.entity_description = description
        identity = entry.runtime_data.coordinator.identity
        self._attr_unique_id = f"{entry.unique_id or identity.unique_id}_{description.key}"
        self._attr_device_info = bmc_device_info(entry, identity)


class ZephyrControlEntity(ZephyrDescribedEntity[ZephyrControlCoordinator]):
    """An entity that changes the BMC (fans, power); available while fan control is read and allowed."""

    @property
    def control(self) -> ControlData:
        """Return what the control coordinator read last."""
        return self.coordinator.data

    @property
    def fan_state(self) -> FanState | None:
        """Return the fan mode and zone duties read back last, or None when the BMC offers no fan control."""
        return self.coordinator.data.state

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC answers and Zephyr may control its fans."""
        return super().available and self.coordinator.fan_control and self.fan_state is not None


class ZephyrSdrEntity(ZephyrEntity):
    """An entity that shows one SDR sensor's reading, unavailable while the BMC has no reading for it."""

    def __init__(self, coordinator: ZephyrCoordinator, key: str) -> None:
        """Name the entity after the SDR sensor, as the BMC names it."""
        super().__init__(coordinator, key)
        self.sdr = coordinator.sensors[key]
        self._attr_name = self.sdr.name

    @property
    def reading(self) -> SensorReading | None:
        """Return the reading of this sensor in the last poll, or None when it was not read."""
        return self.coordinator.data.readings.get(self.sdr.key)

    @property
    def available(self) -> bool:
        """Available while the BMC answers and reports a reading for this sensor."""
        return super().available and (reading := self.reading) is not None and reading.available


@callback
def async_add_entities_as_they_appear(
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    keys: Callable[[ZephyrCoordinator], Iterable[str]],
    build: Callable[[ZephyrCoordinator, str], Iterable[Entity]],
) -> None:
    """Add the entities of every key ``keys`` lists now, and after each update those of new keys.

    Sensors appear later when the hourly SDR check finds new ones, or DCMI power starts to answer.
    """
    coordinator = entry.runtime_data.coordinator
    known: set[str] = set()

    @callback
    def _async_add_new() -> None:
        """Add the entities of keys not seen before."""
        new = [key for key in keys(coordinator) if key not in known]
        known.update(new)
        if entities := [entity for key in new for entity in build(coordinator, key)]:
            async_add_entities(entities)

    _async_add_new()
    entry.async_on_unload(coordinator.async_add_listener(_async_add_new))
