"""Automatic fan control of one BMC on the Home Assistant side: the control loop, its settings and tuning.

The decisions are the core's (``ipmi/automatic``): this module runs ``ControlLoop.tick`` in the executor every
control interval (an option, 10-120 s; independent of the monitoring poll), feeds it the few sensors the
rules need (``BmcClient.read``) plus temperatures of other Home Assistant entities, and sends its writes
through the control coordinator (``fan_control.py``: the write gate, the audit trail, the holding state that
survives a crash). The owner's settings live in the entry's options under ``automatic`` (the options flow
and the ``number`` entities change them without a reload); the switch turns the loop on and off.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, override

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import CONF_AUTOMATIC, DOMAIN, LOGGER
from .coordinator import ZephyrConfigEntry
from .fan_control import ZephyrControlCoordinator
from .ipmi import IpmiError, SdrSensor
from .ipmi.automatic import (
    Action,
    AutomaticConfigError,
    AutomaticSettings,
    ControlLoop,
    Decision,
    TemperatureInput,
    TickReport,
    TuningResult,
    parse_settings,
    tune_fan_thresholds,
)
from .ipmi.automatic.bmc import bmc_facts, with_defaults
from .ipmi.automatic.reader import BmcReader
from .ipmi.control import FanController

#: Value of the *Automatic fan control* state sensor when the switch is off, when Zephyr drives the fans,
#: and when the control layer gave up because the BMC keeps taking the fans back.
STATE_OFF: Final = "off"
STATE_HOLDING: Final = "holding"
STATE_LOST: Final = "lost"
STATE_ERROR: Final = "error"
"""A tick failed on an unexpected error: the fans were handed back, the next tick starts over."""
ISSUE_PULSING: Final = "fan_pulsing"
#: Temperature sensor states that are numbers but not readings.
_NOT_READINGS: Final = frozenset({STATE_UNAVAILABLE, STATE_UNKNOWN, ""})
ENTITY_STALE_AFTER: Final = timedelta(minutes=15)
"""A Home Assistant temperature its integration has not reported for this long counts as unreadable."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AutomaticData:
    """What the automatic coordinator publishes after each tick.

    ``state``: ``STATE_OFF``, ``STATE_HOLDING``, ``STATE_LOST`` or a ``Reason`` value (why the BMC drives the
    fans now); ``decision``: the last tick's decision (None before one); ``pulsing``: keys of the fans seen
    pulsing.
    """

    enabled: bool
    state: str
    decision: Decision | None = None
    pulsing: frozenset[str] = field(default_factory=frozenset)


def stored_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of the stored automatic settings (``options["automatic"]``), empty when none."""
    stored = options.get(CONF_AUTOMATIC)
    return dict(stored) if isinstance(stored, Mapping) else {}


def is_entity(key: str) -> bool:
    """Tell a Home Assistant entity id ("sensor.nas_disk") from a BMC sensor key (which has no dot)."""
    return "." in key


class _Actuator:
    """Sends the loop's writes through the control coordinator (the gate, the audit, the re-apply on revert)."""

    def __init__(self, control: ZephyrControlCoordinator, controller: FanController) -> None:
        self._control = control
        self._controller = controller

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> object:
        """Run ``zone_key`` at ``percent`` % (blocking)."""
        return self._control.set_zone_duty(self._controller, zone_key, percent, actor or "zephyr")

    def hand_back(self, reason: str, *, actor: str = "zephyr") -> bool:
        """Give the fans back to the BMC's mode (blocking)."""
        self._control.hand_back(self._controller, reason, actor)
        return True

    def set_sensor_thresholds(self, sensor: SdrSensor, values: dict[str, float], *, actor: str | None = None) -> object:
        """Set Sensor Thresholds through the gate (blocking)."""
        return self._controller.set_sensor_thresholds(sensor, values, actor=actor)


