"""Delivery never loses an alert and never blocks: retries with backoff, Retry-After, refusals, restarts.

The services are played by a real HTTP server on 127.0.0.1 (``sink``); time is moved forward with
``async_fire_time_changed`` so that backoff waits pass at once.
"""

import json
import logging
import socket
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.credentials import async_encrypt_secret
from custom_components.zephyr_ipmi.delivery import async_setup_delivery, outbox
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY

from .delivery_helpers import (
    DISCORD_PATH,
    SECRETS,
    SLACK_PATH,
    TEAMS_PATH,
    TELEGRAM_TOKEN,
    Reply,
    ServiceSink,
    alert_data,
    bmc_entry,
    fire_alert,
    route,
    setup_channels,
    until,
)

SLACK = "notify.ops_slack"
TELEGRAM_PATH = f"/bot{TELEGRAM_TOKEN}/sendMessage"


def _notifications(hass: HomeAssistant) -> dict[str, Any]:
    return dict(persistent_notification._async_get_or_create_notifications(hass))


def _undelivered(hass: HomeAssistant) -> list[Any]:
    return [n for key, n in _notifications(hass).items() if key.startswith(f"{DOMAIN}_undelivered_")]


def _problem(hass: HomeAssistant, name: str = "ops_slack") -> Any:
    state = hass.states.get(f"binary_sensor.{name}_delivery_problem")
    assert state is not None
    return state


def _outbox(hass: HomeAssistant) -> list[outbox.OutboxItem]:
    return hass.data[DATA_DELIVERY].outbox.items


async def _route_to(hass: HomeAssistant, sink: ServiceSink, *targets: str, persistent: bool = False) -> str:
    """Set up the channels and a BMC routing every alert to ``targets``; return the BMC's entry id."""
    await setup_channels(hass, sink)
    return (await bmc_entry(hass, route(list(targets), persistent_notification=persistent))).entry_id


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    """Each wait is between half and all of 10 s · 2^(n-1), never over 30 min."""
    assert [outbox.backoff(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert [outbox.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]
    assert outbox.backoff(12, lambda: 1.0) == outbox.backoff(400, lambda: 1.0) == 1800.0
    assert outbox.backoff(400, lambda: 0.0) == 900.0


async def test_server_errors_are_retried_until_delivered_once(hass: HomeAssistant, sink: ServiceSink) -> None:
    """HTTP 500 and 502 are retried after a backoff; the alert then arrives exactly once."""
    sink.script(SLACK_PATH, Reply(500, "rollup_error"), Reply(502, "bad gateway"))
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: len(sink.at(SLACK_PATH)) == 1)
    await until(hass, lambda: bool(_outbox(hass)) and _outbox(hass)[0].attempts == 1)
    (item,) = _outbox(hass)
    assert item.next_attempt > dt_util.utcnow()  # it waits before the next attempt

    await until(hass, lambda: not _outbox(hass), wake=True)
    await hass.async_block_till_done()
    assert len(sink.at(SLACK_PATH)) == 3
    assert sink.at(SLACK_PATH)[0] == sink.at(SLACK_PATH)[2]
    assert _problem(hass).state == "off"
    assert not _undelivered(hass)


async def test_retry_after_is_honoured(hass: HomeAssistant, sink: ServiceSink) -> None:
    """429 waits as long as each service says: the header (Slack), ``retry_after`` (Discord, Telegram)."""
    sink.script(SLACK_PATH, Reply(429, "rate_limited", headers={"Retry-After": "120"}))
    sink.script(
        DISCORD_PATH, Reply(429, {"message": "You are being rate limited.", "retry_after": 64.5, "global": False})
    )
    sink.script(
        TELEGRAM_PATH,
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 300",
                "parameters": {"retry_after": 300},
            },
        ),
    )
    entry_id = await _route_to(hass, sink, SLACK, "notify.homelab_discord", "notify.telegram")
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: len(_outbox(hass)) == 3 and all(item.attempts == 1 for item in _outbox(hass)))
    waits = {item.target: (item.next_attempt - dt_util.utcnow()).total_seconds() for item in _outbox(hass)}
    assert 110 < waits[SLACK] <= 120
    assert 55 < waits["notify.homelab_discord"] <= 64.5
    assert 290 < waits["notify.telegram"] <= 300

    await until(hass, lambda: not _outbox(hass), wake=True)
    assert [len(sink.at(path)) for path in (SLACK_PATH, DISCORD_PATH, TELEGRAM_PATH)] == [2, 2, 2]


