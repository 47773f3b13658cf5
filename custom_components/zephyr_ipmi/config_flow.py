"""Config flow of Zephyr IPMI: add a BMC, reauthenticate, change its address; options: polling and alerts."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SCAN_INTERVAL, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .automatic_flow import AutomaticOptionsFlowMixin
from .const import (
    CONF_ALERT_COOLDOWN,
    CONF_ALLOW_NON_ADMIN,
    CONF_CPU_TEMPERATURE_CRITICAL,
    CONF_CPU_TEMPERATURE_WARNING,
    CONF_SENSOR_LIMITS,
    CONF_TEMPERATURE_CRITICAL,
    CONF_TEMPERATURE_WARNING,
    CONF_UNREACHABLE_POLLS,
    DEFAULT_PORT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .coordinator import ZephyrConfigEntry
from .credentials import CredentialsError, async_decrypt_credentials, async_encrypt_credentials
from .delivery import CHANNELS_UNIQUE_ID, is_channels_entry
from .delivery.flows import CHANNEL_FLOWS, AlertRouteSubentryFlow
from .delivery.router import SUBENTRY_ROUTE
from .ipmi import BmcClient, BmcIdentity, IpmiAuthError, IpmiError, IpmiSessionLimitError, SdrSensor
from .rules import AlertSettings, Limits

#: One label of a host name (RFC 1123; underscores as some internal DNS zones have them), after IDNA encoding.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
MAX_HOST_LENGTH = 253

MAX_USERNAME_BYTES = 16
MAX_PASSWORD_BYTES = 20

_CREDENTIALS_SCHEMA = {
    probatio.Required(CONF_USERNAME): TextSelector(TextSelectorConfig(autocomplete="username")),
    probatio.Required(CONF_PASSWORD): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
    ),
}
_ADDRESS_SCHEMA = {
    probatio.Required(CONF_HOST): TextSelector(TextSelectorConfig(autocomplete="off")),
    probatio.Required(CONF_PORT, default=DEFAULT_PORT): cv.port,
}


class _BoundedNumberSelector(NumberSelector):
    """A number box that shows its bounds in the form but leaves checking them to the step.

    NumberSelector itself refuses an out-of-range value with untranslated free text that shows the
    number as a float ("Value 5.0 is too small"); the step instead returns a translated field error.
    """

    @override
    def __call__(self, data: Any) -> float:
        """Accept any number; the step checks the range."""
        return float(probatio.Coerce(float)(data))


USER_SCHEMA = probatio.Schema({**_ADDRESS_SCHEMA, **_CREDENTIALS_SCHEMA})
REAUTH_SCHEMA = probatio.Schema(_CREDENTIALS_SCHEMA)
RECONFIGURE_SCHEMA = probatio.Schema(_ADDRESS_SCHEMA)
OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_SCAN_INTERVAL, default=DEFAULT_SCAN_INTERVAL): _BoundedNumberSelector(
            NumberSelectorConfig(
                min=MIN_SCAN_INTERVAL,
                max=MAX_SCAN_INTERVAL,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="s",
            )
        ),
        probatio.Required(CONF_ALLOW_NON_ADMIN, default=False): BooleanSelector(),
    }
)

#: Bounds of the alert options: failed polls before "BMC unreachable", cooldown (s), temperature limits (°C).
UNREACHABLE_POLLS_RANGE = (1, 20)
COOLDOWN_RANGE = (0, 86400)
TEMPERATURE_RANGE = (20, 150)
CONF_SENSOR = "sensor"
LIMIT_KEYS = ("warning_high", "critical_high", "warning_low", "critical_low")


def _box(bounds: tuple[int, int], unit: str | None = None) -> _BoundedNumberSelector:
    """Return a whole-number box showing ``bounds``; the step checks them and shows a translated error."""
    config = NumberSelectorConfig(min=bounds[0], max=bounds[1], step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return _BoundedNumberSelector(config)


ALERTS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_UNREACHABLE_POLLS): _box(UNREACHABLE_POLLS_RANGE),
        probatio.Required(CONF_ALERT_COOLDOWN): _box(COOLDOWN_RANGE, "s"),
        probatio.Required(CONF_CPU_TEMPERATURE_WARNING): _box(TEMPERATURE_RANGE, "°C"),
        probatio.Required(CONF_CPU_TEMPERATURE_CRITICAL): _box(TEMPERATURE_RANGE, "°C"),
        probatio.Required(CONF_TEMPERATURE_WARNING): _box(TEMPERATURE_RANGE, "°C"),
        probatio.Required(CONF_TEMPERATURE_CRITICAL): _box(TEMPERATURE_RANGE, "°C"),
    }
)


def _limits_schema(sensor: SdrSensor) -> probatio.Schema:
    """Four optional limits of one sensor, in its unit."""
    number = NumberSelector(
        NumberSelectorConfig(mode=NumberSelectorMode.BOX, step="any", unit_of_measurement=sensor.unit or "")
    )
    return probatio.Schema({probatio.Optional(key): number for key in LIMIT_KEYS})


def _limits_in_order(limits: Limits) -> bool:
    """Tell whether warning comes before critical on each side, and every low limit is below every high one."""
    low = [v for v in (limits.critical_low, limits.warning_low) if v is not None]
    high = [v for v in (limits.warning_high, limits.critical_high) if v is not None]
    return low == sorted(set(low)) and high == sorted(set(high)) and (not low or not high or max(low) < min(high))


def normalise_host(typed: str) -> str | None:
    """Return the host to store for what the user typed, or None when it is no host name or IP address.

    Surrounding whitespace (a pasted address) and the brackets of an IPv6 address written as in a URL are dropped;
    the rest is kept as typed. A scheme, a port (the port has its own field), a path, inner spaces, control
    characters such as NUL, or a label longer than 63 characters make it None: it is never sent anywhere.
    """
    host = typed.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        return host if _is_ipv6(host) else None
    if ":" in host:
        return host if _is_ipv6(host) else None
    try:
        labels = host.encode("idna").decode("ascii").removesuffix(".").split(".")
    except UnicodeError:
        return None
    if len(host) > MAX_HOST_LENGTH or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def _is_ipv6(host: str) -> bool:
    """Tell whether ``host`` is an IPv6 address (a zone such as ``%eth0`` allowed)."""
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def _close_quietly(client: BmcClient) -> None:
    """Log out of a BMC reached only to validate input; a failure to log out changes nothing (blocking)."""
    try:
        client.close()
    except Exception:  # noqa: BLE001 - the flow's outcome is already decided
        LOGGER.debug("Logging out after validation failed", exc_info=True)


def _identify(client: BmcClient) -> BmcIdentity:
    """Log in and read who the BMC is; a BMC whose FRU names no model gets its SDR controller name (blocking)."""
    identity = client.connect()
    if identity.model is None:
        identity = replace(identity, controller_name=client.controller_name())
    return identity


def _title(identity: BmcIdentity) -> str:
    """Name a BMC by what it reports: manufacturer and model, its controller's name, or its product id."""
    return identity.name


class ZephyrConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a BMC reached over IPMI 2.0 (RMCP+, lanplus)."""

    VERSION = 1

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ZephyrConfigEntry) -> ZephyrOptionsFlow:
        """Return the options flow."""
        return ZephyrOptionsFlow()

    @classmethod
    @callback
    @override
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """BMC entries have options; the notification channels entry has none."""
        return not is_channels_entry(config_entry)

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(cls, config_entry: ConfigEntry) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the channels entry's channel types, or a BMC entry's alert routes."""
        if is_channels_entry(config_entry):
            return dict(CHANNEL_FLOWS)
        return {SUBENTRY_ROUTE: AlertRouteSubentryFlow}

    async def _async_connect(
        self, host: str, port: int, username: str, password: str
    ) -> tuple[BmcIdentity | None, dict[str, str]]:
        """Log in once to check the input; return the BMC's identity, or the errors to show."""
        # IPMI 2.0 stores user names of at most 16 bytes and passwords of at most 20 (§13.8, §22.29):
        # a longer one can never log in, and trying would count as a failed login at the BMC.
        if len(username.encode()) > MAX_USERNAME_BYTES:
            return None, {CONF_USERNAME: "username_too_long"}
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return None, {CONF_PASSWORD: "password_too_long"}
        client = BmcClient(host, port, username, password)
        try:
            return await self.hass.async_add_executor_job(_identify, client), {}
        except IpmiError as err:
            # The form shows only the error key; the core's reason (e.g. "the BMC offered no usable cipher
            # suite") goes to the debug log. Its messages never carry credentials; the pyghmi error chained
            # to it can name the user, so no traceback is logged.
            LOGGER.debug("Logging in to the BMC at %s port %s failed: %s", host, port, str(err) or type(err).__name__)
            if isinstance(err, IpmiAuthError):
                error = "invalid_auth"
            elif isinstance(err, IpmiSessionLimitError):
                error = "session_limit"
            else:
                # Lost or refused session, a busy BMC (completion code), a malformed answer: all mean "try again".
                error = "cannot_connect"
        except Exception:  # noqa: BLE001 - shown as "unknown"; the traceback goes to the log
            LOGGER.exception("Unexpected error connecting to the BMC at %s port %s", host, port)
            error = "unknown"
        finally:
            await self.hass.async_add_executor_job(_close_quietly, client)
        return None, {"base": error}

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer a BMC or the notification channels while the latter are not set up; else add a BMC."""
        if user_input is None and not self._async_channels_configured():
            return await self.async_step_add()
        return await self.async_step_bmc(user_input)

    async def async_step_add(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask what to add: a BMC, or the notification channels."""
        return self.async_show_menu(step_id="add", menu_options=["bmc", "notification_channels"])

    def _async_channels_configured(self) -> bool:
        """Tell whether the notification channels entry exists."""
        return any(is_channels_entry(entry) for entry in self._async_current_entries(include_ignore=False))

    async def async_step_notification_channels(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the single notification channels entry; channels are then added to it as subentries."""
        if self._async_channels_configured():
            return self.async_abort(reason="channels_already_configured")
        await self.async_set_unique_id(CHANNELS_UNIQUE_ID)
        return self.async_create_entry(title="Notification channels", data={})

    async def async_step_bmc(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the BMC's address and credentials, and log in before saving them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host, port = normalise_host(user_input[CONF_HOST]), user_input[CONF_PORT]
            username, password = user_input[CONF_USERNAME], user_input[CONF_PASSWORD]
            if host is None:
                errors[CONF_HOST] = "invalid_host"
            else:
                identity, errors = await self._async_connect(host, port, username, password)
                if identity is not None:
                    await self.async_set_unique_id(identity.unique_id)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=_title(identity),
                        data={
                            CONF_HOST: host,
                            CONF_PORT: port,
                            **await async_encrypt_credentials(self.hass, username, password),
                        },
                    )
            user_input = {key: value for key, value in user_input.items() if key != CONF_PASSWORD}
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the BMC rejected the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for new credentials, keeping the address, and check they reach the same BMC."""
        errors: dict[str, str] = {}
        entry = self._get_reauth_entry()
        if user_input is not None:
            username, password = user_input[CONF_USERNAME], user_input[CONF_PASSWORD]
            identity, errors = await self._async_connect(
                entry.data[CONF_HOST], entry.data[CONF_PORT], username, password
            )
            if identity is not None:
                await self.async_set_unique_id(identity.unique_id)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(
                    entry, data_updates=await async_encrypt_credentials(self.hass, username, password)
                )
            suggested = {CONF_USERNAME: username}
        else:
            suggested = await self._async_stored_username(entry)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(REAUTH_SCHEMA, suggested),
            description_placeholders={CONF_HOST: entry.data[CONF_HOST]},
            errors=errors,
        )

    async def _async_stored_username(self, entry: ConfigEntry) -> dict[str, str]:
        """Return the entry's user name to suggest, or nothing when it cannot be decrypted."""
        try:
            username, _ = await async_decrypt_credentials(self.hass, entry.data)
        except CredentialsError:
            return {}
        return {CONF_USERNAME: username}

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the BMC's address and port, checking that the same BMC answers there."""
        errors: dict[str, str] = {}
        entry = self._get_reconfigure_entry()
        if is_channels_entry(entry):
            return self.async_abort(reason="channels_not_reconfigurable")
        if user_input is not None:
            try:
                username, password = await async_decrypt_credentials(self.hass, entry.data)
            except CredentialsError:
                return self.async_abort(reason="credentials_unreadable")
            host, port = normalise_host(user_input[CONF_HOST]), user_input[CONF_PORT]
            if host is None:
                errors[CONF_HOST] = "invalid_host"
            else:
                identity, errors = await self._async_connect(host, port, username, password)
                if identity is not None:
                    await self.async_set_unique_id(identity.unique_id)
                    self._abort_if_unique_id_mismatch()
                    return self.async_update_reload_and_abort(entry, data_updates={CONF_HOST: host, CONF_PORT: port})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(RECONFIGURE_SCHEMA, user_input or entry.data),
            errors=errors,
        )


