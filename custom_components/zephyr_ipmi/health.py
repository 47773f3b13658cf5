"""Health alerts of one BMC in Home Assistant: after each poll, read the SEL, observe, alert and repair.

After every poll of the coordinator (a hook, so it shares the poll's schedule and session), the monitor:

* counts failed polls in a row ("BMC unreachable" after ``unreachable_polls``), and notes the BMC rejecting
  Zephyr's own login;
* reads the SEL's new records in the executor (one Get SEL Info when nothing changed, ``ipmi.sel``);
* turns the poll, the records and the SEL's fill level into observations (``rules``) and those into alerts
  (``incidents``): one per incident and one on recovery;
* fires each alert on the bus as ``zephyr_ipmi_alert`` (``Alert.as_dict()`` plus the ``device_id``), hands it to
  the alert event entity, and raises repair issues where the owner must act: a chassis intrusion to
  acknowledge (until they do), a nearly full SEL (while it lasts).

The SEL position, open incidents and rule state are saved in ``.storage/zephyr_ipmi.health.<entry id>`` after
each change, so a restart neither repeats old records or alerts nor forgets an incident.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .alerts import Alert, AlertKind, AlertSeverity
from .const import DOMAIN, EVENT_ALERT, LOGGER
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .fan_control import ZephyrControlCoordinator
from .helpers import async_call_bmc
from .incidents import IncidentTracker, Observation
from .ipmi import (
    BmcSnapshot,
    IpmiAuthError,
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiWrongBmcError,
    SdrSensor,
)
from .ipmi.control import FanController
from .ipmi.sel import SelEvent, SelInfo, SelPosition, SelReader, decode_event, sel_time
from .rules import AlertSettings, HealthState, sel_fill_observation, sel_observations, snapshot_observations

STORAGE_VERSION = 1
RECENT_EVENTS = 50
"""Decoded SEL records kept in memory for diagnostics."""
#: Completion codes of Get SEL Info that mean the BMC has no SEL (invalid command, insufficient privilege...).
_SEL_UNSUPPORTED = frozenset({0xC1, 0xC2, 0xCC, 0xD4})

ISSUE_INTRUSION = "chassis_intrusion"
ISSUE_SEL_FULL = "sel_nearly_full"

CLEAR_READS = 16
"""Most ``read_new`` calls before a clear (each up to ``sel.MAX_RECORDS_PER_READ`` records): unread records first."""

type AlertListener = Callable[[Alert], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Cleared:
    """What clearing the SEL found.

    ``events``: records unread before the clear, ``position`` the SEL position after them, ``bmc_time`` the
    BMC's SEL clock (s since 1970) read with them; ``done`` whether the BMC reported the erasure done, and
    ``after`` the Get SEL Info read after it (None when not read).
    """

    events: list[SelEvent]
    position: SelPosition | None
    bmc_time: int | None
    done: bool
    after: SelInfo | None


def _position_after_clear(info: SelInfo | None) -> SelPosition:
    """Return the SEL position of a SEL Zephyr just emptied: every record found later is new.

    With the info read after the erasure, the next unchanged Get SEL Info costs nothing more; without it, the
    next check walks the (nearly empty) SEL from its first record.
    """
    if info is None:
        return SelPosition(
            last_record_id=None, last_timestamp=None, entries=0, last_add=None, last_erase=None, complete=False
        )
    return SelPosition(
        last_record_id=None,
        last_timestamp=None,
        entries=info.entries,
        last_add=info.last_add,
        last_erase=info.last_erase,
    )


SETUP_FAILURES: HassKey[dict[str, int]] = HassKey(f"{DOMAIN}_setup_failures")
"""Setups in a row, by entry id, that got no answer from the BMC (reset when a setup succeeds)."""


def _unanswered(error: BaseException | None) -> bool:
    """Tell whether ``error`` or one of its causes is the BMC not answering (not a different BMC answering)."""
    while error is not None:
        if isinstance(error, IpmiConnectionError) and not isinstance(error, IpmiWrongBmcError):
            return True
        error = error.__cause__
    return False


async def async_setup_failed(hass: HomeAssistant, entry: ZephyrConfigEntry, error: BaseException) -> None:
    """Count a setup of ``entry`` that got no answer from the BMC like a failed poll; alert after N in a row.

    A BMC that is down while Home Assistant starts never gets a poll (its entry waits for setup retries), so
    without this it would never be reported unreachable. The alert opens the same incident as failed polls do,
    saved with the health state: once a setup succeeds, the first poll ends it with the usual recovery alert.
    Other setup errors (rejected credentials, a different BMC answering) are not counted.
    """
    if not _unanswered(error):
        return
    failures = hass.data.setdefault(SETUP_FAILURES, {})
    count = failures[entry.entry_id] = failures.get(entry.entry_id, 0) + 1
    settings = AlertSettings.from_options(entry.options)
    if count < settings.unreachable_polls:
        return
    store = _store(hass, entry.entry_id)
    stored = await store.async_load() or {}
    tracker = IncidentTracker(entry_id=entry.entry_id, server=entry.title, cooldown=settings.cooldown)
    tracker.restore(stored.get("incidents", []))
    now = dt_util.utcnow()
    observation = Observation(
        kind=AlertKind.BMC_UNREACHABLE,
        subject="bmc",
        active=True,
        severity=AlertSeverity.CRITICAL,
        message=f"The BMC did not answer {count} attempts in a row to set it up.",
        time=now,
    )
    alerts = tracker.apply([observation], now)
    if not alerts:
        return
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, entry.unique_id or ""), entry.entry_id)
    for alert in alerts:
        LOGGER.info("%s: %s", alert.server, alert.message)
        hass.bus.async_fire(EVENT_ALERT, {**alert.as_dict(), "device_id": device.id if device is not None else None})
    await store.async_save({**stored, "incidents": tracker.as_list()})


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of one entry's health state: SEL position, open incidents, rule state."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.health.{entry_id}")


async def async_remove_health(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed entry's health state: its saved SEL position and incidents, and its repair issues."""
    await _store(hass, entry_id).async_remove()
    hass.data.get(SETUP_FAILURES, {}).pop(entry_id, None)
    for issue in (ISSUE_INTRUSION, ISSUE_SEL_FULL):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry_id}")