async def test_retry_after_as_http_date(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A Retry-After given as an HTTP date waits until then."""
    when = dt_util.utcnow() + timedelta(minutes=10)
    sink.script(
        SLACK_PATH, Reply(429, "rate_limited", headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    )
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: bool(_outbox(hass)) and _outbox(hass)[0].attempts == 1)
    assert 540 < (_outbox(hass)[0].next_attempt - dt_util.utcnow()).total_seconds() <= 600


async def test_refusal_is_not_retried_and_shown_on_the_channel(
    hass: HomeAssistant, sink: ServiceSink, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 is tried once, logged once, shown as a problem and a repair; the owner still gets the alert."""
    sink.script(SLACK_PATH, Reply(404, "no_service"), Reply(404, "no_service"))
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: len(_undelivered(hass)) == 1)
    fire_alert(hass, alert_data(entry_id, incident_id="inc-0002", sensor="System Temp"))
    await until(hass, lambda: len(_undelivered(hass)) == 2)
    await until(hass, lambda: not _outbox(hass), wake=True)

    assert len(sink.at(SLACK_PATH)) == 2  # one attempt per alert, no retry
    problem = _problem(hass)
    assert problem.state == "on"
    assert problem.attributes["reason"] == "http_404"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "Ops Slack" in r.getMessage()]
    assert len(warnings) == 1
    assert "http_404" in warnings[0].getMessage()
    assert "no_service" in warnings[0].getMessage()
    channels = hass.config_entries.async_entries(DOMAIN)[0]
    (subentry_id,) = [s.subentry_id for s in channels.subentries.values() if s.subentry_type == "slack"]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"channel_problem_{subentry_id}")
    assert issue is not None
    assert issue.translation_key == "channel_rejected"
    assert issue.translation_placeholders == {"channel": "Ops Slack", "reason": "http_404"}
    undelivered = _undelivered(hass)[0]
    assert undelivered["title"] == "Undelivered: 🔴 rack-2 storage: Sensor threshold crossed"
    assert "CPU Temp is 96 °C" in undelivered["message"]

    # Once the service takes messages again (the owner fixed it), the test button clears the problem.
    await hass.services.async_call("button", "press", {"entity_id": "button.ops_slack_send_test_alert"}, blocking=True)
    assert _problem(hass).state == "off"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"channel_problem_{subentry_id}") is None


