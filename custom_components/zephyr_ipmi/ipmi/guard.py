"""The temperature guard of fan control: when a duty Zephyr set may no longer be safe.

Zephyr holding the fans at a duty the owner chose (a zone fan, an action, an automation) is supervised at every
control interval: once any temperature sensor of the BMC reaches its upper non-critical threshold (IPMI 2.0
§36.3; its upper critical one when it has no non-critical), the fans go back to the BMC, whose own mode reacts
to heat. Automatic fan control applies the same limit through its hand-back point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import SdrSensor, SensorKind, SensorReading


@dataclass(frozen=True, kw_only=True, slots=True)
class TooHot:
    """A temperature sensor at or over its limit: its SDR name, reading and limit (°C)."""

    sensor: str
    reading: float
    limit: float


def temperature_limits(sensors: Iterable[SdrSensor]) -> dict[str, float]:
    """Return the guard's limit (°C) by sensor key: each temperature sensor's ``unc``, else its ``ucr``.

    Sensors with neither threshold are not watched.
    """
    limits: dict[str, float] = {}
    for sensor in sensors:
        if sensor.kind is not SensorKind.TEMPERATURE:
            continue
        limit = sensor.thresholds.get("unc", sensor.thresholds.get("ucr"))
        if limit is not None:
            limits[sensor.key] = limit
    return limits


def too_hot(
    sensors: Mapping[str, SdrSensor], limits: Mapping[str, float], readings: Mapping[str, SensorReading]
) -> TooHot | None:
    """Return the sensor furthest over its limit among ``readings`` (by key), or None when all are below.

    A sensor without a reading (unavailable, e.g. a server powered off) does not count.
    """
    worst: TooHot | None = None
    for key, limit in limits.items():
        reading = readings.get(key)
        if reading is None or not reading.available or reading.value is None or reading.value < limit:
            continue
        if worst is None or reading.value - limit > worst.reading - worst.limit:
            worst = TooHot(sensor=sensors[key].name, reading=reading.value, limit=limit)
    return worst
