"""Routing of alerts per BMC, kind and severity, to Zephyr's channels, any other notify entity (e-mail
through Home Assistant's SMTP integration to a local SMTP server) and persistent notifications; and the
channels' own entities.
"""

import asyncio
from collections.abc import AsyncGenerator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer  # noqa: N811 - beside the SMTP client of HA
from aiosmtpd.smtp import Envelope, Session
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY

from .delivery_helpers import (
    DISCORD_PATH,
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

TELEGRAM_PATH = f"/bot{TELEGRAM_TOKEN}/sendMessage"


def _notifications(hass: HomeAssistant) -> dict[str, Any]:
    return dict(persistent_notification._async_get_or_create_notifications(hass))


def _titles(sink: ServiceSink, path: str) -> list[str]:
    """Titles of the alerts a channel received (Slack: header, Discord: embed, Teams: first text block)."""
    if path == SLACK_PATH:
        return [body["blocks"][0]["text"]["text"] for body in sink.at(path)]
    if path == DISCORD_PATH:
        return [body["embeds"][0]["title"] for body in sink.at(path)]
    return [body["attachments"][0]["content"]["body"][0]["text"] for body in sink.at(path)]


async def test_without_routes_alerts_are_persistent_notifications(hass: HomeAssistant) -> None:
    """A BMC without routes shows each alert as one notification per incident; the recovery replaces it."""
    bmc = await bmc_entry(hass)
    fire_alert(hass, alert_data(bmc.entry_id))
    await hass.async_block_till_done()
    notification = _notifications(hass)["zephyr_ipmi_inc-0001"]
    assert notification["title"] == "🔴 rack-2 storage: Sensor threshold crossed"
    assert notification["message"] == (
        "CPU Temp is 96 °C, above its upper critical threshold of 95 °C.\nServer: rack-2 storage\n"
        "Severity: Critical\nSensor: CPU Temp\nReading: 96 °C\nTime: 2026-12-03 06:05:12 PST"
    )
    fire_alert(
        hass,
        alert_data(
            bmc.entry_id,
            recovered=True,
            message="CPU Temp is back to 71 °C.",
            reading="71 °C",
            time="2026-12-03T14:20:12+00:00",
            started="2026-12-03T14:05:12+00:00",
        ),
    )
    await hass.async_block_till_done()
    notification = _notifications(hass)["zephyr_ipmi_inc-0001"]
    assert notification["title"] == "✅ rack-2 storage: Sensor threshold crossed recovered"
    assert notification["message"].startswith("CPU Temp is back to 71 °C. The incident lasted 15 min.\n")
    assert notification["message"].endswith("Lasted: 15 min")


async def test_alert_of_an_unknown_server_is_a_persistent_notification(hass: HomeAssistant) -> None:
    """An alert whose entry is not (or no longer) a BMC entry still reaches the owner."""
    assert await async_setup_component(hass, DOMAIN, {})
    fire_alert(hass, alert_data("no-such-entry"))
    await hass.async_block_till_done()
    assert "zephyr_ipmi_inc-0001" in _notifications(hass)


async def test_routing_per_kind_and_severity(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Each route takes its kinds from its minimum severity; a target in two routes gets the alert once."""
    await setup_channels(hass, sink)
    bmc = await bmc_entry(
        hass,
        route(["notify.ops_slack"], kinds=["psu_failure"], min_severity="warning", persistent_notification=False),
        route(["notify.homelab_discord", "notify.ops_slack"], min_severity="critical", persistent_notification=False),
        route(["notify.teams"], kinds=["chassis_intrusion"], persistent_notification=True),
    )
    other = await bmc_entry(hass)  # another BMC, without routes
    alerts = [
        alert_data(bmc.entry_id, kind="psu_failure", severity="warning", incident_id="a", server="s1"),
        alert_data(bmc.entry_id, kind="psu_failure", severity="critical", incident_id="b", server="s1"),
        alert_data(bmc.entry_id, kind="chassis_intrusion", severity="info", incident_id="c", server="s1"),
        alert_data(bmc.entry_id, kind="fan_failed", severity="warning", incident_id="d", server="s1"),
        alert_data(bmc.entry_id, kind="fan_failed", severity="critical", incident_id="e", server="s1"),
        alert_data(other.entry_id, kind="psu_failure", severity="critical", incident_id="f", server="s2"),
    ]
    for data in alerts:
        fire_alert(hass, data)
    await until(hass, lambda: len(sink.received) == 6)
    await hass.async_block_till_done()
    await asyncio.sleep(0.1)
    assert _titles(sink, SLACK_PATH) == [
        "🟠 s1: Power supply failure",
        "🔴 s1: Power supply failure",
        "🔴 s1: Fan failed",
    ]
    assert _titles(sink, DISCORD_PATH) == ["🔴 s1: Power supply failure", "🔴 s1: Fan failed"]
    assert _titles(sink, TEAMS_PATH) == ["🔵 s1: Chassis intrusion"]
    assert not sink.at(TELEGRAM_PATH)
    assert {key for key in _notifications(hass) if key.startswith(DOMAIN)} == {"zephyr_ipmi_c", "zephyr_ipmi_f"}


async def test_recovery_follows_its_alert_on_the_same_channel(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Alerts to one target go out in the order they were fired, even when the first needed a retry."""
    sink.script(SLACK_PATH, Reply(503, "busy"))
    await setup_channels(hass, sink)
    bmc = await bmc_entry(hass, route(["notify.ops_slack"], persistent_notification=False))
    fire_alert(hass, alert_data(bmc.entry_id))
    fire_alert(hass, alert_data(bmc.entry_id, recovered=True, started="2026-12-03T14:00:00+00:00"))
    await until(hass, lambda: len(sink.at(SLACK_PATH)) == 3, wake=True)
    assert _titles(sink, SLACK_PATH) == [
        "🔴 rack-2 storage: Sensor threshold crossed",
        "🔴 rack-2 storage: Sensor threshold crossed",
        "✅ rack-2 storage: Sensor threshold crossed recovered",
    ]


class _Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content or b"", policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
async def mailbox(socket_enabled: None) -> AsyncGenerator[tuple[_Mailbox, int]]:
    """Run an SMTP server on 127.0.0.1; yield its mailbox and port."""
    handler = _Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTPServer(handler), host="127.0.0.1", port=0)
    yield handler, server.sockets[0].getsockname()[1]
    server.close()
    server.close_clients()
    await server.wait_closed()


async def test_email_through_home_assistant_smtp(
    hass: HomeAssistant, mailbox: tuple[_Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SMTP recipient's notify entity is a target like any other: the alert arrives as an e-mail."""
    box, port = mailbox
    # smtplib (SMTP's legacy notify service, set up beside the entity) names the host; tests resolve no name.
    monkeypatch.setattr("smtplib.socket.getfqdn", lambda *_: "zephyr.test")
    smtp = MockConfigEntry(
        domain="smtp",
        title="Zephyr mail",
        data={
            "sender": "zephyr@example.org",
            "server": "127.0.0.1",
            "port": port,
            "encryption": "none",
            "verify_ssl": False,
        },
        subentries_data=[
            ConfigSubentryData(subentry_type="recipient", title="Owner", unique_id="owner@example.org", data={})
        ],
    )
    smtp.add_to_hass(hass)
    assert await hass.config_entries.async_setup(smtp.entry_id)
    await hass.async_block_till_done()
    (email_entity,) = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(er.async_get(hass), smtp.entry_id)
        if entity.domain == "notify"
    ]
    bmc = await bmc_entry(hass, route([email_entity], persistent_notification=False))
    fire_alert(hass, alert_data(bmc.entry_id))
    await until(hass, lambda: len(box.messages) == 1)
    (mail,) = box.messages
    assert mail["Subject"] == "🔴 rack-2 storage: Sensor threshold crossed"
    assert mail["To"] == "Owner <owner@example.org>"
    assert mail.get_content().replace("\r\n", "\n").strip() == (
        "CPU Temp is 96 °C, above its upper critical threshold of 95 °C.\nServer: rack-2 storage\n"
        "Severity: Critical\nSensor: CPU Temp\nReading: 96 °C\nTime: 2026-12-03 06:05:12 PST"
    )
    await until(hass, lambda: not hass.data[DATA_DELIVERY].outbox.items)
    assert await hass.config_entries.async_unload(smtp.entry_id)


async def test_unavailable_notify_target_waits_for_it(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """A target that does not exist (yet) keeps the alert in the outbox; when it never comes, the alert
    becomes a persistent notification and the target is named in the log once.
    """
    bmc = await bmc_entry(hass, route(["notify.not_there"], persistent_notification=False))
    fire_alert(hass, alert_data(bmc.entry_id))
    fire_alert(hass, alert_data(bmc.entry_id, incident_id="inc-0002"))
    outbox = hass.data[DATA_DELIVERY].outbox
    await until(hass, lambda: len(outbox.items) == 2 and outbox.items[0].attempts == 1)
    # One target's alerts go in order: the second waits behind the first.
    assert outbox.items[1].attempts == 0
    await until(hass, lambda: not outbox.items, wake=True)
    undelivered = [key for key in _notifications(hass) if key.startswith("zephyr_ipmi_undelivered_")]
    assert len(undelivered) == 2
    assert caplog.text.count("Could not deliver alerts to notify.not_there: target_unavailable") == 1


async def test_notify_send_message_and_its_errors(hass: HomeAssistant, sink: ServiceSink) -> None:
    """``notify.send_message`` posts a plain message; a refusal raises a translated error and shows the problem."""
    await setup_channels(hass, sink)
    await hass.services.async_call(
        "notify",
        "send_message",
        {
            "entity_id": ["notify.ops_slack", "notify.homelab_discord", "notify.teams", "notify.telegram"],
            "message": "Disk <2> & done",
            "title": "Backup",
        },
        blocking=True,
    )
    assert sink.at(SLACK_PATH) == [{"text": "*Backup*\nDisk &lt;2&gt; &amp; done"}]
    assert sink.at(DISCORD_PATH) == [
        {"username": "Zephyr IPMI", "allowed_mentions": {"parse": []}, "content": "**Backup**\nDisk <2> & done"}
    ]
    assert sink.at(TEAMS_PATH)[0]["attachments"][0]["content"]["body"] == [
        {"type": "TextBlock", "text": "Backup", "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": "Disk <2> & done", "wrap": True},
    ]
    assert sink.at(TELEGRAM_PATH)[0]["text"] == "<b>Backup</b>\nDisk &lt;2&gt; &amp; done"
    assert hass.states.get("notify.ops_slack").state != "unknown"

    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.teams", "message": "plain"}, blocking=True
    )
    assert sink.at(TEAMS_PATH)[1]["attachments"][0]["content"]["body"] == [
        {"type": "TextBlock", "text": "plain", "wrap": True}
    ]

    sink.script(SLACK_PATH, Reply(410, "channel_is_archived"))
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.ops_slack", "message": "x"}, blocking=True
        )
    assert err.value.translation_key == "channel_send_failed"
    assert err.value.translation_placeholders == {"channel": "Ops Slack", "reason": "http_410"}
    assert hass.states.get("binary_sensor.ops_slack_delivery_problem").state == "on"
    sink.script(SLACK_PATH, Reply(502, "bad gateway"))
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.ops_slack", "message": "x"}, blocking=True
        )
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": "notify.ops_slack", "message": "x"}, blocking=True
    )
    assert hass.states.get("binary_sensor.ops_slack_delivery_problem").state == "off"


