"""The decision core on an injected clock: quiet rule, curves, hysteresis, per-fan limits and every hand-back."""

from __future__ import annotations

import random

import pytest

from custom_components.zephyr_ipmi.ipmi.automatic import (
    Action,
    ActiveRule,
    AutomaticSettings,
    CurveRule,
    EngineState,
    FanInput,
    FanOverride,
    QuietRule,
    Reason,
    TemperatureInput,
    TickInputs,
    decide,
    make_curve,
)

QUIET = AutomaticSettings(rules=(QuietRule(zone="cpu", sensors=("cpu",)),), zones=("cpu", "peripheral"), floor=20)
CURVE = make_curve([(30, 25), (50, 45), (70, 100)], floor=20)


def curve_settings(**kwargs: object) -> AutomaticSettings:
    fields: dict[str, object] = {
        "rules": (CurveRule(zone="all", sensors=("cpu1", "cpu2"), curve=CURVE, handback=80.0),),
        "zones": ("all",),
        "floor": 20,
    }
    fields.update(kwargs)
    return AutomaticSettings(**fields)  # type: ignore[arg-type]


def inputs(
    temps: dict[str, float | None],
    fans: dict[str, float | None] | None = None,
    *,
    bmc_duty: dict[str, int | None] | None = None,
    critical: tuple[str, ...] = (),
    zone: str = "cpu",
    **kwargs: bool,
) -> TickInputs:
    return TickInputs(
        temperatures={k: TemperatureInput(value=v, critical=k in critical) for k, v in temps.items()},
        fans={
            k: FanInput(rpm=v, zone="peripheral" if k == "fana" else zone, lower_critical=500)
            for k, v in (fans or {}).items()
        },
        bmc_duty=bmc_duty or {},
        **kwargs,
    )


class Run:
    """Feed ticks to decide() and keep the state, like the loop does."""

    def __init__(self, settings: AutomaticSettings) -> None:
        self.settings = settings
        self.state = EngineState()

    def __call__(self, now: float, tick: TickInputs):  # type: ignore[no-untyped-def]
        decision, self.state = decide(self.settings, tick, self.state, now)
        return decision


def test_quiet_rule_takes_the_fans_when_cool_and_loud() -> None:
    run = Run(QUIET)
    decision = run(0, inputs({"cpu": 40}, {"fan1": 2900, "fana": 2900}, bmc_duty={"cpu": 41, "peripheral": 35}))
    assert decision.action == Action.HOLD
    # zone 0 at 0x18 = 24 %; the peripheral zone keeps the duty the BMC ran it at
    assert decision.writes == (("cpu", 24), ("peripheral", 35))
    assert decision.zones["cpu"].duty == 24
    assert decision.zones["cpu"].rule == ActiveRule.QUIET
    assert decision.zones["cpu"].temperature == 40
    assert decision.zones["peripheral"].rule == ActiveRule.KEEP
    assert run.state.holding
    # held: nothing is re-sent while nothing changes, whatever the fans read now
    decision = run(30, inputs({"cpu": 44}, {"fan1": 1700, "fana": 2500}))
    assert (decision.action, decision.writes) == (Action.HOLD, ())


def test_quiet_rule_leaves_quiet_fans_alone() -> None:
    run = Run(QUIET)
    decision = run(0, inputs({"cpu": 40}, {"fan1": 2050, "fana": 1900}))
    assert (decision.action, decision.reason, decision.writes) == (Action.IDLE, Reason.FANS_QUIET, ())
    assert decision.zones["cpu"].rule == ActiveRule.BMC
    assert decision.zones["cpu"].duty is None
    assert run(30, inputs({"cpu": 40}, {"fan1": None})).reason == Reason.FANS_QUIET


def test_quiet_rule_hands_back_at_fifty_and_waits_for_hysteresis() -> None:
    run = Run(QUIET)
    loud = {"fan1": 3000}
    assert run(0, inputs({"cpu": 49.9}, loud)).writes == (("cpu", 24),)
    decision = run(30, inputs({"cpu": 50.0}, {"fan1": 1700}))
    assert (decision.action, decision.reason) == (Action.HAND_BACK, Reason.TEMPERATURE)
    assert decision.zones["cpu"].rule == ActiveRule.BMC
    assert not run.state.holding
    # 48 °C is not 3 °C below 50: wait
    assert run(120, inputs({"cpu": 48.0}, loud)).reason == Reason.WAITING
    # cool enough but only 40 s after the hand-back: wait
    assert run(70, inputs({"cpu": 46.0}, loud)).reason == Reason.WAITING
    assert run.state.reason == Reason.TEMPERATURE
    # 46.9 °C, 60 s after the hand-back: take the fans again
    decision = run(90, inputs({"cpu": 46.9}, loud))
    assert decision.writes == (("cpu", 24),)
    assert run.state.reason is None


