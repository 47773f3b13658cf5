"""Entities of automatic fan control: the switch, what it does per zone, and the settings owners tune often.

The *Automatic fan control* switch (off by default, remembered in the entry's options), a state sensor
(who drives the fans and why), per fan zone the active rule and the target duty, and ``number`` entities
(entity category config) for the hysteresis, the quiet rule's values, curve points and per-fan speed limits.
Changing a number validates the whole settings (a refused value raises a translated error, nothing is saved)
and takes effect at the next control tick without a reload.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import PERCENTAGE, REVOLUTIONS_PER_MINUTE, STATE_UNAVAILABLE, EntityCategory, UnitOfTemperature
from homeassistant.exceptions import ServiceValidationError

from .automatic import STATE_ERROR, STATE_HOLDING, STATE_LOST, STATE_OFF, ZephyrAutomaticCoordinator
from .const import DOMAIN
from .coordinator import ZephyrConfigEntry
from .entity import ZephyrDescribedEntity
from .helpers import async_actor, bmc_errors
from .ipmi.automatic import ActiveRule, AutomaticConfigError, Reason
from .ipmi.automatic.curve import MAX_POINTS

#: States of the *Automatic fan control* state sensor.
STATE_OPTIONS = [STATE_OFF, STATE_HOLDING, STATE_LOST, STATE_ERROR, *(reason.value for reason in Reason)]


class ZephyrAutomaticEntity(ZephyrDescribedEntity[ZephyrAutomaticCoordinator]):
    """An entity of automatic fan control; available while Zephyr may control the BMC's fans."""

    @property
    @override
    def available(self) -> bool:
        """Available while the BMC offers fan control Zephyr may use."""
        return (
            super().available
            and self.coordinator.control.fan_control
            and self.coordinator.data.state != STATE_UNAVAILABLE
        )


def zone_name(automatic: ZephyrAutomaticCoordinator, zone: str) -> str:
    """Return the zone's name as the BMC's command set calls it ("CPU zone", "All fans", ...)."""
    found = automatic.capabilities.zone(zone)
    return found.name if found is not None else zone


# -- switch --------------------------------------------------------------------------------------------------

AUTOMATIC_SWITCH = SwitchEntityDescription(key="automatic_fan_control", translation_key="automatic_fan_control")


