"""The control loop against bmcsim's thermal model over UDP on 127.0.0.1, on simulated time.

Every duty the loop sends crosses the wire; the tests check what the simulated BMC received (bytes and
simulated time), the duty and rpm it reports back, and the temperatures it reached.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import BmcClient, SensorReading
from custom_components.zephyr_ipmi.ipmi.automatic import (
    Action,
    ActiveRule,
    EngineState,
    Reason,
    default_rules,
    make_curve_rule,
    make_fan_override,
    make_settings,
    tune_fan_thresholds,
)
from custom_components.zephyr_ipmi.ipmi.automatic.reader import BmcReader

from .simfans import SimFans, SimLoop, facts_for, make_reader, sensor_key, supermicro_zone

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled")]

Factory = Callable[..., Simulator]
ZONES = ("cpu", "peripheral")


@pytest.fixture
def clients() -> Iterator[list[BmcClient]]:
    made: list[BmcClient] = []
    yield made
    for client in made:
        client.close()


def _supermicro(bmc_sim_factory: Factory, clients: list[BmcClient], profile: str = "supermicro-x11", **kw: object):  # type: ignore[no-untyped-def]
    sim = bmc_sim_factory(profile, **kw)
    client = BmcClient("127.0.0.1", sim.port, "admin", "admin")
    clients.append(client)
    fans = SimFans(client)
    return sim, client, fans, make_reader(client, fans, supermicro_zone), facts_for(client, ZONES, supermicro_zone)


def _fan_mode_writes(sim: Simulator, since: int = 0) -> list[tuple[float, bytes]]:
    return [(r.sim_time, r.data) for r in sim.control.request_log(since=since, netfn=0x30, cmd=0x45) if r.data[0] == 1]


def _duty_writes(sim: Simulator, since: int = 0) -> list[tuple[float, bytes]]:
    return [
        (r.sim_time, r.data)
        for r in sim.control.request_log(since=since, netfn=0x30, cmd=0x70)
        if r.data[:2] == b"\x66\x01"
    ]


def test_default_rule_on_x11(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    """Cool: zone 0 at 24 % within one tick; past 50 °C: handed back; cool again: 24 % again, not sooner
    than the hysteresis allows."""
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients, load=0)
    sim.control.tick(120)  # the BMC's own Optimal mode, idle host
    assert sim.control.sensor("FAN1")["value"] > 2050
    cpu = sensor_key(client, "CPU Temp")
    rules = default_rules("supermicro", ZONES, client.sensors())
    run = SimLoop(sim, make_settings(rules=rules, facts=facts), fans, reader)
    assert run.loop.settings.rule_sensors == (cpu,)

    report = run.tick()
    assert report.decision.action == Action.HOLD
    assert report.decision.zones["cpu"].rule == ActiveRule.QUIET
    # Full mode first, then the six-byte zone duty: 0x30 0x70 0x66 0x01 <zone 0> <0x18>
    assert _fan_mode_writes(sim) == [(run.now, b"\x01\x01")]
    writes = _duty_writes(sim)
    assert writes[0] == (run.now, b"\x66\x01\x00\x18")
    assert all(len(data) == 4 for _, data in writes)  # never the seven-byte form (zone 0 at 0 % + a stray byte)
    assert fans.zone_duty("cpu") == 24
    run.tick()
    assert sim.control.sensor("FAN1")["value"] == 1700  # 24 % of a 7000 rpm fan
    assert sim.control.sensor("CPU Temp")["value"] < 50

    sim.control.set_load(30)
    report = run.tick()
    assert (report.decision.action, report.decision.reason) == (Action.HAND_BACK, Reason.TEMPERATURE)
    assert report.handed_back
    handed_at = run.now
    assert _fan_mode_writes(sim)[-1] == (handed_at, b"\x01\x02")  # back to Optimal, the mode it had
    assert client.request(0x30, 0x45, b"\x00") == b"\x02"
    run.tick()
    assert fans.zone_duty("cpu") > 24

    sim.control.set_load(0)
    taken = []
    for _ in range(10):
        report = run.tick()
        if report.decision.writes:
            taken.append((run.now, report.decision.zones["cpu"].temperature))
    assert len(taken) == 1
    when, temperature = taken[0]
    assert when - handed_at >= 60
    assert temperature is not None
    assert temperature < 47
    assert fans.zone_duty("cpu") == 24

    # Hours of a load flipping around the threshold: take-overs never follow a hand-back within 60 s.
    seq = sim.control.last_seq()
    rng = random.Random(7)  # noqa: S311 - a reproducible load pattern
    for _ in range(240):
        if rng.random() < 0.2:
            sim.control.set_load(rng.choice([0, 5, 10, 20, 30]))
        run.tick()
    modes = _fan_mode_writes(sim, seq)
    assert len(modes) >= 6
    for (t0, before), (t1, after) in itertools.pairwise(modes):
        if before == b"\x01\x02" and after == b"\x01\x01":
            assert t1 - t0 >= 60
    assert {data for _, data in _duty_writes(sim, seq) if data[2] == 0} == {b"\x66\x01\x00\x18"}


def test_curve_over_hours_of_load_steps(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    """Three hours of load steps: a handful of duty changes per step, no pulsing, CPU under the hand-back."""
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients)
    cpu = sensor_key(client, "CPU Temp")
    rule = make_curve_rule(
        zone="cpu", sensors=[cpu], points=[(30, 25), (45, 35), (55, 60), (65, 100)], handback=None, facts=facts
    )
    assert rule.handback == 80.0  # the CPU's upper non-critical threshold
    run = SimLoop(sim, make_settings(rules=[rule], facts=facts), fans, reader)
    rng = random.Random(3)  # noqa: S311 - a reproducible load pattern
    load, steps = 10.0, 0
    changes: list[tuple[float, int]] = []
    for tick in range(360):
        if tick % 20 == 0:
            load = min(90.0, max(0.0, load + rng.uniform(-20, 20)))
            sim.control.set_load(load)
            steps += 1
        report = run.tick(watch=("CPU Temp",))
        assert report.decision.action == Action.HOLD
        changes += [(run.now, duty) for zone, duty in report.decision.writes if zone == "cpu"]
    assert run.peak["CPU Temp"] < 80.0
    assert len(changes) <= 3 * steps
    for (t0, d0), (t1, d1) in itertools.pairwise(changes):
        if d1 < d0:
            assert t1 - t0 >= 60, (t0, d0, t1, d1)  # a step down never follows a change within 60 s
    wire = [data[3] for _, data in _duty_writes(sim) if data[2] == 0]
    assert wire == [duty for _, duty in changes]
    assert min(wire) >= 25


def test_dell_all_fans_curve(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    sim = bmc_sim_factory("dell-idrac8", load=0)
    client = BmcClient("127.0.0.1", sim.port, "admin", "admin")
    clients.append(client)
    fans = SimFans(client, vendor="dell")
    facts = facts_for(client, ("all",), lambda _name: "all")
    cpus = [s.key for s in client.sensors() if s.name == "Temp"]
    assert len(cpus) == 2
    rule = make_curve_rule(zone="all", sensors=cpus, points=[(35, 20), (50, 30), (70, 80)], handback=None, facts=facts)
    assert rule.handback == 84.0
    run = SimLoop(sim, make_settings(rules=[rule], facts=facts), fans, make_reader(client, fans, lambda _n: "all"))
    seq = sim.control.last_seq()
    report = run.tick()
    duty = report.decision.zones["all"].duty
    assert duty is not None
    log = [(r.cmd, r.data) for r in sim.control.request_log(since=seq, netfn=0x30)]
    assert log == [(0x30, b"\x01\x00"), (0x30, bytes([0x02, 0xFF, duty]))]  # manual, then all fans
    run.tick()
    assert sim.control.sensor("Fan1")["value"] == pytest.approx(14000 * duty / 100, abs=120)

    sim.control.set_load(25)
    report = run.tick()
    raised = report.decision.zones["all"].duty
    assert raised is not None
    assert raised > duty
    sim.control.set_load(0)
    report = run.tick()
    assert report.decision.writes == ()  # down only 60 s after the last change
    run.tick()
    report = run.tick()
    lowered = report.decision.zones["all"].duty
    assert lowered is not None
    assert lowered < raised
    seq = sim.control.last_seq()
    assert run.loop.stop("switch_off")
    assert [(r.cmd, r.data) for r in sim.control.request_log(since=seq, netfn=0x30)] == [(0x30, b"\x01\x01")]


def test_min_rpm_raises_the_zone_until_the_fan_is_fast_enough(
    bmc_sim_factory: Factory, clients: list[BmcClient]
) -> None:
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients, load=0)
    sim.control.tick(60)
    fan1 = sensor_key(client, "FAN1")
    override = make_fan_override(fan=fan1, min_rpm=2000, max_rpm=None, facts=facts)
    settings = make_settings(
        rules=default_rules("supermicro", ZONES, client.sensors()), overrides=[override], facts=facts
    )
    run = SimLoop(sim, settings, fans, reader)
    assert run.tick().decision.writes[0] == ("cpu", 24)
    report = run.tick()
    assert report.decision.writes == (("cpu", 29),)  # 24 % x 2000 / 1700 rpm, rounded up
    assert report.decision.zones["cpu"].rule == ActiveRule.MIN_RPM
    run.tick()
    assert sim.control.sensor("FAN1")["value"] >= 2000
    assert fans.zone_duty("cpu") == 29
    assert run.tick().decision.writes == ()


@pytest.mark.parametrize(
    ("profile", "lcr_only", "wire", "after"),
    [
        # mask 07h: lnc, lcr, lnr = 1000, 800, 600 rpm (100 rpm per count)
        ("supermicro-x11", False, bytes([0x41, 0x07, 10, 8, 6, 0, 0, 0]), {"lnc": 1000, "lcr": 800, "lnr": 600}),
        # AST2600: the lower-critical threshold only (mask 02h)
        ("supermicro-x13", True, bytes([0x41, 0x02, 0, 8, 0, 0, 0, 0]), {"lnc": 1700, "lcr": 800, "lnr": 300}),
    ],
)
def test_pulsing_seen_then_thresholds_tuned(  # noqa: PLR0917 - fixtures and parameters
    bmc_sim_factory: Factory,
    clients: list[BmcClient],
    profile: str,
    lcr_only: bool,
    wire: bytes,
    after: dict[str, float],
) -> None:
    """FAN1's thresholds are too high for its speed at 20 %: the BMC pulses; tuning lowers them; it stops."""
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients, profile, load=0)
    # FAN1's lower thresholds are too high for its speed at 20 % (1400 rpm); an AST2600 board keeps the
    # default lower non-recoverable threshold (300 rpm), which the owner cannot change there.
    high = {"lnr": 1300, "lcr": 1500, "lnc": 1700} if not lcr_only else {"lcr": 1500, "lnc": 1700}
    for name, value in high.items():
        sim.control.set_threshold("FAN1", name, value)
    # A real BMC's full-speed episodes do not repeat at a divisor of the control interval (bmcsim's
    # 5 s hold makes a cycle of exactly 10 s, which 30 s ticks would always sample at the same phase).
    sim.control.set_policy(panic_hold=6.5)
    cpu = sensor_key(client, "CPU Temp")
    rule = make_curve_rule(zone="cpu", sensors=[cpu], points=[(30, 20), (60, 20), (70, 60)], handback=None, facts=facts)
    run = SimLoop(sim, make_settings(rules=[rule], facts=facts), fans, reader)
    fan1 = next(s for s in client.sensors() if s.name == "FAN1")
    for _ in range(30):
        run.tick()
        if run.loop.pulsing:
            break
    assert run.loop.pulsing == frozenset({fan1.key})
    assert run.loop.holding

    def read_rpm() -> float | None:
        return client.poll().readings[fan1.key].value

    seq = sim.control.last_seq()
    result = tune_fan_thresholds(
        fans,
        fan1,
        zone="cpu",
        thresholds={"lnr": 300.0, **high} if lcr_only else dict(high),
        floor=20,
        lcr_only=lcr_only,
        read_rpm=read_rpm,
        sleep=sim.control.tick,
    )
    assert result.rpm == 3500
    assert result.floor_rpm == pytest.approx(1400)
    assert [r.data for r in sim.control.request_log(since=seq, netfn=0x04, cmd=0x26)] == [wire]
    assert [r.cc for r in sim.control.request_log(since=seq, netfn=0x04, cmd=0x26)] == [0]
    assert {k: sim.control.sensor("FAN1")["thresholds"][k] for k in after} == after

    reader.forget_thresholds()  # the BMC holds new thresholds now
    run.loop.resync()
    run.loop.detector.reset()
    for _ in range(30):
        report = run.tick()
        assert sim.control.state()["fans"]["panic"] is False
    assert report.decision.zones["cpu"].duty == 20
    assert sim.control.sensor("FAN1")["value"] == 1400
    assert run.loop.pulsing == frozenset()


