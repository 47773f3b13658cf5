"""Clear event log: Reserve SEL then Clear SEL through the write gate, audited, against bmcsim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, FanController, IpmiCompletionCodeError
from custom_components.zephyr_ipmi.ipmi.sel import SelReader, clear_sel

from .control_fixtures import Rig

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

RigFactory = Callable[..., Rig]


def _reservations(sim: Simulator, since: int) -> list[bytes]:
    """Reservation ids the BMC handed out (Reserve SEL answers) since ``since``."""
    return [bytes(r.response) for r in sim.control.request_log(since=since, netfn=0x0A, cmd=0x42)]


def test_clear_event_log_is_one_audited_write(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    assert r.sim.control.sel()  # the profile starts with old records
    position = SelReader(r.client).read_new(None).position
    since = r.seq()
    assert r.controller.clear_sel(actor="user-1") is True
    assert r.sim.control.sel() == []
    [reservation] = _reservations(r.sim, since)
    # The only write: Clear SEL with the reservation, "CLR" and AAh (initiate erase).
    assert r.writes(since) == [(0x0A, 0x42, b"", 0), (0x0A, 0x47, reservation + b"CLR\xaa", 0)]
    audit = r.audits[-1]
    assert (audit.command, audit.actor, audit.result, audit.netfn, audit.cmd) == (
        "clear_sel",
        "user-1",
        "ok",
        0x0A,
        0x47,
    )
    assert audit.data == reservation + bytes.fromhex("434c52aa")
    # The SEL reader sees the erase at its next read.
    r.sim.control.tick(2)
    r.sim.control.add_sel_event("intrusion")
    after = SelReader(r.client).read_new(position)
    assert after.cleared
    assert [record.sensor_type for record in after.records] == [0x05]


def test_a_cancelled_reservation_is_taken_again(rig: RigFactory) -> None:
    r = rig("generic")
    r.sim.control.set_completion_code(0x0A, 0x47, 0xC5, count=1)
    since = r.seq()
    assert r.controller.clear_sel(actor="user-1") is True
    assert len(_reservations(r.sim, since)) == 2
    assert [(a.command, a.result, a.completion_code) for a in r.audits[-2:]] == [
        ("clear_sel", "error", 0xC5),
        ("clear_sel", "ok", 0),
    ]
    r.sim.control.set_completion_code(0x0A, 0x47, 0xC5)
    with pytest.raises(IpmiCompletionCodeError):
        r.controller.clear_sel()


def test_a_read_only_account_cannot_clear(bmc_sim_factory: Callable[..., Simulator]) -> None:
    """Clear SEL needs the Operator privilege: a User account gets 0xD4, audited; the SEL stays."""
    sim = bmc_sim_factory("generic", users={"viewer": ("look-only-1", 2)})
    sim.control.add_sel_event("intrusion")
    records = len(sim.control.sel())
    client = BmcClient("127.0.0.1", sim.port, "viewer", "look-only-1")
    audits: list[Any] = []
    try:
        controller = FanController(client, on_audit=audits.append)
        with pytest.raises(IpmiCompletionCodeError) as err:
            controller.clear_sel(actor="user-2")
        assert err.value.code == 0xD4
        assert (audits[-1].command, audits[-1].result, audits[-1].completion_code) == ("clear_sel", "error", 0xD4)
        assert len(sim.control.sel()) == records
    finally:
        client.close()


class _SlowEraser:
    """A BMC whose erase takes two status reads (bmcsim erases at once): answers progress 0 twice, then 1."""

    def __init__(self) -> None:
        self.progress = [0x00, 0x00, 0x01]
        self.sent: list[tuple[int, bytes]] = []

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        self.sent.append((command, bytes(data)))
        if command == 0x42:
            return b"\x07\x00"
        return bytes([self.progress.pop(0)])

    def send(self, request: Any, *, actor: str | None) -> bytes:
        return self.request(request.netfn, request.command, request.data)


def test_waits_for_the_erase_to_complete() -> None:
    bmc = _SlowEraser()
    sleeps: list[float] = []
    assert clear_sel(bmc, bmc, actor=None, sleep=sleeps.append) is True  # type: ignore[arg-type]
    assert bmc.sent == [
        (0x42, b""),
        (0x47, bytes.fromhex("0700 434c52 aa")),
        (0x47, bytes.fromhex("0700 434c52 00")),
        (0x47, bytes.fromhex("0700 434c52 00")),
    ]
    assert sleeps == [0.5, 0.5]
    never = _SlowEraser()
    never.progress = [0x00] * 10
    assert clear_sel(never, never, actor=None, wait=0, sleep=sleeps.append) is False  # type: ignore[arg-type]
