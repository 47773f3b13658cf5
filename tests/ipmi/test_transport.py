"""An established session's requests go out in the calling thread, several at once, over bmcsim on 127.0.0.1.

Cost (m) of ipmi/session.py: each login gets a UDP socket of its own; once pyghmi has established the session, that
socket leaves pyghmi's I/O thread and ``CallingThreadTransport`` sends the requests and reads the answers with the
session's keys. A poll's Get Sensor Reading requests go 16 per batch with up to ``window`` of them in flight.

What is checked is what crosses the wire: a ``WireTap`` stands between the transport and its socket and reads every
datagram with the session's AES key (IPMI 2.0 §13.6: session header, then a 16-byte IV and the AES-CBC-128
ciphertext; Figure 13-4 for the IPMI message inside), and bmcsim's request log shows what the BMC got and from where.
Counts are compared, never times.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pyghmi.ipmi.private import session as pyghmi_session

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, BmcSnapshot, IpmiCompletionCodeError, IpmiConnectionError
from custom_components.zephyr_ipmi.ipmi import session as session_module
from custom_components.zephyr_ipmi.ipmi.models import SdrSensor
from custom_components.zephyr_ipmi.ipmi.session import CallingThreadTransport, LanplusSession

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]

#: Get Sensor Reading (IPMI 2.0 §35.14): netfn 04h, command 2Dh; Close Session (§22.19): netfn 06h, command 3Ch.
SENSOR_READING = (0x04, 0x2D)
CLOSE_SESSION = (0x06, 0x3C)


def _client(sim: Simulator, user: str = "admin", password: str = "admin") -> BmcClient:  # noqa: S107 - bmcsim's
    return BmcClient("127.0.0.1", sim.port, user, password)


def _session(client: BmcClient) -> LanplusSession:
    return client._connection.session


def _pyghmi(client: BmcClient) -> Any:
    """pyghmi's session object under the client's login."""
    return _session(client)._command.ipmi_session


def _transport(client: BmcClient) -> CallingThreadTransport:
    transport = getattr(_pyghmi(client), "zephyr_transport", None)
    assert isinstance(transport, CallingThreadTransport)
    return transport


def _readings(sensors: list[SdrSensor]) -> list[tuple[int, int, bytes, int]]:
    return [(*SENSOR_READING, bytes((sensor.number,)), sensor.lun) for sensor in sensors]


def _assert_complete(snapshot: BmcSnapshot, sensors: list[SdrSensor]) -> None:
    """Every sensor has a reading and none failed."""
    assert snapshot.errors == {}
    assert set(snapshot.readings) == {sensor.key for sensor in sensors}


@dataclass(frozen=True, slots=True)
class Datagram:
    """One IPMI message seen on the wire: ``sent`` (request) or not (answer), its rqSeq, command and body.

    ``body`` is the request data, or the completion code and response data of an answer.
    """

    sent: bool
    rq_seq: int
    command: int
    body: bytes
    thread: int


class WireTap:
    """Stands in for a taken-over session's socket: forwards everything and reads each datagram with the AES key."""

    def __init__(self, sock: Any, aes_key: bytes) -> None:
        self._sock = sock
        self._aes = algorithms.AES(aes_key)
        self.datagrams: list[Datagram] = []

    def _message(self, packet: bytes) -> bytes:
        # Session header (IPMI 2.0 Table 13-8): payload length at bytes 14-15; the payload is IV + ciphertext.
        length = int.from_bytes(packet[14:16], "little")
        payload = packet[16 : 16 + length]
        decryptor = Cipher(self._aes, modes.CBC(payload[:16])).decryptor()
        plain = decryptor.update(payload[16:]) + decryptor.finalize()
        return plain[: len(plain) - 1 - plain[-1]]  # pad bytes and pad length off (Table 13-20)

    def _note(self, packet: bytes, *, sent: bool) -> None:
        # Request: rsAddr, netFn/LUN, checksum, rqAddr, rqSeq/LUN, cmd, data, checksum. An answer has the completion
        # code where the request's data starts.
        message = self._message(packet)
        self.datagrams.append(Datagram(sent, message[4] >> 2, message[5], message[6:-1], threading.get_ident()))

    def sendto(self, packet: bytes, address: Any) -> int:
        self._note(packet, sent=True)
        sent: int = self._sock.sendto(packet, address)
        return sent

    def recvfrom(self, size: int, flags: int = 0) -> tuple[bytes, Any]:
        packet, source = self._sock.recvfrom(size, flags)
        self._note(packet, sent=False)
        return packet, source

    def most_in_flight(self) -> int:
        """The most requests sent and not yet answered at any one time."""
        waiting: set[int] = set()
        most = 0
        for datagram in self.datagrams:
            if datagram.sent:
                waiting.add(datagram.rq_seq)
                most = max(most, len(waiting))
            else:
                waiting.discard(datagram.rq_seq)
        return most

    def sent_before_first_answer(self) -> int:
        """How many requests went out before the first answer was read."""
        return next((n for n, datagram in enumerate(self.datagrams) if not datagram.sent), len(self.datagrams))

    def first_window(self) -> int:
        """How many requests were in flight when the first answer came while more than one was (1: never)."""
        waiting: set[int] = set()
        for datagram in self.datagrams:
            if datagram.sent:
                waiting.add(datagram.rq_seq)
            elif len(waiting) > 1:
                return len(waiting)
            else:
                waiting.discard(datagram.rq_seq)
        return 1

    def in_flight_when_sent(self, command: int, body: bytes) -> list[int]:
        """For each sending of the request (``command``, ``body``): how many others were unanswered at that moment."""
        waiting: set[int] = set()
        counts = []
        for datagram in self.datagrams:
            if datagram.sent:
                if (datagram.command, datagram.body) == (command, body):
                    counts.append(len(waiting))
                waiting.add(datagram.rq_seq)
            else:
                waiting.discard(datagram.rq_seq)
        return counts


