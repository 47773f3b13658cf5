"""Diagnostics of the notification channels entry: channels without their secrets, and the outbox."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .channels import CONF_CHAT_ID, CONF_TOKEN, CONF_URL
from .router import DATA_DELIVERY

TO_REDACT = {CONF_URL, CONF_TOKEN, CONF_CHAT_ID, "unique_id"}


async def async_get_channels_diagnostics(hass: HomeAssistant, entry: ConfigEntry[Any]) -> dict[str, Any]:
    """Return the channels (type, title, problem) and the waiting alerts, without URLs, tokens or chat ids."""
    return {
        "subentries": [
            async_redact_data(
                {
                    "subentry_id": subentry.subentry_id,
                    "type": subentry.subentry_type,
                    "title": subentry.title,
                    "unique_id": subentry.unique_id,
                    "data": dict(subentry.data),
                },
                TO_REDACT,
            )
            for subentry in entry.subentries.values()
        ],
        **hass.data[DATA_DELIVERY].describe(),
    }
