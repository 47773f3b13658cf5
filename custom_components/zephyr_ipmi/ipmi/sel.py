"""The BMC's System Event Log (SEL): cheap change detection, incremental reads and record decoding.

Protocol: IPMI 2.0 §31 (SEL device commands: Get SEL Info 0Ah/40h §31.2, Reserve SEL 0Ah/42h §31.4, Get SEL
Entry 0Ah/43h §31.5, Clear SEL 0Ah/47h §31.9, Get SEL Time 0Ah/48h §31.10), §32 (SEL record formats) and §29.7
(event data fields). Records are read through the core's shared ``records.RecordWalker`` (whole records at
offset 0 first, pieces under a renewed reservation for BMCs that cannot send them whole). Blocking; requests
go through a ``records.Requester`` such as ``BmcClient``, which raises ``IpmiCompletionCodeError`` for a
non-zero completion code.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import IpmiCompletionCodeError, IpmiProtocolError
from .gate import WriteGate
from .models import SdrSensor
from .protocol import CC_NOT_PRESENT, CC_RESERVATION_CANCELLED, CMD_GET_SEL_INFO, CMD_RESERVE_SEL, NETFN_STORAGE
from .records import FIRST_RECORD, LAST_RECORD, SEL, RecordWalker, Requester
from .sensor_types import EventDataUse, EventState, Severity, event_details, event_state, parse_event_data, sensor_type
from .vendors.base import WriteKind, WriteRequest

CMD_CLEAR_SEL, CMD_GET_SEL_TIME = 0x47, 0x48
"""Clear SEL (§31.9) and Get SEL Time (§31.10)."""

RECORD_SIZE = 16
"""Every SEL record is 16 bytes (IPMI 2.0 §32)."""
NEARLY_FULL = 0.9
"""Fraction of the SEL's capacity in use from which it counts as nearly full."""
MAX_RECORDS_PER_READ = 512
"""Most records one ``read_new`` walks; the rest is read by the next call, so one poll stays bounded."""

RECORD_TYPE_SYSTEM_EVENT = 0x02
OEM_TIMESTAMPED, OEM_NON_TIMESTAMPED = 0xC0, 0xE0
"""First record types of the OEM timestamped (C0h-DFh) and non-timestamped (E0h-FFh) ranges (§32.2, §32.3)."""
EVENT_TYPE_THRESHOLD = 0x01
EVENT_TYPE_SENSOR_SPECIFIC = 0x6F

#: Timestamps up to this value count from the SEL device's initialisation, not from 1970 (IPMI 2.0 §37).
_PRE_INIT_MAX = 0x20000000
_UNSPECIFIED_TIME = 0xFFFFFFFF


def sel_time(raw: int | None) -> datetime | None:
    """Return a SEL timestamp (s since 1970, UTC) as a datetime; None when unspecified or pre-init (§37)."""
    if raw is None or raw == _UNSPECIFIED_TIME or raw <= _PRE_INIT_MAX:
        return None
    return datetime.fromtimestamp(raw, UTC)


def _stamp(raw: int) -> int | None:
    """Return a Get SEL Info timestamp, None for FFFFFFFFh ("never", or not supported)."""
    return None if raw == _UNSPECIFIED_TIME else raw