@contextmanager
def wire_tap(client: BmcClient) -> Iterator[WireTap]:
    """Put a ``WireTap`` between the client's transport and its socket for the block."""
    transport = _transport(client)
    real = transport._socket
    tap = WireTap(real, bytes(_pyghmi(client).aeskey))
    transport._socket = tap  # type: ignore[assignment]
    try:
        yield tap
    finally:
        transport._socket = real


def _wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Wait (up to ``seconds``) for something the BMC does on its own thread; True once it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _active_sessions(sim: Simulator) -> list[dict[str, Any]]:
    return [s for s in sim.control.sessions() if s["state"] == "active"]


def _process_wide() -> dict[str, int]:
    """What logins could leave behind in the process: sockets pyghmi reads or pools, and sockets made for a login."""
    return {
        "pyghmi.iosockets": len(pyghmi_session.iosockets),
        "pyghmi.socketpool": len(pyghmi_session.Session.socketpool),
        "zephyr._DEDICATED": len(session_module._DEDICATED),
    }


def _assert_nothing_left(before: dict[str, int], note: object = None) -> None:
    assert _process_wide() == before, note


@pytest.fixture
def quick_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retired socket is closed 0.05 s after it left pyghmi instead of 1 s."""
    monkeypatch.setattr(session_module, "RETIRE_DELAY", 0.05)


def _closed(sock: socket.socket) -> bool:
    """Whether ``sock`` gets closed: the sockets retired before it (some with a longer delay) are closed first."""
    return _wait_until(lambda: session_module.drain_received_queue() or sock.fileno() == -1)


# -- the calling thread ----------------------------------------------------------------------------------------------


def test_requests_are_sent_and_answered_in_the_calling_thread(bmc_sim_factory: Factory) -> None:
    """After login, every request goes out from the caller's thread on the login's own socket, off pyghmi's I/O thread.

    pyghmi's path would queue each answer for its event loop (the process-wide ``sessionqueue`` and the session's
    ``pktqueue``); here nothing is queued there, and the BMC saw every datagram of the client, from Get Channel
    Authentication Capabilities to the last request, come from one address and port.
    """
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()
        ipmi_session = _pyghmi(client)
        transport = _transport(client)
        sock = ipmi_session.socket
        port = sock.getsockname()[1]
        assert sock not in pyghmi_session.iosockets
        assert pyghmi_session.Session.socketpool[sock] == 1  # no other session shares it
        answered, since = transport.answered, sim.control.last_seq()
        with wire_tap(client) as tap:
            snapshot = client.poll()  # empties pyghmi's received-packet queue at its end (defect (k))
            answers = client._connection.request_many(_readings(sensors))
            device_id = client.request(0x06, 0x01)
        assert len(answers) == len(sensors)
        assert all(isinstance(answer, bytes) for answer in answers)
        assert len(device_id) >= 11  # Get Device ID (IPMI 2.0 §20.1)
        _assert_complete(snapshot, sensors)
        seen = sim.control.request_log(since=since)
        # The poll (one Get Sensor Reading each, Get Chassis Status, DCMI power), the batch, Get Device ID.
        assert len(seen) == len(sensors) + 2 + len(sensors) + 1
        assert transport.answered - answered == len(seen)
        sent = [d for d in tap.datagrams if d.sent]
        assert len(sent) == len(seen)
        assert {d.thread for d in tap.datagrams} == {threading.get_ident()}
        # Nothing since the poll went through pyghmi's queues.
        assert ipmi_session not in pyghmi_session.sessionqueue
        assert not ipmi_session.pktqueue
        # The BMC saw the whole client, login included, from the socket's own port.
        everything = sim.control.request_log(kind=None)
        assert {r.kind for r in everything} >= {"sessionless", "rmcp+", "ipmi"}
        assert {r.client for r in everything} == {f"127.0.0.1:{port}"}
        assert {r.session_id for r in seen} == {ipmi_session.sessionid}
    finally:
        client.close()


# -- the window ------------------------------------------------------------------------------------------------------


def test_a_poll_keeps_several_requests_in_flight(bmc_sim_factory: Factory) -> None:
    """With 50 ms between a datagram's arrival and its handling, the poll's readings still go out 8 at a time.

    The first batch after a login (here the thresholds read with the SDR) has 4 in flight; each clean batch doubles
    the window up to 8. One request at a time would show at most 1 in flight.
    """
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.connect()
        with wire_tap(client) as first:
            sensors = client.sensors()
        assert len(sensors) > 16  # two batches per poll
        assert first.sent_before_first_answer() == 1  # the SDR is read one record piece at a time
        assert first.first_window() == 4
        reference = client.poll()
        _assert_complete(reference, sensors)
        sim.control.set_fault(latency_ms=50)
        since = sim.control.last_seq()
        with wire_tap(client) as tap:
            snapshot = client.poll()
        assert snapshot == reference
        assert tap.sent_before_first_answer() == 8
        assert tap.most_in_flight() == 8
        # Each sensor was asked once: nothing was sent twice for lack of patience.
        asked = sim.control.request_log(since=since, netfn=SENSOR_READING[0], cmd=SENSOR_READING[1])
        assert sorted(r.data for r in asked) == sorted(bytes((s.number,)) for s in sensors)
        assert _session(client).window == 8
    finally:
        client.close()


def test_lost_datagrams_bring_the_window_down_to_one(bmc_sim_factory: Factory) -> None:
    """With 30 % of the datagrams lost, every poll that returns has every sensor, and the window falls to 1.

    A request the window left unanswered is sent again on its own with retransmission; a poll fails only when one
    request goes unanswered three times (then the next poll logs in again).
    """
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()
        reference = client.poll()
        _assert_complete(reference, sensors)
        assert _session(client).window == 8
        sim.control.set_fault(loss_pct=30)
        returned = 0
        for _ in range(4):
            try:
                snapshot = client.poll()
            except IpmiConnectionError:
                continue
            returned += 1
            assert snapshot == reference
        assert returned >= 1
        assert _session(client).window == 1
        assert sim.control.request_log(kind="dropped")  # the loss did happen
        sim.control.clear_faults()
        assert client.poll() == reference  # logs in again if the last poll failed: the window stays
        with wire_tap(client) as tap:
            assert client.poll() == reference
        assert tap.most_in_flight() == 1
    finally:
        client.close()


def test_a_busy_answer_in_a_window_is_asked_again_on_its_own(bmc_sim_factory: Factory) -> None:
    """Node busy (C0h) for one sensor of a windowed batch: that sensor is asked again alone; the window falls to 1."""
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        reference = client.poll()
        sensors = client.sensors()
        assert _session(client).window == 8
        busy = sensors[2]
        number = bytes((busy.number,))
        sim.control.set_completion_code(*SENSOR_READING, 0xC0, data_prefix=number, count=1)
        since = sim.control.last_seq()
        with wire_tap(client) as tap:
            snapshot = client.poll()
        assert snapshot == reference  # the busy sensor too: it was read on the second try
        asked = sim.control.request_log(since=since, netfn=SENSOR_READING[0], cmd=SENSOR_READING[1])
        assert [r.cc for r in asked if r.data == number] == [0xC0, 0x00]
        # First sent with other readings in flight; sent again when nothing else was.
        first, again = tap.in_flight_when_sent(SENSOR_READING[1], number)
        assert first > 0
        assert again == 0
        assert _session(client).window == 1
        with wire_tap(client) as tap:
            assert client.poll() == reference
        assert tap.most_in_flight() == 1
    finally:
        client.close()


def test_the_window_opens_again_after_32_batches_one_at_a_time(bmc_sim_factory: Factory) -> None:
    """After a busy answer, 32 batches go one request at a time; the window then doubles back to 8."""
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()[:16]
        session = _session(client)
        _one_at_a_time(sim, client, sensors)
        assert session.window == 1
        windows = []
        for _ in range(32 + 3):
            with wire_tap(client) as tap:
                answers = client._connection.request_many(_readings(sensors))
            assert all(isinstance(answer, bytes) for answer in answers)
            windows.append((tap.most_in_flight(), session.window))
        assert windows == [(1, 1)] * 31 + [(1, 1), (1, 2), (2, 4), (4, 8)]
    finally:
        client.close()


def _one_at_a_time(sim: Simulator, client: BmcClient, sensors: list[SdrSensor]) -> None:
    """A busy answer (C0h) in one windowed batch of ``sensors``' readings: the next batches go one at a time."""
    sim.control.set_completion_code(*SENSOR_READING, 0xC0, data_prefix=bytes((sensors[1].number,)), count=1)
    client._connection.request_many(_readings(sensors))
    assert _session(client).window == 1


