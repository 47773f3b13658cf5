"""The outbox: alerts waiting for delivery, kept in HA storage across restarts, one queue and worker per target.

A target's queue is worked in order (an alert before its recovery) by its own task, so a slow or failing
target never delays another and nothing here ever waits on a poll. A delivery that may pass is retried with
exponential backoff and jitter (or after the ``Retry-After`` the service asked for) until ``MAX_ATTEMPTS`` or
``MAX_AGE``; one that cannot pass, or that ran out of attempts, is handed to ``on_abandon`` so that the alert
still reaches the owner another way. An item leaves storage only once delivered or handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Self
from uuid import uuid4

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .channels import DeliveryError, DeliveryRetryError

STORAGE_KEY: Final = f"{DOMAIN}.outbox"
STORAGE_VERSION: Final = 1

RETRY_BASE: Final = 10.0
"""Seconds before the first retry; each further retry doubles it."""
RETRY_CAP: Final = 1_800.0
"""Longest backoff (s) between two attempts."""
MAX_ATTEMPTS: Final = 15
"""Attempts (the first included) before an alert is handed over; with the backoff above, about 5 hours."""
MAX_AGE: Final = timedelta(hours=12)
"""Oldest an alert may get while waiting for a target."""
SAVE_DELAY: Final = 1.0
"""Seconds a delivered alert may stay in storage before the outbox is written (a crash then resends it)."""
MAX_QUEUE: Final = 500
"""Alerts kept per target; when a target is down long enough to fill it, the oldest are handed over."""


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Return the wait (s) after failed attempt number ``attempt`` (1 = the first).

    Exponential (``RETRY_BASE`` · 2^(attempt-1), at most ``RETRY_CAP``) with equal jitter: between half and
    all of it, so that targets that failed together do not all retry at the same instant.
    """
    ceiling: float = min(RETRY_CAP, RETRY_BASE * 2.0 ** min(attempt - 1, 32))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass(kw_only=True, slots=True)
