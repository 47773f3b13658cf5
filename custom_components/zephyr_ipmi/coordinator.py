"""Coordinator of Zephyr IPMI: polls one BMC through its blocking ``BmcClient`` in the executor."""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from time import monotonic, time
from typing import TYPE_CHECKING, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER, POLL_HISTORY, SDR_CHECK_INTERVAL
from .ipmi import (
    BmcClient,
    BmcIdentity,
    BmcSnapshot,
    IpmiAuthError,
    IpmiConnectionError,
    IpmiError,
    IpmiWrongBmcError,
    PowerReading,
    SdrSensor,
)
from .issues import async_create_wrong_bmc_issue, async_delete_wrong_bmc_issue

if TYPE_CHECKING:
    from .automatic import ZephyrAutomaticCoordinator
    from .fan_control import ZephyrControlCoordinator
    from .health import HealthMonitor


@dataclass(kw_only=True)
class ZephyrRuntimeData:
    """What a loaded config entry holds: the BMC's client, its poll and control coordinators, its health alerts."""

    client: BmcClient
    coordinator: ZephyrCoordinator
    control: ZephyrControlCoordinator
    health: HealthMonitor | None = None
    automatic: ZephyrAutomaticCoordinator | None = None


type PollHook = Callable[[BmcSnapshot | None, IpmiError | None], Awaitable[None]]
"""Called after each poll with its snapshot, or with its error when it failed."""


type ZephyrConfigEntry = ConfigEntry[ZephyrRuntimeData]


@dataclass(frozen=True, kw_only=True, slots=True)
class PollRecord:
    """One poll, kept for diagnostics: start (ISO 8601, UTC), duration (s), "ok" or the error's class name."""

    start: str
    duration: float
    result: str


def _definition(sdr: SdrSensor) -> SdrSensor:
    """Return what defines a sensor's entity: its SDR record without the thresholds and the record id."""
    return replace(sdr, thresholds={}, record_id=0)


def poll_slot(entry_id: str, interval: float) -> float:
    """Return an entry's stable offset (s) within the scan interval, in [0, ``interval``): a hash of its id.

    Entries polled with the same interval get different slots, so their polls are spread over the
    interval instead of firing in the same second (e.g. every entry after Home Assistant starts).
    """
    digest = hashlib.sha256(entry_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * interval


#: A slot this close (s) after one interval from now is waited for: timers fire a little early or late.
SLOT_TOLERANCE = 1.0


def next_poll_delay(now: float, interval: float, slot: float, last_poll: float = 0.0) -> float:
    """Seconds from ``now`` (Unix s) to the next poll: one interval, shortened towards the entry's slot.

    Slot times are ``slot + k * interval`` (Unix s). The next poll is the latest slot time not after
    ``now + interval`` (or up to ``SLOT_TOLERANCE`` s after it), but never sooner than half an interval: a
    poll is at most that tolerance later than Home Assistant would schedule it (one interval after the last
    one ended), an entry off its slot reaches it within two polls, and one on its slot polls once per
    interval. After a poll that took ``last_poll`` s, more than half an interval (a slow BMC), the delay is
    one interval.
    """
    if last_poll > interval / 2:
        return interval
    late = (slot - now - interval) % interval
    if late <= SLOT_TOLERANCE:
        return interval + late
    return max(interval / 2, interval - (now + interval - slot) % interval)


def _as_ha_error(err: IpmiError) -> ConfigEntryAuthFailed | UpdateFailed:
    """Translate an IPMI error: rejected credentials start reauthentication, anything else fails the update."""
    if isinstance(err, IpmiAuthError):
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="authentication_failed")
    if isinstance(err, IpmiWrongBmcError):
        return UpdateFailed(translation_domain=DOMAIN, translation_key="wrong_bmc")
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="update_failed",
        translation_placeholders={"error": str(err) or type(err).__name__},
    )


