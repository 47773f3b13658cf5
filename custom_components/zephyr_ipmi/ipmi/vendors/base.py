"""What every vendor command set shares: fan modes, zones, capabilities and typed read/write requests.

A ``VendorCommandSet`` only builds and decodes bytes; it never sends anything. Reads it builds are
sent by whoever needs the value; writes (``WriteRequest``) are sent by the write gate
(``ipmi.gate.WriteGate``) alone. Vendor facts are in /work/shared/docs/ipmi-field-notes.md §1 and in
docs/ipmi-notes.md.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from ..errors import IpmiCompletionCodeError, IpmiWriteRefusedError
from ..fru import parse_fru

#: ``request(netfn, command, data) -> response data``: one raw request, raising ``IpmiCompletionCodeError``
#: for a non-zero completion code and ``IpmiConnectionError`` when the BMC does not answer.
RequestFn = Callable[[int, int, bytes], bytes]

#: Lowest duty cycle (%) any vendor set may declare as its floor; 0 % is never sent.
ABSOLUTE_FLOOR = 10
#: Floor (%) of a vendor or generation that documents none.
DEFAULT_FLOOR = 20
#: Duties from the floor up to this value (%) are accepted with one logged warning.
WARN_BELOW = 30

#: Threshold names in the order of the Get/Set Sensor Thresholds mask bits 0-5 (IPMI 2.0 §35.8, §35.9).
THRESHOLD_ORDER: tuple[str, ...] = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")


class FanMode(StrEnum):
    """A BMC fan mode.

    Supermicro (``0x30 0x45``, field notes §1): STANDARD 0, FULL 1, OPTIMAL 2, PUE2 3, HEAVY_IO 4.
    Dell iDRAC (``0x30 0x30 0x01``): AUTOMATIC (the BMC's curve), MANUAL (fixed duties from ``0x30 0x30 0x02``).
    """

    STANDARD = "standard"
    FULL = "full"
    OPTIMAL = "optimal"
    PUE2 = "pue2"
    HEAVY_IO = "heavy_io"
    AUTOMATIC = "automatic"
    MANUAL = "manual"


#: Modes in which the BMC drives the fans from its own curve; anything else needs Zephyr's supervision.
BMC_DRIVEN_MODES = frozenset({FanMode.STANDARD, FanMode.OPTIMAL, FanMode.PUE2, FanMode.HEAVY_IO, FanMode.AUTOMATIC})


class WriteKind(StrEnum):
    """What a ``WriteRequest`` changes; the gate validates and audits by kind."""

    FAN_MODE = "fan_mode"
    ZONE_DUTY = "zone_duty"
    BYPASS = "bypass"
    PCIE_COOLING = "pcie_cooling"
    CHASSIS_CONTROL = "chassis_control"
    IDENTIFY = "identify"
    SENSOR_THRESHOLDS = "sensor_thresholds"
    CLEAR_SEL = "clear_sel"
    RAW = "raw"


#: Write kinds that change how the fans turn (a refusal of one of these may mean a fan lockdown).
FAN_WRITE_KINDS = frozenset({WriteKind.FAN_MODE, WriteKind.ZONE_DUTY, WriteKind.BYPASS})


@dataclass(frozen=True, kw_only=True)
class FanZone:
    """One cooling zone (or one fan) that takes a duty cycle.

    ``index``: the vendor's zone number (Supermicro 0-3), Dell's fan index, or 0xFF for Dell's all fans.
    ``key``: stable identifier ("cpu", "peripheral", "zone_2", "zone_3", "all", "fan_<n>").
    ``name``: English fallback name. ``fans``: SDR names of the fan sensors in the zone, when known.
    """

    index: int
    key: str
    name: str
    fans: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a BMC can do, from Get Device ID and read-only requests only.

    ``fan_control`` False comes with ``fan_control_reason``, a translation key ("hpe_no_ipmi_fan_control",
    "generic_monitoring_only", "supermicro_fan_commands_unanswered", "firmware_refuses_raw_fan_commands",
    "x14_lockdown"). ``duty_floor`` is the lowest duty accepted (%, 10-100). ``duty_encoding`` is how the
    duty goes on the wire ("percent" 0x00-0x64, "byte" 0x00-0xFF). ``bypass``: Supermicro X14 needs the
    bypass write before a zone duty. ``pcie_cooling``: Dell gen <= 13 answered the PCIe cooling read.
    """

    vendor: str
    generation: str | None = None
    fan_control: bool = False
    fan_control_reason: str | None = None
    modes: tuple[FanMode, ...] = ()
    automatic_mode: FanMode | None = None
    zones: tuple[FanZone, ...] = ()
    duty_floor: int = DEFAULT_FLOOR
    duty_encoding: Literal["percent", "byte"] = "percent"
    bypass: bool = False
    pcie_cooling: bool = False
    power_control: bool = False
    identify: bool = False

    def zone(self, key: str) -> FanZone | None:
        """Return the zone with ``key``, or None."""
        return next((zone for zone in self.zones if zone.key == key), None)


@dataclass(frozen=True)
class ReadRequest:
    """A read-only request.

    ``name`` says how its answer decodes ("fan_mode", "zone_duty", "pcie_cooling", "sensor_thresholds");
    ``netfn``, ``command``, ``data`` and the responder ``lun`` are what is sent.
    """

    name: str
    netfn: int
    command: int
    data: bytes
    lun: int = 0


@dataclass(frozen=True, kw_only=True)
class WriteRequest:
    """A request that changes the hardware, sent only by the write gate.

    ``name`` is the audit command name ("set_fan_mode", "set_zone_duty", "x14_bypass", "chassis_control",
    "identify", "set_sensor_thresholds", "set_pcie_cooling", "raw", ...). ``zone``: vendor zone number or
    fan index; ``duty``: the duty cycle in % (whatever the wire encoding); ``mode``: the fan mode set;
    ``enabled``: the switch value (PCIe cooling response, bypass); ``thresholds``: raw threshold bytes set
    (name, raw); ``subject``: what is written, as a person names it (the zone's or sensor's name, e.g. "CPU zone").
    ``readback``: the read that shows the written value, when the BMC has one; the gate
    compares it before (to drop a write that changes nothing) and after (to report what the BMC took).
    """

    name: str
    netfn: int
    command: int
    data: bytes
    kind: WriteKind
    zone: int | None = None
    duty: int | None = None
    mode: FanMode | None = None
    enabled: bool | None = None
    thresholds: tuple[tuple[str, int], ...] | None = None
    subject: str | None = None
    readback: ReadRequest | None = None
    lun: int = 0

    @property
    def target(self) -> object | None:
        """The value ``readback`` decodes to once this write took effect, or None when not comparable."""
        if self.kind is WriteKind.FAN_MODE:
            return self.mode
        if self.kind is WriteKind.ZONE_DUTY:
            return self.duty
        if self.kind is WriteKind.PCIE_COOLING:
            return self.enabled
        if self.kind is WriteKind.SENSOR_THRESHOLDS and self.thresholds is not None:
            return dict(self.thresholds)
        return None


def get_sensor_thresholds(number: int, lun: int = 0) -> ReadRequest:
    """Get Sensor Thresholds (netfn 0x04, command 0x27, IPMI 2.0 §35.9) of sensor ``number``."""
    return ReadRequest("sensor_thresholds", 0x04, 0x27, bytes([number]), lun)


def decode_sensor_thresholds(data: bytes) -> dict[str, int] | None:
    """Decode a Get Sensor Thresholds answer: readable mask, then raw LNC, LCR, LNR, UNC, UCR, UNR.

    Returns the raw byte of each readable threshold by name ("lnc", ...), or None when too short.
    """
    if len(data) < 7:
        return None
    mask = data[0]
    return {name: data[1 + bit] for bit, name in enumerate(THRESHOLD_ORDER) if mask & (1 << bit)}


class VendorCommandSet(ABC):  # noqa: B024 - an abstract family without abstract methods: defaults refuse
    """Builds and decodes the fan commands of one vendor family; never sends anything.

    The defaults describe a BMC without IPMI fan control: reads are None and writes raise
    ``IpmiWriteRefusedError("not_supported")``. Subclasses override what their BMCs answer.
    """

    def __init__(self, capabilities: Capabilities) -> None:
        """Hold the capabilities found by ``detect``."""
        self._capabilities = capabilities

    @property
    def capabilities(self) -> Capabilities:
        """What this BMC can do (see ``Capabilities``)."""
        return self._capabilities

    def read_fan_mode(self) -> ReadRequest | None:
        """Return the read of the current fan mode, or None when the BMC has none."""
        return None

    def decode_fan_mode(self, data: bytes) -> FanMode | None:
        """Decode the answer of ``read_fan_mode``; None when unknown."""
        return None

    def set_fan_mode(self, mode: FanMode) -> list[WriteRequest]:
        """Return the writes that put the BMC in ``mode``. Raises ``IpmiWriteRefusedError("not_supported")``."""
        raise IpmiWriteRefusedError("not_supported")

    def set_zone_duty(self, zone: FanZone, percent: int) -> list[WriteRequest]:
        """Return the writes that run ``zone`` at ``percent`` % (mode/bypass writes first where the BMC needs them).

        Raises ``IpmiWriteRefusedError("not_supported")``.
        """
        raise IpmiWriteRefusedError("not_supported")

    def read_zone_duty(self, zone: FanZone) -> ReadRequest | None:
        """Return the read of ``zone``'s duty cycle, or None when the BMC has none."""
        return None

    def decode_zone_duty(self, data: bytes) -> int | None:
        """Decode the answer of ``read_zone_duty`` to a duty cycle in %."""
        return None

    def set_pcie_cooling(self, enabled: bool) -> list[WriteRequest]:
        """Return the writes that enable or disable the third-party PCIe card cooling response (Dell gen <= 13)."""
        raise IpmiWriteRefusedError("not_supported")

    def read_pcie_cooling(self) -> ReadRequest | None:
        """Return the read of the PCIe cooling response setting, or None."""
        return None

    def decode_pcie_cooling(self, data: bytes) -> bool | None:
        """Decode the answer of ``read_pcie_cooling``: True when the cooling response is enabled."""
        return None

    def hand_back(self, mode: FanMode | None) -> list[WriteRequest]:
        """Return the writes that give the fans back to the BMC in ``mode`` (None: ``capabilities.automatic_mode``)."""
        target = mode or self._capabilities.automatic_mode
        return self.set_fan_mode(target) if target is not None else []

    def settable_thresholds(self, sensor_kind: str) -> frozenset[str] | None:
        """Thresholds the vendor lets a sensor of ``sensor_kind`` ("fan", ...) set, or None for no rule."""
        return None

    def decode(self, read: ReadRequest, data: bytes) -> object | None:
        """Decode the answer to ``read`` by its name (the value ``WriteRequest.target`` is compared with)."""
        if read.name == "fan_mode":
            return self.decode_fan_mode(data)
        if read.name == "zone_duty":
            return self.decode_zone_duty(data)
        if read.name == "pcie_cooling":
            return self.decode_pcie_cooling(data)
        if read.name == "sensor_thresholds":
            return decode_sensor_thresholds(data)
        return None


class MonitoringOnly(VendorCommandSet):
    """A BMC Zephyr can only read (HPE iLO, generic IPMI): every fan write is refused with the reason."""

    def set_fan_mode(self, mode: FanMode) -> list[WriteRequest]:
        """Refused: ``IpmiWriteRefusedError`` with ``capabilities.fan_control_reason``."""
        raise IpmiWriteRefusedError(self._capabilities.fan_control_reason or "not_supported")

    def set_zone_duty(self, zone: FanZone, percent: int) -> list[WriteRequest]:
        """Refused: ``IpmiWriteRefusedError`` with ``capabilities.fan_control_reason``."""
        raise IpmiWriteRefusedError(self._capabilities.fan_control_reason or "not_supported")


def answers(request: RequestFn, netfn: int, command: int, data: bytes = b"") -> bytes | None:
    """Send a read-only request; return its data, or None when the BMC answers a completion code.

    ``IpmiConnectionError`` propagates: a silent BMC is not "unsupported".
    """
    try:
        return request(netfn, command, data)
    except IpmiCompletionCodeError:
        return None


def chassis_supported(request: RequestFn) -> bool:
    """Tell whether the BMC answers Get Chassis Status (netfn 0x00 cmd 0x01, IPMI 2.0 §28.2), read-only.

    A BMC that implements the chassis device takes Chassis Control (§28.3) and, unless it says otherwise,
    Chassis Identify (§28.5, optional; byte 3 bit 6 0 means "support unspecified").
    """
    return answers(request, 0x00, 0x01) is not None


def read_board_product(request: RequestFn, *, chunk: int = 16) -> str | None:
    """Read FRU 0's board product name (FRU spec §11) with read-only requests, or None.

    Get FRU Inventory Area Info (netfn 0x0A cmd 0x10) and Read FRU Data (0x0A 0x11, IPMI 2.0 §34.1-34.2)
    in ``chunk``-byte reads: the header, then the board area. Any completion code gives None.
    """
    info = answers(request, 0x0A, 0x10, b"\x00")
    if info is None or len(info) < 2:
        return None
    size = info[0] | (info[1] << 8)

    def read(offset: int, count: int) -> bytes | None:
        out = bytearray()
        end = min(offset + count, size)
        while offset < end:
            want = min(chunk, end - offset)
            data = answers(request, 0x0A, 0x11, bytes([0, offset & 0xFF, offset >> 8, want]))
            got = data[1 : 1 + data[0]] if data else b""
            if not got:
                return None
            out += got
            offset += len(got)
        return bytes(out)

    header = read(0, 8)
    if header is None or len(header) < 8 or not header[3]:
        return None
    start = header[3] * 8
    head = read(start, 2)
    if head is None or len(head) < 2:
        return None
    area = read(start, head[1] * 8)
    if area is None:
        return None
    image = bytearray(start + len(area))
    image[:8] = header
    image[start:] = area
    return parse_fru(bytes(image)).board_product


def generation_number(text: str | None, pattern: str) -> int | None:
    """Return the first integer group of ``pattern`` found in ``text`` (case-insensitive), or None."""
    if not text:
        return None
    found = re.search(pattern, text, re.IGNORECASE)
    return int(found.group(1)) if found else None


def fan_names(fans: Sequence[str]) -> tuple[str, ...]:
    """Fan sensor names in SDR order, without duplicates."""
    return tuple(dict.fromkeys(fans))
