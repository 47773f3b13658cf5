"""Pulsing detection, the threshold proposal, and the loop's failure handling (write refused, BMC silent)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from custom_components.zephyr_ipmi.ipmi.automatic import (
    Action,
    AutomaticConfigError,
    AutomaticSettings,
    ControlLoop,
    EngineState,
    FanInput,
    PulsingDetector,
    QuietRule,
    Reason,
    TemperatureInput,
    TickInputs,
    propose_fan_thresholds,
    tune_fan_thresholds,
)
from custom_components.zephyr_ipmi.ipmi.automatic.pulsing import sensor_step
from custom_components.zephyr_ipmi.ipmi.errors import IpmiCompletionCodeError, IpmiConnectionError, IpmiError
from custom_components.zephyr_ipmi.ipmi.models import Conversion, SdrSensor, SensorKind


def fans(**rpm: float | None) -> dict[str, FanInput]:
    return {key: FanInput(rpm=value, zone="cpu", lower_critical=500) for key, value in rpm.items()}


def test_pulsing_needs_low_readings_and_enough_episodes() -> None:
    detector = PulsingDetector(window=300, episodes=3)
    assert detector.observe(0, fans(fan1=1400, fan2=1400), steady=True) == frozenset()
    assert detector.observe(30, fans(fan1=500, fan2=1400), steady=True) == frozenset()  # at lcr: episode 1
    assert detector.observe(60, fans(fan1=7000, fan2=7000), steady=True) == frozenset()  # jump: episode 2
    assert detector.observe(90, fans(fan1=450, fan2=1400), steady=True) == frozenset({"fan1"})
    # the fans recover (a jump from 450 rpm: one more episode), and the window slides past the first two
    assert detector.observe(329, fans(fan1=1400, fan2=1400), steady=True) == frozenset({"fan1"})
    assert detector.observe(361, fans(fan1=1400, fan2=1400), steady=True) == frozenset()
    detector.reset()
    assert detector.pulsing == frozenset()


def test_jumps_alone_or_while_the_duty_changed_are_not_pulsing() -> None:
    detector = PulsingDetector(window=300, episodes=2)
    detector.observe(0, fans(fan1=1400), steady=True)
    detector.observe(30, fans(fan1=7000), steady=False)  # Zephyr raised the duty: not the BMC
    detector.observe(60, fans(fan1=1400), steady=True)
    assert detector.observe(90, fans(fan1=7000), steady=True) == frozenset()  # one jump, no fan low
    assert detector.observe(120, fans(fan1=None), steady=True) == frozenset()


def test_threshold_proposal() -> None:
    thresholds = {"lnr": 1300.0, "lcr": 1500.0, "lnc": 1700.0, "unc": 25300.0}
    proposal = propose_fan_thresholds(thresholds=thresholds, floor_rpm=1400, step=100, lcr_only=False)
    assert proposal == {"lnc": 1000.0, "lcr": 800.0, "lnr": 600.0}
    # AST2600: lower critical only
    ast2600 = {"lnr": 300.0, "lcr": 1500.0, "lnc": 1700.0}
    assert propose_fan_thresholds(thresholds=ast2600, floor_rpm=1400, step=100, lcr_only=True) == {"lcr": 800.0}
    # never raised: the defaults 300/500/700 already fit a fan at 1400 rpm
    defaults = {"lnr": 300.0, "lcr": 500.0, "lnc": 700.0}
    assert propose_fan_thresholds(thresholds=defaults, floor_rpm=1400, step=100, lcr_only=False) == {}
    # order kept (lnr < lcr < lnc): thresholds that stay bound the one that changes
    kept = {"lnr": 300.0, "lcr": 1500.0, "lnc": 700.0}
    assert propose_fan_thresholds(thresholds=kept, floor_rpm=1400, step=100, lcr_only=True) == {"lcr": 600.0}
    high_lnr = {"lnr": 1300.0, "lcr": 1500.0, "lnc": 1700.0}
    assert propose_fan_thresholds(thresholds=high_lnr, floor_rpm=1400, step=100, lcr_only=True) == {"lcr": 1400.0}
    stuck = {"lnr": 1400.0, "lcr": 1500.0}
    assert propose_fan_thresholds(thresholds=stuck, floor_rpm=1400, step=100, lcr_only=True) == {}
    # a slow fan: every threshold one step apart, the lowest one step above 0 rpm
    slow = {"lnr": 300.0, "lcr": 500.0, "lnc": 700.0}
    assert propose_fan_thresholds(thresholds=slow, floor_rpm=250, step=100, lcr_only=False) == {
        "lnc": 300.0,
        "lcr": 200.0,
        "lnr": 100.0,
    }
    # at least one step, so a stopped fan still asserts
    assert propose_fan_thresholds(thresholds={"lcr": 500.0}, floor_rpm=90, step=120, lcr_only=True) == {"lcr": 120.0}
    assert propose_fan_thresholds(thresholds={"lcr": 500.0}, floor_rpm=700, step=0, lcr_only=True) == {"lcr": 420.0}


def test_sensor_step() -> None:
    def fan(conversion: Conversion | None) -> SdrSensor:
        return SdrSensor(
            key="20_0_65",
            record_id=1,
            name="FAN1",
            owner=0x20,
            lun=0,
            number=65,
            entity_id=0x1D,
            entity_instance=1,
            sensor_type=0x04,
            reading_type=0x01,
            kind=SensorKind.FAN,
            unit="rpm",
            conversion=conversion,
        )

    assert sensor_step(fan(Conversion(m=100, b=0, k1=0, k2=0, analog_format=0, linearization=0))) == 100.0
    assert sensor_step(fan(Conversion(m=392, b=0, k1=0, k2=-3, analog_format=0, linearization=0))) == 0.392
    assert sensor_step(fan(Conversion(m=100, b=0, k1=0, k2=0, analog_format=0, linearization=7))) == 1.0
    assert sensor_step(fan(None)) == 1.0


@dataclass
class Actuator:
    """Records what the loop sends; fails on demand (what a refused write or a silent BMC raise)."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    fail_duty: IpmiError | None = None
    fail_hand_back: IpmiError | None = None

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> object:
        self.calls.append(("duty", (zone_key, percent, actor)))
        if self.fail_duty is not None:
            raise self.fail_duty
        return None

    def hand_back(self, reason: str, *, actor: str = "zephyr") -> bool:
        self.calls.append(("hand_back", (reason, actor)))
        if self.fail_hand_back is not None:
            raise self.fail_hand_back
        return True


