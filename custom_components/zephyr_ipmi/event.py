"""Event entity of Zephyr IPMI: every alert of a BMC, its type the alert kind (chassis intrusion, PSU failure...)."""

from __future__ import annotations

from typing import override

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alerts import Alert, AlertKind
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator
from .entity import ZephyrEntity
from .health import HealthMonitor

PARALLEL_UPDATES = 0

EVENT_TYPES = [kind.value for kind in AlertKind if kind is not AlertKind.TEST]
"""Event types of the alert entity: every alert kind a BMC can report."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZephyrConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the alert event entity of the BMC."""
    if (health := entry.runtime_data.health) is not None:
        async_add_entities([ZephyrAlertEvent(entry.runtime_data.coordinator, health)])


def alert_attributes(alert: Alert) -> dict[str, str | bool | None]:
    """Return an alert's event attributes: severity, recovered, sensor, reading, message (the SEL text), times."""
    return {
        "severity": alert.severity.value,
        "recovered": alert.recovered,
        "sensor": alert.sensor,
        "reading": alert.reading,
        "message": alert.message,
        "time": alert.time.isoformat(),
        "started": None if alert.started is None else alert.started.isoformat(),
        "incident_id": alert.incident_id,
    }


class ZephyrAlertEvent(ZephyrEntity, EventEntity):
    """The BMC's alerts: fires once when an incident starts and once when it has ended (``recovered``)."""

    _attr_translation_key = "alerts"
    _attr_event_types = EVENT_TYPES

    def __init__(self, coordinator: ZephyrCoordinator, health: HealthMonitor) -> None:
        """Attach the entity to the BMC and its health monitor."""
        super().__init__(coordinator, "alerts")
        self._health = health

    @property
    @override
    def available(self) -> bool:
        """Always available: "BMC unreachable" is one of its events."""
        return True

    @override
    async def async_added_to_hass(self) -> None:
        """Receive the BMC's alerts."""
        await super().async_added_to_hass()
        self.async_on_remove(self._health.async_add_listener(self._async_handle_alert))

    @callback
    def _async_handle_alert(self, alert: Alert) -> None:
        """Fire the alert as this entity's event."""
        self._trigger_event(alert.kind.value, alert_attributes(alert))
        self.async_write_ha_state()
