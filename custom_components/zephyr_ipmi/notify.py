"""Notify entities of Zephyr IPMI: one per notification channel (Slack, Discord, Microsoft Teams, Telegram)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .delivery.entities import ZephyrChannelNotifyEntity, async_add_channel_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the notify entity of each channel; only the notification channels entry sets this platform up."""
    async_add_channel_entities(entry, async_add_entities, ZephyrChannelNotifyEntity)
