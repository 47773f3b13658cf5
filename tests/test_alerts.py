"""Tests of the alert model shared with delivery: JSON round trip, validation and durations."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.zephyr_ipmi.alerts import Alert, AlertKind, AlertSeverity, format_duration

START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _alert(**changes: object) -> Alert:
    fields: dict[str, object] = {
        "kind": AlertKind.THRESHOLD_CROSSED,
        "severity": AlertSeverity.CRITICAL,
        "recovered": True,
        "entry_id": "01JEXAMPLE",
        "server": "Supermicro X11SSH-F",
        "sensor": "CPU Temp",
        "reading": "62 °C",
        "message": "CPU Temp is back within its thresholds (62 °C).",
        "time": START + timedelta(minutes=12, seconds=5),
        "started": START,
        "incident_id": "c0ffee",
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def test_as_dict_is_json_safe_and_round_trips() -> None:
    alert = _alert()
    data = alert.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "kind": "threshold_crossed",
        "severity": "critical",
        "recovered": True,
        "entry_id": "01JEXAMPLE",
        "server": "Supermicro X11SSH-F",
        "sensor": "CPU Temp",
        "reading": "62 °C",
        "message": "CPU Temp is back within its thresholds (62 °C).",
        "time": "2026-12-03T08:12:05+00:00",
        "started": "2026-12-03T08:00:00+00:00",
        "incident_id": "c0ffee",
    }
    assert Alert.from_dict(data) == alert


def test_times_are_written_in_utc_and_naive_times_read_as_utc() -> None:
    local = START.astimezone(timezone(timedelta(hours=2)))
    data = _alert(time=local, started=None, sensor=None, reading=None).as_dict()
    assert data["time"] == "2026-12-03T08:00:00+00:00"
    assert data["started"] is None
    data["time"] = "2026-12-03T08:00:00"
    back = Alert.from_dict({**data, "device_id": "ignored"})
    assert back.time == START
    assert back.sensor is None
    assert back.reading is None
    assert back.started is None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"kind": "disk_on_fire"}, ValueError),
        ({"severity": "apocalyptic"}, ValueError),
        ({"time": "yesterday"}, ValueError),
        ({"time": 1700000000}, ValueError),
    ],
)
def test_from_dict_rejects_bad_values(change: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Alert.from_dict({**_alert().as_dict(), **change})


def test_from_dict_needs_every_required_field() -> None:
    data = _alert().as_dict()
    del data["incident_id"]
    with pytest.raises(KeyError):
        Alert.from_dict(data)


def test_duration_of_recoveries_only() -> None:
    assert _alert().duration == timedelta(minutes=12, seconds=5)
    assert _alert(recovered=False).duration is None
    assert _alert(started=None).duration is None


def test_severity_rank_orders_urgency() -> None:
    assert [s.rank for s in (AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.CRITICAL)] == [0, 1, 2]


def test_kinds_are_the_contracted_values() -> None:
    assert [kind.value for kind in AlertKind] == [
        "bmc_unreachable",
        "chassis_intrusion",
        "psu_failure",
        "psu_predictive_failure",
        "psu_ac_lost",
        "psu_redundancy_lost",
        "memory_correctable_ecc",
        "memory_uncorrectable_ecc",
        "memory_logging_limit",
        "account_lockout",
        "failed_logins",
        "threshold_crossed",
        "fan_failed",
        "fan_control_lost",
        "sel_nearly_full",
        "test",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (725, "12 min"),
        (3600, "1 h"),
        (11100, "3 h 5 min"),
        (86400, "1 d"),
        (187200, "2 d 4 h"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
