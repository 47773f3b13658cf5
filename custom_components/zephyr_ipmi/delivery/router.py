"""Routing: every ``zephyr_ipmi_alert`` goes, per BMC, kind and severity, to notify entities through the outbox.

A BMC's routes are its "alert_route" subentries. A BMC without routes sends every alert to Home Assistant's
persistent notifications. Zephyr's own channels get the service's rich layout; any other notify entity (HA's
SMTP e-mail, a phone…) gets ``notify.send_message`` with the rendered title and text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util.hass_dict import HassKey

from ..alerts import Alert, AlertSeverity
from ..const import DOMAIN, EVENT_ALERT, LOGGER
from .channel import ZephyrChannel
from .channels import SEND_TIMEOUT, DeliveryError, DeliveryRejectedError, DeliveryRetryError
from .messages import kind_name, render
from .outbox import Outbox, OutboxItem

DATA_DELIVERY: HassKey[DeliveryManager] = HassKey(f"{DOMAIN}_delivery")

SUBENTRY_ROUTE: Final = "alert_route"
CONF_KINDS: Final = "kinds"
CONF_MIN_SEVERITY: Final = "min_severity"
CONF_TARGETS: Final = "targets"
CONF_PERSISTENT: Final = "persistent_notification"

NOTIFY_DOMAIN: Final = "notify"
SERVICE_SEND_MESSAGE: Final = "send_message"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Where one alert goes: notify entity ids, and whether it is also a persistent notification."""

    targets: frozenset[str]
    persistent: bool


def route_matches(route: Mapping[str, Any], alert: Alert) -> bool:
    """Tell whether a route (subentry data) takes ``alert``.

    It does when the alert's kind is listed (none listed: all kinds) and its severity is at least the route's
    minimum. A recovery has its incident's severity.
    """
    kinds = route.get(CONF_KINDS) or ()
    if kinds and alert.kind not in kinds:
        return False
    try:
        minimum = AlertSeverity(route.get(CONF_MIN_SEVERITY, AlertSeverity.INFO))
    except ValueError:
        minimum = AlertSeverity.INFO
    return alert.severity.rank >= minimum.rank


def plan(routes: Iterable[Mapping[str, Any]], alert: Alert) -> RoutePlan:
    """Join the targets of every route that takes ``alert``; without any route, a persistent notification."""
    routes = list(routes)
    if not routes:
        return RoutePlan(frozenset(), persistent=True)
    targets: set[str] = set()
    persistent = False
    for route in routes:
        if route_matches(route, alert):
            targets.update(route.get(CONF_TARGETS) or ())
            persistent = persistent or bool(route.get(CONF_PERSISTENT, False))
    return RoutePlan(frozenset(targets), persistent)


