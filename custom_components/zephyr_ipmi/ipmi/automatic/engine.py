"""The decision core of automatic fan control: ``decide(settings, inputs, state, now) -> (decision, state)``.

Pure: no I/O, no clock of its own (``now`` is injected, in s), no mutation (the new state is returned).
The caller reads the sensors, calls :func:`decide`, and sends what the decision says through the write
gate. Duties are whole percents of duty cycle, temperatures °C, speeds rpm.

Model, per fan zone: every rule of the zone maps the hottest of its temperatures to a duty or to "hand
back" (the BMC decides). The highest demand wins and "hand back" outranks every duty. Hysteresis: a
zone steps up at once; it steps down only to the duty the rules ask for ``hysteresis`` °C higher
(so only after the temperature fell that far below the point that raised it) and no sooner than
``min_change_interval`` s after the zone's last change. The fan mode is BMC-wide (Supermicro 0x30 0x45,
Dell 0x30 0x30 0x01), so a hand-back is for the whole BMC, and Zephyr takes the fans again only when
every ruled zone may be held.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .settings import AutomaticSettings, FanOverride, QuietRule, Rule

#: Demand meaning "hand back": above any duty, so it wins every comparison.
_RELEASE = 1000


class Action(StrEnum):
    """What the caller must do after a tick."""

    HOLD = "hold"  # send ``Decision.writes`` (possibly none): Zephyr drives the fans
    HAND_BACK = "hand_back"  # restore the BMC's fan mode now (FanController.hand_back)
    IDLE = "idle"  # nothing to send: the BMC drives the fans


class ActiveRule(StrEnum):
    """What sets a zone's duty now (a translation key of the *active rule* sensor)."""

    QUIET = "quiet"
    CURVE = "curve"
    FAN_CURVE = "fan_curve"
    MIN_RPM = "min_rpm"
    MAX_RPM = "max_rpm"
    KEEP = "keep"
    BMC = "bmc"


class Reason(StrEnum):
    """Why the BMC drives the fans (hand-back or idle), a translation key."""

    TEMPERATURE = "temperature"  # a rule's temperature reached its hand-back point
    GUARD = "guard"  # a BMC temperature reached its upper threshold
    TEMPERATURE_LOST = "temperature_lost"  # a rule temperature unreadable for ``lost_ticks`` ticks
    BMC_SILENT = "bmc_silent"  # the BMC did not answer the tick's reads
    REVERTED = "reverted"  # the BMC took the fans back by itself
    WRITE_FAILED = "write_failed"  # a duty write was refused or not answered
    EXTERNAL = "external"  # the fans were handed back by someone else (an action, the control layer)
    WAITING = "waiting"  # hysteresis: too soon or not cool enough to take the fans again
    FANS_QUIET = "fans_quiet"  # quiet rule: no fan above the trigger speed, nothing to do
    NO_RULE = "no_rule"  # no rule configured
    READING = "reading"  # a rule temperature is missing; waiting for a good read


