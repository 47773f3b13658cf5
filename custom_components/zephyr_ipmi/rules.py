"""Health rules: what a poll, the SEL's new records and its fill level mean, as alert observations.

Pure Python (no Home Assistant import). Sources and their subjects:

* a poll (``BmcSnapshot``): threshold sensors against the BMC's thresholds and Zephyr's monitoring limits
  (``threshold_crossed``; ``fan_failed`` for a fan below its lower thresholds or stopped), and the states of
  discrete sensors (intrusion, power supplies, redundancy, memory). These are lasting states: each poll says
  whether the problem is there, and the incident ends when it is gone;
* new SEL records (``SelEvent``): the same kinds, plus failed logins and lockouts. A record about a subject the
  poll also watches opens its incident (the poll then says when it ends); other records are momentary;
* Get SEL Info: ``sel_nearly_full``.

Monitoring limits (°C for temperatures, the sensor's unit otherwise): the per-type limits apply to temperature
sensors for which the BMC defines no upper threshold; a sensor's own limits apply whatever the BMC defines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .alerts import AlertKind, AlertSeverity, format_duration
from .const import (
    CONF_ALERT_COOLDOWN,
    CONF_CPU_TEMPERATURE_CRITICAL,
    CONF_CPU_TEMPERATURE_WARNING,
    CONF_SENSOR_LIMITS,
    CONF_TEMPERATURE_CRITICAL,
    CONF_TEMPERATURE_WARNING,
    CONF_UNREACHABLE_POLLS,
)
from .incidents import Observation
from .ipmi.models import BmcSnapshot, SdrSensor, SensorKind, SensorReading, SensorStatus
from .ipmi.sel import SelEvent, SelInfo, format_value
from .ipmi.sensor_types import Severity, event_state

#: IPMI entity id of a processor (IPMI 2.0 Table 43-13): its temperature sensors are CPU temperatures.
ENTITY_PROCESSOR = 0x03
READING_TYPE_THRESHOLD, READING_TYPE_REDUNDANCY, READING_TYPE_SENSOR_SPECIFIC = 0x01, 0x0B, 0x6F
SENSOR_TYPE_FAN, SENSOR_TYPE_SESSION_AUDIT = 0x04, 0x2A
#: Sensor-specific offsets of session audit (IPMI 2.0 Table 42-3): invalid user name or password, user disabled.
OFFSET_INVALID_LOGIN, OFFSET_LOCKOUT = 0x02, 0x03
#: Threshold event offsets that are crossings (IPMI 2.0 Table 42-2): lower going low, upper going high.
_LOW_CROSSINGS = frozenset({0x00, 0x02, 0x04})
_HIGH_CROSSINGS = frozenset({0x07, 0x09, 0x0B})
#: BMC thresholds from the most to the least severe, with their names and alert severities.
_UPPER = (("unr", "upper non-recoverable"), ("ucr", "upper critical"), ("unc", "upper non-critical"))
_LOWER = (("lnr", "lower non-recoverable"), ("lcr", "lower critical"), ("lnc", "lower non-critical"))
_THRESHOLD_SEVERITY = {"unr": AlertSeverity.CRITICAL, "ucr": AlertSeverity.CRITICAL, "unc": AlertSeverity.WARNING}
_THRESHOLD_SEVERITY |= {"lnr": AlertSeverity.CRITICAL, "lcr": AlertSeverity.CRITICAL, "lnc": AlertSeverity.WARNING}

_REDUNDANCY = dict.fromkeys(range(1, 8), AlertKind.PSU_REDUNDANCY_LOST)
OFFSET_KINDS: Mapping[tuple[int, int], Mapping[int, AlertKind]] = {
    # Physical security: chassis, drive bay, I/O card area, processor area and fan area intrusion.
    (0x05, READING_TYPE_SENSOR_SPECIFIC): dict.fromkeys((0, 1, 2, 3, 6), AlertKind.CHASSIS_INTRUSION),
    # Power supply: failure, predictive failure, input lost, input lost or out of range, out of range.
    (0x08, READING_TYPE_SENSOR_SPECIFIC): {
        1: AlertKind.PSU_FAILURE,
        2: AlertKind.PSU_PREDICTIVE_FAILURE,
        3: AlertKind.PSU_AC_LOST,
        4: AlertKind.PSU_AC_LOST,
        5: AlertKind.PSU_AC_LOST,
    },
    # Power unit: AC lost, failure detected, predictive failure.
    (0x09, READING_TYPE_SENSOR_SPECIFIC): {
        4: AlertKind.PSU_AC_LOST,
        6: AlertKind.PSU_FAILURE,
        7: AlertKind.PSU_PREDICTIVE_FAILURE,
    },
    # Redundancy (generic type 0Bh) of power supplies and power units: every state but "fully redundant".
    (0x08, READING_TYPE_REDUNDANCY): _REDUNDANCY,
    (0x09, READING_TYPE_REDUNDANCY): _REDUNDANCY,
    # Memory: correctable ECC; uncorrectable ECC and parity; correctable ECC logging limit reached.
    (0x0C, READING_TYPE_SENSOR_SPECIFIC): {
        0: AlertKind.MEMORY_CORRECTABLE_ECC,
        1: AlertKind.MEMORY_UNCORRECTABLE_ECC,
        2: AlertKind.MEMORY_UNCORRECTABLE_ECC,
        5: AlertKind.MEMORY_LOGGING_LIMIT,
    },
    # Session audit (SEL only): invalid user name or password; user disabled after failed logins.
    (SENSOR_TYPE_SESSION_AUDIT, READING_TYPE_SENSOR_SPECIFIC): {
        OFFSET_INVALID_LOGIN: AlertKind.FAILED_LOGINS,
        OFFSET_LOCKOUT: AlertKind.ACCOUNT_LOCKOUT,
    },
}
"""(Sensor type, event/reading type) → state offset → the alert kind it asserts (IPMI 2.0 Tables 42-2, 42-3)."""

_SEVERITY = {
    Severity.OK: AlertSeverity.INFO,
    Severity.INFO: AlertSeverity.INFO,
    Severity.WARNING: AlertSeverity.WARNING,
    Severity.CRITICAL: AlertSeverity.CRITICAL,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Monitoring limits of a sensor, in its unit: warning/critical at or above ``*_high``, at or below ``*_low``."""

    warning_high: float | None = None
    critical_high: float | None = None
    warning_low: float | None = None
    critical_low: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limits:
        """Read limits stored as a dict; missing or empty values mean no limit. Raises ``ValueError``."""

        def _value(key: str) -> float | None:
            value = data.get(key)
            return None if value is None or value == "" else float(value)

        return cls(
            warning_high=_value("warning_high"),
            critical_high=_value("critical_high"),
            warning_low=_value("warning_low"),
            critical_low=_value("critical_low"),
        )

    def as_dict(self) -> dict[str, float]:
        """Return the limits that are set."""
        values = {
            "warning_high": self.warning_high,
            "critical_high": self.critical_high,
            "warning_low": self.warning_low,
            "critical_low": self.critical_low,
        }
        return {key: value for key, value in values.items() if value is not None}

    def crossing(self, value: float, unit: str | None) -> tuple[AlertSeverity, bool, str] | None:
        """Return (severity, low side, phrase) of the worst limit ``value`` is at or beyond, or None."""
        checks = (
            (self.critical_high, AlertSeverity.CRITICAL, False, "critical"),
            (self.critical_low, AlertSeverity.CRITICAL, True, "critical"),
            (self.warning_high, AlertSeverity.WARNING, False, "warning"),
            (self.warning_low, AlertSeverity.WARNING, True, "warning"),
        )
        for limit, severity, low, level in checks:
            if limit is None or (value > limit if low else value < limit):
                continue
            direction = "below" if low else "above"
            return severity, low, f"at or {direction} its {level} limit {format_value(limit, unit)} set in Zephyr IPMI"
        return None


