"""Small parts of alert delivery: templates, Retry-After, URL checks, route matching, other integrations'
notify entities that fail, and what the outbox does with alerts it cannot read.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, override

import pytest
from homeassistant.components.notify import NotifyEntity
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from yarl import URL

from custom_components.zephyr_ipmi.alerts import Alert
from custom_components.zephyr_ipmi.delivery.channels import (
    parse_retry_after,
    retired_teams_connector,
    valid_http_url,
)
from custom_components.zephyr_ipmi.delivery.messages import kind_name, render
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY, plan, route_matches

from .delivery_helpers import (
    DISCORD_PATH,
    Reply,
    ServiceSink,
    alert_data,
    bmc_entry,
    fire_alert,
    route,
    setup_channels,
    until,
)


def _alert(**overrides: Any) -> Alert:
    return Alert.from_dict(alert_data("e1", **overrides))


def test_retry_after_forms() -> None:
    """Seconds, an HTTP date, nothing and garbage; waits are never negative nor over an hour."""
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("86400") == 3600.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    past = (dt_util.utcnow() - timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(past) == 0.0


@pytest.mark.parametrize(
    ("url", "retired"),
    [
        ("https://contoso.webhook.office.com/webhookb2/x/IncomingWebhook/y/z", True),
        ("https://webhook.office.com/webhookb2/x", True),
        ("https://outlook.office.com/webhook/x/IncomingWebhook/y/z", True),
        ("https://outlook.office365.com/webhook/x", True),
        ("https://outlook.office.com/owa/", False),
        ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x", False),
        ("https://default1234.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x", False),
    ],
)
def test_retired_teams_connectors(url: str, retired: bool) -> None:
    """Office 365 connector URLs are told apart from Workflows URLs."""
    assert retired_teams_connector(URL(url)) is retired


@pytest.mark.parametrize("text", ["http://[::1", "hooks.slack.com/x", "mailto:ops@example.org", "https://"])
def test_invalid_urls(text: str) -> None:
    """Only absolute http(s) URLs with a host are accepted."""
    assert valid_http_url(text) is None


def test_valid_url_is_trimmed() -> None:
    assert valid_http_url("  https://hooks.slack.com/services/a  ") == URL("https://hooks.slack.com/services/a")


def test_route_matching() -> None:
    """A route takes listed kinds (none: all) from its minimum severity; a damaged minimum counts as info."""
    critical = _alert()
    info = _alert(severity="info")
    assert route_matches({"kinds": [], "min_severity": "warning"}, critical)
    assert not route_matches({"kinds": [], "min_severity": "warning"}, info)
    assert not route_matches({"kinds": ["psu_failure"]}, critical)
    assert route_matches({"kinds": ["threshold_crossed"]}, info)
    assert route_matches({"min_severity": "nonsense"}, info)
    no_match = plan([{"kinds": ["fan_failed"], "targets": ["notify.a"], "persistent_notification": True}], critical)
    assert not no_match.targets
    assert not no_match.persistent
    assert plan([], critical).persistent


def test_kind_names() -> None:
    """Known kinds read as words; an unknown kind from a newer alerts module is still readable."""
    assert kind_name("psu_ac_lost") == "Power supply AC lost"
    assert kind_name("raid_degraded") == "Raid degraded"


def test_recovery_without_start() -> None:
    """A recovery whose start is unknown says it recovered, without a duration."""
    message = render(_alert(recovered=True, message="Back to normal."))
    assert message.title == "✅ rack-2 storage: Sensor threshold crossed recovered"
    assert message.text == "Back to normal."
    assert "Lasted" not in dict(message.facts)


def test_body_without_text() -> None:
    message = render(_alert(message=""))
    assert message.body.startswith("Server: rack-2 storage\n")
    assert message.time == datetime(2026, 12, 3, 14, 5, 12, tzinfo=UTC)


class _FlakyNotify(NotifyEntity):
    """Another integration's notify entity that fails the way it is told to."""

    _attr_name = "Flaky"
    _attr_unique_id = "flaky"

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        self.messages: list[tuple[str, str | None]] = []

    @override
    async def async_send_message(self, message: str, title: str | None = None) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.messages.append((message, title))


