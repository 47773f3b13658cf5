"""Setting up alert delivery in the UI: the channels entry, a channel per service (tested before it is
saved, against a real HTTP server on 127.0.0.1), and a BMC's alert routes.
"""

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.credentials import async_decrypt_secret
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY

from .delivery_helpers import (
    DISCORD_PATH,
    SLACK_PATH,
    TEAMS_PATH,
    TEAMS_QUERY,
    TELEGRAM_CHAT,
    TELEGRAM_TOKEN,
    Reply,
    ServiceSink,
    bmc_entry,
)

TELEGRAM_PATH = f"/bot{TELEGRAM_TOKEN}/sendMessage"


async def _channels_entry(hass: HomeAssistant) -> ConfigEntry:
    """Create the notification channels entry through the config flow's menu, as a user would."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "add"
    assert result["menu_options"] == ["bmc", "notification_channels"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "notification_channels"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Notification channels"
    assert result["data"] == {}
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.unique_id == "notification_channels"
    return entry


async def _add(hass: HomeAssistant, entry: ConfigEntry, kind: str, user_input: dict[str, Any]) -> dict[str, Any]:
    """Open the subentry flow of ``kind`` on ``entry`` and submit ``user_input``."""
    result = await hass.config_entries.subentries.async_init((entry.entry_id, kind), context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return dict(await hass.config_entries.subentries.async_configure(result["flow_id"], user_input))


async def test_menu_then_bmc_form_once_channels_exist(hass: HomeAssistant) -> None:
    """The menu offers the channels until they exist; then adding goes straight to the BMC form."""
    entry = await _channels_entry(hass)
    assert entry.state.recoverable  # loaded, with no channel yet
    assert not entry.supports_options
    assert set(entry.supported_subentry_types) == {"slack", "discord", "teams", "telegram"}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert set(result["data_schema"].schema) == {"host", "port", "username", "password"}


async def test_channels_entry_only_once(hass: HomeAssistant) -> None:
    """A second flow that chose the channels after the first created them aborts."""
    first = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    await _channels_entry(hass)
    result = await hass.config_entries.flow.async_configure(first["flow_id"], {"next_step_id": "notification_channels"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "channels_already_configured"


async def test_channels_entry_cannot_be_reconfigured(hass: HomeAssistant) -> None:
    """Reconfigure on the channels entry explains that each channel is reconfigured instead."""
    entry = await _channels_entry(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "channels_not_reconfigurable"


@pytest.mark.parametrize(
    ("kind", "endpoint", "marker"),
    [
        ("slack", (SLACK_PATH, ""), "blocks"),
        ("discord", (DISCORD_PATH, ""), "embeds"),
        ("teams", (TEAMS_PATH, TEAMS_QUERY), "attachments"),
    ],
)
async def test_add_webhook_channel(
    hass: HomeAssistant, sink: ServiceSink, kind: str, endpoint: tuple[str, str], marker: str
) -> None:
    """A webhook channel is saved once its test alert went through; the URL is stored encrypted."""
    path, query = endpoint
    entry = await _channels_entry(hass)
    url = sink.url(path, query)
    result = await _add(hass, entry, kind, {"name": "Ops", "url": url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Ops"
    (body,) = sink.at(path)
    assert marker in body
    assert "Test alert" in str(body)
    await hass.async_block_till_done()

    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == kind
    assert url not in str(subentry.data)
    assert path not in str(subentry.data)
    assert await async_decrypt_secret(hass, subentry.data["url"]) == url
    assert subentry.unique_id is not None
    assert url not in subentry.unique_id
    # The new channel is set up at once: its notify entity exists.
    assert hass.states.get("notify.ops") is not None

    result = await _add(hass, entry, kind, {"name": "Again", "url": url})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("reply", "errors", "status"),
    [
        (Reply(404, "no_service"), {"url": "rejected"}, "404"),
        (Reply(403, "action_prohibited"), {"url": "rejected"}, "403"),
        (Reply(500, "rollup_error"), {"base": "cannot_connect"}, ""),
        (Reply(429, "rate_limited", headers={"Retry-After": "30"}), {"base": "rate_limited"}, ""),
    ],
)
async def test_add_channel_errors_then_recover(
    hass: HomeAssistant, sink: ServiceSink, reply: Reply, errors: dict[str, str], status: str
) -> None:
    """A test alert the service refuses or fails shows why and saves nothing; once it passes, it is saved."""
    entry = await _channels_entry(hass)
    sink.script(SLACK_PATH, reply)
    result = await _add(hass, entry, "slack", {"name": "Ops", "url": sink.url(SLACK_PATH)})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert result["description_placeholders"] == {"status": status}
    assert not entry.subentries
    # The URL is not offered back in the form; the name is.
    suggested = {
        str(key): key.description.get("suggested_value") for key in result["data_schema"].schema if key.description
    }
    assert suggested == {"name": "Ops"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Ops", "url": sink.url(SLACK_PATH)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("kind", "url", "error"),
    [
        ("slack", "hooks.slack.com/services/T0/B0/x", "invalid_url"),
        ("discord", "ftp://discord.com/api/webhooks/1/x", "invalid_url"),
        ("teams", "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d", "teams_connector_retired"),
        ("teams", "https://outlook.office.com/webhook/a@b/IncomingWebhook/c/d", "teams_connector_retired"),
    ],
)
async def test_add_channel_refuses_urls_without_sending(
    hass: HomeAssistant, sink: ServiceSink, kind: str, url: str, error: str
) -> None:
    """A URL that is not http(s), and a retired Office 365 connector URL, are refused before any request."""
    entry = await _channels_entry(hass)
    result = await _add(hass, entry, kind, {"name": "X", "url": url})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"url": error}
    assert not sink.received


async def test_add_channel_unreachable(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A server that refuses the connection shows cannot_connect."""
    entry = await _channels_entry(hass)
    url = sink.url(SLACK_PATH)
    assert sink.server is not None
    await sink.server.close()
    result = await _add(hass, entry, "slack", {"name": "Ops", "url": url})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_add_telegram_chat(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Telegram asks for the bot token and chat id; the Bot API URL (self-hosted servers) is in a section."""
    entry = await _channels_entry(hass)
    result = await _add(
        hass,
        entry,
        "telegram",
        {"name": "Pager", "token": TELEGRAM_TOKEN, "chat_id": TELEGRAM_CHAT, "advanced": {"api_url": sink.url("/")}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (body,) = sink.at(TELEGRAM_PATH)
    assert body["chat_id"] == TELEGRAM_CHAT
    assert body["parse_mode"] == "HTML"
    (subentry,) = entry.subentries.values()
    assert subentry.data["chat_id"] == TELEGRAM_CHAT
    assert subentry.data["api_url"] == sink.url("/").rstrip("/")
    assert TELEGRAM_TOKEN not in str(subentry.data)
    assert await async_decrypt_secret(hass, subentry.data["token"]) == TELEGRAM_TOKEN


@pytest.mark.parametrize(
    ("reply", "errors"),
    [
        (Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}), {"token": "invalid_token"}),
        (Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"}), {"token": "invalid_token"}),
        (
            Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
            {"chat_id": "chat_rejected"},
        ),
        (
            Reply(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
            {"chat_id": "chat_rejected"},
        ),
    ],
)
async def test_add_telegram_errors(
    hass: HomeAssistant, sink: ServiceSink, reply: Reply, errors: dict[str, str]
) -> None:
    """A rejected token is the token's error; a chat the bot may not post to is the chat id's."""
    entry = await _channels_entry(hass)
    sink.script(TELEGRAM_PATH, reply)
    result = await _add(
        hass,
        entry,
        "telegram",
        {"name": "Pager", "token": TELEGRAM_TOKEN, "chat_id": TELEGRAM_CHAT, "advanced": {"api_url": sink.url("/")}},
    )
    assert result["errors"] == errors
    assert not entry.subentries


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {"token": "123:abc/def", "chat_id": "42", "advanced": {"api_url": "https://api.telegram.org"}},
            {"token": "invalid_token"},
        ),
        (
            {"token": "123:abc", "chat_id": " ", "advanced": {"api_url": "https://api.telegram.org"}},
            {"chat_id": "chat_rejected"},
        ),
        (
            {"token": "123:abc", "chat_id": "42", "advanced": {"api_url": "api.telegram.org"}},
            {"base": "invalid_api_url"},
        ),
    ],
)
async def test_telegram_input_checked_before_sending(
    hass: HomeAssistant, sink: ServiceSink, user_input: dict[str, Any], errors: dict[str, str]
) -> None:
    """A token that would change the request path, an empty chat id, a relative API URL: refused locally."""
    entry = await _channels_entry(hass)
    result = await _add(hass, entry, "telegram", {"name": "Pager", **user_input})
    assert result["errors"] == errors
    assert not sink.received


async def test_reconfigure_channel(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Reconfiguring asks the URL again (never shows it), tests it, and rebuilds the channel."""
    entry = await _channels_entry(hass)
    await _add(hass, entry, "discord", {"name": "Old", "url": sink.url(DISCORD_PATH)})
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    new_path = "/api/webhooks/999/N3wDisc0rdT0ken"
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "discord"), context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id}
    )
    assert result["step_id"] == "reconfigure"
    suggested = {
        str(key): key.description.get("suggested_value") for key in result["data_schema"].schema if key.description
    }
    assert suggested == {"name": "Old"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "New", "url": sink.url(new_path)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert len(sink.at(new_path)) == 1
    (subentry,) = entry.subentries.values()
    assert subentry.title == "New"
    assert await async_decrypt_secret(hass, subentry.data["url"]) == sink.url(new_path)
    assert entry.runtime_data.channels[subentry.subentry_id].title == "New"


async def test_reconfigure_telegram_keeps_chat_and_hides_token(hass: HomeAssistant, sink: ServiceSink) -> None:
    """The Telegram form shows the chat id and Bot API URL again, not the token."""
    entry = await _channels_entry(hass)
    api_url = sink.url("/")
    await _add(
        hass,
        entry,
        "telegram",
        {"name": "Pager", "token": TELEGRAM_TOKEN, "chat_id": "42", "advanced": {"api_url": api_url}},
    )
    (subentry,) = entry.subentries.values()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "telegram"), context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id}
    )
    suggested = {
        str(key): key.description.get("suggested_value") for key in result["data_schema"].schema if key.description
    }
    assert suggested == {"name": "Pager", "chat_id": "42"}
    advanced = next(value for key, value in result["data_schema"].schema.items() if str(key) == "advanced")
    nested = {str(key): key.description.get("suggested_value") for key in advanced.schema.schema if key.description}
    assert nested == {"api_url": api_url.rstrip("/")}


