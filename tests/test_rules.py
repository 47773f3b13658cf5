"""Tests of the health rules on models (what no simulated BMC shows: sensors without thresholds, odd states)."""

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.zephyr_ipmi.alerts import AlertKind, AlertSeverity
from custom_components.zephyr_ipmi.incidents import Observation
from custom_components.zephyr_ipmi.ipmi import BmcSnapshot, SdrSensor, SensorKind, SensorReading, SensorStatus
from custom_components.zephyr_ipmi.ipmi.sel import SelInfo, SelRecord, decode_event
from custom_components.zephyr_ipmi.rules import (
    AlertSettings,
    HealthState,
    Limits,
    is_cpu_temperature,
    sel_fill_observation,
    sel_observations,
    snapshot_observations,
)

from .conftest import conversion, sdr

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

CPU = sdr("20_0_1", "CPU Temp", SensorKind.TEMPERATURE, "°C", thresholds={"unc": 80.0, "ucr": 90.0, "unr": 100.0})
CPU_NO_THRESHOLDS = sdr("20_0_3", "CPU1 Temp", SensorKind.TEMPERATURE, "°C", entity_id=0x03)
INLET = sdr("20_0_4", "Inlet Temp", SensorKind.TEMPERATURE, "°C", entity_id=0x37, thresholds={"lcr": 3.0})
FAN = sdr(
    "20_0_65",
    "FAN1",
    SensorKind.FAN,
    "rpm",
    sensor_type=0x04,
    conversion=conversion(100),
    thresholds={"lnr": 300.0, "lcr": 500.0, "lnc": 700.0, "unc": 25300.0},
)
FAN_NO_THRESHOLDS = sdr("20_0_66", "FAN2", SensorKind.FAN, "rpm", sensor_type=0x04, conversion=conversion(100))


def discrete(key: str, name: str, sensor_type: int, reading_type: int = 0x6F) -> SdrSensor:
    return sdr(
        key, name, SensorKind.DISCRETE, None, sensor_type=sensor_type, reading_type=reading_type, conversion=None
    )


INTRUSION = discrete("20_0_170", "Chassis Intru", 0x05)
PSU = discrete("20_0_200", "PS1 Status", 0x08)
REDUNDANCY = discrete("20_0_203", "PS Redundancy", 0x08, 0x0B)
DIMM = discrete("20_0_210", "DIMM Status", 0x0C)


def value(v: float | None, status: SensorStatus = SensorStatus.OK) -> SensorReading:
    return SensorReading(value=v, status=status, available=v is not None)


def states(mask: int) -> SensorReading:
    return SensorReading(value=None, status=None, available=True, states=mask)


def observe(
    sensors: list[SdrSensor],
    readings: dict[str, SensorReading],
    *,
    settings: AlertSettings | None = None,
    state: HealthState | None = None,
    power_on: bool | None = True,
) -> list[Observation]:
    snapshot = BmcSnapshot(readings=readings, power_on=power_on, power=None)
    return snapshot_observations(
        {s.key: s for s in sensors}, snapshot, settings or AlertSettings(), state or HealthState(), NOW
    )


def active(observations: list[Observation]) -> list[tuple[str, str, str, str]]:
    return [(o.kind.value, o.subject, o.severity.value, o.message) for o in observations if o.active]


def test_bmc_thresholds_give_the_worst_crossing() -> None:
    assert active(observe([CPU], {"20_0_1": value(92.0, SensorStatus.CRITICAL)})) == [
        (
            "threshold_crossed",
            "20_0_1",
            "critical",
            "CPU Temp is 92 °C, at or above its upper critical threshold 90 °C.",
        )
    ]
    [fine] = observe([CPU], {"20_0_1": value(61.0)})
    assert (fine.active, fine.message, fine.reading) == (
        False,
        "CPU Temp is back within its thresholds (61 °C).",
        "61 °C",
    )


