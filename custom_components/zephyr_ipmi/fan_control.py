"""Fan and power control of one BMC on the Home Assistant side: supervision, hand-back and the audit trail.

The core's ``FanController`` (``ipmi/control.py``) builds, gates and sends every write; this module decides
*when*: it probes what the BMC can do, reads the fan mode and zone duties back every control interval
(``CONTROL_INTERVAL``), and hands fan control back to the BMC's own automatic mode when the entry is
unloaded, reloaded or removed, Home Assistant stops, a write is refused, the BMC answers again after it did
not, or the BMC keeps reverting the mode (then *Fan control lost* and a repair issue instead of a fight).
Zephyr's holding state is stored per BMC, so a start after Home Assistant was killed hands back before
anything else. Every write (and every change of the options) is kept in a bounded, persisted audit trail,
fired as a logbook event and shown in diagnostics.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final, override

from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    AUDIT_LIMIT,
    CONTROL_INTERVAL,
    CONTROL_STORE_KEY,
    CONTROL_STORE_VERSION,
    DOMAIN,
    EVENT_AUDIT,
    LOGGER,
)
from .coordinator import ZephyrConfigEntry, _as_ha_error
from .ipmi import BmcClient, IpmiConnectionError, IpmiError
from .ipmi.control import FanController, FanState
from .ipmi.errors import IpmiFanControlLockedError, IpmiWriteRefusedError
from .ipmi.gate import AuditRecord
from .ipmi.guard import TooHot, temperature_limits, too_hot
from .ipmi.vendors import Capabilities, FanMode
from .issues import async_create_wrong_bmc_issue

#: Reasons a BMC offers no fan control that have their own translated state and explanation.
KNOWN_REASONS: Final = frozenset(
    {
        "hpe_no_ipmi_fan_control",
        "generic_monitoring_only",
        "supermicro_fan_commands_unanswered",
        "firmware_refuses_raw_fan_commands",
        "x14_lockdown",
    }
)
STATUS_BMC: Final = "bmc"
"""Fan control is available and the BMC runs its own automatic control (Zephyr holds nothing)."""
STATUS_ZEPHYR: Final = "zephyr"
STATUS_LOST: Final = "lost"
STATUS_USER_PRIVILEGE: Final = "user_privilege"
STATUS_NOT_SUPPORTED: Final = "not_supported"
STATUS_OPTIONS: Final = (
    STATUS_BMC,
    STATUS_ZEPHYR,
    STATUS_LOST,
    STATUS_USER_PRIVILEGE,
    *sorted(KNOWN_REASONS),
    STATUS_NOT_SUPPORTED,
)
"""States of the *Fan control* diagnostic sensor."""

#: IPMI privilege levels (IPMI 2.0 Table 6-4): fan, power and threshold commands need more than User.
PRIVILEGE_USER: Final = 2

ISSUE_LOST: Final = "fan_control_lost"
ISSUE_LOCKED: Final = "fan_control_locked"
ISSUE_HAND_BACK: Final = "hand_back_failed"
REDACTED: Final = "**REDACTED**"
CLOSING_REASONS: Final = frozenset({"unload", "stop"})
"""Hand-back reasons after which the coordinator sends no more writes: nothing would supervise them."""
STORE_TIMEOUT: Final = 10.0
"""Longest a fan write waits for its holding state to be stored (s); the write goes on after it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ControlData:
    """What the control coordinator publishes each control interval.

    ``state`` is the fan mode, zone duties (%, read back from the BMC) and PCIe cooling response, or None
    when the BMC offers no fan control; ``status`` is one of ``STATUS_OPTIONS``.
    """

    state: FanState | None
    status: str


@dataclass(kw_only=True, slots=True)
class _Wanted:
    """What Zephyr last asked of the fans, re-applied when the BMC reverts it (a few times at most)."""

    mode: FanMode | None = None
    duty: dict[str, int] = field(default_factory=dict)


def store_key(unique_id: str) -> str:
    """Return the storage key of one BMC (by its unique id, hashed to a safe file name)."""
    return f"{CONTROL_STORE_KEY}.{hashlib.sha256(unique_id.encode()).hexdigest()[:20]}"


