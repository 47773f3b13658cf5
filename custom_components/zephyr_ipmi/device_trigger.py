"""Device triggers of Zephyr IPMI: "when server X reports chassis intrusion" (or its end), picked in the UI."""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_EVENT_DATA, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, EVENT_ALERT
from .event import EVENT_TYPES

CONF_SUBTYPE: Final = "subtype"
SUBTYPE_STARTED: Final = "started"
SUBTYPE_ENDED: Final = "ended"
SUBTYPES: Final = (SUBTYPE_STARTED, SUBTYPE_ENDED)
"""A trigger fires when an incident of its kind starts, or when it has ended (the recovery alert)."""

TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        probatio.Required(CONF_TYPE): probatio.In(EVENT_TYPES),
        probatio.Required(CONF_SUBTYPE): probatio.In(SUBTYPES),
    }
)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """List a BMC's triggers: each alert kind, started and ended."""
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DEVICE_ID: device_id,
            CONF_DOMAIN: DOMAIN,
            CONF_TYPE: kind,
            CONF_SUBTYPE: subtype,
        }
        for kind in EVENT_TYPES
        for subtype in SUBTYPES
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the device's ``zephyr_ipmi_alert`` events of the trigger's kind and subtype."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_ALERT,
            CONF_EVENT_DATA: {
                "device_id": config[CONF_DEVICE_ID],
                "kind": config[CONF_TYPE],
                "recovered": config[CONF_SUBTYPE] == SUBTYPE_ENDED,
            },
        }
    )
    return await event_trigger.async_attach_trigger(hass, event_config, action, trigger_info, platform_type="device")