@dataclass(frozen=True, kw_only=True, slots=True)
class TemperatureInput:
    """One temperature for a tick: ``value`` °C or None when unreadable; ``critical`` when at/above ucr."""

    value: float | None
    critical: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class FanInput:
    """One fan for a tick: ``rpm`` or None when unreadable, its ``zone`` key and lower-critical threshold (rpm)."""

    rpm: float | None
    zone: str | None = None
    lower_critical: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TickInputs:
    """What one control tick read.

    ``temperatures`` and ``fans`` by key; ``bmc_duty`` the duty (%) the BMC runs each zone at, read before
    Zephyr takes the fans (used for zones without a rule); ``answered`` False when the BMC did not answer;
    ``reverted`` True when the BMC was found back in its own mode while Zephyr held the fans.
    """

    temperatures: Mapping[str, TemperatureInput] = field(default_factory=dict)
    fans: Mapping[str, FanInput] = field(default_factory=dict)
    bmc_duty: Mapping[str, int | None] = field(default_factory=dict)
    answered: bool = True
    reverted: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ZoneState:
    """A held zone: ``base`` the rules' duty after hysteresis, ``duty`` the duty sent (after per-fan limits),
    ``changed_at`` when ``duty`` last changed (s), ``rule`` what set it.
    """  # noqa: D205

    base: int
    duty: int
    changed_at: float
    rule: ActiveRule
    temperature: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineState:
    """Everything :func:`decide` remembers between ticks (start with ``EngineState()``).

    ``holding``: Zephyr drives the fans. ``zones``: held zones. ``changed_at``: last take-over or hand-back
    (s), None before the first. ``lost``: consecutive ticks with a rule temperature missing. ``min_duty`` /
    ``max_duty``: per zone, the duty learned to keep a fan at its min rpm / under its max rpm.
    ``reason``: why the BMC drives the fans when not holding.
    """

    holding: bool = False
    zones: Mapping[str, ZoneState] = field(default_factory=dict)
    changed_at: float | None = None
    lost: int = 0
    min_duty: Mapping[str, int] = field(default_factory=dict)
    max_duty: Mapping[str, int] = field(default_factory=dict)
    reason: Reason | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ZoneStatus:
    """What a zone does after a tick: ``duty`` % (None: the BMC decides), the rule and driving temperature."""

    duty: int | None
    rule: ActiveRule
    temperature: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """The outcome of a tick: ``action``; ``writes`` = (zone key, duty %) to send in order (HOLD only);
    ``zones`` = status per zone key; ``reason`` why the BMC drives the fans (HAND_BACK/IDLE).
    """  # noqa: D205

    action: Action
    writes: tuple[tuple[str, int], ...] = ()
    zones: Mapping[str, ZoneStatus] = field(default_factory=dict)
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class _Demand:
    """The rules' demand for one zone: duty now (up), duty ``hysteresis`` °C hotter (down), winner."""

    up: int
    down: int
    rule: ActiveRule
    temperature: float


def decide(
    settings: AutomaticSettings, inputs: TickInputs, state: EngineState, now: float
) -> tuple[Decision, EngineState]:
    """Decide one control tick at time ``now`` (s) and return the decision with the next state.

    Order of precedence: the BMC silent, a rule temperature lost for ``lost_ticks`` ticks, a guard or
    rule temperature at its hand-back point -> hand back (when holding). Otherwise hold with hysteresis,
    or take the fans when every ruled zone may be held (and, for the quiet rule, a fan is loud).
    Never returns a duty below ``settings.floor`` or above 100 %.
    """
    if not inputs.answered:
        return _release(settings, state, now, Reason.BMC_SILENT)
    if inputs.reverted and state.holding:
        # The BMC took the fans back itself: nothing to hand back; take them again if the rules say so.
        state = replace(state, holding=False, zones={}, reason=Reason.REVERTED)
    if not settings.rules:
        return _release(settings, state, now, Reason.NO_RULE)

    temps = inputs.temperatures
    missing = [key for key in settings.rule_sensors if _value(temps, key) is None]
    if missing:
        lost = state.lost + 1
        if lost >= settings.lost_ticks:
            decision, new_state = _release(settings, state, now, Reason.TEMPERATURE_LOST)
            return decision, replace(new_state, lost=lost)
        # Keep what was sent until the reading is back or the grace ticks are over.
        action = Action.HOLD if state.holding else Action.IDLE
        reason = None if state.holding else Reason.READING
        return Decision(action=action, zones=_status(settings, state), reason=reason), replace(state, lost=lost)
    state = replace(state, lost=0)

    for key, limit in settings.guards.items():
        value = _value(temps, key)
        if value is not None and value >= limit:
            return _release(settings, state, now, Reason.GUARD)
    critical = any(t.critical for t in temps.values())
    demands = _demands(settings, temps)

    if state.holding:
        if any(d.up >= _RELEASE for d in demands.values()):
            return _release(settings, state, now, Reason.TEMPERATURE)
        return _hold(settings, inputs, state, demands=demands, critical=critical, now=now)

    # Not holding: take the fans only when every ruled zone may be held, past the hysteresis.
    guard_cool = all(
        (value := _value(temps, key)) is None or value + settings.hysteresis < limit
        for key, limit in settings.guards.items()
    )
    changed_at = state.changed_at
    first = changed_at is None
    ready = all((d.up if first else d.down) < _RELEASE for d in demands.values()) and (first or guard_cool)
    if not ready:
        return _idle(settings, state, Reason.TEMPERATURE if first else Reason.WAITING)
    # Taken away by the BMC (or by another write of Zephyr's): take the fans back at once.
    retake = state.reason == Reason.REVERTED
    too_soon = changed_at is not None and now - changed_at < settings.min_change_interval
    if too_soon and not retake:
        return _idle(settings, state, Reason.WAITING)
    if not retake and not _wanted(settings, inputs):
        return _idle(settings, state, Reason.FANS_QUIET)
    return _engage(settings, inputs, state, demands=demands, critical=critical, now=now, first=first)