def test_type_limits_apply_only_where_the_bmc_has_no_upper_threshold() -> None:
    sensors = [CPU, CPU_NO_THRESHOLDS, INLET]
    readings = {"20_0_1": value(85.0), "20_0_3": value(85.0), "20_0_4": value(72.0)}
    settings = AlertSettings(temperature=Limits(warning_high=40.0, critical_high=45.0))
    assert active(observe(sensors, readings, settings=settings)) == [
        (
            "threshold_crossed",
            "20_0_1",
            "warning",
            "CPU Temp is 85 °C, at or above its upper non-critical threshold 80 °C.",
        ),
        (
            "threshold_crossed",
            "20_0_3",
            "warning",
            "CPU1 Temp is 85 °C, at or above its warning limit 80 °C set in Zephyr IPMI.",
        ),
        (
            "threshold_crossed",
            "20_0_4",
            "critical",
            "Inlet Temp is 72 °C, at or above its critical limit 45 °C set in Zephyr IPMI.",
        ),
    ]
    assert is_cpu_temperature(CPU)
    assert not is_cpu_temperature(INLET)


def test_sensor_limits_apply_even_with_bmc_thresholds() -> None:
    settings = AlertSettings(sensors={"20_0_1": Limits(warning_high=60.0, critical_high=75.0, warning_low=20.0)})
    assert active(observe([CPU], {"20_0_1": value(76.0)}, settings=settings)) == [
        (
            "threshold_crossed",
            "20_0_1",
            "critical",
            "CPU Temp is 76 °C, at or above its critical limit 75 °C set in Zephyr IPMI.",
        )
    ]
    assert active(observe([CPU], {"20_0_1": value(18.0)}, settings=settings)) == [
        (
            "threshold_crossed",
            "20_0_1",
            "warning",
            "CPU Temp is 18 °C, at or below its warning limit 20 °C set in Zephyr IPMI.",
        )
    ]


def test_status_without_readable_thresholds() -> None:
    plain = sdr("20_0_48", "12V", SensorKind.VOLTAGE, "V", sensor_type=0x02)
    assert active(observe([plain], {"20_0_48": value(10.2, SensorStatus.NON_RECOVERABLE)})) == [
        ("threshold_crossed", "20_0_48", "critical", "12V is 10.2 V, reported non-recoverable by the BMC.")
    ]
    assert active(observe([FAN_NO_THRESHOLDS], {"20_0_66": value(300.0, SensorStatus.NON_CRITICAL)})) == [
        ("fan_failed", "20_0_66", "warning", "FAN2 is 300 rpm, reported non-critical by the BMC.")
    ]


def test_fans_low_stopped_and_empty_headers() -> None:
    state = HealthState()
    assert active(observe([FAN], {"20_0_65": value(600.0, SensorStatus.NON_CRITICAL)}, state=state)) == [
        ("fan_failed", "20_0_65", "warning", "FAN1 is 600 rpm, at or below its lower non-critical threshold 700 rpm.")
    ]
    assert active(observe([FAN], {"20_0_65": value(400.0, SensorStatus.CRITICAL)}, state=state)) == [
        ("fan_failed", "20_0_65", "critical", "FAN1 is 400 rpm, at or below its lower critical threshold 500 rpm.")
    ]
    # A fan seen turning that reads 0 rpm has stopped, whatever its thresholds say.
    assert active(observe([FAN], {"20_0_65": value(0.0, SensorStatus.NON_RECOVERABLE)}, state=state)) == [
        ("fan_failed", "20_0_65", "critical", "FAN1 has stopped (0 rpm).")
    ]
    # A fan without thresholds that reads 0 rpm: an empty header until it was once seen turning.
    assert active(observe([FAN_NO_THRESHOLDS], {"20_0_66": value(0.0)}, state=state)) == []
    observe([FAN_NO_THRESHOLDS], {"20_0_66": value(1900.0)}, state=state)
    assert state.fans_seen == {"20_0_65", "20_0_66"}
    assert active(observe([FAN_NO_THRESHOLDS], {"20_0_66": value(0.0)}, state=state)) == [
        ("fan_failed", "20_0_66", "critical", "FAN2 has stopped (0 rpm).")
    ]
    # Host off: fans stand still and read nothing; that is no failure.
    off = observe([FAN], {"20_0_65": SensorReading(value=None, status=None, available=False)}, power_on=False)
    assert [(o.kind.value, o.active, o.message) for o in off] == [
        ("threshold_crossed", False, "FAN1: no reading while the host is off."),
        ("fan_failed", False, "FAN1: no reading while the host is off."),
    ]
    assert observe([FAN], {"20_0_65": SensorReading(value=None, status=None, available=False)}) == []
    [upper, lower] = observe([FAN], {"20_0_65": value(25400.0)})
    assert (upper.kind, upper.active, lower.kind, lower.active) == ("threshold_crossed", True, "fan_failed", False)
    assert lower.message == "FAN1 is turning again (25400 rpm)."