class ZephyrAutomaticSwitch(ZephyrAutomaticEntity, SwitchEntity):
    """On: Zephyr drives the fans by its rules. Off (the default): the BMC does; turning it off hands back at once."""

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the owner turned automatic fan control on."""
        return self.coordinator.enabled

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start the control loop; the first tick runs at once."""
        await async_actor(self.hass, self.coordinator.config_entry, self._context)
        await self.coordinator.async_set_enabled(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the control loop and hand the fans back to the BMC at once."""
        await async_actor(self.hass, self.coordinator.config_entry, self._context)
        async with bmc_errors(self.coordinator.control):
            await self.coordinator.async_set_enabled(False)


# -- sensors -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ZephyrAutomaticSensorDescription(SensorEntityDescription):
    """Describes a sensor of automatic fan control; ``value_fn`` reads it from the coordinator."""

    value_fn: Callable[[ZephyrAutomaticCoordinator], str | int | None]


def _zone_duty(zone: str) -> Callable[[ZephyrAutomaticCoordinator], int | None]:
    def value(automatic: ZephyrAutomaticCoordinator) -> int | None:
        decision = automatic.data.decision
        status = decision.zones.get(zone) if decision is not None and automatic.data.state == STATE_HOLDING else None
        return None if status is None else status.duty

    return value


def _zone_rule(zone: str) -> Callable[[ZephyrAutomaticCoordinator], str | None]:
    def value(automatic: ZephyrAutomaticCoordinator) -> str | None:
        decision = automatic.data.decision
        if automatic.data.state != STATE_HOLDING or decision is None or zone not in decision.zones:
            return ActiveRule.BMC.value
        return decision.zones[zone].rule.value

    return value


def automatic_sensor_descriptions(automatic: ZephyrAutomaticCoordinator) -> list[ZephyrAutomaticSensorDescription]:
    """Describe the state sensor, and per zone the active rule and the target duty."""
    descriptions = [
        ZephyrAutomaticSensorDescription(
            key="automatic_state",
            translation_key="automatic_state",
            device_class=SensorDeviceClass.ENUM,
            options=STATE_OPTIONS,
            value_fn=lambda automatic: automatic.data.state,
        )
    ]
    for zone in automatic.settings.zones:
        descriptions += [
            ZephyrAutomaticSensorDescription(
                key=f"automatic_rule_{zone}",
                translation_key="automatic_rule",
                translation_placeholders={"zone": zone_name(automatic, zone)},
                device_class=SensorDeviceClass.ENUM,
                options=[rule.value for rule in ActiveRule],
                value_fn=_zone_rule(zone),
            ),
            ZephyrAutomaticSensorDescription(
                key=f"automatic_duty_{zone}",
                translation_key="automatic_duty",
                translation_placeholders={"zone": zone_name(automatic, zone)},
                native_unit_of_measurement=PERCENTAGE,
                state_class=SensorStateClass.MEASUREMENT,
                value_fn=_zone_duty(zone),
            ),
        ]
    return descriptions


class ZephyrAutomaticSensor(ZephyrAutomaticEntity, SensorEntity):
    """What automatic fan control does now."""

    entity_description: ZephyrAutomaticSensorDescription

    @property
    @override
    def native_value(self) -> str | int | None:
        """Return the value from the last tick."""
        return self.entity_description.value_fn(self.coordinator)


# -- numbers -------------------------------------------------------------------------------------------------

type Getter = Callable[[dict[str, Any]], float | None]
type Setter = Callable[[dict[str, Any], float], None]


@dataclass(frozen=True, kw_only=True)
class ZephyrAutomaticNumberDescription(NumberEntityDescription):
    """Describes one setting: how to read it from the stored settings and how to change a copy of them."""

    get_fn: Getter
    set_fn: Setter


def _rule(data: dict[str, Any], index: int) -> dict[str, Any]:
    rule: dict[str, Any] = data["rules"][index]
    return rule


def _override(data: dict[str, Any], fan: str) -> dict[str, Any]:
    overrides: list[dict[str, Any]] = data.setdefault("overrides", [])
    for entry in overrides:
        if entry.get("fan") == fan:
            return entry
    entry = {"fan": fan, "min_rpm": None, "max_rpm": None}
    overrides.append(entry)
    return entry


def _rpm_limit(fan: str, name: str) -> tuple[Getter, Setter]:
    def get(data: dict[str, Any]) -> float | None:
        for entry in data.get("overrides", []):
            if entry.get("fan") == fan:
                return float(entry.get(name) or 0)
        return 0.0

    def set_value(data: dict[str, Any], value: float) -> None:
        _override(data, fan)[name] = value or None

    return get, set_value


def _rule_value(index: int, name: str, default: float) -> tuple[Getter, Setter]:
    def get(data: dict[str, Any]) -> float | None:
        return float(_rule(data, index).get(name, default))

    def set_value(data: dict[str, Any], value: float) -> None:
        _rule(data, index)[name] = int(value) if name == "duty" else value

    return get, set_value


def _point(index: int, point: int, part: int) -> tuple[Getter, Setter]:
    def get(data: dict[str, Any]) -> float | None:
        points = _rule(data, index)["points"]
        return float(points[point][part]) if point < len(points) else None

    def set_value(data: dict[str, Any], value: float) -> None:
        _rule(data, index)["points"][point][part] = int(value) if part else value

    return get, set_value


def automatic_number_descriptions(automatic: ZephyrAutomaticCoordinator) -> list[ZephyrAutomaticNumberDescription]:
    """Numbers for the hysteresis, each quiet rule, each curve point and each fan's speed limits."""
    floor = automatic.capabilities.duty_floor
    get_h: Getter = lambda data: float(data.get("hysteresis", automatic.settings.hysteresis))  # noqa: E731

    def set_h(data: dict[str, Any], value: float) -> None:
        data["hysteresis"] = value

    out = [
        ZephyrAutomaticNumberDescription(
            key="automatic_hysteresis",
            translation_key="automatic_hysteresis",
            entity_category=EntityCategory.CONFIG,
            device_class=NumberDeviceClass.TEMPERATURE,
            native_unit_of_measurement=UnitOfTemperature.CELSIUS,
            native_min_value=1,
            native_max_value=15,
            native_step=0.5,
            mode=NumberMode.BOX,
            get_fn=get_h,
            set_fn=set_h,
        )
    ]
    for index, rule in enumerate(automatic.stored.get("rules", [])):
        zone = rule.get("zone", "")
        placeholders = {"zone": zone_name(automatic, zone)}
        if rule.get("type") == "quiet":
            for name, unit, low, high, step, default, device_class in (
                ("temperature", UnitOfTemperature.CELSIUS, 20, 100, 1, 50, NumberDeviceClass.TEMPERATURE),
                ("rpm", REVOLUTIONS_PER_MINUTE, 0, 30000, 50, 2050, None),
                ("duty", PERCENTAGE, floor, 100, 1, 24, None),
            ):
                get, set_value = _rule_value(index, name, default)
                out.append(
                    ZephyrAutomaticNumberDescription(
                        key=f"automatic_quiet_{name}_{zone}",
                        translation_key=f"automatic_quiet_{name}",
                        translation_placeholders=placeholders,
                        entity_category=EntityCategory.CONFIG,
                        device_class=device_class,
                        native_unit_of_measurement=unit,
                        native_min_value=low,
                        native_max_value=high,
                        native_step=step,
                        mode=NumberMode.BOX,
                        get_fn=get,
                        set_fn=set_value,
                    )
                )
        elif rule.get("type") == "curve":
            for point in range(min(len(rule.get("points", [])), MAX_POINTS)):
                for part, name, unit, low, high, step, device_class in (
                    (0, "temperature", UnitOfTemperature.CELSIUS, 0, 125, 1, NumberDeviceClass.TEMPERATURE),
                    (1, "duty", PERCENTAGE, floor, 100, 1, None),
                ):
                    get, set_value = _point(index, point, part)
                    out.append(
                        ZephyrAutomaticNumberDescription(
                            key=f"automatic_curve_{zone}_{point + 1}_{name}",
                            translation_key=f"automatic_curve_{name}",
                            translation_placeholders={**placeholders, "point": str(point + 1)},
                            entity_category=EntityCategory.CONFIG,
                            device_class=device_class,
                            native_unit_of_measurement=unit,
                            native_min_value=low,
                            native_max_value=high,
                            native_step=step,
                            mode=NumberMode.BOX,
                            get_fn=get,
                            set_fn=set_value,
                        )
                    )
    for fan in automatic.facts.fan_zone:
        for name in ("min_rpm", "max_rpm"):
            get, set_value = _rpm_limit(fan, name)
            out.append(
                ZephyrAutomaticNumberDescription(
                    key=f"automatic_{name}_{fan}",
                    translation_key=f"automatic_{name}",
                    translation_placeholders={"fan": automatic.sensors[fan].name},
                    entity_category=EntityCategory.CONFIG,
                    entity_registry_enabled_default=False,
                    native_unit_of_measurement=REVOLUTIONS_PER_MINUTE,
                    native_min_value=0,
                    native_max_value=30000,
                    native_step=50,
                    mode=NumberMode.BOX,
                    get_fn=get,
                    set_fn=set_value,
                )
            )
    return out


class ZephyrAutomaticNumber(ZephyrAutomaticEntity, NumberEntity):
    """One setting of automatic fan control, validated with all the others before it is saved."""

    entity_description: ZephyrAutomaticNumberDescription

    @property
    @override
    def native_value(self) -> float | None:
        """Return the stored value."""
        return self.entity_description.get_fn(self.coordinator.stored)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Validate the settings with the new value, save them and use them from the next tick on."""
        await async_actor(self.hass, self.coordinator.config_entry, self._context)
        data = copy.deepcopy(self.coordinator.stored)
        self.entity_description.set_fn(data, value)
        try:
            await self.coordinator.async_apply(data)
        except AutomaticConfigError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.key, translation_placeholders=err.placeholders
            ) from err
        self.async_write_ha_state()


def automatic_entities(entry: ZephyrConfigEntry, platform: str) -> list[Any]:
    """Return the automatic fan control entities of ``platform`` ("switch", "sensor", "number") for ``entry``."""
    automatic = entry.runtime_data.automatic
    if automatic is None:
        return []
    if platform == "switch":
        return [ZephyrAutomaticSwitch(entry, automatic, AUTOMATIC_SWITCH)]
    if platform == "sensor":
        return [ZephyrAutomaticSensor(entry, automatic, d) for d in automatic_sensor_descriptions(automatic)]
    return [ZephyrAutomaticNumber(entry, automatic, d) for d in automatic_number_descriptions(automatic)]
