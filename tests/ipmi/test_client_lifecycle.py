"""A closed client never keeps a session, and a new login always checks who answers: bmcsim over UDP."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bmcsim import Simulator
from bmcsim.profiles import get_profile
from custom_components.zephyr_ipmi.ipmi import (
    BmcClient,
    IpmiClientClosedError,
    IpmiConnectionError,
    IpmiWrongBmcError,
)
from custom_components.zephyr_ipmi.ipmi import session as session_module

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]


@pytest.fixture
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request to a BMC that lost our session fails after about 1 s instead of 7 s."""
    monkeypatch.setattr(session_module, "RETRANSMIT_LIMIT", 1)


def _client(sim: Simulator) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", "admin")


def _active_sessions(sim: Simulator, timeout: float = 3.0) -> list[dict[str, Any]]:
    """The BMC's logged-in sessions once none is left, or whatever is left after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        active = [s for s in sim.control.sessions() if s["state"] == "active"]
        if not active or time.monotonic() > deadline:
            return active
        time.sleep(0.05)


def _no_guid_no_fru(sim: Simulator) -> Simulator:
    """A BMC that answers Get System GUID and Get LAN Configuration Parameters with C1h, without FRU (CBh)."""
    sim.control.set_completion_code(0x06, 0x37, 0xC1)
    sim.control.set_completion_code(0x0C, 0x02, 0xC1)
    sim.control.set_completion_code(0x0A, 0x10, 0xCB)
    return sim


def _no_guid(sim: Simulator) -> Simulator:
    sim.control.set_completion_code(0x06, 0x37, 0xC1)
    return sim


# ---------------------------------------------------------------------------
# Session leaks
# ---------------------------------------------------------------------------


def test_close_during_login_leaves_no_session(bmc_sim_factory: Factory) -> None:
    """Unload while a login to a slow BMC is under way: the login's session is logged out, nothing stays."""
    sim = bmc_sim_factory("generic")
    sim.control.set_fault(latency_ms=300)
    client = _client(sim)
    outcome: list[BaseException | object] = []

    def connect() -> None:
        try:
            outcome.append(client.connect())
        except Exception as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    seq = sim.control.last_seq()
    worker = threading.Thread(target=connect)
    worker.start()
    deadline = time.monotonic() + 5
    while not sim.control.sessions() and time.monotonic() < deadline:
        time.sleep(0.02)  # the handshake has started: Open Session was answered
    client.close()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert isinstance(outcome[0], IpmiClientClosedError), outcome
    assert _active_sessions(sim) == []
    assert client._connection.session not in session_module.KEEPALIVE._sessions
    seq = sim.control.last_seq()
    time.sleep(1.0)
    assert [r for r in sim.control.request_log(since=seq) if r.kind != "dropped"] == []