async def _flaky(hass: HomeAssistant) -> _FlakyNotify:
    """Set up a config entry of a test integration with one notify entity, ``notify.flaky``."""
    entity = _FlakyNotify()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["notify"])
        return True

    async def setup_platform(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        async_add_entities([entity])

    mock_integration(hass, MockModule("flaky", async_setup_entry=setup_entry))
    mock_platform(hass, "flaky.config_flow")
    mock_platform(hass, "flaky.notify", MockPlatform(async_setup_entry=setup_platform))
    entry = MockConfigEntry(domain="flaky")
    entry.add_to_hass(hass)
    with mock_config_flow("flaky", ConfigFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("notify.flaky") is not None
    return entity


async def test_other_notify_entity_errors(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """A failing notify entity is retried; one that refuses the call is not, and is logged once."""
    flaky = await _flaky(hass)
    bmc = await bmc_entry(hass, route(["notify.flaky"], persistent_notification=False))
    outbox = hass.data[DATA_DELIVERY].outbox
    flaky.errors = [HomeAssistantError("server busy"), TimeoutError()]
    fire_alert(hass, alert_data(bmc.entry_id))
    await until(hass, lambda: len(flaky.messages) == 1, wake=True)
    assert flaky.messages[0][1] == "🔴 rack-2 storage: Sensor threshold crossed"

    flaky.errors = [ServiceValidationError("bad"), ServiceValidationError("bad")]
    fire_alert(hass, alert_data(bmc.entry_id, incident_id="inc-0002"))
    fire_alert(hass, alert_data(bmc.entry_id, incident_id="inc-0003"))
    await until(hass, lambda: not outbox.items and not flaky.errors)
    assert len(flaky.messages) == 1
    assert caplog.text.count("Could not deliver alerts to notify.flaky: target_refused") == 1


async def test_unreadable_alert_in_outbox_is_dropped(
    hass: HomeAssistant, sink: ServiceSink, hass_storage: dict[str, Any]
) -> None:
    """An outbox entry whose alert cannot be read is dropped without a notification; the queue goes on."""
    now = dt_util.utcnow().isoformat()
    items = [
        {
            "id": "bad",
            "target": "notify.homelab_discord",
            "alert": {"kind": "nonsense"},
            "created": now,
            "next_attempt": now,
            "attempts": 0,
        },
        {
            "id": "ok",
            "target": "notify.homelab_discord",
            "alert": alert_data("x"),
            "created": now,
            "next_attempt": now,
            "attempts": 0,
            "fallback": False,
        },
    ]
    hass_storage["zephyr_ipmi.outbox"] = {
        "version": 1,
        "minor_version": 1,
        "key": "zephyr_ipmi.outbox",
        "data": {"items": items},
    }
    await setup_channels(hass, sink)
    await until(hass, lambda: len(sink.at(DISCORD_PATH)) == 1)
    await until(hass, lambda: not hass.data[DATA_DELIVERY].outbox.items)


async def test_discord_retry_after_header_only(hass: HomeAssistant, sink: ServiceSink) -> None:
    """A 429 without a JSON body falls back to the Retry-After header."""
    sink.script(DISCORD_PATH, Reply(429, "slow down", headers={"Retry-After": "42"}))
    await setup_channels(hass, sink)
    bmc = await bmc_entry(hass, route(["notify.homelab_discord"], persistent_notification=False))
    fire_alert(hass, alert_data(bmc.entry_id))
    outbox = hass.data[DATA_DELIVERY].outbox
    await until(hass, lambda: bool(outbox.items) and outbox.items[0].attempts == 1)
    assert 35 < (outbox.items[0].next_attempt - dt_util.utcnow()).total_seconds() <= 42


async def test_delivery_strings_resolve(hass: HomeAssistant) -> None:
    """Every error, abort, issue, exception and selector option alert delivery shows has an English string."""
    from homeassistant.helpers.translation import async_get_translations

    from custom_components.zephyr_ipmi.alerts import AlertKind, AlertSeverity
    from custom_components.zephyr_ipmi.const import DOMAIN

    webhook_errors = {"invalid_url", "rejected", "cannot_connect", "rate_limited"}
    shown = {
        "slack": webhook_errors,
        "discord": webhook_errors,
        "teams": webhook_errors | {"teams_connector_retired"},
        "telegram": {"invalid_token", "chat_rejected", "invalid_api_url", "cannot_connect", "rate_limited"},
        "alert_route": {"no_target"},
    }
    prefix = f"component.{DOMAIN}"
    subentries = await async_get_translations(hass, "en", "config_subentries", {DOMAIN})
    for kind, errors in shown.items():
        for error in errors:
            assert subentries.get(f"{prefix}.config_subentries.{kind}.error.{error}"), (kind, error)
        assert subentries.get(f"{prefix}.config_subentries.{kind}.initiate_flow.user"), kind
        assert subentries.get(f"{prefix}.config_subentries.{kind}.step.reconfigure.title"), kind
        if kind != "alert_route":
            assert subentries.get(f"{prefix}.config_subentries.{kind}.abort.already_configured"), kind
    issues = await async_get_translations(hass, "en", "issues", {DOMAIN})
    for issue in ("channel_rejected", "channel_unreachable"):
        assert issues.get(f"{prefix}.issues.{issue}.title"), issue
    exceptions = await async_get_translations(hass, "en", "exceptions", {DOMAIN})
    assert exceptions.get(f"{prefix}.exceptions.channel_send_failed.message")
    selectors = await async_get_translations(hass, "en", "selector", {DOMAIN})
    for kind in AlertKind:
        if kind is not AlertKind.TEST:
            assert selectors.get(f"{prefix}.selector.alert_kind.options.{kind}"), kind
    for severity in AlertSeverity:
        assert selectors.get(f"{prefix}.selector.alert_severity.options.{severity}"), severity
    config = await async_get_translations(hass, "en", "config", {DOMAIN})
    for key in (
        "step.add.menu_options.bmc",
        "step.add.menu_options.notification_channels",
        "abort.channels_already_configured",
        "abort.channels_not_reconfigurable",
    ):
        assert config.get(f"{prefix}.config.{key}"), key
