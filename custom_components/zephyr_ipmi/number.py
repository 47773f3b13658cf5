"""Numbers of Zephyr IPMI: the automatic fan control settings owners tune often (entity category config)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .automatic_entity import automatic_entities
from .coordinator import ZephyrConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hysteresis, quiet rule, curve point and fan speed limit numbers of a BMC with fan control."""
    async_add_entities(automatic_entities(entry, "number"))
