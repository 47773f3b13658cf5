"""Alerts reach each service in the layout the service documents, through a real HTTP server on 127.0.0.1.

Slack: Block Kit (api.slack.com/reference/block-kit). Discord: an execute-webhook body with one embed
(discord.com/developers/docs/resources/webhook). Teams: a Workflows webhook message with an Adaptive Card.
Telegram: Bot API sendMessage in HTML parse mode. Home Assistant's test configuration is in US/Pacific.
"""

from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from .delivery_helpers import (
    DISCORD_PATH,
    SLACK_PATH,
    TEAMS_PATH,
    TELEGRAM_CHAT,
    TELEGRAM_TOKEN,
    ServiceSink,
    alert_data,
    bmc_entry,
    fire_alert,
    route,
    setup_channels,
    until,
)

TARGETS = ["notify.ops_slack", "notify.homelab_discord", "notify.teams", "notify.telegram"]
TELEGRAM_PATH = f"/bot{TELEGRAM_TOKEN}/sendMessage"
TITLE = "🔴 rack-2 storage: Sensor threshold crossed"
SENTENCE = "CPU Temp is 96 °C, above its upper critical threshold of 95 °C."
RECOVERED_TITLE = "✅ rack-2 storage: Sensor threshold crossed recovered"
RECOVERED_SENTENCE = "CPU Temp is back to 71 °C. The incident lasted 2 h 14 min."


async def _deliver(hass: HomeAssistant, sink: ServiceSink, **overrides: Any) -> None:
    """Route one alert to the four channels and wait until each service received it."""
    await setup_channels(hass, sink)
    bmc = await bmc_entry(hass, route(TARGETS))
    fire_alert(hass, alert_data(bmc.entry_id, **overrides))
    await until(hass, lambda: len(sink.received) == 4)


async def test_slack_block_kit(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Slack gets a header, the sentence, the facts as fields and a context line; ``text`` is the fallback."""
    await _deliver(hass, sink)
    assert sink.at(SLACK_PATH) == [
        {
            "text": f"{TITLE}: {SENTENCE}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": TITLE, "emoji": True}},
                {"type": "section", "text": {"type": "mrkdwn", "text": SENTENCE}},
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": "*Server*\nrack-2 storage"},
                        {"type": "mrkdwn", "text": "*Severity*\nCritical"},
                        {"type": "mrkdwn", "text": "*Sensor*\nCPU Temp"},
                        {"type": "mrkdwn", "text": "*Reading*\n96 °C"},
                        {"type": "mrkdwn", "text": "*Time*\n2026-12-03 06:05:12 PST"},
                    ],
                },
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Zephyr IPMI"}]},
            ],
        }
    ]


async def test_discord_embed_coloured_by_severity(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Discord gets one red embed for a critical alert, waits for it (``wait=true``) and pings nobody."""
    await _deliver(hass, sink)
    (request,) = [request for request in sink.received if request.path == DISCORD_PATH]
    assert request.query == {"wait": "true"}
    assert request.json == {
        "username": "Zephyr IPMI",
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": TITLE,
                "description": SENTENCE,
                "color": 0xD32F2F,
                "fields": [
                    {"name": "Server", "value": "rack-2 storage", "inline": True},
                    {"name": "Severity", "value": "Critical", "inline": True},
                    {"name": "Sensor", "value": "CPU Temp", "inline": True},
                    {"name": "Reading", "value": "96 °C", "inline": True},
                    {"name": "Time", "value": "2026-12-03 06:05:12 PST", "inline": True},
                ],
                "timestamp": "2026-12-03T14:05:12+00:00",
                "footer": {"text": "Zephyr IPMI"},
            }
        ],
    }


@pytest.mark.parametrize(("severity", "colour"), [("warning", 0xF9A825), ("info", 0x1E88E5)])
async def test_discord_colour_of_other_severities(
    hass: HomeAssistant, sink: ServiceSink, severity: str, colour: int
) -> None:
    """Warnings are amber, information blue."""
    await _deliver(hass, sink, severity=severity)
    assert sink.at(DISCORD_PATH)[0]["embeds"][0]["color"] == colour