async def test_timeout_is_retried(hass: HomeAssistant, sink: ServiceSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service that does not answer in time is tried again; the alert arrives."""
    monkeypatch.setattr("custom_components.zephyr_ipmi.delivery.channels.SEND_TIMEOUT", 0.2)
    sink.script(TEAMS_PATH, Reply(202, "", delay=2.0))
    entry_id = await _route_to(hass, sink, "notify.teams")
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: bool(_outbox(hass)) and _outbox(hass)[0].attempts == 1)
    await until(hass, lambda: not _outbox(hass), wake=True)
    assert len(sink.at(TEAMS_PATH)) == 2
    assert _problem(hass, "teams").state == "off"


def _closed_port() -> int:
    import pytest_socket

    with pytest_socket._true_socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connection_retried_then_handed_over(
    hass: HomeAssistant, sink: ServiceSink, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused connection is retried up to the attempt limit; then the channel shows the problem and the
    alert becomes a persistent notification. A slow channel meanwhile does not delay the others.
    """
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/services/T0ZEPHYR01/B0ZEPHYR02/s3cretSlackT0kenXyZ123"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Notification channels",
        unique_id="notification_channels",
        subentries_data=[
            ConfigSubentryData(
                subentry_type="slack",
                title="Dead Slack",
                unique_id="x",
                data={"url": await async_encrypt_secret(hass, url)},
            ),
            ConfigSubentryData(
                subentry_type="discord",
                title="Live Discord",
                unique_id="y",
                data={"url": await async_encrypt_secret(hass, sink.url(DISCORD_PATH))},
            ),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    bmc = await bmc_entry(hass, route(["notify.dead_slack", "notify.live_discord"], persistent_notification=False))
    fire_alert(hass, alert_data(bmc.entry_id))
    await until(hass, lambda: len(sink.at(DISCORD_PATH)) == 1)
    await until(hass, lambda: len(_undelivered(hass)) == 1, wake=True)

    assert not _outbox(hass)
    problem = _problem(hass, "dead_slack")
    assert problem.state == "on"
    assert problem.attributes["reason"] == "cannot_connect"
    assert _problem(hass, "live_discord").state == "off"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"channel_problem_{next(iter(entry.subentries))}")
    assert issue is not None
    assert issue.translation_key == "channel_unreachable"
    assert "(cannot_connect)" in _undelivered(hass)[0]["message"]
    assert "s3cretSlackT0kenXyZ123" not in caplog.text


async def test_outbox_survives_a_restart(hass: HomeAssistant, sink: ServiceSink, hass_storage: dict[str, Any]) -> None:
    """An alert that could not be delivered before a restart is delivered after it, once."""
    sink.script(SLACK_PATH, Reply(503, "maintenance"))
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: bool(_outbox(hass)) and _outbox(hass)[0].attempts == 1)
    stored = hass_storage["zephyr_ipmi.outbox"]["data"]["items"]
    assert [(item["target"], item["attempts"], item["alert"]["incident_id"]) for item in stored] == [
        (SLACK, 1, "inc-0001")
    ]

    # Home Assistant stops before the retry is due, and starts again.
    await hass.data[DATA_DELIVERY].async_stop()
    (channels,) = [e for e in hass.config_entries.async_entries(DOMAIN) if e.unique_id == "notification_channels"]
    assert await hass.config_entries.async_unload(channels.entry_id)
    assert len(sink.at(SLACK_PATH)) == 1
    await async_setup_delivery(hass)
    assert await hass.config_entries.async_setup(channels.entry_id)

    await until(hass, lambda: not _outbox(hass), wake=True)
    assert len(sink.at(SLACK_PATH)) == 2
    # Deliveries are written within a second (a burst once); then storage holds nothing to resend.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    await hass.async_block_till_done()
    assert hass_storage["zephyr_ipmi.outbox"]["data"]["items"] == []

    # A clean stop writes the outbox at once: nothing delivered is resent at the next start.
    fire_alert(hass, alert_data(entry_id, incident_id="inc-0002"))
    await until(hass, lambda: len(sink.at(SLACK_PATH)) == 3 and not _outbox(hass))
    await hass.data[DATA_DELIVERY].async_stop()
    assert hass_storage["zephyr_ipmi.outbox"]["data"]["items"] == []


async def test_outbox_written_before_the_start_is_delivered(
    hass: HomeAssistant, sink: ServiceSink, hass_storage: dict[str, Any]
) -> None:
    """What the outbox held when Home Assistant stopped goes out at the next start; damaged entries are dropped."""
    item = {
        "id": "a1",
        "target": SLACK,
        "alert": alert_data("whatever", incident_id="inc-restart"),
        "created": dt_util.utcnow().isoformat(),
        "next_attempt": dt_util.utcnow().isoformat(),
        "attempts": 2,
        "fallback": True,
    }
    hass_storage["zephyr_ipmi.outbox"] = {
        "version": 1,
        "minor_version": 1,
        "key": "zephyr_ipmi.outbox",
        "data": {"items": [item, {"id": "damaged"}]},
    }
    await setup_channels(hass, sink)
    await until(hass, lambda: len(sink.at(SLACK_PATH)) == 1, wake=True)
    await until(hass, lambda: not _outbox(hass))
    assert sink.at(SLACK_PATH)[0]["blocks"][0]["text"]["text"] == "🔴 rack-2 storage: Sensor threshold crossed"


async def test_same_alert_queued_once(hass: HomeAssistant, sink: ServiceSink) -> None:
    """The same alert fired twice while the first still waits is delivered once."""
    sink.script(SLACK_PATH, Reply(500, "oops"))
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: bool(_outbox(hass)) and _outbox(hass)[0].attempts == 1)
    fire_alert(hass, alert_data(entry_id))
    await hass.async_block_till_done()
    assert len(_outbox(hass)) == 1
    await until(hass, lambda: not _outbox(hass), wake=True)
    assert len(sink.at(SLACK_PATH)) == 2


