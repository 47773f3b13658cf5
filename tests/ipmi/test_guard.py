"""The fan control temperature guard: which sensors it watches and when a held duty must go back to the BMC."""

from __future__ import annotations

from custom_components.zephyr_ipmi.ipmi.guard import TooHot, temperature_limits, too_hot
from custom_components.zephyr_ipmi.ipmi.models import SdrSensor, SensorKind, SensorReading


def _sensor(key: str, kind: SensorKind, thresholds: dict[str, float]) -> SdrSensor:
    return SdrSensor(
        key=key,
        record_id=1,
        name=key.upper(),
        owner=0x20,
        lun=0,
        number=1,
        entity_id=3,
        entity_instance=1,
        sensor_type=0x01 if kind is SensorKind.TEMPERATURE else 0x04,
        reading_type=0x01,
        kind=kind,
        unit="°C" if kind is SensorKind.TEMPERATURE else "rpm",
        thresholds=thresholds,
    )


def _reading(value: float | None) -> SensorReading:
    return SensorReading(value=value, status=None, available=value is not None)


SENSORS = {
    s.key: s
    for s in (
        _sensor("cpu", SensorKind.TEMPERATURE, {"unc": 80.0, "ucr": 90.0, "unr": 100.0}),
        _sensor("pch", SensorKind.TEMPERATURE, {"ucr": 95.0}),  # no non-critical: its critical one counts
        _sensor("inlet", SensorKind.TEMPERATURE, {"lcr": 5.0}),  # no upper threshold: not watched
        _sensor("fan1", SensorKind.FAN, {"lcr": 300.0, "unc": 20000.0}),  # not a temperature
    )
}


def test_limits_are_upper_non_critical_else_upper_critical_of_temperatures() -> None:
    assert temperature_limits(SENSORS.values()) == {"cpu": 80.0, "pch": 95.0}


def test_the_sensor_furthest_over_its_limit_is_named() -> None:
    limits = temperature_limits(SENSORS.values())
    assert too_hot(SENSORS, limits, {"cpu": _reading(79.0), "pch": _reading(60.0)}) is None
    assert too_hot(SENSORS, limits, {"cpu": _reading(80.0)}) == TooHot(sensor="CPU", reading=80.0, limit=80.0)
    assert too_hot(SENSORS, limits, {"cpu": _reading(82.0), "pch": _reading(99.0)}) == TooHot(
        sensor="PCH", reading=99.0, limit=95.0
    )


def test_a_sensor_without_a_reading_does_not_count() -> None:
    """A powered-off server's CPU reads nothing: no reading is not a temperature."""
    limits = temperature_limits(SENSORS.values())
    assert too_hot(SENSORS, limits, {"cpu": _reading(None), "pch": _reading(None)}) is None
    assert too_hot(SENSORS, limits, {}) is None
