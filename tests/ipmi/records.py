"""Builders of SDR records and Get Sensor Reading answers, laid out byte by byte as IPMI 2.0 §43 says."""

from __future__ import annotations


def _id_bytes(name: str | bytes, id_type: int) -> bytes:
    raw = name.encode("latin-1") if isinstance(name, str) else name
    return bytes([(id_type << 6) | len(raw)]) + raw


def full_record(
    record_id: int,
    number: int,
    name: str | bytes,
    *,
    sensor_type: int = 0x01,
    reading_type: int = 0x01,
    analog_format: int = 0,
    base_unit: int = 1,
    m: int = 1,
    b: int = 0,
    b_exp: int = 0,
    r_exp: int = 0,
    linearization: int = 0,
    thresholds: dict[str, int] | None = None,
    id_type: int = 0b11,
    owner: int = 0x20,
    lun: int = 0,
) -> bytes:
    """A Full Sensor Record (type 0x01, IPMI 2.0 Table 43-1); ``thresholds`` maps lnc..unr to raw bytes."""
    order = ["lnc", "lcr", "lnr", "unc", "ucr", "unr"]
    thresholds = thresholds or {}
    readable = sum(1 << order.index(k) for k in thresholds)
    body = bytearray(42)  # bytes 6-47 of the record; the ID string type/length byte follows
    body[0], body[1], body[2] = owner, lun, number
    body[3], body[4] = 0x07, 0x01  # entity: system board, instance 1
    body[5] = 0x7F
    body[6] = 0x08 if thresholds else 0x00  # threshold access: readable and settable
    body[7], body[8] = sensor_type, reading_type
    body[13] = readable
    body[14] = readable
    body[15] = analog_format << 6
    body[16] = base_unit
    body[18] = linearization
    m &= 0x3FF
    b &= 0x3FF
    body[19], body[20] = m & 0xFF, (m >> 8) << 6
    body[21], body[22] = b & 0xFF, (b >> 8) << 6
    body[24] = ((r_exp & 0x0F) << 4) | (b_exp & 0x0F)
    for key, index in (("unr", 31), ("ucr", 32), ("unc", 33), ("lnr", 34), ("lcr", 35), ("lnc", 36)):
        body[index] = thresholds.get(key, 0)
    body += _id_bytes(name, id_type)
    return bytes([record_id & 0xFF, record_id >> 8, 0x51, 0x01, len(body)]) + bytes(body)


def compact_record(
    record_id: int,
    number: int,
    name: str | bytes,
    *,
    sensor_type: int = 0x08,
    reading_type: int = 0x6F,
    share_count: int = 1,
    alpha: bool = False,
    modifier_offset: int = 0,
    instance_increments: bool = False,
    id_type: int = 0b11,
    masks: tuple[int, int, int] = (0, 0, 0),
) -> bytes:
    """A Compact Sensor Record (type 0x02, IPMI 2.0 Table 43-2).

    ``masks`` are the assertion event, deassertion event and discrete reading masks (bytes 15-20).
    """
    body = bytearray(26)  # bytes 6-31 of the record; the ID string type/length byte follows
    body[0], body[1], body[2] = 0x20, 0x00, number
    body[3], body[4] = 0x0A, 0x01
    body[7], body[8] = sensor_type, reading_type
    for index, mask in zip((9, 11, 13), masks, strict=True):
        body[index], body[index + 1] = mask & 0xFF, mask >> 8
    body[15] = 0xC0  # no analog reading
    body[18] = ((0b01 if alpha else 0b00) << 4) | (share_count & 0x0F)
    body[19] = (0x80 if instance_increments else 0) | (modifier_offset & 0x7F)
    body += _id_bytes(name, id_type)
    return bytes([record_id & 0xFF, record_id >> 8, 0x51, 0x02, len(body)]) + bytes(body)


def pack_6bit(text: str) -> bytes:
    """Pack ASCII text six bits a character, little-endian bit order (IPMI 2.0 §43.15)."""
    bits = 0
    for i, ch in enumerate(text):
        bits |= (ord(ch) - 0x20) << (6 * i)
    length = (len(text) * 6 + 7) // 8
    return bits.to_bytes(length, "little")