@dataclass(frozen=True, kw_only=True, slots=True)
class SelInfo:
    """Get SEL Info answer (IPMI 2.0 §31.2).

    ``entries`` is the number of records, ``free_bytes`` the free space (65535 means "65535 bytes or more"),
    ``last_add``/``last_erase`` the most recent addition/erase times (s since 1970, None when never or not
    kept), ``overflow`` that events were dropped because the SEL was full.
    """

    version: int
    entries: int
    free_bytes: int
    last_add: int | None
    last_erase: int | None
    overflow: bool
    supports_reserve: bool
    supports_delete: bool

    @classmethod
    def decode(cls, data: bytes) -> SelInfo:
        """Decode the answer data (after the completion code); raises ``IpmiProtocolError`` when too short."""
        if len(data) < 14:
            raise IpmiProtocolError(f"Get SEL Info answered {len(data)} bytes, 14 expected")
        version, entries, free, added, erased, support = struct.unpack_from("<BHHIIB", data)
        return cls(
            version=version,
            entries=entries,
            free_bytes=free,
            last_add=_stamp(added),
            last_erase=_stamp(erased),
            overflow=bool(support & 0x80),
            supports_reserve=bool(support & 0x02),
            supports_delete=bool(support & 0x08),
        )

    @property
    def capacity(self) -> int | None:
        """Records the SEL can hold, or None when the free space is too large to tell (FFFFh)."""
        if self.free_bytes >= 0xFFFF:
            return None
        return self.entries + self.free_bytes // RECORD_SIZE

    @property
    def used_fraction(self) -> float:
        """Fraction of the capacity in use, 0.0-1.0 (1.0 after an overflow, 0.0 when the capacity is unknown)."""
        if self.overflow:
            return 1.0
        capacity = self.capacity
        if not capacity:
            return 1.0 if capacity == 0 else 0.0
        return min(1.0, self.entries / capacity)

    @property
    def nearly_full(self) -> bool:
        """True once ``NEARLY_FULL`` of the capacity is used, or events were dropped."""
        return self.used_fraction >= NEARLY_FULL

    @property
    def full(self) -> bool:
        """True when no further record fits, or events were dropped."""
        return self.overflow or self.free_bytes < RECORD_SIZE


@dataclass(frozen=True, kw_only=True, slots=True)
class SelRecord:
    """One 16-byte SEL record (IPMI 2.0 §32).

    For system event records (``record_type`` 02h, §32.1) the event fields are set: ``generator`` (generator
    id, 16 bits as stored: byte 1 slave address or software id, byte 2 channel and LUN), ``sensor_type``,
    ``sensor_number``, ``event_type`` (event/reading type code), ``deassertion`` and ``event_data`` (3
    bytes). OEM records (C0h-FFh) keep only ``raw``. ``timestamp`` is s since 1970 (None for
    non-timestamped OEM records).
    """

    record_id: int
    record_type: int
    timestamp: int | None
    raw: bytes
    generator: int | None = None
    evm_revision: int | None = None
    sensor_type: int | None = None
    sensor_number: int | None = None
    event_type: int | None = None
    deassertion: bool = False
    event_data: bytes = b""

    @classmethod
    def decode(cls, raw: bytes) -> SelRecord:
        """Decode 16 record bytes; raises ``IpmiProtocolError`` when fewer are given."""
        if len(raw) < RECORD_SIZE:
            raise IpmiProtocolError(f"SEL record of {len(raw)} bytes, 16 expected")
        raw = bytes(raw[:RECORD_SIZE])
        record_id, record_type = struct.unpack_from("<HB", raw)
        if record_type >= OEM_NON_TIMESTAMPED:
            return cls(record_id=record_id, record_type=record_type, timestamp=None, raw=raw)
        timestamp = struct.unpack_from("<I", raw, 3)[0]
        if record_type >= OEM_TIMESTAMPED:
            return cls(record_id=record_id, record_type=record_type, timestamp=timestamp, raw=raw)
        generator, evm, sensor_type, number, dir_type = struct.unpack_from("<HBBBB", raw, 7)
        return cls(
            record_id=record_id,
            record_type=record_type,
            timestamp=timestamp,
            raw=raw,
            generator=generator,
            evm_revision=evm,
            sensor_type=sensor_type,
            sensor_number=number,
            event_type=dir_type & 0x7F,
            deassertion=bool(dir_type & 0x80),
            event_data=raw[13:16],
        )

    @property
    def is_system_event(self) -> bool:
        """True for a system event record (type 02h), the only type decoded into sensor events."""
        return self.sensor_type is not None

    @property
    def time(self) -> datetime | None:
        """When the record was logged (UTC), or None when the BMC's clock was not set or it has no time."""
        return sel_time(self.timestamp)

    @property
    def offset(self) -> int | None:
        """Event offset (event data 1 bits 3:0): the state of Table 42-2/42-3 the event is about."""
        return self.event_data[0] & 0x0F if self.event_data else None

    @property
    def data2(self) -> int | None:
        """Event data 2 when event data 1 says it holds something (bits 7:6 not 00b), else None (§29.7)."""
        if not self.event_data or not self.event_data[0] & 0xC0:
            return None
        return self.event_data[1]

    @property
    def data3(self) -> int | None:
        """Event data 3 when event data 1 says it holds something (bits 5:4 not 00b), else None (§29.7)."""
        if not self.event_data or not self.event_data[0] & 0x30:
            return None
        return self.event_data[2]

    @property
    def generator_is_software(self) -> bool:
        """True when system software (BIOS, OS) logged the event: generator byte 1 bit 0 set (§32.1)."""
        return self.generator is not None and bool(self.generator & 0x01)

    @property
    def sensor_key(self) -> str | None:
        """The ``SdrSensor.key`` of the sensor that logged the event, for events logged by an IPMB controller.

        ``"{slave address:02x}_{lun}_{sensor number}"``; None for software-generated events and OEM records.
        """
        if self.generator is None or self.sensor_number is None or self.generator_is_software:
            return None
        return f"{self.generator & 0xFE:02x}_{(self.generator >> 8) & 0x03}_{self.sensor_number}"


