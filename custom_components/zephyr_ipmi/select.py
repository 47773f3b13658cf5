"""Select of Zephyr IPMI: the BMC's fan mode (Supermicro Standard/Full/Optimal/PUE2/Heavy IO, Dell Automatic/Manual)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ZephyrConfigEntry
from .entity import ZephyrControlEntity
from .fan_control import ZephyrControlCoordinator
from .helpers import zephyr_action
from .ipmi.control import FanController, FanState
from .ipmi.vendors import Capabilities, FanMode

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ZephyrSelectEntityDescription(SelectEntityDescription):
    """Describes a select of the BMC; ``exists_fn`` tells from its capabilities whether it has one."""

    exists_fn: Callable[[Capabilities], bool]


FAN_MODE = ZephyrSelectEntityDescription(
    key="fan_mode",
    translation_key="fan_mode",
    exists_fn=lambda caps: caps.fan_control and len(caps.modes) > 1,
)
DESCRIPTIONS = (FAN_MODE,)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the fan mode select of a BMC that offers more than one mode."""
    control = entry.runtime_data.control
    if (caps := control.capabilities) is None:
        return
    async_add_entities(
        ZephyrFanModeSelect(entry, control, description) for description in DESCRIPTIONS if description.exists_fn(caps)
    )


class ZephyrFanModeSelect(ZephyrControlEntity, SelectEntity):
    """The BMC's fan mode: the modes the board answers, as read back from the BMC."""

    entity_description: ZephyrSelectEntityDescription

    def __init__(
        self,
        entry: ZephyrConfigEntry,
        coordinator: ZephyrControlCoordinator,
        description: ZephyrSelectEntityDescription,
    ) -> None:
        """List the modes the board answers."""
        super().__init__(entry, coordinator, description)
        caps = coordinator.capabilities
        self._attr_options = [mode.value for mode in caps.modes] if caps is not None else []

    @property
    @override
    def current_option(self) -> str | None:
        """Return the fan mode the BMC reports, None when it cannot be read."""
        state = self.fan_state
        mode = state.mode if state is not None else None
        return mode.value if mode is not None and mode.value in self.options else None

    @override
    @zephyr_action
    def async_select_option(self, controller: FanController, actor: str, option: str) -> FanState:
        """Set the fan mode (blocking; the decorator runs it in the executor)."""
        return self.coordinator.set_fan_mode(controller, FanMode(option), actor)
