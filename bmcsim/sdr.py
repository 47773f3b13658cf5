"""Sensor Data Record (SDR) encoding: full and compact sensor records, ID strings, linear conversion.

Protocol source: IPMI 2.0 rev 1.1, section 43 ("Sensor Data Record Formats"): Table 43-1 (Full Sensor
Record, type 01h), Table 43-2 (Compact Sensor Record, type 02h), Table 43-9 (Management Controller
Device Locator, type 12h), section 43.15 (type/length byte of ID strings), section 36.3 (sensor
reading conversion formula ``y = L[(M*x + B*10^Bexp) * 10^Rexp]``) and Table 43-15 (unit codes).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

#: Threshold names in the order of the Get/Set Sensor Thresholds mask bits (IPMI 2.0 section 35.8/35.9):
#: bit 0 lower non-critical ... bit 5 upper non-recoverable.
THRESHOLD_ORDER: tuple[str, ...] = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")

#: ID string encodings (IPMI 2.0 section 43.15, type/length byte bits [7:6]).
ENC_UNICODE = "unicode"  # 00b
ENC_BCDPLUS = "bcdplus"  # 01b
ENC_SIXBIT = "sixbit"  # 10b, 6-bit packed ASCII
ENC_ASCII8 = "ascii8"  # 11b, 8-bit ASCII + Latin 1
ENC_ASCII8_NULPAD = "ascii8-nulpad"  # 11b, padded with NUL bytes to 16 bytes

_BCD_PLUS = {**{str(d): d for d in range(10)}, " ": 0xA, "-": 0xB, ".": 0xC, ":": 0xD, ",": 0xE, "_": 0xF}

# Unit codes, IPMI 2.0 Table 43-15.
UNIT_UNSPECIFIED = 0
UNIT_DEGREES_C = 1
UNIT_VOLTS = 4
UNIT_AMPS = 5
UNIT_WATTS = 6
UNIT_RPM = 18

# Sensor type codes, IPMI 2.0 Table 42-3.
ST_TEMPERATURE = 0x01
ST_VOLTAGE = 0x02
ST_CURRENT = 0x03
ST_FAN = 0x04
ST_PHYSICAL_SECURITY = 0x05
ST_PROCESSOR = 0x07
ST_POWER_SUPPLY = 0x08
ST_MEMORY = 0x0C
ST_DRIVE_SLOT = 0x0D
ST_EVENT_LOGGING_DISABLED = 0x10
ST_CABLE_INTERCONNECT = 0x1B
ST_WATCHDOG_2 = 0x23
ST_BATTERY = 0x29
ST_SESSION_AUDIT = 0x2A

# Event/reading type codes, IPMI 2.0 Table 42-1/42-2.
ERT_THRESHOLD = 0x01
ERT_REDUNDANCY = 0x0B
ERT_SENSOR_SPECIFIC = 0x6F


def encode_id_string(text: str, encoding: str = ENC_ASCII8) -> bytes:
    """Return the type/length byte followed by the encoded ID string (IPMI 2.0 section 43.15).

    ``ascii8`` is the usual 8-bit ASCII+Latin-1 form; ``ascii8-nulpad`` pads it with NUL bytes to 16
    bytes (seen on some firmware); ``sixbit`` packs 4 characters (0x20-0x5F) into 3 bytes; ``bcdplus``
    packs two characters of ``0-9 space - . : , _`` per byte; ``unicode`` stores UTF-8 bytes under type
    00b (the specification says "Unicode" without naming an encoding).
    """
    if encoding == ENC_ASCII8:
        raw = text.encode("latin-1")
        kind = 0b11
    elif encoding == ENC_ASCII8_NULPAD:
        raw = text.encode("latin-1").ljust(16, b"\x00")
        kind = 0b11
    elif encoding == ENC_UNICODE:
        raw = text.encode("utf-8")
        kind = 0b00
    elif encoding == ENC_BCDPLUS:
        digits = [_BCD_PLUS[c] for c in text]
        if len(digits) % 2:
            digits.append(0xA)  # pad with a space
        raw = bytes((digits[i] << 4) | digits[i + 1] for i in range(0, len(digits), 2))
        kind = 0b01
    elif encoding == ENC_SIXBIT:
        raw = pack_sixbit(text)
        kind = 0b10
    else:
        raise ValueError(f"unknown ID string encoding {encoding!r}")
    if len(raw) > 16:
        raise ValueError(f"ID string {text!r} longer than 16 bytes once encoded")
    return bytes([(kind << 6) | len(raw)]) + raw


def pack_sixbit(text: str) -> bytes:
    """Pack ASCII text (0x20-0x5F) as 6-bit packed ASCII, 4 characters per 3 bytes (IPMI 2.0 section 43.15)."""
    codes = []
    for char in text.upper():
        code = ord(char) - 0x20
        if not 0 <= code < 64:
            raise ValueError(f"{char!r} cannot be 6-bit packed")
        codes.append(code)
    while len(codes) % 4:
        codes.append(0)  # pad with spaces
    out = bytearray()
    for i in range(0, len(codes), 4):
        c0, c1, c2, c3 = codes[i : i + 4]
        out += bytes([(c0 | (c1 << 6)) & 0xFF, ((c1 >> 2) | (c2 << 4)) & 0xFF, ((c2 >> 4) | (c3 << 2)) & 0xFF])
    return bytes(out)


def unpack_sixbit(data: bytes) -> str:
    """Decode 6-bit packed ASCII (inverse of :func:`pack_sixbit`); trailing pad spaces are kept."""
    out = []
    for i in range(0, len(data) - len(data) % 3, 3):
        b0, b1, b2 = data[i : i + 3]
        out += [b0 & 0x3F, (b0 >> 6) | ((b1 & 0x0F) << 2), (b1 >> 4) | ((b2 & 0x03) << 4), b2 >> 2]
    return "".join(chr(c + 0x20) for c in out)


def _tc(value: int, bits: int) -> int:
    """Two's complement encode ``value`` into ``bits`` bits."""
    return value & ((1 << bits) - 1)