class HealthMonitor:
    """Alerts of one BMC: the coordinator's poll hook, the SEL reader, incidents, bus events and repairs."""

    def __init__(self, hass: HomeAssistant, entry: ZephyrConfigEntry, coordinator: ZephyrCoordinator) -> None:
        """Prepare the monitor of ``entry``; nothing is read or sent until ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.settings = AlertSettings.from_options(entry.options)
        self.tracker = IncidentTracker(entry_id=entry.entry_id, server=entry.title, cooldown=self.settings.cooldown)
        self.state = HealthState()
        self.position: SelPosition | None = None
        self.sel_info: SelInfo | None = None
        self.sel_supported = True
        self.clock_offset = timedelta(0)
        """How far the BMC's SEL clock is behind real time, from Get SEL Time with the last new records."""
        self.failed_polls = 0
        self.recent_events: deque[SelEvent] = deque(maxlen=RECENT_EVENTS)
        self.recent_alerts: deque[Alert] = deque(maxlen=RECENT_EVENTS)
        self._reader = SelReader(coordinator.client)
        self._store = _store(hass, entry.entry_id)
        self._lock = asyncio.Lock()
        self._listeners: list[AlertListener] = []
        self._started = False

    # -- life cycle --------------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read what was saved: SEL position, open incidents, rule state (the entry's setup succeeded)."""
        self.hass.data.get(SETUP_FAILURES, {}).pop(self.entry.entry_id, None)
        stored = await self._store.async_load() or {}
        if (position := stored.get("position")) is not None:
            try:
                self.position = SelPosition.from_dict(position)
            except KeyError, TypeError, ValueError:
                LOGGER.warning("Stored SEL position of %s unreadable; reading from the SEL's end", self.entry.title)
        self.tracker.restore(stored.get("incidents", []))
        self.state = HealthState.from_dict(stored.get("state", {}))

    @callback
    def async_start(self) -> None:
        """Start checking after each poll, and check the setup's poll once Home Assistant has started."""
        self.coordinator.poll_hooks.append(self._async_after_poll)
        self.entry.async_on_unload(self._async_stop)

        @callback
        def _check_now(_hass: HomeAssistant) -> None:
            self.entry.async_create_task(self.hass, self._async_first_check(), "zephyr_ipmi health check")

        self.entry.async_on_unload(async_at_started(self.hass, _check_now))

    @callback
    def _async_stop(self) -> None:
        if self._async_after_poll in self.coordinator.poll_hooks:
            self.coordinator.poll_hooks.remove(self._async_after_poll)
        self._listeners.clear()

    @callback
    def async_add_listener(self, listener: AlertListener) -> CALLBACK_TYPE:
        """Call ``listener`` with every alert of this BMC; returns the function that stops it."""
        self._listeners.append(listener)

        @callback
        def _remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return _remove

    # -- checks ------------------------------------------------------------------------------------------

    async def _async_first_check(self) -> None:
        """Check the poll of the setup (before the hook existed): baseline the SEL, alert on current states."""
        if not self._started and self.coordinator.data is not None:
            await self._async_after_poll(self.coordinator.data, None)

    async def _async_after_poll(self, snapshot: BmcSnapshot | None, error: IpmiError | None) -> None:
        """Observe one poll's outcome (``snapshot`` or ``error``), the SEL and its fill level; alert."""
        async with self._lock:
            self._started = True
            now = dt_util.utcnow()
            observations: list[Observation] = []
            if snapshot is None:
                observations.extend(self._failure_observations(error, now))
            else:
                observations.extend(self._success_observations(now))
                observations.extend(await self._async_poll_observations(snapshot, now))
            self._apply(observations, now)
            await self._async_save()

    def _failure_observations(self, error: IpmiError | None, now: datetime) -> list[Observation]:
        if isinstance(error, IpmiAuthError):
            return [
                Observation(
                    kind=AlertKind.FAILED_LOGINS,
                    subject="zephyr",
                    active=True,
                    severity=AlertSeverity.WARNING,
                    message=(
                        "The BMC rejected the user name or password Zephyr IPMI logs in with; "
                        "reauthenticate the BMC in Home Assistant."
                    ),
                    time=now,
                )
            ]
        self.failed_polls += 1
        if self.failed_polls < self.settings.unreachable_polls:
            return []
        return [
            Observation(
                kind=AlertKind.BMC_UNREACHABLE,
                subject="bmc",
                active=True,
                severity=AlertSeverity.CRITICAL,
                message=f"The BMC did not answer {self.failed_polls} polls in a row.",
                time=now,
            )
        ]

    def _success_observations(self, now: datetime) -> list[Observation]:
        self.failed_polls = 0
        return [
            Observation(
                kind=AlertKind.BMC_UNREACHABLE,
                subject="bmc",
                active=False,
                severity=AlertSeverity.INFO,
                message="The BMC answers again.",
                time=now,
            ),
            Observation(
                kind=AlertKind.FAILED_LOGINS,
                subject="zephyr",
                active=False,
                severity=AlertSeverity.INFO,
                message="Zephyr IPMI logs in to the BMC again.",
                time=now,
            ),
        ]

    async def _async_poll_observations(self, snapshot: BmcSnapshot, now: datetime) -> list[Observation]:
        """Observe the SEL's new records and the poll.

        Where the poll shows a problem now, its current state speaks (not older records about it); records about
        a problem the poll no longer shows open its incident, which the poll's observation then clears.
        """
        sensors = dict(self.coordinator.sensors)
        from_poll = snapshot_observations(sensors, snapshot, self.settings, self.state, now)
        events = await self._async_read_sel(sensors.values(), now)
        observations = self._record_observations(events, from_poll, now)
        if self.sel_info is not None:
            observations.append(sel_fill_observation(self.sel_info, now))
        return observations + from_poll

    def _record_observations(
        self, events: list[SelEvent], from_poll: list[Observation], now: datetime
    ) -> list[Observation]:
        """Observe new SEL records; those about a problem the poll (``from_poll``) shows now are left to the poll."""
        watched = {observation.key for observation in from_poll}
        active_now = {observation.key for observation in from_poll if observation.active}
        return [
            observation
            for observation in sel_observations(
                events, watched, self.settings, self.state, now, clock_offset=self.clock_offset
            )
            if observation.key not in active_now
        ]

    async def _async_read_sel(self, sensors: Iterable[SdrSensor], now: datetime) -> list[SelEvent]:
        """Read and decode the SEL records added since the saved position (in the executor)."""
        if not self.sel_supported:
            return []
        sdr = list(sensors)

        def _read() -> tuple[SelPosition, SelInfo, int | None, list[SelEvent]]:
            result = self._reader.read_new(self.position)
            events = [decode_event(record, sdr) for record in result.records]
            return result.position, result.info, result.bmc_time, events

        try:
            self.position, self.sel_info, bmc_time, events = await self.hass.async_add_executor_job(_read)
        except IpmiCompletionCodeError as err:
            if err.command == 0x40 and err.code in _SEL_UNSUPPORTED:
                LOGGER.info("%s has no readable SEL (completion code 0x%02X)", self.entry.title, err.code)
                self.sel_supported = False
            else:
                LOGGER.debug("Reading the SEL of %s failed: %s", self.entry.title, err)
            return []
        except IpmiError as err:
            LOGGER.debug("Reading the SEL of %s failed: %s", self.entry.title, err)
            return []
        if (bmc_now := sel_time(bmc_time)) is not None:
            self.clock_offset = now - bmc_now
        self.recent_events.extend(events)
        return events

    # -- clearing the SEL ----------------------------------------------------------------------------------

    async def async_clear_sel(self, control: ZephyrControlCoordinator, actor: str, context: Context | None) -> None:
        """Empty the BMC's SEL through the write gate (audited), for the *Clear event log* action and button.

        First the records logged since the last poll are read and alerted on, so the clear loses none; then
        Reserve SEL and Clear SEL (``FanController.clear_sel``). Once the BMC reports the erasure done, the SEL
        position starts over at the empty SEL (every later record is new, none is announced twice) and the
        "SEL nearly full" incident ends with its recovery alert and repair issue. Checks wait for the clear.

        Raises the translated errors of ``helpers.async_call_bmc`` (refusal, BMC silent, completion code), and
        ``HomeAssistantError`` ("sel_clear_unconfirmed") when the BMC did not report the erasure done in time:
        the next poll then finds the SEL as the BMC left it.
        """
        async with self._lock:
            sdr = list(self.coordinator.sensors.values())
            cleared = await async_call_bmc(
                control, lambda controller: self._clear(controller, actor, sdr), context=context
            )
            now = dt_util.utcnow()
            if (bmc_now := sel_time(cleared.bmc_time)) is not None:
                self.clock_offset = now - bmc_now
            self.recent_events.extend(cleared.events)
            snapshot = self.coordinator.data
            from_poll = (
                []
                if snapshot is None
                else snapshot_observations(dict(self.coordinator.sensors), snapshot, self.settings, self.state, now)
            )
            alerts = self.tracker.apply(self._record_observations(cleared.events, from_poll, now), now)
            self.position = cleared.position
            if cleared.done:
                self.sel_info = cleared.after or self.sel_info
                self.position = _position_after_clear(cleared.after)
                message = "The event log (SEL) was cleared."
                if cleared.after is not None:
                    message = sel_fill_observation(cleared.after, now).message
                if (ended := self.tracker.end(AlertKind.SEL_NEARLY_FULL, "sel", now, message=message)) is not None:
                    alerts.append(ended)
            for alert in alerts:
                self._fire(alert)
            self._sync_issues()
            await self._async_save()
        if not cleared.done:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="sel_clear_unconfirmed",
                translation_placeholders={"name": self.entry.title},
            )

    def _clear(self, controller: FanController, actor: str, sdr: list[SdrSensor]) -> _Cleared:
        """Read the SEL's unread records, then clear it and read its info again (blocking, in the executor)."""
        position, bmc_time = self.position, None
        events: list[SelEvent] = []
        if self.sel_supported:
            for _ in range(CLEAR_READS):
                result = self._reader.read_new(position)
                position, bmc_time = result.position, result.bmc_time or bmc_time
                events.extend(decode_event(record, sdr) for record in result.records)
                if position.complete:
                    break
        done = controller.clear_sel(actor=actor)
        after = None
        if done:
            try:
                after = self._reader.info()
            except IpmiError as err:
                LOGGER.debug("Get SEL Info after clearing the SEL of %s failed: %s", self.entry.title, err)
        return _Cleared(events=events, position=position, bmc_time=bmc_time, done=done, after=after)

    @callback
    def async_fan_control(self, lost: bool, *, zone: str | None = None, detail: str | None = None) -> None:
        """Report that Zephyr lost control of the fans (``lost``) or has it again; for the control layer.

        ``zone`` is the fan zone key ("cpu", "peripheral", ...) or None for the whole BMC; ``detail`` an English
        sentence on why (shown in the alert). Alerts once per incident (critical) and once when it ends; the
        control layer raises the repair issue that offers the retry.
        """
        now = dt_util.utcnow()
        where = f"fan zone {zone}" if zone else "the fans"
        message = f"Zephyr IPMI lost control of {where}; the BMC runs them. {detail or ''}".strip()
        observation = Observation(
            kind=AlertKind.FAN_CONTROL_LOST,
            subject=f"fan_control_{zone or 'all'}",
            active=lost,
            severity=AlertSeverity.CRITICAL if lost else AlertSeverity.INFO,
            message=message if lost else f"Zephyr IPMI controls {where} again.",
            time=now,
        )
        self._apply([observation], now)
        self.entry.async_create_task(self.hass, self._async_save(), "zephyr_ipmi health save")

    # -- alerts and repairs ------------------------------------------------------------------------------

    @callback
    def _apply(self, observations: list[Observation], now: datetime) -> None:
        for alert in self.tracker.apply(observations, now):
            self._fire(alert)
        self._sync_issues()

    @callback
    def _fire(self, alert: Alert) -> None:
        self.recent_alerts.append(alert)
        LOGGER.info("%s: %s", alert.server, alert.message)
        self.hass.bus.async_fire(EVENT_ALERT, {**alert.as_dict(), "device_id": self.device_id})
        if alert.kind is AlertKind.CHASSIS_INTRUSION and not alert.recovered:
            self._intrusion_issue(alert)
        for listener in list(self._listeners):
            listener(alert)

    @property
    def device_id(self) -> str | None:
        """The device registry id of this BMC's device, or None before its entities were set up."""
        bmc_id = self.entry.unique_id or self.coordinator.identity.unique_id
        device = dr.async_get(self.hass).async_get_device_by_identifier((DOMAIN, bmc_id), self.entry.entry_id)
        return device.id if device is not None else None

    def _issue_id(self, issue: str) -> str:
        return f"{issue}_{self.entry.entry_id}"

    @callback
    def _intrusion_issue(self, alert: Alert) -> None:
        """Ask the owner to acknowledge a chassis intrusion; it stays (across restarts) until they do."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(ISSUE_INTRUSION),
            is_fixable=True,
            is_persistent=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_INTRUSION,
            translation_placeholders={
                "server": alert.server,
                "sensor": alert.sensor or alert.server,
                "time": dt_util.as_local(alert.time).strftime("%Y-%m-%d %H:%M"),
            },
        )

    @callback
    def _sync_issues(self) -> None:
        """Show the "SEL nearly full" repair issue while its incident lasts; its fix clears the SEL.

        (Lost fan control has its repair issue from the control layer, which offers the retry.)
        """
        issue_id = self._issue_id(ISSUE_SEL_FULL)
        sel = self.tracker.get(AlertKind.SEL_NEARLY_FULL, "sel")
        if sel is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            data={"entry_id": self.entry.entry_id, "action": "clear_event_log"},
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_SEL_FULL,
            translation_placeholders={"server": self.entry.title, "fill": sel.reading or ""},
        )

    async def _async_save(self) -> None:
        await self._store.async_save(
            {
                "position": None if self.position is None else self.position.as_dict(),
                "incidents": self.tracker.as_list(),
                "state": self.state.as_dict(),
            }
        )

    def diagnostics(self) -> dict[str, Any]:
        """Return the monitor's state for diagnostics: SEL position and fill, open incidents, recent alerts."""
        return {
            "sel_supported": self.sel_supported,
            "sel_position": None if self.position is None else self.position.as_dict(),
            "sel_fill": None if self.sel_info is None else round(self.sel_info.used_fraction, 3),
            "failed_polls": self.failed_polls,
            "incidents": self.tracker.as_list(),
            "recent_sel": [event.text for event in self.recent_events],
            "recent_alerts": [alert.as_dict() for alert in self.recent_alerts],
        }
