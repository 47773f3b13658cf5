"""Blocking IPMI 2.0 (lanplus) client for one BMC: the face the rest of Zephyr IPMI talks to.

It composes the parts of the core: the session and identity check (``connection``), the record walker
(``records``), the SDR and its disk cache (``sdr_cache``) and the readers of a poll (``poller``).
Every public method blocks and must run in an executor thread, never in an event loop. Polls, SDR reads
and threshold reads of one client are serialised by a lock; ``request`` and ``read`` are serialised with
them per request only, so a write never waits behind a whole poll. Distinct clients never wait for each
other.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from .connection import BmcConnection
from .errors import IpmiClientClosedError, IpmiConnectionError, IpmiError
from .identity import read_controller_name
from .models import BmcIdentity, BmcSnapshot, SdrSensor, SensorReading
from .poller import UNAVAILABLE, DcmiPower, read_all_thresholds, read_chassis_power, read_sensors
from .protocol import CMD_SET_SENSOR_THRESHOLDS, NETFN_SENSOR
from .records import SDR_REPOSITORY, RecordWalker
from .sdr_cache import SDR_CACHE_VERSION, SdrCache, cache_path, repository_stamp, sensors_from_records
from .session import MIN_KEEPALIVE_IDLE, drain_received_queue

_LOGGER = logging.getLogger(__name__)

__all__ = ["SDR_CACHE_VERSION", "BmcClient", "sensors_from_records"]


class BmcClient:
    """One BMC reached over RMCP+ (IPMI 2.0 lanplus), with its SDR cached on disk.

    Connecting to a silent BMC fails after about 5 s (pyghmi's login retries). Raises ``IpmiAuthError``
    for rejected credentials, ``IpmiConnectionError`` (and its ``IpmiSessionLimitError``) when the BMC
    cannot be reached, ``IpmiWrongBmcError`` when another BMC answers than the one first seen,
    ``IpmiError`` for anything else.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        sdr_cache_dir: Path | None = None,
        sdr_cache_key: str | None = None,
    ) -> None:
        """Store the connection parameters; nothing is sent until ``connect``.

        The SDR is cached in ``sdr_cache_dir`` (no cache when None) under ``sdr_cache_key``, by default
        the BMC's unique id.
        """
        self.host = host
        self.port = port
        self._connection = BmcConnection(host, port, username, password)
        self._sdr_cache_dir = sdr_cache_dir
        self._sdr_cache_key = sdr_cache_key
        self._lock = threading.Lock()
        self._sensors_lock = threading.Lock()
        """Guards swapping ``_sensors``/``_by_key`` (never held while waiting for the BMC)."""
        self._sensors: tuple[SdrSensor, ...] | None = None
        self._by_key: dict[str, SdrSensor] = {}
        self._sdr_stamp: list[int] | None = None
        self._dcmi = DcmiPower()
        self.sensor_list_version = 0
        """Grows each time the sensor list or a sensor's thresholds change (SDR re-read, threshold refresh)."""

    @property
    def identity(self) -> BmcIdentity | None:
        """The identity read by the first ``connect``, or None before it."""
        return self._connection.identity

    @property
    def closed(self) -> bool:
        """True once ``close`` was called (the entry was unloaded or Home Assistant stops)."""
        return self._connection.closed

    @property
    def privilege(self) -> int | None:
        """The privilege level of the session (2 User, 3 Operator, 4 Administrator), or None without a session.

        Fan, power and threshold writes need more than User (IPMI 2.0 Table 6-4; vendors' OEM fan commands
        want Administrator on most boards).
        """
        return self._connection.session.privilege

    @property
    def request_count(self) -> int:
        """IPMI requests sent on this client's sessions so far (logins and keepalives excluded)."""
        return self._connection.session.requests

    @property
    def identity_confirmed(self) -> bool:
        """True while the session is logged in and the BMC's identity was read or checked on this session.

        Writes are refused unless this holds: after a re-login the BMC at the address may be another one.
        """
        return self._connection.confirmed

    def connect(self) -> BmcIdentity:
        """Open (or reuse) the session and return the BMC's identity (Get Device ID, GUID, FRU 0)."""
        return self._connection.ensure()

    def controller_name(self) -> str | None:
        """Return the BMC's own name from the SDR's Management Controller Device Locator record, or None.

        Walks at most the first 32 SDR records (one request each), so it is meant for naming a BMC whose
        FRU names no model (the config flow's title), not for every setup. None when the name is generic
        ("BMC") or absent.
        """
        self._connection.ensure()
        return read_controller_name(self._connection)

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one raw request on the confirmed session and return the data after the completion code.

        Serialised with polls per request, not per poll: a request waits at most for one request of a
        poll under way. Logs in (and checks the BMC's identity) first when the session was lost. Raises
        ``IpmiWrongBmcError`` when another BMC answers, ``IpmiCompletionCodeError`` for a non-zero
        completion code and ``IpmiConnectionError`` when the BMC does not answer.
        """
        self._connection.ensure()
        answer = self._connection.request(netfn, command, data, lun=lun)
        if (netfn, command) == (NETFN_SENSOR, CMD_SET_SENSOR_THRESHOLDS) and data:
            self._after_threshold_write(bytes(data)[0], lun)
        return answer

    @property
    def sensor_list(self) -> tuple[SdrSensor, ...]:
        """The sensors as last read, with their current thresholds; empty before the SDR was read.

        Never blocks and sends nothing (safe in an event loop); see ``sensor_list_version``.
        """
        return self._sensors or ()

    def sensors(self) -> list[SdrSensor]:
        """Return the readable sensors of the SDR, read once and cached on disk (keyed by SDR timestamps).

        Thresholds are the sensors' own (Get Sensor Thresholds), read with the SDR and after each write.
        """
        with self._lock:
            return list(self._loaded_sensors())

    def refresh_thresholds(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        """Read the thresholds of the sensors ``keys`` name (every threshold sensor when None) from the BMC.

        Get Sensor Thresholds (IPMI 2.0 §35.9), one request per sensor, in the sensor's unit (°C, rpm, V …).
        The SDR holds the thresholds a sensor started with; Set Sensor Thresholds (by Zephyr through
        ``request``, which refreshes that sensor by itself, or by another tool) changes only the sensor's.
        A sensor that answers a completion code keeps the thresholds it had. Returns the thresholds read,
        by key; raises ``IpmiError`` when the BMC cannot be reached.
        """
        self._connection.ensure()
        with self._lock:
            self._loaded_sensors()
        wanted = self._by_key if keys is None else {key: self._by_key[key] for key in keys if key in self._by_key}
        return self._refresh_thresholds(list(wanted.values()))

    def check_sdr(self) -> bool:
        """Ask the BMC whether its SDR changed (Get SDR Repository Info); re-read it if so.

        Returns True when the sensor list changed. Costs one request when nothing changed.
        """
        with self._lock:
            self._connection.ensure()
            stamp = repository_stamp(self._connection)
            if self._sensors is not None and (stamp is None or stamp == self._sdr_stamp):
                # Without SDR Repository Info there is nothing cheap to compare; keep what was read.
                return False
            before = self._sensors
            self._load_sdr(stamp, use_cache=False)
            return before != self._sensors

    # -- thresholds ----------------------------------------------------------------------------------

    def _refresh_thresholds(self, sensors: list[SdrSensor]) -> dict[str, dict[str, float]]:
        """Read the thresholds of ``sensors`` and store those that changed; no poll lock is needed."""
        read = read_all_thresholds(self._connection, sensors)
        with self._sensors_lock:
            current = self._sensors or ()
            changed = [s for s in current if s.key in read and s.thresholds != read[s.key]]
            if changed:
                self._set_sensors(tuple(replace(s, thresholds=read[s.key]) if s.key in read else s for s in current))
        return read

    def _after_threshold_write(self, number: int, lun: int) -> None:
        """Refresh the thresholds of sensor ``number`` after Set Sensor Thresholds; a failure only waits."""
        sensors = [s for s in self.sensor_list if s.number == number and s.lun == lun]
        try:
            self._refresh_thresholds(sensors)
        except IpmiError as err:
            _LOGGER.debug("Thresholds of sensor %d not read after the write: %s", number, err)

    def _set_sensors(self, sensors: tuple[SdrSensor, ...]) -> None:
        """Publish a new sensor list (the caller holds ``_sensors_lock``)."""
        self._sensors = sensors
        self._by_key = {sensor.key: sensor for sensor in sensors}
        self.sensor_list_version += 1

    def poll(self) -> BmcSnapshot:
        """Read every sensor once (one Get Sensor Reading each), chassis status and DCMI power.

        Reconnects first when the session was lost; logs in again once within the poll when its first request
        finds the session expired at the BMC (see ``_expiry_tolerant``). Raises ``IpmiError`` when the BMC
        cannot be reached; a single sensor that fails is reported in ``BmcSnapshot.errors`` and does not fail
        the poll.
        """
        with self._lock:
            try:
                sensors = self._loaded_sensors()
                return self._expiry_tolerant(lambda: self._poll_once(sensors))
            finally:
                drain_received_queue()

    def _poll_once(self, sensors: tuple[SdrSensor, ...]) -> BmcSnapshot:
        readings, errors = read_sensors(self._connection, sensors)
        power_on = read_chassis_power(self._connection)
        power = self._dcmi.read(self._connection)
        return BmcSnapshot(readings=readings, power_on=power_on, power=power, errors=errors)

    def _expiry_tolerant[T](self, read: Callable[[], T]) -> T:
        """Run ``read``; when its first request after an idle time goes unanswered, log in again and retry once.

        The login checks the BMC's identity. A BMC forgets a session idle for longer than its session inactivity
        timeout (commonly 60 s, on some BMCs 10-30 s) and then ignores requests on it. The session is told
        (``LanplusSession.suspect_expired``), so that the keepalive comes sooner once the login shows that the BMC
        still answers. A lost connection drops the session (logged out best effort) and raises
        ``IpmiConnectionError``.
        """
        session = self._connection.session
        idle, answered = session.idle, session.answers
        generation = self._connection.confirmed_generation
        try:
            return read()
        except IpmiConnectionError as err:
            self._connection.drop(generation)
            # An answer since the idle time shows the BMC still knew the session: then this is a real failure.
            if isinstance(err, IpmiClientClosedError) or session.answers > answered or idle < MIN_KEEPALIVE_IDLE:
                raise
        session.suspect_expired(idle)
        self._connection.ensure()
        generation = self._connection.confirmed_generation
        try:
            return read()
        except IpmiConnectionError:
            self._connection.drop(generation)
            raise

    def read(self, keys: Iterable[str]) -> dict[str, SensorReading]:
        """Read only the sensors ``keys`` name (``SdrSensor.key``), e.g. for a control loop.

        Goes before a poll under way (between two of its requests), like ``request``. Keys the SDR does not
        list are left out of the result; a sensor the BMC could not read (any completion code, an undecodable
        answer) reads unavailable (``available`` False, ``value`` None). Raises ``IpmiError`` when the BMC cannot be
        reached or another BMC answers.
        """
        self._connection.ensure()
        if self._sensors is None:
            with self._lock:
                self._loaded_sensors()
        wanted = [self._by_key[key] for key in dict.fromkeys(keys) if key in self._by_key]
        readings, _errors = self._expiry_tolerant(lambda: read_sensors(self._connection, wanted, urgent=True))
        return {sensor.key: readings.get(sensor.key, UNAVAILABLE) for sensor in wanted}

    def drop_session(self) -> None:
        """Forget the session (logged out best effort) as if it had been lost; the client stays usable.

        The next call logs in again and checks that the same BMC answers.
        """
        self._connection.drop()

    def close(self) -> None:
        """Log out and forget the session, for good: every later call raises ``IpmiClientClosedError``.

        Does not wait for a poll under way; a login under way is logged out as soon as it completes, so a
        closed client never keeps a session with the BMC.
        """
        self._connection.close()

    # -- SDR -----------------------------------------------------------------------------------------

    def _loaded_sensors(self) -> tuple[SdrSensor, ...]:
        """Return the SDR sensors, read (or loaded from the disk cache) on first use; the caller holds ``_lock``."""
        self._connection.ensure()
        if self._sensors is None:
            self._load_sdr(repository_stamp(self._connection))
        return self._sensors or ()

    def _cache(self) -> SdrCache | None:
        if self._sdr_cache_dir is None:
            return None
        identity = self._connection.identity
        key = self._sdr_cache_key or (identity.unique_id if identity else f"{self.host}:{self.port}")
        return SdrCache(cache_path(self._sdr_cache_dir, key))

    def _load_sdr(self, stamp: list[int] | None, *, use_cache: bool = True) -> None:
        """Set the sensors from the disk cache when its stamp matches, else from the BMC."""
        cache = self._cache()
        records: list[bytes] | None = None
        if use_cache and cache is not None and stamp is not None:
            records = cache.load(stamp)
        if records is None:
            records = RecordWalker(self._connection, SDR_REPOSITORY).records()
            if cache is not None and stamp is not None:
                cache.save(stamp, records)
        self._sdr_stamp = stamp
        sensors = sensors_from_records(records)
        with self._sensors_lock:
            if tuple(sensors) != self._sensors:
                self._set_sensors(tuple(sensors))
        # The SDR holds the thresholds the sensors started with; the sensors' own may have been changed.
        self._refresh_thresholds(sensors)
