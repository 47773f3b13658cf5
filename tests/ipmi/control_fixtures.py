"""Fixtures for the control tests: a started bmcsim profile, a BmcClient and a FanController on it.

Every simulator's whole request log is checked at teardown: no fan duty of 0 % ever went on the wire. The
byte patterns are written here literally (Supermicro ``30 70 66 01 <zone> <duty>`` and ``30 91 5A 03 <z>
<duty>``, Dell ``30 30 02 <fan> <duty>``), shared with nothing in bmcsim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import AuditRecord, BmcClient, FanController


@dataclass
class Rig:
    """A simulator, a client logged in to it, a controller and what its callbacks received."""

    sim: Simulator
    client: BmcClient
    controller: FanController
    audits: list[AuditRecord] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    clients: list[BmcClient] = field(default_factory=list)

    def writes(self, since: int = 0, netfn: int | None = None) -> list[tuple[int, int, bytes, int]]:
        """Requests that change something (everything but the known reads), as (netfn, cmd, data, cc)."""
        return [
            (r.netfn, r.cmd, bytes(r.data), r.cc)
            for r in self.sim.control.request_log(since=since, netfn=netfn)
            if not is_read(r.netfn, r.cmd, bytes(r.data))
        ]

    def fan_writes(self, since: int = 0) -> list[tuple[int, bytes, int]]:
        """OEM netfn 0x30 writes as (cmd, data, cc)."""
        return [(cmd, data, cc) for _netfn, cmd, data, cc in self.writes(since, netfn=0x30)]

    def seq(self) -> int:
        """The newest request log sequence number."""
        return self.sim.control.last_seq()

    def rpm(self, fan: str) -> float:
        """The simulated fan's speed (rpm) as the BMC reports it."""
        return float(self.sim.control.sensor(fan)["value"])

    def new_controller(self, **kwargs: Any) -> FanController:
        """Another controller on a new client of the same BMC (a restart of Home Assistant)."""
        self.client = BmcClient("127.0.0.1", self.sim.port, "admin", "admin")
        self.clients.append(self.client)
        kwargs.setdefault("on_audit", self.audits.append)
        self.controller = FanController(self.client, **kwargs)
        return self.controller


#: Read-only requests (netfn, cmd, data prefix) of the core and the client.
READS: tuple[tuple[int, int, bytes], ...] = (
    (0x00, 0x01, b""),  # Get Chassis Status
    (0x04, 0x27, b""),  # Get Sensor Thresholds
    (0x04, 0x2D, b""),  # Get Sensor Reading
    (0x06, 0x01, b""),  # Get Device ID
    (0x06, 0x37, b""),  # Get System GUID
    (0x06, 0x3B, b""),  # Set Session Privilege Level (part of the login)
    (0x06, 0x3C, b""),  # Close Session (the client logging out)
    (0x0A, 0x10, b""),  # Get FRU Inventory Area Info
    (0x0A, 0x11, b""),  # Read FRU Data
    (0x0A, 0x20, b""),  # Get SDR Repository Info
    (0x0A, 0x22, b""),  # Reserve SDR Repository
    (0x0A, 0x23, b""),  # Get SDR
    (0x2C, 0x02, b"\xdc"),  # DCMI Get Power Reading
    (0x30, 0x45, b"\x00"),  # Supermicro get fan mode
    (0x30, 0x70, b"\x66\x00"),  # Supermicro read zone duty
    (0x30, 0xCE, b"\x01"),  # Dell read PCIe cooling response
)


def is_read(netfn: int, cmd: int, data: bytes) -> bool:
    """True for a request in ``READS``."""
    return any(netfn == n and cmd == c and data.startswith(p) for n, c, p in READS)


def zero_duty_writes(sim: Simulator) -> list[bytes]:
    """Every fan duty write of 0 % (or of the seven-byte Supermicro form) in ``sim``'s whole request log."""
    bad = []
    for r in sim.control.request_log(netfn=0x30):
        data = bytes(r.data)
        if (
            (r.cmd == 0x70 and data[:2] == b"\x66\x01" and (len(data) != 4 or data[3] == 0))
            or (r.cmd == 0x91 and data[:2] == b"\x5a\x03" and (len(data) != 4 or data[3] == 0))
            or (r.cmd == 0x30 and data[:1] == b"\x02" and (len(data) != 3 or data[2] == 0))
        ):
            bad.append(data)
    return bad


@pytest.fixture
def rig(bmc_sim_factory: Callable[..., Simulator]) -> Iterator[Callable[..., Rig]]:
    """Factory: ``rig(profile, **controller_kwargs)`` -> a ``Rig`` (probed). Checks for 0 % at teardown."""
    made: list[Rig] = []

    def factory(profile: str, *, probe: bool = True, **kwargs: Any) -> Rig:
        sim = bmc_sim_factory(profile)
        client = BmcClient("127.0.0.1", sim.port, "admin", "admin")
        audits: list[AuditRecord] = []
        states: list[dict[str, Any]] = []
        controller = FanController(client, on_audit=audits.append, on_state=states.append, **kwargs)
        made.append(rig := Rig(sim, client, controller, audits, states, [client]))
        if probe:
            controller.probe()
        return rig

    yield factory
    for made_rig in made:
        for client in made_rig.clients:
            client.close()
    for made_rig in made:
        assert zero_duty_writes(made_rig.sim) == []
