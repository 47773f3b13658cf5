"""Clients of the webhook-style services: the payload each documents, one POST, and what its answer means.

Each client raises ``DeliveryRetryError`` for what may pass (timeouts, refused connections, HTTP 408, 429 and
5xx) and ``DeliveryRejectedError`` for answers that will not change by retrying (other 4xx). Secrets (the
webhook URL, the bot token) never appear in an exception, a log line or a chained cause: aiohttp's errors
carry the URL, so they are replaced, never chained.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, override

import aiohttp
from homeassistant.util import dt as dt_util
from yarl import URL

from .messages import AlertMessage

SEND_TIMEOUT: Final = 15.0
"""Seconds one POST may take, connection included, before it counts as a failed attempt."""
MAX_RETRY_AFTER: Final = 3_600.0
"""Longest wait (s) a ``Retry-After`` may impose; longer answers are capped."""
TELEGRAM_API_URL: Final = "https://api.telegram.org"
PRODUCT: Final = "Zephyr IPMI"
REDACTED: Final = "**REDACTED**"

SEVERITY_COLOURS: Final = {"info": 0x1E88E5, "warning": 0xF9A825, "critical": 0xD32F2F}
"""Discord embed colour (0xRRGGBB) by severity; recoveries are green (``RECOVERED_COLOUR``)."""
RECOVERED_COLOUR: Final = 0x2E7D32
TEAMS_COLOURS: Final = {"info": "Accent", "warning": "Warning", "critical": "Attention"}
"""Adaptive Card TextBlock colours by severity; recoveries are "Good"."""


class ChannelType(StrEnum):
    """The services Zephyr delivers to itself (each a config subentry type of the channels entry)."""

    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    TELEGRAM = "telegram"


class DeliveryError(Exception):
    """A message was not delivered; ``reason`` is a short code safe to log and show ("timeout", "http_404")."""

    def __init__(self, reason: str, detail: str = "") -> None:
        """Keep the reason code and, for the log only, the service's answer with secrets removed."""
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class DeliveryRetryError(DeliveryError):
    """A failure that may pass: try again after ``retry_after`` seconds when the service said so."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        """Keep the wait (s) the service asked for, if any."""
        super().__init__(reason, detail)
        self.retry_after = retry_after


class DeliveryRejectedError(DeliveryError):
    """The service refused the message (HTTP 4xx other than 408 and 429): retrying would not help."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None) -> None:
        """Keep the HTTP status, when there was one."""
        super().__init__(reason, detail)
        self.status = status


def retired_teams_connector(url: URL) -> bool:
    """Tell whether ``url`` is an Office 365 connector webhook, which Microsoft retired for Workflows.

    Connector URLs are ``https://<tenant>.webhook.office.com/webhookb2/…`` and the older
    ``https://outlook.office.com/webhook/…`` (Microsoft 365 Developer Blog, "Retirement of Office 365
    connectors within Microsoft Teams", 2024).
    """
    host = (url.host or "").lower()
    if host == "webhook.office.com" or host.endswith(".webhook.office.com"):
        return True
    return host in {"outlook.office.com", "outlook.office365.com"} and url.path.lower().startswith("/webhook")