async def test_send_test_alert_button(hass: HomeAssistant, sink: ServiceSink) -> None:
    """The button sends a test alert in the channel's layout; a failure raises a translated error."""
    await setup_channels(hass, sink)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.homelab_discord_send_test_alert"}, blocking=True
    )
    (body,) = sink.at(DISCORD_PATH)
    embed = body["embeds"][0]
    assert embed["title"] == "🔵 Zephyr IPMI: Test alert"
    assert embed["description"] == "This is a test alert from Zephyr IPMI. If you can read it, this channel works."
    sink.script(DISCORD_PATH, Reply(404, {"message": "Unknown Webhook", "code": 10015}))
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.homelab_discord_send_test_alert"}, blocking=True
        )
    assert err.value.translation_placeholders == {"channel": "Homelab Discord", "reason": "http_404"}
    state = hass.states.get("binary_sensor.homelab_discord_delivery_problem")
    assert state.state == "on"
    assert state.attributes["reason"] == "http_404"


async def test_channel_with_unreadable_secret(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A channel whose secret cannot be decrypted (the key changed) shows a problem and refuses to send."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Notification channels",
        unique_id="notification_channels",
        subentries_data=[
            ConfigSubentryData(subentry_type="slack", title="Broken", unique_id="b", data={"url": "not-a-fernet-token"})
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("binary_sensor.broken_delivery_problem")
    assert state.state == "on"
    assert state.attributes["reason"] == "credentials_unreadable"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify", "send_message", {"entity_id": "notify.broken", "message": "x"}, blocking=True
        )
    assert not sink.received
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not hass.data[DATA_DELIVERY].channels
