"""Coordinator of Zephyr IPMI: polls one BMC through its blocking ``BmcClient`` in the executor."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from time import monotonic
from typing import TYPE_CHECKING, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
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
    from .fan_control import ZephyrControlCoordinator
    from .health import HealthMonitor


@dataclass(kw_only=True)
class ZephyrRuntimeData:
    """What a loaded config entry holds: the BMC's client, its poll and control coordinators, its health alerts."""

    client: BmcClient
    coordinator: ZephyrCoordinator
    control: ZephyrControlCoordinator
    health: HealthMonitor | None = None


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
            self.polls.append(
                PollRecord(start=started.isoformat(), duration=round(monotonic() - start, 3), result=result)
            )
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
