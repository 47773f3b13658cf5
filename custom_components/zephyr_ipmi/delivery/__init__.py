"""Alert delivery: the notification channels entry, its channels, and the routing of alerts to notify entities.

The channels entry (unique id ``notification_channels``) lives beside the BMC entries of the domain; each of
its subentries is one channel (Slack, Discord, Microsoft Teams, Telegram) with a notify entity, a *Send test
alert* button and a *Delivery problem* binary sensor. Routing and the outbox run for the whole integration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..credentials import CredentialsError, async_decrypt_secret
from .channel import ZephyrChannel
from .channels import ChannelClient, ChannelType, DeliveryRejectedError, build_client, secret_key
from .router import DATA_DELIVERY, DeliveryManager

CHANNELS_UNIQUE_ID: Final = "notification_channels"
CHANNEL_PLATFORMS: Final = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NOTIFY]


@dataclass(kw_only=True)
class ChannelsRuntimeData:
    """What the loaded channels entry holds: its channels by subentry id."""

    channels: dict[str, ZephyrChannel]


type ChannelsConfigEntry = ConfigEntry[ChannelsRuntimeData]


def is_channels_entry(entry: ConfigEntry[Any]) -> bool:
    """Tell the notification channels entry from a BMC's entry."""
    return entry.unique_id == CHANNELS_UNIQUE_ID


async def async_setup_delivery(hass: HomeAssistant) -> None:
    """Start routing alerts: load the outbox kept across restarts and listen for alert events."""
    manager = DeliveryManager(hass)
    hass.data[DATA_DELIVERY] = manager
    await manager.async_start()


async def async_build_client(hass: HomeAssistant, channel_type: ChannelType, data: Mapping[str, Any]) -> ChannelClient:
    """Return the client of a stored channel, decrypting its secret; raise ``CredentialsError``."""
    secret = await async_decrypt_secret(hass, data[secret_key(channel_type)])
    return build_client(async_get_clientsession(hass), channel_type, secret, data)


async def async_setup_channels_entry(hass: HomeAssistant, config_entry: ConfigEntry[Any]) -> bool:
    """Build a channel per subentry, then set up their notify entities, buttons and problem sensors."""
    entry = cast("ChannelsConfigEntry", config_entry)
    manager = hass.data[DATA_DELIVERY]
    channels: dict[str, ZephyrChannel] = {}
    for subentry in entry.subentries.values():
        channel_type = ChannelType(subentry.subentry_type)
        client: ChannelClient | None
        try:
            client = await async_build_client(hass, channel_type, subentry.data)
        except CredentialsError, KeyError:
            client = None
        channel = ZephyrChannel(hass, subentry, client, partial(manager.wake_channels, {subentry.subentry_id}))
        if client is None:
            channel.async_set_problem(DeliveryRejectedError("credentials_unreadable"))
        channels[subentry.subentry_id] = channel
    entry.runtime_data = ChannelsRuntimeData(channels=channels)
    manager.channels.update(channels)
    # Adding, changing or removing a channel (a subentry) rebuilds the channels.
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, CHANNEL_PLATFORMS)
    # A channel that was just added or reconfigured is tried at once for the alerts that wait for it.
    manager.wake_channels(set(channels))
    return True


async def _async_reload(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Reload the channels entry after its subentries changed."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_channels_entry(hass: HomeAssistant, config_entry: ConfigEntry[Any]) -> bool:
    """Unload the channels' entities and stop routing to them (their alerts wait in the outbox)."""
    entry = cast("ChannelsConfigEntry", config_entry)
    if unloaded := await hass.config_entries.async_unload_platforms(entry, CHANNEL_PLATFORMS):
        manager = hass.data[DATA_DELIVERY]
        for subentry_id, channel in entry.runtime_data.channels.items():
            manager.channels.pop(subentry_id, None)
            channel.async_unload()
    return unloaded