def _batch_started(
    pool: ThreadPoolExecutor, sim: Simulator, client: BmcClient, sensors: list[SdrSensor], since: int
) -> tuple[Future[list[bytes | IpmiCompletionCodeError]], int]:
    """Send a batch of ``sensors``' readings from ``pool``; return it once the BMC got 2 of them, and how many it got.

    Bounded: at most 200 looks 20 ms apart (16 readings from a BMC answering 150 ms late take about 2.4 s).
    """
    batch = pool.submit(client._connection.request_many, _readings(sensors))
    seen = 0
    for _ in range(200):
        seen = len(sim.control.request_log(since=since, netfn=SENSOR_READING[0], cmd=SENSOR_READING[1]))
        if seen >= 2:
            break
        time.sleep(0.02)
    return batch, seen


def test_a_single_request_waits_for_the_request_on_the_wire_not_for_the_rest_of_a_batch(
    bmc_sim_factory: Factory,
) -> None:
    """A fan write or hand-back (one request) sent while a poll's batch goes one at a time to a slow BMC.

    It goes out after the reading on the wire, not after the batch's other readings; the batch then goes on and
    every reading is answered.
    """
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()[:16]
        _one_at_a_time(sim, client, sensors)
        assert _session(client).window == 1  # the next batch goes one request at a time
        sim.control.set_fault(latency_ms=150)
        since = sim.control.last_seq()
        with ThreadPoolExecutor(1) as pool:
            batch, seen = _batch_started(pool, sim, client, sensors, since)
            assert 2 <= seen < len(sensors)
            assert client.request(0x06, 0x01)  # Get Device ID, in the place of a write
            answers = batch.result(timeout=30)
        assert all(isinstance(answer, bytes) for answer in answers)
        log = sim.control.request_log(since=since)
        single = next(index for index, record in enumerate(log) if (record.netfn, record.cmd) == (0x06, 0x01))
        before = [record for record in log[:single] if (record.netfn, record.cmd) == SENSOR_READING]
        assert len(before) <= seen + 1  # the reading on the wire when it asked, at most
        after = [record for record in log[single:] if (record.netfn, record.cmd) == SENSOR_READING]
        assert {record.data for record in before + after} == {bytes((sensor.number,)) for sensor in sensors}
    finally:
        client.close()


