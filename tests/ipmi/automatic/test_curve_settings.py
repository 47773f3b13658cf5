"""Curve and settings validation: every refusal has its translation key, defaults follow the BMC's thresholds."""

from __future__ import annotations

import logging

import pytest

from custom_components.zephyr_ipmi.ipmi.automatic import (
    AutomaticConfigError,
    BmcFacts,
    CurveRule,
    QuietRule,
    default_handback,
    default_rules,
    make_curve,
    make_curve_rule,
    make_fan_override,
    make_quiet_rule,
    make_settings,
    parse_settings,
)
from custom_components.zephyr_ipmi.ipmi.models import Conversion, SdrSensor, SensorKind

FACTS = BmcFacts(
    floor=20,
    zones=("cpu", "peripheral"),
    fan_zone={"fan1": "cpu", "fana": "peripheral"},
    thresholds={
        "cpu": {"lcr": 5.0, "unc": 80.0, "ucr": 90.0},
        "pch": {"unc": 90.0, "ucr": 95.0},
        "nvme": {"ucr": 70.0},
        "fan1": {"lnr": 300.0, "lcr": 500.0, "lnc": 700.0},
        "fana": {"lcr": 500.0},
    },
    temperatures=("cpu", "pch", "nvme", "bare"),
)


def _error(excinfo: pytest.ExceptionInfo[AutomaticConfigError]) -> tuple[str, dict[str, str]]:
    return excinfo.value.key, excinfo.value.placeholders


def test_curve_interpolates_and_rounds_up() -> None:
    curve = make_curve([(30, 25), (50, 40), (70, 100)], floor=20)
    assert curve.duty_at(10) == 25
    assert curve.duty_at(30) == 25
    assert curve.duty_at(40) == 33  # 32.5 rounded up
    assert curve.duty_at(50) == 40
    assert curve.duty_at(60) == 70
    assert curve.duty_at(69.9) == 100  # 99.7 rounded up, never past the next point
    assert curve.duty_at(95) == 100
    assert curve.as_list() == [[30.0, 25], [50.0, 40], [70.0, 100]]


def test_flat_curve_stays_flat() -> None:
    curve = make_curve([(30, 24), (60, 24)], floor=20)
    assert {curve.duty_at(t) for t in (0, 31.3, 45, 59.99, 80)} == {24}


@pytest.mark.parametrize(
    ("points", "key", "placeholders"),
    [
        ([(30, 25)], "curve_point_count", {"count": "1", "min": "2", "max": "8"}),
        ([(t, 30) for t in range(30, 75, 5)], "curve_point_count", {"count": "9", "min": "2", "max": "8"}),
        ([(30, 25), (40,)], "curve_point_invalid", {}),
        ([(30, 25), ("hot", 40)], "curve_point_invalid", {}),
        ([(30, 25), (40, 40, 1)], "curve_point_invalid", {}),
        ([(30, 25), (40, 33.5)], "curve_point_invalid", {}),
        ([(30, 25), (float("nan"), 40)], "curve_point_invalid", {}),
        ([(-5, 25), (40, 40)], "curve_temperature_range", {"temperature": "-5", "min": "0", "max": "125"}),
        ([(30, 25), (130, 40)], "curve_temperature_range", {"temperature": "130", "min": "0", "max": "125"}),
        ([(30, 25), (30, 40)], "curve_temperatures_not_increasing", {"low": "30", "high": "30"}),
        ([(40, 25), (30.5, 40)], "curve_temperatures_not_increasing", {"low": "40", "high": "30.5"}),
        ([(30, 50), (40, 40)], "curve_duties_decreasing", {"low": "50", "high": "40"}),
        ([(30, 15), (40, 40)], "curve_duty_below_floor", {"duty": "15", "floor": "20"}),
        ([(30, 0), (40, 40)], "curve_duty_below_floor", {"duty": "0", "floor": "20"}),
        ([(30, 25), (40, 101)], "curve_duty_above_max", {"duty": "101"}),
    ],
)
def test_curve_refusals(points: list[tuple[float, ...]], key: str, placeholders: dict[str, str]) -> None:
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve(points, floor=20)
    assert _error(excinfo) == (key, placeholders)