DEFAULT_CPU_LIMITS = Limits(warning_high=80.0, critical_high=90.0)
"""CPU temperature limits (°C) for CPUs whose BMC defines no upper threshold."""
DEFAULT_TEMPERATURE_LIMITS = Limits(warning_high=70.0, critical_high=80.0)
"""Other temperature limits (°C) for sensors whose BMC defines no upper threshold."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertSettings:
    """A BMC's alert settings (from the entry's options).

    ``unreachable_polls``: failed polls in a row before "BMC unreachable"; ``cooldown``: how long a problem
    must stay clear before its incident ends; ``cpu_temperature``/``temperature``: per-type limits (°C);
    ``sensors``: per-sensor limits by ``SdrSensor.key``; ``failed_logins`` within ``failed_login_window``:
    failed logins (SEL session audit) for one user before "repeated failed logins".
    """

    unreachable_polls: int = 3
    cooldown: timedelta = timedelta(minutes=5)
    cpu_temperature: Limits = DEFAULT_CPU_LIMITS
    temperature: Limits = DEFAULT_TEMPERATURE_LIMITS
    sensors: Mapping[str, Limits] = field(default_factory=dict)
    failed_logins: int = 3
    failed_login_window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> AlertSettings:
        """Read the settings from a config entry's options; what is missing or unreadable keeps its default."""
        default = cls()

        def _number(key: str, fallback: float | None) -> float | None:
            try:
                return float(options[key]) if options.get(key) is not None else fallback
            except TypeError, ValueError:
                return fallback

        limits: dict[str, Limits] = {}
        for key, stored in dict(options.get(CONF_SENSOR_LIMITS) or {}).items():
            try:
                limits[str(key)] = Limits.from_dict(stored)
            except AttributeError, TypeError, ValueError:
                continue
        polls = _number(CONF_UNREACHABLE_POLLS, default.unreachable_polls)
        cooldown = _number(CONF_ALERT_COOLDOWN, default.cooldown.total_seconds())
        return cls(
            unreachable_polls=max(1, int(polls or 1)),
            cooldown=timedelta(seconds=max(0.0, cooldown or 0.0)),
            cpu_temperature=Limits(
                warning_high=_number(CONF_CPU_TEMPERATURE_WARNING, DEFAULT_CPU_LIMITS.warning_high),
                critical_high=_number(CONF_CPU_TEMPERATURE_CRITICAL, DEFAULT_CPU_LIMITS.critical_high),
            ),
            temperature=Limits(
                warning_high=_number(CONF_TEMPERATURE_WARNING, DEFAULT_TEMPERATURE_LIMITS.warning_high),
                critical_high=_number(CONF_TEMPERATURE_CRITICAL, DEFAULT_TEMPERATURE_LIMITS.critical_high),
            ),
            sensors=limits,
        )