async def test_full_queue_hands_over_the_oldest(
    hass: HomeAssistant, sink: ServiceSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target down long enough to fill its queue hands the oldest alerts over as notifications."""
    monkeypatch.setattr(outbox, "MAX_QUEUE", 2)
    sink.script(SLACK_PATH, *[Reply(500, "down")] * 10)
    entry_id = await _route_to(hass, sink, SLACK)
    for number in range(3):
        fire_alert(hass, alert_data(entry_id, incident_id=f"inc-{number}"))
        await hass.async_block_till_done()
    await until(hass, lambda: len(_undelivered(hass)) == 1)
    assert [item.alert["incident_id"] for item in _outbox(hass)] == ["inc-1", "inc-2"]


async def test_secrets_never_in_logs_storage_or_diagnostics(
    hass: HomeAssistant,
    sink: ServiceSink,
    hass_storage: dict[str, Any],
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Services that fail, even ones that echo the URL in their error, never put a secret in a log line."""
    caplog.set_level(logging.DEBUG)
    sink.script(SLACK_PATH, Reply(400, f"invalid_payload at {sink.url(SLACK_PATH)}"))
    sink.script(DISCORD_PATH, Reply(500, {"message": f"error at {DISCORD_PATH}"}))
    sink.script(TEAMS_PATH, Reply(403, "sig=T3amsS1gnatureS3cret99 expired"))
    sink.script(TELEGRAM_PATH, Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))
    entry_id = await _route_to(hass, sink, SLACK, "notify.homelab_discord", "notify.teams", "notify.telegram")
    fire_alert(hass, alert_data(entry_id))
    await until(hass, lambda: not _outbox(hass), wake=True)
    await until(hass, lambda: _problem(hass, "telegram").state == "on")
    assert _problem(hass, "telegram").attributes["reason"] == "invalid_token"

    (channels,) = [e for e in hass.config_entries.async_entries(DOMAIN) if e.unique_id == "notification_channels"]
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, channels)
    assert {sub["type"] for sub in diagnostics["subentries"]} == {"slack", "discord", "teams", "telegram"}
    assert all(sub["data"].get("url", "**REDACTED**") == "**REDACTED**" for sub in diagnostics["subentries"])
    texts = {
        "log": caplog.text,
        "diagnostics": json.dumps(diagnostics),
        "storage": json.dumps(hass_storage, default=str),
        "entry": json.dumps([dict(sub.data) for sub in channels.subentries.values()]),
    }
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (where, secret)
    assert "**REDACTED**" in caplog.text  # the echoed URL was there, and was removed


async def test_malformed_events_are_ignored(
    hass: HomeAssistant, sink: ServiceSink, caplog: pytest.LogCaptureFixture
) -> None:
    """An event without the contract's fields is logged and dropped; nothing is sent."""
    entry_id = await _route_to(hass, sink, SLACK)
    fire_alert(hass, {"kind": "threshold_crossed", "entry_id": entry_id})
    fire_alert(hass, alert_data(entry_id, severity="catastrophic"))
    await hass.async_block_till_done()
    assert not _outbox(hass)
    assert caplog.text.count("Ignoring a malformed zephyr_ipmi_alert event") == 2


async def test_unexpected_error_hands_the_alert_over(
    hass: HomeAssistant, sink: ServiceSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a channel does not stop its queue: the alert is handed over and the next one goes out."""
    entry_id = await _route_to(hass, sink, SLACK)
    channel = next(iter(hass.data[DATA_DELIVERY].channels.values()))
    calls = 0
    original = channel.async_deliver

    async def broken_once(alert: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("bug")
        await original(alert)

    monkeypatch.setattr(channel, "async_deliver", broken_once)
    fire_alert(hass, alert_data(entry_id))
    fire_alert(hass, alert_data(entry_id, incident_id="inc-0002"))
    await until(hass, lambda: len(sink.at(SLACK_PATH)) == 1 and len(_undelivered(hass)) == 1)
    await until(hass, lambda: not _outbox(hass))


async def test_slow_channel_does_not_delay_another(hass: HomeAssistant, sink: ServiceSink) -> None:
    """While one service takes seconds to answer, another gets its alert at once."""
    sink.script(TEAMS_PATH, Reply(202, "", delay=5.0))
    entry_id = await _route_to(hass, sink, "notify.teams", SLACK)
    fire_alert(hass, alert_data(entry_id))
    # Slack's alert is delivered and gone from the outbox while Teams' request is still under way.
    await until(
        hass,
        lambda: len(sink.at(TEAMS_PATH)) == 1 and [item.target for item in _outbox(hass)] == ["notify.teams"],
    )
    assert len(sink.at(SLACK_PATH)) == 1
    await until(hass, lambda: not _outbox(hass))