def test_quiet_rule_too_hot_at_start() -> None:
    run = Run(QUIET)
    decision = run(0, inputs({"cpu": 55}, {"fan1": 4000}))
    assert (decision.action, decision.reason) == (Action.IDLE, Reason.TEMPERATURE)
    # never held: the first take-over needs no hysteresis
    assert run(30, inputs({"cpu": 49}, {"fan1": 4000})).writes == (("cpu", 24),)


def test_curve_steps_up_at_once_and_down_with_hysteresis() -> None:
    run = Run(curve_settings())
    assert run(0, inputs({"cpu1": 40, "cpu2": 35})).writes == (("all", 35),)
    # the hottest sensor drives; up at once, even 1 s later
    assert run(1, inputs({"cpu1": 40, "cpu2": 50})).writes == (("all", 45),)
    assert run(2, inputs({"cpu1": 40, "cpu2": 60})).writes == (("all", 73),)  # 72.5 rounded up
    # fell 2 °C: no change; fell 3.1 °C but too soon: no change
    assert run(30, inputs({"cpu1": 58, "cpu2": 58})).writes == ()
    assert run(61, inputs({"cpu1": 56.9, "cpu2": 40})).writes == ()
    # 60 s after the last change: down to what the curve asks 3 °C hotter (59.9 °C -> 73 % still)
    assert run(62, inputs({"cpu1": 56.9, "cpu2": 40})).writes == ()
    decision = run(63, inputs({"cpu1": 55, "cpu2": 40}))
    assert decision.writes == (("all", 67),)  # curve at 58 °C = 67 %
    assert decision.zones["all"].rule == ActiveRule.CURVE
    # the next step down waits another 60 s
    assert run(100, inputs({"cpu1": 30, "cpu2": 30})).writes == ()
    assert run(123, inputs({"cpu1": 30, "cpu2": 30})).writes == (("all", 28),)  # curve at 33 °C


def test_curve_hands_back_at_handback_and_comes_back_only_below_it_minus_hysteresis() -> None:
    run = Run(curve_settings())
    run(0, inputs({"cpu1": 60, "cpu2": 60}))
    assert run(30, inputs({"cpu1": 80, "cpu2": 60})).action == Action.HAND_BACK
    assert run(120, inputs({"cpu1": 77.5, "cpu2": 60})).reason == Reason.WAITING
    decision = run(150, inputs({"cpu1": 76.9, "cpu2": 60}))
    assert decision.writes == (("all", 100),)  # down target: the curve 3 °C hotter
    assert run(215, inputs({"cpu1": 40, "cpu2": 40})).writes == (("all", 38),)  # the curve at 43 °C


def test_lost_temperatures_hand_back_after_the_grace_ticks() -> None:
    run = Run(curve_settings())
    run(0, inputs({"cpu1": 40, "cpu2": 40}))
    decision = run(30, inputs({"cpu1": 40, "cpu2": None}))
    assert (decision.action, decision.writes) == (Action.HOLD, ())
    assert run.state.lost == 1
    decision = run(60, inputs({"cpu1": 40}))  # absent counts as lost
    assert (decision.action, decision.reason) == (Action.HAND_BACK, Reason.TEMPERATURE_LOST)
    assert run(90, inputs({"cpu1": None, "cpu2": None})).action == Action.IDLE
    # back, but the hysteresis clock restarted at the hand-back
    assert run(100, inputs({"cpu1": 40, "cpu2": 40})).reason == Reason.WAITING
    assert run(120, inputs({"cpu1": 40, "cpu2": 40})).writes == (("all", 38),)  # taken again: the curve at 43 °C
    assert run.state.lost == 0


def test_missing_temperature_before_taking_the_fans() -> None:
    run = Run(curve_settings(lost_ticks=1))
    decision = run(0, inputs({"cpu1": float("nan"), "cpu2": 40}))
    assert (decision.action, decision.reason) == (Action.IDLE, Reason.TEMPERATURE_LOST)
    run = Run(curve_settings(lost_ticks=3))
    assert run(0, inputs({"cpu2": 40})).reason == Reason.READING