SETTINGS = AutomaticSettings(rules=(QuietRule(zone="cpu", sensors=("cpu",)),), zones=("cpu",), floor=20)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_loop(actuator: Actuator, script: list[TickInputs | IpmiError]) -> tuple[ControlLoop, Clock, list[bool]]:
    clock = Clock()
    wanted: list[bool] = []

    def reader(settings: AutomaticSettings, state: EngineState) -> TickInputs:
        assert settings is SETTINGS
        wanted.append(not state.holding)
        item = script.pop(0)
        if isinstance(item, IpmiError):
            raise item
        return item

    return ControlLoop(SETTINGS, actuator, reader, clock=clock), clock, wanted


def cool(rpm: float = 3000) -> TickInputs:
    return TickInputs(
        temperatures={"cpu": TemperatureInput(value=40)},
        fans={"fan1": FanInput(rpm=rpm, zone="cpu", lower_critical=500)},
    )


def test_loop_writes_and_hands_back_when_a_write_fails() -> None:
    actuator = Actuator()
    loop, clock, wanted = make_loop(actuator, [cool(), cool(1700), cool(1700), cool(1700)])
    report = loop.tick()
    assert report.decision.writes == (("cpu", 24),)
    assert actuator.calls == [("duty", ("cpu", 24, "zephyr"))]
    assert loop.holding
    clock.now = 30
    loop.tick()
    assert wanted == [True, False]  # the BMC's zone duties are only needed before taking the fans
    loop.update_settings(SETTINGS)
    assert loop.settings is SETTINGS


def test_loop_hands_back_when_a_write_is_refused() -> None:
    actuator = Actuator(fail_duty=IpmiCompletionCodeError(0x30, 0x70, 0xCC))
    loop, _, _ = make_loop(actuator, [cool()])
    report = loop.tick()
    assert report.decision.action == Action.HAND_BACK
    assert report.decision.reason == Reason.WRITE_FAILED
    assert report.handed_back
    assert report.error == "IpmiCompletionCodeError"
    assert actuator.calls == [("duty", ("cpu", 24, "zephyr")), ("hand_back", ("write_failed", "zephyr"))]
    assert not loop.holding
    assert loop.last == report.decision


def test_loop_silent_bmc_hands_back_and_retries_until_it_goes_through() -> None:
    actuator = Actuator()
    silent = IpmiConnectionError("no answer")
    loop, clock, _ = make_loop(actuator, [cool(), silent, cool(), cool()])
    loop.tick()
    actuator.fail_hand_back = silent
    clock.now = 30
    report = loop.tick()
    assert (report.decision.action, report.decision.reason) == (Action.HAND_BACK, Reason.BMC_SILENT)
    assert not report.handed_back
    assert loop.pending_hand_back == "bmc_silent"
    # next tick: the hand-back is retried before anything else; still silent, nothing is read
    clock.now = 60
    report = loop.tick()
    assert report.error == "hand_back_failed"
    assert [c[0] for c in actuator.calls] == ["duty", "hand_back", "hand_back"]
    actuator.fail_hand_back = None
    clock.now = 90
    report = loop.tick()
    assert loop.pending_hand_back is None
    assert report.decision.action == Action.HOLD  # 60 s after the hand-back, the fans are taken again
    assert actuator.calls[-2:] == [("hand_back", ("bmc_silent", "zephyr")), ("duty", ("cpu", 24, "zephyr"))]