@dataclass(frozen=True, kw_only=True, slots=True)
class SelPosition:
    """How far the SEL was read: the last record seen and the Get SEL Info stamps at that time.

    Persisted across restarts (``as_dict``/``from_dict``) so records are announced once. ``complete`` is
    False when the last read stopped early (``MAX_RECORDS_PER_READ``) and more records wait.
    """

    last_record_id: int | None
    last_timestamp: int | None
    entries: int
    last_add: int | None
    last_erase: int | None
    complete: bool = True

    def unchanged(self, info: SelInfo) -> bool:
        """Tell whether ``info`` shows no addition, erase or count change since this position was taken."""
        return (
            self.complete
            and info.entries == self.entries
            and info.last_add == self.last_add
            and info.last_erase == self.last_erase
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {
            "last_record_id": self.last_record_id,
            "last_timestamp": self.last_timestamp,
            "entries": self.entries,
            "last_add": self.last_add,
            "last_erase": self.last_erase,
            "complete": self.complete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelPosition:
        """Read ``as_dict()`` output; raises ``KeyError``/``TypeError``/``ValueError`` on bad data."""

        def _int(key: str) -> int | None:
            value = data[key]
            return None if value is None else int(value)

        return cls(
            last_record_id=_int("last_record_id"),
            last_timestamp=_int("last_timestamp"),
            entries=int(data["entries"]),
            last_add=_int("last_add"),
            last_erase=_int("last_erase"),
            complete=bool(data.get("complete", True)),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SelReadResult:
    """What ``SelReader.read_new`` found.

    ``records`` are the records added since the given position, oldest first. ``baseline`` is True when there
    was no position: the current end was taken as the start and nothing old is returned. ``cleared`` is True
    when the SEL was erased since; ``lost`` when the last record read before disappeared without an erase
    (a circular SEL overwrote it, or records were deleted): newer records are then found by timestamp.
    ``bmc_time`` is the BMC's SEL clock (s since 1970, Get SEL Time) read with new records, to place their
    timestamps in real time; None when there were none or the BMC has no SEL clock.
    """

    info: SelInfo
    records: list[SelRecord]
    position: SelPosition
    baseline: bool = False
    cleared: bool = False
    lost: bool = False
    bmc_time: int | None = None


class SelReader:
    """Reads a BMC's SEL through ``requester``, one Get SEL Info when nothing changed.

    Records come from the shared ``RecordWalker`` (whole reads, pieces under a reservation when a BMC needs
    them). Raises ``IpmiCompletionCodeError``, ``IpmiProtocolError`` and ``IpmiConnectionError`` from the
    requests. Not thread-safe: one reader per BMC, used by one caller at a time.
    """

    def __init__(self, requester: Requester, *, max_records: int = MAX_RECORDS_PER_READ) -> None:
        """Read through ``requester``; at most ``max_records`` records per ``read_new``."""
        self._requester = requester
        self._max_records = max_records
        self._walker = RecordWalker(requester, SEL, max_records=max_records)

    def info(self) -> SelInfo:
        """Get SEL Info (IPMI 2.0 §31.2)."""
        return SelInfo.decode(self._requester.request(NETFN_STORAGE, CMD_GET_SEL_INFO))

    def sel_time(self) -> int | None:
        """Get SEL Time (IPMI 2.0 §31.10): the BMC's SEL clock in s since 1970, None when it has none."""
        try:
            data = self._requester.request(NETFN_STORAGE, CMD_GET_SEL_TIME)
        except IpmiCompletionCodeError:
            return None
        return struct.unpack_from("<I", data)[0] if len(data) >= 4 else None

    def reserve(self) -> int:
        """Reserve SEL (IPMI 2.0 §31.4): a new reservation id, which cancels any earlier one (Clear SEL needs it)."""
        data = self._requester.request(NETFN_STORAGE, CMD_RESERVE_SEL)
        if len(data) < 2:
            raise IpmiProtocolError(f"Reserve SEL answered {len(data)} bytes, 2 expected")
        return data[0] | (data[1] << 8)

    def entry(self, record_id: int) -> tuple[int, SelRecord] | None:
        """Get SEL Entry (IPMI 2.0 §31.5): (next record id, record), or None when there is no such record."""
        try:
            next_id, data = self._walker.read(record_id)
        except IpmiCompletionCodeError as err:
            if err.code == CC_NOT_PRESENT:
                return None
            raise
        return next_id, SelRecord.decode(data)

    def records(self, first: int = FIRST_RECORD, *, limit: int | None = None) -> list[SelRecord]:
        """Walk the SEL from record ``first`` to its end (at most ``limit`` records), oldest first."""
        return self._walk(first, self._max_records if limit is None else limit)

    def read_new(self, position: SelPosition | None) -> SelReadResult:
        """Return the records added since ``position`` and the position to store for the next call.

        Costs one request when the SEL did not change, two for a first read (Get SEL Info, the last record);
        with new records, one Get SEL Time more (the BMC's clock, to place their timestamps).
        """
        info = self.info()
        if position is None:
            last = self.entry(LAST_RECORD) if info.entries else None
            record = None if last is None else last[1]
            return SelReadResult(info=info, records=[], position=_position(info, record), baseline=True)
        if position.unchanged(info):
            return SelReadResult(info=info, records=[], position=position)
        cleared = position.last_erase != info.last_erase
        if cleared or position.last_record_id is None:
            records = self._walk(FIRST_RECORD, self._max_records)
            return self._result(info, records, records, cleared=cleared, fallback=None)
        found = self.entry(position.last_record_id)
        if found is not None and found[1].timestamp == position.last_timestamp:
            records = [] if found[0] == LAST_RECORD else self._walk(found[0], self._max_records)
            return self._result(info, records, records, fallback=position)
        # The record read last is gone although the SEL was not erased: keep what is newer than it.
        walked = self._walk(FIRST_RECORD, self._max_records)
        newer = [r for r in walked if _newer(r, position.last_timestamp)]
        return self._result(info, walked, newer, lost=True, fallback=None)

    def _result(
        self,
        info: SelInfo,
        walked: list[SelRecord],
        new: list[SelRecord],
        *,
        fallback: SelPosition | None,
        cleared: bool = False,
        lost: bool = False,
    ) -> SelReadResult:
        complete = len(walked) < self._max_records
        bmc_time = self.sel_time() if new else None
        if walked:
            position = _position(info, walked[-1], complete=complete)
        elif fallback is not None:
            position = SelPosition(
                last_record_id=fallback.last_record_id,
                last_timestamp=fallback.last_timestamp,
                entries=info.entries,
                last_add=info.last_add,
                last_erase=info.last_erase,
            )
        else:
            position = _position(info, None)
        return SelReadResult(info=info, records=new, position=position, cleared=cleared, lost=lost, bmc_time=bmc_time)

    def _walk(self, first: int, limit: int) -> list[SelRecord]:
        """Return the records from ``first`` on, at most ``limit`` (the walker stops where the chain loops)."""
        self._walker.max_records = limit
        return [SelRecord.decode(record.data) for record in self._walker.walk(first)]


def _position(info: SelInfo, last: SelRecord | None, *, complete: bool = True) -> SelPosition:
    return SelPosition(
        last_record_id=None if last is None else last.record_id,
        last_timestamp=None if last is None else last.timestamp,
        entries=info.entries,
        last_add=info.last_add,
        last_erase=info.last_erase,
        complete=complete,
    )


def _newer(record: SelRecord, than: int | None) -> bool:
    """Tell whether ``record`` was logged after the timestamp ``than`` (records without a time never are)."""
    if record.timestamp is None:
        return False
    return than is None or record.timestamp > than


def clear_sel_data(reservation: int, *, initiate: bool = True) -> bytes:
    """Request data of Clear SEL (IPMI 2.0 §31.9): reservation id, "CLR", AAh initiate or 00h get status."""
    return bytes((reservation & 0xFF, reservation >> 8)) + b"CLR" + (b"\xaa" if initiate else b"\x00")


#: Longest ``clear_sel`` waits for the BMC to report the erasure done (s), and how often it asks.
CLEAR_WAIT, CLEAR_POLL = 10.0, 0.5


def clear_sel(
    requester: Requester,
    gate: WriteGate,
    *,
    actor: str | None,
    wait: float = CLEAR_WAIT,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Empty the SEL: Reserve SEL, then Clear SEL (initiate) through the write gate, which audits it.

    A reservation cancelled before the clear (another client reserved) is taken again once. Then asks for the
    erasure status (Clear SEL with 00h, a read) every ``CLEAR_POLL`` s until the BMC reports it done, at most
    ``wait`` s. Returns True when the BMC reported the erasure completed. Raises what ``WriteGate.send``
    raises (``IpmiWriteRefusedError`` when the identity is unconfirmed, ``IpmiCompletionCodeError``, e.g.
    D4h for a user without the Operator privilege, ``IpmiConnectionError``).
    """
    reader = SelReader(requester)
    for attempt in range(2):
        reservation = reader.reserve()
        request = WriteRequest(
            name="clear_sel",
            netfn=NETFN_STORAGE,
            command=CMD_CLEAR_SEL,
            data=clear_sel_data(reservation),
            kind=WriteKind.CLEAR_SEL,
        )
        try:
            answer = gate.send(request, actor=actor)
        except IpmiCompletionCodeError as err:
            if err.code != CC_RESERVATION_CANCELLED or attempt:
                raise
            continue
        break
    done = bool(answer) and answer[0] & 0x0F == 1
    deadline = time.monotonic() + wait
    while not done and time.monotonic() < deadline:
        sleep(CLEAR_POLL)
        status = requester.request(NETFN_STORAGE, CMD_CLEAR_SEL, clear_sel_data(reservation, initiate=False))
        done = bool(status) and status[0] & 0x0F == 1
    return done


# -- decoding records into sentences ------------------------------------------------------------------------


def format_value(value: float, unit: str | None) -> str:
    """Return a reading as people write it: "96 °C", "1.26 V", "600 rpm" (at most two decimals)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return f"{text} {unit}" if unit else text


@dataclass(frozen=True, kw_only=True, slots=True)
class SelEvent:
    """A SEL record decoded for people: which sensor, which state, details, and a readable sentence.

    ``sensor`` is the SDR sensor that logged it when the SDR describes one; ``sensor_name`` is its name, else
    "<sensor type> sensor 0xNN". ``state`` is the Table 42-2/42-3 state of the event offset (None for OEM
    records and unknown offsets). ``details`` are the decoded event data (``sensor_types.event_details``:
    memory_module, config_error, user_id, channel, ...). For threshold events, ``trigger`` and ``threshold`` are
    the reading and the threshold crossed, in the sensor's ``unit``, when the SDR allows converting them.
    """

    record: SelRecord
    sensor: SdrSensor | None
    sensor_name: str
    state: EventState | None
    details: Mapping[str, int | str] = field(default_factory=dict)
    trigger: float | None = None
    threshold: float | None = None
    unit: str | None = None
    text: str = ""

    @property
    def severity(self) -> Severity:
        """How bad the state is when asserted (``sensor_types.Severity``); info for unknown states."""
        return self.state.severity if self.state is not None else Severity.INFO


def find_sensor(record: SelRecord, sensors: Iterable[SdrSensor]) -> SdrSensor | None:
    """Return the SDR sensor that logged ``record``, or None when the SDR describes none.

    Matched by owner, LUN and number; events logged by system software (BIOS) about a BMC sensor are matched
    by sensor number and sensor type.
    """
    if not record.is_system_event:
        return None
    candidates = list(sensors)
    key = record.sensor_key
    for sensor in candidates:
        if key is not None and sensor.key == key:
            return sensor
    if record.generator_is_software:
        for sensor in candidates:
            if sensor.number == record.sensor_number and sensor.sensor_type == record.sensor_type:
                return sensor
    return None


def decode_event(record: SelRecord, sensors: Iterable[SdrSensor] = ()) -> SelEvent:
    """Decode ``record`` with the BMC's SDR sensors into a ``SelEvent`` and its sentence.

    Sentences read "<sensor>: <state>[, details]." with "(deasserted)" after the state of deassertions, e.g.
    "CPU Temp: Upper critical going high, reading 96 °C, threshold 95 °C." or
    "Memory sensor 0xF0: Uncorrectable ECC or other uncorrectable memory error, DIMM 5." OEM records keep their
    bytes as hex text. Offsets and event data per IPMI 2.0 Tables 42-2, 42-3 and 29-6.
    """
    if record.sensor_type is None or record.event_type is None:
        return SelEvent(record=record, sensor=None, sensor_name="OEM record", state=None, text=_oem_text(record))
    sensor = find_sensor(record, sensors)
    type_name = sensor_type(record.sensor_type).name
    name = sensor.name if sensor is not None else f"{type_name} sensor 0x{record.sensor_number or 0:02X}"
    event = parse_event_data(record.event_data)
    state = event_state(record.event_type, record.sensor_type, event.offset)
    details = event_details(record.sensor_type, record.event_type, event)
    trigger = threshold = None
    unit = sensor.unit if sensor is not None else None
    if record.event_type == EVENT_TYPE_THRESHOLD and sensor is not None and sensor.conversion is not None:
        if event.data2_use is EventDataUse.TRIGGER and event.data2 is not None:
            trigger = sensor.conversion.convert(event.data2)
        if event.data3_use is EventDataUse.TRIGGER and event.data3 is not None:
            threshold = sensor.conversion.convert(event.data3)
    if state is not None:
        what = state.name
    else:
        what = f"event offset {event.offset} (event/reading type {record.event_type:02X}h)"
    parts = [what + (" (deasserted)" if record.deassertion else "")]
    parts += _detail_texts(details)
    if trigger is not None:
        parts.append(f"reading {format_value(trigger, unit)}")
    if threshold is not None:
        parts.append(f"threshold {format_value(threshold, unit)}")
    return SelEvent(
        record=record,
        sensor=sensor,
        sensor_name=name,
        state=state,
        details=details,
        trigger=trigger,
        threshold=threshold,
        unit=unit,
        text=f"{name}: {', '.join(parts)}.",
    )


def _detail_texts(details: Mapping[str, int | str]) -> list[str]:
    """Phrase the decoded event data: "DIMM 5", "user 3", "channel 1", "rating mismatch", ..."""
    texts: list[str] = []
    for key, value in details.items():
        if key == "memory_module":
            texts.append(f"DIMM {value}")
        elif key == "user_id":
            texts.append(f"user {value}" if value else "unknown user")
        elif key == "channel":
            texts.append(f"channel {value}")
        elif key == "sel_percent_full":
            texts.append(f"{value} % full")
        elif key == "sensor_number" and isinstance(value, int):
            texts.append(f"sensor 0x{value:02X}")
        elif key == "network_controller":
            texts.append(f"network controller {value}")
        elif key == "deactivation_cause" and value == "unspecified":
            continue
        else:
            texts.append(str(value).replace("_", " "))
    return texts


def _oem_text(record: SelRecord) -> str:
    """Raw text of an OEM record (IPMI 2.0 §32.2, §32.3): its type, manufacturer id and data bytes in hex."""
    if record.record_type >= OEM_NON_TIMESTAMPED:
        return f"OEM record type {record.record_type:02X}h: {record.raw[3:].hex(' ')}."
    manufacturer = int.from_bytes(record.raw[7:10], "little")
    return f"OEM record type {record.record_type:02X}h, manufacturer {manufacturer}: {record.raw[10:].hex(' ')}."