def test_silent_bmc_hands_back_at_once() -> None:
    run = Run(curve_settings())
    run(0, inputs({"cpu1": 40, "cpu2": 40}))
    decision = run(30, TickInputs(answered=False))
    assert (decision.action, decision.reason) == (Action.HAND_BACK, Reason.BMC_SILENT)
    decision = run(60, TickInputs(answered=False))
    assert (decision.action, decision.reason) == (Action.IDLE, Reason.BMC_SILENT)


def test_guard_hands_back_the_whole_bmc() -> None:
    run = Run(curve_settings(guards={"pch": 90.0}))
    run(0, inputs({"cpu1": 40, "cpu2": 40, "pch": 70}))
    decision = run(30, inputs({"cpu1": 40, "cpu2": 40, "pch": 90}))
    assert (decision.action, decision.reason) == (Action.HAND_BACK, Reason.GUARD)
    assert run(100, inputs({"cpu1": 40, "cpu2": 40, "pch": 87.5})).reason == Reason.WAITING
    # a guard sensor that cannot be read does not block (only rule sensors must be read)
    assert run(130, inputs({"cpu1": 40, "cpu2": 40, "pch": None})).action == Action.HOLD


def test_no_rule_never_holds() -> None:
    run = Run(AutomaticSettings(rules=(), zones=("cpu",)))
    decision = run(0, inputs({"cpu": 40}, {"fan1": 5000}))
    assert (decision.action, decision.reason) == (Action.IDLE, Reason.NO_RULE)


def test_reverted_bmc_is_taken_again_without_a_hand_back() -> None:
    run = Run(QUIET)
    run(0, inputs({"cpu": 40}, {"fan1": 3000}))
    decision = run(30, inputs({"cpu": 40}, {"fan1": 3000}, reverted=True))
    assert decision.writes == (("cpu", 24),)
    assert decision.action == Action.HOLD


def test_min_rpm_raises_the_zone_until_the_fan_is_fast_enough() -> None:
    settings = curve_settings(overrides=(FanOverride(fan="fan3", zone="all", min_rpm=1000),))
    run = Run(settings)
    assert run(0, inputs({"cpu1": 30, "cpu2": 30}, {"fan3": 3000}, zone="all")).writes == (("all", 25),)
    decision = run(30, inputs({"cpu1": 30, "cpu2": 30}, {"fan3": 800}, zone="all"))
    assert decision.writes == (("all", 32),)  # 25 % x 1000 / 800 rounded up
    assert decision.zones["all"].rule == ActiveRule.MIN_RPM
    decision = run(60, inputs({"cpu1": 30, "cpu2": 30}, {"fan3": 990}, zone="all"))
    assert decision.writes == (("all", 33),)  # still short: at least one more percent
    assert run(90, inputs({"cpu1": 30, "cpu2": 30}, {"fan3": 1010}, zone="all")).writes == ()
    # the curve above the learned duty wins again
    decision = run(120, inputs({"cpu1": 50, "cpu2": 30}, {"fan3": 1900}, zone="all"))
    assert decision.writes == (("all", 45),)
    assert decision.zones["all"].rule == ActiveRule.CURVE
    # a stopped fan: +10 % per tick
    assert run(150, inputs({"cpu1": 50, "cpu2": 30}, {"fan3": 0}, zone="all")).writes == (("all", 55),)


def test_max_rpm_caps_unless_a_temperature_is_critical() -> None:
    settings = curve_settings(overrides=(FanOverride(fan="fan2", zone="all", max_rpm=3000),))
    run = Run(settings)
    run(0, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 2000}, zone="all"))  # 73 %
    decision = run(30, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 5110}, zone="all"))
    assert decision.writes == (("all", 42),)  # 73 % x 3000 / 5110, rounded down
    assert decision.zones["all"].rule == ActiveRule.MAX_RPM
    decision = run(60, inputs({"cpu1": 65, "cpu2": 60}, {"fan2": 2950}, critical=("cpu1",), zone="all"))
    assert decision.writes == (("all", 87),)
    assert decision.zones["all"].rule == ActiveRule.CURVE
    assert run(90, inputs({"cpu1": 65, "cpu2": 60}, {"fan2": 6100}, zone="all")).writes == (("all", 42),)


