"""FRU parsing of board and product areas (Platform Management FRU Information Storage Definition v1.0)."""

from custom_components.zephyr_ipmi.ipmi.fru import FruInfo, parse_fru


def _field(text: str) -> bytes:
    raw = text.encode("latin-1")
    return bytes([0xC0 | len(raw)]) + raw


def _area(prefix: bytes, *fields: bytes) -> bytes:
    body = prefix + b"".join(fields) + b"\xc1"
    body += b"\x00" * (-(len(body) + 1) % 8)
    return body + b"\x00"  # checksum byte (not verified)


def _image() -> bytes:
    board = _area(
        bytes([0x01, 0x00, 0x19, 0x00, 0x00, 0x00]), _field("Supermicro"), _field("X11SPM-F"), _field("WM19AS001")
    )
    board = board[:1] + bytes([len(board) // 8]) + board[2:]
    product = _area(
        bytes([0x01, 0x00, 0x19]),
        _field("Supermicro"),
        _field("SYS-5019P"),
        _field("PART-1"),
        bytes([0x00]),  # binary/empty version field
        _field("S123456789"),
    )
    product = product[:1] + bytes([len(product) // 8]) + product[2:]
    header = bytes([0x01, 0x00, 0x00, 0x01, 0x01 + len(board) // 8, 0x00, 0x00])
    header += bytes([-sum(header) & 0xFF])
    return header + board + product


def test_board_and_product_fields() -> None:
    info = parse_fru(_image())
    assert info == FruInfo(
        board_manufacturer="Supermicro",
        board_product="X11SPM-F",
        board_serial="WM19AS001",
        product_manufacturer="Supermicro",
        product_name="SYS-5019P",
        product_serial="S123456789",
    )


def test_missing_or_damaged_fru_gives_no_info() -> None:
    assert parse_fru(b"") == FruInfo()
    assert parse_fru(b"\xff" * 16) == FruInfo()
    truncated = _image()[:12]
    assert parse_fru(truncated).product_name is None
