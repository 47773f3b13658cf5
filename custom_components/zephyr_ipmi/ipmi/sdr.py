"""SDR record parsing and sensor reading decoding (IPMI 2.0 §35.14, §36, §43).

Every function here is pure: bytes in, models out. A record that cannot be decoded raises
``SdrDecodeError`` so the caller can skip that record alone.
"""

from __future__ import annotations

from .conversion import Conversion, convert_reading, signed
from .models import SdrSensor, SensorKind, SensorReading, SensorStatus

__all__ = [
    "SdrDecodeError",
    "convert_reading",
    "decode_id_string",
    "decode_sensor_reading",
    "parse_controller_locator",
    "parse_sensor_records",
]

SDR_VERSION = 0x51
RECORD_FULL = 0x01
RECORD_COMPACT = 0x02
RECORD_MC_LOCATOR = 0x12
READING_TYPE_THRESHOLD = 0x01

#: Base unit codes (IPMI 2.0 Table 43-15) mapped to the unit symbols Home Assistant uses.
_UNIT_SYMBOLS: dict[int, str] = {
    1: "°C",
    2: "°F",
    3: "K",
    4: "V",
    5: "A",
    6: "W",
    7: "J",
    8: "C",
    18: "rpm",
    19: "Hz",
    20: "µs",
    21: "ms",
    22: "s",
    23: "min",
    24: "h",
    31: "%",
    35: "kWh",
}

#: Sensor type codes (IPMI 2.0 Table 42-3) that name a measurement kind.
_KIND_BY_SENSOR_TYPE = {
    0x01: SensorKind.TEMPERATURE,
    0x02: SensorKind.VOLTAGE,
    0x03: SensorKind.CURRENT,
    0x04: SensorKind.FAN,
}

#: Base unit codes that name a measurement kind whatever the sensor type says.
_KIND_BY_UNIT = {
    1: SensorKind.TEMPERATURE,
    2: SensorKind.TEMPERATURE,
    3: SensorKind.TEMPERATURE,
    4: SensorKind.VOLTAGE,
    5: SensorKind.CURRENT,
    6: SensorKind.POWER,
    18: SensorKind.FAN,
}

#: Threshold names in the order of the readable-threshold mask bits (IPMI 2.0 Table 43-1 bytes 19-20),
#: with the index of their raw value in the Full Sensor Record (bytes 37-42).
_THRESHOLDS = (("lnc", 41), ("lcr", 40), ("lnr", 39), ("unc", 38), ("ucr", 37), ("unr", 36))

#: Threshold names in the bit order of Get/Set Sensor Thresholds' mask and value bytes (IPMI 2.0 §35.8-35.9).
THRESHOLD_NAMES = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")

_BCD_PLUS = "0123456789 -.:,_"


class SdrDecodeError(ValueError):
    """An SDR record is malformed or of an unsupported layout; the record is skipped."""


