"""Typed models of what a BMC reports: identity, SDR sensors, sensor readings and a poll's snapshot.

``Conversion`` lives in ``conversion`` (re-exported here): models depend on it, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .conversion import Conversion

__all__ = [
    "BmcIdentity",
    "BmcSnapshot",
    "Conversion",
    "PowerReading",
    "SdrSensor",
    "SensorKind",
    "SensorReading",
    "SensorStatus",
]


class SensorKind(StrEnum):
    """What a sensor measures, derived from its SDR sensor type and base unit (IPMI 2.0 Tables 42-3, 43-15)."""

    TEMPERATURE = "temperature"
    FAN = "fan"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER = "power"
    ENERGY = "energy"
    OTHER = "other"
    DISCRETE = "discrete"


class SensorStatus(StrEnum):
    """Threshold status of a sensor reading (Get Sensor Reading byte 4, IPMI 2.0 §35.14).

    The worst crossed threshold wins: ``non_recoverable`` > ``critical`` > ``non_critical`` > ``ok``.
    """

    OK = "ok"
    NON_CRITICAL = "non_critical"
    CRITICAL = "critical"
    NON_RECOVERABLE = "non_recoverable"


@dataclass(frozen=True, kw_only=True, slots=True)
class SdrSensor:
    """One readable sensor described by the SDR (Full or Compact Sensor Record, IPMI 2.0 §43.1-43.2).

    ``key`` is stable across restarts and renames: ``"{owner:02x}_{lun}_{number}"`` (sensor owner id,
    owner LUN, sensor number), which is unique per sensor on a BMC. ``unit`` is the Home Assistant
    style unit symbol ("°C", "rpm", "V", "A", "W", "%") or None. ``thresholds`` maps the readable
    thresholds ("lnr", "lcr", "lnc", "unc", "ucr", "unr") to values in ``unit``. ``state_mask`` is, for
    discrete sensors, the mask of state offsets (bit n = offset n) the record says the sensor can
    assert, deassert or read (Table 43-1 bytes 15-20); 0 when the record declares none.
    ``settable`` names the thresholds Set Sensor Thresholds may change (SDR settable threshold mask,
    Table 43-1 byte 20).
    """

    key: str
    record_id: int
    name: str
    owner: int
    lun: int
    number: int
    entity_id: int
    entity_instance: int
    sensor_type: int
    reading_type: int
    kind: SensorKind
    unit: str | None
    conversion: Conversion | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    state_mask: int = 0
    settable: tuple[str, ...] = ()

    @property
    def is_threshold(self) -> bool:
        """True for threshold-based sensors (event/reading type code 0x01), which carry a numeric value."""
        return self.reading_type == 0x01 and self.conversion is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class SensorReading:
    """One decoded Get Sensor Reading answer (IPMI 2.0 §35.14).

    ``value`` is in the sensor's unit (°C, rpm, V, A, W) or None when the BMC reports "reading
    unavailable" / "scanning disabled" (e.g. the host is powered off). ``states`` is the bit mask of
    asserted discrete states (offsets 0-14) for discrete sensors, 0 otherwise.
    """

    value: float | None
    status: SensorStatus | None
    available: bool
    states: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PowerReading:
    """DCMI Get Power Reading answer, system power statistics mode (DCMI 1.5 §6.6.1), in W."""

    current: float
    minimum: float
    maximum: float
    average: float


@dataclass(frozen=True, kw_only=True, slots=True)
class BmcIdentity:
    """Who a BMC is: Get Device ID, System GUID, FRU product/board info and, lacking a GUID, its MAC.

    Sources: Get Device ID (IPMI 2.0 §20.1), Get System GUID (§22.14), FRU 0, Get LAN Configuration
    Parameters parameter 5 (§23.2).
    ``guid`` is None when the BMC has none or reports a known placeholder shared by many boards (then kept
    in ``placeholder_guid``). ``serial`` and ``model`` are None when the FRU has none or a placeholder text.
    ``mac`` ("aa:bb:cc:dd:ee:ff") is only read when there is no usable GUID. ``controller_name`` is the
    name in the SDR's Management Controller Device Locator record, read only when the FRU names no model.
    """

    manufacturer_id: int
    manufacturer: str
    product_id: int
    device_id: int
    device_revision: int
    firmware: str
    ipmi_version: str
    guid: str | None = None
    model: str | None = None
    serial: str | None = None
    mac: str | None = None
    controller_name: str | None = None
    placeholder_guid: str | None = None

    @property
    def unique_id(self) -> str:
        """Stable identity for de-duplication: the system GUID, else manufacturer, product and serial.

        Without a serial number: manufacturer, product and MAC address ("…-unknown" when none is known).
        """
        if self.guid:
            return self.guid
        if self.serial:
            return f"{self.manufacturer_id}-{self.product_id}-{self.serial}"
        if self.mac:
            return f"{self.manufacturer_id}-{self.product_id}-{self.mac}"
        return f"{self.manufacturer_id}-{self.product_id}-unknown"

    @property
    def name(self) -> str:
        """A name from what the BMC reports: "Supermicro X11SSH-F" (manufacturer and FRU model).

        Without a model: the controller's own name from the SDR, else "Supermicro product 0x0892".
        """
        label = self.model or self.controller_name or f"product 0x{self.product_id:04X}"
        return f"{self.manufacturer} {label}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BmcSnapshot:
    """The result of one poll: every sensor reading by ``SdrSensor.key``, chassis power and DCMI power.

    ``power_on`` is None when Get Chassis Status failed; ``power`` is None when DCMI is unsupported.
    ``errors`` maps sensor keys that could not be read this poll to a short reason.
    """

    readings: dict[str, SensorReading]
    power_on: bool | None
    power: PowerReading | None
    errors: dict[str, str] = field(default_factory=dict)
