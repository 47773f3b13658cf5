"""Buttons of Zephyr IPMI: *Send test alert* on each notification channel."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .delivery.entities import ZephyrSendTestAlertButton, async_add_channel_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the *Send test alert* button of each channel; only the notification channels entry sets this platform up."""
    async_add_channel_entities(entry, async_add_entities, ZephyrSendTestAlertButton)
