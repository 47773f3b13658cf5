"""Upkeep of the sessions with a BMC over long runs, against bmcsim on 127.0.0.1: what pyghmi keeps in memory,
sessions that expire at the BMC between polls, and sessions abandoned after a failure."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyghmi.ipmi.private import session as pyghmi_session

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient
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