@pytest.mark.parametrize(
    ("sensor", "mask", "expected"),
    [
        (INTRUSION, 0b1, [("chassis_intrusion", "critical", "Chassis Intru: General chassis intrusion.")]),
        (
            PSU,
            0b1111,
            [
                ("psu_failure", "critical", "PS1 Status: Power supply failure detected."),
                ("psu_predictive_failure", "warning", "PS1 Status: Predictive failure."),
                ("psu_ac_lost", "critical", "PS1 Status: Power supply input lost (AC/DC)."),
            ],
        ),
        (PSU, 0b100001, [("psu_ac_lost", "warning", "PS1 Status: Power supply input out of range, but present.")]),
        (REDUNDANCY, 0b10, [("psu_redundancy_lost", "critical", "PS Redundancy: Redundancy lost.")]),
        (REDUNDANCY, 0b1, []),
        (
            DIMM,
            0b100011,
            [
                (
                    "memory_correctable_ecc",
                    "warning",
                    "DIMM Status: Correctable ECC or other correctable memory error.",
                ),
                (
                    "memory_uncorrectable_ecc",
                    "critical",
                    "DIMM Status: Uncorrectable ECC or other uncorrectable memory error.",
                ),
                ("memory_logging_limit", "warning", "DIMM Status: Correctable memory error logging limit reached."),
            ],
        ),
    ],
)
def test_discrete_states(sensor: SdrSensor, mask: int, expected: list[tuple[str, str, str]]) -> None:
    found = observe([sensor], {sensor.key: states(mask)})
    assert [(kind, severity, message) for kind, _, severity, message in active(found)] == expected
    assert all(o.message == f"{sensor.name}: back to normal." for o in found if not o.active)


def _events(*records: str, sensors: tuple[SdrSensor, ...] = ()) -> list:  # type: ignore[type-arg]
    return [decode_event(SelRecord.decode(bytes.fromhex(r)), sensors) for r in records]


def _record(generator: str, sensor: str, event: str, data: str, at: datetime = NOW - timedelta(minutes=1)) -> str:
    """Record bytes: id 1, type 02h, timestamp, generator, EvM rev, sensor type and number, event direction/type,
    event data 1-3 (IPMI 2.0 §32.1)."""
    return "0100 02" + int(at.timestamp()).to_bytes(4, "little").hex() + generator + "04" + sensor + event + data


def test_sel_records_open_watched_incidents_and_stand_alone_otherwise() -> None:
    events = _events(
        _record("2000", "05aa", "6f", "00ffff"),  # intrusion on the SDR's Chassis Intru (watched)
        _record("2000", "05aa", "ef", "00ffff"),  # ...and its deassertion, left to the poll
        _record("0100", "0cf0", "6f", "30ff02"),  # BIOS: correctable ECC, DIMM 2, no SDR sensor
        _record("2000", "08c9", "ef", "01ffff"),  # a PSU without SDR recovers
        _record("2000", "0141", "01", "5a6064"),  # threshold: upper critical going low (not a crossing)
        _record("2000", "0441", "01", "520505"),  # a fan without SDR: lower critical going low
        _record("2000", "0f01", "6f", "00ffff"),  # system firmware progress: no alert kind
        sensors=(INTRUSION,),
    )
    found = sel_observations(events, {(AlertKind.CHASSIS_INTRUSION, "20_0_170")}, AlertSettings(), HealthState(), NOW)
    assert [(o.kind.value, o.subject, o.active, o.momentary, o.severity.value) for o in found] == [
        ("chassis_intrusion", "20_0_170", True, False, "critical"),
        ("memory_correctable_ecc", "sw01_0c_240", True, True, "warning"),
        ("psu_failure", "20_0_201", False, False, "info"),
        ("fan_failed", "20_0_65", True, True, "critical"),
    ]
    assert found[0].time == NOW - timedelta(minutes=1)
    assert found[1].message == "Memory sensor 0xF0: Correctable ECC or other correctable memory error, DIMM 2."
    assert found[1].recovery_message == "Memory sensor 0xF0: no further events"