class ZephyrAutomaticCoordinator(DataUpdateCoordinator[AutomaticData]):
    """Runs automatic fan control of one BMC every control interval while its switch is on."""

    config_entry: ZephyrConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ZephyrConfigEntry, control: ZephyrControlCoordinator) -> None:
        """Load the settings from the entry's options (defaults when none or when they no longer validate)."""
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.title} automatic", update_interval=None
        )
        self.control = control
        caps = control.capabilities_now
        assert caps is not None  # noqa: S101 - created only for a BMC with fan control
        self.capabilities = caps
        self.sensors: dict[str, SdrSensor] = dict(entry.runtime_data.coordinator.sensors)
        self.facts = bmc_facts(caps, self.sensors)
        self.settings = self._load(stored_settings(entry.options))
        self.loop: ControlLoop | None = None
        self.sleep: Callable[[float], object] = time.sleep
        """How tuning waits for a fan to settle (s); blocking, in the executor."""
        self.clock: Callable[[], float] = time.monotonic
        self.reader: BmcReader | None = None
        self._suspended = False
        self._entities: dict[str, TemperatureInput] = {}
        self.data = AutomaticData(enabled=self.enabled, state=STATE_OFF)
        self._schedule()

    # -- settings ----------------------------------------------------------------------------------------------

    def _load(self, stored: Mapping[str, Any]) -> AutomaticSettings:
        data = with_defaults(stored, self.capabilities, self.sensors)
        try:
            return parse_settings(data, self.facts)
        except AutomaticConfigError as err:
            # The BMC changed (a sensor or zone is gone) since the settings were saved: run the defaults.
            LOGGER.warning(
                "%s: stored automatic fan control settings no longer apply (%s)", self.config_entry.title, err.key
            )
            try:
                return parse_settings(with_defaults({}, self.capabilities, self.sensors), self.facts)
            except AutomaticConfigError:  # pragma: no cover - the defaults are built to validate
                return parse_settings({"rules": []}, self.facts)

    @property
    def enabled(self) -> bool:
        """True when the owner turned automatic fan control on (remembered in the entry's options)."""
        return bool(stored_settings(self.config_entry.options).get("enabled", False))

    @property
    def stored(self) -> dict[str, Any]:
        """The settings as stored, with the default rules filled in (what the entities edit)."""
        return with_defaults(stored_settings(self.config_entry.options), self.capabilities, self.sensors)

    async def async_apply(self, data: Mapping[str, Any]) -> None:
        """Validate ``data`` (the stored form), save it in the options and use it from the next tick on.

        Raises ``AutomaticConfigError`` (nothing saved) when a value is refused.
        """
        settings = parse_settings(data, self.facts)
        enabled = self.enabled
        options = dict(self.config_entry.options)
        options[CONF_AUTOMATIC] = {**dict(data), "enabled": enabled}
        self.hass.config_entries.async_update_entry(self.config_entry, options=options)
        await self.control.async_record_options()
        async with self.control.write_lock:
            self.settings = settings
            if self.loop is not None:
                self.loop.update_settings(settings)
        self._schedule()
        self.async_update_listeners()

    async def async_set_enabled(self, enabled: bool) -> None:
        """Turn automatic fan control on (a tick at once) or off (the fans are handed back at once)."""
        options = dict(self.config_entry.options)
        options[CONF_AUTOMATIC] = {**stored_settings(options), "enabled": enabled}
        self.hass.config_entries.async_update_entry(self.config_entry, options=options)
        await self.control.async_record_options()
        self._schedule()
        if enabled:
            await self.async_refresh()
            return
        # The loop as it is when the write lock is ours: a first tick queued before this built it meanwhile.
        if self.control.controller is not None and await self.control.async_run(self._stop, context=None):
            # Show the hand-back at once (fan mode, zone fans, who drives them), not at the next supervision.
            await self.control.async_refresh()
        self.async_set_updated_data(AutomaticData(enabled=False, state=STATE_OFF))

    @property
    def supervising(self) -> bool:
        """True while the loop runs and drives the fans itself (its guards then watch the temperatures)."""
        return self.enabled and not self._suspended and self.loop is not None and self.loop.holding

    def _schedule(self) -> None:
        running = self.enabled and not self._suspended
        self.update_interval = timedelta(seconds=self.settings.interval) if running else None

    def suspend(self) -> None:
        """Tick no more (the entry is unloading or Home Assistant stops); the switch keeps its state."""
        self._suspended = True
        self._schedule()

    # -- the loop ----------------------------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> AutomaticData:
        """Run one control tick (in the executor, with the BMC's write lock held)."""
        controller = self.control.controller
        if not self.enabled or self._suspended:
            return AutomaticData(enabled=self.enabled, state=STATE_OFF)
        if controller is None or not self.control.fan_control:
            return AutomaticData(enabled=True, state=STATE_UNAVAILABLE)
        if controller.lost:
            if self.loop is not None:
                self.loop.handed_back_elsewhere()
            return AutomaticData(enabled=True, state=STATE_LOST, decision=self.data.decision)
        self._entities = self._entity_temperatures()
        writes = self.control.writes
        try:
            report: TickReport = await self.control.async_run(self._tick, context=None)
        except Exception:  # noqa: BLE001 - whatever failed, the fans must not stay where the loop left them
            # Supervision is lost (a defect, not the BMC: the loop handles IPMI errors itself): the fans go back.
            LOGGER.exception("%s: automatic fan control tick failed; handing the fans back", self.config_entry.title)
            if self.loop is not None:
                self.loop.handed_back_elsewhere()
            await self.control.async_hand_back("automatic_error")
            return AutomaticData(enabled=True, state=STATE_ERROR, decision=self.data.decision)
        if self.control.writes != writes:
            # The tick took the fans, changed a duty or handed back: the fan mode, zone fans and Fan control
            # status show it now, not at the supervision's next read.
            await self.control.async_show_state()
        loop = self.loop
        assert loop is not None  # noqa: S101 - built by the tick
        self._pulsing_issue(loop.pulsing)
        decision = report.decision
        state = STATE_HOLDING if loop.holding else str(decision.reason or STATE_OFF)
        return AutomaticData(enabled=True, state=state, decision=decision, pulsing=loop.pulsing)

    def _entity_temperatures(self) -> dict[str, TemperatureInput]:
        """Read the Home Assistant entities the rules use (in the event loop).

        °C, or None when the state is not a number or was last reported more than ``ENTITY_STALE_AFTER`` ago
        (the rule then counts the temperature as unreadable, and hands back after the lost-reading ticks).
        """
        out: dict[str, TemperatureInput] = {}
        for key in self.settings.sensors:
            if not is_entity(key):
                continue
            state = self.hass.states.get(key)
            value: float | None = None
            if (
                state is not None
                and state.state not in _NOT_READINGS
                and dt_util.utcnow() - state.last_reported <= ENTITY_STALE_AFTER
            ):
                with contextlib.suppress(ValueError):
                    value = float(state.state)
            out[key] = TemperatureInput(value=value)
        return out

    def _now(self) -> float:
        """Return the loop's time (s): ``clock`` as it is now (tests put the simulated BMC's clock there)."""
        return self.clock()

    def _stop(self, _controller: FanController) -> bool:
        """Hand the fans back if the loop holds them (blocking, write lock held)."""
        return self.loop is not None and self.loop.stop("automatic_off")

    def _tick(self, controller: FanController) -> TickReport:
        """One control tick (blocking); none once the switch was turned off while it waited for the BMC."""
        loop = self.loop
        if loop is None:
            loop = self.loop = ControlLoop(
                self.settings, _Actuator(self.control, controller), self._reader(controller), clock=self._now
            )
        if not self.enabled or self._suspended:
            loop.stop("automatic_off")
            return TickReport(decision=Decision(action=Action.IDLE))
        if loop.holding and not controller.holding:
            # Handed back by an action, the control layer's own safety or the owner: start over.
            loop.handed_back_elsewhere()
        return loop.tick()

    def _reader(self, controller: FanController) -> BmcReader:
        """Return the core's tick reader for this BMC (Home Assistant temperatures come from the event loop)."""
        if self.reader is None:
            self.reader = BmcReader(
                self.control.client,
                self.sensors,
                self.facts.fan_zone,
                controller.read_state,
                lambda: self._entities,
                baseline=lambda: controller.baseline_duty if controller.holding else {},
            )
        return self.reader

    # -- pulsing and threshold tuning --------------------------------------------------------------------------

    def _issue_id(self) -> str:
        return f"{ISSUE_PULSING}_{self.config_entry.entry_id}"

    def _pulsing_issue(self, pulsing: frozenset[str]) -> None:
        """Offer threshold tuning while fans pulse (a fixable repair issue); withdraw it when they stop."""
        if not pulsing:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id())
            return
        names = ", ".join(sorted(self.sensors[key].name for key in pulsing if key in self.sensors))
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(),
            data={"entry_id": self.config_entry.entry_id, "fans": ",".join(sorted(pulsing))},
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_PULSING,
            translation_placeholders={"name": self.config_entry.title, "fans": names},
        )

    async def async_tune(self, fan: str, actor: str) -> TuningResult:
        """Measure fan ``fan`` (sensor key) and lower its thresholds to fit its speed at the floor duty.

        Takes about 20 s: the fan's zone runs at 50 % meanwhile. Afterwards the loop sends its duties again
        (or the fans are handed back when Zephyr did not hold them). Raises ``AutomaticConfigError``
        (``tuning_not_a_fan``, ``tuning_no_reading``) and ``IpmiError``.
        """
        if fan not in self.facts.fan_zone:
            raise AutomaticConfigError("tuning_not_a_fan", fan=fan)
        result: TuningResult = await self.control.async_run(lambda c: self._tune(c, fan, actor), context=None)
        self.async_update_listeners()
        return result

    def _tune(self, controller: FanController, fan: str, actor: str) -> TuningResult:
        """Tune one fan (blocking, write lock held), then resume the loop or hand back."""
        sensor = self.sensors[fan]
        loop = self.loop
        holding = loop is not None and loop.holding
        reader = self._reader(controller)
        thresholds = reader.thresholds(fan)
        actuator = _Actuator(self.control, controller)

        def read_rpm() -> float | None:
            reading = self.control.client.read([fan]).get(fan)
            return reading.value if reading is not None and reading.available else None

        try:
            result = tune_fan_thresholds(
                actuator,
                sensor,
                zone=self.facts.fan_zone[fan],
                thresholds=thresholds,
                floor=self.capabilities.duty_floor,
                lcr_only=controller.settable_thresholds("fan") == frozenset({"lcr"}),
                read_rpm=read_rpm,
                sleep=self.sleep,
                actor=actor,
            )
        finally:
            reader.forget_thresholds()
            if loop is not None:
                loop.detector.reset()
            if holding and loop is not None:
                loop.resync()
            elif controller.holding:
                with contextlib.suppress(IpmiError):
                    self.control.hand_back(controller, "tuned", actor)
        return result


def automatic_diagnostics(automatic: ZephyrAutomaticCoordinator | None) -> dict[str, Any] | None:
    """Return automatic fan control for diagnostics: settings as stored, the last decision, pulsing fans."""
    if automatic is None:
        return None
    data = automatic.data
    decision = data.decision
    return {
        "enabled": data.enabled,
        "state": data.state,
        "settings": automatic.settings.as_dict(),
        "guards": dict(automatic.settings.guards),
        "decision": None
        if decision is None
        else {
            "action": decision.action.value,
            "reason": None if decision.reason is None else decision.reason.value,
            "writes": [list(write) for write in decision.writes],
            "zones": {
                zone: {"duty": status.duty, "rule": status.rule.value, "temperature": status.temperature}
                for zone, status in decision.zones.items()
            },
        },
        "pulsing": sorted(data.pulsing),
        "holding": automatic.loop is not None and automatic.loop.holding,
    }
