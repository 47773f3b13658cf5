"""The pyghmi boundary against a real IPMI peer (ipmi_sim) on 127.0.0.1: the workarounds of docs/ipmi-notes.md §3."""

from __future__ import annotations

import socket
import time

import pytest
from pyghmi.exceptions import IpmiException
from pyghmi.ipmi import command as pyghmi_command

from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiConnectionError
from custom_components.zephyr_ipmi.ipmi import session as session_module
from custom_components.zephyr_ipmi.ipmi.session import LanplusSession
from tests.peers.ipmi_sim import IpmiSimPeer

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


def _silent_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_login_does_not_poison_the_next_one() -> None:
    """pyghmi defect (a): after a failed login, str credentials get the dead session back; bytes do not."""
    port = _silent_udp_port()
    with pytest.raises(IpmiException):
        pyghmi_command.Command(bmc="127.0.0.1", port=port, userid="ADMIN", password="ADMIN")
    session = LanplusSession("127.0.0.1", port, "ADMIN", "ADMIN")
    with pytest.raises(IpmiConnectionError):
        session.open()

    with IpmiSimPeer(port=port, username="ADMIN", password="ADMIN") as peer:
        # The defect itself: pyghmi hands back the broken session for str credentials.
        started = time.monotonic()
        poisoned = pyghmi_command.Command(bmc="127.0.0.1", port=peer.port, userid="ADMIN", password="ADMIN")
        with pytest.raises(IpmiException, match="no longer connected"):
            poisoned.xraw_command(netfn=0x06, command=0x01)
        assert time.monotonic() - started < 3.0  # at once, not after a 5 s login timeout
        # Zephyr's session passes bytes and logs in.
        session.open()
        try:
            assert session.alive
            assert len(session.request(0x06, 0x01)) >= 11
        finally:
            session.close()


def test_idle_session_is_kept_alive(ipmi_sim_peer: IpmiSimPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyghmi defect (b): an idle session gets a keepalive, outside any poll, and polls do not count it."""
    monkeypatch.setattr(session_module.KEEPALIVE, "TICK", 0.05)
    monkeypatch.setattr(session_module.KEEPALIVE, "IDLE", 0.2)
    client = BmcClient(ipmi_sim_peer.host, ipmi_sim_peer.port, ipmi_sim_peer.username, ipmi_sim_peer.password)
    try:
        client.connect()
        requests = client.request_count
        deadline = time.monotonic() + 5
        while client._connection.session.keepalives < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client._connection.session.keepalives >= 2
        assert client.request_count == requests
        assert client._connection.session.alive
    finally:
        client.close()
    assert not any(t.name == "zephyr_ipmi_keepalive" for t in __import__("threading").enumerate())


def test_second_holder_closing_keeps_the_shared_session(ipmi_sim_peer: IpmiSimPeer) -> None:
    """pyghmi defect (f): one pyghmi session per host and credentials; only the last holder logs out."""
    args = (ipmi_sim_peer.host, ipmi_sim_peer.port, ipmi_sim_peer.username, ipmi_sim_peer.password)
    first, second = BmcClient(*args), BmcClient(*args)
    try:
        first.connect()
        second.connect()
        second.close()
        assert first._connection.session.alive
        assert first.poll().readings
    finally:
        first.close()
        second.close()
