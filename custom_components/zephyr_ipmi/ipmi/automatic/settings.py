"""Settings of automatic fan control: rules per fan zone, per-fan overrides, hysteresis and safety limits.

Everything here is validated before the control loop sees it; a refused value raises
:class:`AutomaticConfigError` with a translation key. Temperatures are in °C, speeds in rpm, duties in %
(duty cycle), times in s. Sensor keys are ``SdrSensor.key`` values for BMC sensors, or any other string
(e.g. a Home Assistant entity id) for temperatures the owner brings in.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import SdrSensor, SensorKind
from .curve import ABSOLUTE_FLOOR, MAX_TEMPERATURE, FanCurve, make_curve
from .errors import AutomaticConfigError

_LOGGER = logging.getLogger(__name__)

#: Defaults of the Supermicro quiet rule (the mission's rule): at most 50 °C and a fan above 2050 rpm
#: -> zone 0 at 0x18 = 24 % (about 1800 rpm on common 7000 rpm fans); at 50 °C and above, hand back.
QUIET_TEMPERATURE = 50.0
QUIET_TRIGGER_RPM = 2050.0
QUIET_DUTY = 24
#: Defaults of the loop (control interval s, hysteresis °C, minimum time between changes s, ticks).
DEFAULT_INTERVAL = 30.0
MIN_INTERVAL, MAX_INTERVAL = 10.0, 120.0
DEFAULT_HYSTERESIS = 3.0
MIN_HYSTERESIS, MAX_HYSTERESIS = 1.0, 15.0
DEFAULT_MIN_CHANGE_INTERVAL = 60.0
MAX_MIN_CHANGE_INTERVAL = 3600.0
DEFAULT_LOST_TICKS = 2
MAX_LOST_TICKS = 10
#: A fan's min/max rpm must stay this far above its lower-critical threshold (rpm): closer, and the fan
#: trips the BMC's low-speed protection (all fans to 100 %, "pulsing"; docs/ipmi-notes.md §2).
RPM_MARGIN = 200.0
MAX_RPM = 30000.0
#: Supermicro zone keys (vendor zone 0 = FAN1..n, "cpu"); Dell all-fans zone key.
CPU_ZONE = "cpu"
#: Entity id of a processor (IPMI 2.0 Table 43-13).
ENTITY_PROCESSOR = 0x03


@dataclass(frozen=True, kw_only=True, slots=True)
class QuietRule:
    """Supermicro's default rule for one zone.

    When the hottest of ``sensors`` is below ``temperature`` (°C) and any fan reads above ``trigger_rpm``,
    run ``zone`` at ``duty`` %. At ``temperature`` and above the zone goes back to the BMC (the fan mode
    it had). The rpm condition only decides whether to take the fans over; once held, the zone stays at
    ``duty`` until the temperature says otherwise.
    """

    zone: str
    sensors: tuple[str, ...]
    temperature: float = QUIET_TEMPERATURE
    trigger_rpm: float = QUIET_TRIGGER_RPM
    duty: int = QUIET_DUTY

    @property
    def handback(self) -> float:
        """Temperature (°C) at and above which the zone is handed back."""
        return self.temperature

    def target(self, temperature: float) -> int | None:
        """Duty (%) wanted at ``temperature`` °C, or None: hand back to the BMC."""
        return None if temperature >= self.temperature else self.duty

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form (see :func:`parse_settings`)."""
        return {
            "type": "quiet",
            "zone": self.zone,
            "sensors": list(self.sensors),
            "temperature": self.temperature,
            "rpm": self.trigger_rpm,
            "duty": self.duty,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CurveRule:
    """A fan curve for one zone, driven by the hottest of ``sensors``; at ``handback`` °C and above, hand back.

    ``fan`` names the fan whose own thresholds this rule is (a per-fan override), None for a zone curve.
    """

    zone: str
    sensors: tuple[str, ...]
    curve: FanCurve
    handback: float
    fan: str | None = None

    def target(self, temperature: float) -> int | None:
        """Duty (%) wanted at ``temperature`` °C, or None: hand back to the BMC."""
        return None if temperature >= self.handback else self.curve.duty_at(temperature)

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form (see :func:`parse_settings`)."""
        return {
            "type": "curve",
            "zone": self.zone,
            "sensors": list(self.sensors),
            "points": self.curve.as_list(),
            "handback": self.handback,
        }


type Rule = QuietRule | CurveRule


@dataclass(frozen=True, kw_only=True, slots=True)
class FanOverride:
    """Per-fan limits: ``min_rpm`` raises the zone's duty until the fan reads at least that speed;
    ``max_rpm`` caps the zone's duty while no temperature is critical. Either may be None.
    """  # noqa: D205

    fan: str
    zone: str
    min_rpm: float | None = None
    max_rpm: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AutomaticSettings:
    """Everything the control loop needs for one BMC.

    ``zones``: every zone key the BMC has (zones without a rule keep the duty the BMC ran them at when
    Zephyr took over). ``floor``: the vendor's duty floor (%). ``guards``: temperature keys -> °C at
    which the whole BMC is handed back whatever the rules say (the BMC's own upper thresholds).
    ``hysteresis`` °C and ``min_change_interval`` s: a zone steps down only when the temperature fell
    ``hysteresis`` below the point that raised it and no sooner than ``min_change_interval`` after its
    last change; stepping up is immediate. ``lost_ticks``: ticks with a rule temperature unreadable
    before handing back. ``interval``: control interval (s).
    """

    rules: tuple[Rule, ...]
    overrides: tuple[FanOverride, ...] = ()
    zones: tuple[str, ...] = ()
    floor: int = 20
    guards: Mapping[str, float] = field(default_factory=dict)
    hysteresis: float = DEFAULT_HYSTERESIS
    min_change_interval: float = DEFAULT_MIN_CHANGE_INTERVAL
    lost_ticks: int = DEFAULT_LOST_TICKS
    interval: float = DEFAULT_INTERVAL

    @property
    def rule_sensors(self) -> tuple[str, ...]:
        """Temperature keys the rules read (each once, in rule order)."""
        return tuple(dict.fromkeys(key for rule in self.rules for key in rule.sensors))

    @property
    def sensors(self) -> tuple[str, ...]:
        """Temperature keys a control tick reads: the rules' and the guards'."""
        return tuple(dict.fromkeys((*self.rule_sensors, *self.guards)))

    @property
    def ruled_zones(self) -> tuple[str, ...]:
        """Zone keys that have at least one rule, in rule order."""
        return tuple(dict.fromkeys(rule.zone for rule in self.rules))

    def as_dict(self) -> dict[str, Any]:
        """Return the stored form (see :func:`parse_settings`); zones, floor and guards come from the BMC."""
        zone_rules = [rule.as_dict() for rule in self.rules if not (isinstance(rule, CurveRule) and rule.fan)]
        overrides: dict[str, dict[str, Any]] = {
            ov.fan: {"fan": ov.fan, "min_rpm": ov.min_rpm, "max_rpm": ov.max_rpm} for ov in self.overrides
        }
        for rule in self.rules:
            if isinstance(rule, CurveRule) and rule.fan:
                entry = overrides.setdefault(rule.fan, {"fan": rule.fan, "min_rpm": None, "max_rpm": None})
                entry.update(sensors=list(rule.sensors), points=rule.curve.as_list(), handback=rule.handback)
        return {
            "interval": self.interval,
            "hysteresis": self.hysteresis,
            "min_change_interval": self.min_change_interval,
            "lost_ticks": self.lost_ticks,
            "rules": zone_rules,
            "overrides": list(overrides.values()),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class BmcFacts:
    """What validation needs to know about one BMC.

    ``floor`` is the vendor's duty floor (%); ``zones`` the zone keys; ``fan_zone`` maps fan sensor keys
    to their zone key; ``thresholds`` maps sensor keys (temperatures and fans) to their thresholds
    (``lnr``..``unr``, °C or rpm); ``temperatures`` lists the BMC's temperature sensor keys.
    """

    floor: int
    zones: tuple[str, ...]
    fan_zone: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    temperatures: tuple[str, ...] = ()


def default_handback(thresholds: Iterable[Mapping[str, float]]) -> float | None:
    """Return the lowest upper-non-critical threshold (°C) of the given sensors' thresholds.

    Sensors without ``unc`` count with their upper-critical (``ucr``); None when no sensor has either.
    """
    limits = [t["unc"] if "unc" in t else t["ucr"] for t in thresholds if "unc" in t or "ucr" in t]
    return min(limits) if limits else None


def cpu_temperatures(sensors: Sequence[SdrSensor]) -> tuple[str, ...]:
    """Keys of the processor temperature sensors: entity id 03h (processor) or "CPU" in the name."""
    return tuple(
        s.key
        for s in sensors
        if s.kind == SensorKind.TEMPERATURE
        and s.is_threshold
        and (s.entity_id == ENTITY_PROCESSOR or "cpu" in s.name.lower())
    )


def default_rules(
    vendor: str, zones: Sequence[str], sensors: Sequence[SdrSensor], *, floor: int = 20
) -> tuple[Rule, ...]:
    """Rules an owner gets before configuring anything.

    Supermicro with a ``cpu`` zone and a CPU temperature: the quiet rule (:class:`QuietRule` defaults; its
    duty is raised to the vendor's ``floor`` (%) where that is above 24 %, e.g. 25 % on X9). Other vendors:
    none (the owner sets a curve).
    """
    cpu = cpu_temperatures(sensors)
    if vendor != "supermicro" or CPU_ZONE not in zones or not cpu:
        return ()
    return (QuietRule(zone=CPU_ZONE, sensors=cpu, duty=max(QUIET_DUTY, floor)),)


def make_quiet_rule(
    *, zone: str, sensors: Sequence[str], temperature: float, trigger_rpm: float, duty: int, facts: BmcFacts
) -> QuietRule:
    """Validate and build a :class:`QuietRule`.

    Raises :class:`AutomaticConfigError` (``rule_unknown_zone``, ``no_sensors``, ``handback_range``,
    ``rpm_range``, ``quiet_duty_below_floor``, ``quiet_duty_above_max``).
    """
    _check_zone(zone, facts)
    sensors = _check_sensors(sensors)
    _check_handback(temperature)
    if not (math.isfinite(trigger_rpm) and 0 <= trigger_rpm <= MAX_RPM):
        raise AutomaticConfigError("rpm_range", rpm=f"{trigger_rpm:g}", max=f"{MAX_RPM:g}")
    duty = _check_duty(duty, facts.floor)
    return QuietRule(
        zone=zone, sensors=sensors, temperature=float(temperature), trigger_rpm=float(trigger_rpm), duty=duty
    )


def make_curve_rule(
    *,
    zone: str,
    sensors: Sequence[str],
    points: Iterable[Sequence[float]],
    handback: float | None,
    facts: BmcFacts,
    fan: str | None = None,
) -> CurveRule:
    """Validate and build a :class:`CurveRule`; ``handback`` None means the default (:func:`default_handback`).

    Raises :class:`AutomaticConfigError` (``rule_unknown_zone``, ``no_sensors``, the curve keys of
    :func:`make_curve`, ``handback_unknown`` when no chosen sensor has an upper threshold and none was
    given, ``handback_range``, ``curve_above_handback`` when the first point is not below the hand-back).
    """
    _check_zone(zone, facts)
    sensors = _check_sensors(sensors)
    curve = make_curve(points, floor=facts.floor)
    if handback is None:
        handback = default_handback(facts.thresholds[key] for key in sensors if key in facts.thresholds)
        if handback is None:
            raise AutomaticConfigError("handback_unknown")
    _check_handback(handback)
    if curve.points[0].temperature >= handback:
        raise AutomaticConfigError(
            "curve_above_handback", temperature=f"{curve.points[0].temperature:g}", handback=f"{handback:g}"
        )
    return CurveRule(zone=zone, sensors=sensors, curve=curve, handback=float(handback), fan=fan)


def make_fan_override(*, fan: str, min_rpm: float | None, max_rpm: float | None, facts: BmcFacts) -> FanOverride:
    """Validate and build a :class:`FanOverride` for fan sensor key ``fan``.

    Each limit must be at least the fan's lower-critical threshold plus :data:`RPM_MARGIN`
    (``fan_rpm_below_lower_critical``) and at most 30000 rpm (``rpm_range``); ``max_rpm`` may not be below
    ``min_rpm`` (``fan_max_below_min``); a fan in no known zone is ``unknown_fan``. A limit below the
    lower-non-critical threshold plus the margin is accepted with a logged warning (risky: close to the
    BMC's low-speed protection).
    """
    zone = facts.fan_zone.get(fan)
    if zone is None:
        raise AutomaticConfigError("unknown_fan", fan=fan)
    thresholds = facts.thresholds.get(fan, {})
    for value in (min_rpm, max_rpm):
        if value is None:
            continue
        if not (math.isfinite(value) and 0 < value <= MAX_RPM):
            raise AutomaticConfigError("rpm_range", rpm=f"{value:g}", max=f"{MAX_RPM:g}")
        lowest = max(thresholds.get("lcr", 0.0), thresholds.get("lnr", 0.0)) + RPM_MARGIN
        if value < lowest:
            raise AutomaticConfigError("fan_rpm_below_lower_critical", rpm=f"{value:g}", minimum=f"{lowest:g}")
        if "lnc" in thresholds and value < thresholds["lnc"] + RPM_MARGIN:
            _LOGGER.warning(
                "Fan %s limit %g rpm is close to its lower thresholds (lower non-critical %g rpm)",
                fan,
                value,
                thresholds["lnc"],
            )
    if min_rpm is not None and max_rpm is not None and max_rpm < min_rpm:
        raise AutomaticConfigError("fan_max_below_min", min_rpm=f"{min_rpm:g}", max_rpm=f"{max_rpm:g}")
    return FanOverride(fan=fan, zone=zone, min_rpm=min_rpm, max_rpm=max_rpm)


def make_settings(
    *,
    rules: Sequence[Rule],
    overrides: Sequence[FanOverride] = (),
    facts: BmcFacts,
    hysteresis: float = DEFAULT_HYSTERESIS,
    min_change_interval: float = DEFAULT_MIN_CHANGE_INTERVAL,
    lost_ticks: int = DEFAULT_LOST_TICKS,
    interval: float = DEFAULT_INTERVAL,
    guards: Mapping[str, float] | None = None,
) -> AutomaticSettings:
    """Validate the loop's numbers and bundle everything; ``guards`` None: every BMC temperature's upper threshold.

    Raises :class:`AutomaticConfigError` (``hysteresis_range``, ``min_change_interval_range``,
    ``lost_ticks_range``, ``interval_range``).
    """
    if not (math.isfinite(hysteresis) and MIN_HYSTERESIS <= hysteresis <= MAX_HYSTERESIS):
        raise AutomaticConfigError(
            "hysteresis_range", value=f"{hysteresis:g}", min=f"{MIN_HYSTERESIS:g}", max=f"{MAX_HYSTERESIS:g}"
        )
    if not (math.isfinite(min_change_interval) and 0 <= min_change_interval <= MAX_MIN_CHANGE_INTERVAL):
        raise AutomaticConfigError(
            "min_change_interval_range", value=f"{min_change_interval:g}", max=f"{MAX_MIN_CHANGE_INTERVAL:g}"
        )
    if not 1 <= lost_ticks <= MAX_LOST_TICKS:
        raise AutomaticConfigError("lost_ticks_range", value=str(lost_ticks), max=str(MAX_LOST_TICKS))
    if not (math.isfinite(interval) and MIN_INTERVAL <= interval <= MAX_INTERVAL):
        raise AutomaticConfigError(
            "interval_range", value=f"{interval:g}", min=f"{MIN_INTERVAL:g}", max=f"{MAX_INTERVAL:g}"
        )
    if guards is None:
        guards = {}
        for key in facts.temperatures:
            limit = default_handback([facts.thresholds.get(key, {})])
            if limit is not None:
                guards[key] = limit
    return AutomaticSettings(
        rules=tuple(rules),
        overrides=tuple(overrides),
        zones=tuple(facts.zones),
        floor=max(ABSOLUTE_FLOOR, facts.floor),
        guards=dict(guards),
        hysteresis=float(hysteresis),
        min_change_interval=float(min_change_interval),
        lost_ticks=int(lost_ticks),
        interval=float(interval),
    )


def parse_settings(data: Mapping[str, Any], facts: BmcFacts) -> AutomaticSettings:
    """Build validated settings from their stored form (what :meth:`AutomaticSettings.as_dict` returns).

    ``data``: ``interval``, ``hysteresis``, ``min_change_interval``, ``lost_ticks`` (optional numbers);
    ``rules``: a list of ``{"type": "quiet", "zone", "sensors", "temperature", "rpm", "duty"}`` or
    ``{"type": "curve", "zone", "sensors", "points": [[°C, %], ...], "handback": °C | None}``;
    ``overrides``: a list of ``{"fan", "min_rpm", "max_rpm"}`` with optional ``sensors``, ``points``,
    ``handback`` (the fan's own thresholds, a curve rule for the fan's zone). Raises
    :class:`AutomaticConfigError` (``settings_invalid`` for a malformed structure, else the keys of the
    ``make_*`` functions).
    """
    try:
        rules: list[Rule] = []
        for raw in data.get("rules", ()):
            if raw["type"] == "quiet":
                rules.append(
                    make_quiet_rule(
                        zone=raw["zone"],
                        sensors=raw["sensors"],
                        temperature=float(raw.get("temperature", QUIET_TEMPERATURE)),
                        trigger_rpm=float(raw.get("rpm", QUIET_TRIGGER_RPM)),
                        duty=raw.get("duty", QUIET_DUTY),
                        facts=facts,
                    )
                )
            elif raw["type"] == "curve":
                rules.append(
                    make_curve_rule(
                        zone=raw["zone"],
                        sensors=raw["sensors"],
                        points=raw["points"],
                        handback=_optional_float(raw.get("handback")),
                        facts=facts,
                    )
                )
            else:
                raise AutomaticConfigError("settings_invalid")
        overrides: list[FanOverride] = []
        for raw in data.get("overrides", ()):
            override = make_fan_override(
                fan=raw["fan"],
                min_rpm=_optional_float(raw.get("min_rpm")),
                max_rpm=_optional_float(raw.get("max_rpm")),
                facts=facts,
            )
            if override.min_rpm is not None or override.max_rpm is not None:
                overrides.append(override)
            if raw.get("points"):
                rules.append(
                    make_curve_rule(
                        zone=override.zone,
                        sensors=raw.get("sensors", ()),
                        points=raw["points"],
                        handback=_optional_float(raw.get("handback")),
                        facts=facts,
                        fan=override.fan,
                    )
                )
        return make_settings(
            rules=rules,
            overrides=overrides,
            facts=facts,
            hysteresis=float(data.get("hysteresis", DEFAULT_HYSTERESIS)),
            min_change_interval=float(data.get("min_change_interval", DEFAULT_MIN_CHANGE_INTERVAL)),
            lost_ticks=int(data.get("lost_ticks", DEFAULT_LOST_TICKS)),
            interval=float(data.get("interval", DEFAULT_INTERVAL)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        if isinstance(err, AutomaticConfigError):
            raise
        raise AutomaticConfigError("settings_invalid") from err


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _check_zone(zone: str, facts: BmcFacts) -> None:
    if zone not in facts.zones:
        raise AutomaticConfigError("rule_unknown_zone", zone=str(zone))


def _check_sensors(sensors: Sequence[str]) -> tuple[str, ...]:
    if isinstance(sensors, str) or not sensors or not all(isinstance(key, str) and key for key in sensors):
        raise AutomaticConfigError("no_sensors")
    return tuple(dict.fromkeys(sensors))


def _check_handback(temperature: float) -> None:
    if not (math.isfinite(temperature) and 20.0 <= temperature <= MAX_TEMPERATURE):
        raise AutomaticConfigError("handback_range", temperature=f"{temperature:g}", max=f"{MAX_TEMPERATURE:g}")


def _check_duty(duty: Any, floor: int) -> int:
    floor = max(ABSOLUTE_FLOOR, floor)
    if isinstance(duty, bool) or not isinstance(duty, int | float) or duty != int(duty):
        raise AutomaticConfigError("quiet_duty_invalid")
    if duty < floor:
        raise AutomaticConfigError("quiet_duty_below_floor", duty=str(int(duty)), floor=str(floor))
    if duty > 100:
        raise AutomaticConfigError("quiet_duty_above_max", duty=str(int(duty)))
    return int(duty)
