"""Test helpers: the fan writes a control layer sends (bytes written literally here) and a tick reader.

Used to drive the HA-free control loop against bmcsim over UDP on 127.0.0.1 on simulated time. The bytes
come from the vendors' public sources (docs/ipmi-notes.md §1), not from the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, SdrSensor, SensorKind
from custom_components.zephyr_ipmi.ipmi.automatic import AutomaticSettings, BmcFacts, ControlLoop, TickReport
from custom_components.zephyr_ipmi.ipmi.automatic.reader import BmcReader

#: Supermicro zone keys -> zone byte of 0x30 0x70 0x66.
SUPERMICRO_ZONES = {"cpu": 0x00, "peripheral": 0x01}


@dataclass
class SimFans:
    """Supermicro (``0x30 0x45`` mode, ``0x30 0x70 0x66`` zone duty) or Dell (``0x30 0x30``) fan writes."""

    client: BmcClient
    vendor: str = "supermicro"
    baseline: int | None = None
    holding: bool = False
    writes: list[tuple[str, int]] = field(default_factory=list)

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> object:
        assert 20 <= percent <= 100, percent  # never 0 %, never under the floor
        self.writes.append((zone_key, percent))
        if self.vendor == "supermicro":
            if not self.holding:
                self.baseline = self.client.request(0x30, 0x45, b"\x00")[0]
                self.client.request(0x30, 0x45, b"\x01\x01")  # Full mode, else the BMC overwrites the duty
                self.holding = True
            return self.client.request(0x30, 0x70, bytes([0x66, 0x01, SUPERMICRO_ZONES[zone_key], percent]))
        if not self.holding:
            self.client.request(0x30, 0x30, b"\x01\x00")  # manual
            self.holding = True
        return self.client.request(0x30, 0x30, bytes([0x02, 0xFF, percent]))

    def hand_back(self, reason: str, *, actor: str = "zephyr") -> bool:
        if not self.holding:
            return False
        if self.vendor == "supermicro":
            self.client.request(0x30, 0x45, bytes([0x01, self.baseline or 0]))
        else:
            self.client.request(0x30, 0x30, b"\x01\x01")  # automatic
        self.holding = False
        return True

    def zone_duty(self, zone_key: str) -> int:
        return self.client.request(0x30, 0x70, bytes([0x66, 0x00, SUPERMICRO_ZONES[zone_key]]))[0]

    def set_sensor_thresholds(self, sensor: SdrSensor, values: dict[str, float], *, actor: str | None = None) -> object:
        """Set Sensor Thresholds (netfn 04h cmd 26h): mask bit 0 lnc, 1 lcr, 2 lnr; raw = rpm / 100 here."""
        mask = sum(bit for name, bit in (("lnc", 1), ("lcr", 2), ("lnr", 4)) if name in values)
        raw = [round(values.get(name, 0) / 100) for name in ("lnc", "lcr", "lnr")]
        return self.client.request(0x04, 0x26, bytes([sensor.number, mask, *raw, 0, 0, 0]))


@dataclass(frozen=True)
class Duties:
    """Zone duties (%) read back, as the control layer's ``FanState`` carries them."""

    zone_duty: dict[str, int | None]


def make_reader(client: BmcClient, fans: SimFans, fan_zone: Callable[[str], str]) -> BmcReader:
    """The core's tick reader on this client: only the rules' temperatures and the fans, zone duties read back."""
    sensors = {s.key: s for s in client.sensors()}
    zones = {key: fan_zone(s.name) for key, s in sensors.items() if s.kind == SensorKind.FAN}

    def read_state() -> Duties:
        if fans.vendor != "supermicro":
            return Duties({})
        return Duties({zone: fans.zone_duty(zone) for zone in SUPERMICRO_ZONES})

    return BmcReader(client, sensors, zones, read_state)


def supermicro_zone(name: str) -> str:
    """FAN1..FANn are zone 0 (cpu), FANA/FANB zone 1 (peripheral)."""
    return "cpu" if name[3:].isdigit() else "peripheral"


def sensor_key(client: BmcClient, name: str) -> str:
    return next(s.key for s in client.sensors() if s.name == name)


def sim_time(sim: Simulator) -> float:
    return float(sim.control.state()["sim_time"])


def facts_for(client: BmcClient, zones: tuple[str, ...], fan_zone: Callable[[str], str]) -> BmcFacts:
    """Validation facts from the BMC's SDR (floor 20 %)."""
    sensors = client.sensors()
    return BmcFacts(
        floor=20,
        zones=zones,
        fan_zone={s.key: fan_zone(s.name) for s in sensors if s.kind == SensorKind.FAN},
        thresholds={s.key: dict(s.thresholds) for s in sensors},
        temperatures=tuple(s.key for s in sensors if s.kind == SensorKind.TEMPERATURE),
    )


class SimLoop:
    """A ControlLoop on the simulator's clock: ``tick(s)`` advances simulated time, then runs one control tick."""

    def __init__(self, sim: Simulator, settings: AutomaticSettings, fans: SimFans, reader: BmcReader) -> None:
        self.sim = sim
        self.now = sim_time(sim)
        self.loop = ControlLoop(settings, fans, reader, clock=lambda: self.now)
        self.peak: dict[str, float] = {}

    def tick(self, seconds: float = 30.0, *, watch: tuple[str, ...] = (), sample: float = 5.0) -> TickReport:
        """Advance ``seconds`` (recording the peak of the ``watch`` sensors every ``sample`` s), then tick."""
        steps = max(1, round(seconds / sample)) if watch else 1
        for _ in range(steps):
            self.now = self.sim.control.tick(seconds / steps)
            for name in watch:
                value = self.sim.control.sensor(name)["value"]
                self.peak[name] = max(self.peak.get(name, value), value)
        return self.loop.tick()