def test_a_control_loops_readings_go_between_the_requests_of_a_polls_batch(bmc_sim_factory: Factory) -> None:
    """``BmcClient.read`` (the control loop's temperatures and fans) during a poll's batch to a slow BMC.

    Its readings go out after the reading on the wire, not after the rest of the poll's batch, and carry the
    BMC's values; the poll's batch then goes on and every reading is answered.
    """
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()
        batch_sensors, read_sensors = sensors[:16], sensors[16:18]
        assert len(read_sensors) == 2
        _one_at_a_time(sim, client, batch_sensors)
        assert _session(client).window == 1  # the next batch goes one request at a time
        sim.control.set_fault(latency_ms=150)
        since = sim.control.last_seq()
        with ThreadPoolExecutor(1) as pool:
            batch, seen = _batch_started(pool, sim, client, batch_sensors, since)
            assert 2 <= seen < len(batch_sensors)
            read = client.read([sensor.key for sensor in read_sensors])
            answers = batch.result(timeout=30)
        assert all(isinstance(answer, bytes) for answer in answers)
        for sensor in read_sensors:
            assert read[sensor.key].value == sim.control.sensor(sensor.name)["value"]
        readings = [
            record.data
            for record in sim.control.request_log(since=since)
            if (record.netfn, record.cmd) == SENSOR_READING
        ]
        read_numbers = {bytes((sensor.number,)) for sensor in read_sensors}
        last_read = max(index for index, data in enumerate(readings) if data in read_numbers)
        batch_before = [data for data in readings[:last_read] if data not in read_numbers]
        assert len(batch_before) <= seen + 1  # the poll's reading on the wire when it asked, at most
    finally:
        client.close()


