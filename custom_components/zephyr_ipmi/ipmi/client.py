"""Blocking IPMI 2.0 (lanplus) client for one BMC, built on a single reused pyghmi session.

Every public method blocks and must run in an executor thread, never in an event loop. Calls to one
``BmcClient`` are serialised by a lock; distinct clients never wait for each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import (
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiProtocolError,
    IpmiWrongBmcError,
)
from .fru import FruInfo, parse_fru
from .iana import manufacturer_name
from .models import BmcIdentity, BmcSnapshot, PowerReading, SdrSensor, SensorReading
from .sdr import SdrDecodeError, decode_sensor_reading, parse_sensor_records
from .session import LanplusSession

_LOGGER = logging.getLogger(__name__)

# netfn / command pairs (IPMI 2.0 Appendix G).
NETFN_CHASSIS, NETFN_SENSOR, NETFN_APP, NETFN_STORAGE, NETFN_DCMI = 0x00, 0x04, 0x06, 0x0A, 0x2C
CMD_GET_CHASSIS_STATUS = 0x01
CMD_GET_SENSOR_READING = 0x2D
CMD_GET_DEVICE_ID = 0x01
CMD_GET_SYSTEM_GUID = 0x37
CMD_GET_FRU_AREA_INFO, CMD_READ_FRU_DATA = 0x10, 0x11
CMD_GET_SDR_REPO_INFO, CMD_RESERVE_SDR_REPO, CMD_GET_SDR = 0x20, 0x22, 0x23
CMD_DCMI_GET_POWER_READING = 0x02
DCMI_GROUP = 0xDC

# Completion codes (IPMI 2.0 Table 5-2).
CC_RESERVATION_CANCELLED = 0xC5
CC_CANNOT_RETURN_LENGTH = 0xCA
CC_NOT_PRESENT = 0xCB
_CC_TOO_LONG = (0xC7, 0xC8, 0xCA, 0xFF)
#: Codes that mean a command will never work on this BMC: invalid command, invalid command for the LUN,
#: invalid data field, insufficient privilege. Others (busy, not now) are retried next poll.
CC_UNSUPPORTED = frozenset({0xC1, 0xC2, 0xCC, 0xD4})

#: The BMC's IPMB slave address, owner of the sensors it reads itself (IPMI 2.0 §5.5).
BMC_ADDRESS = 0x20
#: Upper bound on SDR records walked, so a BMC whose "next record id" chain loops cannot hang a setup.
MAX_SDR_RECORDS = 2048
#: Bytes asked per Get SDR / Read FRU Data request; many BMCs refuse more than about 32.
READ_CHUNK = 32
SDR_CACHE_VERSION = 1


class BmcClient:
    """One BMC reached over RMCP+ (IPMI 2.0 lanplus), with its SDR cached on disk.

    Connecting to a silent BMC fails after about 5 s (pyghmi's login retries). Raises ``IpmiAuthError``
    for rejected credentials, ``IpmiConnectionError`` (and its ``IpmiSessionLimitError``) when the BMC
    cannot be reached, ``IpmiError`` for anything else.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        sdr_cache_dir: Path | None = None,
    ) -> None:
        """Store the connection parameters; nothing is sent until ``connect``."""
        self.host = host
        self.port = port
        self._session = LanplusSession(host, port, username, password)
        self._sdr_cache_dir = sdr_cache_dir
        self._lock = threading.Lock()
        self._identity: BmcIdentity | None = None
        self._sensors: list[SdrSensor] | None = None
        self._sdr_stamp: list[int] | None = None
        self._dcmi_supported: bool | None = None
        self._confirmed_generation = -1

    @property
    def identity(self) -> BmcIdentity | None:
        """The identity read by the last ``connect``, or None before it."""
        return self._identity

    @property
    def request_count(self) -> int:
        """IPMI requests sent on this client's sessions so far (logins excluded)."""
        return self._session.requests

    @property
    def identity_confirmed(self) -> bool:
        """True while the session is logged in and the BMC's identity was read or checked on this session.

        Writes are refused unless this holds: after a re-login the BMC at the address may be another one.
        """
        return self._session.alive and self._confirmed_generation == self._session.generation

    def connect(self) -> BmcIdentity:
        """Open (or reuse) the session and return the BMC's identity (Get Device ID, GUID, FRU 0)."""
        with self._lock:
            self._ensure_session()
            if self._identity is None:
                self._identity = self._read_identity()
                self._confirmed_generation = self._session.generation
            return self._identity

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one raw request on the confirmed session and return the data after the completion code.

        Serialised with polls per request, not per poll: a request waits at most for one request of a
        poll under way. Logs in (and checks the BMC's identity) first when the session was lost. Raises
        ``IpmiWrongBmcError`` when the identity cannot be confirmed, ``IpmiCompletionCodeError`` for a
        non-zero completion code and ``IpmiConnectionError`` when the BMC does not answer.
        """
        if not self.identity_confirmed:
            self.connect()
            if not self.identity_confirmed:
                raise IpmiWrongBmcError("the BMC's identity is not confirmed on this session")
        return self._session.request(netfn, command, data, lun=lun)

    def sensors(self) -> list[SdrSensor]:
        """Return the readable sensors of the SDR, read once and cached on disk (keyed by SDR timestamps)."""
        with self._lock:
            return list(self._loaded_sensors())

    def check_sdr(self) -> bool:
        """Ask the BMC whether its SDR changed (Get SDR Repository Info); re-read it if so.

        Returns True when the sensor list changed. Costs one request when nothing changed.
        """
        with self._lock:
            self._ensure_session()
            stamp = self._repository_stamp()
            if self._sensors is not None and (stamp is None or stamp == self._sdr_stamp):
                # Without SDR Repository Info there is nothing cheap to compare; keep what was read.
                return False
            before = self._sensors
            self._load_sdr(stamp, use_cache=False)
            return before != self._sensors

    def poll(self) -> BmcSnapshot:
        """Read every sensor once (one Get Sensor Reading each), chassis status and DCMI power.

        Reconnects first when the session was lost. Raises ``IpmiError`` when the BMC cannot be reached;
        a single sensor that fails is reported in ``BmcSnapshot.errors`` and does not fail the poll.
        """
        with self._lock:
            sensors = self._loaded_sensors()
            try:
                readings, errors = self._read_sensors(sensors)
                power_on = self._chassis_power_on()
                power = self._power_reading()
            except IpmiConnectionError:
                self._session.close()
                raise
            return BmcSnapshot(readings=readings, power_on=power_on, power=power, errors=errors)

    def close(self) -> None:
        """Log out and forget the session; a later call reconnects. Does not wait for a poll under way."""
        self._session.close()

    # -- session -------------------------------------------------------------------------------------

    def _ensure_session(self) -> None:
        """Log in when there is no live session (first use, BMC restart, lost session).

        A new login to a BMC whose identity is known checks that the same BMC answers
        (``IpmiWrongBmcError`` otherwise).
        """
        if not self._session.alive:
            self._session.open()
            self._check_same_bmc()
            if self._identity is not None and self._identity.guid is not None:
                self._confirmed_generation = self._session.generation

    def _loaded_sensors(self) -> list[SdrSensor]:
        """Return the SDR sensors, read (or loaded from the disk cache) on first use."""
        self._ensure_session()
        if self._sensors is None:
            if self._identity is None:
                # The SDR cache is keyed by the BMC's identity; read it first.
                self._identity = self._read_identity()
                self._confirmed_generation = self._session.generation
            self._load_sdr(self._repository_stamp())
        return self._sensors or []

    def _request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), lun: int = 0) -> bytes:
        return self._session.request(netfn, command, data, lun=lun)

    def _optional(self, call: Callable[[], bytes]) -> bytes | None:
        """Run ``call``; a completion code means "not supported here" and gives None."""
        try:
            return call()
        except IpmiCompletionCodeError:
            return None

    # -- identity ------------------------------------------------------------------------------------

    def _read_identity(self) -> BmcIdentity:
        """Get Device ID (IPMI 2.0 §20.1), Get System GUID (§22.14) and FRU 0 product/board info."""
        data = self._request(NETFN_APP, CMD_GET_DEVICE_ID)
        if len(data) < 11:
            raise IpmiProtocolError(f"Get Device ID answered {len(data)} bytes, 11 expected")
        manufacturer_id = data[6] | (data[7] << 8) | ((data[8] & 0x0F) << 16)
        guid = self._read_guid()
        fru = self._read_fru()
        return BmcIdentity(
            manufacturer_id=manufacturer_id,
            manufacturer=manufacturer_name(manufacturer_id),
            product_id=data[9] | (data[10] << 8),
            device_id=data[0],
            device_revision=data[1] & 0x0F,
            firmware=f"{data[2] & 0x7F}.{data[3]:02X}",
            ipmi_version=f"{data[4] & 0x0F}.{data[4] >> 4}",
            guid=guid,
            model=fru.product_name or fru.board_product,
            serial=fru.product_serial or fru.board_serial,
        )

    def _read_guid(self) -> str | None:
        """Get System GUID (IPMI 2.0 §22.14), or None when the BMC has none.

        Only "not supported" completion codes mean no GUID: a busy BMC (0xC0) raises, so a transient
        answer never gives a BMC a different identity (and unique id) than it has.
        """
        try:
            data = self._request(NETFN_APP, CMD_GET_SYSTEM_GUID)
        except IpmiCompletionCodeError as err:
            if err.code in CC_UNSUPPORTED:
                return None
            raise
        if len(data) < 16 or data[:16] in (bytes(16), b"\xff" * 16):
            return None
        return str(uuid.UUID(bytes_le=bytes(data[:16])))

    def _check_same_bmc(self) -> None:
        """After a new login, make sure the same BMC answers (a DHCP lease may have moved); one request."""
        if self._identity is None or self._identity.guid is None:
            return
        if self._read_guid() != self._identity.guid:
            self._session.close()
            raise IpmiWrongBmcError("a different BMC answers at this address")

    def _read_fru(self) -> FruInfo:
        """Read the common header and the board and product areas of FRU 0; failures give no info."""
        try:
            info = self._request(NETFN_STORAGE, CMD_GET_FRU_AREA_INFO, (0,))
            size = info[0] | (info[1] << 8)
            header = self._read_fru_bytes(0, 8, size)
            if len(header) < 8:
                return FruInfo()
            image = bytearray(size)
            image[:8] = header
            for offset_byte in (header[3], header[4]):
                start = offset_byte * 8
                if not start or start + 2 > size:
                    continue
                head = self._read_fru_bytes(start, 2, size)
                length = min(head[1] * 8 if len(head) > 1 else 0, size - start)
                image[start : start + length] = self._read_fru_bytes(start, length, size)
            return parse_fru(bytes(image))
        except IpmiConnectionError:
            raise
        except (IpmiError, IndexError) as err:
            _LOGGER.debug("FRU 0 of %s unreadable: %s", self.host, err)
            return FruInfo()

    def _read_fru_bytes(self, offset: int, count: int, size: int) -> bytes:
        """Read ``count`` bytes of FRU 0 from ``offset`` in chunks (Read FRU Data, IPMI 2.0 §34.2)."""
        out = bytearray()
        chunk = READ_CHUNK
        end = min(offset + count, size)
        while offset < end:
            want = min(chunk, end - offset)
            try:
                data = self._request(NETFN_STORAGE, CMD_READ_FRU_DATA, (0, offset & 0xFF, offset >> 8, want))
            except IpmiCompletionCodeError as err:
                if err.code in _CC_TOO_LONG and chunk > 8:
                    chunk //= 2
                    continue
                raise
            got = data[1 : 1 + data[0]] if data else b""
            if not got:
                break
            out += got
            offset += len(got)
        return bytes(out)

    # -- SDR -----------------------------------------------------------------------------------------

    def _repository_stamp(self) -> list[int] | None:
        """Get SDR Repository Info (IPMI 2.0 §33.9): [record count, addition time, erase time], or None."""
        data = self._optional(lambda: self._request(NETFN_STORAGE, CMD_GET_SDR_REPO_INFO))
        if data is None or len(data) < 13:
            return None
        count, _free, added, erased = struct.unpack_from("<HHII", data, 1)
        return [count, added, erased]

    def _cache_path(self) -> Path | None:
        if self._sdr_cache_dir is None:
            return None
        ident = self._identity.unique_id if self._identity else f"{self.host}:{self.port}"
        digest = hashlib.sha256(ident.encode()).hexdigest()[:20]
        return self._sdr_cache_dir / f"sdr-{digest}.json"

    def _load_sdr(self, stamp: list[int] | None, *, use_cache: bool = True) -> None:
        """Set ``self._sensors`` from the disk cache when its stamp matches, else from the BMC."""
        path = self._cache_path()
        records: list[bytes] | None = None
        if use_cache and path is not None and stamp is not None:
            records = _read_cache(path, stamp)
        if records is None:
            records = self._read_sdr_records()
            if path is not None and stamp is not None:
                _write_cache(path, stamp, records)
        self._sdr_stamp = stamp
        self._sensors = sensors_from_records(records)

    def _read_sdr_records(self) -> list[bytes]:
        """Walk the SDR repository (Reserve SDR Repository, Get SDR; IPMI 2.0 §33.10-33.12)."""
        records: list[bytes] = []
        seen: set[int] = set()
        record_id = 0x0000
        reservation = self._reserve_sdr()
        while record_id != 0xFFFF and len(records) < MAX_SDR_RECORDS and record_id not in seen:
            seen.add(record_id)
            for _attempt in range(3):
                try:
                    next_id, record = self._read_sdr_record(reservation, record_id)
                    break
                except IpmiCompletionCodeError as err:
                    if err.code != CC_RESERVATION_CANCELLED:
                        raise
                    reservation = self._reserve_sdr()
            else:
                raise IpmiProtocolError("SDR reservation cancelled repeatedly")
            records.append(record)
            record_id = next_id
        return records

    def _reserve_sdr(self) -> tuple[int, int]:
        data = self._optional(lambda: self._request(NETFN_STORAGE, CMD_RESERVE_SDR_REPO))
        # A BMC without reservations answers 0xC1; reservation 0 is then accepted for full reads.
        return (data[0], data[1]) if data and len(data) >= 2 else (0, 0)

    def _read_sdr_record(self, reservation: tuple[int, int], record_id: int) -> tuple[int, bytes]:
        """Read one record: its 5-byte header, then the body in chunks. Returns (next record id, bytes)."""
        chunk = READ_CHUNK
        record = bytearray()
        length = 5
        next_id = 0xFFFF
        while len(record) < length:
            offset = len(record)
            want = min(chunk, length - offset)
            req = (*reservation, record_id & 0xFF, record_id >> 8, offset, want)
            try:
                data = self._request(NETFN_STORAGE, CMD_GET_SDR, req)
            except IpmiCompletionCodeError as err:
                if err.code in _CC_TOO_LONG and chunk > 8:
                    chunk //= 2
                    continue
                raise
            if len(data) < 3:
                raise IpmiProtocolError(f"Get SDR answered {len(data)} bytes")
            next_id = data[0] | (data[1] << 8)
            record += data[2 : 2 + want]
            if offset == 0:
                if len(record) < 5:
                    raise IpmiProtocolError("SDR record header truncated")
                length = 5 + record[4]
        return next_id, bytes(record[:length])

    # -- polling -------------------------------------------------------------------------------------

    def _read_sensors(self, sensors: list[SdrSensor]) -> tuple[dict[str, SensorReading], dict[str, str]]:
        """One Get Sensor Reading (IPMI 2.0 §35.14) per sensor; a failing sensor costs only itself."""
        readings: dict[str, SensorReading] = {}
        errors: dict[str, str] = {}
        for sensor in sensors:
            try:
                data = self._request(NETFN_SENSOR, CMD_GET_SENSOR_READING, (sensor.number,), lun=sensor.lun)
                readings[sensor.key] = decode_sensor_reading(sensor, data)
            except IpmiCompletionCodeError as err:
                if err.code == CC_NOT_PRESENT:
                    readings[sensor.key] = SensorReading(value=None, status=None, available=False)
                else:
                    errors[sensor.key] = f"completion code 0x{err.code:02X}"
            except SdrDecodeError as err:
                errors[sensor.key] = str(err)
        return readings, errors

    def _chassis_power_on(self) -> bool | None:
        """Get Chassis Status (IPMI 2.0 §28.2): bit 0 of the current power state byte."""
        data = self._optional(lambda: self._request(NETFN_CHASSIS, CMD_GET_CHASSIS_STATUS))
        return bool(data[0] & 0x01) if data else None

    def _power_reading(self) -> PowerReading | None:
        """DCMI Get Power Reading, system power statistics (DCMI 1.5 §6.6.1); remembered when unsupported."""
        if self._dcmi_supported is False:
            return None
        try:
            data = self._request(NETFN_DCMI, CMD_DCMI_GET_POWER_READING, (DCMI_GROUP, 0x01, 0x00, 0x00))
        except IpmiCompletionCodeError as err:
            if err.code in CC_UNSUPPORTED:
                self._dcmi_supported = False
            return None
        if len(data) < 9 or data[0] != DCMI_GROUP:
            self._dcmi_supported = False
            return None
        self._dcmi_supported = True
        current, minimum, maximum, average = struct.unpack_from("<HHHH", data, 1)
        return PowerReading(
            current=float(current), minimum=float(minimum), maximum=float(maximum), average=float(average)
        )


def sensors_from_records(records: list[bytes]) -> list[SdrSensor]:
    """Decode SDR records into the BMC's own sensors; an undecodable record is skipped with one warning.

    Sensors owned by another controller (e.g. the management engine at 0x2C) are left out: reading them
    needs a bridged request, and a plain Get Sensor Reading would read the BMC's sensor of that number.
    """
    sensors: list[SdrSensor] = []
    keys: set[str] = set()
    for record in records:
        try:
            parsed = parse_sensor_records(record)
        except (SdrDecodeError, IndexError) as err:
            _LOGGER.warning("Skipping an SDR record that cannot be decoded: %s", err)
            continue
        for sensor in parsed:
            if sensor.owner != BMC_ADDRESS:
                _LOGGER.debug("Leaving out sensor %r owned by controller 0x%02X", sensor.name, sensor.owner)
                continue
            if sensor.key in keys:
                _LOGGER.warning(
                    "Skipping SDR record 0x%04X: sensor %s is described twice", sensor.record_id, sensor.key
                )
                continue
            keys.add(sensor.key)
            sensors.append(sensor)
    return sensors


def _read_cache(path: Path, stamp: list[int]) -> list[bytes] | None:
    """Return the cached SDR records when the cache exists and matches ``stamp``, else None."""
    try:
        content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if content.get("version") != SDR_CACHE_VERSION or content.get("stamp") != stamp:
            return None
        return [bytes.fromhex(record) for record in content["records"]]
    except OSError, ValueError, KeyError, TypeError:
        return None


def _write_cache(path: Path, stamp: list[int], records: list[bytes]) -> None:
    """Write the SDR cache atomically; a failure only costs the next start a re-read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": SDR_CACHE_VERSION, "stamp": stamp, "records": [r.hex() for r in records]}),
            encoding="utf-8",
        )
        os.replace(tmp, path)
    except OSError as err:
        _LOGGER.warning("Cannot write the SDR cache %s: %s", path, err)