def test_floor_never_below_ten_percent() -> None:
    """A vendor floor declared under 10 % is raised to 10 %: 5 % is refused anyway."""
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve([(30, 5), (40, 40)], floor=0)
    assert _error(excinfo) == ("curve_duty_below_floor", {"duty": "5", "floor": "10"})


def test_default_handback_is_the_lowest_upper_non_critical() -> None:
    assert default_handback([FACTS.thresholds["cpu"], FACTS.thresholds["pch"]]) == 80.0
    assert default_handback([FACTS.thresholds["pch"], FACTS.thresholds["nvme"]]) == 70.0  # ucr when no unc
    assert default_handback([{"lcr": 5.0}]) is None


def test_curve_rule_defaults_and_refusals() -> None:
    rule = make_curve_rule(zone="cpu", sensors=["cpu", "pch"], points=[(30, 25), (60, 60)], handback=None, facts=FACTS)
    assert rule.handback == 80.0
    assert rule.target(79.9) == 60
    assert rule.target(80.0) is None
    assert rule.as_dict() == {
        "type": "curve",
        "zone": "cpu",
        "sensors": ["cpu", "pch"],
        "points": [[30.0, 25], [60.0, 60]],
        "handback": 80.0,
    }
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve_rule(zone="cpu", sensors=["bare"], points=[(30, 25), (60, 60)], handback=None, facts=FACTS)
    assert excinfo.value.key == "handback_unknown"
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve_rule(zone="cpu", sensors=["cpu"], points=[(50, 25), (60, 60)], handback=45, facts=FACTS)
    assert _error(excinfo) == ("curve_above_handback", {"temperature": "50", "handback": "45"})
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve_rule(zone="cpu", sensors=["cpu"], points=[(10, 25), (15, 60)], handback=19, facts=FACTS)
    assert _error(excinfo) == ("handback_range", {"temperature": "19", "max": "125"})
    with pytest.raises(AutomaticConfigError) as excinfo:
        make_curve_rule(zone="zone_7", sensors=["cpu"], points=[(30, 25), (60, 60)], handback=None, facts=FACTS)
    assert _error(excinfo) == ("rule_unknown_zone", {"zone": "zone_7"})
    for sensors in ([], "cpu", ["cpu", ""]):
        with pytest.raises(AutomaticConfigError) as excinfo:
            make_curve_rule(zone="cpu", sensors=sensors, points=[(30, 25), (60, 60)], handback=None, facts=FACTS)
        assert excinfo.value.key == "no_sensors"


def test_quiet_rule_defaults_and_refusals() -> None:
    rule = make_quiet_rule(zone="cpu", sensors=["cpu"], temperature=50, trigger_rpm=2050, duty=24, facts=FACTS)
    assert rule == QuietRule(zone="cpu", sensors=("cpu",))
    assert (rule.temperature, rule.trigger_rpm, rule.duty, rule.handback) == (50.0, 2050.0, 24, 50.0)
    assert rule.target(49.9) == 24
    assert rule.target(50.0) is None
    cases = [
        ({"duty": 19}, ("quiet_duty_below_floor", {"duty": "19", "floor": "20"})),
        ({"duty": 0}, ("quiet_duty_below_floor", {"duty": "0", "floor": "20"})),
        ({"duty": 101}, ("quiet_duty_above_max", {"duty": "101"})),
        ({"duty": 24.5}, ("quiet_duty_invalid", {})),
        ({"duty": True}, ("quiet_duty_invalid", {})),
        ({"trigger_rpm": -1}, ("rpm_range", {"rpm": "-1", "max": "30000"})),
        ({"temperature": 200}, ("handback_range", {"temperature": "200", "max": "125"})),
    ]
    for change, expected in cases:
        args = {"zone": "cpu", "sensors": ["cpu"], "temperature": 50, "trigger_rpm": 2050, "duty": 24} | change
        with pytest.raises(AutomaticConfigError) as excinfo:
            make_quiet_rule(**args, facts=FACTS)  # type: ignore[arg-type]
        assert _error(excinfo) == expected


