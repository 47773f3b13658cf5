"""Upkeep of the sessions with a BMC over long runs, against bmcsim on 127.0.0.1: what pyghmi keeps in memory,
sessions that expire at the BMC between polls, and sessions abandoned after a failure."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pyghmi.ipmi.private import session as pyghmi_session

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiConnectionError
from custom_components.zephyr_ipmi.ipmi import session as session_module

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]


def _client(sim: Simulator) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", "admin")


def test_pyghmis_received_packet_queue_does_not_grow_with_polls(bmc_sim_factory: Factory) -> None:
    """Attack finding 11: pyghmi queued one entry per received packet and only a login emptied the queue."""
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim)
    try:
        client.poll()
        sensors = len(client.sensor_list)
        assert sensors >= 10
        for _ in range(40):
            client.poll()
            # Each poll receives at least one packet per sensor; none of them is still held after the poll.
            assert len(pyghmi_session.sessionqueue) <= 2
        assert client.request_count >= 40 * sensors
    finally:
        client.close()


def test_the_queue_is_left_to_a_login_under_way() -> None:
    """pyghmi's login loop reads the queue to process its handshake answers: it is not emptied under it."""
    marker = object()
    session_module._login_started()
    try:
        pyghmi_session.sessionqueue.append(marker)
        session_module.drain_received_queue()
        assert marker in pyghmi_session.sessionqueue
    finally:
        session_module._login_ended()
    session_module.drain_received_queue()
    assert marker not in pyghmi_session.sessionqueue


@pytest.fixture
def quick_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds instead of minutes: requests to a forgotten session fail after about 1 s, keepalives tick often."""
    monkeypatch.setattr(session_module, "RETRANSMIT_LIMIT", 1)
    monkeypatch.setattr(session_module, "MIN_KEEPALIVE_IDLE", 0.3)
    monkeypatch.setattr(session_module.KEEPALIVE, "TICK", 0.1)


@pytest.mark.usefixtures("quick_expiry")
def test_a_session_expired_between_polls_is_logged_in_again_within_the_poll(bmc_sim_factory: Factory) -> None:
    """Attack finding 6: a BMC whose idle timeout is shorter than the poll interval failed every other poll.

    The poll that finds its session expired logs in again (and checks the BMC's identity) and still reads every
    sensor; the keepalive then keeps the session alive within the BMC's timeout, so later polls need no login.
    """
    sim = bmc_sim_factory("generic")
    sim.control.set_session_timeout(1.5)
    client = _client(sim)
    try:
        client.poll()
        session = client._connection.session
        assert session.generation == 1
        time.sleep(2.5)  # idle longer than the BMC's timeout (the keepalive idles 20 s): the session expires
        assert [s for s in sim.control.sessions() if s["state"] == "active"] == []
        sim.control.set_temperature("CPU Temp", 71)
        snapshot = client.poll()
        assert snapshot.readings[_key(client, "CPU Temp")].value == 71
        assert snapshot.errors == {}
        assert session.generation == 2
        assert session.keepalive_idle is not None
        assert session.keepalive_idle < 1.5
        keepalives = session.keepalives
        time.sleep(2.5)
        sim.control.set_temperature("CPU Temp", 72)
        assert client.poll().readings[_key(client, "CPU Temp")].value == 72
        assert session.generation == 2  # the session lived on: no login in this poll
        assert session.keepalives > keepalives
    finally:
        client.close()


@pytest.mark.usefixtures("quick_expiry")
def test_an_unanswered_keepalive_shortens_the_keepalive_once_a_login_works(
    bmc_sim_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A keepalive that comes after the BMC forgot the session teaches the same as a poll would."""
    monkeypatch.setattr(session_module.KEEPALIVE, "IDLE", 3.0)  # longer than the BMC keeps an idle session
    sim = bmc_sim_factory("generic")
    sim.control.set_session_timeout(2.0)
    client = _client(sim)
    try:
        client.poll()
        session = client._connection.session
        deadline = time.monotonic() + 10
        while session.alive and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not session.alive  # the keepalive after 3 s went unanswered: pyghmi gave the session up
        assert session.keepalives == 1
        assert session.keepalive_idle is None  # not yet: the BMC might be down
        sim.control.set_temperature("CPU Temp", 58)
        assert client.poll().readings[_key(client, "CPU Temp")].value == 58
        assert session.keepalive_idle is not None
        assert 1.0 <= session.keepalive_idle < 2.0
        time.sleep(3.5)
        assert client.poll().readings
        assert session.generation == 2
        assert session.keepalives > 1
    finally:
        client.close()


@pytest.mark.usefixtures("quick_expiry")
def test_a_poll_of_a_bmc_that_stopped_answering_still_fails(bmc_sim_factory: Factory) -> None:
    """The login within the poll is tried once: a silent BMC fails the poll, and nothing is learned from it."""
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        client.poll()
        session = client._connection.session
        time.sleep(0.5)
        sim.control.set_fault(silent=True)
        with pytest.raises(IpmiConnectionError):
            client.poll()
        assert session.keepalive_idle is None
        assert session.generation == 1
        sim.control.set_fault(silent=False)
        assert client.poll().readings
        assert session.generation == 2
    finally:
        client.close()


def _key(client: BmcClient, name: str) -> str:
    return next(sensor.key for sensor in client.sensor_list if sensor.name == name)


@pytest.mark.usefixtures("quick_expiry")
def test_a_session_given_up_after_a_failed_poll_is_closed_at_the_bmc(bmc_sim_factory: Factory) -> None:
    """Attack finding 8: a poll that timed out dropped its session without Close Session; the BMC held it."""
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        client.poll()
        (held,) = [s for s in sim.control.sessions() if s["state"] == "active"]
        sim.control.set_fault(latency_ms=2500)  # answers come after the client gave up waiting
        with pytest.raises(IpmiConnectionError):
            client.poll()
        assert not client.identity_confirmed
        deadline = time.monotonic() + 8
        while [s for s in sim.control.sessions() if s["state"] == "active"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s for s in sim.control.sessions() if s["state"] == "active"] == []
        closes = sim.control.request_log(netfn=0x06, cmd=0x3C)
        assert [(r.session_id, r.data) for r in closes] == [
            (held["session_id"], held["session_id"].to_bytes(4, "little"))
        ]
    finally:
        client.close()