ROUTE = {
    "name": "Critical to Telegram",
    "kinds": ["psu_failure", "chassis_intrusion"],
    "min_severity": "critical",
    "targets": ["notify.telegram"],
    "persistent_notification": False,
}


async def test_add_and_change_alert_route(hass: HomeAssistant) -> None:
    """A BMC's entry holds its alert routes; a route needs at least one target."""
    bmc = await bmc_entry(hass)
    assert set(bmc.supported_subentry_types) == {"alert_route"}
    result = await hass.config_entries.subentries.async_init(
        (bmc.entry_id, "alert_route"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**ROUTE, "targets": [], "persistent_notification": False}
    )
    assert result["errors"] == {"base": "no_target"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], ROUTE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = bmc.subentries.values()
    assert subentry.title == "Critical to Telegram"
    assert dict(subentry.data) == {
        "kinds": ["psu_failure", "chassis_intrusion"],
        "min_severity": "critical",
        "targets": ["notify.telegram"],
        "persistent_notification": False,
    }

    result = await hass.config_entries.subentries.async_init(
        (bmc.entry_id, "alert_route"), context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id}
    )
    suggested = {
        str(key): key.description.get("suggested_value") for key in result["data_schema"].schema if key.description
    }
    assert suggested["name"] == "Critical to Telegram"
    assert suggested["kinds"] == ["psu_failure", "chassis_intrusion"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "", "min_severity": "warning", "persistent_notification": True}
    )
    assert result["reason"] == "reconfigure_successful"
    (subentry,) = bmc.subentries.values()
    assert subentry.title == "All alerts"
    assert dict(subentry.data) == {
        "kinds": [],
        "min_severity": "warning",
        "targets": [],
        "persistent_notification": True,
    }


