"""The alert as delivery receives it: the data of the ``zephyr_ipmi_alert`` bus event, parsed and checked.

Delivery is coupled to the health alerts only through that event (see the alert contract in the README):
``data`` is ``Alert.as_dict()``, with ISO 8601 times and enums as their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Self

ALERT_KINDS: Final = (
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
)
"""Every alert kind of the contract (``AlertKind`` values), in the order the routing form lists them."""

SEVERITIES: Final = ("info", "warning", "critical")
"""Alert severities (``AlertSeverity`` values), least severe first: a route's minimum compares by this order."""


def _time(value: Any, field: str) -> datetime:
    """Parse an ISO 8601 time with a UTC offset; raise ``ValueError`` naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{field} is not an ISO 8601 time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{field} has no UTC offset")
    return parsed


def _optional_text(data: Mapping[str, Any], field: str) -> str | None:
    """Return ``data[field]`` as text, or None when it is absent or null."""
    value = data.get(field)
    return None if value is None else str(value)


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryAlert:
    """One alert, or the recovery of one, as fired on the bus.

    ``time`` and ``started`` are aware datetimes (UTC); ``started`` is the incident's start, set on recoveries.
    ``reading`` is the value with its unit (e.g. "87 °C"); ``message`` a readable English sentence (e.g. SEL text).
    """

    kind: str
    severity: str
    recovered: bool
    entry_id: str
    server: str
    sensor: str | None
    reading: str | None
    message: str
    time: datetime
    started: datetime | None
    incident_id: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse the event data; raise ``ValueError`` when a field the contract requires is missing or wrong.

        Unknown kinds are kept (a newer alerts module may add kinds); unknown severities are refused, since
        routing compares them.
        """
        try:
            severity = str(data["severity"])
            if severity not in SEVERITIES:
                raise ValueError(f"unknown severity {severity!r}")
            started = data.get("started")
            return cls(
                kind=str(data["kind"]),
                severity=severity,
                recovered=bool(data.get("recovered", False)),
                entry_id=str(data.get("entry_id") or ""),
                server=str(data["server"]),
                sensor=_optional_text(data, "sensor"),
                reading=_optional_text(data, "reading"),
                message=str(data.get("message") or ""),
                time=_time(data["time"], "time"),
                started=None if started is None else _time(started, "started"),
                incident_id=str(data["incident_id"]),
            )
        except KeyError as err:
            raise ValueError(f"missing field {err}") from None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-safe form ``from_dict`` reads (ISO 8601 times)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "recovered": self.recovered,
            "entry_id": self.entry_id,
            "server": self.server,
            "sensor": self.sensor,
            "reading": self.reading,
            "message": self.message,
            "time": self.time.isoformat(),
            "started": None if self.started is None else self.started.isoformat(),
            "incident_id": self.incident_id,
        }
