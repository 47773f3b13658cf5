"""Simulated BMCs for ``scripts/develop``: one interface, several simulators behind it.

A backend starts a BMC on 127.0.0.1, tells where it answers and with which credentials, and moves its
readings a little each time ``vary()`` is called, so that Home Assistant's graphs are not flat lines.

* ``ipmi_sim`` (default): OpenIPMI's ``ipmi_sim`` as a Supermicro X11-like board, through the test
  harness in ``tests/peers/ipmi_sim.py``. Temperatures, fans, voltages, PSU current and power, PSU
  status and chassis intrusion; no DCMI.
* ``bmcsim``: the pure-Python simulator in ``bmcsim/`` (vendor profiles, a thermal model, DCMI power on
  the profiles that have it); its readings follow a host load that wanders over time.

To add or change the default simulator, edit ``BACKENDS`` / ``DEFAULT_BACKEND`` below.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

DEMO_USERNAME = "ADMIN"
DEMO_PASSWORD = "Zephyr-Demo-1"  # noqa: S105 - the simulator listens on 127.0.0.1 only


class DemoBmc(Protocol):
    """A simulated BMC on 127.0.0.1."""

    label: str
    host: str
    port: int
    username: str
    password: str

    def start(self) -> None:
        """Start serving (bounded wait); raise on failure."""

    def vary(self, elapsed: float) -> None:
        """Move the readings to where they should be ``elapsed`` seconds after start."""

    def fans(self) -> str | None:
        """Describe who runs the fans (mode, duties, rpm) as the BMC sees it, or None when unknown."""

    def stop(self) -> None:
        """Stop serving and clean up (idempotent)."""


class HostLoad:
    """A host CPU load (percent) that wanders smoothly between about 5 and 95 percent."""

    def __init__(self, seed: int | None = None) -> None:
        """Start near 30 percent."""
        self._rng = random.Random(seed)  # noqa: S311 - demo readings, not secrets
        self._walk = 0.0

    def at(self, elapsed: float) -> float:
        """Load at ``elapsed`` seconds: a slow wave (period 10 min), a faster one and a bounded random walk."""
        self._walk = max(-15.0, min(15.0, self._walk + self._rng.uniform(-3.0, 3.0)))
        wave = 25.0 * math.sin(2 * math.pi * elapsed / 600.0) + 10.0 * math.sin(2 * math.pi * elapsed / 97.0)
        return max(5.0, min(95.0, 40.0 + wave + self._walk))


class IpmiSimBmc:
    """OpenIPMI ``ipmi_sim`` as a Supermicro X11-like BMC (``tests/peers/ipmi_sim.py``)."""

    label = "OpenIPMI ipmi_sim, Supermicro X11-like board"
    host = "127.0.0.1"

    def __init__(self, port: int, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD) -> None:
        """Prepare a BMC on ``port`` (0: any free port)."""
        from tests.peers.ipmi_sim import IpmiSimPeer  # noqa: PLC0415 - needs ROOT_DIR on sys.path

        # Sensors re-read their value files once a second: plenty for a demo polled every 10 s or more.
        self._peer = IpmiSimPeer(username=username, password=password, port=port or None, poll_interval_ms=1000)
        self.username = username
        self.password = password
        self.port = port
        self._load = HostLoad()
        self._rng = random.Random()  # noqa: S311 - demo readings, not secrets
        self._last: dict[str, int] = {}

    def start(self) -> None:
        """Launch ipmi_sim and wait until it answers RMCP (at most about 10 s)."""
        self._peer.start()
        self.port = self._peer.port

    def _set(self, name: str, value: float) -> None:
        """Set a threshold sensor, skipping the console round trip when the raw byte did not change."""
        raw = self._peer.board.analog_sensor(name).raw(value)
        if self._last.get(name) != raw:
            self._peer.set_sensor_raw(self._peer.board.analog_sensor(name).number, raw, generate_event=False)
            self._last[name] = raw

    def vary(self, elapsed: float) -> None:
        """Follow a wandering host load: CPU and DIMM temperatures, fans, PSU power and current, Vcpu."""
        load = self._load.at(elapsed)
        noise = self._rng.uniform
        self._set("CPU Temp", 36 + 0.38 * load + noise(-1, 1))
        self._set("DIMMA1 Temp", 31 + 0.12 * load + noise(-0.5, 0.5))
        self._set("System Temp", 28 + 0.04 * load + noise(-0.5, 0.5))
        self._set("Peripheral Temp", 35 + 0.08 * load + noise(-0.5, 0.5))
        for fan, base in (("FAN1", 1600), ("FAN2", 1700), ("FAN3", 1500), ("FANA", 1400)):
            self._set(fan, base + 14 * load + noise(-60, 60))
        power = 85 + 1.3 * load + noise(-3, 3)
        self._set("PS1 Power", power)
        self._set("PS1 Curr", power / 48)
        self._set("Vcpu", 1.02 + 0.0012 * load + noise(-0.004, 0.004))
        self._set("12V", 12.0 - 0.004 * load + noise(-0.03, 0.03))

    def fans(self) -> str | None:
        """ipmi_sim has no vendor fan commands: nothing to tell."""
        return None

    def stop(self) -> None:
        """Terminate ipmi_sim and delete its temporary directory."""
        self._peer.stop()


class BmcsimBmc:
    """The ``bmcsim`` simulator (``bmcsim/``), running in this process."""

    host = "127.0.0.1"

    def __init__(
        self,
        port: int,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        profile: str = "supermicro-x11",
        load: float | None = None,
    ) -> None:
        """Prepare a BMC with ``profile`` on ``port`` (0: any free port).

        ``load`` (percent) holds the host load there, to be changed only through the control channel
        (``control`` after ``start``: TCP ``port`` + 1 on 127.0.0.1, any free port when ``port`` is 0);
        None lets it wander.
        """
        from bmcsim import Simulator  # noqa: PLC0415 - needs ROOT_DIR on sys.path

        self._sim = Simulator(
            profile,
            port=port,
            users={username: password},
            speed=1.0,
            load=30.0 if load is None else load,
            control=f"127.0.0.1:{port + 1 if port else 0}",
        )
        self.label = f"bmcsim, profile {profile}"
        self.username = username
        self.password = password
        self.port = port
        self._load = HostLoad() if load is None else None
        self.held_load = load
        """The host load (percent) held until changed through the control channel; None while it wanders."""
        self.control: str | None = None

    def start(self) -> None:
        """Bind the UDP port and the control channel (127.0.0.1, a free TCP port) and start the simulator."""
        self._sim.start()
        self.port = self._sim.port
        server = self._sim.control_server
        self.control = server.address if server is not None else None

    def vary(self, elapsed: float) -> None:
        """Move the host load (unless it is held); bmcsim's thermal model turns it into temperatures and fans."""
        if self._load is not None:
            self._sim.control.set_load(self._load.at(elapsed))

    def fans(self) -> str | None:
        """Return the fan mode, each zone's duty (%) and the first fan's speed (rpm), from the simulator."""
        fans = self._sim.control.state()["fans"]
        duties = " / ".join(f"{duty:.0f} %" for duty in fans.get("zone_duty", []))
        mode = fans.get("mode_name") or ("manual" if fans.get("manual") else "automatic")
        manual = fans.get("manual")
        held = f", duties set by a client {manual}" if isinstance(manual, dict) and manual else ""
        rpm = next((s["value"] for s in self._sim.control.sensors() if s["kind"] == "fan"), None)
        return f"fan mode {mode}{held}, zone duties {duties}, first fan {rpm:.0f} rpm"

    def stop(self) -> None:
        """Stop the simulator's thread and close its sockets."""
        self._sim.stop()


BACKENDS: dict[str, Callable[..., DemoBmc]] = {
    "ipmi_sim": IpmiSimBmc,
    "bmcsim": BmcsimBmc,
}
DEFAULT_BACKEND = "bmcsim"


def make_bmc(backend: str, port: int, *, profile: str | None = None, load: float | None = None) -> DemoBmc:
    """Build (not start) the simulated BMC of ``backend``; ``load`` (bmcsim) holds the host load (percent)."""
    if backend == "bmcsim":
        return BmcsimBmc(port, profile=profile or "supermicro-x11", load=load)
    return BACKENDS[backend](port)