def test_fan_override_limits(caplog: pytest.LogCaptureFixture) -> None:
    override = make_fan_override(fan="fan1", min_rpm=1200, max_rpm=3000, facts=FACTS)
    assert (override.zone, override.min_rpm, override.max_rpm) == ("cpu", 1200, 3000)
    assert not caplog.records
    with caplog.at_level(logging.WARNING):
        make_fan_override(fan="fan1", min_rpm=800, max_rpm=None, facts=FACTS)
    assert "close to its lower thresholds" in caplog.text
    cases = [
        ({"min_rpm": 650}, ("fan_rpm_below_lower_critical", {"rpm": "650", "minimum": "700"})),
        ({"max_rpm": 400}, ("fan_rpm_below_lower_critical", {"rpm": "400", "minimum": "700"})),
        ({"min_rpm": 0}, ("rpm_range", {"rpm": "0", "max": "30000"})),
        ({"max_rpm": 40000}, ("rpm_range", {"rpm": "40000", "max": "30000"})),
        ({"min_rpm": 3000, "max_rpm": 2000}, ("fan_max_below_min", {"min_rpm": "3000", "max_rpm": "2000"})),
        ({"fan": "fan9"}, ("unknown_fan", {"fan": "fan9"})),
    ]
    for change, expected in cases:
        args: dict[str, object] = {"fan": "fan1", "min_rpm": None, "max_rpm": None} | change
        with pytest.raises(AutomaticConfigError) as excinfo:
            make_fan_override(**args, facts=FACTS)  # type: ignore[arg-type]
        assert _error(excinfo) == expected


def test_settings_ranges_and_default_guards() -> None:
    rule = QuietRule(zone="cpu", sensors=("cpu",))
    settings = make_settings(rules=[rule], facts=FACTS)
    assert settings.guards == {"cpu": 80.0, "pch": 90.0, "nvme": 70.0}
    assert settings.sensors == ("cpu", "pch", "nvme")
    assert settings.ruled_zones == ("cpu",)
    assert (settings.hysteresis, settings.min_change_interval, settings.lost_ticks, settings.interval) == (
        3.0,
        60.0,
        2,
        30.0,
    )
    assert make_settings(rules=[rule], facts=FACTS, guards={}).sensors == ("cpu",)
    cases = [
        ({"hysteresis": 0.5}, ("hysteresis_range", {"value": "0.5", "min": "1", "max": "15"})),
        ({"min_change_interval": -1}, ("min_change_interval_range", {"value": "-1", "max": "3600"})),
        ({"lost_ticks": 0}, ("lost_ticks_range", {"value": "0", "max": "10"})),
        ({"interval": 5}, ("interval_range", {"value": "5", "min": "10", "max": "120"})),
        ({"interval": 121}, ("interval_range", {"value": "121", "min": "10", "max": "120"})),
    ]
    for change, expected in cases:
        with pytest.raises(AutomaticConfigError) as excinfo:
            make_settings(rules=[rule], facts=FACTS, **change)  # type: ignore[arg-type]
        assert _error(excinfo) == expected