async def test_teams_adaptive_card(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Teams gets the message a Workflows webhook trigger takes: an Adaptive Card 1.4 attachment."""
    await _deliver(hass, sink)
    (request,) = [request for request in sink.received if request.path == TEAMS_PATH]
    assert request.query == {"api-version": "2016-06-01", "sig": "T3amsS1gnatureS3cret99"}
    assert request.json == {
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
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": TITLE,
                            "weight": "Bolder",
                            "size": "Medium",
                            "color": "Attention",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": SENTENCE, "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Server", "value": "rack-2 storage"},
                                {"title": "Severity", "value": "Critical"},
                                {"title": "Sensor", "value": "CPU Temp"},
                                {"title": "Reading", "value": "96 °C"},
                                {"title": "Time", "value": "2026-12-03 06:05:12 PST"},
                            ],
                        },
                    ],
                },
            }
        ],
    }


async def test_telegram_send_message(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Telegram gets sendMessage for the chat, in HTML, without link previews."""
    await _deliver(hass, sink)
    assert sink.at(TELEGRAM_PATH) == [
        {
            "chat_id": TELEGRAM_CHAT,
            "text": (
                f"<b>{TITLE}</b>\n{SENTENCE}\n<b>Server:</b> rack-2 storage\n<b>Severity:</b> Critical\n"
                "<b>Sensor:</b> CPU Temp\n<b>Reading:</b> 96 °C\n<b>Time:</b> 2026-12-03 06:05:12 PST"
            ),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
    ]


async def test_recovery_says_how_long_it_lasted(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A recovery is green in Discord and Teams, and every service reads how long the incident lasted."""
    await _deliver(
        hass,
        sink,
        recovered=True,
        reading="71 °C",
        message="CPU Temp is back to 71 °C.",
        started="2026-12-03T11:51:00+00:00",
    )
    embed = sink.at(DISCORD_PATH)[0]["embeds"][0]
    assert embed["title"] == RECOVERED_TITLE
    assert embed["description"] == RECOVERED_SENTENCE
    assert embed["color"] == 0x2E7D32
    assert {"name": "Lasted", "value": "2 h 14 min", "inline": True} in embed["fields"]
    card = sink.at(TEAMS_PATH)[0]["attachments"][0]["content"]["body"]
    assert card[0]["color"] == "Good"
    assert card[1]["text"] == RECOVERED_SENTENCE
    assert sink.at(SLACK_PATH)[0]["text"] == f"{RECOVERED_TITLE}: {RECOVERED_SENTENCE}"
    assert RECOVERED_SENTENCE in sink.at(TELEGRAM_PATH)[0]["text"]


async def test_markup_in_alert_text_is_escaped(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Text from a BMC (SEL, sensor names) cannot inject Slack links, Telegram HTML or Discord pings."""
    await _deliver(hass, sink, sensor="<b>PS1</b> & @everyone", message="<!channel> PSU <failed>")
    slack = sink.at(SLACK_PATH)[0]["blocks"]
    assert slack[1]["text"]["text"] == "&lt;!channel&gt; PSU &lt;failed&gt;"
    assert slack[2]["fields"][2]["text"] == "*Sensor*\n&lt;b&gt;PS1&lt;/b&gt; &amp; @everyone"
    telegram = sink.at(TELEGRAM_PATH)[0]["text"]
    assert "&lt;!channel&gt; PSU &lt;failed&gt;" in telegram
    assert "<b>Sensor:</b> &lt;b&gt;PS1&lt;/b&gt; &amp; @everyone" in telegram
    assert sink.at(DISCORD_PATH)[0]["allowed_mentions"] == {"parse": []}


async def test_alert_without_sensor_or_reading(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A whole-BMC alert (no sensor, no reading) shows server, severity and time only."""
    await _deliver(hass, sink, kind="bmc_unreachable", severity="warning", sensor=None, reading=None, message="")
    embed = sink.at(DISCORD_PATH)[0]["embeds"][0]
    assert embed["title"] == "🟠 rack-2 storage: BMC unreachable"
    assert "description" not in embed
    assert [field["name"] for field in embed["fields"]] == ["Server", "Severity", "Time"]
    assert sink.at(SLACK_PATH)[0]["text"] == "🟠 rack-2 storage: BMC unreachable"
    assert len(sink.at(SLACK_PATH)[0]["blocks"]) == 3