class LosingTap(WireTap):
    """A ``WireTap`` that loses the first request of ``command`` it is given to send (the BMC never sees it)."""

    def __init__(self, sock: Any, aes_key: bytes, command: int) -> None:
        super().__init__(sock, aes_key)
        self._command = command
        self.lost = 0

    def sendto(self, packet: bytes, address: Any) -> int:
        self._note(packet, sent=True)
        if self.datagrams[-1].command == self._command and not self.lost:
            self.lost += 1
            return len(packet)
        sent: int = self._sock.sendto(packet, address)
        return sent

    def recvfrom(self, size: int, flags: int = 0) -> tuple[bytes, Any]:
        packet, source = self._sock.recvfrom(size, flags)
        self._note(packet, sent=False)
        return packet, source


def test_a_single_requests_retransmission_during_a_batch_does_not_keep_the_window_at_one(
    bmc_sim_factory: Factory,
) -> None:
    """After 32 clean batches one at a time, the next clean batch opens the window, even with a single request between.

    The single request (Get Device ID, in the place of a fan write) lost its first datagram and was sent again; that
    retransmission is the single request's, not the batch's: each of the batch's readings was asked once.
    """
    sim = bmc_sim_factory("supermicro-4zone")
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()[:16]
        session = _session(client)
        _one_at_a_time(sim, client, sensors)
        for _ in range(32):
            assert session.window == 1
            client._connection.request_many(_readings(sensors))
        assert session.window == 1  # the next clean batch opens it
        sim.control.set_fault(latency_ms=50)
        since = sim.control.last_seq()
        transport = _transport(client)
        real = transport._socket
        tap = LosingTap(real, bytes(_pyghmi(client).aeskey), command=0x01)
        transport._socket = tap  # type: ignore[assignment]
        try:
            with ThreadPoolExecutor(1) as pool:
                batch, _seen = _batch_started(pool, sim, client, sensors, since)
                assert client.request(0x06, 0x01)
                answers = batch.result(timeout=30)
        finally:
            transport._socket = real
        assert all(isinstance(answer, bytes) for answer in answers)
        assert tap.lost == 1
        assert len([d for d in tap.datagrams if d.sent and d.command == 0x01]) == 2  # sent again once
        log = sim.control.request_log(since=since)
        single = next(index for index, record in enumerate(log) if (record.netfn, record.cmd) == (0x06, 0x01))
        assert any((record.netfn, record.cmd) == SENSOR_READING for record in log[single:])  # it went between
        asked = [record.data for record in log if (record.netfn, record.cmd) == SENSOR_READING]
        assert sorted(asked) == sorted(bytes((sensor.number,)) for sensor in sensors)  # each reading asked once
        assert session.window == 2
    finally:
        client.close()


# -- logout ----------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_close")
def test_close_ends_the_session_at_the_bmc_and_frees_the_socket(bmc_sim_factory: Factory) -> None:
    """``close`` sends Close Session for the session's ID from the login's port, and the socket is closed and gone."""
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    client.poll()
    ipmi_session = _pyghmi(client)
    sock = ipmi_session.socket
    port = sock.getsockname()[1]
    assert len(_active_sessions(sim)) == 1
    since = sim.control.last_seq()
    client.close()
    assert _wait_until(lambda: not _active_sessions(sim))
    (close,) = sim.control.request_log(since=since, netfn=CLOSE_SESSION[0], cmd=CLOSE_SESSION[1])
    assert close.data == ipmi_session.sessionid.to_bytes(4, "little")
    assert (close.client, close.session_id, close.cc) == (f"127.0.0.1:{port}", ipmi_session.sessionid, 0)
    assert sock not in pyghmi_session.Session.socketpool
    assert sock not in pyghmi_session.iosockets
    assert sock not in session_module._DEDICATED
    assert _closed(sock)


