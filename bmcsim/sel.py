"""System Event Log: storage, reservations and the event records the simulated BMC writes.

Protocol source: IPMI 2.0 rev 1.1 section 31 (SEL device commands: Get SEL Info 0Ah/40h, Reserve SEL
0Ah/42h, Get SEL Entry 0Ah/43h, Clear SEL 0Ah/47h, Get SEL Time 0Ah/48h), section 32.1 (SEL event
record, type 02h), section 29.7 (event data fields) and Tables 42-2/42-3 (event offsets). Timestamps are
seconds since 1970-01-01 UTC as IPMI defines them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import sdr as s

#: Threshold event offsets (IPMI 2.0 Table 42-2, event/reading type 01h) for "going low" lower and
#: "going high" upper thresholds.
THRESHOLD_EVENT_OFFSET = {"lnc": 0x00, "lcr": 0x02, "lnr": 0x04, "unc": 0x07, "ucr": 0x09, "unr": 0x0B}


@dataclass
class SelEntry:
    """One 16-byte SEL record; ``record_id`` is assigned when stored."""

    record_id: int
    timestamp: int
    sensor_type: int
    sensor_number: int
    event_type: int
    offset: int
    data2: int = 0xFF
    data3: int = 0xFF
    data1_flags: int = 0x00
    deassert: bool = False
    generator: int = 0x0020  # BMC, IPMB slave address 20h, LUN 0

    def encode(self) -> bytes:
        """Return the 16 bytes returned by Get SEL Entry (IPMI 2.0 section 32.1, record type 02h)."""
        dir_type = (0x80 if self.deassert else 0x00) | (self.event_type & 0x7F)
        return struct.pack(
            "<HBIHBBBBBBB",
            self.record_id,
            0x02,
            self.timestamp & 0xFFFFFFFF,
            self.generator,
            0x04,  # EvM revision for IPMI 2.0
            self.sensor_type,
            self.sensor_number,
            dir_type,
            self.data1_flags | (self.offset & 0x0F),
            self.data2,
            self.data3,
        )

    def describe(self) -> dict[str, object]:
        """JSON-friendly summary used by the control channel."""
        return {
            "record_id": self.record_id,
            "timestamp": self.timestamp,
            "sensor_type": self.sensor_type,
            "sensor_number": self.sensor_number,
            "event_type": self.event_type,
            "offset": self.offset,
            "deassert": self.deassert,
            "data": [self.data1_flags | self.offset, self.data2, self.data3],
            "raw": self.encode().hex(),
        }


class Sel:
    """The SEL of one BMC.

    It holds at most ``capacity`` entries; when full, new entries are dropped and the
    overflow flag is reported by Get SEL Info (IPMI 2.0 section 31.2).
    """

    ENTRY_SIZE = 16

    def __init__(self, capacity: int = 512) -> None:
        """Create an empty SEL holding at most ``capacity`` entries."""
        self.capacity = capacity
        self.entries: list[SelEntry] = []
        self.next_id = 1
        self.last_add = 0xFFFFFFFF
        self.last_erase = 0xFFFFFFFF
        self.overflow = False
        self.reservation = 0
        self._reservation_counter = 0

    @property
    def full(self) -> bool:
        """True once the SEL holds ``capacity`` entries."""
        return len(self.entries) >= self.capacity

    def add(self, entry: SelEntry) -> SelEntry | None:
        """Store ``entry`` with the next record id; returns None (and sets overflow) if the SEL is full."""
        if self.full:
            self.overflow = True
            return None
        entry.record_id = self.next_id
        self.next_id = self.next_id + 1 if self.next_id < 0xFFFE else 1
        self.entries.append(entry)
        self.last_add = entry.timestamp
        return entry

    def reserve(self) -> int:
        """Return a new reservation id (1..0xFFFF); cancels the previous one."""
        self._reservation_counter = self._reservation_counter % 0xFFFF + 1
        self.reservation = self._reservation_counter
        return self.reservation

    def clear(self, now: int) -> None:
        """Erase every entry (Clear SEL) and cancel the reservation."""
        self.entries.clear()
        self.overflow = False
        self.last_erase = now
        self.reservation = 0

    def info(self) -> bytes:
        """Get SEL Info response data after the completion code (IPMI 2.0 section 31.2)."""
        free = (self.capacity - len(self.entries)) * self.ENTRY_SIZE
        support = (0x80 if self.overflow else 0x00) | 0x02  # reserve supported
        return struct.pack(
            "<BHHIIB", 0x51, len(self.entries), min(free, 0xFFFF), self.last_add, self.last_erase, support
        )

    def find(self, record_id: int) -> tuple[int, SelEntry] | None:
        """Index and entry for a record id (0000h = first, FFFFh = last), or None."""
        if not self.entries:
            return None
        if record_id == 0x0000:
            return 0, self.entries[0]
        if record_id == 0xFFFF:
            return len(self.entries) - 1, self.entries[-1]
        for index, entry in enumerate(self.entries):
            if entry.record_id == record_id:
                return index, entry
        return None


def threshold_event(
    now: int, record: s.SensorRecord, name: str, *, reading: int, threshold: int, deassert: bool
) -> SelEntry:
    """Threshold crossing event: event data 1 says byte 2 is the trigger reading and byte 3 the threshold."""
    return SelEntry(
        0,
        now,
        record.sensor_type,
        record.number,
        s.ERT_THRESHOLD,
        THRESHOLD_EVENT_OFFSET[name],
        data2=reading,
        data3=threshold,
        data1_flags=0x50,
        deassert=deassert,
    )


def discrete_event(
    now: int,
    sensor_type: int,
    number: int,
    offset: int,
    *,
    data2: int = 0xFF,
    data3: int = 0xFF,
    flags: int = 0,
    event_type: int = s.ERT_SENSOR_SPECIFIC,
    deassert: bool = False,
) -> SelEntry:
    """Build a discrete event with the given offset.

    Sensor-specific (6Fh, Table 42-3) unless ``event_type`` names a generic event/reading type
    (Table 42-2, e.g. 0Bh redundancy).
    """
    return SelEntry(0, now, sensor_type, number, event_type, offset, data2, data3, flags, deassert)
