"""Switches of Zephyr IPMI: automatic fan control, Dell's third-party PCIe card cooling response (iDRAC 7/8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .automatic_entity import automatic_entities
from .coordinator import ZephyrConfigEntry
from .entity import ZephyrControlEntity
from .helpers import zephyr_action
from .ipmi.control import FanController
from .ipmi.vendors import Capabilities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ZephyrSwitchEntityDescription(SwitchEntityDescription):
    """Describes a switch of the BMC; ``exists_fn`` tells from its capabilities whether it has one."""

    exists_fn: Callable[[Capabilities], bool]


PCIE_COOLING = ZephyrSwitchEntityDescription(
    key="pcie_cooling",
    translation_key="pcie_cooling",
    entity_category=EntityCategory.CONFIG,
    exists_fn=lambda caps: caps.fan_control and caps.pcie_cooling,
)
DESCRIPTIONS = (PCIE_COOLING,)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the PCIe cooling response switch of a Dell BMC that answers it."""
    async_add_entities(automatic_entities(entry, "switch"))
    control = entry.runtime_data.control
    if (caps := control.capabilities) is None:
        return
    async_add_entities(
        ZephyrPcieCoolingSwitch(entry, control, description)
        for description in DESCRIPTIONS
        if description.exists_fn(caps)
    )


class ZephyrPcieCoolingSwitch(ZephyrControlEntity, SwitchEntity):
    """On while the BMC raises the fans for third-party PCIe cards (Dell's default); off keeps them quieter."""

    entity_description: ZephyrSwitchEntityDescription

    @property
    @override
    def is_on(self) -> bool | None:
        """Return whether the cooling response is enabled, as read back from the BMC."""
        state = self.fan_state
        return state.pcie_cooling if state is not None else None

    @override
    @zephyr_action
    def async_turn_on(self, controller: FanController, actor: str, /, **kwargs: Any) -> object:
        """Enable the cooling response (blocking; the decorator runs it in the executor)."""
        return controller.set_pcie_cooling(True, actor=actor)

    @override
    @zephyr_action
    def async_turn_off(self, controller: FanController, actor: str, /, **kwargs: Any) -> object:
        """Disable the cooling response (blocking; the decorator runs it in the executor)."""
        return controller.set_pcie_cooling(False, actor=actor)