def parse_retry_after(value: str | None) -> float | None:
    """Return the wait (s) of a ``Retry-After`` header, as seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except TypeError, ValueError:
            return None
        seconds = (when - dt_util.utcnow()).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ChannelClient:
    """Posts JSON to one service endpoint through Home Assistant's shared aiohttp session."""

    channel_type: ClassVar[ChannelType]

    def __init__(self, session: aiohttp.ClientSession, url: URL, secrets: Iterable[str]) -> None:
        """Post to ``url``; ``secrets`` are the strings to remove from anything logged (URL, token)."""
        self._session = session
        self._url = url
        # Short fragments (a path of "/") are no secret and would garble every line if replaced.
        self._secrets = tuple(sorted({secret for secret in secrets if len(secret) >= 8}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """Return ``text`` with every secret of this channel replaced by ``**REDACTED**``."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def alert_payload(self, message: AlertMessage) -> dict[str, Any]:
        """Return the service's JSON for an alert."""
        raise NotImplementedError

    def text_payload(self, text: str, title: str | None) -> dict[str, Any]:
        """Return the service's JSON for a plain message (``notify.send_message``)."""
        raise NotImplementedError

    def _retry_after(self, response: aiohttp.ClientResponse, body: Any) -> float | None:
        """Return the wait (s) a 429 answer asks for; services that put it in the body override this."""
        return parse_retry_after(response.headers.get("Retry-After"))

    def _rejected(self, status: int, body: Any) -> DeliveryRejectedError:
        """Return the error for a refusing answer (HTTP 4xx)."""
        return DeliveryRejectedError(f"http_{status}", self._detail(body), status=status)

    def _detail(self, body: Any) -> str:
        """Return the service's answer for the log: short, without secrets."""
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return self.scrub(_clip(text, 300))

    async def async_send(self, payload: dict[str, Any]) -> None:
        """POST ``payload``; return on 2xx, raise ``DeliveryRetryError`` or ``DeliveryRejectedError``."""
        try:
            async with self._session.post(
                self._url, json=payload, timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT)
            ) as response:
                status = response.status
                if 200 <= status < 300:
                    return
                text = await response.text(errors="replace")
                try:
                    body: Any = json.loads(text)
                except ValueError:
                    body = text
                retry_after = self._retry_after(response, body) if status == 429 else None
        except TimeoutError:
            raise DeliveryRetryError("timeout") from None
        except aiohttp.InvalidURL:
            raise DeliveryRejectedError("invalid_url") from None
        except aiohttp.ClientError as err:
            # The message of aiohttp's errors names the URL: keep only the class.
            raise DeliveryRetryError("cannot_connect", type(err).__name__) from None
        if status == 429:
            raise DeliveryRetryError("rate_limited", self._detail(body), retry_after=retry_after)
        if status == 408 or status >= 500:
            raise DeliveryRetryError(f"http_{status}", self._detail(body))
        raise self._rejected(status, body)


class SlackClient(ChannelClient):
    """Slack incoming webhook: Block Kit (api.slack.com/messaging/webhooks, api.slack.com/reference/block-kit)."""

    channel_type = ChannelType.SLACK

    @staticmethod
    def _escape(text: str) -> str:
        """Escape the three characters Slack's mrkdwn reserves (&, <, >)."""
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    @override
    def alert_payload(self, message: AlertMessage) -> dict[str, Any]:
        """Return a header, the sentence, the facts as fields and the product as context; ``text`` is the fallback."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(message.title, 150), "emoji": True}},
        ]
        if message.text:
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _clip(self._escape(message.text), 3000)}}
            )
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{_clip(self._escape(value), 1900)}"}
                    for label, value in message.facts[:10]
                ],
            }
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": PRODUCT}]})
        return {
            "text": _clip(f"{message.title}: {message.text}" if message.text else message.title, 3000),
            "blocks": blocks,
        }

    @override
    def text_payload(self, text: str, title: str | None) -> dict[str, Any]:
        """Return the text, with the title in bold above it."""
        escaped = self._escape(text)
        return {"text": f"*{self._escape(title)}*\n{escaped}" if title else escaped}


class DiscordClient(ChannelClient):
    """Discord webhook: an embed coloured by severity (discord.com/developers/docs/resources/webhook)."""

    channel_type = ChannelType.DISCORD

    def __init__(self, session: aiohttp.ClientSession, url: URL, secrets: Iterable[str]) -> None:
        """Ask Discord to wait for the message, so that refusals come back as errors (``?wait=true``)."""
        super().__init__(session, url.update_query(wait="true"), secrets)

    @staticmethod
    def _base(payload: dict[str, Any]) -> dict[str, Any]:
        """Add the sender's name and forbid mentions (an SEL text must never ping @everyone)."""
        return {"username": PRODUCT, "allowed_mentions": {"parse": []}, **payload}

    @override
    def alert_payload(self, message: AlertMessage) -> dict[str, Any]:
        """Return one embed: title, sentence, facts as inline fields, the alert's time."""
        colour = RECOVERED_COLOUR if message.recovered else SEVERITY_COLOURS[message.severity]
        embed: dict[str, Any] = {
            "title": _clip(message.title, 256),
            "color": colour,
            "fields": [
                {"name": label, "value": _clip(value, 1024), "inline": True} for label, value in message.facts[:25]
            ],
            "timestamp": message.time.isoformat(),
            "footer": {"text": PRODUCT},
        }
        if message.text:
            embed["description"] = _clip(message.text, 4096)
        return self._base({"embeds": [embed]})

    @override
    def text_payload(self, text: str, title: str | None) -> dict[str, Any]:
        """Return the text as the message content, the title in bold above it."""
        return self._base({"content": _clip(f"**{title}**\n{text}" if title else text, 2000)})

    @override
    def _retry_after(self, response: aiohttp.ClientResponse, body: Any) -> float | None:
        """Discord gives the wait (s, fractional) as ``retry_after`` in the body and in the header."""
        if isinstance(body, dict) and isinstance(seconds := body.get("retry_after"), int | float):
            return min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
        return super()._retry_after(response, body)


class TeamsClient(ChannelClient):
    """Microsoft Teams through a Workflows (Power Automate) webhook: an Adaptive Card 1.4 in a message.

    The shape is the one Workflows' "When a Teams webhook request is received" trigger documents
    (learn.microsoft.com, "Create incoming webhooks with Workflows for Microsoft Teams").
    """

    channel_type = ChannelType.TEAMS

    @staticmethod
    def _card(body: list[dict[str, Any]]) -> dict[str, Any]:
        """Wrap Adaptive Card elements in the message the Workflows trigger expects."""
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "msteams": {"width": "Full"},
                        "body": body,
                    },
                }
            ],
        }

    @override
    def alert_payload(self, message: AlertMessage) -> dict[str, Any]:
        """Return a card: the title coloured by severity, the sentence, and the facts as a FactSet."""
        colour = "Good" if message.recovered else TEAMS_COLOURS[message.severity]
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "color": colour,
                "wrap": True,
            }
        ]
        if message.text:
            body.append({"type": "TextBlock", "text": message.text, "wrap": True})
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in message.facts]})
        return self._card(body)

    @override
    def text_payload(self, text: str, title: str | None) -> dict[str, Any]:
        """Return a card with the title in bold and the text."""
        body: list[dict[str, Any]] = []
        if title:
            body.append({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True})
        body.append({"type": "TextBlock", "text": text, "wrap": True})
        return self._card(body)


