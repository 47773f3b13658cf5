"""Fans of Zephyr IPMI: one per cooling zone (Supermicro CPU/peripheral zones, Dell all fans or one fan).

The percentage is the duty cycle read back from the BMC. Setting one takes the zone over (Supermicro: Full
mode first, Dell: manual first, through the core's write gate); turning a zone off hands the fans back to
the BMC's automatic mode. No command ever sets 0 %: the fans never stop.
"""

from __future__ import annotations

import re
from typing import Any, override

from homeassistant.components.fan import FanEntity, FanEntityDescription
from homeassistant.components.fan.const import FanEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ZephyrConfigEntry
from .entity import ZephyrControlEntity
from .fan_control import ZephyrControlCoordinator
from .helpers import zephyr_action
from .ipmi.control import FanController
from .ipmi.vendors import FanZone

PARALLEL_UPDATES = 1

#: Zone keys with a translated name of their own; ``zone_<n>`` and ``fan_<n>`` are numbered names.
NAMED_ZONES = frozenset({"cpu", "peripheral", "all"})
_NUMBERED = re.compile(r"(zone|fan)_(\d+)")


def zone_description(zone: FanZone) -> FanEntityDescription:
    """Describe the fan of one cooling zone; unique per BMC by the zone's key."""
    if zone.key in NAMED_ZONES:
        return FanEntityDescription(key=f"fan_zone_{zone.key}", translation_key=f"zone_{zone.key}")
    if match := _NUMBERED.fullmatch(zone.key):
        # Single fans (Dell) start disabled: the "All fans" entity is what most owners want.
        return FanEntityDescription(
            key=f"fan_zone_{zone.key}",
            translation_key=f"zone_numbered_{match[1]}",
            entity_registry_enabled_default=match[1] != "fan",
        )
    return FanEntityDescription(key=f"fan_zone_{zone.key}", name=zone.name)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a fan per cooling zone of a BMC whose fans Zephyr can control."""
    control = entry.runtime_data.control
    caps = control.capabilities
    if caps is None or not caps.fan_control:
        return
    async_add_entities(ZephyrZoneFan(entry, control, zone) for zone in caps.zones)


class ZephyrZoneFan(ZephyrControlEntity, FanEntity):
    """The fans of one cooling zone: on while Zephyr (or someone) set their duty, off under the BMC's control."""

    _attr_supported_features = FanEntityFeature.SET_SPEED | FanEntityFeature.TURN_ON | FanEntityFeature.TURN_OFF

    def __init__(self, entry: ZephyrConfigEntry, coordinator: ZephyrControlCoordinator, zone: FanZone) -> None:
        """Attach the fan to its zone."""
        super().__init__(entry, coordinator, zone_description(zone))
        self.zone = zone
        if match := _NUMBERED.fullmatch(zone.key):
            self._attr_translation_placeholders = {"number": match[2]}

    @property
    @override
    def percentage(self) -> int | None:
        """Return the zone's duty cycle (%) as the BMC reports it, None when it cannot be read."""
        state = self.fan_state
        return state.zone_duty.get(self.zone.key) if state is not None else None

    @property
    @override
    def is_on(self) -> bool | None:
        """Return True while the fan duty is set by hand (manual), False under the BMC's automatic control."""
        state = self.fan_state
        return state.manual if state is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the SDR names of the zone's fans, when known."""
        return {"fans": list(self.zone.fans)} if self.zone.fans else {}

    @override
    async def async_set_percentage(self, percentage: int) -> None:
        """Set the zone's duty cycle (%); 0 hands the zone back to the BMC instead of stopping its fans."""
        if percentage == 0:
            await self.async_turn_off()
            return
        await self._async_set_duty(percentage)

    @override
    async def async_turn_on(self, percentage: int | None = None, preset_mode: str | None = None, **kwargs: Any) -> None:
        """Take the zone over at ``percentage``, else at the duty it runs now (read back), else 100 %."""
        if percentage == 0:
            await self.async_turn_off()
            return
        await self._async_set_duty(percentage or self.percentage or 100)

    @zephyr_action
    def _async_set_duty(self, controller: FanController, actor: str, percentage: int) -> object:
        """Send the zone duty through the write gate (blocking; the decorator runs it in the executor)."""
        return self.coordinator.set_zone_duty(controller, self.zone.key, percentage, actor)

    @override
    @zephyr_action
    def async_turn_off(self, controller: FanController, actor: str, /, **kwargs: Any) -> object:
        """Hand the fans back to the BMC's automatic mode (blocking; run in the executor); never stops them."""
        return self.coordinator.hand_back(controller, "turned_off", actor)
