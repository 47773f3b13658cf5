"""Alerts of Zephyr IPMI: what happened to a server, how bad it is, and when it started and ended.

Pure Python (no Home Assistant import), so delivery, tests and tools can build and read alerts alone. Every
alert is fired on Home Assistant's bus as ``zephyr_ipmi_alert`` (``const.EVENT_ALERT``) with
``Alert.as_dict()`` as data; ``Alert.from_dict`` reads it back (keys it does not know are ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    """What an alert is about; the values are the event types of the alert event entity and device triggers."""

    BMC_UNREACHABLE = "bmc_unreachable"
    CHASSIS_INTRUSION = "chassis_intrusion"
    PSU_FAILURE = "psu_failure"
    PSU_PREDICTIVE_FAILURE = "psu_predictive_failure"
    PSU_AC_LOST = "psu_ac_lost"
    PSU_REDUNDANCY_LOST = "psu_redundancy_lost"
    MEMORY_CORRECTABLE_ECC = "memory_correctable_ecc"
    MEMORY_UNCORRECTABLE_ECC = "memory_uncorrectable_ecc"
    MEMORY_LOGGING_LIMIT = "memory_logging_limit"
    ACCOUNT_LOCKOUT = "account_lockout"
    FAILED_LOGINS = "failed_logins"
    THRESHOLD_CROSSED = "threshold_crossed"
    FAN_FAILED = "fan_failed"
    FAN_CONTROL_LOST = "fan_control_lost"
    SEL_NEARLY_FULL = "sel_nearly_full"
    TEST = "test"


class AlertSeverity(StrEnum):
    """How urgent an alert is, from least to most: info, warning, critical."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order of urgency: 0 info, 1 warning, 2 critical."""
        return _RANK[self]


_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


def parse_time(value: Any) -> datetime:
    """Read an ISO 8601 time (or a datetime); a time without zone is taken as UTC. Raises ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError(f"not a time: {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _optional_str(value: Any) -> str | None:
    """Return ``value`` as a string, None staying None."""
    return None if value is None else str(value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Alert:
    """One alert: an incident started (``recovered`` False) or ended (``recovered`` True).

    ``server`` is the device name of the BMC, ``sensor`` the SDR sensor name the alert concerns (None for the
    whole BMC), ``reading`` the value with its unit (e.g. "87 °C", "0 rpm") when there is one, ``message`` a
    readable English sentence (the decoded SEL text for SEL events). ``time`` is when it happened (UTC);
    ``started`` the start of the incident (recoveries say how long it lasted). Every alert of one incident
    shares ``incident_id``.
    """

    kind: AlertKind
    severity: AlertSeverity
    recovered: bool
    entry_id: str
    server: str
    sensor: str | None
    reading: str | None
    message: str
    time: datetime
    started: datetime | None
    incident_id: str

    @property
    def duration(self) -> timedelta | None:
        """How long the incident lasted (``time - started``), known for recoveries only."""
        if not self.recovered or self.started is None:
            return None
        return self.time - self.started

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict: times in ISO 8601 (UTC), enums as their values."""
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "recovered": self.recovered,
            "entry_id": self.entry_id,
            "server": self.server,
            "sensor": self.sensor,
            "reading": self.reading,
            "message": self.message,
            "time": self.time.astimezone(UTC).isoformat(),
            "started": None if self.started is None else self.started.astimezone(UTC).isoformat(),
            "incident_id": self.incident_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Build an alert from ``as_dict()`` output; unknown keys are ignored.

        Raises ``KeyError`` for a missing field and ``ValueError`` for an unknown kind, severity or a bad time.
        """
        started = data.get("started")
        return cls(
            kind=AlertKind(data["kind"]),
            severity=AlertSeverity(data["severity"]),
            recovered=bool(data["recovered"]),
            entry_id=str(data["entry_id"]),
            server=str(data["server"]),
            sensor=_optional_str(data.get("sensor")),
            reading=_optional_str(data.get("reading")),
            message=str(data["message"]),
            time=parse_time(data["time"]),
            started=None if started is None else parse_time(started),
            incident_id=str(data["incident_id"]),
        )


def format_duration(duration: timedelta) -> str:
    """Return a short English duration: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