@dataclass(kw_only=True)
class HealthState:
    """What the rules remember between checks (saved with the incidents).

    ``fans_seen``: keys of fans seen turning (a fan reading 0 rpm that never turned is an empty header, not a
    failed fan); ``login_failures``: failed login times (s since 1970) by subject, within the window.
    """

    fans_seen: set[str] = field(default_factory=set)
    login_failures: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {"fans_seen": sorted(self.fans_seen), "login_failures": self.login_failures}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthState:
        """Read ``as_dict()`` output; anything unreadable starts empty."""
        try:
            fans = {str(key) for key in data.get("fans_seen", [])}
            failures = {str(k): [float(t) for t in v] for k, v in dict(data.get("login_failures", {})).items()}
        except TypeError, ValueError:
            return cls()
        return cls(fans_seen=fans, login_failures=failures)


def _severity(sensor_type: int, reading_type: int, offsets: Iterable[int]) -> AlertSeverity:
    """Return the worst severity of these states (IPMI 2.0 Tables 42-2/42-3 as ``sensor_types`` rates them)."""
    worst = AlertSeverity.WARNING
    for offset in offsets:
        state = event_state(reading_type, sensor_type, offset)
        if state is not None and (severity := _at_least_warning(state.severity)).rank > worst.rank:
            worst = severity
    return worst


def _at_least_warning(severity: Severity) -> AlertSeverity:
    """Map a state's severity to an alert severity; a state that raises an alert is at least a warning."""
    mapped = _SEVERITY[severity]
    return mapped if mapped.rank >= AlertSeverity.WARNING.rank else AlertSeverity.WARNING


