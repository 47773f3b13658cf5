"""Buttons of Zephyr IPMI: server power (Chassis Control, IPMI 2.0 §28.3), chassis identify (§28.5), clear SEL.

Power off, power cycle and hard reset act at once, without the operating system: they start disabled, and
so does *Clear event log* (Clear SEL, §31.9), which erases the BMC's own record of past events. Every press
goes through the core's write gate and is audited. The notification channels entry gets a
*Send test alert* button per channel instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ZephyrConfigEntry
from .delivery import is_channels_entry
from .delivery.entities import ZephyrSendTestAlertButton, async_add_channel_entities
from .entity import ZephyrControlEntity
from .helpers import async_actor, async_clear_event_log, zephyr_action
from .ipmi.control import ChassisAction, FanController
from .ipmi.vendors import Capabilities

PARALLEL_UPDATES = 1

IDENTIFY_SECONDS = 15
"""How long the chassis identify LED blinks after a press (s)."""


@dataclass(frozen=True, kw_only=True)
class ZephyrButtonEntityDescription(ButtonEntityDescription):
    """Describes a button of the BMC: what a press sends, and whether the BMC has it."""

    exists_fn: Callable[[Capabilities], bool]
    press_fn: Callable[[FanController, str], object]


def _chassis(action: ChassisAction) -> Callable[[FanController, str], object]:
    """Return a press that sends Chassis Control ``action``."""
    return lambda controller, actor: controller.chassis_control(action, actor=actor)


DESCRIPTIONS = (
    ZephyrButtonEntityDescription(
        key="power_on",
        translation_key="power_on",
        exists_fn=lambda caps: caps.power_control,
        press_fn=_chassis(ChassisAction.POWER_ON),
    ),
    ZephyrButtonEntityDescription(
        key="soft_shutdown",
        translation_key="soft_shutdown",
        exists_fn=lambda caps: caps.power_control,
        press_fn=_chassis(ChassisAction.SOFT_SHUTDOWN),
    ),
    ZephyrButtonEntityDescription(
        key="power_off",
        translation_key="power_off",
        entity_registry_enabled_default=False,
        exists_fn=lambda caps: caps.power_control,
        press_fn=_chassis(ChassisAction.POWER_OFF),
    ),
    ZephyrButtonEntityDescription(
        key="power_cycle",
        translation_key="power_cycle",
        device_class=ButtonDeviceClass.RESTART,
        entity_registry_enabled_default=False,
        exists_fn=lambda caps: caps.power_control,
        press_fn=_chassis(ChassisAction.POWER_CYCLE),
    ),
    ZephyrButtonEntityDescription(
        key="hard_reset",
        translation_key="hard_reset",
        device_class=ButtonDeviceClass.RESTART,
        entity_registry_enabled_default=False,
        exists_fn=lambda caps: caps.power_control,
        press_fn=_chassis(ChassisAction.HARD_RESET),
    ),
    ZephyrButtonEntityDescription(
        key="identify",
        device_class=ButtonDeviceClass.IDENTIFY,
        entity_category=EntityCategory.CONFIG,
        exists_fn=lambda caps: caps.identify,
        press_fn=lambda controller, actor: controller.identify(IDENTIFY_SECONDS, actor=actor),
    ),
)


CLEAR_EVENT_LOG = ButtonEntityDescription(
    key="clear_event_log",
    translation_key="clear_event_log",
    entity_category=EntityCategory.CONFIG,
    entity_registry_enabled_default=False,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the power and identify buttons the BMC offers (the channels entry: its test alert buttons)."""
    if is_channels_entry(entry):
        async_add_channel_entities(entry, async_add_entities, ZephyrSendTestAlertButton)
        return
    control = entry.runtime_data.control
    if (caps := control.capabilities) is None:
        return
    async_add_entities(
        [
            *(ZephyrButton(entry, control, description) for description in DESCRIPTIONS if description.exists_fn(caps)),
            ZephyrClearEventLogButton(entry, control, CLEAR_EVENT_LOG),
        ]
    )


class ZephyrButton(ZephyrControlEntity, ButtonEntity):
    """A power or identify button; available while the BMC answers and the session may write."""

    entity_description: ZephyrButtonEntityDescription

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC answers and the session has more than the User privilege."""
        return self.coordinator.last_update_success and not self.coordinator.user_privilege

    @override
    @zephyr_action
    def async_press(self, controller: FanController, actor: str) -> object:
        """Send the button's request through the write gate (blocking; the decorator runs it in the executor)."""
        return self.entity_description.press_fn(controller, actor)


class ZephyrClearEventLogButton(ZephyrControlEntity, ButtonEntity):
    """Empties the BMC's SEL (after alerting on its unread records); available while the BMC has a readable SEL."""

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC answers, the session may write and the BMC's SEL could be read."""
        health = self.coordinator.config_entry.runtime_data.health
        return (
            self.coordinator.last_update_success
            and not self.coordinator.user_privilege
            and (health is None or health.sel_supported)
        )

    @override
    async def async_press(self) -> None:
        """Clear the SEL through the write gate, audited (see ``HealthMonitor.async_clear_sel``)."""
        entry = self.coordinator.config_entry
        actor = await async_actor(self.hass, entry, self._context, command="clear_sel")
        await async_clear_event_log(entry, actor, self._context)