class OutboxItem:
    """One alert (``Alert.as_dict()``) for one target (a notify entity id); times are UTC."""

    target: str
    alert: dict[str, Any]
    created: datetime
    next_attempt: datetime
    attempts: int = 0
    fallback: bool = True
    """Show the alert as a persistent notification if it cannot be delivered (False when it already was)."""
    id: str = field(default_factory=lambda: uuid4().hex)

    @property
    def key(self) -> tuple[str, str, bool, str]:
        """Return what makes two items the same delivery: target, incident, recovery and time."""
        return (
            self.target,
            str(self.alert.get("incident_id")),
            bool(self.alert.get("recovered")),
            str(self.alert.get("time")),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-safe form kept in storage."""
        return {
            "id": self.id,
            "target": self.target,
            "alert": self.alert,
            "created": self.created.isoformat(),
            "next_attempt": self.next_attempt.isoformat(),
            "attempts": self.attempts,
            "fallback": self.fallback,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read an item from storage; raise ``KeyError``, ``TypeError`` or ``ValueError`` when it is damaged."""
        return cls(
            id=str(data["id"]),
            target=str(data["target"]),
            alert=dict(data["alert"]),
            created=datetime.fromisoformat(data["created"]),
            next_attempt=datetime.fromisoformat(data["next_attempt"]),
            attempts=int(data["attempts"]),
            fallback=bool(data.get("fallback", True)),
        )


_RETRY: Final = object()
"""What ``Outbox._async_attempt`` returns for an item that stays queued for another attempt."""

type SendFunc = Callable[[str, dict[str, Any]], Awaitable[None]]
type AbandonFunc = Callable[[OutboxItem, DeliveryError], None]


class Outbox:
    """Persistent per-target queues of alerts, each worked by its own background task."""

    def __init__(self, hass: HomeAssistant, send: SendFunc, on_abandon: AbandonFunc) -> None:
        """Deliver with ``send(target, alert)``; hand what cannot be delivered to ``on_abandon``."""
        self._hass = hass
        self._send = send
        self._on_abandon = on_abandon
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self._queues: dict[str, deque[OutboxItem]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._stopped = False

    @property
    def items(self) -> list[OutboxItem]:
        """Return every waiting item, target by target."""
        return [item for queue in self._queues.values() for item in queue]

    async def async_load(self) -> None:
        """Read the outbox kept before the last stop and start working it."""
        data = await self._store.async_load() or {}
        for raw in data.get("items", []):
            try:
                item = OutboxItem.from_dict(raw)
            except KeyError, TypeError, ValueError:
                LOGGER.warning("Dropping a damaged entry of the alert outbox")
                continue
            self._queues.setdefault(item.target, deque()).append(item)
        if self._queues:
            LOGGER.debug("Outbox holds %d alerts for %d targets", len(self.items), len(self._queues))
        for target in list(self._queues):
            self._async_start_worker(target)

    async def async_enqueue(self, targets: Iterable[str], alert: dict[str, Any], *, fallback: bool = True) -> None:
        """Queue ``alert`` for each of ``targets``, save the outbox once, and make sure their workers run.

        The same delivery (target, incident, recovery, time) already waiting is not queued twice.
        """
        now = dt_util.utcnow()
        queued: list[str] = []
        overflow: list[OutboxItem] = []
        for target in targets:
            item = OutboxItem(target=target, alert=alert, created=now, next_attempt=now, fallback=fallback)
            queue = self._queues.setdefault(target, deque())
            if any(waiting.key == item.key for waiting in queue):
                continue
            queue.append(item)
            overflow.extend(queue.popleft() for _ in range(len(queue) - MAX_QUEUE))
            queued.append(target)
        if not queued:
            return
        await self._async_save()
        for old in overflow:
            self._on_abandon(old, DeliveryError("outbox_full"))
        for target in queued:
            self._async_start_worker(target)

    @callback
    def _async_start_worker(self, target: str) -> None:
        """Start the worker of ``target`` unless it runs or the outbox stopped."""
        if self._stopped or ((worker := self._workers.get(target)) is not None and not worker.done()):
            return
        self._workers[target] = self._hass.async_create_background_task(
            self._async_work(target), f"{DOMAIN} outbox {target}"
        )

    async def _async_work(self, target: str) -> None:
        """Deliver the queue of ``target`` in order until it is empty."""
        queue = self._queues[target]
        while queue:
            item = queue[0]
            if (wait := (item.next_attempt - dt_util.utcnow()).total_seconds()) > 0:
                wake = self._wakes.setdefault(target, asyncio.Event())
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await wake.wait()
            outcome = await self._async_attempt(item)
            if outcome is None:
                # Delivered: a burst of deliveries is written once; a clean stop writes it before exiting.
                queue.remove(item)
                self._store.async_delay_save(self._data, SAVE_DELAY)
                continue
            if outcome is not _RETRY:
                queue.remove(item)
            await self._async_save()
            if isinstance(outcome, DeliveryError):
                self._on_abandon(item, outcome)
        self._workers.pop(target, None)
        self._wakes.pop(target, None)
        self._queues.pop(target, None)

    async def _async_attempt(self, item: OutboxItem) -> DeliveryError | object | None:
        """Try ``item`` once: return None when delivered, ``_RETRY`` to retry, or the error to hand it over with."""
        try:
            await self._send(item.target, item.alert)
        except DeliveryRetryError as err:
            item.attempts += 1
            now = dt_util.utcnow()
            delay = err.retry_after if err.retry_after is not None else backoff(item.attempts)
            if item.attempts >= MAX_ATTEMPTS or now + timedelta(seconds=delay) - item.created > MAX_AGE:
                return err
            item.next_attempt = now + timedelta(seconds=delay)
            LOGGER.debug(
                "Delivery to %s failed (%s, attempt %d); retrying in %.0f s",
                item.target,
                err.reason,
                item.attempts,
                delay,
            )
            return _RETRY
        except DeliveryError as err:
            return err
        except Exception as err:  # noqa: BLE001 - a bug must not stop the queue; the alert is still handed over
            LOGGER.error("Unexpected %s delivering an alert to %s", type(err).__name__, item.target)
            return DeliveryError("unexpected")
        return None

    @callback
    def wake(self, targets: Iterable[str] | None = None) -> None:
        """Try the waiting alerts of ``targets`` (default: all) now instead of at their next attempt.

        Used when a channel shows it delivers again (its test alert passed, it was reconfigured).
        """
        for target in self._wakes if targets is None else targets:
            if (event := self._wakes.get(target)) is not None:
                event.set()

    def _data(self) -> dict[str, Any]:
        """Return what storage keeps: every waiting item."""
        return {"items": [item.as_dict() for item in self.items]}

    async def _async_save(self) -> None:
        """Write the outbox to storage now: a new alert, or one handed over, must not be lost to a crash."""
        await self._store.async_save(self._data())

    async def async_stop(self) -> None:
        """Stop the workers; what they had not delivered stays in storage for the next start."""
        self._stopped = True
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        await self._async_save()
