"""Incidents: one alert when a problem starts, one when it has ended, and nothing in between.

Pure Python (no Home Assistant import). A health check turns what it saw into ``Observation``s (a subject,
such as a sensor, is or is not in a problem state of some ``AlertKind``); the ``IncidentTracker`` keeps one
open incident per kind and subject and turns observations into ``Alert``s:

* the first active observation opens an incident and alerts; further ones only refresh it, except that a
  higher severity (warning → critical) alerts again;
* an inactive observation marks the incident cleared; it ends, with a recovery alert, once it has stayed
  clear for the cooldown (s). A problem that comes back within the cooldown continues the same incident, so
  a flapping sensor gives one alert per cooldown at most;
* a momentary observation (an event logged without a lasting state, such as a SEL record of a failed login)
  opens or refreshes the incident and clears it at once: it ends after a cooldown without recurrence.

Open incidents are saved (``as_list``) and restored, so a restart neither repeats nor forgets them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .alerts import Alert, AlertKind, AlertSeverity, format_duration, parse_time


@dataclass(frozen=True, kw_only=True, slots=True)
class Observation:
    """What one health check saw about one subject for one alert kind.

    ``subject`` identifies what the incident is about within the BMC (an SDR sensor key, "bmc", "sel", ...).
    ``sensor`` is the name shown to people, ``reading`` the value with its unit, ``message`` a readable
    English sentence (used as the alert's message when active, as the recovery message when inactive).
    ``time`` is when it happened (a SEL record's time, or the check's time), UTC.
    """

    kind: AlertKind
    subject: str
    active: bool
    severity: AlertSeverity
    message: str
    time: datetime
    sensor: str | None = None
    reading: str | None = None
    momentary: bool = False
    recovery_message: str | None = None
    """For momentary observations: the sentence of the recovery alert when no further event comes."""

    @property
    def key(self) -> tuple[AlertKind, str]:
        """The incident this observation belongs to: (kind, subject)."""
        return self.kind, self.subject


@dataclass(kw_only=True, slots=True)
class Incident:
    """An open incident: a problem of one kind about one subject, from ``started`` until it ends.

    ``severity`` is the highest severity alerted so far; ``cleared`` the time the problem was last seen to end
    (None while it lasts); ``recovery_message``/``recovery_reading`` come from the observation that cleared it.
    """

    incident_id: str
    kind: AlertKind
    subject: str
    severity: AlertSeverity
    message: str
    started: datetime
    last_seen: datetime
    sensor: str | None = None
    reading: str | None = None
    cleared: datetime | None = None
    recovery_message: str | None = None
    recovery_reading: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (ISO 8601 times)."""
        return {
            "incident_id": self.incident_id,
            "kind": self.kind.value,
            "subject": self.subject,
            "severity": self.severity.value,
            "message": self.message,
            "started": self.started.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "sensor": self.sensor,
            "reading": self.reading,
            "cleared": None if self.cleared is None else self.cleared.isoformat(),
            "recovery_message": self.recovery_message,
            "recovery_reading": self.recovery_reading,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        """Read ``as_dict()`` output; raises ``KeyError`` or ``ValueError`` on bad data."""
        cleared = data.get("cleared")
        return cls(
            incident_id=str(data["incident_id"]),
            kind=AlertKind(data["kind"]),
            subject=str(data["subject"]),
            severity=AlertSeverity(data["severity"]),
            message=str(data["message"]),
            started=parse_time(data["started"]),
            last_seen=parse_time(data["last_seen"]),
            sensor=data.get("sensor"),
            reading=data.get("reading"),
            cleared=None if cleared is None else parse_time(cleared),
            recovery_message=data.get("recovery_message"),
            recovery_reading=data.get("recovery_reading"),
        )


@dataclass(kw_only=True)
class IncidentTracker:
    """Open incidents of one BMC and the rules that turn observations into alerts (see the module docstring).

    ``entry_id`` and ``server`` (the device name) go into every alert; ``cooldown`` is how long a problem must
    stay clear before its incident ends.
    """

    entry_id: str
    server: str
    cooldown: timedelta
    incidents: dict[tuple[AlertKind, str], Incident] = field(default_factory=dict)

    def apply(self, observations: Iterable[Observation], now: datetime) -> list[Alert]:
        """Apply ``observations`` in order, then end what stayed clear for the cooldown; return the alerts."""
        alerts: list[Alert] = []
        for observation in observations:
            if observation.active:
                alerts.extend(self._observe_active(observation, now))
            else:
                self._observe_inactive(observation)
        alerts.extend(self.expire(now))
        return alerts

    def expire(self, now: datetime) -> list[Alert]:
        """End the incidents that have stayed clear for the cooldown; return their recovery alerts."""
        alerts: list[Alert] = []
        for key, incident in list(self.incidents.items()):
            if incident.cleared is None or now - incident.cleared < self.cooldown:
                continue
            del self.incidents[key]
            alerts.append(self._recovery(incident, incident.cleared))
        return alerts

    def end(
        self, kind: AlertKind, subject: str, now: datetime, *, message: str, reading: str | None = None
    ) -> Alert | None:
        """End the open incident of ``kind`` about ``subject`` now, without a cooldown: the owner fixed it.

        For a problem Zephyr itself removed (such as a SEL it cleared). ``message`` is the recovery sentence.
        Returns the recovery alert, or None when no such incident is open. An incident already clear ends at the
        time it cleared.
        """
        incident = self.incidents.pop((kind, subject), None)
        if incident is None:
            return None
        if incident.cleared is None:
            incident.cleared = max(now, incident.last_seen)
        incident.recovery_message, incident.recovery_reading = message, reading
        return self._recovery(incident, incident.cleared)

    def _recovery(self, incident: Incident, cleared: datetime) -> Alert:
        """Return the recovery alert of ``incident``, which cleared at ``cleared``; it says how long it lasted."""
        lasted = format_duration(cleared - incident.started)
        message = incident.recovery_message or f"Ended: {incident.message}"
        return self._alert(
            incident,
            recovered=True,
            time=cleared,
            message=f"{message.rstrip('.')}; it lasted {lasted}.",
            reading=incident.recovery_reading,
        )

    def get(self, kind: AlertKind, subject: str) -> Incident | None:
        """Return the open incident of ``kind`` about ``subject``, or None."""
        return self.incidents.get((kind, subject))

    def open_incidents(self) -> list[Incident]:
        """Return the open incidents, oldest first."""
        return sorted(self.incidents.values(), key=lambda incident: incident.started)

    def as_list(self) -> list[dict[str, Any]]:
        """Return the open incidents as JSON-safe dicts, to store."""
        return [incident.as_dict() for incident in self.open_incidents()]

    def restore(self, stored: Iterable[Mapping[str, Any]]) -> int:
        """Reopen stored incidents without alerting; unreadable ones are skipped. Returns how many were read."""
        restored = 0
        for data in stored:
            try:
                incident = Incident.from_dict(data)
            except KeyError, ValueError, TypeError:
                continue
            self.incidents[(incident.kind, incident.subject)] = incident
            restored += 1
        return restored

    def _observe_active(self, observation: Observation, now: datetime) -> list[Alert]:
        incident = self.incidents.get(observation.key)
        alerts: list[Alert] = []
        if incident is None:
            incident = Incident(
                incident_id=uuid.uuid4().hex,
                kind=observation.kind,
                subject=observation.subject,
                severity=observation.severity,
                message=observation.message,
                started=observation.time,
                last_seen=observation.time,
                sensor=observation.sensor,
                reading=observation.reading,
            )
            self.incidents[observation.key] = incident
            alerts.append(self._alert(incident, recovered=False, time=observation.time))
        else:
            incident.last_seen = max(incident.last_seen, observation.time)
            incident.cleared = None
            incident.reading = observation.reading or incident.reading
            if observation.severity.rank > incident.severity.rank:
                incident.severity = observation.severity
                incident.message = observation.message
                alerts.append(self._alert(incident, recovered=False, time=observation.time))
        if observation.momentary:
            # Nothing lasting to watch: the quiet period starts when the event was seen.
            incident.cleared = max(now, observation.time)
            incident.recovery_message = observation.recovery_message
            incident.recovery_reading = None
        return alerts

    def _observe_inactive(self, observation: Observation) -> None:
        incident = self.incidents.get(observation.key)
        if incident is None or incident.cleared is not None:
            return
        incident.cleared = max(observation.time, incident.last_seen)
        incident.recovery_message = observation.message
        incident.recovery_reading = observation.reading

    def _alert(
        self,
        incident: Incident,
        *,
        recovered: bool,
        time: datetime,
        message: str | None = None,
        reading: str | None = None,
    ) -> Alert:
        return Alert(
            kind=incident.kind,
            severity=incident.severity,
            recovered=recovered,
            entry_id=self.entry_id,
            server=self.server,
            sensor=incident.sensor,
            reading=reading if recovered else incident.reading,
            message=message or incident.message,
            time=time,
            started=incident.started,
            incident_id=incident.incident_id,
        )