@dataclass
class Conversion:
    """Linear reading conversion of a full sensor record (IPMI 2.0 section 36.3, linearization 00h).

    ``value = (M * raw + B * 10**b_exp) * 10**r_exp``; ``signed`` selects 2's-complement raw readings
    (analog data format 10b), else unsigned (00b).
    """

    m: int = 1
    b: int = 0
    b_exp: int = 0
    r_exp: int = 0
    signed: bool = False

    def to_value(self, raw: int) -> float:
        """Engineering value (units of the sensor) for a raw reading byte."""
        if self.signed and raw >= 128:
            raw -= 256
        return round(float((self.m * raw + self.b * 10**self.b_exp) * 10**self.r_exp), 9)

    def to_raw(self, value: float) -> int:
        """Nearest raw reading byte for an engineering value, clamped to the byte's range."""
        raw = float((value / 10**self.r_exp - self.b * 10**self.b_exp) / self.m)
        raw_i = math.floor(raw + 0.5)
        low, high = (-128, 127) if self.signed else (0, 255)
        raw_i = max(low, min(high, raw_i))
        return raw_i & 0xFF

    def step(self) -> float:
        """Engineering units per raw count (the sensor's resolution)."""
        return float(abs(self.m) * 10**self.r_exp)

    def compare_key(self, raw: int) -> int:
        """Integer that orders raw bytes like their values (handles 2's-complement sensors)."""
        if self.signed and raw >= 128:
            raw -= 256
        return raw * (1 if self.m >= 0 else -1)


