"""Subentry flows: a notification channel per service, tested before it is saved, and a BMC's alert routes."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Final, override

import probatio
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from ..alerts import AlertKind, AlertSeverity
from ..const import LOGGER
from ..credentials import async_encrypt_secret
from .channel import test_alert
from .channels import (
    CONF_API_URL,
    CONF_CHAT_ID,
    CONF_TOKEN,
    CONF_URL,
    TELEGRAM_API_URL,
    ChannelType,
    DeliveryRejectedError,
    DeliveryRetryError,
    build_client,
    retired_teams_connector,
    secret_key,
    valid_http_url,
)
from .messages import render
from .router import CONF_KINDS, CONF_MIN_SEVERITY, CONF_PERSISTENT, CONF_TARGETS

SECTION_ADVANCED: Final = "advanced"
DEFAULT_NAMES: Final = {
    ChannelType.SLACK: "Slack",
    ChannelType.DISCORD: "Discord",
    ChannelType.TEAMS: "Microsoft Teams",
    ChannelType.TELEGRAM: "Telegram",
}

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL, autocomplete="off"))


def _unique_id(*parts: str) -> str:
    """Return a digest that tells two channels to the same destination apart without storing the secret."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class ChannelSubentryFlow(ConfigSubentryFlow):
    """Add or change one channel: ask only what the service needs, send a test alert, then save."""

    channel_type: ClassVar[ChannelType]

    def _schema(self) -> probatio.Schema:
        """Return the form: a name and the webhook URL (Telegram overrides this)."""
        return probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=DEFAULT_NAMES[self.channel_type]): TextSelector(),
                probatio.Required(CONF_URL): _URL_SELECTOR,
            }
        )

    def _parse(self, user_input: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Return the secret, the other fields to store, and the field errors of the input."""
        url = valid_http_url(user_input[CONF_URL])
        if url is None:
            return "", {}, {CONF_URL: "invalid_url"}
        if self.channel_type is ChannelType.TEAMS and retired_teams_connector(url):
            return "", {}, {CONF_URL: "teams_connector_retired"}
        return str(url), {}, {}

    def _rejected_error(self, err: DeliveryRejectedError) -> dict[str, str]:
        """Return the field error for a test message the service refused."""
        return {CONF_URL: "rejected"}

    def _suggested(self, subentry: ConfigSubentry) -> dict[str, Any]:
        """Return what the reconfigure form shows of a stored channel: never its secret."""
        return {CONF_NAME: subentry.title}

    async def _async_test(self, user_input: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, str], str]:
        """Check the input and send a test alert; return the secret, the unique id, the fields, errors, status."""
        secret, fields, errors = self._parse(user_input)
        if errors:
            return secret, "", fields, errors, ""
        client = build_client(async_get_clientsession(self.hass), self.channel_type, secret, fields)
        try:
            await client.async_send(client.alert_payload(render(test_alert("Zephyr IPMI"))))
        except DeliveryRetryError as err:
            LOGGER.debug("Test message to a new %s channel failed: %s %s", self.channel_type, err.reason, err.detail)
            errors = {"base": "rate_limited" if err.reason == "rate_limited" else "cannot_connect"}
            return secret, "", fields, errors, ""
        except DeliveryRejectedError as err:
            LOGGER.debug("Test message to a new %s channel refused: %s %s", self.channel_type, err.reason, err.detail)
            return secret, "", fields, self._rejected_error(err), str(err.status or "")
        return secret, _unique_id(self.channel_type, secret, *map(str, fields.values())), fields, {}, ""

    async def _async_step(
        self, step_id: str, user_input: dict[str, Any] | None, subentry: ConfigSubentry | None
    ) -> SubentryFlowResult:
        """Show the form, or test and save the channel (a new one, or ``subentry`` changed)."""
        errors: dict[str, str] = {}
        status = ""
        if user_input is not None:
            secret, unique_id, fields, errors, status = await self._async_test(user_input)
            entry = self._get_entry()
            if not errors:
                if any(other.unique_id == unique_id and other is not subentry for other in entry.subentries.values()):
                    return self.async_abort(reason="already_configured")
                data = {**fields, secret_key(self.channel_type): await async_encrypt_secret(self.hass, secret)}
                title = user_input[CONF_NAME].strip() or DEFAULT_NAMES[self.channel_type]
                if subentry is None:
                    return self.async_create_entry(title=title, data=data, unique_id=unique_id)
                return self.async_update_and_abort(entry, subentry, title=title, data=data, unique_id=unique_id)
            suggested = {key: value for key, value in user_input.items() if key not in (CONF_URL, CONF_TOKEN)}
        else:
            suggested = self._suggested(subentry) if subentry is not None else {}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(self._schema(), suggested),
            errors=errors,
            description_placeholders={"status": status},
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a channel."""
        return await self._async_step("user", user_input, None)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change a channel: its name, and its URL or token (asked again, since they are never shown)."""
        return await self._async_step("reconfigure", user_input, self._get_reconfigure_subentry())


class SlackSubentryFlow(ChannelSubentryFlow):
    """A Slack incoming webhook."""

    channel_type = ChannelType.SLACK


class DiscordSubentryFlow(ChannelSubentryFlow):
    """A Discord channel webhook."""

    channel_type = ChannelType.DISCORD


class TeamsSubentryFlow(ChannelSubentryFlow):
    """A Microsoft Teams Workflows (Power Automate) webhook; retired Office 365 connector URLs are refused."""

    channel_type = ChannelType.TEAMS


class TelegramSubentryFlow(ChannelSubentryFlow):
    """A Telegram chat reached by a bot through the Bot API (api.telegram.org, or a self-hosted server)."""

    channel_type = ChannelType.TELEGRAM

    @override
    def _schema(self) -> probatio.Schema:
        """Return the form: name, bot token, chat id, and the Bot API URL in a collapsed section."""
        return probatio.Schema(
            {
                probatio.Required(CONF_NAME, default=DEFAULT_NAMES[self.channel_type]): TextSelector(),
                probatio.Required(CONF_TOKEN): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
                ),
                probatio.Required(CONF_CHAT_ID): TextSelector(),
                probatio.Required(SECTION_ADVANCED): section(
                    probatio.Schema({probatio.Required(CONF_API_URL, default=TELEGRAM_API_URL): _URL_SELECTOR}),
                    {"collapsed": True},
                ),
            }
        )

    @override
    def _parse(self, user_input: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Return the token, the chat id and Bot API URL, and the field errors."""
        token = user_input[CONF_TOKEN].strip()
        chat_id = str(user_input[CONF_CHAT_ID]).strip()
        api_url = valid_http_url(user_input.get(SECTION_ADVANCED, {}).get(CONF_API_URL) or TELEGRAM_API_URL)
        if api_url is None:
            return "", {}, {"base": "invalid_api_url"}
        if not token or "/" in token:
            return "", {}, {CONF_TOKEN: "invalid_token"}
        if not chat_id:
            return "", {}, {CONF_CHAT_ID: "chat_rejected"}
        return token, {CONF_CHAT_ID: chat_id, CONF_API_URL: str(api_url).rstrip("/")}, {}

    @override
    def _rejected_error(self, err: DeliveryRejectedError) -> dict[str, str]:
        """Return the token's error for a rejected token (401, 404), else the chat's."""
        return {CONF_TOKEN: "invalid_token"} if err.reason == "invalid_token" else {CONF_CHAT_ID: "chat_rejected"}

    @override
    def _suggested(self, subentry: ConfigSubentry) -> dict[str, Any]:
        """Show the name, chat id and Bot API URL; never the token."""
        return {
            CONF_NAME: subentry.title,
            CONF_CHAT_ID: subentry.data.get(CONF_CHAT_ID),
            SECTION_ADVANCED: {CONF_API_URL: subentry.data.get(CONF_API_URL, TELEGRAM_API_URL)},
        }


CHANNEL_FLOWS: Final[dict[str, type[ConfigSubentryFlow]]] = {
    ChannelType.SLACK: SlackSubentryFlow,
    ChannelType.DISCORD: DiscordSubentryFlow,
    ChannelType.TEAMS: TeamsSubentryFlow,
    ChannelType.TELEGRAM: TelegramSubentryFlow,
}

ROUTE_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_NAME, default="All alerts"): TextSelector(),
        probatio.Optional(CONF_KINDS, default=[]): SelectSelector(
            SelectSelectorConfig(
                options=[kind.value for kind in AlertKind if kind is not AlertKind.TEST],
                multiple=True,
                translation_key="alert_kind",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        probatio.Required(CONF_MIN_SEVERITY, default=AlertSeverity.INFO.value): SelectSelector(
            SelectSelectorConfig(
                options=[severity.value for severity in AlertSeverity],
                translation_key="alert_severity",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        probatio.Optional(CONF_TARGETS, default=[]): EntitySelector(
            EntitySelectorConfig(domain="notify", multiple=True)
        ),
        probatio.Required(CONF_PERSISTENT, default=True): BooleanSelector(),
    }
)


class AlertRouteSubentryFlow(ConfigSubentryFlow):
    """A route of one BMC's alerts: which kinds, from which severity, to which notify entities."""

    async def _async_step(
        self, step_id: str, user_input: dict[str, Any] | None, subentry: ConfigSubentry | None
    ) -> SubentryFlowResult:
        """Show the route form, or save the route (new, or ``subentry`` changed)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                CONF_KINDS: list(user_input.get(CONF_KINDS, [])),
                CONF_MIN_SEVERITY: user_input[CONF_MIN_SEVERITY],
                CONF_TARGETS: list(user_input.get(CONF_TARGETS, [])),
                CONF_PERSISTENT: user_input[CONF_PERSISTENT],
            }
            if not data[CONF_TARGETS] and not data[CONF_PERSISTENT]:
                errors["base"] = "no_target"
            else:
                title = user_input[CONF_NAME].strip() or "All alerts"
                if subentry is None:
                    return self.async_create_entry(title=title, data=data)
                return self.async_update_and_abort(self._get_entry(), subentry, title=title, data=data)
            suggested = user_input
        else:
            suggested = {CONF_NAME: subentry.title, **subentry.data} if subentry is not None else {}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(ROUTE_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a route."""
        return await self._async_step("user", user_input, None)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change a route."""
        return await self._async_step("reconfigure", user_input, self._get_reconfigure_subentry())