def test_loop_stop_hands_back_only_when_holding() -> None:
    actuator = Actuator()
    loop, _, _ = make_loop(actuator, [cool()])
    assert loop.stop() is False
    assert actuator.calls == []
    loop.tick()
    assert loop.stop("switch_off") is True
    assert actuator.calls[-1] == ("hand_back", ("switch_off", "zephyr"))
    assert not loop.holding
    assert loop.stop() is False


def test_loop_hand_back_decision_sends_it() -> None:
    actuator = Actuator()
    hot = TickInputs(temperatures={"cpu": TemperatureInput(value=55)}, fans=fans(fan1=1700))
    loop, clock, _ = make_loop(actuator, [cool(), hot])
    loop.tick()
    clock.now = 30
    report = loop.tick()
    assert report.handed_back
    assert actuator.calls[-1] == ("hand_back", ("temperature", "zephyr"))


def _fan_sensor() -> SdrSensor:
    return SdrSensor(
        key="20_0_65",
        record_id=1,
        name="FAN1",
        owner=0x20,
        lun=0,
        number=65,
        entity_id=0x1D,
        entity_instance=1,
        sensor_type=0x04,
        reading_type=0x01,
        kind=SensorKind.FAN,
        unit="rpm",
        conversion=Conversion(m=100, b=0, k1=0, k2=0, analog_format=0, linearization=0),
    )


@dataclass
class TuningActuator(Actuator):
    thresholds: list[dict[str, float]] = field(default_factory=list)

    def set_sensor_thresholds(self, sensor: SdrSensor, values: dict[str, float], *, actor: str | None = None) -> object:
        self.thresholds.append(values)
        return None


def test_tuning_waits_for_a_steady_reading_and_refuses_without_one() -> None:
    actuator = TuningActuator()
    readings = iter([6000.0, None, 3800.0, 3500.0, 3490.0])
    slept: list[float] = []
    result = tune_fan_thresholds(
        actuator,
        _fan_sensor(),
        zone="cpu",
        thresholds={"lcr": 1500.0},
        floor=20,
        lcr_only=True,
        read_rpm=lambda: next(readings),
        sleep=slept.append,
        actor="user-1",
    )
    assert slept == [15.0, 3.0, 3.0, 3.0, 3.0]
    assert (result.rpm, result.floor_rpm, result.written) == (3490.0, 1396.0, {"lcr": 800.0})
    assert actuator.calls == [("duty", ("cpu", 50, "user-1"))]
    assert actuator.thresholds == [{"lcr": 800.0}]
    # thresholds that already fit: measured, nothing written
    result = tune_fan_thresholds(
        actuator,
        _fan_sensor(),
        zone="cpu",
        thresholds={"lcr": 500.0},
        floor=20,
        lcr_only=True,
        read_rpm=lambda: 3500.0,
        sleep=slept.append,
    )
    assert result.written == {}
    assert len(actuator.thresholds) == 1
    with pytest.raises(AutomaticConfigError) as excinfo:
        tune_fan_thresholds(
            actuator,
            _fan_sensor(),
            zone="cpu",
            thresholds={"lcr": 1500.0},
            floor=20,
            lcr_only=True,
            read_rpm=lambda: None,
            sleep=slept.append,
        )
    assert (excinfo.value.key, excinfo.value.placeholders) == ("tuning_no_reading", {"fan": "FAN1"})


def test_resync_sends_the_held_duties_again() -> None:
    actuator = Actuator()
    loop, clock, _ = make_loop(actuator, [cool(), cool(1700)])
    loop.resync()  # not holding: nothing to do
    loop.tick()
    loop.resync()
    clock.now = 5
    assert loop.tick().decision.writes == (("cpu", 24),)
    assert [c for c in actuator.calls if c[0] == "duty"] == [("duty", ("cpu", 24, "zephyr"))] * 2


def test_hand_back_elsewhere_restarts_the_hysteresis_clock() -> None:
    actuator = Actuator()
    loop, clock, _ = make_loop(actuator, [cool(), cool(), cool()])
    loop.handed_back_elsewhere()  # not holding: nothing changes
    assert loop.state.changed_at is None
    loop.tick()
    clock.now = 10
    loop.handed_back_elsewhere()
    assert (loop.holding, loop.state.changed_at, loop.state.reason) == (False, 10, Reason.EXTERNAL)
    clock.now = 40
    assert loop.tick().decision.reason == Reason.WAITING
    clock.now = 70
    assert loop.tick().decision.writes == (("cpu", 24),)
    assert [c[0] for c in actuator.calls] == ["duty", "duty"]  # nothing sent back by the loop itself