@dataclass
class SensorRecord:
    """Everything needed to emit one full (type 01h) or compact (type 02h) sensor record.

    Threshold values in ``thresholds`` are raw bytes keyed by :data:`THRESHOLD_ORDER` names; only the
    keys present are readable. ``settable`` lists the thresholds Set Sensor Thresholds may change.
    """

    number: int
    name: str
    sensor_type: int
    event_type: int
    entity_id: int
    entity_instance: int
    units: int = UNIT_UNSPECIFIED
    percent: bool = False
    conversion: Conversion = field(default_factory=Conversion)
    thresholds: dict[str, int] = field(default_factory=dict)
    settable: frozenset[str] = frozenset()
    hysteresis: tuple[int, int] = (0, 0)
    compact: bool = False
    id_encoding: str = ENC_ASCII8
    share_count: int = 1
    share_modifier_offset: int = 0
    discrete_mask: int = 0
    nominal_raw: int | None = None
    owner: int = 0x20
    lun: int = 0

    def encode(self, record_id: int) -> bytes:
        """Record bytes including the 5-byte header (IPMI 2.0 Table 43-1 / 43-2)."""
        threshold_sensor = self.event_type == ERT_THRESHOLD
        readable = 0
        for bit, name in enumerate(THRESHOLD_ORDER):
            if name in self.thresholds:
                readable |= 1 << bit
        settable = 0
        for bit, name in enumerate(THRESHOLD_ORDER):
            if name in self.settable and name in self.thresholds:
                settable |= 1 << bit
        if threshold_sensor:
            # threshold access: 10b readable+settable, 01b readable only, 00b none (Table 43-1 byte 12)
            access = 0b10 if settable else (0b01 if readable else 0b00)
            hyst = 0b01  # hysteresis readable (Get Sensor Hysteresis)
            capabilities = 0x40 | (hyst << 4) | (access << 2) | 0b00  # auto re-arm, per-threshold events
            # assertion / deassertion masks: "going low" for lower, "going high" for upper thresholds,
            # plus the "comparison returned" bits [14:12] (Table 43-1 bytes 15-18)
            assert_mask = 0
            for bit_name, event_bit in (("lnc", 0), ("lcr", 2), ("lnr", 4), ("unc", 7), ("ucr", 9), ("unr", 11)):
                if bit_name in self.thresholds:
                    assert_mask |= 1 << event_bit
            lower_cmp = (
                (0x1000 if "lnc" in self.thresholds else 0)
                | (0x2000 if "lcr" in self.thresholds else 0)
                | (0x4000 if "lnr" in self.thresholds else 0)
            )
            upper_cmp = (
                (0x1000 if "unc" in self.thresholds else 0)
                | (0x2000 if "ucr" in self.thresholds else 0)
                | (0x4000 if "unr" in self.thresholds else 0)
            )
            mask1 = assert_mask | lower_cmp
            mask2 = assert_mask | upper_cmp
            mask3 = readable | (settable << 8)
        else:
            capabilities = 0x40  # auto re-arm, no hysteresis, no thresholds, per-threshold events
            mask1 = self.discrete_mask
            mask2 = self.discrete_mask
            mask3 = self.discrete_mask
        # Table 43-1 byte 11: init scanning/events/(thresholds/hysteresis)/type, events and scanning enabled
        init = 0x7F if threshold_sensor else 0x67
        conv = self.conversion
        analog = 0b10 if conv.signed else 0b00
        if not threshold_sensor:
            analog = 0b11  # no analog reading
        units1 = (analog << 6) | (1 if self.percent else 0)
        body = bytearray(
            [
                self.owner,
                self.lun & 0x03,
                self.number,
                self.entity_id,
                self.entity_instance & 0x7F,
                init,
                capabilities,
                self.sensor_type,
                self.event_type,
            ]
        )
        body += struct.pack("<HHH", mask1, mask2, mask3)
        body += bytes([units1, self.units, 0])
        id_bytes = encode_id_string(self.name, self.id_encoding)
        if self.compact:
            share = max(1, self.share_count)
            body += bytes([(0b00 << 4) | (share & 0x0F), self.share_modifier_offset & 0x7F])
            body += bytes([self.hysteresis[0], self.hysteresis[1], 0, 0, 0, 0])  # hyst, reserved x3, OEM
            body += id_bytes
            rectype = 0x02
        else:
            m = _tc(conv.m, 10)
            b = _tc(conv.b, 10)
            tolerance = 0
            accuracy = 0
            body += bytes(
                [
                    0x00,  # linearization: linear
                    m & 0xFF,
                    ((m >> 8) << 6) | tolerance,
                    b & 0xFF,
                    ((b >> 8) << 6) | (accuracy & 0x3F),
                    0x00,  # accuracy MS, accuracy exp, direction unspecified
                    (_tc(conv.r_exp, 4) << 4) | _tc(conv.b_exp, 4),
                ]
            )
            nominal = self.nominal_raw
            body += bytes([0x01 if nominal is not None else 0x00, nominal or 0, 0, 0])
            low, high = (0x80, 0x7F) if conv.signed else (0x00, 0xFF)
            if conv.m < 0:
                low, high = high, low
            body += bytes([high, low])  # sensor maximum, minimum reading
            for name in ("unr", "ucr", "unc", "lnr", "lcr", "lnc"):
                body.append(self.thresholds.get(name, 0))
            body += bytes([self.hysteresis[0], self.hysteresis[1], 0, 0, 0])  # hyst+, hyst-, reserved x2, OEM
            body += id_bytes
            rectype = 0x01
        header = struct.pack("<HBBB", record_id, 0x51, rectype, len(body))
        return header + bytes(body)


def mc_locator_record(record_id: int, name: str, device_caps: int = 0xBF) -> bytes:
    """Build the Management Controller Device Locator record (type 12h, IPMI 2.0 Table 43-9) for the BMC at 20h."""
    # slave address, channel, power state/global init, capabilities, reserved x3, entity, instance, OEM
    body = bytes([0x20, 0x00, 0x00, device_caps, 0, 0, 0, 0x2E, 0x01, 0x00]) + encode_id_string(name)
    return struct.pack("<HBBB", record_id, 0x51, 0x12, len(body)) + body
