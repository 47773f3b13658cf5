"""FRU inventory image for FRU device 0 (chassis, board and product info areas).

Protocol source: "IPMI Platform Management FRU Information Storage Definition" v1.0 rev 1.3: common
header (section 8), chassis info area (section 10), board info area (section 11), product info area
(section 12), type/length byte (section 13); read through Get FRU Inventory Area Info (0Ah/10h) and Read
FRU Data (0Ah/11h), IPMI 2.0 sections 34.1 and 34.2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FruInfo:
    """Text fields of FRU 0.

    ``mfg_minutes`` is the board manufacturing date in minutes since
    1996-01-01 00:00 UTC (FRU spec section 11).
    """

    board_manufacturer: str
    board_product: str
    board_serial: str
    board_part: str
    product_manufacturer: str
    product_name: str
    product_part: str
    product_version: str
    product_serial: str
    chassis_type: int = 0x17  # rack mount chassis (SMBIOS chassis type)
    chassis_part: str = ""
    chassis_serial: str = ""
    asset_tag: str = ""
    mfg_minutes: int = 12_000_000


def _field(text: str) -> bytes:
    raw = text.encode("latin-1")
    return bytes([0xC0 | len(raw)]) + raw


def _area(body: bytes) -> bytes:
    """Close an info area: end marker C1h, pad to a multiple of 8 bytes, zero checksum."""
    data = bytearray(body) + b"\xc1"
    while (len(data) + 1) % 8:
        data.append(0)
    data[1] = (len(data) + 1) // 8
    data.append((-sum(data)) & 0xFF)
    return bytes(data)


def build_fru(info: FruInfo) -> bytes:
    """FRU image: common header, chassis, board and product areas (offsets in 8-byte multiples)."""
    chassis = _area(bytes([0x01, 0x00, info.chassis_type]) + _field(info.chassis_part) + _field(info.chassis_serial))
    mfg = info.mfg_minutes.to_bytes(3, "little")
    board = _area(
        bytes([0x01, 0x00, 0x00])
        + mfg
        + _field(info.board_manufacturer)
        + _field(info.board_product)
        + _field(info.board_serial)
        + _field(info.board_part)
        + _field("")  # FRU file id
    )
    product = _area(
        bytes([0x01, 0x00, 0x00])
        + _field(info.product_manufacturer)
        + _field(info.product_name)
        + _field(info.product_part)
        + _field(info.product_version)
        + _field(info.product_serial)
        + _field(info.asset_tag)
        + _field("")  # FRU file id
    )
    chassis_off = 1
    board_off = chassis_off + len(chassis) // 8
    product_off = board_off + len(board) // 8
    header = bytearray([0x01, 0x00, chassis_off, board_off, product_off, 0x00, 0x00])
    header.append((-sum(header)) & 0xFF)
    return bytes(header) + chassis + board + product