@pytest.mark.usefixtures("quick_close")
def test_logins_and_logouts_leave_no_socket_behind(bmc_sim_factory: Factory) -> None:
    """Login, poll, close, again and again: pyghmi's socket pool and its I/O thread's sockets stay put, and each
    session's socket is closed."""
    sim = bmc_sim_factory("generic")
    _client(sim).close()  # nothing logged in: nothing to free
    warm = _client(sim)
    warm.poll()
    warm.close()
    before = _process_wide()
    for _ in range(5):
        client = _client(sim)
        client.poll()
        sock = _pyghmi(client).socket
        assert _process_wide()["zephyr._DEDICATED"] == before["zephyr._DEDICATED"] + 1
        client.close()
        _assert_nothing_left(before)
        assert _closed(sock)
    assert _wait_until(lambda: not _active_sessions(sim))


# -- logins at the same time -----------------------------------------------------------------------------------------


def test_two_clients_logging_in_at_once_both_poll(bmc_sim_factory: Factory) -> None:
    """Two new clients log in and poll in parallel threads, 25 times over: every poll succeeds.

    While one thread runs pyghmi's event loop for its login, it may handle the other login's last answer; the other
    thread then waited for pyghmi's I/O thread to see any packet at all, which with established sessions off that
    thread came with the next keepalive (25-29 s: its poll failed with "the BMC did not answer in time"). That
    happened in about one round in six, so 25 rounds rarely miss it.
    """
    sims = [bmc_sim_factory("generic"), bmc_sim_factory("generic")]
    before = _process_wide()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="login") as pool:
        for round_number in range(25):
            clients = [_client(sim) for sim in sims]
            try:
                futures = [pool.submit(client.poll) for client in clients]
                for client, future in zip(clients, futures, strict=True):
                    _assert_complete(future.result(timeout=60), client.sensors())
            finally:
                for client in clients:
                    client.close()
            _assert_nothing_left(before, round_number)
    for sim in sims:
        assert _wait_until(lambda sim=sim: not _active_sessions(sim))  # type: ignore[misc]