def decode_id_string(type_length: int, data: bytes) -> str:
    """Decode an SDR/FRU ID string whose type/length byte is ``type_length`` (IPMI 2.0 §43.15).

    Type bits [7:6]: 00 Unicode (UTF-16LE when it looks like it, else UTF-8), 01 BCD plus,
    10 6-bit packed ASCII, 11 8-bit ASCII + Latin-1 (or UTF-8 when the bytes are valid UTF-8).
    ``data`` holds exactly the string's bytes.
    NULs, control characters and surrounding spaces are removed. Never raises, never loops.
    """
    kind = type_length >> 6
    if kind == 0b01:
        text = "".join(_BCD_PLUS[b >> 4] + _BCD_PLUS[b & 0x0F] for b in data)
    elif kind == 0b10:
        # 6-bit packed ASCII: a little-endian bit stream, six bits per character, offset 0x20.
        bits = int.from_bytes(data, "little")
        text = "".join(chr(((bits >> (6 * i)) & 0x3F) + 0x20) for i in range(len(data) * 8 // 6))
    elif kind == 0b00 and len(data) >= 2 and len(data) % 2 == 0 and data[1::2].count(0) == len(data) // 2:
        text = data.decode("utf-16-le", errors="replace")
    else:
        # Some firmware stores UTF-8 under "Unicode" or even "8-bit Latin-1"; valid multi-byte UTF-8
        # is almost never genuine Latin-1 text, so prefer it.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return "".join(ch for ch in text if ch.isprintable()).strip()


def _kind_and_unit(sensor_type: int, units1: int, base_unit: int, reading_type: int) -> tuple[SensorKind, str | None]:
    """Derive the measurement kind and unit symbol from the sensor type and unit bytes (Table 43-1 byte 21).

    A percentage reading is "%"; a compound unit (base unit divided or multiplied by a modifier unit)
    has no symbol here and is reported as ``OTHER``; a fan sensor with an unspecified unit reads rpm.
    """
    if reading_type != READING_TYPE_THRESHOLD or (units1 >> 6) == 0b11:
        return SensorKind.DISCRETE, None
    if units1 & 0x01:
        return SensorKind.OTHER, "%"
    if (units1 >> 1) & 0b11:
        return SensorKind.OTHER, None
    kind = _KIND_BY_UNIT.get(base_unit)
    if kind is None and base_unit == 0:
        kind = _KIND_BY_SENSOR_TYPE.get(sensor_type)
    if kind is None:
        return SensorKind.OTHER, _UNIT_SYMBOLS.get(base_unit)
    return kind, "rpm" if kind is SensorKind.FAN else _UNIT_SYMBOLS.get(base_unit)


def _alpha_modifier(index: int) -> str:
    """Alphabetic ID string instance modifier: 0 → "A", 25 → "Z", 26 → "AA" (IPMI 2.0 Table 43-2 byte 25)."""
    text = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        text = chr(ord("A") + rem) + text
    return text


def parse_sensor_records(record: bytes) -> list[SdrSensor]:
    """Parse one SDR record (header included) into the sensors it describes.

    Full Sensor Records give one sensor; Compact Sensor Records give ``share count`` sensors with
    consecutive sensor numbers and instance-modified names (IPMI 2.0 §43.2). Every other record type
    gives none. Raises ``SdrDecodeError`` for a truncated or malformed record.
    """
    if len(record) < 5:
        raise SdrDecodeError("record shorter than its header")
    record_id = record[0] | (record[1] << 8)
    rec_type = record[3]
    if rec_type not in (RECORD_FULL, RECORD_COMPACT):
        return []
    if record[2] != SDR_VERSION:
        raise SdrDecodeError(f"record 0x{record_id:04X} has SDR version 0x{record[2]:02X}")
    id_offset = 47 if rec_type == RECORD_FULL else 31
    if len(record) <= id_offset:
        raise SdrDecodeError(f"record 0x{record_id:04X} is truncated ({len(record)} bytes)")
    type_length = record[id_offset]
    name_bytes = record[id_offset + 1 : id_offset + 1 + (type_length & 0x1F)]
    base_name = decode_id_string(type_length, name_bytes)
    owner, lun, number = record[5], record[6] & 0x03, record[7]
    entity_id, entity_instance = record[8], record[9] & 0x7F
    sensor_type, reading_type = record[12], record[13]
    units1, base_unit = record[20], record[21]
    kind, unit = _kind_and_unit(sensor_type, units1, base_unit, reading_type)
    state_mask = 0
    if reading_type != READING_TYPE_THRESHOLD:
        # Assertion, deassertion and discrete reading masks (bytes 15-20): bits 0-14 are state offsets.
        state_mask = (
            int.from_bytes(record[14:16], "little")
            | int.from_bytes(record[16:18], "little")
            | int.from_bytes(record[18:20], "little")
        ) & 0x7FFF

    if rec_type == RECORD_FULL:
        conversion = None
        thresholds: dict[str, float] = {}
        settable: tuple[str, ...] = ()
        if kind is not SensorKind.DISCRETE:
            conversion = Conversion(
                m=signed(record[24] | ((record[25] & 0xC0) << 2), 10),
                b=signed(record[26] | ((record[27] & 0xC0) << 2), 10),
                k1=signed(record[29] & 0x0F, 4),
                k2=signed(record[29] >> 4, 4),
                analog_format=units1 >> 6,
                linearization=record[23] & 0x7F,
            )
            access = (record[11] >> 2) & 0b11
            if access in (0b01, 0b10):
                readable = record[18]
                for bit, (name, index) in enumerate(_THRESHOLDS):
                    if readable & (1 << bit):
                        value = conversion.convert(record[index])
                        if value is not None:
                            thresholds[name] = value
            if access == 0b10:
                # Settable threshold mask (Table 43-1 byte 20), same bit order as the readable mask.
                settable = tuple(name for bit, (name, _) in enumerate(_THRESHOLDS) if record[19] & (1 << bit))
        return [
            SdrSensor(
                key=f"{owner:02x}_{lun}_{number}",
                record_id=record_id,
                name=base_name or f"Sensor {number}",
                owner=owner,
                lun=lun,
                number=number,
                entity_id=entity_id,
                entity_instance=entity_instance,
                sensor_type=sensor_type,
                reading_type=reading_type,
                kind=kind,
                unit=unit,
                conversion=conversion,
                thresholds=thresholds,
                state_mask=state_mask,
                settable=settable,
            )
        ]

    share_count = max(1, record[23] & 0x0F)
    alpha = ((record[23] >> 4) & 0b11) == 0b01
    instance_increments = bool(record[24] & 0x80)
    modifier_offset = record[24] & 0x7F
    sensors = []
    for i in range(share_count):
        if share_count > 1:
            suffix = _alpha_modifier(modifier_offset + i) if alpha else str(modifier_offset + i)
            # "PS Status" + 1 reads "PS Status 1"; a name ending in a separator gets none added.
            separator = "" if base_name[-1:] in (" ", "-", "_") else " "
            name = f"{base_name}{separator}{suffix}" if base_name else f"Sensor {number + i}"
        else:
            name = base_name or f"Sensor {number}"
        sensors.append(
            SdrSensor(
                key=f"{owner:02x}_{lun}_{(number + i) & 0xFF}",
                record_id=record_id,
                name=name,
                owner=owner,
                lun=lun,
                number=(number + i) & 0xFF,
                entity_id=entity_id,
                entity_instance=(entity_instance + i if instance_increments else entity_instance) & 0x7F,
                sensor_type=sensor_type,
                reading_type=reading_type,
                kind=SensorKind.DISCRETE,
                unit=None,
                state_mask=state_mask,
            )
        )
    return sensors


def decode_sensor_reading(sensor: SdrSensor, data: bytes) -> SensorReading:
    """Decode the data of a Get Sensor Reading response (completion code stripped), IPMI 2.0 §35.14.

    ``data`` is [raw reading, flags, threshold or state bits 0-7, optional state bits 8-14]. A reading
    flagged "unavailable" or with scanning disabled has ``value`` None and ``available`` False.
    Raises ``SdrDecodeError`` when ``data`` is too short to hold a reading.
    """
    if len(data) < 2:
        raise SdrDecodeError(f"sensor {sensor.name!r}: reading of {len(data)} bytes")
    flags = data[1]
    if flags & 0x20 or not flags & 0x40:
        return SensorReading(value=None, status=None, available=False)
    bits = data[2] if len(data) > 2 else 0
    if sensor.is_threshold and sensor.conversion is not None:
        value = sensor.conversion.convert(data[0])
        if bits & 0b100100:
            status = SensorStatus.NON_RECOVERABLE
        elif bits & 0b010010:
            status = SensorStatus.CRITICAL
        elif bits & 0b001001:
            status = SensorStatus.NON_CRITICAL
        else:
            status = SensorStatus.OK
        return SensorReading(value=value, status=status, available=value is not None)
    states = bits | ((data[3] & 0x7F) << 8 if len(data) > 3 else 0)
    return SensorReading(value=None, status=None, available=True, states=states)


def decode_thresholds(sensor: SdrSensor, data: bytes) -> dict[str, float]:
    """Decode a Get Sensor Thresholds answer (IPMI 2.0 §35.9) into values in the sensor's unit.

    ``data`` is [readable mask, LNC, LCR, LNR, UNC, UCR, UNR] (completion code stripped); only the
    thresholds the mask marks readable are returned, keyed "lnc" … "unr". Raises ``SdrDecodeError`` for
    a short answer or a sensor without a conversion (not a threshold sensor).
    """
    if sensor.conversion is None:
        raise SdrDecodeError(f"sensor {sensor.name!r} has no threshold conversion")
    if len(data) < 1 + len(THRESHOLD_NAMES):
        raise SdrDecodeError(f"sensor {sensor.name!r}: thresholds of {len(data)} bytes")
    thresholds: dict[str, float] = {}
    for bit, name in enumerate(THRESHOLD_NAMES):
        if data[0] & (1 << bit):
            value = sensor.conversion.convert(data[1 + bit])
            if value is not None:
                thresholds[name] = value
    return thresholds


def parse_controller_locator(record: bytes) -> tuple[int, str] | None:
    """Return (slave address, name) of a Management Controller Device Locator record, else None.

    IPMI 2.0 §43.9, Table 43-9: byte 6 device slave address, byte 16 the ID string type/length, then
    the name (0-based offsets 5 and 15). Any other record type, or a truncated one, gives None.
    """
    if len(record) < 16 or record[3] != RECORD_MC_LOCATOR:
        return None
    type_length = record[15]
    name = decode_id_string(type_length, record[16 : 16 + (type_length & 0x1F)])
    return record[5], name