def audit_entry(record: AuditRecord) -> dict[str, Any]:
    """Return an audit record as stored and shown: bytes as hex, data of refused raw commands redacted.

    A raw command refused by the deny-list may carry a password (Set User Password): it is never kept.
    """
    entry: dict[str, Any] = record.as_dict()
    if record.command == "raw" and record.result == "refused":
        entry["data"] = REDACTED
    return entry


class ZephyrControlCoordinator(DataUpdateCoordinator[ControlData]):
    """Supervises fan control of one BMC every control interval; owns hand-back and the audit trail.

    Blocking core calls run in the executor; writes are serialised by ``write_lock`` so that a hand-back
    never interleaves with a write of the same BMC.
    """

    config_entry: ZephyrConfigEntry
    capabilities: Capabilities | None
    """What the BMC offers (read-only probe at setup); None before the first refresh."""

    def __init__(self, hass: HomeAssistant, entry: ZephyrConfigEntry, client: BmcClient) -> None:
        """Prepare supervising ``client``'s fans; nothing is sent before the first refresh."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title} control",
            update_interval=CONTROL_INTERVAL,
        )
        self.client = client
        self.capabilities = None
        self.controller: FanController | None = None
        self.audit: deque[dict[str, Any]] = deque(maxlen=AUDIT_LIMIT)
        self.write_lock = asyncio.Lock()
        self._store: Store[dict[str, Any]] = Store(hass, CONTROL_STORE_VERSION, store_key(entry.unique_id or ""))
        self._pending: list[AuditRecord] = []
        self._pending_lock = threading.Lock()
        self._wanted = _Wanted()
        self._bmc_down = False
        self._hand_back_due: str | None = None
        self._saved: dict[str, Any] = {}
        self._options_seen: dict[str, Any] | None = None
        self._closing = False
        self.writes = 0
        """Audited writes (and refusals) so far that were not dropped as unchanged; grows from any thread."""

    # -- setup and supervision -------------------------------------------------------------------------------

    @override
    async def _async_setup(self) -> None:
        """Confirm the BMC, probe its capabilities and hand back control left over from a killed run.

        Runs before the first poll of the sensors, so nothing else is sent to the BMC before the hand-back.
        """
        stored = await self._store.async_load() or {}
        self._saved = stored
        self._options_seen = stored.get("options")
        self.audit.extend(stored.get("audit", []))
        controller = FanController(
            self.client, on_audit=self._on_audit, state=stored.get("controller"), on_state=self._on_state
        )
        self.controller = controller
        try:
            identity = await self.hass.async_add_executor_job(self.client.connect)
            if identity.unique_id != self.config_entry.unique_id:
                # Never hand anything "back" to a BMC that is not the one Zephyr wrote to.
                async_create_wrong_bmc_issue(self.hass, self.config_entry)
                raise UpdateFailed(translation_domain=DOMAIN, translation_key="wrong_bmc")
            self.capabilities = await self.hass.async_add_executor_job(controller.probe)
        except IpmiError as err:
            # The probe reads only (Get Device ID, the SDR, vendor reads whose refusal means "unsupported"):
            # an error here is transient, so setup is retried rather than the BMC left without control.
            raise _as_ha_error(err) from err
        if controller.holding:
            LOGGER.warning(
                "%s: Zephyr held fan control when Home Assistant last stopped without handing it back; "
                "handing it back to the BMC",
                self.config_entry.title,
            )
            await self.async_hand_back("restart")
        self._record_options_change()
        await self._async_save()

    @override
    async def _async_update_data(self) -> ControlData:
        """Read the fans back; hand back after an outage or repeated reverts, re-apply after one revert."""
        controller = self.controller
        if controller is not None and self._hand_back_due is not None:
            # Owed even when a refusal turned fan control off meanwhile: the BMC may still run Zephyr's duty.
            await self.async_hand_back(self._hand_back_due)
        elif controller is not None and controller.holding and not self.fan_control:
            # Fan control became unavailable while Zephyr holds the fans (the session came back with only the User
            # privilege, say): nothing would supervise them, so they go back; a refused hand-back stays owed.
            await self.async_hand_back("unsupervised")
        if controller is None or not self.fan_control:
            return ControlData(state=None, status=self.status)
        try:
            state = await self.hass.async_add_executor_job(controller.read_state)
            hot = await self._async_too_hot() if controller.holding and not self._bmc_down else None
        except IpmiError as err:
            if self.client.closed:
                # The entry was unloaded (or Home Assistant stops) while the fans were read: nothing failed, and
                # the coordinator ends a cancelled update without logging an error.
                LOGGER.debug("The fan read-back of %s was cut short by the unload: %s", self.name, err)
                raise asyncio.CancelledError from err
            self._bmc_down = self._bmc_down or isinstance(err, IpmiConnectionError)
            raise _as_ha_error(err) from err
        if self._bmc_down:
            self._bmc_down = False
            if controller.holding:
                # The BMC may have restarted with its own defaults, or kept Zephyr's low duty unsupervised.
                LOGGER.warning("%s answers again; handing fan control back to it", self.config_entry.title)
                await self.async_hand_back("bmc_returned")
                state = await self.hass.async_add_executor_job(controller.read_state)
        elif hot is not None:
            await self.async_hand_back("temperature")
            state = await self.hass.async_add_executor_job(controller.read_state)
        elif controller.holding:
            state = await self._async_check_reverted(controller, state)
        return ControlData(state=state, status=self.status)

    async def async_show_state(self) -> None:
        """Read the fans back and show them now, between supervision reads (after automatic control wrote).

        Only what the entities show changes: the supervision (reverts, heat, outages) keeps its own schedule.
        A BMC that does not answer is left to the next supervision read.
        """
        controller = self.controller
        if controller is None or not self.fan_control or self.data is None:
            return
        try:
            state = await self.hass.async_add_executor_job(controller.read_state)
        except IpmiError as err:
            LOGGER.debug("Fans of %s not read back after automatic control wrote: %s", self.config_entry.title, err)
            return
        self.data = ControlData(state=state, status=self.status)
        self.async_update_listeners()

    async def _async_too_hot(self) -> TooHot | None:
        """Return the BMC temperature at or over its limit while Zephyr holds the fans (``ipmi.guard``), if any.

        While automatic fan control drives the fans it watches the same limits itself (its guards) and is left to
        it; a duty set by hand while automatic control is on but leaves the fans to the BMC (too warm, waiting,
        lost) is watched here. Reads only the temperature sensors with an upper threshold. Raises ``IpmiError``
        like ``read_state``.
        """
        automatic = self.config_entry.runtime_data.automatic
        if automatic is not None and automatic.supervising:
            return None
        sensors = {sensor.key: sensor for sensor in self.client.sensor_list}
        limits = temperature_limits(sensors.values())
        readings = await self.hass.async_add_executor_job(self.client.read, list(limits))
        hot = too_hot(sensors, limits, readings)
        if hot is not None:
            LOGGER.warning(
                "%s: %s reads %g °C, at or over its limit of %g °C; handing the fans back to the BMC",
                self.config_entry.title,
                hot.sensor,
                hot.reading,
                hot.limit,
            )
        return hot

    async def _async_check_reverted(self, controller: FanController, state: FanState) -> FanState:
        """Re-apply what Zephyr set when the BMC reverted it; after too many reverts, hand back for good."""
        if not await self.hass.async_add_executor_job(controller.check_reverted, state):
            return state
        if controller.lost:
            LOGGER.warning(
                "%s keeps taking fan control back; Zephyr stops and leaves the fans to the BMC",
                self.config_entry.title,
            )
            await self.async_hand_back("reverted")
            self._create_issue(ISSUE_LOST, ir.IssueSeverity.WARNING)
            self._report_lost(True, "The BMC put its own fan mode back more than three times in a row.")
            return await self.hass.async_add_executor_job(controller.read_state)
        LOGGER.info("%s reverted the fan mode; applying Zephyr's settings again", self.config_entry.title)
        try:
            state = await self.async_run(self._reapply, context=None)
        except IpmiError as err:
            LOGGER.warning("Could not re-apply fan settings to %s: %s", self.config_entry.title, err)
            return await self.hass.async_add_executor_job(controller.read_state)
        return state

    def _reapply(self, controller: FanController) -> FanState:
        """Send again the mode or zone duties Zephyr last set (blocking)."""
        wanted = self._wanted
        state: FanState | None = None
        for zone, percent in wanted.duty.items():
            state = controller.set_zone_duty(zone, percent, actor="zephyr")
        if state is None and wanted.mode is not None:
            state = controller.set_fan_mode(wanted.mode, actor="zephyr")
        return state if state is not None else controller.read_state()

    # -- what the entities show ------------------------------------------------------------------------------

    @property
    def fan_control(self) -> bool:
        """True when the BMC offers fan control Zephyr may use (not refused, not only User privilege)."""
        caps = self.capabilities_now
        return caps is not None and caps.fan_control and not self.user_privilege

    @property
    def capabilities_now(self) -> Capabilities | None:
        """The capabilities as the core knows them now (a firmware refusal turns fan control off).

        Between a retry (which makes the core forget what it found) and the reload it starts, the ones found at
        setup.
        """
        if self.controller is not None and self.capabilities is not None:
            try:
                return self.controller.capabilities
            except IpmiError:
                return self.capabilities
        return self.capabilities

    @property
    def user_privilege(self) -> bool:
        """True when the BMC granted the session only the User privilege: every write would be refused."""
        privilege = getattr(self.client, "privilege", None)
        return isinstance(privilege, int) and privilege <= PRIVILEGE_USER

    @property
    def status(self) -> str:
        """One of ``STATUS_OPTIONS``: who controls the fans, or why Zephyr cannot."""
        caps = self.capabilities_now
        if caps is None:
            return STATUS_NOT_SUPPORTED
        if self.user_privilege:
            return STATUS_USER_PRIVILEGE
        if not caps.fan_control:
            reason = caps.fan_control_reason
            return reason if reason in KNOWN_REASONS else STATUS_NOT_SUPPORTED
        if self.controller is not None and self.controller.lost:
            return STATUS_LOST
        if self.controller is not None and self.controller.holding:
            return STATUS_ZEPHYR
        return STATUS_BMC

    # -- writes ----------------------------------------------------------------------------------------------

    async def async_run[T](self, job: Callable[[FanController], T], *, context: Context | None) -> T:
        """Run one blocking control call in the executor, then store and log what it wrote.

        A write the BMC refused, or that got no answer, hands fan control back when Zephyr holds it; a
        firmware that refuses raw fan commands turns fan control off with a repair issue. Errors propagate
        (``helpers.async_call_bmc`` translates them).
        """
        controller = self.controller
        if controller is None:
            raise IpmiWriteRefusedError("not_supported")
        async with self.write_lock:
            if self._closing:
                # Queued behind the unload's (or stop's) hand-back: it would take the fans over unsupervised.
                raise IpmiWriteRefusedError("control_closing")
            try:
                result = await self.hass.async_add_executor_job(job, controller)
            except IpmiWriteRefusedError:
                raise
            except IpmiFanControlLockedError as err:
                self._create_issue(ISSUE_LOCKED, ir.IssueSeverity.ERROR, {"code": f"0x{err.code:02X}"})
                await self._async_hand_back_locked("write_refused", context)
                raise
            except IpmiError as err:
                self._bmc_down = self._bmc_down or isinstance(err, IpmiConnectionError)
                if controller.holding:
                    await self._async_hand_back_locked("write_refused", context)
                raise
            finally:
                await self._async_flush(context)
        if not controller.lost:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_LOST))
        return result

    def set_fan_mode(self, controller: FanController, mode: FanMode, actor: str | None) -> FanState:
        """Set the BMC's fan mode and remember it as wanted (blocking, through the write gate)."""
        state = controller.set_fan_mode(mode, actor=actor)
        self._wanted = _Wanted(mode=mode)
        return state

    def set_zone_duty(self, controller: FanController, zone: str, percent: int, actor: str | None) -> FanState:
        """Set one zone's duty cycle (%) and remember it as wanted (blocking, through the write gate)."""
        state = controller.set_zone_duty(zone, percent, actor=actor)
        self._wanted.mode = None
        self._wanted.duty[zone] = percent
        return state

    def hand_back(self, controller: FanController, reason: str, actor: str) -> FanState:
        """Hand fan control back to the BMC because someone asked (blocking); return the state read back."""
        controller.hand_back(reason, actor=actor)
        self._wanted = _Wanted()
        return controller.read_state()

    async def async_hand_back(self, reason: str, context: Context | None = None) -> bool:
        """Give fan control back to the BMC (the mode found before Zephyr's first write).

        Returns True when a hand-back was sent, False when Zephyr held nothing or the BMC did not take it;
        a failed hand-back is retried every control interval, with a repair issue until it succeeds. After
        the hand-back of an unload or a stop (``CLOSING_REASONS``), writes are refused ("control_closing").
        """
        if reason in CLOSING_REASONS:
            self._closing = True
        async with self.write_lock:
            return await self._async_hand_back_locked(reason, context)

    async def _async_hand_back_locked(self, reason: str, context: Context | None) -> bool:
        """Hand back while holding ``write_lock``."""
        controller = self.controller
        if controller is None or not controller.holding:
            self._hand_back_due = None
            return False
        try:
            handed = await self.hass.async_add_executor_job(controller.hand_back, reason)
        except IpmiError as err:
            LOGGER.warning("Could not hand fan control back to %s (%s): %s", self.config_entry.title, reason, err)
            self._hand_back_due = reason
            self._create_issue(ISSUE_HAND_BACK, ir.IssueSeverity.ERROR)
            return False
        finally:
            await self._async_flush(context)
        self._hand_back_due = None
        self._wanted = _Wanted()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_HAND_BACK))
        return bool(handed)

    async def async_retry(self) -> None:
        """Forget a firmware refusal or a lost fight (the owner asked to retry), then reload the entry."""
        if self.status == STATUS_LOST:
            self._report_lost(False)
        if self.controller is not None:
            await self.hass.async_add_executor_job(self.controller.reset_fan_control)
            await self._async_save()
        for key in (ISSUE_LOST, ISSUE_LOCKED):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(key))
        self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)

    def _report_lost(self, lost: bool, detail: str | None = None) -> None:
        """Tell the health alerts that fan control was lost (an alert) or is back (its recovery)."""
        runtime = getattr(self.config_entry, "runtime_data", None)
        if runtime is not None and runtime.health is not None:
            runtime.health.async_fan_control(lost, detail=detail)

    # -- audit trail and storage -----------------------------------------------------------------------------

    def _on_state(self, _state: dict[str, Any]) -> None:
        """Store the controller's holding state at once (called in the executor thread, before a fan write).

        Blocks the write until the state is on disk: if Home Assistant is killed right after the write, the
        next start finds that Zephyr held the fans and hands them back.
        """
        asyncio.run_coroutine_threadsafe(self._async_save(), self.hass.loop).result(timeout=STORE_TIMEOUT)

    def _on_audit(self, record: AuditRecord) -> None:
        """Collect an audit record from the write gate (called in the executor thread)."""
        with self._pending_lock:
            self._pending.append(record)
            if record.result != "unchanged":
                self.writes += 1

    async def _async_flush(self, context: Context | None) -> None:
        """Keep the new audit records, fire their logbook events and store them with the holding state."""
        with self._pending_lock:
            records, self._pending = self._pending, []
        for record in records:
            self._add_audit(audit_entry(record), context)
        await self._async_save()

    async def async_audit_refusal(self, command: str, actor: str, reason: str, context: Context | None) -> None:
        """Audit (and store) a write Home Assistant refused before it reached the core, e.g. "not_allowed"."""
        entry = {"time": time.time(), "actor": actor, "command": command, "netfn": 0, "cmd": 0, "data": ""}
        self._add_audit({**entry, "completion_code": None, "result": "refused", "detail": reason}, context)
        await self._async_save()

    def _add_audit(self, entry: dict[str, Any], context: Context | None) -> None:
        """Append one audit entry and fire it as a logbook event (shown on the BMC's device page too)."""
        self.audit.append(entry)
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, self.config_entry.unique_id or ""), self.config_entry.entry_id
        )
        self.hass.bus.async_fire(
            EVENT_AUDIT,
            {
                "entry_id": self.config_entry.entry_id,
                "device_id": device.id if device is not None else None,
                "name": self.config_entry.title,
                **entry,
            },
            context=context,
        )

    async def async_record_options(self, context: Context | None = None) -> None:
        """Audit (and store) a change of the options made without a reload (automatic fan control's entities)."""
        self._record_options_change(context)
        await self._async_save()

    def _record_options_change(self, context: Context | None = None) -> None:
        """Audit a change of the entry's options since they were last audited (stored; the first start audits none).

        The options flow saves and reloads the entry: the change is found at the next start. What is stored is
        the options last audited, not the entry's current ones, so a save in between (the unload's hand-back)
        does not hide the change.
        """
        options = dict(self.config_entry.options)
        before, self._options_seen = self._options_seen, options
        if before is None or before == options:
            return
        changed = {
            key: [before.get(key), options.get(key)]
            for key in sorted(set(before) | set(options))
            if before.get(key) != options.get(key)
        }
        self._add_audit(
            {"time": time.time(), "actor": None, "command": "options", "result": "ok", "detail": changed},
            context,
        )

    def _store_data(self) -> dict[str, Any]:
        """Return what is stored per BMC: the controller's holding state, the audit trail, the options."""
        return {
            "controller": self.controller.persisted() if self.controller is not None else None,
            "audit": list(self.audit),
            "options": self._options_seen,
        }

    async def _async_save(self) -> None:
        """Store at once when anything changed: a crash right after a write must still find the holding state."""
        data = self._store_data()
        if data != self._saved:
            self._saved = data
            await self._store.async_save(data)

    # -- repair issues ---------------------------------------------------------------------------------------

    def _issue_id(self, key: str) -> str:
        return f"{key}_{self.config_entry.entry_id}"

    def _create_issue(self, key: str, severity: ir.IssueSeverity, placeholders: dict[str, str] | None = None) -> None:
        """Raise the repair issue ``key`` for this BMC (lost and locked fan control offer a retry)."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(key),
            data={"entry_id": self.config_entry.entry_id},
            is_fixable=key in (ISSUE_LOST, ISSUE_LOCKED),
            severity=severity,
            translation_key=key,
            translation_placeholders={"name": self.config_entry.title, **(placeholders or {})},
        )


async def async_remove_control(hass: HomeAssistant, entry: ZephyrConfigEntry) -> None:
    """Forget a removed entry's stored control state and repair issues, unless a hand-back is still owed.

    The entry was unloaded first, which hands back; when that failed, the stored holding state stays so
    that adding the same BMC again hands back before anything else.
    """
    store: Store[dict[str, Any]] = Store(hass, CONTROL_STORE_VERSION, store_key(entry.unique_id or ""))
    stored = await store.async_load() or {}
    if (stored.get("controller") or {}).get("holding"):
        return
    await store.async_remove()
    for key in (ISSUE_LOST, ISSUE_LOCKED, ISSUE_HAND_BACK):
        ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")


def control_diagnostics(control: ZephyrControlCoordinator) -> dict[str, Any]:
    """Return fan control for diagnostics: capabilities, state, holding, and the audit trail without user ids."""
    controller = control.controller
    data = control.data if control.last_update_success else None
    return {
        "status": control.status,
        "capabilities": asdict(control.capabilities_now) if control.capabilities_now is not None else None,
        "state": asdict(data.state) if data is not None and data.state is not None else None,
        "persisted": controller.persisted() if controller is not None else None,
        "audit": [{**entry, "actor": _redact_actor(entry.get("actor"))} for entry in control.audit],
    }


def _redact_actor(actor: object) -> object:
    """Keep "zephyr", "system" and automation/script ids; replace a Home Assistant user id."""
    if actor is None or not isinstance(actor, str) or actor in ("zephyr", "system") or ":" in actor:
        return actor
    return REDACTED
