"""Actions of Zephyr IPMI: fan mode, zone duty, hand-back, fan thresholds and tuning, raw commands, clear SEL.

Each names the BMC by its config entry (thresholds: by the fan sensor's entity). Writes go through the
core's write gate and the audit trail like the entities' do. Users without administrator rights are refused
(with a translated error) unless the BMC's options allow them; raw commands and thresholds are admin
services: Home Assistant refuses them to non-admin users whatever the options say. Automations pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any, Final

import probatio
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service import async_get_config_entry, async_register_admin_service

from .const import DOMAIN
from .coordinator import ZephyrConfigEntry
from .delivery import is_channels_entry
from .fan_control import ZephyrControlCoordinator
from .helpers import async_actor, async_call_bmc, async_clear_event_log, bmc_errors
from .ipmi import SdrSensor, SensorKind
from .ipmi.automatic import AutomaticConfigError
from .ipmi.vendors import FanMode

SERVICE_SET_FAN_MODE: Final = "set_fan_mode"
SERVICE_SET_ZONE_DUTY: Final = "set_zone_duty"
SERVICE_RESTORE: Final = "restore_automatic_fan_control"
SERVICE_SET_FAN_THRESHOLDS: Final = "set_fan_thresholds"
SERVICE_SEND_RAW_COMMAND: Final = "send_raw_command"
SERVICE_CLEAR_EVENT_LOG: Final = "clear_event_log"
SERVICE_TUNE_FAN_THRESHOLDS: Final = "tune_fan_thresholds"

ADMIN_ONLY: Final = frozenset({SERVICE_SET_FAN_THRESHOLDS, SERVICE_SEND_RAW_COMMAND, SERVICE_TUNE_FAN_THRESHOLDS})
"""Actions Home Assistant itself refuses to users without administrator rights, whatever the options say."""

ATTR_MODE: Final = "mode"
ATTR_ZONE: Final = "zone"
ATTR_PERCENTAGE: Final = "percentage"
ATTR_NETFN: Final = "netfn"
ATTR_COMMAND: Final = "command"
ATTR_DATA: Final = "data"

#: Service field → SDR threshold name (IPMI 2.0 §35.8): lower/upper non-recoverable, critical, non-critical.
THRESHOLD_FIELDS: Final = {
    "lower_non_recoverable": "lnr",
    "lower_critical": "lcr",
    "lower_non_critical": "lnc",
    "upper_non_critical": "unc",
    "upper_critical": "ucr",
    "upper_non_recoverable": "unr",
}
_HEX_BYTE = re.compile(r"(?:0x)?([0-9a-f]{1,2})", re.IGNORECASE)

ENTRY_SCHEMA = probatio.Schema({probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
SET_FAN_MODE_SCHEMA = ENTRY_SCHEMA.extend({probatio.Required(ATTR_MODE): probatio.In([mode.value for mode in FanMode])})
SET_ZONE_DUTY_SCHEMA = ENTRY_SCHEMA.extend(
    {
        probatio.Required(ATTR_ZONE): cv.string,
        # 0 passes the schema so that the write gate refuses it with its own message.
        probatio.Required(ATTR_PERCENTAGE): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=100)),
    }
)
SET_FAN_THRESHOLDS_SCHEMA = probatio.All(
    probatio.Schema(
        {
            probatio.Required(ATTR_ENTITY_ID): cv.entity_id,
            **{probatio.Optional(name): probatio.Coerce(float) for name in THRESHOLD_FIELDS},
        }
    ),
    cv.has_at_least_one_key(*THRESHOLD_FIELDS),
)
TUNE_FAN_THRESHOLDS_SCHEMA = probatio.Schema({probatio.Required(ATTR_ENTITY_ID): cv.entity_id})
SEND_RAW_COMMAND_SCHEMA = ENTRY_SCHEMA.extend(
    {
        probatio.Required(ATTR_NETFN): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=0x3F)),
        probatio.Required(ATTR_COMMAND): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=0xFF)),
        probatio.Optional(ATTR_DATA, default=""): probatio.Any(cv.string, [probatio.Coerce(int)]),
    }
)


def parse_data(value: str | list[int]) -> bytes:
    """Return the request data bytes of ``value``: hex bytes such as "0x45 0x00" or "45,00", or a list of ints.

    Raises a translated ``ServiceValidationError`` for anything that is not a byte (0-255).
    """
    if isinstance(value, list):
        numbers = value
    else:
        tokens = [token for token in re.split(r"[\s,]+", value.strip()) if token]
        matches = [_HEX_BYTE.fullmatch(token) for token in tokens]
        if any(match is None for match in matches):
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="raw_data_invalid")
        numbers = [int(match[1], 16) for match in matches if match is not None]
    if any(not 0 <= number <= 0xFF for number in numbers):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="raw_data_invalid")
    return bytes(numbers)


def _bmc_entry(hass: HomeAssistant, entry_id: str | None) -> ZephyrConfigEntry:
    """Return the loaded entry of a BMC (not the notification channels entry) named by an action."""
    entry: ZephyrConfigEntry = async_get_config_entry(hass, DOMAIN, entry_id)
    if is_channels_entry(entry):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_bmc")
    return entry


def _fan_control(hass: HomeAssistant, entry_id: str) -> tuple[ZephyrConfigEntry, ZephyrControlCoordinator]:
    """Return the loaded entry and its control coordinator; refuse a BMC whose fans Zephyr cannot control."""
    entry = _bmc_entry(hass, entry_id)
    control = entry.runtime_data.control
    if not control.fan_control:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="fan_control_unavailable",
            translation_placeholders={"name": entry.title},
        )
    return entry, control


def _fan_sensor(hass: HomeAssistant, entity_id: str) -> tuple[ZephyrConfigEntry, SdrSensor]:
    """Return the loaded entry and the SDR fan sensor of a Zephyr fan speed sensor entity; refuse anything else."""
    entity = er.async_get(hass).async_get(entity_id)
    if entity is None or entity.platform != DOMAIN or entity.domain != Platform.SENSOR:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_fan_sensor")
    entry = _bmc_entry(hass, entity.config_entry_id)
    key = entity.unique_id.removeprefix(f"{entry.unique_id}_")
    sensor = entry.runtime_data.coordinator.sensors.get(key)
    if sensor is None or sensor.kind is not SensorKind.FAN:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_fan_sensor")
    return entry, sensor


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for every BMC)."""

    async def _set_fan_mode(call: ServiceCall) -> None:
        entry, control = _fan_control(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        mode = FanMode(call.data[ATTR_MODE])
        actor = await async_actor(hass, entry, call.context, command=call.service)
        await async_call_bmc(
            control, lambda controller: control.set_fan_mode(controller, mode, actor), context=call.context
        )

    async def _set_zone_duty(call: ServiceCall) -> None:
        entry, control = _fan_control(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        zone, percent = call.data[ATTR_ZONE], call.data[ATTR_PERCENTAGE]
        caps = control.capabilities_now
        zones = [zone.key for zone in caps.zones] if caps is not None else []
        if zone not in zones:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_zone",
                translation_placeholders={"zone": zone},
            )
        actor = await async_actor(hass, entry, call.context, command=call.service)
        await async_call_bmc(
            control,
            lambda controller: control.set_zone_duty(controller, zone, percent, actor),
            context=call.context,
        )

    async def _restore(call: ServiceCall) -> None:
        entry, control = _fan_control(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        actor = await async_actor(hass, entry, call.context, command=call.service)
        await async_call_bmc(
            control, lambda controller: control.hand_back(controller, "restored", actor), context=call.context
        )

    async def _set_fan_thresholds(call: ServiceCall) -> ServiceResponse:
        entry, sensor = _fan_sensor(hass, call.data[ATTR_ENTITY_ID])
        values = {name: call.data[field] for field, name in THRESHOLD_FIELDS.items() if field in call.data}
        actor = await async_actor(hass, entry, call.context, command=call.service)
        control = entry.runtime_data.control
        written = await async_call_bmc(
            control,
            lambda controller: controller.set_sensor_thresholds(sensor, values, actor=actor),
            context=call.context,
        )
        # The values as the BMC stores them: rounded to the sensor's step.
        return {"thresholds": {field: written[name] for field, name in THRESHOLD_FIELDS.items() if name in written}}

    async def _tune_fan_thresholds(call: ServiceCall) -> ServiceResponse:
        entry, sensor = _fan_sensor(hass, call.data[ATTR_ENTITY_ID])
        automatic = entry.runtime_data.automatic
        if automatic is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="fan_control_unavailable",
                translation_placeholders={"name": entry.title},
            )
        actor = await async_actor(hass, entry, call.context, command=call.service)
        try:
            async with bmc_errors(entry.runtime_data.control):
                result = await automatic.async_tune(sensor.key, actor)
        except AutomaticConfigError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.key, translation_placeholders=err.placeholders
            ) from err
        written: dict[str, Any] = {
            field: result.written[name] for field, name in THRESHOLD_FIELDS.items() if name in result.written
        }
        return {"rpm": result.rpm, "floor_rpm": result.floor_rpm, "duty": result.duty, "thresholds": written}

    async def _send_raw_command(call: ServiceCall) -> ServiceResponse:
        entry = _bmc_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        netfn, command = call.data[ATTR_NETFN], call.data[ATTR_COMMAND]
        data = parse_data(call.data[ATTR_DATA])
        actor = await async_actor(hass, entry, call.context, command=call.service)
        answer = await async_call_bmc(
            entry.runtime_data.control,
            lambda controller: controller.raw_command(netfn, command, data, actor=actor),
            context=call.context,
        )
        return {"data": list(answer), "hex": answer.hex(" ")}

    async def _clear_event_log(call: ServiceCall) -> None:
        entry = _bmc_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        actor = await async_actor(hass, entry, call.context, command=call.service)
        await async_clear_event_log(entry, actor, call.context)

    handlers: dict[str, tuple[Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]], Any, SupportsResponse]]
    handlers = {
        SERVICE_SET_FAN_MODE: (_set_fan_mode, SET_FAN_MODE_SCHEMA, SupportsResponse.NONE),
        SERVICE_SET_ZONE_DUTY: (_set_zone_duty, SET_ZONE_DUTY_SCHEMA, SupportsResponse.NONE),
        SERVICE_RESTORE: (_restore, ENTRY_SCHEMA, SupportsResponse.NONE),
        SERVICE_SET_FAN_THRESHOLDS: (_set_fan_thresholds, SET_FAN_THRESHOLDS_SCHEMA, SupportsResponse.OPTIONAL),
        SERVICE_SEND_RAW_COMMAND: (_send_raw_command, SEND_RAW_COMMAND_SCHEMA, SupportsResponse.OPTIONAL),
        SERVICE_CLEAR_EVENT_LOG: (_clear_event_log, ENTRY_SCHEMA, SupportsResponse.NONE),
        SERVICE_TUNE_FAN_THRESHOLDS: (_tune_fan_thresholds, TUNE_FAN_THRESHOLDS_SCHEMA, SupportsResponse.OPTIONAL),
    }
    for service, (handler, schema, response) in handlers.items():
        if service in ADMIN_ONLY:
            async_register_admin_service(hass, DOMAIN, service, handler, schema=schema, supports_response=response)
        else:
            hass.services.async_register(DOMAIN, service, handler, schema=schema, supports_response=response)
