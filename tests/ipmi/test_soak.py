"""Polling for a long time leaves nothing behind: no thread, no session, no entry in pyghmi's global queues.

A compressed soak against two bmcsim BMCs over UDP: back-to-back polls with BMC restarts (the sessions are
lost: a poll fails, the next logs in again), dropped sessions, idle sessions kept alive and clients replaced
(an entry reload). Counts are compared, never times or memory: the process-wide collections of pyghmi's
session module and of the boundary must be as long after every cycle as after the first one (pyghmi's
received-packet queue, emptied after each poll (defect (k)), holds at most the keepalives' answers since), and
empty of this test's sessions once every client is closed. ``bench/soak.py`` runs the same for a simulated day and
also records memory.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.soak import global_sizes
from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiError
from custom_components.zephyr_ipmi.ipmi import session as session_module

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]
#: Cycles of the soak; each has polls, a BMC restart, a dropped session, idle time and a replaced client.
CYCLES = 6
POLLS_PER_CYCLE = 12
#: Entries pyghmi's received-packet queue may hold between polls: answers to the keepalives sent since.
KEEPALIVE_ANSWERS = 10


def _client(sim: Simulator) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", "admin")


def _poll(client: BmcClient) -> bool:
    try:
        client.poll()
    except IpmiError:
        return False
    return True


def _quiet_sizes() -> dict[str, int]:
    """The global collections' sizes once nothing is in flight (the keepalive thread between ticks)."""
    deadline = time.monotonic() + 10.0
    while True:
        gc.collect()
        time.sleep(session_module.KEEPALIVE.TICK * 2)
        sizes = global_sizes()
        if (sizes["pyghmi.ioqueue"] == 0 and sizes["pyghmi.waiting_sessions"] == 0) or time.monotonic() > deadline:
            return sizes


def test_a_compressed_soak_leaves_nothing_behind(bmc_sim_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restarts, dropped sessions, keepalives and reloads: sessions, threads and pyghmi's queues do not grow."""
    monkeypatch.setattr(session_module.KEEPALIVE, "IDLE", 0.05)
    monkeypatch.setattr(session_module.KEEPALIVE, "TICK", 0.02)
    # A request to a restarted BMC fails after about 1 s instead of 7 s.
    monkeypatch.setattr(session_module, "RETRANSMIT_LIMIT", 1)
    sims = [bmc_sim_factory("generic"), bmc_sim_factory("supermicro-x11")]
    holders_before = len(session_module._HOLDERS)
    clients = [_client(sim) for sim in sims]
    failures = 0

    def cycle(number: int, pool: ThreadPoolExecutor) -> int:
        """Polls with a BMC restart and a dropped session, idle time, then one client replaced; the failed polls."""
        failed = 0
        for step in range(POLLS_PER_CYCLE):
            if step == 3:
                sims[number % 2].control.restart_bmc()
            if step == 7:
                clients[(number + 1) % 2].drop_session()
            failed += list(pool.map(_poll, clients)).count(False)
        # Idle: the keepalive thread sends Get Device ID on the idle sessions.
        keepalives = sum(client._connection.session.keepalives for client in clients)
        deadline = time.monotonic() + 5.0
        while sum(client._connection.session.keepalives for client in clients) == keepalives:
            assert time.monotonic() < deadline, "no keepalive on idle sessions"
            time.sleep(0.05)
        index = number % 2
        clients[index].close()
        clients[index] = _client(sims[index])
        assert all(pool.map(_poll, clients))
        return failed

    try:
        with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="soak") as pool:
            # A first cycle's logins also end what earlier tests left in pyghmi's registries.
            failures += cycle(0, pool)
            baseline = _quiet_sizes()
            baseline.pop("pyghmi.sessionqueue")
            threads = threading.active_count()
            for number in range(1, CYCLES + 1):
                failures += cycle(number, pool)
                sizes = _quiet_sizes()
                assert sizes.pop("pyghmi.sessionqueue") <= KEEPALIVE_ANSWERS, f"cycle {number}"
                assert sizes == baseline, f"cycle {number}"
                assert threading.active_count() <= threads
    finally:
        for client in clients:
            client.close()
    # Each restart costs at most the poll that found the session gone.
    assert failures <= CYCLES + 1
    after = _quiet_sizes()
    assert after["zephyr._HOLDERS"] == holders_before
    assert after["zephyr.keepalive_sessions"] == 0
    assert after["pyghmi.waiting_sessions"] == 0
    assert after["pyghmi.ioqueue"] == 0
    assert not [t for t in threading.enumerate() if t.name == "zephyr_ipmi_keepalive"]
    # Both BMCs see no session of ours left.
    for sim in sims:
        assert [s for s in sim.control.sessions() if s["state"] == "active"] == []
