"""BmcClient's handling of malformed replies that no peer here produces, through a scripted session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiConnectionError, IpmiProtocolError
from custom_components.zephyr_ipmi.ipmi.client import SDR_CACHE_VERSION
from custom_components.zephyr_ipmi.ipmi.errors import IpmiCompletionCodeError
from custom_components.zephyr_ipmi.ipmi.sdr_cache import SdrCache

from .records import full_record

DEVICE_ID = bytes([0x20, 0x01, 0x01, 0x73, 0x02, 0xBF, 0x7C, 0x2A, 0x00, 0x32, 0x1B])
RECORD = full_record(0, 0x01, "CPU Temp")

Handler = Callable[[bytes], bytes]


class ScriptedSession:
    """Answers requests from a table of (netfn, command) → handler; a missing entry answers 0xC1."""

    def __init__(self, handlers: dict[tuple[int, int], Handler]) -> None:
        self.handlers = handlers
        self.alive = True
        self.requests = 0
        self.answers = 0
        self.generation = 1
        self.closes = 0
        self.round_trip = 0.001
        self.idle = 0.0
        self.expired: list[float] = []

    def open(self, *, closes: int | None = None) -> None:
        self.alive = True
        self.generation += 1

    def close(self) -> None:
        self.alive = False
        self.closes += 1

    def drop(self, generation: int) -> None:
        self.alive = False

    def suspect_expired(self, idle: float) -> None:
        self.expired.append(idle)

    def request(
        self,
        netfn: int,
        command: int,
        data: bytes | tuple[int, ...] = (),
        *,
        lun: int = 0,
        generation: int | None = None,
    ) -> bytes:
        self.requests += 1
        handler = self.handlers.get((netfn, command))
        if handler is None:
            self.answers += 1
            raise IpmiCompletionCodeError(netfn, command, 0xC1)
        try:
            answer = handler(bytes(data))
        except IpmiCompletionCodeError:
            self.answers += 1
            raise
        self.answers += 1
        return answer

    def request_many(
        self, requests: list[tuple[int, int, bytes, int]], *, generation: int | None = None, urgent: bool = False
    ) -> list[bytes | IpmiCompletionCodeError]:
        results: list[bytes | IpmiCompletionCodeError] = []
        for netfn, command, data, lun in requests:
            try:
                results.append(self.request(netfn, command, data, lun=lun, generation=generation))
            except IpmiCompletionCodeError as err:
                results.append(err)
        return results


def _code(code: int) -> Handler:
    def handler(_: bytes) -> bytes:
        raise IpmiCompletionCodeError(0, 0, code)

    return handler


def _sdr(record: bytes = RECORD) -> dict[tuple[int, int], Handler]:
    def get_sdr(data: bytes) -> bytes:
        offset, count = data[4], data[5]
        return b"\xff\xff" + record[offset : offset + count]

    return {(0x0A, 0x22): lambda _: b"\x01\x00", (0x0A, 0x23): get_sdr}


def _client(handlers: dict[tuple[int, int], Handler], tmp_path: Path | None = None) -> BmcClient:
    client = BmcClient("127.0.0.1", 623, "ADMIN", "secret", sdr_cache_dir=tmp_path)
    client._connection.session = ScriptedSession({(0x06, 0x01): lambda _: DEVICE_ID, **handlers})  # type: ignore[assignment]
    return client


def test_identity_without_guid_or_fru_uses_manufacturer_product_serial() -> None:
    client = _client(
        {(0x06, 0x37): _code(0xC1), (0x0A, 0x10): lambda _: b"\x10\x00\x00", (0x0A, 0x11): lambda _: b"\x00"}
    )
    identity = client.connect()
    assert identity.guid is None
    assert identity.model is None
    assert identity.unique_id == "10876-6962-unknown"
    assert identity.firmware == "1.73"
    assert identity.ipmi_version == "2.0"


def test_short_device_id_is_a_protocol_error() -> None:
    client = _client({(0x06, 0x01): lambda _: b"\x20\x01"})
    with pytest.raises(IpmiProtocolError, match="Get Device ID"):
        client.connect()


def test_fru_area_beyond_its_size_is_ignored() -> None:
    header = bytes([0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0xEF])  # board area at 128, FRU is 16 bytes

    def read(data: bytes) -> bytes:
        offset, count = data[1] | (data[2] << 8), data[3]
        chunk = header[offset : offset + count]
        return bytes([len(chunk)]) + chunk

    client = _client({(0x0A, 0x10): lambda _: b"\x10\x00\x00", (0x0A, 0x11): read})
    assert client.connect().model is None


def test_connection_lost_while_reading_fru_is_not_hidden() -> None:
    def lost(_: bytes) -> bytes:
        raise IpmiConnectionError("the BMC did not answer")

    client = _client({(0x0A, 0x10): lost})
    with pytest.raises(IpmiConnectionError):
        client.connect()


def test_a_poll_unanswered_again_after_logging_in_again_fails_once() -> None:
    """After an idle time the first request goes unanswered, and again on the new session: one login, then the error.

    (A BMC that takes a login but answers no request on it; no peer here behaves so on demand.)
    """
    readings: list[bytes] = []

    def lost(data: bytes) -> bytes:
        readings.append(data)
        raise IpmiConnectionError("the BMC did not answer")

    client = _client(
        {
            (0x06, 0x37): _code(0xC1),
            (0x0A, 0x10): lambda _: b"\x10\x00\x00",
            (0x0A, 0x11): lambda _: b"\x00",
            **_sdr(),
            (0x04, 0x2D): lost,
        }
    )
    client.connect()
    client.sensors()
    session: ScriptedSession = client._connection.session  # type: ignore[assignment]
    session.idle = 30.0
    with pytest.raises(IpmiConnectionError):
        client.poll()
    assert len(readings) == 2  # once on the old session, once on the new one
    assert (session.expired, session.generation, session.alive) == ([30.0], 2, False)


@pytest.mark.parametrize(
    ("get_sdr", "message"),
    [
        (lambda _: b"\xff", "answered 1 bytes"),
        (lambda _: b"\xff\xff\x00\x00", "header truncated"),
        (_code(0xD5), "0xD5"),
    ],
)
def test_malformed_sdr_replies(get_sdr: Handler, message: str) -> None:
    client = _client({(0x0A, 0x22): lambda _: b"\x01\x00", (0x0A, 0x23): get_sdr})
    with pytest.raises((IpmiProtocolError, IpmiCompletionCodeError), match=message):
        client.sensors()


def test_bmc_without_sdr_repository_info_and_reservations() -> None:
    handlers = _sdr()
    handlers[(0x0A, 0x22)] = _code(0xC1)
    client = _client({**handlers, (0x04, 0x2D): lambda _: b"\x2d\xc0\x00"})
    assert [s.name for s in client.sensors()] == ["CPU Temp"]
    # Nothing cheap to compare: keep the sensors without re-reading.
    assert client.check_sdr() is False
    snapshot = client.poll()
    assert snapshot.readings["20_0_1"].value == 45.0
    assert snapshot.power is None
    assert snapshot.power_on is None


def test_malformed_dcmi_reply_means_no_dcmi() -> None:
    client = _client({**_sdr(), (0x04, 0x2D): lambda _: b"\x2d\xc0\x00", (0x2C, 0x02): lambda _: b"\xdc\x01"})
    assert client.poll().power is None
    requests = client.request_count
    client.poll()
    assert client.request_count - requests == 2  # the sensor and chassis status; DCMI is not asked again


def test_cache_of_another_version_is_read_again(tmp_path: Path) -> None:
    handlers = {**_sdr(), (0x0A, 0x20): lambda _: bytes([0x51, 1, 0, 0, 0]) + bytes(8) + b"\x00"}
    _client(handlers, tmp_path).sensors()
    (cache,) = tmp_path.glob("sdr-*.json")
    content = json.loads(cache.read_text(encoding="utf-8"))
    assert content["version"] == SDR_CACHE_VERSION
    content["version"] = SDR_CACHE_VERSION + 1
    cache.write_text(json.dumps(content), encoding="utf-8")
    client = _client(handlers, tmp_path)
    assert [s.name for s in client.sensors()] == ["CPU Temp"]
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == SDR_CACHE_VERSION


def test_sdr_cache_removal(tmp_path: Path) -> None:
    handlers = {**_sdr(), (0x0A, 0x20): lambda _: bytes([0x51, 1, 0, 0, 0]) + bytes(8) + b"\x00"}
    _client(handlers, tmp_path).sensors()
    (path,) = tmp_path.glob("sdr-*.json")
    cache = SdrCache(path)
    cache.remove()
    assert not path.exists()
    cache.remove()  # already gone: nothing to do
    blocked = SdrCache(tmp_path / "a-folder")
    blocked.path.mkdir()
    (blocked.path / "inside").write_text("", encoding="utf-8")
    blocked.remove()  # a folder where the file should be: logged, not raised
    assert blocked.path.exists()


@pytest.mark.parametrize("guid", [bytes(16), b"\xff" * 16, b"\x01\x02"])
def test_empty_or_short_guid_means_no_guid(guid: bytes) -> None:
    client = _client({(0x06, 0x37): lambda _: guid, (0x0A, 0x10): _code(0xCB)})
    assert client.connect().guid is None


def test_busy_guid_answer_is_not_a_missing_guid() -> None:
    client = _client({(0x06, 0x37): _code(0xC0)})
    with pytest.raises(IpmiCompletionCodeError):
        client.connect()
