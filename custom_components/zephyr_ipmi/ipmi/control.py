"""Fan, power and threshold control of one BMC: what the Home Assistant layer calls (all blocking).

``FanController`` detects the vendor command set (read-only), sends every write through the
``WriteGate``, and keeps the safety state: the fan mode found before Zephyr's first fan write
(``baseline``), whether Zephyr holds the fans (``holding``), a firmware lock found at a refused fan write,
and the count of times the BMC reverted Zephyr's settings by itself. ``persisted()`` and ``state=`` carry
that across restarts so a start after a crash hands the fans back. Safety rules: never 0 % duty, never below
the floor; when in doubt (a refused write, a lock, a lost fight) hand the fans back to the BMC.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from .errors import (
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiFanControlLockedError,
    IpmiWriteRefusedError,
)
from .gate import AuditRecord, WriteGate
from .models import BmcIdentity, SdrSensor, SensorKind
from .raw import check as check_raw
from .sdr import SdrDecodeError, decode_sensor_reading
from .sel import clear_sel
from .thresholds import plan as plan_thresholds
from .thresholds import set_request as threshold_request
from .vendors import detect
from .vendors.base import (
    BMC_DRIVEN_MODES,
    FAN_WRITE_KINDS,
    Capabilities,
    FanMode,
    VendorCommandSet,
    WriteKind,
    WriteRequest,
    decode_sensor_thresholds,
    get_sensor_thresholds,
)

_LOGGER = logging.getLogger(__name__)

#: Version of the ``persisted()`` dictionary.
STATE_VERSION = 1
#: The BMC reverting Zephyr's fan settings more than this many times in a row means control is lost.
LOST_AFTER = 3
#: A zone duty read back within this many % of what Zephyr set counts as kept.
DUTY_TOLERANCE = 2
#: Completion codes of firmware that refuses raw fan commands (IPMI 2.0 Table 5-2): insufficient
#: privilege at any fan write; invalid command / invalid data field at the first one.
CC_PRIVILEGE = 0xD4
CC_REFUSED_FIRST = frozenset({0xC1, 0xCC, 0xD4})
CC_INVALID_COMMAND = 0xC1


class ChassisAction(StrEnum):
    """Chassis Control actions (netfn 0x00 cmd 0x02, IPMI 2.0 §28.3, Table 28-4)."""

    POWER_OFF = "power_off"
    POWER_ON = "power_on"
    POWER_CYCLE = "power_cycle"
    HARD_RESET = "hard_reset"
    SOFT_SHUTDOWN = "soft_shutdown"


#: Chassis Control byte 1 by action: 0 power down, 1 power up, 2 power cycle, 3 hard reset,
#: 5 soft shutdown via ACPI overtemperature emulation (4, the diagnostic interrupt, is not offered).
CHASSIS_CONTROL_BYTES: dict[ChassisAction, int] = {
    ChassisAction.POWER_OFF: 0x00,
    ChassisAction.POWER_ON: 0x01,
    ChassisAction.POWER_CYCLE: 0x02,
    ChassisAction.HARD_RESET: 0x03,
    ChassisAction.SOFT_SHUTDOWN: 0x05,
}


@dataclass(frozen=True)
class FanState:
    """Fan state read from the BMC.

    ``mode``: read back where the BMC has a read (Supermicro); on Dell the mode Zephyr last set (None when
    unknown). ``zone_duty``: percent read back by zone key (None where the BMC has no read: X9, Dell).
    ``pcie_cooling``: Dell's PCIe cooling response (None where absent). ``manual``: Zephyr holds the fans.
    """

    mode: FanMode | None
    zone_duty: dict[str, int | None]
    pcie_cooling: bool | None
    manual: bool


class FanController:
    """Fan, power and threshold control of one BMC, behind the write gate. Every method blocks.

    ``client``: the ``BmcClient``. ``on_audit``: called with each ``AuditRecord``. ``state``: a dict from
    ``persisted()`` of an earlier run (a ``holding`` state means a hand-back is due: call ``hand_back``
    after ``probe``). ``on_state``: called with ``persisted()`` whenever it changes (save it). Calls are
    serialised by a lock.
    """

    def __init__(
        self,
        client: Any,
        *,
        on_audit: Callable[[AuditRecord], None] | None = None,
        state: Mapping[str, Any] | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Bind to ``client``; nothing is sent until ``probe`` (or the first call that needs it)."""
        self._client = client
        self._on_audit = on_audit
        self._on_state = on_state
        self._clock = clock
        self._lock = threading.RLock()
        self._commands: VendorCommandSet | None = None
        self._gate: WriteGate | None = None
        self._capabilities: Capabilities | None = None
        self._fan_writes_ok: set[tuple[int, int, WriteKind]] = set()
        self._reverts = 0
        self.lost = False
        """True once the BMC reverted Zephyr's fan settings more than ``LOST_AFTER`` times in a row."""
        self._expected_mode: FanMode | None = None
        self._expected_duty: dict[str, int] = {}
        self._known_mode: FanMode | None = None
        self.holding = False
        """Zephyr took the fans over (a non-BMC mode or a zone duty) and has not handed them back."""
        self.baseline: FanMode | None = None
        """The fan mode found before Zephyr's first fan write (None: unknown, hand back to automatic)."""
        self.baseline_duty: dict[str, int] = {}
        """Each zone's duty (%) read back just before Zephyr took the fans (zones the BMC reads back only); empty
        when not holding or after a restart. Automatic fan control keeps zones without a rule at these duties."""
        self._locked: tuple[str, int] | None = None
        self._restore(state or {})

    # -- state ---------------------------------------------------------------------------------------

    def _restore(self, state: Mapping[str, Any]) -> None:
        """Take ``holding``, ``baseline`` and a fan lock from a ``persisted()`` dict; ignore what is malformed."""
        if state.get("version") != STATE_VERSION:
            return
        self.holding = state.get("holding") is True
        try:
            self.baseline = FanMode(state["baseline"]) if state.get("baseline") else None
        except ValueError:
            self.baseline = None
        locked = state.get("locked")
        if isinstance(locked, str):
            code = state.get("locked_code")
            self._locked = (locked, code if isinstance(code, int) else 0)
        if self.holding:
            self._known_mode = None

    def persisted(self) -> dict[str, Any]:
        """Return what must survive a restart.

        Keys: ``version``, ``holding``, ``baseline`` (mode value or None), ``locked`` (reason key or None)
        and ``locked_code`` (completion code or None).
        """
        return {
            "version": STATE_VERSION,
            "holding": self.holding,
            "baseline": None if self.baseline is None else self.baseline.value,
            "locked": None if self._locked is None else self._locked[0],
            "locked_code": None if self._locked is None else self._locked[1],
        }

    def _changed(self) -> None:
        if self._on_state is not None:
            try:
                self._on_state(self.persisted())
            except Exception:
                _LOGGER.exception("Saving the fan control state failed")

    # -- detection -----------------------------------------------------------------------------------

    def probe(self) -> Capabilities:
        """Detect the vendor command set with read-only requests (cached after the first success).

        Raises ``IpmiConnectionError`` when the BMC does not answer, ``IpmiError`` when its identity is unknown.
        """
        with self._lock:
            if self._capabilities is not None:
                return self._capabilities
            sensors = self._client.sensors()
            identity: BmcIdentity | None = self._client.identity
            if identity is None:
                raise IpmiError("the BMC's identity is unknown")
            fans = [s.name for s in sensors if s.kind is SensorKind.FAN]
            commands = detect(identity, self._client.request, fans)
            self._commands = commands
            self._gate = WriteGate(self._client, commands, on_audit=self._on_audit, clock=self._clock)
            caps = commands.capabilities
            if self._locked is not None and caps.fan_control:
                caps = dataclasses.replace(caps, fan_control=False, fan_control_reason=self._locked[0])
            self._capabilities = caps
            _LOGGER.debug("Capabilities of %s: %s", identity.manufacturer, caps)
            return caps

    @property
    def capabilities(self) -> Capabilities:
        """The capabilities found by ``probe`` (updated when a lock is found). Raises ``IpmiError`` before it."""
        if self._capabilities is None:
            raise IpmiError("fan control not probed yet")
        return self._capabilities

    @property
    def audit(self) -> list[AuditRecord]:
        """The last audit records of this BMC's writes, newest last (bounded)."""
        return [] if self._gate is None else self._gate.audit

    @property
    def locked_code(self) -> int | None:
        """The completion code with which the firmware refused fan commands, or None."""
        return None if self._locked is None else self._locked[1]

    def _parts(self) -> tuple[Capabilities, VendorCommandSet, WriteGate]:
        caps = self.probe()
        assert self._commands is not None  # noqa: S101 - set by probe
        assert self._gate is not None  # noqa: S101 - set by probe
        return caps, self._commands, self._gate

    def settable_thresholds(self, sensor_kind: str) -> frozenset[str] | None:
        """Thresholds the vendor lets a ``sensor_kind`` ("fan", ...) sensor set ("lcr", ...), None for no rule.

        The same rule ``set_sensor_thresholds`` enforces (e.g. AST2600 Supermicro boards: fans lower-critical only).
        """
        with self._lock:
            _caps, commands, _gate = self._parts()
            return commands.settable_thresholds(sensor_kind)

    # -- reading -------------------------------------------------------------------------------------

    def read_state(self) -> FanState:
        """Read the fan mode, each zone's duty and the PCIe cooling response back from the BMC.

        Raises ``IpmiConnectionError`` when the BMC does not answer; a value the BMC refuses reads None. With
        fan control unavailable (monitoring-only BMC, firmware lock) nothing is read and every value is None.
        """
        with self._lock:
            caps, commands, gate = self._parts()
            if not caps.fan_control:
                return FanState(mode=None, zone_duty={}, pcie_cooling=None, manual=False)
            read = commands.read_fan_mode()
            mode = self._known_mode
            if read is not None:
                value = gate.read(read)
                mode = value if isinstance(value, FanMode) else None
            duties = self._read_duties(caps, commands, gate)
            pcie: bool | None = None
            pcie_read = commands.read_pcie_cooling()
            if pcie_read is not None:
                value = gate.read(pcie_read)
                pcie = value if isinstance(value, bool) else None
            return FanState(mode=mode, zone_duty=duties, pcie_cooling=pcie, manual=self.holding)

    def check_reverted(self, state: FanState) -> bool:
        """Tell whether ``state`` shows the BMC undid Zephyr's fan mode or a zone duty by itself.

        Counts reverts in a row; more than ``LOST_AFTER`` sets ``lost`` (hand back, tell the owner, stop
        fighting). A state that matches resets the count. Only meaningful while ``holding``.
        """
        with self._lock:
            if not self.holding:
                self._reverts = 0
                return False
            reverted = self._expected_mode is not None and state.mode is not None and state.mode != self._expected_mode
            for key, duty in self._expected_duty.items():
                seen = state.zone_duty.get(key)
                if seen is not None and abs(seen - duty) > DUTY_TOLERANCE:
                    reverted = True
            if not reverted:
                self._reverts = 0
                return False
            self._reverts += 1
            if self._reverts > LOST_AFTER and not self.lost:
                self.lost = True
                _LOGGER.warning("The BMC reverted the fan settings %s times in a row: fan control lost", self._reverts)
            return True

    def reset_fan_control(self) -> None:
        """Forget a firmware lock and a lost fight (the owner changed something and wants to retry).

        The capabilities return to what detection found at the next ``probe``.
        """
        with self._lock:
            self.lost = False
            self._reverts = 0
            if self._locked is not None:
                self._locked = None
                self._capabilities = None
                self._changed()

    # -- fan writes ----------------------------------------------------------------------------------

    def set_fan_mode(self, mode: FanMode, *, actor: str | None = None) -> FanState:
        """Put the BMC in fan ``mode`` (one of ``capabilities.modes``) and return the state read back.

        A mode in which the BMC drives the fans itself ends Zephyr's hold (with the writes of a hand-back to
        that mode: X14 turns its bypass off first); Full (Supermicro) or Manual (Dell)
        starts one (the current mode is remembered as the baseline first). Raises ``IpmiWriteRefusedError``
        (unsupported, locked, lost, unknown mode), ``IpmiFanControlLockedError`` (the firmware refused: the
        fans were handed back), ``IpmiCompletionCodeError``, ``IpmiConnectionError``.
        """
        with self._lock:
            caps, commands, gate = self._parts()
            self._check_fan_control(caps, "set_fan_mode", actor)
            if mode not in caps.modes:
                self._refuse(gate, "set_fan_mode", actor, "unknown_mode")
            supervised = mode not in BMC_DRIVEN_MODES
            if supervised and self.lost:
                self._refuse(gate, "set_fan_mode", actor, "fan_control_lost")
            # Leaving Zephyr's hold for a mode the BMC drives is a hand-back to that mode (X14: bypass off first).
            writes = commands.hand_back(mode) if self.holding and not supervised else commands.set_fan_mode(mode)
            # With zone duties of Zephyr's in place, the mode write also clears them: send it even when
            # the BMC already reports that mode.
            force = bool(self._expected_duty)
            if supervised:
                self._take_control()
            self._send_fan_writes(writes, actor, force=force)
            self._known_mode = mode
            if supervised:
                self._expected_mode = mode
                self._expected_duty.clear()
            else:
                self._release()
            return self.read_state()

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> FanState:
        """Run zone ``zone_key`` at ``percent`` % (floor..100) and return the state read back.

        Supermicro: Full mode first (X14: bypass too), then the duty in the board's encoding; Dell: manual
        first. 0 % is never sent: turning a zone off is ``hand_back``. Raises ``IpmiWriteRefusedError``
        ("duty_zero", "duty_below_floor", "duty_out_of_range", "unknown_zone", ...),
        ``IpmiFanControlLockedError``, ``IpmiCompletionCodeError``, ``IpmiConnectionError``.
        """
        with self._lock:
            caps, commands, gate = self._parts()
            self._check_fan_control(caps, "set_zone_duty", actor)
            zone = caps.zone(zone_key)
            if zone is None:
                self._refuse(gate, "set_zone_duty", actor, "unknown_zone", zone=zone_key)
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent <= 100:
                reason = "duty_zero" if percent == 0 else "duty_out_of_range"
                self._refuse(gate, "set_zone_duty", actor, reason, duty=str(percent))
            if self.lost:
                self._refuse(gate, "set_zone_duty", actor, "fan_control_lost")
            writes = commands.set_zone_duty(zone, percent)
            # The gate checks the floor; check it here too so nothing (not even Full mode) is sent for it.
            floor = gate.duty_floor
            if percent < floor:
                self._refuse(gate, "set_zone_duty", actor, "duty_below_floor", duty=str(percent), floor=str(floor))
            self._take_control()
            self._send_fan_writes(writes, actor)
            self._expected_mode = next((w.mode for w in writes if w.kind is WriteKind.FAN_MODE), None)
            self._known_mode = self._expected_mode or self._known_mode
            if zone.key == "all":
                self._expected_duty.clear()
            self._expected_duty[zone.key] = percent
            return self.read_state()

    def set_pcie_cooling(self, enabled: bool, *, actor: str | None = None) -> bool | None:
        """Enable or disable Dell's third-party PCIe card cooling response; return the value read back.

        Raises ``IpmiWriteRefusedError("not_supported")`` where the BMC has none, ``IpmiCompletionCodeError``,
        ``IpmiConnectionError``.
        """
        with self._lock:
            caps, commands, gate = self._parts()
            if not caps.pcie_cooling:
                self._refuse(gate, "set_pcie_cooling", actor, "not_supported")
            for write in commands.set_pcie_cooling(enabled):
                gate.send(write, actor=actor)
            read = commands.read_pcie_cooling()
            value = gate.read(read) if read is not None else None
            return value if isinstance(value, bool) else None

    def hand_back(self, reason: str, *, actor: str | None = "zephyr") -> bool:
        """Give the fans back to the BMC in the baseline mode (else the vendor's automatic mode).

        Returns False (nothing sent) when Zephyr holds nothing. ``reason`` ("unload", "stop", "refused",
        "lost", "restart", "off", ...) goes to the log and the audit detail. The mode write is sent even
        when the BMC already reports that mode (it also clears manual duties). Raises
        ``IpmiConnectionError`` when the BMC does not answer (``holding`` stays True: hand back later) and
        ``IpmiCompletionCodeError`` when the BMC refused the mode write.
        """
        with self._lock:
            if not self.holding:
                return False
            _caps, commands, gate = self._parts()
            _LOGGER.info("Handing the fans back to the BMC (%s)", reason)
            writes = commands.hand_back(self.baseline)
            for write in writes:
                try:
                    gate.send(write, actor=actor, force=True, note=f"hand_back:{reason}")
                except IpmiCompletionCodeError:
                    # The last write, the fan mode, gives the fans back: refused, the BMC still runs Zephyr's
                    # mode and the hand-back is still owed. A refused X14 bypass-off before it (the lockdown
                    # refuses it) is audited and passed over.
                    if write is writes[-1]:
                        raise
            self._release()
            self._known_mode = next((w.mode for w in reversed(writes) if w.mode is not None), None)
            return True

    # -- fan write helpers ---------------------------------------------------------------------------

    def _check_fan_control(self, caps: Capabilities, name: str, actor: str | None) -> None:
        if not caps.fan_control:
            self._refuse(self._parts()[2], name, actor, caps.fan_control_reason or "not_supported")

    def _refuse(self, gate: WriteGate, name: str, actor: str | None, reason: str, **placeholders: str) -> NoReturn:
        """Audit a refusal decided before any request was built, then raise it."""
        gate.refuse(name, actor, reason)
        raise IpmiWriteRefusedError(reason, **placeholders)

    @staticmethod
    def _read_duties(caps: Capabilities, commands: VendorCommandSet, gate: WriteGate) -> dict[str, int | None]:
        """Each zone's duty (%) read back, None where the BMC has no read or refuses it."""
        duties: dict[str, int | None] = {}
        for zone in caps.zones:
            zone_read = commands.read_zone_duty(zone)
            value = gate.read(zone_read) if zone_read is not None else None
            duties[zone.key] = value if isinstance(value, int) else None
        return duties

    def _take_control(self) -> None:
        """Before Zephyr's first fan write: remember the mode and zone duties as the baseline, mark holding, save."""
        if self.holding:
            return
        caps, commands, gate = self._parts()
        read = commands.read_fan_mode()
        value = gate.read(read) if read is not None else None
        self.baseline = value if isinstance(value, FanMode) else None
        self.baseline_duty = {
            zone: duty for zone, duty in self._read_duties(caps, commands, gate).items() if duty is not None
        }
        self.holding = True
        self._reverts = 0
        self._changed()

    def _release(self) -> None:
        changed = self.holding or self.baseline is not None
        self.holding = False
        self.baseline = None
        self.baseline_duty = {}
        self._expected_mode = None
        self._expected_duty.clear()
        self._reverts = 0
        if changed:
            self._changed()

    def _send_fan_writes(self, writes: list[WriteRequest], actor: str | None, *, force: bool = False) -> None:
        """Send fan writes in order; on a refusal or no answer, hand back (best effort) and raise.

        0xD4 at any fan write, or 0xC1/0xCC at the first write of that command this BMC got, means the
        firmware refuses raw fan commands: fan control is marked unavailable (persisted) and
        ``IpmiFanControlLockedError`` is raised once.
        """
        caps, _commands, gate = self._parts()
        for write in writes:
            try:
                gate.send(write, actor=actor, force=force)
            except IpmiCompletionCodeError as err:
                first = (write.netfn, write.command, write.kind) not in self._fan_writes_ok
                locked = write.kind in FAN_WRITE_KINDS and (
                    err.code == CC_PRIVILEGE or (first and err.code in CC_REFUSED_FIRST)
                )
                self._safe_state("refused")
                if not locked:
                    raise
                reason = "firmware_refuses_raw_fan_commands"
                if caps.bypass and err.code == CC_PRIVILEGE:
                    reason = "x14_lockdown"
                self._lock_fan_control(reason, err.code)
                raise IpmiFanControlLockedError(err.code, reason) from None
            except IpmiConnectionError:
                self._safe_state("no_answer")
                raise
            if write.kind in FAN_WRITE_KINDS:
                self._fan_writes_ok.add((write.netfn, write.command, write.kind))

    def _safe_state(self, reason: str) -> None:
        """Hand back once, best effort: a failure leaves ``holding`` True for a later hand-back."""
        try:
            self.hand_back(reason)
        except IpmiError as err:
            _LOGGER.warning("Handing the fans back after a failed write failed too: %s", type(err).__name__)

    def _lock_fan_control(self, reason: str, code: int) -> None:
        """Mark fan control unavailable for ``reason`` (persisted; not retried until ``reset_fan_control``)."""
        self._locked = (reason, code)
        if not self._fan_writes_ok and self.holding:
            # The BMC never took a fan write from Zephyr: nothing of Zephyr's is left to hand back.
            self._release()
        if self._capabilities is not None:
            self._capabilities = dataclasses.replace(self._capabilities, fan_control=False, fan_control_reason=reason)
        _LOGGER.warning("The BMC refuses raw fan commands (completion code 0x%02X): fan control off", code)
        self._changed()

    # -- chassis -------------------------------------------------------------------------------------

    def chassis_control(self, action: ChassisAction, *, actor: str | None = None) -> None:
        """Chassis Control (netfn 0x00 cmd 0x02, IPMI 2.0 §28.3) with the byte of ``action``.

        Raises ``IpmiWriteRefusedError("not_supported")`` when the BMC has no chassis device,
        ``IpmiCompletionCodeError`` (e.g. 0xD5 hard reset while off), ``IpmiConnectionError``.
        """
        with self._lock:
            caps, _commands, gate = self._parts()
            if not caps.power_control:
                self._refuse(gate, "chassis_control", actor, "not_supported")
            code = CHASSIS_CONTROL_BYTES[ChassisAction(action)]
            gate.send(
                WriteRequest(
                    name="chassis_control", netfn=0x00, command=0x02, data=bytes([code]), kind=WriteKind.CHASSIS_CONTROL
                ),
                actor=actor,
            )

    def identify(self, seconds: int = 15, *, actor: str | None = None) -> None:
        """Chassis Identify (netfn 0x00 cmd 0x04, IPMI 2.0 §28.5): blink the locator for ``seconds`` s (0 off).

        A BMC answering 0xC1 has no identify; ``capabilities.identify`` turns False. Raises
        ``IpmiWriteRefusedError`` ("not_supported", "identify_interval_invalid" outside 0-255 s),
        ``IpmiCompletionCodeError``, ``IpmiConnectionError``.
        """
        with self._lock:
            caps, _commands, gate = self._parts()
            if not caps.identify:
                self._refuse(gate, "identify", actor, "not_supported")
            if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 255:
                self._refuse(gate, "identify", actor, "identify_interval_invalid", seconds=str(seconds))
            request = WriteRequest(
                name="identify", netfn=0x00, command=0x04, data=bytes([seconds]), kind=WriteKind.IDENTIFY
            )
            try:
                gate.send(request, actor=actor)
            except IpmiCompletionCodeError as err:
                if err.code == CC_INVALID_COMMAND:
                    self._capabilities = dataclasses.replace(caps, identify=False)
                raise

    def clear_sel(self, *, actor: str | None = None) -> bool:
        """Empty the BMC's event log (Reserve SEL, Clear SEL netfn 0x0A cmd 0x47, IPMI 2.0 §31.9), audited.

        Returns True when the BMC reported the erasure done. Raises ``IpmiWriteRefusedError``
        ("identity_unconfirmed"), ``IpmiCompletionCodeError`` (e.g. 0xD4 without the Operator privilege),
        ``IpmiConnectionError``.
        """
        with self._lock:
            _caps, _commands, gate = self._parts()
            return clear_sel(self._client, gate, actor=actor)

    # -- thresholds ----------------------------------------------------------------------------------

    def set_sensor_thresholds(
        self, sensor: SdrSensor, values: Mapping[str, float], *, actor: str | None = None
    ) -> dict[str, float]:
        """Set thresholds of ``sensor`` (Set Sensor Thresholds, netfn 0x04 cmd 0x26, IPMI 2.0 §35.8).

        ``values``: "lnr"/"lcr"/"lnc"/"unc"/"ucr"/"unr" in the sensor's unit. They are rounded to the
        sensor's step, checked against the settable mask (SDR, and vendor rules such as AST2600 boards'
        lower-critical only), the order lnr < lcr < lnc < unc < ucr < unr and the current reading (lower
        thresholds below it, upper ones above it), then written and read back (Get Sensor Thresholds 0x27).
        Returns the rounded values written. Raises ``IpmiWriteRefusedError`` ("threshold_invalid",
        "threshold_not_settable", "not_supported"), ``IpmiCompletionCodeError``, ``IpmiConnectionError``.
        """
        with self._lock:
            _caps, commands, gate = self._parts()
            read = get_sensor_thresholds(sensor.number, sensor.lun)
            try:
                current = decode_sensor_thresholds(
                    self._client.request(read.netfn, read.command, read.data, lun=read.lun)
                )
            except IpmiCompletionCodeError:
                current = None
            if current is None:
                self._refuse(gate, "set_sensor_thresholds", actor, "not_supported", sensor=sensor.name)
            settable = frozenset(sensor.settable)
            rule = commands.settable_thresholds(sensor.kind.value)
            if rule is not None:
                settable &= rule
            try:
                plan = plan_thresholds(
                    sensor, values, current=current or {}, reading=self._reading(sensor), settable=settable
                )
            except IpmiWriteRefusedError as err:
                gate.refuse("set_sensor_thresholds", actor, err.reason)
                raise
            raw, rounded = plan
            gate.send(threshold_request(sensor, raw, current or {}), actor=actor)
            return rounded

    def _reading(self, sensor: SdrSensor) -> float | None:
        """Return the sensor's current value (Get Sensor Reading, §35.14), or None when unavailable."""
        try:
            data = self._client.request(0x04, 0x2D, bytes([sensor.number]), lun=sensor.lun)
            return decode_sensor_reading(sensor, data).value
        except IpmiCompletionCodeError, SdrDecodeError:
            return None

    # -- raw -----------------------------------------------------------------------------------------

    def raw_command(self, netfn: int, command: int, data: bytes, *, actor: str | None = None) -> bytes:
        """Send one raw request through the gate and return the answer's data (after the completion code).

        Refused (``IpmiWriteRefusedError``): malformed bytes ("raw_command_invalid"), commands that change
        users, passwords, channels, LAN/serial/SOL settings, FRU/SDR contents or firmware
        ("raw_command_forbidden"), vendor fan duties of 0 % or below the floor, and fan writes Zephyr could not
        supervise (fan control unavailable: ``capabilities.fan_control_reason``; "fan_control_lost"), except a
        mode in which the BMC drives the fans. A raw fan-mode or duty write counts as Zephyr taking the fans
        (baseline remembered, hand-back later). Raises
        ``IpmiCompletionCodeError`` and ``IpmiConnectionError`` as the BMC answers.
        """
        with self._lock:
            caps, _commands, gate = self._parts()
            try:
                data = bytes(data)
            except TypeError, ValueError:
                gate.refuse("raw", actor, "raw_command_invalid")
                raise IpmiWriteRefusedError("raw_command_invalid") from None
            request = WriteRequest(
                name="raw", netfn=netfn & 0xFF, command=command & 0xFF, data=data, kind=WriteKind.RAW
            )
            try:
                effect = check_raw(netfn, command, data)
            except IpmiWriteRefusedError as err:
                gate.refuse("raw", actor, err.reason, request=request)
                raise
            if effect is not None:
                request = dataclasses.replace(request, duty=effect.duty, mode=effect.mode)
                if effect.mode is not None and effect.mode in BMC_DRIVEN_MODES:
                    answer = gate.send(request, actor=actor, force=True)
                    self._release()
                    return answer
                # A fan write Zephyr could not supervise (no fan control: refused firmware, monitoring-only
                # BMC) or after the BMC won the fight would leave the fans unwatched: refused.
                if not caps.fan_control or self.lost:
                    reason = "fan_control_lost" if caps.fan_control else caps.fan_control_reason or "not_supported"
                    gate.refuse("raw", actor, reason, request=request)
                    raise IpmiWriteRefusedError(reason)
                gate.check(request, actor=actor)  # floor first: nothing is remembered for a refused duty
                self._take_control()
            return gate.send(request, actor=actor, force=True)