def test_parse_settings_round_trip() -> None:
    stored = {
        "interval": 20,
        "hysteresis": 4,
        "min_change_interval": 90,
        "lost_ticks": 3,
        "rules": [
            {"type": "quiet", "zone": "cpu", "sensors": ["cpu"], "temperature": 48, "rpm": 2500, "duty": 30},
            {
                "type": "curve",
                "zone": "peripheral",
                "sensors": ["pch"],
                "points": [[35, 30], [70, 80]],
                "handback": None,
            },
        ],
        "overrides": [
            {"fan": "fan1", "min_rpm": 1000, "max_rpm": None},
            {
                "fan": "fana",
                "min_rpm": None,
                "max_rpm": None,
                "sensors": ["sensor.hdd"],
                "points": [[30, 25], [45, 60]],
                "handback": 55,
            },
        ],
    }
    settings = parse_settings(stored, FACTS)
    assert settings.interval == 20.0
    assert settings.rules[0] == QuietRule(zone="cpu", sensors=("cpu",), temperature=48, trigger_rpm=2500, duty=30)
    assert isinstance(settings.rules[1], CurveRule)
    assert settings.rules[1].handback == 90.0
    fan_rule = settings.rules[2]
    assert isinstance(fan_rule, CurveRule)
    assert (fan_rule.zone, fan_rule.fan, fan_rule.sensors, fan_rule.handback) == (
        "peripheral",
        "fana",
        ("sensor.hdd",),
        55.0,
    )
    assert [o.fan for o in settings.overrides] == ["fan1"]
    again = parse_settings(settings.as_dict(), FACTS)
    assert again == settings
    assert settings.as_dict()["overrides"][1] == {
        "fan": "fana",
        "min_rpm": None,
        "max_rpm": None,
        "sensors": ["sensor.hdd"],
        "points": [[30.0, 25], [45.0, 60]],
        "handback": 55.0,
    }


@pytest.mark.parametrize(
    "stored",
    [
        {"rules": [{"type": "stairs", "zone": "cpu"}]},
        {"rules": [{"zone": "cpu"}]},
        {"rules": [{"type": "curve", "zone": "cpu", "sensors": ["cpu"]}]},
        {"overrides": [{"min_rpm": 900}]},
        {"lost_ticks": "many"},
        {"rules": "quiet"},
    ],
)
def test_parse_settings_refuses_malformed(stored: dict[str, object]) -> None:
    with pytest.raises(AutomaticConfigError) as excinfo:
        parse_settings(stored, FACTS)
    assert excinfo.value.key == "settings_invalid"


def test_parse_settings_passes_the_precise_error() -> None:
    stored = {"rules": [{"type": "curve", "zone": "cpu", "sensors": ["cpu"], "points": [[30, 10], [40, 50]]}]}
    with pytest.raises(AutomaticConfigError) as excinfo:
        parse_settings(stored, FACTS)
    assert _error(excinfo) == ("curve_duty_below_floor", {"duty": "10", "floor": "20"})


def _sensor(key: str, name: str, kind: SensorKind, entity_id: int) -> SdrSensor:
    return SdrSensor(
        key=key,
        record_id=1,
        name=name,
        owner=0x20,
        lun=0,
        number=int(key.rsplit("_", 1)[1]),
        entity_id=entity_id,
        entity_instance=1,
        sensor_type=0x01,
        reading_type=0x01,
        kind=kind,
        unit="°C",
        conversion=Conversion(m=1, b=0, k1=0, k2=0, analog_format=0, linearization=0),
    )


def test_default_rules() -> None:
    sensors = [
        _sensor("20_0_1", "CPU1 Temp", SensorKind.TEMPERATURE, 0x07),
        _sensor("20_0_2", "Temp", SensorKind.TEMPERATURE, 0x03),
        _sensor("20_0_3", "System Temp", SensorKind.TEMPERATURE, 0x07),
        _sensor("20_0_4", "CPU FAN", SensorKind.FAN, 0x1D),
    ]
    assert default_rules("supermicro", ("cpu", "peripheral"), sensors) == (
        QuietRule(zone="cpu", sensors=("20_0_1", "20_0_2")),
    )
    assert default_rules("supermicro", ("cpu", "peripheral"), sensors, floor=25) == (
        QuietRule(zone="cpu", sensors=("20_0_1", "20_0_2"), duty=25),
    )
    assert default_rules("dell", ("all",), sensors) == ()
    assert default_rules("supermicro", ("cpu",), sensors[2:]) == ()
