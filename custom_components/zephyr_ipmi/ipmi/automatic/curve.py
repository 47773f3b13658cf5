"""Fan curves: 2-8 points mapping a temperature (°C) to a duty cycle (%), validated against the vendor floor."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import AutomaticConfigError

#: Number of points a curve may have.
MIN_POINTS, MAX_POINTS = 2, 8
#: Temperatures a curve point may name (°C).
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.0, 125.0
#: Lowest floor any vendor may declare (%); no duty below it is ever accepted (see the write gate).
ABSOLUTE_FLOOR = 10


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One point of a fan curve: at ``temperature`` °C the zone runs at ``duty`` % (duty cycle)."""

    temperature: float
    duty: int


@dataclass(frozen=True, slots=True)
class FanCurve:
    """A validated fan curve; build it with :func:`make_curve` (never directly from user input).

    The duty between two points is interpolated linearly and rounded up to a whole percent (the safe
    side); below the first point the first duty applies, above the last point the last duty.
    """

    points: tuple[CurvePoint, ...]

    def duty_at(self, temperature: float) -> int:
        """Return the duty (%) the curve asks for at ``temperature`` (°C)."""
        first, last = self.points[0], self.points[-1]
        if temperature <= first.temperature:
            return first.duty
        for low, high in itertools.pairwise(self.points):
            if temperature <= high.temperature:
                share = (temperature - low.temperature) / (high.temperature - low.temperature)
                # round up, but let float noise (24.000000001) stay 24
                return min(high.duty, math.ceil(low.duty + (high.duty - low.duty) * share - 1e-9))
        return last.duty

    def as_list(self) -> list[list[float]]:
        """Return the points as ``[[°C, %], ...]`` (the stored form, JSON friendly)."""
        return [[p.temperature, p.duty] for p in self.points]


def make_curve(points: Iterable[Sequence[float]], *, floor: int) -> FanCurve:
    """Validate ``points`` (pairs of °C and %) against the vendor's duty ``floor`` (%) and build the curve.

    Rules: 2-8 points; temperatures within 0-125 °C and strictly increasing; duties whole percents,
    not decreasing, at least ``floor`` and at most 100. Raises :class:`AutomaticConfigError` with the
    translation key ``curve_point_count``, ``curve_point_invalid``, ``curve_temperature_range``,
    ``curve_temperatures_not_increasing``, ``curve_duties_decreasing``, ``curve_duty_below_floor`` or
    ``curve_duty_above_max``.
    """
    floor = max(ABSOLUTE_FLOOR, floor)
    raw = list(points)
    if not MIN_POINTS <= len(raw) <= MAX_POINTS:
        raise AutomaticConfigError("curve_point_count", count=str(len(raw)), min=str(MIN_POINTS), max=str(MAX_POINTS))
    parsed: list[CurvePoint] = []
    for pair in raw:
        try:
            temperature, duty = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError) as err:
            raise AutomaticConfigError("curve_point_invalid") from err
        if len(pair) != 2 or not (math.isfinite(temperature) and math.isfinite(duty)) or duty != int(duty):
            raise AutomaticConfigError("curve_point_invalid")
        if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
            raise AutomaticConfigError(
                "curve_temperature_range",
                temperature=_fmt(temperature),
                min=_fmt(MIN_TEMPERATURE),
                max=_fmt(MAX_TEMPERATURE),
            )
        if duty < floor:
            raise AutomaticConfigError("curve_duty_below_floor", duty=str(int(duty)), floor=str(floor))
        if duty > 100:
            raise AutomaticConfigError("curve_duty_above_max", duty=str(int(duty)))
        parsed.append(CurvePoint(temperature, int(duty)))
    for low, high in itertools.pairwise(parsed):
        if high.temperature <= low.temperature:
            raise AutomaticConfigError(
                "curve_temperatures_not_increasing", low=_fmt(low.temperature), high=_fmt(high.temperature)
            )
        if high.duty < low.duty:
            raise AutomaticConfigError("curve_duties_decreasing", low=str(low.duty), high=str(high.duty))
    return FanCurve(tuple(parsed))


def _fmt(value: float) -> str:
    """Format a temperature for a message: 50 rather than 50.0."""
    return f"{value:g}"