class TelegramClient(ChannelClient):
    """Telegram Bot API ``sendMessage`` in HTML parse mode (core.telegram.org/bots/api#sendmessage)."""

    channel_type = ChannelType.TELEGRAM

    def __init__(self, session: aiohttp.ClientSession, api_url: URL, token: str, chat_id: str) -> None:
        """Send to ``chat_id`` as the bot of ``token`` through the Bot API server at ``api_url``."""
        super().__init__(session, api_url / f"bot{token}" / "sendMessage", (token, *token.split(":")))
        self._chat_id = chat_id

    def _message(self, text: str) -> dict[str, Any]:
        """Return the sendMessage parameters for an HTML text (at most 4096 characters)."""
        return {
            "chat_id": self._chat_id,
            "text": _clip(text, 4096),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }

    @override
    def alert_payload(self, message: AlertMessage) -> dict[str, Any]:
        """Return the title in bold, the sentence, then one line per fact."""
        lines = [f"<b>{html.escape(message.title)}</b>"]
        if message.text:
            lines.append(html.escape(message.text))
        lines.extend(f"<b>{html.escape(label)}:</b> {html.escape(value)}" for label, value in message.facts)
        return self._message("\n".join(lines))

    @override
    def text_payload(self, text: str, title: str | None) -> dict[str, Any]:
        """Return the title in bold above the text."""
        escaped = html.escape(text)
        return self._message(f"<b>{html.escape(title)}</b>\n{escaped}" if title else escaped)

    @override
    def _retry_after(self, response: aiohttp.ClientResponse, body: Any) -> float | None:
        """Return the wait (s) the Bot API gives as ``parameters.retry_after``."""
        if isinstance(body, dict) and isinstance(parameters := body.get("parameters"), dict):
            seconds = parameters.get("retry_after")
            if isinstance(seconds, int | float):
                return min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
        return super()._retry_after(response, body)

    @override
    def _rejected(self, status: int, body: Any) -> DeliveryRejectedError:
        """Tell a rejected token (401, 404) from a chat the bot may not post to (400, 403)."""
        reason = "invalid_token" if status in (401, 404) else f"http_{status}"
        return DeliveryRejectedError(reason, self._detail(body), status=status)


CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"  # noqa: S105 - a field name, not a password
CONF_CHAT_ID: Final = "chat_id"
CONF_API_URL: Final = "api_url"
SECRET_KEYS: Final = {ChannelType.SLACK: CONF_URL, ChannelType.DISCORD: CONF_URL, ChannelType.TEAMS: CONF_URL}
"""Subentry field holding each channel type's secret (encrypted at rest); Telegram's is ``CONF_TOKEN``."""

_WEBHOOK_CLIENTS: Final[dict[ChannelType, type[ChannelClient]]] = {
    ChannelType.SLACK: SlackClient,
    ChannelType.DISCORD: DiscordClient,
    ChannelType.TEAMS: TeamsClient,
}


def secret_key(channel_type: ChannelType) -> str:
    """Return the name of the subentry field that holds the channel's secret."""
    return SECRET_KEYS.get(channel_type, CONF_TOKEN)


def build_client(
    session: aiohttp.ClientSession, channel_type: ChannelType, secret: str, data: Mapping[str, Any]
) -> ChannelClient:
    """Return the client of a channel.

    ``secret`` is the plaintext webhook URL or bot token, ``data`` the subentry's other fields (Telegram's
    chat id and Bot API URL).
    """
    if channel_type is ChannelType.TELEGRAM:
        api_url = URL(str(data.get(CONF_API_URL) or TELEGRAM_API_URL))
        return TelegramClient(session, api_url, secret, str(data[CONF_CHAT_ID]))
    url = URL(secret)
    # Nothing of the URL beyond its host reaches a log: not the whole, its path, nor any part of either.
    parts = (secret, url.path, url.raw_path, url.query_string, *url.parts, *url.query.values())
    return _WEBHOOK_CLIENTS[channel_type](session, url, parts)


def valid_http_url(text: str) -> URL | None:
    """Return ``text`` as an absolute http(s) URL with a host, or None."""
    try:
        url = URL(text.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    return url
