"""Entities of each notification channel: its notify entity, a *Send test alert* button, a problem sensor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast, override

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.components.button import ButtonEntity
from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import NotifyEntityFeature
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from ..const import DOMAIN
from . import ChannelsConfigEntry
from .channel import MODELS, ZephyrChannel


class ZephyrChannelEntity(Entity):
    """An entity of one channel's device (a service device per channel, under the channels entry)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, channel: ZephyrChannel, key: str) -> None:
        """Attach the entity to the channel's device; ``key`` makes its unique id unique within the channel."""
        self.channel = channel
        self._attr_unique_id = f"{channel.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"channel_{channel.subentry_id}")},
            name=channel.title,
            manufacturer="Zephyr IPMI",
            model=MODELS[channel.channel_type],
            entry_type=DeviceEntryType.SERVICE,
        )


class ZephyrChannelNotifyEntity(ZephyrChannelEntity, NotifyEntity):
    """The channel as a notify entity: ``notify.send_message`` posts a plain message to the service."""

    _attr_name = None
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, channel: ZephyrChannel) -> None:
        """Name the entity after the channel."""
        super().__init__(channel, "notify")

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send ``message`` once; a failure raises a translated error (alerts are retried, this is not)."""
        await self.channel.async_send_text(message, title)


class ZephyrSendTestAlertButton(ZephyrChannelEntity, ButtonEntity):
    """Sends a test alert through the channel, in the layout real alerts have."""

    _attr_translation_key = "send_test_alert"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, channel: ZephyrChannel) -> None:
        """Attach the button to the channel."""
        super().__init__(channel, "send_test_alert")

    @override
    async def async_press(self) -> None:
        """Send the test alert; a failure raises a translated error."""
        await self.channel.async_send_test()


class ZephyrDeliveryProblemSensor(ZephyrChannelEntity, BinarySensorEntity):
    """On while the channel cannot deliver: the service refused alerts, or retries ran out."""

    _attr_translation_key = "delivery_problem"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, channel: ZephyrChannel) -> None:
        """Attach the sensor to the channel."""
        super().__init__(channel, "delivery_problem")

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the channel has a problem."""
        return self.channel.problem is not None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the problem's reason code ("http_404", "invalid_token", "timeout"…), None without one."""
        return {"reason": self.channel.problem}

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the channel's problem."""
        await super().async_added_to_hass()
        self.async_on_remove(self.channel.async_add_listener(self.async_write_ha_state))


@callback
def async_add_channel_entities(
    config_entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[ZephyrChannel], Entity],
) -> None:
    """Add the entity ``build`` makes for each channel, under the channel's subentry."""
    entry = cast("ChannelsConfigEntry", config_entry)
    for subentry_id, channel in entry.runtime_data.channels.items():
        async_add_entities([build(channel)], config_subentry_id=subentry_id)
