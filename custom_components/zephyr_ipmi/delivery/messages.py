"""Message templates: an alert becomes a title, a sentence and labelled facts that every channel lays out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from homeassistant.util import dt as dt_util

from ..alerts import Alert, format_duration

KIND_NAMES: Final = {
    "bmc_unreachable": "BMC unreachable",
    "chassis_intrusion": "Chassis intrusion",
    "psu_failure": "Power supply failure",
    "psu_predictive_failure": "Power supply predictive failure",
    "psu_ac_lost": "Power supply AC lost",
    "psu_redundancy_lost": "Power supply redundancy lost",
    "memory_correctable_ecc": "Correctable memory ECC errors",
    "memory_uncorrectable_ecc": "Uncorrectable memory ECC error",
    "memory_logging_limit": "Memory error logging limit reached",
    "account_lockout": "BMC account locked out",
    "failed_logins": "Repeated failed BMC logins",
    "threshold_crossed": "Sensor threshold crossed",
    "fan_failed": "Fan failed",
    "fan_control_lost": "Fan control lost",
    "sel_nearly_full": "Event log (SEL) nearly full",
    "test": "Test alert",
}
SEVERITY_NAMES: Final = {"info": "Info", "warning": "Warning", "critical": "Critical"}
SEVERITY_ICONS: Final = {"info": "🔵", "warning": "🟠", "critical": "🔴"}
RECOVERED_ICON: Final = "✅"

TITLE_TEMPLATE: Final = "{icon} {server}: {kind}"
RECOVERED_TITLE_TEMPLATE: Final = "{icon} {server}: {kind} recovered"
RECOVERED_TEXT_TEMPLATE: Final = "{message} The incident lasted {duration}."
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S %Z"


def kind_name(kind: str) -> str:
    """Return the readable name of an alert kind; an unknown kind is shown as its words."""
    return KIND_NAMES.get(kind) or kind.replace("_", " ").capitalize()


def format_time(time: datetime) -> str:
    """Return ``time`` in Home Assistant's time zone, e.g. "2026-12-03 14:05:12 CET"."""
    return dt_util.as_local(time).strftime(TIME_FORMAT)


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertMessage:
    """An alert rendered for people: ``title``, ``text`` and the facts as ``(label, value)`` pairs.

    ``severity`` ("info", "warning", "critical") and ``recovered`` let a channel colour the message.
    """

    title: str
    text: str
    facts: tuple[tuple[str, str], ...]
    severity: str
    recovered: bool
    time: datetime

    @property
    def body(self) -> str:
        """Return the text and the facts as plain lines, for channels without layout (e-mail, notify)."""
        lines = [self.text] if self.text else []
        lines.extend(f"{label}: {value}" for label, value in self.facts)
        return "\n".join(lines)


def render(alert: Alert) -> AlertMessage:
    """Render ``alert`` through the templates; a recovery says how long the incident lasted."""
    kind = kind_name(alert.kind)
    text = alert.message
    facts: list[tuple[str, str]] = [("Server", alert.server), ("Severity", SEVERITY_NAMES[alert.severity])]
    if alert.sensor:
        facts.append(("Sensor", alert.sensor))
    if alert.reading:
        facts.append(("Reading", alert.reading))
    facts.append(("Time", format_time(alert.time)))
    if alert.recovered:
        title = RECOVERED_TITLE_TEMPLATE.format(icon=RECOVERED_ICON, server=alert.server, kind=kind)
        if alert.duration is not None:
            duration = format_duration(alert.duration)
            if duration not in text:  # the health alerts' own sentence may say it already
                text = RECOVERED_TEXT_TEMPLATE.format(message=text, duration=duration).strip()
            facts.append(("Lasted", duration))
    else:
        title = TITLE_TEMPLATE.format(icon=SEVERITY_ICONS[alert.severity], server=alert.server, kind=kind)
    return AlertMessage(
        title=title,
        text=text,
        facts=tuple(facts),
        severity=alert.severity,
        recovered=alert.recovered,
        time=alert.time,
    )