def test_a_cap_learned_from_an_inflated_reading_rises_again() -> None:
    """One reading far over max rpm (the BMC's full-speed answer) lowers the cap; slow fans at the cap raise it."""
    settings = curve_settings(overrides=(FanOverride(fan="fan2", zone="all", max_rpm=3000),))
    run = Run(settings)
    run(0, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 2000}, zone="all"))  # 73 %
    assert run(30, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 9000}, zone="all")).writes == (("all", 24),)
    # Held at the 24 % cap, the fan turns 1000 rpm: 24 % x 3000 / 1000 = 72 % would still keep it under its max.
    decision = run(60, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 1000}, zone="all"))
    assert decision.writes == (("all", 72),)
    assert decision.zones["all"].rule == ActiveRule.MAX_RPM
    # At 72 % the fan turns 2950 rpm (under its max): the curve's 73 % is allowed again, not more.
    decision = run(90, inputs({"cpu1": 60, "cpu2": 60}, {"fan2": 2950}, zone="all"))
    assert decision.writes == (("all", 73),)
    assert decision.zones["all"].rule == ActiveRule.CURVE


def test_max_rpm_never_goes_under_the_floor_nor_beats_min_rpm() -> None:
    overrides = (
        FanOverride(fan="fan1", zone="all", min_rpm=2000),
        FanOverride(fan="fan2", zone="all", max_rpm=1000),
    )
    run = Run(curve_settings(overrides=overrides))
    run(0, inputs({"cpu1": 50, "cpu2": 50}, zone="all"))  # 45 %
    decision = run(30, inputs({"cpu1": 50, "cpu2": 50}, {"fan1": 1500, "fan2": 4000}, zone="all"))
    # min rpm wants 60 %, max rpm would cap at 20 % (floor): the minimum wins
    assert decision.writes == (("all", 60),)
    assert decision.zones["all"].rule == ActiveRule.MIN_RPM
    run = Run(curve_settings(overrides=overrides[1:]))
    run(0, inputs({"cpu1": 30, "cpu2": 30}, zone="all"))
    assert run(30, inputs({"cpu1": 30, "cpu2": 30}, {"fan2": 9000}, zone="all")).writes == (("all", 20),)


def test_limits_apply_to_a_zone_without_a_rule() -> None:
    settings = AutomaticSettings(
        rules=QUIET.rules,
        zones=QUIET.zones,
        floor=20,
        overrides=(FanOverride(fan="fana", zone="peripheral", min_rpm=3000),),
    )
    run = Run(settings)
    run(0, inputs({"cpu": 40}, {"fan1": 3000}, bmc_duty={"cpu": 40, "peripheral": 30}))
    decision = run(30, inputs({"cpu": 40}, {"fan1": 1700, "fana": 2100}))
    assert decision.writes == (("peripheral", 43),)
    assert decision.zones["peripheral"].rule == ActiveRule.MIN_RPM


def test_several_rules_in_a_zone_the_highest_wins() -> None:
    fan_curve = CurveRule(
        zone="all", sensors=("hdd",), curve=make_curve([(30, 20), (45, 60)], floor=20), handback=55.0, fan="fan4"
    )
    settings = curve_settings(rules=(*curve_settings().rules, fan_curve))
    run = Run(settings)
    decision = run(0, inputs({"cpu1": 40, "cpu2": 40, "hdd": 42}))
    assert decision.writes == (("all", 52),)
    assert decision.zones["all"].rule == ActiveRule.FAN_CURVE
    decision = run(30, inputs({"cpu1": 55, "cpu2": 40, "hdd": 42}))
    assert decision.writes == (("all", 59),)
    assert decision.zones["all"].rule == ActiveRule.CURVE
    # the fan's own hand-back point hands the whole BMC back
    assert run(60, inputs({"cpu1": 40, "cpu2": 40, "hdd": 55})).action == Action.HAND_BACK
    # both rules' "3 °C hotter" demands must allow holding before the fans are taken again
    assert run(200, inputs({"cpu1": 40, "cpu2": 40, "hdd": 52.5})).reason == Reason.WAITING
    assert run(201, inputs({"cpu1": 40, "cpu2": 40, "hdd": 51})).action == Action.HOLD


@pytest.mark.parametrize("seed", range(5))
def test_never_below_floor_nor_above_100(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible load pattern
    overrides = (FanOverride(fan="fan1", zone="all", min_rpm=1500, max_rpm=2500),)
    run = Run(curve_settings(overrides=overrides, min_change_interval=0))
    sent = []
    for step in range(500):
        temp = rng.uniform(-10, 100)
        fans = {"fan1": rng.choice([None, 0.0, rng.uniform(0, 8000)])}
        decision = run(step * 10, inputs({"cpu1": temp, "cpu2": rng.uniform(0, 60)}, fans, zone="all"))
        sent += [duty for _, duty in decision.writes]
    assert sent
    assert all(20 <= duty <= 100 for duty in sent)
