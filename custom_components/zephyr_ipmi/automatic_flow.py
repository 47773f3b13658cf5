"""Options flow steps of automatic fan control: the loop's numbers, a rule per fan zone, per-fan limits.

Reached from the options flow's menu ("Automatic fan control", offered when the BMC has fan control). Every
value is validated by the core (``ipmi/automatic/settings.py``); a refusal is shown on the field it concerns with its
translated message. Saving stores the settings in the entry's options (the entry reloads: fans handed back,
then the loop resumes when its switch is on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, override

import probatio
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .const import CONF_AUTOMATIC
from .ipmi.automatic import (
    AutomaticConfigError,
    CurveRule,
    FanOverride,
    QuietRule,
    make_curve_rule,
    make_fan_override,
    make_quiet_rule,
    make_settings,
)
from .ipmi.automatic.settings import Rule

if TYPE_CHECKING:
    from .automatic import ZephyrAutomaticCoordinator

RULE_NONE, RULE_QUIET, RULE_CURVE = "none", "quiet", "curve"
#: Which form field a refusal concerns (the rest are shown for the whole form).
FIELD_OF_ERROR: Final = {
    "no_sensors": "sensors",
    "handback_range": "handback",
    "handback_unknown": "handback",
    "curve_above_handback": "handback",
    "rpm_range": "quiet_rpm",
    "quiet_duty_below_floor": "quiet_duty",
    "quiet_duty_above_max": "quiet_duty",
    "quiet_duty_invalid": "quiet_duty",
    "hysteresis_range": "hysteresis",
    "min_change_interval_range": "min_change_interval",
    "lost_ticks_range": "lost_ticks",
    "interval_range": "interval",
}
FIELD_OF_FAN_ERROR: Final = {"fan_rpm_below_lower_critical": "min_rpm", "fan_max_below_min": "max_rpm"}
_PAIR = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*")


class _Number(NumberSelector):
    """A number box that shows its bounds but leaves checking them to the core, for a translated field error."""

    @override
    def __call__(self, data: Any) -> float:
        """Accept any number; the step validates it."""
        return float(probatio.Coerce(float)(data))


def _number(low: float, high: float, step: float, unit: str) -> NumberSelector:
    return _Number(
        NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement=unit)
    )


def parse_points(text: str) -> list[list[float]]:
    """Parse curve points written "30:25, 45:35" (°C:%) into ``[[30, 25], [45, 35]]``.

    Raises ``AutomaticConfigError("curve_point_invalid")`` for anything else.
    """
    points = []
    for part in [p for p in re.split(r"[,;\n]", text) if p.strip()]:
        match = _PAIR.fullmatch(part)
        if match is None:
            raise AutomaticConfigError("curve_point_invalid")
        points.append([float(match[1]), float(match[2])])
    return points


def format_points(points: list[list[float]]) -> str:
    """Write curve points as the form shows them: "30:25, 45:35"."""
    return ", ".join(f"{temperature:g}:{duty:g}" for temperature, duty in points)


class AutomaticOptionsFlowMixin(OptionsFlow):
    """The automatic fan control steps of the options flow (mixed into ``ZephyrOptionsFlow``)."""

    _automatic: dict[str, Any] | None = None
    _zones: list[str]
    _zone_pos: int = 0
    _fan: str | None = None

    @property
    def automatic_coordinator(self) -> ZephyrAutomaticCoordinator | None:
        """The entry's automatic fan control, or None (no fan control, or the entry is not loaded)."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return None
        runtime = getattr(self.config_entry, "runtime_data", None)
        automatic: ZephyrAutomaticCoordinator | None = getattr(runtime, "automatic", None)
        return automatic

    @property
    def _coordinator(self) -> ZephyrAutomaticCoordinator | None:
        return self.automatic_coordinator

    def _save_automatic(self, automatic: dict[str, Any]) -> ConfigFlowResult:
        """Save the automatic fan control settings, keeping every other option."""
        return self.async_create_entry(data={**self.config_entry.options, CONF_AUTOMATIC: automatic})

    async def async_step_automatic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Control interval, hysteresis, minimum time between changes, ticks before a lost-reading hand-back."""
        coordinator = self._coordinator
        if coordinator is None:
            return self.async_abort(reason="bmc_not_loaded")
        if self._automatic is None:
            self._automatic = coordinator.stored
            self._zones = list(coordinator.settings.zones)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        settings = coordinator.settings
        if user_input is not None:
            try:
                make_settings(
                    rules=(),
                    facts=coordinator.facts,
                    interval=float(user_input["interval"]),
                    hysteresis=float(user_input["hysteresis"]),
                    min_change_interval=float(user_input["min_change_interval"]),
                    lost_ticks=int(user_input["lost_ticks"]),
                )
            except AutomaticConfigError as err:
                errors[FIELD_OF_ERROR.get(err.key, "base")] = err.key
                placeholders = dict(err.placeholders)
            else:
                self._stored().update(
                    interval=float(user_input["interval"]),
                    hysteresis=float(user_input["hysteresis"]),
                    min_change_interval=float(user_input["min_change_interval"]),
                    lost_ticks=int(user_input["lost_ticks"]),
                    rules=[],
                )
                self._zone_pos = 0
                return await self.async_step_automatic_zone()
        else:
            user_input = {
                "interval": settings.interval,
                "hysteresis": settings.hysteresis,
                "min_change_interval": settings.min_change_interval,
                "lost_ticks": settings.lost_ticks,
            }
        schema = probatio.Schema(
            {
                probatio.Required("interval"): _number(10, 120, 1, "s"),
                probatio.Required("hysteresis"): _number(1, 15, 0.5, "°C"),
                probatio.Required("min_change_interval"): _number(0, 3600, 1, "s"),
                probatio.Required("lost_ticks"): _number(1, 10, 1, "ticks"),
            }
        )
        return self.async_show_form(
            step_id="automatic",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _zone_defaults(self, zone: str) -> dict[str, Any]:
        """Prefill a zone's form from the rule it has now."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic
        rule: Rule | None = next(
            (r for r in coordinator.settings.rules if r.zone == zone and not (isinstance(r, CurveRule) and r.fan)), None
        )
        defaults: dict[str, Any] = {"rule": RULE_NONE, "quiet_temperature": 50, "quiet_rpm": 2050, "quiet_duty": 24}
        if isinstance(rule, QuietRule):
            defaults.update(
                rule=RULE_QUIET,
                quiet_temperature=rule.temperature,
                quiet_rpm=rule.trigger_rpm,
                quiet_duty=rule.duty,
            )
        elif isinstance(rule, CurveRule):
            defaults.update(rule=RULE_CURVE, points=format_points(rule.curve.as_list()), handback=rule.handback)
        if rule is not None:
            defaults["sensors"] = [key for key in rule.sensors if "." not in key]
            defaults["entities"] = [key for key in rule.sensors if "." in key]
        return defaults

    def _zone_schema(self) -> probatio.Schema:
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic
        rules = [RULE_NONE, RULE_CURVE]
        if coordinator.capabilities.vendor == "supermicro":
            rules.insert(1, RULE_QUIET)
        temperatures = [
            SelectOptionDict(value=key, label=coordinator.sensors[key].name) for key in coordinator.facts.temperatures
        ]
        return probatio.Schema(
            {
                probatio.Required("rule"): SelectSelector(
                    SelectSelectorConfig(options=rules, translation_key="automatic_rule", mode=SelectSelectorMode.LIST)
                ),
                probatio.Optional("sensors"): SelectSelector(SelectSelectorConfig(options=temperatures, multiple=True)),
                probatio.Optional("entities"): EntitySelector(
                    EntitySelectorConfig(domain="sensor", device_class="temperature", multiple=True)
                ),
                probatio.Optional("points"): TextSelector(),
                probatio.Optional("handback"): _number(20, 125, 1, "°C"),
                probatio.Optional("quiet_temperature"): _number(20, 100, 1, "°C"),
                probatio.Optional("quiet_rpm"): _number(0, 30000, 50, "rpm"),
                probatio.Optional("quiet_duty"): _number(coordinator.capabilities.duty_floor, 100, 1, "%"),
            }
        )

    async def async_step_automatic_zone(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the rule of one fan zone (once per zone): none, the quiet rule (Supermicro) or a curve."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic
        zone = self._zones[self._zone_pos]
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"zone": coordinator.capabilities.zone(zone).name}  # type: ignore[union-attr]
        if user_input is not None:
            try:
                rule = self._zone_rule(zone, user_input)
            except AutomaticConfigError as err:
                field = "points" if err.key.startswith("curve_") and err.key != "curve_above_handback" else None
                errors[field or FIELD_OF_ERROR.get(err.key, "base")] = err.key
                placeholders.update(err.placeholders)
            else:
                if rule is not None:
                    self._stored()["rules"].append(rule.as_dict())
                self._zone_pos += 1
                if self._zone_pos < len(self._zones):
                    return await self.async_step_automatic_zone()
                return await self.async_step_automatic_fans()
        else:
            user_input = self._zone_defaults(zone)
        return self.async_show_form(
            step_id="automatic_zone",
            data_schema=self.add_suggested_values_to_schema(self._zone_schema(), user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _zone_rule(self, zone: str, user_input: Mapping[str, Any]) -> Rule | None:
        """Build and validate a zone's rule from its form (``AutomaticConfigError`` when refused)."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic
        kind = user_input["rule"]
        if kind == RULE_NONE:
            return None
        sensors = [*user_input.get("sensors", []), *user_input.get("entities", [])]
        if kind == RULE_QUIET:
            duty = float(user_input.get("quiet_duty", 24))
            if not duty.is_integer():
                raise AutomaticConfigError("quiet_duty_invalid")
            return make_quiet_rule(
                zone=zone,
                sensors=sensors,
                temperature=float(user_input.get("quiet_temperature", 50)),
                trigger_rpm=float(user_input.get("quiet_rpm", 2050)),
                duty=int(duty),
                facts=coordinator.facts,
            )
        handback = user_input.get("handback")
        return make_curve_rule(
            zone=zone,
            sensors=sensors,
            points=parse_points(str(user_input.get("points", ""))),
            handback=None if handback is None else float(handback),
            facts=coordinator.facts,
        )

    async def async_step_automatic_fans(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick a fan to set its speed limits and own curve; submit without one to save."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic
        if user_input is not None:
            if fan := user_input.get("fan"):
                self._fan = fan
                return await self.async_step_automatic_fan()
            return self._save_automatic({**self._stored(), "enabled": coordinator.enabled})
        fans = [SelectOptionDict(value=key, label=coordinator.sensors[key].name) for key in coordinator.facts.fan_zone]
        schema = probatio.Schema({probatio.Optional("fan"): SelectSelector(SelectSelectorConfig(options=fans))})
        return self.async_show_form(step_id="automatic_fans", data_schema=schema)

    def _stored(self) -> dict[str, Any]:
        """Return the settings being edited (set by the first automatic step)."""
        assert self._automatic is not None  # noqa: S101 - set by async_step_automatic
        return self._automatic

    def _overrides(self) -> list[dict[str, Any]]:
        overrides: list[dict[str, Any]] = self._stored().setdefault("overrides", [])
        return overrides

    async def async_step_automatic_fan(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One fan: minimum and maximum speed (rpm), and optionally its own curve (a rule for its zone)."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic_fans
        fan = self._fan
        assert fan is not None  # noqa: S101 - chosen in async_step_automatic_fans
        current: dict[str, Any] = next((o for o in self._overrides() if o.get("fan") == fan), {"fan": fan})
        errors: dict[str, str] = {}
        placeholders = {"fan": coordinator.sensors[fan].name}
        if user_input is not None:
            try:
                entry = self._fan_override(fan, user_input)
            except AutomaticConfigError as err:
                field = "points" if err.key.startswith("curve_") and err.key != "curve_above_handback" else None
                field = field or FIELD_OF_FAN_ERROR.get(err.key)
                errors[field or FIELD_OF_ERROR.get(err.key, "base")] = err.key
                placeholders.update(err.placeholders)
            else:
                self._stored()["overrides"] = [o for o in self._overrides() if o.get("fan") != fan] + [entry]
                self._fan = None
                return await self.async_step_automatic_fans()
        else:
            user_input = {
                key: value
                for key, value in {
                    "min_rpm": current.get("min_rpm"),
                    "max_rpm": current.get("max_rpm"),
                    "sensors": [k for k in current.get("sensors", []) if "." not in k],
                    "entities": [k for k in current.get("sensors", []) if "." in k],
                    "points": format_points(current["points"]) if current.get("points") else None,
                    "handback": current.get("handback"),
                }.items()
                if value not in (None, [])
            }
        temperatures = [
            SelectOptionDict(value=key, label=coordinator.sensors[key].name) for key in coordinator.facts.temperatures
        ]
        schema = probatio.Schema(
            {
                probatio.Optional("min_rpm"): _number(0, 30000, 50, "rpm"),
                probatio.Optional("max_rpm"): _number(0, 30000, 50, "rpm"),
                probatio.Optional("sensors"): SelectSelector(SelectSelectorConfig(options=temperatures, multiple=True)),
                probatio.Optional("entities"): EntitySelector(
                    EntitySelectorConfig(domain="sensor", device_class="temperature", multiple=True)
                ),
                probatio.Optional("points"): TextSelector(),
                probatio.Optional("handback"): _number(20, 125, 1, "°C"),
            }
        )
        return self.async_show_form(
            step_id="automatic_fan",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _fan_override(self, fan: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one fan's form and return its stored form (``AutomaticConfigError`` when refused)."""
        coordinator = self._coordinator
        assert coordinator is not None  # noqa: S101 - reached through async_step_automatic_fans
        min_rpm = float(user_input["min_rpm"]) if user_input.get("min_rpm") else None
        max_rpm = float(user_input["max_rpm"]) if user_input.get("max_rpm") else None
        override: FanOverride = make_fan_override(fan=fan, min_rpm=min_rpm, max_rpm=max_rpm, facts=coordinator.facts)
        entry: dict[str, Any] = {"fan": fan, "min_rpm": override.min_rpm, "max_rpm": override.max_rpm}
        points_text = str(user_input.get("points") or "").strip()
        if points_text:
            handback = user_input.get("handback")
            rule = make_curve_rule(
                zone=override.zone,
                sensors=[*user_input.get("sensors", []), *user_input.get("entities", [])],
                points=parse_points(points_text),
                handback=None if handback is None else float(handback),
                facts=coordinator.facts,
                fan=fan,
            )
            entry.update(sensors=list(rule.sensors), points=rule.curve.as_list(), handback=rule.handback)
        return entry