def is_cpu_temperature(sensor: SdrSensor) -> bool:
    """Tell whether ``sensor`` measures a processor's temperature (processor entity, or "CPU" in its name)."""
    return sensor.kind is SensorKind.TEMPERATURE and (
        sensor.entity_id == ENTITY_PROCESSOR or "cpu" in sensor.name.lower()
    )


def sensor_limits(sensor: SdrSensor, settings: AlertSettings) -> list[Limits]:
    """Return the monitoring limits that apply to ``sensor``: its own, and its type's when the BMC has none."""
    limits = [own] if (own := settings.sensors.get(sensor.key)) is not None else []
    if sensor.kind is SensorKind.TEMPERATURE and not any(key in sensor.thresholds for key, _ in _UPPER):
        limits.append(settings.cpu_temperature if is_cpu_temperature(sensor) else settings.temperature)
    return limits


def _bmc_crossing(sensor: SdrSensor, value: float) -> tuple[AlertSeverity, bool, str] | None:
    """Return (severity, low side, phrase) of the worst BMC threshold ``value`` is at or beyond, or None."""
    found: list[tuple[AlertSeverity, bool, str]] = []
    for names, low in ((_UPPER, False), (_LOWER, True)):
        for key, name in names:
            limit = sensor.thresholds.get(key)
            if limit is None or (value > limit if low else value < limit):
                continue
            direction = "below" if low else "above"
            phrase = f"at or {direction} its {name} threshold {format_value(limit, sensor.unit)}"
            found.append((_THRESHOLD_SEVERITY[key], low, phrase))
            break
    return max(found, key=lambda item: item[0].rank) if found else None


def _crossings(
    sensor: SdrSensor, reading: SensorReading, value: float, settings: AlertSettings
) -> list[tuple[AlertSeverity, bool, str]]:
    """Every threshold or limit ``value`` crosses: the BMC's worst, then Zephyr's limits, then the BMC's status."""
    found = [crossing] if (crossing := _bmc_crossing(sensor, value)) is not None else []
    for limits in sensor_limits(sensor, settings):
        if (crossing := limits.crossing(value, sensor.unit)) is not None:
            found.append(crossing)
    if not found and reading.status not in (None, SensorStatus.OK):
        # The BMC says so although no readable threshold explains it (thresholds not in the SDR).
        severity = AlertSeverity.WARNING if reading.status is SensorStatus.NON_CRITICAL else AlertSeverity.CRITICAL
        low = sensor.kind is SensorKind.FAN
        found.append((severity, low, f"reported {reading.status.value.replace('_', '-')} by the BMC"))
    return found


def snapshot_observations(
    sensors: Mapping[str, SdrSensor],
    snapshot: BmcSnapshot,
    settings: AlertSettings,
    state: HealthState,
    now: datetime,
) -> list[Observation]:
    """Observe every sensor of one poll: threshold crossings, failed fans and discrete problem states."""
    observations: list[Observation] = []
    for key, sensor in sensors.items():
        reading = snapshot.readings.get(key)
        if reading is None:
            continue
        if sensor.is_threshold:
            observations.extend(
                _threshold_observations(
                    sensor, reading, power_on=snapshot.power_on, settings=settings, state=state, now=now
                )
            )
        elif (sensor.sensor_type, sensor.reading_type) in OFFSET_KINDS and reading.available:
            observations.extend(_discrete_observations(sensor, reading, now))
    return observations