# -- a session pyghmi keeps ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_close")
def test_a_session_that_cannot_be_taken_over_stays_on_pyghmis_path(
    bmc_sim_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the socket cannot leave pyghmi's I/O thread, pyghmi carries the requests (one at a time) and the logout."""
    monkeypatch.setattr(session_module, "_take_over", lambda ipmi_session: None)
    sim = bmc_sim_factory("supermicro-4zone")
    before = _process_wide()
    client = _client(sim)
    try:
        client.poll()
        sensors = client.sensors()
        ipmi_session = _pyghmi(client)
        sock = ipmi_session.socket
        assert getattr(ipmi_session, "zephyr_transport", None) is None
        assert sock in pyghmi_session.iosockets  # pyghmi's I/O thread reads the answers
        since = sim.control.last_seq()
        answers = client._connection.request_many(_readings(sensors))
        assert all(isinstance(answer, bytes) for answer in answers)
        assert ipmi_session in pyghmi_session.sessionqueue  # the answers went through pyghmi's event queue
        assert len(sim.control.request_log(since=since)) == len(sensors)
        _assert_complete(client.poll(), sensors)
        assert _session(client).window == 4  # never used: nothing was in flight beside another request
    finally:
        client.close()
    assert _wait_until(lambda: not _active_sessions(sim))
    _assert_nothing_left(before)
    assert _closed(sock)


@pytest.mark.usefixtures("quick_close")
def test_a_session_on_pyghmis_path_given_up_is_closed_and_its_socket_freed(
    bmc_sim_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyghmi gives the session up (the BMC fell silent); forgetting it sends Close Session and frees its socket."""
    monkeypatch.setattr(session_module, "_take_over", lambda ipmi_session: None)
    monkeypatch.setattr(session_module, "RETRANSMIT_LIMIT", 1)  # given up after about 1 s instead of 7 s
    sim = bmc_sim_factory("generic")
    before = _process_wide()
    client = _client(sim)
    try:
        client.poll()
        ipmi_session = _pyghmi(client)
        sock = ipmi_session.socket
        sim.control.set_fault(silent=True)
        with pytest.raises(IpmiConnectionError):
            client.request(0x06, 0x01)
        assert not _session(client).alive
        assert len(_active_sessions(sim)) == 1  # the BMC still holds it
        sim.control.set_fault(silent=False)
        since = sim.control.last_seq()
        client.drop_session()
        assert _wait_until(lambda: not _active_sessions(sim))
        (close,) = sim.control.request_log(since=since, netfn=CLOSE_SESSION[0], cmd=CLOSE_SESSION[1])
        assert close.data == ipmi_session.sessionid.to_bytes(4, "little")
        _assert_nothing_left(before)
        assert _closed(sock)
    finally:
        client.close()


# -- answers only from the BMC ---------------------------------------------------------------------------------------


def _seal_answer(ipmi_session: Any, message: bytes, sequence: int) -> bytes:
    """An RMCP+ answer to the console (cipher suite 17: AES-CBC-128, HMAC-SHA256-128), made with the session's keys."""
    pad = -(len(message) + 1) % 16
    iv = bytes(range(16))
    encryptor = Cipher(algorithms.AES(bytes(ipmi_session.aeskey)), modes.CBC(iv)).encryptor()
    payload = iv + encryptor.update(message + bytes(range(1, pad + 1)) + bytes((pad,))) + encryptor.finalize()
    body = b"\x06\xc0" + ipmi_session.localsid.to_bytes(4, "little") + sequence.to_bytes(4, "little")
    body += len(payload).to_bytes(2, "little") + payload
    integrity_pad = -(len(body) + 2) % 4
    body += b"\xff" * integrity_pad + bytes((integrity_pad, 0x07))
    return b"\x06\x00\xff\x07" + body + hmac.new(bytes(ipmi_session.k1), body, hashlib.sha256).digest()[:16]


def test_an_answer_from_another_address_is_ignored(bmc_sim_factory: Factory) -> None:
    """A datagram from anywhere but the BMC is dropped, even one sealed with the session's keys for the next rqSeq."""
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        client.poll()
        sensor = client.sensors()[0]
        real = client.request(*SENSOR_READING, (sensor.number,))
        ipmi_session = _pyghmi(client)
        assert ipmi_session.currhashlen == 16  # cipher suite 17, as bmcsim offers it first
        rq_seq = ipmi_session.seqlun
        # rqAddr 81h, netFn 05h << 2, checksum, rsAddr 20h, rqSeq, Get Sensor Reading, completion code 00h, a reading
        # that is not the BMC's, its flags and state, checksum.
        body = bytes((0x20, rq_seq << 2, 0x2D, 0x00, real[0] ^ 0xFF)) + real[1:3]
        forged = _seal_answer(ipmi_session, bytes.fromhex("81 14 6b") + body + bytes((-sum(body) & 0xFF,)), 1 << 28)
        answered = _transport(client).answered
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.bind(("127.0.0.1", 0))
            stranger.sendto(forged, ("127.0.0.1", ipmi_session.socket.getsockname()[1]))
            with wire_tap(client) as tap:
                assert client.request(*SENSOR_READING, (sensor.number,)) == real
        assert [d.body[1] for d in tap.datagrams if not d.sent] == [real[0] ^ 0xFF, real[0]]  # read, then dropped
        assert _transport(client).answered == answered + 1
    finally:
        client.close()


# -- what cannot be taken over ---------------------------------------------------------------------------------------


class _EstablishedSession:
    """The fields of pyghmi's session object ``_take_over`` reads, as after a cipher suite 17 login."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock
        self.socketpool = {sock: 1}
        self.ipmiversion = 2.0
        self.integrityalgo = "hmac-sha256-128"
        self.confalgo = "aes"
        self.sessioncontext = "ESTABLISHED"
        self.k1 = bytes(32)
        self.aeskey = bytes(16)
        self.sockaddr = ("::ffff:127.0.0.1", 623, 0, 0)
        self.sessionid = 0x01020304
        self.localsid = 0x05060708
        self.currhashlib = hashlib.sha256
        self.currhashlen = 16
        self.pktqueue: list[bytes] = [b"stale"]


@pytest.fixture
def established() -> Iterator[_EstablishedSession]:
    """A fake established session on a socket of its own that pyghmi's I/O thread reads."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        with session_module._DEDICATED_LOCK:
            session_module._DEDICATED.add(sock)
        pyghmi_session.iosockets.append(sock)
        try:
            yield _EstablishedSession(sock)
        finally:
            with suppress(ValueError):
                pyghmi_session.iosockets.remove(sock)
            with session_module._DEDICATED_LOCK:
                session_module._DEDICATED.discard(sock)


REFUSED: dict[str, Callable[[_EstablishedSession], None]] = {
    "IPMI 1.5": lambda s: setattr(s, "ipmiversion", 1.5),
    "no integrity": lambda s: setattr(s, "integrityalgo", 0),
    "other confidentiality": lambda s: setattr(s, "confalgo", "xrc4-128"),
    "still logging in": lambda s: setattr(s, "sessioncontext", "EXPECTINGRAKP4"),
    "no keys": lambda s: setattr(s, "k1", None),
    "no BMC address": lambda s: setattr(s, "sockaddr", None),
    "socket shared": lambda s: s.socketpool.update({s.socket: 2}),
    "MD5 integrity": lambda s: setattr(s, "currhashlib", hashlib.md5),
    "not dedicated": lambda s: session_module._DEDICATED.discard(s.socket),
    "not read by pyghmi": lambda s: pyghmi_session.iosockets.remove(s.socket),
}


@pytest.mark.parametrize("spoil", REFUSED.values(), ids=REFUSED.keys())
def test_a_session_that_cannot_be_taken_over_is_left_to_pyghmi(
    established: _EstablishedSession, spoil: Callable[[_EstablishedSession], None]
) -> None:
    spoil(established)
    assert session_module._take_over(established) is None
    assert getattr(established, "zephyr_transport", None) is None


def test_an_established_session_is_taken_over_once(established: _EstablishedSession) -> None:
    transport = session_module._take_over(established)
    assert transport is not None
    assert established.socket not in pyghmi_session.iosockets
    assert established.pktqueue == []
    assert session_module._take_over(established) is transport


# -- closing a retired socket safely --------------------------------------------------------------------------------


def test_a_retired_socket_is_not_closed_while_pyghmis_io_thread_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket that left pyghmi is closed ``RETIRE_DELAY`` s later, but never while pyghmi's I/O thread reads.

    That thread calls ``setblocking`` and ``getsockname`` on each socket it reads, outside its error handling: a
    socket closed under it ends the thread, and with it every later login of the process. A thread held up for longer
    than the delay (a busy machine) must not lose that race. The test holds the I/O thread inside its read of the
    socket while the delay passes and the retired sockets are closed.
    """
    monkeypatch.setattr(session_module, "RETIRE_DELAY", 0.05)
    session_module._install_pyghmi_workarounds()
    reading, go_on = threading.Event(), threading.Event()
    closed_under_read: list[bool] = []
    original = pyghmi_session._io_recvfrom
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def held_read(mysocket: Any, size: int) -> Any:
        if mysocket is not sock or reading.is_set():
            return original(mysocket, size)
        reading.set()
        go_on.wait(10)
        closed_under_read.append(sock.fileno() == -1)
        return None if closed_under_read[-1] else original(mysocket, size)  # (pyghmi's own read would end the thread)

    monkeypatch.setattr(pyghmi_session, "_io_recvfrom", held_read)
    with session_module._DEDICATED_LOCK:
        session_module._DEDICATED.add(sock)
    pyghmi_session.Session.socketpool[sock] = 1
    pyghmi_session.iosockets.append(sock)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke:
            poke.sendto(b"wake", sock.getsockname())
        # Wake the I/O thread from its wait on the sockets it had (as pyghmi does: a datagram to its first socket).
        first = pyghmi_session.iosockets[0]
        first.sendto(b"\x01", (pyghmi_session.myself, first.getsockname()[1]))
        assert reading.wait(10)  # the I/O thread is inside its read of the socket
        session_module._retire_socket(sock)
        assert sock not in pyghmi_session.iosockets
        time.sleep(0.1)  # past the delay
        session_module.drain_received_queue()  # closes the retired sockets whose delay passed (after each poll)
        assert sock.fileno() != -1
    finally:
        go_on.set()
        session_module._retire_socket(sock)  # in case the test failed before
    assert _closed(sock)
    assert closed_under_read == [False]
    assert pyghmi_session.iothread.is_alive()