async def test_route_kinds_exclude_test(hass: HomeAssistant) -> None:
    """The kinds offered are the alert kinds of the contract, without the test alert."""
    bmc = await bmc_entry(hass)
    result = await hass.config_entries.subentries.async_init(
        (bmc.entry_id, "alert_route"), context={"source": SOURCE_USER}
    )
    kinds = next(value for key, value in result["data_schema"].schema.items() if str(key) == "kinds")
    options = kinds.config["options"]
    assert "test" not in options
    assert {"bmc_unreachable", "chassis_intrusion", "psu_failure", "fan_control_lost", "sel_nearly_full"} <= set(
        options
    )
    assert len(options) == 15


async def test_remove_channels_entry(hass: HomeAssistant, sink: ServiceSink, caplog: pytest.LogCaptureFixture) -> None:
    """Deleting the channels entry removes its channels' devices and entities, without errors."""
    entry = await _channels_entry(hass)
    await _add(hass, entry, "slack", {"name": "Ops", "url": sink.url(SLACK_PATH)})
    await hass.async_block_till_done()
    assert hass.states.get("notify.ops") is not None
    assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False
    await hass.async_block_till_done()
    assert hass.states.get("notify.ops") is None
    assert not hass.data[DATA_DELIVERY].channels
    assert "Error" not in caplog.text
