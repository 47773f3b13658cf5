"""FRU inventory: reading FRU device 0 and parsing its board and product info areas (IPMI FRU spec v1.0, §8-§11)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import IpmiConnectionError, IpmiError
from .protocol import CMD_GET_FRU_AREA_INFO, CMD_READ_FRU_DATA, NETFN_STORAGE
from .records import ChunkSize, Requester, read_chunked
from .sdr import decode_id_string

_LOGGER = logging.getLogger(__name__)

_END_OF_FIELDS = 0xC1


@dataclass(frozen=True, kw_only=True, slots=True)
class FruInfo:
    """What FRU 0 says about the system: board and product manufacturer, name and serial (text or None)."""

    board_manufacturer: str | None = None
    board_product: str | None = None
    board_serial: str | None = None
    product_manufacturer: str | None = None
    product_name: str | None = None
    product_serial: str | None = None


def _fields(area: bytes, start: int, count: int) -> list[str | None]:
    """Read up to ``count`` type/length-prefixed fields from ``area`` starting at byte ``start`` (FRU §13)."""
    out: list[str | None] = []
    pos = start
    while len(out) < count and pos < len(area) and area[pos] != _END_OF_FIELDS:
        type_length = area[pos]
        length = type_length & 0x3F
        raw = area[pos + 1 : pos + 1 + length]
        pos += 1 + length
        if (type_length >> 6) == 0b00:  # binary or unspecified: not text
            out.append(None)
            continue
        # FRU type codes share the SDR ID string encodings; only the length field is wider.
        text = decode_id_string(type_length & 0xC0, raw)
        out.append(text or None)
    return out + [None] * (count - len(out))


def parse_fru(data: bytes) -> FruInfo:
    """Parse a FRU image (common header first). Unreadable or absent areas give None fields; never raises."""
    if len(data) < 8 or data[0] & 0x0F != 0x01:
        return FruInfo()
    board_offset, product_offset = data[3] * 8, data[4] * 8
    board: list[str | None] = [None] * 3
    product: list[str | None] = [None] * 5
    if board_offset and board_offset + 6 < len(data):
        # Board area: version, length, language, 3-byte manufacturing date, then the fields.
        board = _fields(data[board_offset:], 6, 3)
    if product_offset and product_offset + 3 < len(data):
        # Product area: version, length, language, then manufacturer, name, part/model, version, serial.
        product = _fields(data[product_offset:], 3, 5)
    return FruInfo(
        board_manufacturer=board[0],
        board_product=board[1],
        board_serial=board[2],
        product_manufacturer=product[0],
        product_name=product[1],
        product_serial=product[4],
    )


def read_fru(requester: Requester, device: int = 0) -> FruInfo:
    """Read and parse the board and product areas of FRU ``device``, in chunks that shrink when refused.

    Get FRU Inventory Area Info and Read FRU Data (IPMI 2.0 §34.1-34.2).

    A BMC without FRU data, or one that answers a completion code or malformed data, gives an empty
    ``FruInfo``; only a lost connection (``IpmiConnectionError``) is raised.
    """
    try:
        info = requester.request(NETFN_STORAGE, CMD_GET_FRU_AREA_INFO, (device,))
        size = info[0] | (info[1] << 8)
        chunk = ChunkSize()

        def fetch(offset: int, count: int) -> bytes:
            data = requester.request(NETFN_STORAGE, CMD_READ_FRU_DATA, (device, offset & 0xFF, offset >> 8, count))
            return data[1 : 1 + data[0]] if data else b""

        header = read_chunked(fetch, 0, min(8, size), chunk)
        if len(header) < 8:
            return FruInfo()
        image = bytearray(size)
        image[:8] = header
        for offset_byte in (header[3], header[4]):
            start = offset_byte * 8
            if not start or start + 2 > size:
                continue
            head = read_chunked(fetch, start, start + 2, chunk)
            length = min(head[1] * 8 if len(head) > 1 else 0, size - start)
            area = read_chunked(fetch, start, start + length, chunk)
            image[start : start + len(area)] = area
        return parse_fru(bytes(image))
    except IpmiConnectionError:
        raise
    except (IpmiError, IndexError) as err:
        _LOGGER.debug("FRU %d unreadable: %s", device, err)
        return FruInfo()
