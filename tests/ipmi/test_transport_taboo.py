"""A rqSeq whose request was sent twice or went unanswered is not reused when it comes round again.

A Get Sensor Reading answer does not name its sensor: an answer arriving very late could otherwise be taken for the
reading of the request that reuses its rqSeq 64 requests later. Against bmcsim on 127.0.0.1 for a request sent
twice; the skipping itself on a transport whose socket is a local one.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import session as session_module
from custom_components.zephyr_ipmi.ipmi.rmcpplus import RmcpPlusCodec
from custom_components.zephyr_ipmi.ipmi.session import CallingThreadTransport, LanplusSession

Factory = Callable[..., Simulator]


@pytest.fixture
def transport(socket_enabled: None) -> Iterator[CallingThreadTransport]:
    """A transport on a local UDP socket (nothing is sent by these tests)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    codec = RmcpPlusCodec(
        bmc_session_id=1, console_session_id=2, integrity_key=b"\x01" * 20, digest="sha1", mac_length=12, aes_key=None
    )
    session = SimpleNamespace(sockaddr=("127.0.0.1", 9), sequencenumber=1, seqlun=0)
    try:
        yield CallingThreadTransport(session, sock, codec)
    finally:
        sock.close()


def test_a_taboo_rq_seq_is_skipped_for_two_rounds(transport: CallingThreadTransport) -> None:
    """rqSeq 5 marked taboo is skipped the next two times it comes round, then used again."""
    transport._taboo[5] = session_module.TABOO_ROUNDS
    assert transport._next_rq_seq(5, ()) == 6
    assert transport._next_rq_seq(5, ()) == 6
    assert transport._next_rq_seq(5, ()) == 5
    assert transport._taboo == {}


def test_a_rq_seq_in_flight_is_skipped(transport: CallingThreadTransport) -> None:
    """A batch never gives two requests in flight the same rqSeq."""
    transport._taboo[63] = 1
    assert transport._next_rq_seq(62, {62}) == 0  # 62 in flight, 63 taboo: the next free one wraps to 0


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
def test_a_request_sent_twice_leaves_its_rq_seq_taboo(bmc_sim_factory: Factory) -> None:
    """A BMC answering after the first retransmission timer: the request goes out twice, its rqSeq becomes taboo."""
    sim = bmc_sim_factory("generic")
    session = LanplusSession("127.0.0.1", sim.port, "admin", "admin")
    session.open()
    try:
        ipmi_session = session._command.ipmi_session
        transport: CallingThreadTransport = ipmi_session.zephyr_transport
        rq_seq = ipmi_session.seqlun
        sim.control.set_fault(latency_ms=1200)  # later than the first timer (0.5-1 s), sooner than the second
        assert session.request(0x06, 0x01)  # Get Device ID answers
        assert transport.retransmissions == 1
        assert transport._taboo == {rq_seq: session_module.TABOO_ROUNDS}
        sim.control.set_fault(latency_ms=0)
        for _ in range(64):  # once round: the next request with that rqSeq takes the one after it
            session.request(0x06, 0x01)
        assert transport._taboo == {rq_seq: session_module.TABOO_ROUNDS - 1}
    finally:
        session.close()
