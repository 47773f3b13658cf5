"""Fan pulsing detection and the BMC threshold-tuning proposal (docs/ipmi-notes.md §2).

A fan whose speed at a low duty falls to its lower-critical threshold makes the BMC run every fan at
100 %; the fans recover, the duty returns, and the cycle repeats ("pulsing"). The cure owners use is to
lower the fan's lower thresholds (Set Sensor Thresholds, netfn 04h cmd 26h, IPMI 2.0 §35.8) below the
speed the fan really turns at the vendor's floor duty. Where the vendor allows only the lower-critical
threshold (AST2600 Supermicro boards: ``vendors.supermicro.LCR_ONLY_FAN_GENERATIONS``), only it is proposed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..models import SdrSensor
from .engine import FanInput
from .errors import AutomaticConfigError

#: Fractions of the fan's speed at the floor duty for the proposed lower thresholds.
LNC_SHARE, LCR_SHARE, LNR_SHARE = 0.75, 0.6, 0.45
#: Duty (%) a fan is measured at before tuning, and the time (s) it is given to settle there.
MEASURE_DUTY = 50
SETTLE_SECONDS = 15.0


class PulsingDetector:
    """Watch the fans tick by tick and tell which ones pulse.

    A tick is an *episode* when a fan reads at or below its lower-critical threshold (the BMC's trigger)
    or when a fan jumped to ``jump`` times its previous speed while Zephyr held the same duty (the BMC's
    full-speed answer). When ``episodes`` episode ticks fall within ``window`` s, every fan seen low in
    that window is pulsing. Feed it with :meth:`observe` once per tick, ``now`` in s.
    """

    def __init__(self, *, window: float = 900.0, episodes: int = 3, jump: float = 1.5) -> None:
        """Configure the window (s), the number of episode ticks that make pulsing, the jump ratio."""
        self.window = window
        self.episodes = episodes
        self.jump = jump
        self._events: deque[tuple[float, frozenset[str]]] = deque()
        self._previous: dict[str, float] = {}

    def observe(self, now: float, fans: Mapping[str, FanInput], steady: bool) -> frozenset[str]:
        """Record one tick and return the fans pulsing now.

        ``steady`` is True when Zephyr held the same duty on every zone since the previous tick (then a
        jump can only be the BMC's doing).
        """
        low = frozenset(
            key
            for key, fan in fans.items()
            if fan.rpm is not None and fan.lower_critical is not None and fan.rpm <= fan.lower_critical
        )
        jumped = steady and any(
            fan.rpm is not None and self._previous.get(key, 0.0) > 0 and fan.rpm >= self._previous[key] * self.jump
            for key, fan in fans.items()
        )
        self._previous = {key: fan.rpm for key, fan in fans.items() if fan.rpm is not None}
        if low or jumped:
            self._events.append((now, low))
        while self._events and self._events[0][0] <= now - self.window:
            self._events.popleft()
        return self.pulsing

    @property
    def pulsing(self) -> frozenset[str]:
        """Fans seen low within the window, when the window holds enough episode ticks."""
        if len(self._events) < self.episodes:
            return frozenset()
        return frozenset().union(*(low for _, low in self._events))

    def reset(self) -> None:
        """Forget everything (after the thresholds were changed)."""
        self._events.clear()
        self._previous.clear()


def sensor_step(sensor: SdrSensor) -> float:
    """Return one count of ``sensor`` in its unit (rpm for fans): M x 10^k2 of a linear conversion, else 1."""
    conv = sensor.conversion
    if conv is None or conv.linearization != 0 or conv.m == 0:
        return 1.0
    return float(abs(conv.m) * 10.0**conv.k2)


def propose_fan_thresholds(
    *, thresholds: Mapping[str, float], floor_rpm: float, step: float, lcr_only: bool
) -> dict[str, float]:
    """Lower thresholds (rpm) for a fan that turns at ``floor_rpm`` at the vendor's floor duty.

    Targets: lower non-critical 75 %, lower critical 60 %, lower non-recoverable 45 % of ``floor_rpm``,
    each rounded down to the sensor's ``step`` (rpm per count). The BMC keeps lnr < lcr < lnc (IPMI 2.0
    §35.8), so a threshold that cannot be changed (``lcr_only``: AST2600 boards) bounds the others, each
    stays at least one step above the next lower one, and the lowest at least one step above 0 rpm (a
    stopped fan still asserts it). Returns only the thresholds the fan has that are lowered; a threshold
    is never raised. ``lcr_only`` returns the lower-critical one alone.
    """
    step = step if step > 0 else 1.0
    shares = {"lnc": LNC_SHARE, "lcr": LCR_SHARE, "lnr": LNR_SHARE}
    names = ("lnc", "lcr", "lnr")
    settable = {"lcr"} if lcr_only else set(names)
    final = {name: thresholds[name] for name in names if name in thresholds}
    ceiling = math.inf  # top-down: each at most one step under the one above it
    for name in names:
        if name not in final:
            continue
        if name in settable:
            target = max(step, math.floor(floor_rpm * shares[name] / step) * step)
            final[name] = min(final[name], target, ceiling - step)
        ceiling = final[name]
    bottom = 0.0  # bottom-up: each at least one step over the one below it
    for name in reversed(names):
        if name not in final:
            continue
        if name in settable:
            final[name] = max(final[name], bottom + step)
        bottom = final[name]
    return {
        name: final[name] for name in names if name in settable and name in final and final[name] < thresholds[name]
    }


class TuningActuator(Protocol):
    """What threshold tuning needs from the control layer (``ipmi.control.FanController`` has it)."""

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> object:
        """Put ``zone_key`` at ``percent`` % through the write gate (raises ``IpmiError``)."""

    def set_sensor_thresholds(self, sensor: SdrSensor, values: dict[str, float], *, actor: str | None = None) -> object:
        """Set Sensor Thresholds (IPMI 2.0 §35.8) through the write gate, read back (raises ``IpmiError``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TuningResult:
    """Outcome of :func:`tune_fan_thresholds`: the speed seen at ``duty`` %, the estimate at the floor
    duty (rpm) and the thresholds written (rpm; empty when the fan's thresholds already fit).
    """  # noqa: D205

    fan: str
    duty: int
    rpm: float
    floor_rpm: float
    written: dict[str, float]


def tune_fan_thresholds(
    actuator: TuningActuator,
    sensor: SdrSensor,
    *,
    zone: str,
    thresholds: Mapping[str, float],
    floor: int,
    lcr_only: bool,
    read_rpm: Callable[[], float | None],
    sleep: Callable[[float], object],
    duty: int = MEASURE_DUTY,
    settle: float = SETTLE_SECONDS,
    actor: str | None = None,
) -> TuningResult:
    """Measure a fan and lower its thresholds to fit its speed at the ``floor`` duty (%).

    The fan's zone is run at ``duty`` % (well above the floor, so the BMC's low-speed protection is not
    triggered and any full-speed episode ends), then after ``settle`` s the fan is read until two readings
    3 s apart agree within 5 % (at most 5 tries). Its speed at the floor is taken as proportional to duty;
    :func:`propose_fan_thresholds` gives the thresholds, sent through the gate. The zone is left at
    ``duty`` %: the caller resumes the control loop or hands the fans back. Raises
    :class:`AutomaticConfigError` ``tuning_no_reading`` when the fan gives no steady reading, and
    ``IpmiError`` from the writes.
    """
    actuator.set_zone_duty(zone, duty, actor=actor)
    sleep(settle)
    previous = read_rpm()
    steady: float | None = None
    for _ in range(5):
        sleep(3.0)
        current = read_rpm()
        if previous is not None and current is not None and current > 0 and abs(current - previous) <= 0.05 * current:
            steady = min(previous, current)
            break
        previous = current
    if steady is None:
        raise AutomaticConfigError("tuning_no_reading", fan=sensor.name)
    floor_rpm = steady * floor / duty
    proposal = propose_fan_thresholds(
        thresholds=thresholds, floor_rpm=floor_rpm, step=sensor_step(sensor), lcr_only=lcr_only
    )
    if proposal:
        actuator.set_sensor_thresholds(sensor, proposal, actor=actor)
    return TuningResult(fan=sensor.key, duty=duty, rpm=steady, floor_rpm=floor_rpm, written=proposal)