def _threshold_observations(
    sensor: SdrSensor,
    reading: SensorReading,
    *,
    power_on: bool | None,
    settings: AlertSettings,
    state: HealthState,
    now: datetime,
) -> list[Observation]:
    is_fan = sensor.kind is SensorKind.FAN
    kinds = (AlertKind.THRESHOLD_CROSSED, AlertKind.FAN_FAILED) if is_fan else (AlertKind.THRESHOLD_CROSSED,)
    value = reading.value if reading.available else None
    if value is None:
        if power_on is False:
            # Host off: its sensors read nothing and nothing is wrong with them.
            return [
                _clear(kind, sensor, None, f"{sensor.name}: no reading while the host is off.", now) for kind in kinds
            ]
        return []
    text = format_value(value, sensor.unit)
    crossings = _crossings(sensor, reading, value, settings)
    worst: dict[AlertKind, tuple[AlertSeverity, bool, str]] = {}
    for severity, low, phrase in crossings:
        kind = AlertKind.FAN_FAILED if is_fan and low else AlertKind.THRESHOLD_CROSSED
        if kind not in worst or severity.rank > worst[kind][0].rank:
            worst[kind] = (severity, low, phrase)
    if is_fan:
        if value > 0:
            state.fans_seen.add(sensor.key)
        elif sensor.key in state.fans_seen and power_on is not False:
            worst[AlertKind.FAN_FAILED] = (AlertSeverity.CRITICAL, True, "stopped")
    observations = []
    for kind in kinds:
        if kind in worst:
            severity, _low, phrase = worst[kind]
            message = (
                f"{sensor.name} has {phrase} ({text})."
                if phrase == "stopped"
                else f"{sensor.name} is {text}, {phrase}."
            )
            observations.append(
                Observation(
                    kind=kind,
                    subject=sensor.key,
                    active=True,
                    severity=severity,
                    message=message,
                    time=now,
                    sensor=sensor.name,
                    reading=text,
                )
            )
        else:
            back = "is turning again" if kind is AlertKind.FAN_FAILED else "is back within its thresholds"
            observations.append(_clear(kind, sensor, text, f"{sensor.name} {back} ({text}).", now))
    return observations


def _clear(kind: AlertKind, sensor: SdrSensor, reading: str | None, message: str, now: datetime) -> Observation:
    return Observation(
        kind=kind,
        subject=sensor.key,
        active=False,
        severity=AlertSeverity.INFO,
        message=message,
        time=now,
        sensor=sensor.name,
        reading=reading,
    )


def _discrete_observations(sensor: SdrSensor, reading: SensorReading, now: datetime) -> list[Observation]:
    table = OFFSET_KINDS[(sensor.sensor_type, sensor.reading_type)]
    by_kind: dict[AlertKind, list[int]] = {}
    for offset, kind in table.items():
        by_kind.setdefault(kind, [])
        if reading.states >> offset & 1:
            by_kind[kind].append(offset)
    observations = []
    for kind, offsets in by_kind.items():
        if not offsets:
            observations.append(_clear(kind, sensor, None, f"{sensor.name}: back to normal.", now))
            continue
        names = [
            state.name for offset in offsets if (state := event_state(sensor.reading_type, sensor.sensor_type, offset))
        ]
        observations.append(
            Observation(
                kind=kind,
                subject=sensor.key,
                active=True,
                severity=_severity(sensor.sensor_type, sensor.reading_type, offsets),
                message=f"{sensor.name}: {', '.join(names)}.",
                time=now,
                sensor=sensor.name,
            )
        )
    return observations


def sel_subject(event: SelEvent) -> str:
    """Return the incident subject of a SEL event: its SDR sensor's key, else one made from the record."""
    if event.sensor is not None:
        return event.sensor.key
    record = event.record
    if record.sensor_key is not None:
        return record.sensor_key
    return f"sw{(record.generator or 0) & 0xFF:02x}_{record.sensor_type or 0:02x}_{record.sensor_number or 0}"


