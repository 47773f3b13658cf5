"""Every call into pyghmi has a bound: BMCs that answer garbage, half a handshake or another session's id.

A relay on 127.0.0.1 sits between the client and bmcsim and tampers with the datagrams (RMCP+ framing,
IPMI 2.0 §13.6: bytes 0-3 RMCP header, 4 auth type 06h, 5 payload type, 6-9 session id).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiConnectionError

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]
Tamper = Callable[[bytes], bytes | None]

#: RMCP+ payload types (IPMI 2.0 Table 13-16).
RAKP_3, RAKP_4 = 0x14, 0x15
#: The bound of one login (10 s) and of a login with its identity reads (15 s), plus slack for a busy machine.
LOGIN_BOUND = 20.0


class Relay:
    """Forwards UDP datagrams between one client and a BMC, passing each through a tamper function.

    A tamper function returns the datagram to forward (changed or not) or None to drop it.
    """

    def __init__(self, bmc_port: int, *, to_bmc: Tamper | None = None, to_client: Tamper | None = None) -> None:
        self.to_bmc = to_bmc or (lambda data: data)
        self.to_client = to_client or (lambda data: data)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.back.connect(("127.0.0.1", bmc_port))
        self.port = self.front.getsockname()[1]
        self.client: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for sock in ready:
                if sock is self.front:
                    data, self.client = self.front.recvfrom(4096)
                    forward = self.to_bmc(data)
                    if forward is not None:
                        self.back.send(forward)
                else:
                    data = self.back.recv(4096)
                    forward = self.to_client(data)
                    if forward is not None and self.client is not None:
                        self.front.sendto(forward, self.client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.front.close()
        self.back.close()


@pytest.fixture
def relay(bmc_sim_factory: Factory) -> Iterator[Callable[..., tuple[Simulator, Relay]]]:
    relays: list[Relay] = []

    def make(**tamper: Tamper) -> tuple[Simulator, Relay]:
        sim = bmc_sim_factory("generic")
        relays.append(Relay(sim.port, **tamper))
        return sim, relays[-1]

    yield make
    for made in relays:
        made.close()


def _payload_type(data: bytes) -> int | None:
    return data[5] & 0x3F if len(data) > 5 and data[4] == 0x06 else None


def _fails_within(call: Callable[[], object], bound: float) -> float:
    """Run ``call`` in a worker thread; it must raise ``IpmiConnectionError`` and free the thread in ``bound`` s."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    start = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=bound + 60)
    elapsed = time.monotonic() - start
    assert not worker.is_alive(), "the worker thread is still held"
    assert isinstance(outcome[0], IpmiConnectionError), outcome
    assert elapsed < bound, f"held the worker thread {elapsed:.0f} s"
    return elapsed


def test_a_bmc_answering_garbage_fails_the_login_in_bounded_time(relay: Callable[..., tuple[Simulator, Relay]]) -> None:
    _sim, proxy = relay(to_client=lambda data: os.urandom(len(data)))
    client = BmcClient("127.0.0.1", proxy.port, "admin", "admin")
    try:
        _fails_within(client.connect, LOGIN_BOUND)
    finally:
        client.close()


def test_half_a_handshake_fails_the_login_in_bounded_time(relay: Callable[..., tuple[Simulator, Relay]]) -> None:
    """The BMC answers Open Session and RAKP 2, but RAKP 4 never arrives: pyghmi starts over and over."""
    _sim, proxy = relay(to_client=lambda data: None if _payload_type(data) == RAKP_4 else data)
    client = BmcClient("127.0.0.1", proxy.port, "admin", "admin")
    try:
        _fails_within(client.connect, LOGIN_BOUND)
    finally:
        client.close()


def test_answers_with_another_session_id_fail_the_poll_in_bounded_time(
    relay: Callable[..., tuple[Simulator, Relay]],
) -> None:
    """After the login, every IPMI answer carries another session's id: the poll fails, it does not hang."""
    tampering = threading.Event()

    def other_session(data: bytes) -> bytes:
        if tampering.is_set() and _payload_type(data) == 0x00:
            return data[:6] + bytes(x ^ 0x5A for x in data[6:10]) + data[10:]
        return data

    _sim, proxy = relay(to_client=other_session)
    client = BmcClient("127.0.0.1", proxy.port, "admin", "admin")
    try:
        assert client.poll().readings
        tampering.set()
        _fails_within(client.poll, LOGIN_BOUND)
        # The next poll logs in again; Set Session Privilege's answer is tampered too: bounded as well.
        _fails_within(client.poll, LOGIN_BOUND)
        tampering.clear()
        assert client.poll().readings
    finally:
        client.close()
