"""Tests of incident tracking: one alert per incident and one on recovery, cooldown, escalation, restore."""

from datetime import UTC, datetime, timedelta

from custom_components.zephyr_ipmi.alerts import AlertKind, AlertSeverity
from custom_components.zephyr_ipmi.incidents import IncidentTracker, Observation

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
COOLDOWN = timedelta(minutes=5)


def _tracker() -> IncidentTracker:
    return IncidentTracker(entry_id="entry1", server="Supermicro X11SSH-F", cooldown=COOLDOWN)


def _hot(at: datetime, severity: AlertSeverity = AlertSeverity.WARNING, value: int = 84) -> Observation:
    return Observation(
        kind=AlertKind.THRESHOLD_CROSSED,
        subject="20_0_1",
        active=True,
        severity=severity,
        message=f"CPU Temp is {value} °C, at or above its upper non-critical threshold 80 °C.",
        time=at,
        sensor="CPU Temp",
        reading=f"{value} °C",
    )


def _ok(at: datetime) -> Observation:
    return Observation(
        kind=AlertKind.THRESHOLD_CROSSED,
        subject="20_0_1",
        active=False,
        severity=AlertSeverity.INFO,
        message="CPU Temp is back within its thresholds (61 °C).",
        time=at,
        sensor="CPU Temp",
        reading="61 °C",
    )


def test_one_alert_per_incident_and_one_on_recovery() -> None:
    tracker = _tracker()
    [alert] = tracker.apply([_hot(T0)], T0)
    assert (alert.kind, alert.severity, alert.recovered) == ("threshold_crossed", "warning", False)
    assert (alert.entry_id, alert.server, alert.sensor, alert.reading) == (
        "entry1",
        "Supermicro X11SSH-F",
        "CPU Temp",
        "84 °C",
    )
    assert alert.started == alert.time == T0
    # Still hot at the next polls: nothing new.
    assert tracker.apply([_hot(T0 + timedelta(minutes=1), value=86)], T0 + timedelta(minutes=1)) == []
    # Back to normal: the incident ends only once it stayed clear for the cooldown.
    cleared = T0 + timedelta(minutes=2)
    assert tracker.apply([_ok(cleared)], cleared) == []
    assert tracker.apply([_ok(cleared + timedelta(minutes=4))], cleared + timedelta(minutes=4)) == []
    [recovery] = tracker.apply([_ok(cleared + COOLDOWN)], cleared + COOLDOWN)
    assert recovery.recovered
    assert recovery.incident_id == alert.incident_id
    assert (recovery.time, recovery.started, recovery.duration) == (cleared, T0, timedelta(minutes=2))
    assert recovery.message == "CPU Temp is back within its thresholds (61 °C); it lasted 2 min."
    assert recovery.reading == "61 °C"
    assert recovery.severity == "warning"
    assert tracker.open_incidents() == []


def test_flapping_within_the_cooldown_is_one_incident() -> None:
    tracker = _tracker()
    alerts = []
    now = T0
    for _ in range(10):  # hot, fine, hot, fine... every minute
        alerts += tracker.apply([_hot(now)], now)
        now += timedelta(minutes=1)
        alerts += tracker.apply([_ok(now)], now)
        now += timedelta(minutes=1)
    assert [a.recovered for a in alerts] == [False]
    later = now + COOLDOWN
    alerts += tracker.apply([_ok(later)], later)
    assert [a.recovered for a in alerts] == [False, True]
    # After it ended, the next problem is a new incident with a new id.
    [again] = tracker.apply([_hot(later)], later)
    assert again.incident_id != alerts[0].incident_id


def test_escalation_alerts_again_and_recovery_keeps_the_worst_severity() -> None:
    tracker = _tracker()
    assert len(tracker.apply([_hot(T0)], T0)) == 1
    [critical] = tracker.apply([_hot(T0, AlertSeverity.CRITICAL, 93)], T0)
    assert (critical.severity, critical.recovered, critical.reading) == ("critical", False, "93 °C")
    # Falling back to a warning does not alert.
    assert tracker.apply([_hot(T0, AlertSeverity.WARNING, 85)], T0) == []
    incident = tracker.get(AlertKind.THRESHOLD_CROSSED, "20_0_1")
    assert incident is not None
    assert incident.severity == "critical"
    tracker.apply([_ok(T0)], T0)
    [recovery] = tracker.expire(T0 + COOLDOWN)
    assert recovery.severity == "critical"


def test_momentary_events_end_after_a_quiet_cooldown() -> None:
    tracker = _tracker()
    ecc = Observation(
        kind=AlertKind.MEMORY_CORRECTABLE_ECC,
        subject="sw01_0c_240",
        active=True,
        severity=AlertSeverity.WARNING,
        message="Memory sensor 0xF0: Correctable ECC or other correctable memory error, DIMM 2.",
        time=T0 - timedelta(seconds=30),
        sensor="Memory sensor 0xF0",
        momentary=True,
        recovery_message="Memory sensor 0xF0: no further events",
    )
    [alert] = tracker.apply([ecc], T0)
    assert alert.time == T0 - timedelta(seconds=30)
    # The same event again a minute later: the quiet period starts over, no new alert.
    assert tracker.apply([ecc], T0 + timedelta(minutes=1)) == []
    assert tracker.expire(T0 + timedelta(minutes=5)) == []
    [recovery] = tracker.expire(T0 + timedelta(minutes=6))
    # It lasted from the first event (30 s before T0) to the last one.
    assert recovery.message == "Memory sensor 0xF0: no further events; it lasted 1 min."
    # Without a recovery sentence, the incident's own message says what ended.
    no_text = Observation(
        kind=AlertKind.ACCOUNT_LOCKOUT,
        subject="sw01_2a_241_user3",
        active=True,
        severity=AlertSeverity.CRITICAL,
        message="User 3 locked out.",
        time=T0,
        momentary=True,
    )
    tracker.apply([no_text], T0)
    assert tracker.expire(T0 + COOLDOWN)[0].message == "Ended: User 3 locked out; it lasted 0 s."


def test_inactive_without_incident_changes_nothing() -> None:
    tracker = _tracker()
    assert tracker.apply([_ok(T0)], T0) == []
    assert tracker.open_incidents() == []


def test_restore_neither_repeats_nor_forgets() -> None:
    tracker = _tracker()
    [alert] = tracker.apply([_hot(T0, AlertSeverity.CRITICAL)], T0)
    tracker.apply([_ok(T0 + timedelta(minutes=1))], T0 + timedelta(minutes=1))
    stored = tracker.as_list()
    restored = _tracker()
    assert restored.restore([*stored, {"kind": "unknown"}, {"incident_id": "x"}]) == 1
    # Still hot after the restart: no alert; the earlier "cleared" mark is dropped.
    assert restored.apply([_hot(T0 + timedelta(minutes=2), AlertSeverity.CRITICAL)], T0 + timedelta(minutes=2)) == []
    restored.apply([_ok(T0 + timedelta(minutes=3))], T0 + timedelta(minutes=3))
    [recovery] = restored.expire(T0 + timedelta(minutes=8))
    assert recovery.incident_id == alert.incident_id
    assert recovery.started == T0