class ZephyrOptionsFlow(AutomaticOptionsFlowMixin, OptionsFlowWithReload):
    """Set how often the BMC is polled, how it alerts and automatic fan control; saving reloads the entry."""

    _sensor: SdrSensor | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the option pages: polling, alerts, limits of one sensor and (with fan control) automatic control."""
        menu = ["polling", "alerts", "sensor_limits"]
        if self.automatic_coordinator is not None:
            menu.append("automatic")
        return self.async_show_menu(step_id="init", menu_options=menu)

    def _save(self, changes: dict[str, Any]) -> ConfigFlowResult:
        """Save ``changes`` and keep every other option."""
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    async def async_step_polling(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the scan interval: whole seconds from MIN_SCAN_INTERVAL to MAX_SCAN_INTERVAL."""
        errors: dict[str, str] = {}
        options = self.config_entry.options
        if user_input is not None:
            seconds: float = user_input[CONF_SCAN_INTERVAL]
            if seconds.is_integer() and MIN_SCAN_INTERVAL <= seconds <= MAX_SCAN_INTERVAL:
                return self._save(
                    {
                        CONF_SCAN_INTERVAL: int(seconds),
                        CONF_ALLOW_NON_ADMIN: bool(user_input.get(CONF_ALLOW_NON_ADMIN, False)),
                    }
                )
            errors[CONF_SCAN_INTERVAL] = "scan_interval_out_of_range"
        else:
            user_input = {
                CONF_SCAN_INTERVAL: options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
                CONF_ALLOW_NON_ADMIN: options.get(CONF_ALLOW_NON_ADMIN, False),
            }
        return self.async_show_form(
            step_id="polling",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, user_input),
            errors=errors,
            description_placeholders={"min": str(MIN_SCAN_INTERVAL), "max": str(MAX_SCAN_INTERVAL)},
        )

    async def async_step_alerts(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for failed polls before "BMC unreachable", the cooldown (s) and the temperature limits (°C)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            for key, bounds in (
                (CONF_UNREACHABLE_POLLS, UNREACHABLE_POLLS_RANGE),
                (CONF_ALERT_COOLDOWN, COOLDOWN_RANGE),
                (CONF_CPU_TEMPERATURE_WARNING, TEMPERATURE_RANGE),
                (CONF_CPU_TEMPERATURE_CRITICAL, TEMPERATURE_RANGE),
                (CONF_TEMPERATURE_WARNING, TEMPERATURE_RANGE),
                (CONF_TEMPERATURE_CRITICAL, TEMPERATURE_RANGE),
            ):
                value: float = user_input[key]
                if not (value.is_integer() and bounds[0] <= value <= bounds[1]):
                    errors[key] = "value_out_of_range"
            for warning, critical in (
                (CONF_CPU_TEMPERATURE_WARNING, CONF_CPU_TEMPERATURE_CRITICAL),
                (CONF_TEMPERATURE_WARNING, CONF_TEMPERATURE_CRITICAL),
            ):
                if critical not in errors and user_input[critical] <= user_input[warning]:
                    errors[critical] = "critical_not_above_warning"
            if not errors:
                return self._save({key: int(value) for key, value in user_input.items()})
        else:
            settings = AlertSettings.from_options(self.config_entry.options)
            user_input = {
                CONF_UNREACHABLE_POLLS: settings.unreachable_polls,
                CONF_ALERT_COOLDOWN: int(settings.cooldown.total_seconds()),
                CONF_CPU_TEMPERATURE_WARNING: settings.cpu_temperature.warning_high,
                CONF_CPU_TEMPERATURE_CRITICAL: settings.cpu_temperature.critical_high,
                CONF_TEMPERATURE_WARNING: settings.temperature.warning_high,
                CONF_TEMPERATURE_CRITICAL: settings.temperature.critical_high,
            }
        return self.async_show_form(
            step_id="alerts",
            data_schema=self.add_suggested_values_to_schema(ALERTS_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_sensor_limits(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask which threshold sensor gets monitoring limits of its own."""
        entry: ZephyrConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="bmc_not_loaded")
        sensors = {key: sdr for key, sdr in entry.runtime_data.coordinator.sensors.items() if sdr.is_threshold}
        if user_input is not None:
            self._sensor = sensors[user_input[CONF_SENSOR]]
            return await self.async_step_sensor_limit()
        limited = set(entry.options.get(CONF_SENSOR_LIMITS) or {})
        choices = [
            SelectOptionDict(value=key, label=f"{sdr.name} ✓" if key in limited else sdr.name)
            for key, sdr in sorted(sensors.items(), key=lambda item: item[1].name.lower())
        ]
        schema = probatio.Schema(
            {
                probatio.Required(CONF_SENSOR): SelectSelector(
                    SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN)
                )
            }
        )
        return self.async_show_form(step_id="sensor_limits", data_schema=schema)

    async def async_step_sensor_limit(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the chosen sensor's limits (its unit); all empty removes them."""
        sensor = self._sensor
        assert sensor is not None  # noqa: S101 - set by the sensor_limits step
        stored: dict[str, Any] = dict(self.config_entry.options.get(CONF_SENSOR_LIMITS) or {})
        errors: dict[str, str] = {}
        if user_input is not None:
            limits = Limits.from_dict(user_input)
            if _limits_in_order(limits):
                if limits.as_dict():
                    stored[sensor.key] = limits.as_dict()
                else:
                    stored.pop(sensor.key, None)
                return self._save({CONF_SENSOR_LIMITS: stored})
            errors["base"] = "limits_out_of_order"
        else:
            user_input = dict(stored.get(sensor.key) or {})
        thresholds = ", ".join(f"{key.upper()} {value:g}" for key, value in sensor.thresholds.items()) or "none"
        return self.async_show_form(
            step_id="sensor_limit",
            data_schema=self.add_suggested_values_to_schema(_limits_schema(sensor), user_input),
            errors=errors,
            description_placeholders={"sensor": sensor.name, "unit": sensor.unit or "", "thresholds": thresholds},
        )