def test_lost_temperature_hands_back(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients, load=0)
    sim.control.tick(60)
    run = SimLoop(
        sim, make_settings(rules=default_rules("supermicro", ZONES, client.sensors()), facts=facts), fans, reader
    )
    assert run.tick().decision.action == Action.HOLD
    # Get Sensor Reading of CPU Temp (sensor 01h) answers "timeout" (C3h) from now on
    sim.control.set_completion_code(0x04, 0x2D, 0xC3, data_prefix="01")
    assert run.tick().decision.action == Action.HOLD  # one tick of grace
    seq = sim.control.last_seq()
    report = run.tick()
    assert (report.decision.action, report.decision.reason) == (Action.HAND_BACK, Reason.TEMPERATURE_LOST)
    assert [r.data for r in sim.control.request_log(since=seq, netfn=0x30, cmd=0x45)] == [b"\x01\x02"]
    assert client.request(0x30, 0x45, b"\x00") == b"\x02"
    assert run.tick().decision.reason == Reason.TEMPERATURE_LOST


def test_silent_bmc_is_handed_back_as_soon_as_it_answers(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    sim, client, fans, reader, facts = _supermicro(bmc_sim_factory, clients, load=0)
    sim.control.tick(60)
    run = SimLoop(
        sim, make_settings(rules=default_rules("supermicro", ZONES, client.sensors()), facts=facts), fans, reader
    )
    assert run.tick().decision.action == Action.HOLD
    sim.control.set_fault(silent=True)
    report = run.tick()
    assert (report.decision.action, report.decision.reason) == (Action.HAND_BACK, Reason.BMC_SILENT)
    assert not report.handed_back
    sim.control.set_fault(silent=False)
    seq = sim.control.last_seq()
    report = run.tick()
    assert run.loop.pending_hand_back is None
    assert next(r.data for r in sim.control.request_log(since=seq, netfn=0x30, cmd=0x45)) == b"\x01\x02"
    assert report.decision.action == Action.IDLE  # the hysteresis clock restarted at the hand-back


def test_reader_reads_only_what_the_rules_need(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    """One Get Sensor Reading per rule temperature and fan; thresholds as the BMC holds them, else the SDR's."""
    sim, client, _fans, reader, facts = _supermicro(bmc_sim_factory, clients, load=0)
    cpu = sensor_key(client, "CPU Temp")
    fan1 = sensor_key(client, "FAN1")
    settings = make_settings(rules=default_rules("supermicro", ZONES, client.sensors()), facts=facts, guards={})
    reader(settings, EngineState())  # first tick: thresholds read once
    seq = sim.control.last_seq()
    inputs = reader(settings, EngineState())
    readings = [r.data[0] for r in sim.control.request_log(since=seq, netfn=0x04, cmd=0x2D)]
    assert sorted(readings) == [0x01, 0x41, 0x42, 0x43, 0x44, 0x45]  # CPU Temp and the five fans
    assert len(sim.control.request_log(since=seq, netfn=0x04, cmd=0x27)) == 0
    assert inputs.temperatures[cpu].value == sim.control.sensor("CPU Temp")["value"]
    assert inputs.bmc_duty["peripheral"] == round(sim.control.state()["fans"]["zone_duty"][1])
    assert reader.thresholds(fan1)["lcr"] == 500.0

    # a BMC that does not answer Get Sensor Thresholds: the SDR's values
    sim.control.set_threshold("FAN1", "lcr", 900)
    sim.control.set_completion_code(0x04, 0x27, 0xCB)
    reader.forget_thresholds()
    assert reader.lower_critical()[fan1] == 500.0
    assert reader.thresholds(fan1) == {
        "lnr": 300.0,
        "lcr": 500.0,
        "lnc": 700.0,
        "unc": 25300.0,
        "ucr": 25400.0,
        "unr": 25500.0,
    }
    sim.control.clear_completion_codes()
    reader.forget_thresholds()
    assert reader.lower_critical()[fan1] == 900.0


def test_reader_truncated_threshold_answer(bmc_sim_factory: Factory, clients: list[BmcClient]) -> None:
    """A Get Sensor Thresholds answer too short to decode counts as none (no BMC here sends one: a wrapper)."""
    _sim, client, fans, _reader, _facts = _supermicro(bmc_sim_factory, clients)

    class Truncating:
        def read(self, keys: Iterable[str]) -> dict[str, SensorReading]:
            return client.read(keys)

        def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
            return client.request(netfn, command, data, lun=lun)[:2]

    sensors = {s.key: s for s in client.sensors()}
    fan1 = sensor_key(client, "FAN1")
    reader = BmcReader(Truncating(), sensors, {fan1: "cpu"}, lambda: fans)
    assert reader.lower_critical() == {fan1: 500.0}
    assert reader.thresholds(fan1)["lnc"] == 700.0