def test_failed_logins_count_within_the_window_and_lockouts_alert_at_once() -> None:
    state = HealthState()
    settings = AlertSettings(failed_logins=3, failed_login_window=timedelta(minutes=15))

    def failed(minutes: int) -> list:  # type: ignore[type-arg]
        return _events(_record("2000", "2af1", "6f", "f20301", at=NOW + timedelta(minutes=minutes)))

    later = NOW + timedelta(hours=1)
    assert sel_observations(failed(0), set(), settings, state, later) == []
    assert sel_observations(failed(20), set(), settings, state, later) == []
    # The first failure fell out of the window: two within it so far, then the third.
    assert sel_observations(failed(22), set(), settings, state, later) == []
    [repeated] = sel_observations(failed(23), set(), settings, state, later)
    assert (repeated.kind, repeated.subject, repeated.momentary) == ("failed_logins", "20_0_241_user3", True)
    assert repeated.message == (
        "3 failed logins for user 3 within 15 min. "
        "Session audit sensor 0xF1: Invalid user name or password, user 3, channel 1."
    )
    assert repeated.time == NOW + timedelta(minutes=23)
    assert state.login_failures["20_0_241_user3"] == [(NOW + timedelta(minutes=m)).timestamp() for m in (20, 22, 23)]
    lockout = _events(_record("2000", "2af1", "6f", "f30001"), _record("2000", "2af1", "ef", "f30301"))
    [locked] = sel_observations(lockout, set(), settings, state, NOW)
    assert (locked.kind, locked.severity, locked.subject) == ("account_lockout", "critical", "20_0_241_user0")
    assert locked.message.startswith("The BMC disabled an unknown user after failed logins.")


def test_health_state_round_trip() -> None:
    state = HealthState(fans_seen={"20_0_65"}, login_failures={"x_user1": [1.5]})
    assert HealthState.from_dict(state.as_dict()) == state
    assert HealthState.from_dict({"fans_seen": 5}) == HealthState()


def test_limits_round_trip() -> None:
    limits = Limits.from_dict({"warning_high": "70", "critical_high": 80, "warning_low": "", "critical_low": None})
    assert limits == Limits(warning_high=70.0, critical_high=80.0)
    assert limits.as_dict() == {"warning_high": 70.0, "critical_high": 80.0}


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (
            "51 0300 d01f ffffffff ffffffff 02",
            (False, "warning", "The event log (SEL) has room again (3 of 512 records)."),
        ),
        (
            "51 cc01 2003 ffffffff ffffffff 02",
            (True, "warning", "The event log (SEL) is 90 % full (460 of 510 records). Clear it before it fills up."),
        ),
        (
            "51 0002 0000 ffffffff ffffffff 82",
            (
                True,
                "critical",
                "The event log (SEL) is full (512 of 512 records): the BMC drops new events, "
                "and some boards run every fan at 100 %.",
            ),
        ),
        ("51 0a00 ffff ffffffff ffffffff 02", (False, "warning", "The event log (SEL) has room again (10 records).")),
    ],
)
def test_sel_fill(info: str, expected: tuple[bool, str, str]) -> None:
    observation = sel_fill_observation(SelInfo.decode(bytes.fromhex(info)), NOW)
    assert (observation.active, observation.severity.value, observation.message) == expected
    assert observation.kind is AlertKind.SEL_NEARLY_FULL
    assert observation.severity in (AlertSeverity.WARNING, AlertSeverity.CRITICAL)