class ZephyrCoordinator(DataUpdateCoordinator[BmcSnapshot]):
    """Polls one BMC: sensor readings, chassis power and DCMI power, integrated into energy (kWh)."""

    config_entry: ZephyrConfigEntry
    identity: BmcIdentity
    """Set by the first refresh, before any platform is set up."""

    def __init__(self, hass: HomeAssistant, entry: ZephyrConfigEntry, client: BmcClient) -> None:
        """Prepare polling ``client`` every scan interval (s) of the entry's options."""
        interval = timedelta(seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.title}", update_interval=interval)
        self.client = client
        self.sensors: dict[str, SdrSensor] = {}
        self.polls: deque[PollRecord] = deque(maxlen=POLL_HISTORY)
        self.energy_kwh = 0.0
        """DCMI energy (kWh) integrated since this coordinator started; the Energy sensor adds its offset."""
        self._max_gap = 2 * interval.total_seconds()
        self._last_power: tuple[float, float] | None = None
        self._sdr_checked_at = 0.0
        self._sensor_list_version = 0
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self.poll_hooks: list[PollHook] = []
        """Started after every poll, in order (health alerts read the SEL there); they never delay the poll."""
        self._slot = poll_slot(entry.entry_id, interval.total_seconds())
        self._jitter = self._microsecond
        self._last_poll = 0.0
        """How long the last poll took (s)."""

    @callback
    @override
    def _schedule_refresh(self) -> None:
        """Schedule the next poll towards this entry's slot of the interval (``poll_slot``, ``next_poll_delay``).

        Home Assistant schedules the next poll one interval after the last one ended, within the same
        second for entries that started together: 50 BMCs would then poll in the same instant, every
        interval, and the event loop would take all their state writes at once. Slots are on the wall clock,
        so they stay put across restarts. The base class adds ``_microsecond`` to the whole second of
        ``loop.time()`` plus the interval; it is set here so that sum is the delay wanted. A retry delay the
        base class was asked for keeps Home Assistant's own jitter.
        """
        if self._update_interval_seconds is not None and self._retry_after is None:
            delay = next_poll_delay(time(), self._update_interval_seconds, self._slot, self._last_poll)
            now = self.hass.loop.time()
            self._microsecond = now + delay - int(now) - self._update_interval_seconds
        else:
            self._microsecond = self._jitter
        super()._schedule_refresh()

    @override
    async def _async_setup(self) -> None:
        """Connect, check that the host still answers as the configured BMC, and read its SDR."""
        try:
            self.identity = await self.hass.async_add_executor_job(self.client.connect)
            # Entries added before placeholder GUIDs were recognised carry the placeholder as unique id.
            if self.config_entry.unique_id not in (self.identity.unique_id, self.identity.placeholder_guid):
                async_create_wrong_bmc_issue(self.hass, self.config_entry)
                raise UpdateFailed(translation_domain=DOMAIN, translation_key="wrong_bmc")
            async_delete_wrong_bmc_issue(self.hass, self.config_entry)
            await self._async_read_sensors()
        except IpmiError as err:
            raise _as_ha_error(err) from err

    @override
    async def _async_update_data(self) -> BmcSnapshot:
        """Poll the BMC once, re-reading its sensor list when the hourly SDR check says it changed."""
        started = dt_util.utcnow()
        start = monotonic()
        result = "ok"
        try:
            if start - self._sdr_checked_at >= SDR_CHECK_INTERVAL.total_seconds():
                await self._async_check_sdr()
            snapshot = await self.hass.async_add_executor_job(self.client.poll)
        except IpmiError as err:
            result = type(err).__name__
            if self.client.closed:
                # The entry was unloaded (or Home Assistant stops) while this poll ran: the BMC did not fail and
                # nobody listens any more. The coordinator ends a cancelled poll without logging an error.
                LOGGER.debug("The poll of %s was cut short by the unload: %s", self.name, err)
                raise asyncio.CancelledError from err
            if isinstance(err, IpmiWrongBmcError):
                async_create_wrong_bmc_issue(self.hass, self.config_entry)
            self._run_poll_hooks(None, err)
            raise _as_ha_error(err) from err
        except BaseException as err:
            result = type(err).__name__
            raise
        finally:
            self._last_poll = monotonic() - start
            self.polls.append(PollRecord(start=started.isoformat(), duration=round(self._last_poll, 3), result=result))
        if self.client.closed:
            # Answers that were already in flight when the entry unloaded: nobody listens any more, and no hook
            # (alerts, automatic fan control) may act for an entry that is gone.
            LOGGER.debug("The poll of %s ended after the unload; its readings are not used", self.name)
            raise asyncio.CancelledError
        self._integrate_power(monotonic(), snapshot.power)
        if self.client.sensor_list_version != self._sensor_list_version:
            # Thresholds read again (after a write through the client): show them with this poll.
            self._take_sensors(self.client.sensor_list)
        self._run_poll_hooks(snapshot, None)
        return snapshot

    def _run_poll_hooks(self, snapshot: BmcSnapshot | None, error: IpmiError | None) -> None:
        """Start the poll hooks as tasks of the entry, so a slow hook never delays or fails the poll."""
        for hook in list(self.poll_hooks):
            task = self.config_entry.async_create_task(
                self.hass, self._async_run_hook(hook, snapshot, error), "poll hook"
            )
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)

    async def async_wait_poll_hooks(self) -> None:
        """Wait until the hooks started by the polls so far have finished (e.g. the SEL check of the last poll)."""
        if self._hook_tasks:
            await asyncio.gather(*self._hook_tasks)

    async def _async_run_hook(self, hook: PollHook, snapshot: BmcSnapshot | None, error: IpmiError | None) -> None:
        try:
            await hook(snapshot, error)
        except Exception:  # noqa: BLE001 - a hook's bug must not stop the polls
            LOGGER.exception("A poll hook of %s failed", self.name)

    async def _async_read_sensors(self) -> None:
        """Read the BMC's sensor list (SDR) into ``sensors``, keyed by ``SdrSensor.key``."""
        sensors = await self.hass.async_add_executor_job(self.client.sensors)
        self._take_sensors(sensors)
        self._sdr_checked_at = monotonic()

    def _take_sensors(self, sensors: Iterable[SdrSensor]) -> None:
        """Take the client's sensor list (thresholds included).

        A sensor whose SDR record was redefined (another unit, type or conversion) is a changed entity
        definition: the entry is reloaded so its entities are built anew.
        """
        new = {sensor.key: sensor for sensor in sensors}
        redefined = sorted(
            key
            for key, sdr in new.items()
            if (old := self.sensors.get(key)) is not None and _definition(old) != _definition(sdr)
        )
        self.sensors = new
        self._sensor_list_version = self.client.sensor_list_version
        if redefined:
            LOGGER.info("The BMC redefined sensors %s of %s; reloading its entities", ", ".join(redefined), self.name)
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)

    async def _async_check_sdr(self) -> None:
        """Ask the BMC whether its SDR changed and re-read the sensor list if so."""
        self._sdr_checked_at = monotonic()
        try:
            changed = await self.hass.async_add_executor_job(self.client.check_sdr)
        except IpmiAuthError, IpmiConnectionError:
            raise
        except IpmiError as err:
            # A BMC that cannot answer this check still polls fine; try again in an hour.
            LOGGER.debug("Could not check %s for SDR changes: %s", self.name, err)
            return
        if changed:
            await self._async_read_sensors()

    def _integrate_power(self, now: float, power: PowerReading | None) -> None:
        """Add the energy (kWh) since the last poll by the trapezoid rule; skip gaps over two intervals."""
        if power is None:
            self._last_power = None
            return
        if self._last_power is not None:
            then, watts = self._last_power
            if now - then <= self._max_gap:
                self.energy_kwh += (watts + power.current) / 2 * (now - then) / 3_600_000
        self._last_power = (now, power.current)