def test_closed_client_sends_nothing_and_logs_in_no_more(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    key = client.sensors()[0].key
    client.close()
    assert _active_sessions(sim) == []
    seq = sim.control.last_seq()
    for call in (client.connect, client.poll, client.sensors, client.check_sdr, lambda: client.read([key])):
        with pytest.raises(IpmiClientClosedError):
            call()
    with pytest.raises(IpmiClientClosedError):
        client.request(0x06, 0x01)
    assert client.identity_confirmed is False
    assert sim.control.request_log(since=seq) == []


def test_close_during_a_request_logs_out_once_it_ends(bmc_sim_factory: Factory) -> None:
    """A poll of a slow BMC holds the session: close returns at once and the logout follows the request."""
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    client.sensors()
    sim.control.set_fault(latency_ms=1500)
    failed: list[BaseException] = []

    def poll() -> None:
        try:
            client.poll()
        except IpmiConnectionError as err:
            failed.append(err)

    worker = threading.Thread(target=poll)
    worker.start()
    time.sleep(0.3)
    start = time.monotonic()
    client.close()
    assert time.monotonic() - start < 2
    worker.join(timeout=20)
    assert failed
    assert _active_sessions(sim, timeout=10) == []


# ---------------------------------------------------------------------------
# Identity at every new login
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_failures")
def test_a_failed_read_does_not_log_out_the_session_another_thread_just_logged_in_with(
    bmc_sim_factory: Factory,
) -> None:
    """A poll's read fails on its session while another thread (a fan write) logs in again and checks the BMC.

    The failed read forgets the session it used, not the new one: the fan write's session stays logged in.
    """
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        client.poll()
        connection = client._connection
        used = connection.confirmed_generation

        def fail_after_another_login() -> None:
            def write_side() -> None:
                connection.drop(used)
                connection.ensure()  # a new login, the BMC checked again

            other = threading.Thread(target=write_side)
            other.start()
            other.join(timeout=30)
            raise IpmiConnectionError("the BMC did not answer")

        with pytest.raises(IpmiConnectionError):
            client._expiry_tolerant(fail_after_another_login)
        assert connection.confirmed_generation == used + 1
        assert connection.confirmed  # still logged in with the new login's session
        assert client.request(0x06, 0x01)  # and it answers, without another login
        assert connection.session.generation == used + 1
        for _ in range(60):  # bounded: the first login's Close Session reaches the BMC within moments
            active = [s for s in sim.control.sessions() if s["state"] == "active"]
            if len(active) == 1:
                break
            time.sleep(0.05)
        assert len(active) == 1
    finally:
        client.close()


def test_guidless_bmc_replaced_by_another_server_is_refused(bmc_sim_factory: Factory) -> None:
    """No GUID: another server with the same credentials at the address is told apart by its FRU serial."""
    generic = get_profile("generic")
    first = _no_guid(bmc_sim_factory(generic))
    client = _client(first)
    try:
        identity = client.connect()
        assert identity.guid is None
        assert identity.serial
        assert client.poll().readings
        key = client.sensors()[0].key
        port = first.port
        first.stop()
        twin = replace(generic, fru=replace(generic.fru, product_serial="OTHER-0002", board_serial="OTHER-B2"))
        second = _no_guid(bmc_sim_factory(twin, port=port))
        second.control.set_temperature(second.control.sensors()[0]["name"], 77)
        with pytest.raises(IpmiConnectionError):
            client.poll()  # the old session is unknown to the other BMC
        seq = second.control.last_seq()
        with pytest.raises(IpmiWrongBmcError):
            client.poll()
        assert client.identity_confirmed is False
        with pytest.raises(IpmiWrongBmcError):
            client.request(0x06, 0x01)
        with pytest.raises(IpmiWrongBmcError):
            client.read([key])
        asked = {(r.netfn, r.cmd) for r in second.control.request_log(since=seq) if r.kind == "ipmi"}
        assert (0x04, 0x2D) not in asked, "a sensor of the other server was read"
        assert _active_sessions(second) == []  # the refused login was logged out
    finally:
        client.close()


@pytest.mark.usefixtures("quick_failures")
def test_without_guid_or_fru_the_firmware_tells_servers_apart(bmc_sim_factory: Factory) -> None:
    generic = get_profile("generic")
    first = _no_guid_no_fru(bmc_sim_factory(generic))
    client = _client(first)
    try:
        assert (client.connect().serial, client.connect().model) == (None, None)
        port = first.port
        first.stop()
        newer = replace(generic, device=replace(generic.device, fw_minor=0x42))
        second = _no_guid_no_fru(bmc_sim_factory(newer, port=port))
        with pytest.raises(IpmiConnectionError):
            client.poll()
        with pytest.raises(IpmiWrongBmcError):
            client.poll()
        assert _active_sessions(second) == []
    finally:
        client.close()


@pytest.mark.usefixtures("quick_failures")
def test_same_guidless_bmc_after_its_restart_is_confirmed_again(bmc_sim_factory: Factory) -> None:
    sim = _no_guid(bmc_sim_factory("generic"))
    client = _client(sim)
    try:
        client.connect()
        generation = client._connection.session.generation
        assert client.identity_confirmed
        sim.control.restart_bmc()
        with pytest.raises(IpmiConnectionError):
            client.poll()
        assert client.identity_confirmed is False
        assert client.poll().readings
        assert client._connection.session.generation == generation + 1
        assert client.identity_confirmed
        client.drop_session()  # as if lost: the next call logs in and checks again
        assert client.identity_confirmed is False
        assert client.read([client.sensors()[0].key])
        assert client._connection.session.generation == generation + 2
    finally:
        client.close()


AMI_PLACEHOLDER = uuid.UUID("03000200-0400-0500-0006-000700080009")


@pytest.mark.usefixtures("quick_failures")
def test_placeholder_guid_without_fru_tells_servers_apart_by_mac(bmc_sim_factory: Factory) -> None:
    """AMI's placeholder GUID and no FRU: the MAC address of the LAN channel identifies the BMC."""
    first = bmc_sim_factory("generic")
    first.guid = AMI_PLACEHOLDER
    first.mac = bytes.fromhex("0025904a1b2c")
    first.control.set_completion_code(0x0A, 0x10, 0xCB)
    client = _client(first)
    try:
        identity = client.connect()
        assert identity.guid is None
        assert identity.placeholder_guid == "03000200-0400-0500-0006-000700080009"
        assert identity.mac == "00:25:90:4a:1b:2c"
        assert identity.unique_id == "0-1-00:25:90:4a:1b:2c"
        port = first.port
        first.control.restart_bmc()  # the same server after a restart: accepted
        with pytest.raises(IpmiConnectionError):
            client.poll()
        assert client.poll().readings
        first.stop()
        second = bmc_sim_factory("generic", port=port)
        second.guid = AMI_PLACEHOLDER
        second.mac = bytes.fromhex("0025904a1b2d")
        second.control.set_completion_code(0x0A, 0x10, 0xCB)
        with pytest.raises(IpmiConnectionError):
            client.poll()
        with pytest.raises(IpmiWrongBmcError):
            client.poll()
        lan = [bytes(r.data) for r in second.control.request_log() if (r.netfn, r.cmd) == (0x0C, 0x02)]
        assert lan[0] == bytes([0x0E, 0x05, 0x00, 0x00])
    finally:
        client.close()
