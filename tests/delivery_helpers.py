"""Helpers of the alert delivery tests: a local stand-in for the services, channel entries, alert events."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zephyr_ipmi.const import DOMAIN, EVENT_ALERT
from custom_components.zephyr_ipmi.credentials import async_encrypt_secret
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY

SLACK_PATH = "/services/T0ZEPHYR01/B0ZEPHYR02/s3cretSlackT0kenXyZ123"
DISCORD_PATH = "/api/webhooks/1234567890123/Disc0rdS3cretT0kenAbCdEf"
TEAMS_PATH = "/workflows/6f1c2d3e4b5a/triggers/manual/paths/invoke"
TEAMS_QUERY = "api-version=2016-06-01&sig=T3amsS1gnatureS3cret99"
TELEGRAM_TOKEN = "7712345678:AAHs3cretTelegramT0kenZephyr"
TELEGRAM_CHAT = "-1001234567890"


@dataclass
class Reply:
    """One scripted answer: HTTP status, body (JSON when not str), headers, and a delay (s) before it."""

    status: int = 200
    body: Any = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request the sink received."""

    path: str
    query: dict[str, str]
    json: Any


class ServiceSink:
    """An HTTP server on 127.0.0.1 standing in for Slack, Discord, Teams and Telegram.

    It records every POST and answers from a per-path script, then 200 "ok" (Telegram's path: its JSON).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self.server: TestServer | None = None

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies``, in order."""
        self._scripts.setdefault(path, deque()).extend(replies)

    def url(self, path: str, query: str = "") -> str:
        """Return the full URL of ``path`` on this sink."""
        assert self.server is not None
        return str(self.server.make_url(path)) + (f"?{query}" if query else "")

    def at(self, path: str) -> list[Any]:
        """Return the JSON bodies received at ``path``."""
        return [request.json for request in self.received if request.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request, then answer as scripted."""
        self.received.append(Received(request.path, dict(request.query), await request.json()))
        script = self._scripts.get(request.path)
        reply = script.popleft() if script else None
        if reply is None:
            body: Any = {"ok": True, "result": {"message_id": 1}} if "/bot" in request.path else "ok"
            reply = Reply(body=body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, str):
            return web.Response(status=reply.status, text=reply.body, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


@pytest.fixture
async def sink(aiohttp_server: Callable[..., Awaitable[TestServer]], socket_enabled: None) -> ServiceSink:
    """Start the service stand-in on 127.0.0.1."""
    service = ServiceSink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", service._handle)
    service.server = await aiohttp_server(app, host="127.0.0.1", access_log=None)
    return service


async def channel_subentries(hass: HomeAssistant, sink: ServiceSink) -> list[ConfigSubentryData]:
    """Return one channel of each service, pointing at ``sink``, with secrets encrypted as the flows store them."""
    return [
        ConfigSubentryData(
            subentry_type="slack",
            title="Ops Slack",
            unique_id="slack-1",
            data={"url": await async_encrypt_secret(hass, sink.url(SLACK_PATH))},
        ),
        ConfigSubentryData(
            subentry_type="discord",
            title="Homelab Discord",
            unique_id="discord-1",
            data={"url": await async_encrypt_secret(hass, sink.url(DISCORD_PATH))},
        ),
        ConfigSubentryData(
            subentry_type="teams",
            title="Teams",
            unique_id="teams-1",
            data={"url": await async_encrypt_secret(hass, sink.url(TEAMS_PATH, TEAMS_QUERY))},
        ),
        ConfigSubentryData(
            subentry_type="telegram",
            title="Telegram",
            unique_id="telegram-1",
            data={
                "token": await async_encrypt_secret(hass, TELEGRAM_TOKEN),
                "chat_id": TELEGRAM_CHAT,
                "api_url": sink.url(""),
            },
        ),
    ]


SECRETS = (
    "s3cretSlackT0kenXyZ123",
    "Disc0rdS3cretT0kenAbCdEf",
    "T3amsS1gnatureS3cret99",
    "AAHs3cretTelegramT0kenZephyr",
    SLACK_PATH,
    DISCORD_PATH,
)
"""What must never appear in a log line, diagnostics or storage in clear: tokens and webhook paths."""


async def setup_channels(hass: HomeAssistant, sink: ServiceSink) -> MockConfigEntry:
    """Add and set up the notification channels entry with one channel per service."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Notification channels",
        unique_id="notification_channels",
        data={},
        subentries_data=await channel_subentries(hass, sink),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def route(targets: list[str], **kwargs: Any) -> ConfigSubentryData:
    """Return an alert route subentry (all kinds, from info, with a persistent notification unless told)."""
    data = {"kinds": [], "min_severity": "info", "targets": targets, "persistent_notification": True} | kwargs
    return ConfigSubentryData(subentry_type="alert_route", title="Route", unique_id=None, data=data)


async def bmc_entry(hass: HomeAssistant, *routes: ConfigSubentryData) -> MockConfigEntry:
    """Add (without setting up) a BMC entry holding ``routes``; alerts name it as their ``entry_id``.

    The integration (alert delivery) is set up first if it is not, so that this entry is never set up:
    no BMC is reached.
    """
    if DATA_DELIVERY not in hass.data:
        assert await async_setup_component(hass, DOMAIN, {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Supermicro X11SPM-TF",
        unique_id="4c4c4544-0042-3510-8051-b4c04f4e3232",
        data={"host": "192.0.2.45", "port": 623},
        subentries_data=list(routes),
    )
    entry.add_to_hass(hass)
    return entry


def alert_data(entry_id: str, **overrides: Any) -> dict[str, Any]:
    """Return the data of a ``zephyr_ipmi_alert`` event: CPU Temp crossed its critical threshold."""
    return {
        "kind": "threshold_crossed",
        "severity": "critical",
        "recovered": False,
        "entry_id": entry_id,
        "server": "rack-2 storage",
        "sensor": "CPU Temp",
        "reading": "96 °C",
        "message": "CPU Temp is 96 °C, above its upper critical threshold of 95 °C.",
        "time": "2026-12-03T14:05:12+00:00",
        "started": None,
        "incident_id": "inc-0001",
    } | overrides


def fire_alert(hass: HomeAssistant, data: dict[str, Any]) -> None:
    """Fire an alert on the bus, as the health alerts do."""
    hass.bus.async_fire(EVENT_ALERT, data)


async def until(hass: HomeAssistant, check: Callable[[], bool], *, wake: bool = False) -> None:
    """Let the event loop run until ``check()`` holds (at most about 10 s).

    With ``wake``, the outbox is told to try its waiting alerts now on each round, so backoff waits pass
    at once (moving the clock would also fire aiohttp's own timeouts of requests in flight).
    """
    for _ in range(500):
        if check():
            return
        if wake:
            hass.data[DATA_DELIVERY].outbox.wake()
        await asyncio.sleep(0.02)
    assert check(), "condition not reached"