def sel_observations(
    events: Iterable[SelEvent],
    watched: set[tuple[AlertKind, str]],
    settings: AlertSettings,
    state: HealthState,
    now: datetime,
    *,
    clock_offset: timedelta = timedelta(0),
) -> list[Observation]:
    """Observe new SEL records, oldest first.

    ``watched`` holds the (kind, subject) pairs the poll observes: for those a record only opens the incident
    (the poll says when it ends) and deassertions are left to the poll; other records are momentary.
    ``clock_offset`` is how far the BMC's SEL clock is behind real time; record times are corrected by it and
    never later than ``now``.
    """
    observations: list[Observation] = []
    for event in events:
        record = event.record
        if record.sensor_type is None or record.event_type is None or record.offset is None:
            continue
        time = min(record.time + clock_offset, now) if record.time is not None else now
        subject = sel_subject(event)
        kind: AlertKind | None
        if record.event_type == READING_TYPE_THRESHOLD:
            low = record.offset in _LOW_CROSSINGS
            if not low and record.offset not in _HIGH_CROSSINGS:
                continue
            kind = (
                AlertKind.FAN_FAILED if low and record.sensor_type == SENSOR_TYPE_FAN else AlertKind.THRESHOLD_CROSSED
            )
        else:
            kind = OFFSET_KINDS.get((record.sensor_type, record.event_type), {}).get(record.offset)
            if kind is None:
                continue
        reading = None if event.trigger is None else format_value(event.trigger, event.unit)
        if record.sensor_type == SENSOR_TYPE_SESSION_AUDIT:
            if not record.deassertion:
                found = _login_observation(event, kind, subject, settings=settings, state=state, time=time)
                observations.extend([found] if found is not None else [])
            continue
        watched_here = (kind, subject) in watched
        if record.deassertion:
            if not watched_here:
                observations.append(
                    Observation(
                        kind=kind,
                        subject=subject,
                        active=False,
                        severity=AlertSeverity.INFO,
                        message=event.text,
                        time=time,
                        sensor=event.sensor_name,
                        reading=reading,
                    )
                )
            continue
        observations.append(
            Observation(
                kind=kind,
                subject=subject,
                active=True,
                severity=_at_least_warning(event.severity),
                message=event.text,
                time=time,
                sensor=event.sensor_name,
                reading=reading,
                momentary=not watched_here,
                recovery_message=f"{event.sensor_name}: no further events",
            )
        )
    return observations


def _login_observation(
    event: SelEvent,
    kind: AlertKind,
    subject: str,
    *,
    settings: AlertSettings,
    state: HealthState,
    time: datetime,
) -> Observation | None:
    """Observe a lockout at once, failed logins once ``settings.failed_logins`` of one user fall in the window."""
    user = event.details.get("user_id", 0)
    who = f"user {user}" if user else "an unknown user"
    subject = f"{subject}_user{user}"
    if kind is AlertKind.ACCOUNT_LOCKOUT:
        return Observation(
            kind=kind,
            subject=subject,
            active=True,
            severity=AlertSeverity.CRITICAL,
            message=f"The BMC disabled {who} after failed logins. {event.text}",
            time=time,
            sensor=event.sensor_name,
            momentary=True,
            recovery_message=f"No further lockout of {who}",
        )
    window = settings.failed_login_window.total_seconds()
    stamp = time.timestamp()
    recent = [t for t in state.login_failures.get(subject, []) if stamp - window < t <= stamp] + [stamp]
    state.login_failures[subject] = recent[-max(settings.failed_logins, 1) :]
    if len(recent) < settings.failed_logins:
        return None
    return Observation(
        kind=kind,
        subject=subject,
        active=True,
        severity=AlertSeverity.WARNING,
        message=(
            f"{len(recent)} failed logins for {who} within {format_duration(settings.failed_login_window)}. "
            f"{event.text}"
        ),
        time=time,
        sensor=event.sensor_name,
        momentary=True,
        recovery_message=f"No further failed logins for {who}",
    )


def sel_fill_observation(info: SelInfo, now: datetime) -> Observation:
    """Observe how full the SEL is: a warning from ``sel.NEARLY_FULL``, critical once full (events are lost)."""
    percent = round(info.used_fraction * 100)
    capacity = info.capacity
    of = f"{info.entries} of {capacity} records" if capacity else f"{info.entries} records"
    if info.full:
        message = (
            f"The event log (SEL) is full ({of}): the BMC drops new events, and some boards run every fan at 100 %."
        )
    else:
        message = f"The event log (SEL) is {percent} % full ({of}). Clear it before it fills up."
    return Observation(
        kind=AlertKind.SEL_NEARLY_FULL,
        subject="sel",
        active=info.nearly_full,
        severity=AlertSeverity.CRITICAL if info.full else AlertSeverity.WARNING,
        message=message if info.nearly_full else f"The event log (SEL) has room again ({of}).",
        time=now,
        reading=f"{percent} %",
    )
