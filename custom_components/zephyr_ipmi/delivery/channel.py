"""A configured notification channel: its client, whether it has a problem, and the repair issue that says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final
from uuid import uuid4

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from ..alerts import Alert, AlertKind, AlertSeverity
from ..const import DOMAIN, LOGGER
from .channels import ChannelClient, ChannelType, DeliveryError, DeliveryRejectedError
from .messages import render

TEST_MESSAGE: Final = "This is a test alert from Zephyr IPMI. If you can read it, this channel works."
MODELS: Final = {
    ChannelType.SLACK: "Slack incoming webhook",
    ChannelType.DISCORD: "Discord webhook",
    ChannelType.TEAMS: "Microsoft Teams Workflows webhook",
    ChannelType.TELEGRAM: "Telegram Bot API",
}


def test_alert(server: str) -> Alert:
    """Return the alert a "Send test alert" sends: kind test, severity info, now."""
    return Alert(
        kind=AlertKind.TEST,
        severity=AlertSeverity.INFO,
        recovered=False,
        entry_id="",
        server=server,
        sensor=None,
        reading=None,
        message=TEST_MESSAGE,
        time=dt_util.utcnow(),
        started=None,
        incident_id=uuid4().hex,
    )


class ZephyrChannel:
    """One channel (a subentry of the notification channels entry) and its delivery problem, if any.

    ``client`` is None when the channel's secret cannot be decrypted (the installation key changed): every
    delivery is then rejected with "credentials_unreadable" until the channel is reconfigured.
    ``problem`` is the reason code of the last failure that needs the owner ("http_404", "invalid_token",
    "timeout" after the last retry…), cleared by the next delivery that succeeds.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        subentry: ConfigSubentry,
        client: ChannelClient | None,
        on_recovered: Callable[[], None],
    ) -> None:
        """Wrap ``client`` for the channel of ``subentry``; ``on_recovered`` runs when a problem clears."""
        self.hass = hass
        self.subentry_id = subentry.subentry_id
        self.title = subentry.title
        self.channel_type = ChannelType(subentry.subentry_type)
        self.client = client
        self.problem: str | None = None
        self._listeners: list[Callable[[], None]] = []
        self._on_recovered = on_recovered

    @property
    def issue_id(self) -> str:
        """Return the id of this channel's repair issue."""
        return f"channel_problem_{self.subentry_id}"

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever ``problem`` changes; return the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _client(self) -> ChannelClient:
        """Return the client, or raise the rejection of a channel whose secret is unreadable."""
        if self.client is None:
            raise DeliveryRejectedError("credentials_unreadable")
        return self.client

    async def async_deliver(self, alert: Alert) -> None:
        """Send ``alert`` in the service's layout; raise ``DeliveryRetryError`` or ``DeliveryRejectedError``.

        A rejection is a problem at once; a failure that may pass becomes one only when the outbox gives up.
        """
        client = self._client()
        try:
            await client.async_send(client.alert_payload(render(alert)))
        except DeliveryRejectedError as err:
            self.async_set_problem(err)
            raise
        self.async_clear_problem()

    async def async_send_text(self, text: str, title: str | None) -> None:
        """Send a plain message once (``notify.send_message``); raise a translated ``HomeAssistantError``."""
        try:
            client = self._client()
            await client.async_send(client.text_payload(text, title))
        except DeliveryError as err:
            if isinstance(err, DeliveryRejectedError):
                self.async_set_problem(err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="channel_send_failed",
                translation_placeholders={"channel": self.title, "reason": err.reason},
            ) from None
        self.async_clear_problem()

    async def async_send_test(self) -> None:
        """Send a test alert now (the channel's button); raise a translated ``HomeAssistantError``."""
        try:
            await self.async_deliver(test_alert("Zephyr IPMI"))
        except DeliveryError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="channel_send_failed",
                translation_placeholders={"channel": self.title, "reason": err.reason},
            ) from None

    @callback
    def async_set_problem(self, err: DeliveryError) -> None:
        """Mark the channel as having a problem; log it and raise a repair issue once, not per alert."""
        first = self.problem is None
        self.problem = err.reason
        if not first:
            LOGGER.debug("Notification channel %s still fails: %s", self.title, err.reason)
            self._notify()
            return
        LOGGER.warning(
            "Notification channel %s (%s) cannot deliver alerts: %s%s",
            self.title,
            self.channel_type,
            err.reason,
            f" ({err.detail})" if err.detail else "",
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="channel_rejected" if isinstance(err, DeliveryRejectedError) else "channel_unreachable",
            translation_placeholders={"channel": self.title, "reason": err.reason},
        )
        self._notify()

    @callback
    def async_clear_problem(self) -> None:
        """Clear the problem after a delivery that succeeded."""
        if self.problem is None:
            return
        LOGGER.info("Notification channel %s delivers again", self.title)
        self.problem = None
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        self._notify()
        self._on_recovered()

    @callback
    def async_unload(self) -> None:
        """Forget the channel's repair issue; a reloaded channel starts without a problem."""
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

    def _notify(self) -> None:
        """Tell the listeners that ``problem`` changed."""
        for listener in list(self._listeners):
            listener()