def _value(temps: Mapping[str, TemperatureInput], key: str) -> float | None:
    reading = temps.get(key)
    if reading is None or reading.value is None or not math.isfinite(reading.value):
        return None
    return reading.value


def _rule_kind(rule: Rule) -> ActiveRule:
    if isinstance(rule, QuietRule):
        return ActiveRule.QUIET
    return ActiveRule.FAN_CURVE if rule.fan else ActiveRule.CURVE


def _demands(settings: AutomaticSettings, temps: Mapping[str, TemperatureInput]) -> dict[str, _Demand]:
    """Per ruled zone: the highest demand of its rules now and ``hysteresis`` °C hotter."""
    out: dict[str, _Demand] = {}
    for rule in settings.rules:
        hottest = max(v for key in rule.sensors if (v := _value(temps, key)) is not None)
        up = rule.target(hottest)
        down = rule.target(hottest + settings.hysteresis)
        demand = _Demand(_RELEASE if up is None else up, _RELEASE if down is None else down, _rule_kind(rule), hottest)
        previous = out.get(rule.zone)
        if previous is not None:
            winner = demand if demand.up > previous.up else previous
            demand = replace(winner, down=max(previous.down, demand.down))
        out[rule.zone] = demand
    return out


def _wanted(settings: AutomaticSettings, inputs: TickInputs) -> bool:
    """Whether any rule wants the fans: a curve always; the quiet rule when a fan is above its trigger."""
    loudest = max((f.rpm for f in inputs.fans.values() if f.rpm is not None), default=None)
    for rule in settings.rules:
        if not isinstance(rule, QuietRule) or (loudest is not None and loudest > rule.trigger_rpm):
            return True
    return False


def _limit(
    settings: AutomaticSettings, state: EngineState, zone: str, base: int, *, critical: bool, rule: ActiveRule
) -> tuple[int, ActiveRule]:
    """Apply the learned per-fan limits to ``base``: min rpm raises, max rpm caps (not when critical)."""
    duty, why = base, rule
    low = state.min_duty.get(zone, 0)
    if low > duty:
        duty, why = low, ActiveRule.MIN_RPM
    cap = state.max_duty.get(zone)
    if cap is not None and not critical and cap < duty and cap >= low:
        duty, why = cap, ActiveRule.MAX_RPM
    return min(100, max(settings.floor, duty)), why


def _learn(settings: AutomaticSettings, inputs: TickInputs, state: EngineState) -> EngineState:
    """Update the per-zone min/max duties from the fans' speeds at the duty held since the last tick."""
    min_duty, max_duty = dict(state.min_duty), dict(state.max_duty)
    estimates: dict[str, int] = {}
    for override in settings.overrides:
        held = state.zones.get(override.zone)
        fan = inputs.fans.get(override.fan)
        if held is None or fan is None or fan.rpm is None:
            continue
        _learn_one(settings, override, duty=held.duty, rpm=fan.rpm, min_duty=min_duty, max_duty=max_duty)
        if override.max_rpm is not None and fan.rpm > 0:
            estimate = min(100, max(settings.floor, math.floor(held.duty * override.max_rpm / fan.rpm)))
            estimates[override.zone] = min(estimates.get(override.zone, 100), estimate)
    for zone, estimate in estimates.items():
        # A cap learned from one inflated reading (the BMC's full-speed answer) must not hold the zone low for
        # good: held at the cap with every capped fan below its max rpm, the cap rises to what they allow.
        held = state.zones[zone]
        cap = max_duty.get(zone)
        if cap is not None and held.duty >= cap and estimate > cap:
            max_duty[zone] = estimate
    return replace(state, min_duty=min_duty, max_duty=max_duty)