class DeliveryManager:
    """Listens for alerts, routes them, and owns the outbox and the loaded channels (by subentry id)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Prepare an idle manager; ``async_start`` loads the outbox and starts listening."""
        self.hass = hass
        self.channels: dict[str, ZephyrChannel] = {}
        self.outbox = Outbox(hass, self._async_send, self._async_abandon)
        self._failing: set[str] = set()
        self._unsubs: list[Callable[[], None]] = []

    async def async_start(self) -> None:
        """Load the outbox kept across the restart, then deliver every alert fired on the bus."""
        await self.outbox.async_load()
        self._unsubs = [
            self.hass.bus.async_listen(EVENT_ALERT, self._async_handle_alert),
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_stop_event),
        ]

    async def _async_stop_event(self, _: Event) -> None:
        """Stop when Home Assistant stops."""
        self._unsubs.pop()  # a once-listener is gone once it ran
        await self.async_stop()

    async def async_stop(self) -> None:
        """Stop listening and stop the workers; undelivered alerts stay in storage for the next start."""
        while self._unsubs:
            self._unsubs.pop()()
        await self.outbox.async_stop()

    def routes_of(self, entry_id: str) -> list[Mapping[str, Any]]:
        """Return the routes (subentry data) of the BMC entry ``entry_id``; none for an unknown entry."""
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return []
        return [sub.data for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_ROUTE]

    @callback
    def _async_handle_alert(self, event: Event[Mapping[str, Any]]) -> None:
        """Route one alert: a persistent notification now, each notify target through the outbox."""
        try:
            alert = Alert.from_dict(event.data)
        except (KeyError, ValueError) as err:
            LOGGER.warning("Ignoring a malformed %s event: %s", EVENT_ALERT, err)
            return
        route = plan(self.routes_of(alert.entry_id), alert)
        if route.persistent:
            message = render(alert)
            persistent_notification.async_create(
                self.hass, message.body, title=message.title, notification_id=f"{DOMAIN}_{alert.incident_id}"
            )
        if route.targets:
            self.hass.async_create_background_task(
                self.outbox.async_enqueue(sorted(route.targets), alert.as_dict(), fallback=not route.persistent),
                f"{DOMAIN} enqueue alert",
            )

    @callback
    def wake_channels(self, subentry_ids: set[str]) -> None:
        """Try the alerts waiting for these channels (by subentry id) now: they deliver again."""
        self.outbox.wake(
            entity.entity_id
            for entity in er.async_get(self.hass).entities.values()
            if entity.platform == DOMAIN
            and entity.domain == NOTIFY_DOMAIN
            and entity.config_subentry_id in subentry_ids
        )

    def channel_of(self, entity_id: str) -> tuple[bool, ZephyrChannel | None]:
        """Return whether ``entity_id`` is a Zephyr channel's notify entity, and its channel when loaded."""
        entity = er.async_get(self.hass).async_get(entity_id)
        if entity is None or entity.platform != DOMAIN or entity.config_subentry_id is None:
            return False, None
        return True, self.channels.get(entity.config_subentry_id)

    async def _async_send(self, target: str, data: dict[str, Any]) -> None:
        """Deliver one alert to one notify entity; raise ``DeliveryRetryError`` or ``DeliveryRejectedError``."""
        try:
            alert = Alert.from_dict(data)
        except KeyError, ValueError:
            raise DeliveryRejectedError("malformed_alert") from None
        is_channel, channel = self.channel_of(target)
        if is_channel:
            if channel is None:
                raise DeliveryRetryError("channel_not_loaded")
            await channel.async_deliver(alert)
        else:
            await self._async_send_notify(target, alert)
        self._failing.discard(target)

    async def _async_send_notify(self, target: str, alert: Alert) -> None:
        """Deliver through ``notify.send_message`` of another integration's notify entity."""
        state = self.hass.states.get(target)
        if state is None or state.state == STATE_UNAVAILABLE:
            raise DeliveryRetryError("target_unavailable")
        message = render(alert)
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await self.hass.services.async_call(
                    NOTIFY_DOMAIN,
                    SERVICE_SEND_MESSAGE,
                    {ATTR_ENTITY_ID: target, "message": message.body, "title": message.title},
                    blocking=True,
                )
        except ServiceValidationError:
            raise DeliveryRejectedError("target_refused") from None
        except HomeAssistantError, TimeoutError:
            raise DeliveryRetryError("target_failed") from None

    @callback
    def _async_abandon(self, item: OutboxItem, err: DeliveryError) -> None:
        """Hand over an alert that cannot be delivered: the channel shows a problem, the owner still sees it."""
        is_channel, channel = self.channel_of(item.target)
        if channel is not None and not isinstance(err, DeliveryRejectedError):
            channel.async_set_problem(err)
        if not is_channel and item.target not in self._failing:
            # Zephyr's channels log their own problem once; log another integration's target once too.
            self._failing.add(item.target)
            LOGGER.warning("Could not deliver alerts to %s: %s", item.target, err.reason)
        LOGGER.debug("Gave up delivering alert %s to %s: %s", item.id, item.target, err.reason)
        if not item.fallback:
            return
        try:
            alert = Alert.from_dict(item.alert)
        except KeyError, ValueError:
            return
        message = render(alert)
        persistent_notification.async_create(
            self.hass,
            f"Zephyr IPMI could not deliver this alert to {item.target} ({err.reason}).\n\n{message.body}",
            title=f"Undelivered: {message.title}",
            notification_id=f"{DOMAIN}_undelivered_{item.id}",
        )

    def describe(self) -> dict[str, Any]:
        """Return the outbox and the channels' state for diagnostics (no secrets, no alert text)."""
        return {
            "outbox": [
                {
                    "target": item.target,
                    "kind": kind_name(str(item.alert.get("kind"))),
                    "severity": item.alert.get("severity"),
                    "recovered": item.alert.get("recovered"),
                    "attempts": item.attempts,
                    "created": item.created.isoformat(),
                    "next_attempt": item.next_attempt.isoformat(),
                }
                for item in self.outbox.items
            ],
            "channels": {
                channel.subentry_id: {"type": channel.channel_type, "problem": channel.problem}
                for channel in self.channels.values()
            },
        }
