"""Automatic fan control facts of one BMC, from its capabilities and SDR: zones, fans, floor, thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import SdrSensor, SensorKind
from ..vendors import Capabilities
from .settings import BmcFacts, default_rules


def automatic_zones(caps: Capabilities) -> tuple[str, ...]:
    """Zone keys automatic control drives: every zone, except Dell's single fans when it has all fans."""
    keys = [zone.key for zone in caps.zones]
    if "all" in keys:
        return ("all",)
    return tuple(keys)


def bmc_facts(caps: Capabilities, sensors: Mapping[str, SdrSensor]) -> BmcFacts:
    """Return what validation needs: floor (%), zones, the zone of each fan sensor, thresholds, temperatures."""
    zones = automatic_zones(caps)
    by_name = {sensor.name: key for key, sensor in sensors.items() if sensor.kind is SensorKind.FAN}
    fan_zone = {
        by_name[name]: zone.key for zone in caps.zones if zone.key in zones for name in zone.fans if name in by_name
    }
    return BmcFacts(
        floor=caps.duty_floor,
        zones=zones,
        fan_zone=fan_zone,
        thresholds={
            key: dict(sensor.thresholds)
            for key, sensor in sensors.items()
            if sensor.kind in (SensorKind.TEMPERATURE, SensorKind.FAN)
        },
        temperatures=tuple(
            key for key, sensor in sensors.items() if sensor.kind is SensorKind.TEMPERATURE and sensor.is_threshold
        ),
    )


def with_defaults(stored: Mapping[str, Any], caps: Capabilities, sensors: Mapping[str, SdrSensor]) -> dict[str, Any]:
    """Return stored settings with the default rules (the Supermicro quiet rule) when the owner set none."""
    data = dict(stored)
    if "rules" not in data:
        rules = default_rules(caps.vendor, automatic_zones(caps), list(sensors.values()), floor=caps.duty_floor)
        data["rules"] = [rule.as_dict() for rule in rules]
    return data