def _learn_one(
    settings: AutomaticSettings,
    override: FanOverride,
    *,
    duty: int,
    rpm: float,
    min_duty: dict[str, int],
    max_duty: dict[str, int],
) -> None:
    """Fan speed is close to proportional to duty: scale the held duty by the wanted/seen speed ratio."""
    zone = override.zone
    if override.min_rpm is not None and rpm < override.min_rpm:
        need = math.ceil(duty * override.min_rpm / rpm) if rpm > 0 else duty + 10
        min_duty[zone] = min(100, max(min_duty.get(zone, 0), need, duty + 1))
    if override.max_rpm is not None and rpm > override.max_rpm:
        cap = max(settings.floor, math.floor(duty * override.max_rpm / rpm))
        max_duty[zone] = min(max_duty.get(zone, 100), cap)


def _hold(
    settings: AutomaticSettings,
    inputs: TickInputs,
    state: EngineState,
    *,
    demands: Mapping[str, _Demand],
    critical: bool,
    now: float,
) -> tuple[Decision, EngineState]:
    """Hysteresis per held zone, then the per-fan limits; write only what changed."""
    state = _learn(settings, inputs, state)
    zones = dict(state.zones)
    writes: list[tuple[str, int]] = []
    for zone, held in state.zones.items():
        demand = demands.get(zone)
        if demand is None:  # a zone without a rule keeps its duty, within its fans' limits
            base, rule, temperature = held.base, ActiveRule.KEEP, None
        else:
            base, rule, temperature = held.base, demand.rule, demand.temperature
            if demand.up > base:
                base = demand.up
            elif demand.down < base and now - held.changed_at >= settings.min_change_interval:
                base = demand.down
        duty, why = _limit(settings, state, zone, base, critical=critical, rule=rule)
        changed = duty != held.duty
        zones[zone] = ZoneState(
            base=base,
            duty=duty,
            changed_at=now if changed else held.changed_at,
            rule=why,
            temperature=temperature,
        )
        if changed:
            writes.append((zone, duty))
    state = replace(state, zones=zones)
    return Decision(action=Action.HOLD, writes=tuple(writes), zones=_status(settings, state)), state


def _engage(
    settings: AutomaticSettings,
    inputs: TickInputs,
    state: EngineState,
    *,
    demands: Mapping[str, _Demand],
    critical: bool,
    now: float,
    first: bool,
) -> tuple[Decision, EngineState]:
    """Take the fans: every ruled zone at its duty, zones without a rule at the duty the BMC ran them at."""
    zones: dict[str, ZoneState] = {}
    writes: list[tuple[str, int]] = []
    for zone, demand in demands.items():
        base = demand.up if first else demand.down
        duty, why = _limit(settings, state, zone, base, critical=critical, rule=demand.rule)
        zones[zone] = ZoneState(base=base, duty=duty, changed_at=now, rule=why, temperature=demand.temperature)
        writes.append((zone, duty))
    for zone in settings.zones:
        bmc = inputs.bmc_duty.get(zone)
        if zone in zones or bmc is None:
            continue
        duty = min(100, max(settings.floor, int(bmc)))
        zones[zone] = ZoneState(base=duty, duty=duty, changed_at=now, rule=ActiveRule.KEEP)
        writes.append((zone, duty))
    state = replace(state, holding=True, zones=zones, changed_at=now, reason=None)
    return Decision(action=Action.HOLD, writes=tuple(writes), zones=_status(settings, state)), state


def _release(
    settings: AutomaticSettings, state: EngineState, now: float, reason: Reason
) -> tuple[Decision, EngineState]:
    """Hand back when holding (the hysteresis clock restarts), else stay idle."""
    if not state.holding:
        return _idle(settings, state, reason)
    state = replace(state, holding=False, zones={}, changed_at=now, reason=reason)
    return Decision(action=Action.HAND_BACK, zones=_status(settings, state), reason=reason), state


def _idle(settings: AutomaticSettings, state: EngineState, reason: Reason) -> tuple[Decision, EngineState]:
    """Leave the fans to the BMC; the state keeps the last hand-back reason."""
    return Decision(action=Action.IDLE, zones=_status(settings, state), reason=reason), state


def _status(settings: AutomaticSettings, state: EngineState) -> dict[str, ZoneStatus]:
    out: dict[str, ZoneStatus] = {}
    for zone in dict.fromkeys((*settings.zones, *settings.ruled_zones)):
        held = state.zones.get(zone) if state.holding else None
        if held is None:
            out[zone] = ZoneStatus(duty=None, rule=ActiveRule.BMC)
        else:
            out[zone] = ZoneStatus(duty=held.duty, rule=held.rule, temperature=held.temperature)
    return out
