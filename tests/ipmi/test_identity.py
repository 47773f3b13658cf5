"""Identity decisions that no simulator profile shows: placeholder FRU texts, LAN channels, the same-BMC rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.zephyr_ipmi.ipmi import BmcIdentity
from custom_components.zephyr_ipmi.ipmi.identity import read_mac, same_bmc

from .records import full_record
from .test_client_faults import Handler, _client, _code

BASE = BmcIdentity(
    manufacturer_id=10876,
    manufacturer="Supermicro",
    product_id=0x1B13,
    device_id=0x20,
    device_revision=1,
    firmware="1.73",
    ipmi_version="2.0",
)


def _fru(serial: bytes, product: bytes = b"Default string") -> Handler:
    """A FRU image with a product area: manufacturer, name, part, version, serial (FRU spec §10)."""

    def field(text: bytes) -> bytes:
        return bytes([0xC0 | len(text)]) + text

    area = bytes([0x01, 0x00, 0x19]) + field(b"ACME") + field(product) + field(b"P") + field(b"V") + field(serial)
    area += b"\xc1"
    area += b"\x00" * (-(len(area) + 1) % 8) + b"\x00"
    area = area[:1] + bytes([len(area) // 8]) + area[2:]
    image = bytes([0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xFE]) + area

    def read(data: bytes) -> bytes:
        offset, count = data[1] | (data[2] << 8), data[3]
        chunk = image[offset : offset + count]
        return bytes([len(chunk)]) + chunk

    return read


def _locator(name: bytes) -> bytes:
    body = bytes([0x20, 0x00, 0x00, 0xBF, 0, 0, 0, 0x2E, 0x01, 0x00, 0xC0 | len(name)]) + name
    return bytes([0x01, 0x00, 0x51, 0x12, len(body)]) + body


def _sdr(*records: bytes) -> dict[tuple[int, int], Handler]:
    def get_sdr(data: bytes) -> bytes:
        index = max(0, (data[2] | (data[3] << 8)) - 1)
        record = records[index]
        next_id = 0xFFFF if index == len(records) - 1 else index + 2
        offset, count = data[4], data[5]
        return bytes([next_id & 0xFF, next_id >> 8]) + record[offset : offset + count]

    return {(0x0A, 0x22): lambda _: b"\x01\x00", (0x0A, 0x23): get_sdr}


def test_placeholder_fru_texts_count_as_absent_and_the_mac_is_read() -> None:
    client = _client(
        {
            (0x06, 0x37): lambda _: bytes(16),
            (0x0A, 0x10): lambda _: b"\x40\x00\x00",
            (0x0A, 0x11): _fru(b"To be filled by O.E.M."),
            (0x0C, 0x02): lambda data: _code(0xCC)(data) if data[0] == 0x0E else b"\x11\x00\x25\x90\xaa\xbb\xcc",
            **_sdr(_locator(b"BMC"), full_record(2, 0x01, "CPU Temp")),
        }
    )
    identity = client.connect()
    assert (identity.guid, identity.placeholder_guid) == (None, "00000000-0000-0000-0000-000000000000")
    assert (identity.serial, identity.model) == (None, None)
    assert identity.mac == "00:25:90:aa:bb:cc"  # channel 0Eh refused, channel 1 answered
    assert identity.unique_id == "10876-6962-00:25:90:aa:bb:cc"
    assert client.controller_name() is None  # "BMC" names no board
    assert identity.name == "Supermicro product 0x1B32"


def test_controller_name_from_the_sdr_names_a_bmc_without_fru() -> None:
    client = _client({(0x0A, 0x10): _code(0xCB), **_sdr(full_record(1, 0x01, "CPU Temp"), _locator(b"X10SLM BMC"))})
    identity = client.connect()
    assert identity.controller_name is None  # not read at every login: it costs an SDR walk
    assert client.controller_name() == "X10SLM BMC"
    assert replace(identity, controller_name="X10SLM BMC").name == "Supermicro X10SLM BMC"


def test_unreadable_sdr_or_mac_leaves_them_unknown() -> None:
    client = _client(
        {
            (0x06, 0x37): _code(0xC1),
            (0x0A, 0x10): _code(0xCB),
            (0x0A, 0x23): _code(0xD5),
            (0x0C, 0x02): lambda _: b"\x11" + b"\xff" * 6,
        }
    )
    identity = client.connect()
    assert (identity.mac, client.controller_name(), identity.unique_id) == (None, None, "10876-6962-unknown")


def test_a_lost_connection_while_reading_the_mac_is_not_hidden() -> None:
    from custom_components.zephyr_ipmi.ipmi import IpmiConnectionError

    def lost(_: bytes) -> bytes:
        raise IpmiConnectionError("the BMC did not answer")

    client = _client({(0x06, 0x37): _code(0xC1), (0x0A, 0x10): _code(0xCB), (0x0C, 0x02): lost})
    with pytest.raises(IpmiConnectionError):
        client.connect()
    with pytest.raises(IpmiConnectionError):
        read_mac(client._connection.session)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seen", "same"),
    [
        (replace(BASE, guid="g1"), True),  # GUIDs on both sides decide alone
        (replace(BASE, guid="g2", serial="S1"), False),
        (replace(BASE, serial="S1", firmware="2.00"), True),  # serial matches: a firmware update
        (replace(BASE, serial="S2"), False),
        (replace(BASE, serial="S1", mac="00:00:00:00:00:02"), False),
        (replace(BASE, serial="S1", model="X11-OTHER"), False),
        (replace(BASE, serial="S1", product_id=1), False),
        (replace(BASE, firmware="1.73"), True),  # nothing unique to compare: the firmware matches
        (replace(BASE, firmware="1.74"), False),
    ],
)
def test_same_bmc_rules(seen: BmcIdentity, same: bool) -> None:
    known = replace(BASE, guid="g1", serial="S1", mac="00:00:00:00:00:01", model="X11")
    if seen.guid is None:
        known = replace(known, guid=None)
    if seen.serial is None:
        known = replace(known, serial=None, mac=None)
    assert same_bmc(known, seen) is same
