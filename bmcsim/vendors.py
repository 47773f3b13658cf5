"""Vendor fan control: the BMC's automatic curve and the OEM (netfn 30h) commands of each vendor.

Sources: /work/shared/docs/ipmi-field-notes.md section 1 (Supermicro 0x30 0x45 fan mode, 0x30 0x70 0x66
zone duty, X9 0x30 0x91, X14 bypass; Dell 0x30 0x30 manual/auto and duty, 0x30 0xCE PCIe cooling, iDRAC9
0xD4 lock; HPE: no IPMI fan control) and section 2 (low-rpm thresholds and "pulsing"). Completion codes
per IPMI 2.0 Table 5-2: C1h invalid command, C7h request data length invalid, CCh invalid data field,
D4h insufficient privilege.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import interpolate
from .profiles import DELL, SUPERMICRO

if TYPE_CHECKING:
    from .model import Machine

CC_OK, CC_INVALID_CMD, CC_BAD_LENGTH, CC_INVALID_DATA, CC_PRIVILEGE = 0x00, 0xC1, 0xC7, 0xCC, 0xD4

#: Supermicro fan modes (0x30 0x45): 0 Standard, 1 Full, 2 Optimal, 3 PUE2, 4 Heavy IO.
SM_STANDARD, SM_FULL, SM_OPTIMAL, SM_PUE2, SM_HEAVY_IO = 0, 1, 2, 3, 4
SM_MODE_NAMES = {0: "standard", 1: "full", 2: "optimal", 3: "pue2", 4: "heavy_io"}
_SM_MODE_FLOOR = {SM_STANDARD: 50.0, SM_OPTIMAL: 30.0, SM_PUE2: 25.0, SM_HEAVY_IO: 50.0}

Reply = tuple[int, bytes]


class FanControl:
    """Automatic-only BMC (generic IPMI, HPE iLO): every OEM netfn 30h request answers C1h."""

    def __init__(self, machine: Machine) -> None:
        """Attach to ``machine``; the policy comes from its profile."""
        self.machine = machine
        self.policy = machine.profile.fan_policy
        self.panic_until = -1.0
        self.mode_set_at: float | None = None
        self.reset()

    # -- state --------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to power-on defaults (BMC restart)."""
        self.panic_until = -1.0
        self.mode_set_at = None

    def state(self) -> dict[str, object]:
        """JSON-friendly snapshot of the fan controller."""
        m = self.machine
        return {
            "panic": self.panicking,
            "zone_duty": [round(self.zone_duty(z), 1) for z in range(m.profile.zones)],
        }

    @property
    def panicking(self) -> bool:
        """True while the BMC runs all fans at 100 % because of a low fan or a full SEL."""
        if self.policy.full_sel_full_speed and self.machine.sel.full:
            return True
        return self.machine.now < self.panic_until

    # -- duty ---------------------------------------------------------------------------------------------

    def auto_duty(self, zone: int) -> float:
        """Return the BMC's own duty (percent) from the hottest driving temperature and the policy curve."""
        temps = [
            self.machine.current_value(x)
            for x in self.machine.sensors
            if x.spec.kind == "temp" and x.spec.thermal is not None and x.spec.thermal.drives
        ]
        hottest = max(temps) if temps else 40.0
        return max(self.policy.floor, interpolate(self.policy.curve, hottest))

    def duty_for(self, zone: int, index: int) -> float:
        """Duty (percent) for one fan before the low-fan/full-SEL overrides."""
        return self.auto_duty(zone)

    def fan_duty(self, zone: int, index: int) -> float:
        """Duty (percent) the BMC drives fan ``index`` of ``zone`` with right now."""
        if self.panicking:
            return 100.0
        return self.duty_for(zone, index)

    def zone_duty(self, zone: int) -> float:
        """Return the current duty of the first fan of ``zone`` (percent)."""
        for sensor in self.machine.fans():
            if sensor.spec.fan_zone == zone:
                return self.fan_duty(zone, sensor.spec.index)
        return self.fan_duty(zone, 0)

    # -- time ---------------------------------------------------------------------------------------------

    def step(self, now: float, dt: float) -> None:
        """Expire manual duties and revert the mode (called before each model step)."""
        after = self.policy.revert_after
        if after is not None and self.mode_set_at is not None and now - self.mode_set_at >= after:
            self.revert()

    def revert(self) -> None:
        """Take fan control back to the BMC (subclasses reset their manual state)."""
        self.mode_set_at = None

    def after_step(self, now: float) -> None:
        """Check for low fans (called after each model step).

        A fan at or below its lower-critical threshold starts the BMC's full-speed protection for
        ``panic_hold`` seconds (docs/ipmi-notes.md §2).
        """
        m = self.machine
        if not self.policy.low_fan_full_speed or not m.power_on:
            return
        for sensor in m.fans():
            lcr = sensor.record.thresholds.get("lcr")
            if lcr is None:
                continue
            if sensor.record.conversion.compare_key(m.raw_reading(sensor)) <= sensor.record.conversion.compare_key(lcr):
                self.panic_until = now + self.policy.panic_hold
                return

    # -- OEM ----------------------------------------------------------------------------------------------

    def handle(self, netfn: int, cmd: int, data: bytes) -> Reply:
        """Answer an OEM request (netfn 30h..3Fh); the generic BMC knows none."""
        return CC_INVALID_CMD, b""


class SupermicroFans(FanControl):
    """Supermicro fan modes and zone duties (docs/ipmi-notes.md §1).

    The zone duty written with ``0x30 0x70 0x66 0x01 <zone> <duty>`` (X10-X14) or ``0x30 0x91 0x5A 0x03
    <0x10+zone> <0..255>`` (X9) sticks only in Full mode; in other modes the BMC replaces it after
    ``override_after`` seconds. X14 (ATEN) needs the bypass ``0x30 0x70 0x66 0x02 0x01`` first, else the
    duty write answers CCh ("no duty control"); the ``lockdown`` flag makes bypass and duty answer D4h.
    ``strict_length`` boards answer C7h to a duty write with extra bytes; others obey the first bytes.
    """

    def reset(self) -> None:
        """Power-on defaults: the profile's default mode, no manual duties, bypass off."""
        super().reset()
        self.mode = self.machine.profile.default_fan_mode
        self.manual: dict[int, tuple[float, float]] = {}
        self.bypass = False
        self.lockdown = False

    @property
    def generation(self) -> str:
        """Board generation from the profile (x9, x10, x11, x13, x14)."""
        return str(self.machine.profile.oem.get("generation", "x11"))

    def state(self) -> dict[str, object]:
        """Mode, manual duties, bypass and the effective zone duties."""
        out = super().state()
        out.update(
            {
                "mode": self.mode,
                "mode_name": SM_MODE_NAMES.get(self.mode, "?"),
                "manual": {str(z): d for z, (d, _) in self.manual.items()},
                "bypass": self.bypass,
                "lockdown": self.lockdown,
            }
        )
        return out

    def duty_for(self, zone: int, index: int) -> float:
        """Full mode: manual duty or 100 %; other modes: a fresh manual duty, else the mode's curve."""
        if self.mode == SM_FULL:
            return self.manual[zone][0] if zone in self.manual else 100.0
        if zone in self.manual:
            return self.manual[zone][0]
        floor = _SM_MODE_FLOOR.get(self.mode, 50.0)
        if self.mode == SM_HEAVY_IO and zone == 1:
            floor = 75.0
        return max(floor, self.auto_duty(zone))

    def step(self, now: float, dt: float) -> None:
        """Drop manual duties the BMC has overridden (non-Full modes), then the revert timer."""
        if self.mode != SM_FULL:
            for zone, (_, written) in list(self.manual.items()):
                if now - written >= self.policy.override_after:
                    del self.manual[zone]
        super().step(now, dt)

    def revert(self) -> None:
        """Back to ``revert_mode`` with no manual duties."""
        super().revert()
        self.mode = self.policy.revert_mode
        self.manual.clear()

    def handle(self, netfn: int, cmd: int, data: bytes) -> Reply:
        """0x30 0x45 (mode), 0x30 0x70 0x66 (zone duty / X14 bypass), 0x30 0x91 (X9 duty)."""
        if netfn != 0x30:
            return CC_INVALID_CMD, b""
        if cmd == 0x45:
            return self._fan_mode(data)
        if cmd == 0x70:
            if self.generation == "x9":
                return CC_INVALID_DATA, b""
            if not data or data[0] != 0x66:
                return CC_INVALID_DATA, b""
            return self._zone_cmd(data[1:])
        if cmd == 0x91 and self.generation == "x9":
            if len(data) != 4 or data[0] != 0x5A or data[1] != 0x03 or not 0x10 <= data[2] < 0x10 + self.zones:
                return CC_INVALID_DATA, b""
            self._set_manual(data[2] - 0x10, data[3] * 100.0 / 255.0)
            return CC_OK, b""
        return CC_INVALID_CMD, b""

    @property
    def zones(self) -> int:
        """Number of fan zones of the board."""
        return self.machine.profile.zones

    def _fan_mode(self, data: bytes) -> Reply:
        if not data:
            return CC_BAD_LENGTH, b""
        if data[0] == 0x00:
            return CC_OK, bytes([self.mode])
        if data[0] == 0x01:
            if len(data) != 2:
                return CC_BAD_LENGTH, b""
            if data[1] not in SM_MODE_NAMES:
                return CC_INVALID_DATA, b""
            self.mode = data[1]
            self.manual.clear()
            self.mode_set_at = self.machine.now
            return CC_OK, b""
        return CC_INVALID_DATA, b""

    def _zone_cmd(self, data: bytes) -> Reply:
        strict = bool(self.machine.profile.oem.get("strict_length", True))
        if not data:
            return CC_BAD_LENGTH, b""
        op = data[0]
        if op == 0x00:  # read zone duty
            if len(data) < 2 or (strict and len(data) != 2):
                return CC_BAD_LENGTH, b""
            if data[1] >= self.zones:
                return CC_INVALID_DATA, b""
            return CC_OK, bytes([round(self.zone_duty(data[1]))])
        if op == 0x01:  # set zone duty
            if len(data) < 3 or (strict and len(data) != 3):
                return CC_BAD_LENGTH, b""
            zone, duty = data[1], data[2]
            if self.generation == "x14":
                if self.lockdown:
                    return CC_PRIVILEGE, b""
                if not self.bypass:
                    return CC_INVALID_DATA, b""
            if zone >= self.zones or duty > 100:
                return CC_INVALID_DATA, b""
            self._set_manual(zone, float(duty))
            return CC_OK, b""
        if op == 0x02 and self.generation == "x14":  # ATEN bypass on/off
            if len(data) != 2 or data[1] not in (0, 1):
                return CC_INVALID_DATA, b""
            if self.lockdown:
                return CC_PRIVILEGE, b""
            self.bypass = bool(data[1])
            if not self.bypass:
                self.manual.clear()
            return CC_OK, b""
        return CC_INVALID_DATA, b""

    def _set_manual(self, zone: int, duty: float) -> None:
        self.manual[zone] = (duty, self.machine.now)


class DellFans(FanControl):
    """Dell iDRAC fan control (docs/ipmi-notes.md §1).

    ``0x30 0x30 0x01 0x00/0x01`` manual/automatic,
    ``0x30 0x30 0x02 0xFF|<fan> <pct>`` duty; ``0x30 0xCE`` third-party PCIe card cooling response on
    generation 13 and older (C1h from 14 on). ``locked`` firmware answers D4h to the fan commands.
    In automatic mode written duties are stored but ignored; the enabled PCIe cooling response raises
    the automatic duty by ``pcie_boost`` percent (the byte layout of the 0xCE read answer is a guess).
    """

    pcie_boost = 25.0

    def reset(self) -> None:
        """Power-on defaults: automatic, no duties, PCIe cooling response enabled."""
        super().reset()
        self.manual_mode = False
        self.all_duty: float | None = None
        self.fan_duty_map: dict[int, float] = {}
        self.pcie_cooling = True

    def state(self) -> dict[str, object]:
        """Manual flag, duties and PCIe cooling response."""
        out = super().state()
        out.update(
            {
                "manual": self.manual_mode,
                "all_duty": self.all_duty,
                "fan_duty": {str(k): v for k, v in self.fan_duty_map.items()},
                "pcie_cooling": self.pcie_cooling,
            }
        )
        return out

    def duty_for(self, zone: int, index: int) -> float:
        """Manual: per-fan duty, else the all-fans duty, else the automatic duty."""
        if self.manual_mode:
            if index in self.fan_duty_map:
                return self.fan_duty_map[index]
            if self.all_duty is not None:
                return self.all_duty
        auto = self.auto_duty(zone)
        if self.pcie_cooling and int(str(self.machine.profile.oem.get("generation", 13))) <= 13:
            auto = min(100.0, auto + self.pcie_boost)
        return auto

    def revert(self) -> None:
        """Back to automatic."""
        super().revert()
        self.manual_mode = False

    def handle(self, netfn: int, cmd: int, data: bytes) -> Reply:
        """0x30 0x30 (manual/auto, duty) and 0x30 0xCE (PCIe cooling response)."""
        oem = self.machine.profile.oem
        if netfn != 0x30:
            return CC_INVALID_CMD, b""
        if cmd == 0x30:
            if oem.get("locked"):
                return CC_PRIVILEGE, b""
            return self._fan(data)
        if cmd == 0xCE:
            if int(str(oem.get("generation", 13))) >= 14:
                return CC_INVALID_CMD, b""
            return self._pcie(data)
        return CC_INVALID_CMD, b""

    def _fan(self, data: bytes) -> Reply:
        if len(data) < 2:
            return CC_BAD_LENGTH, b""
        if data[0] == 0x01:
            if len(data) != 2 or data[1] not in (0, 1):
                return CC_INVALID_DATA, b""
            self.manual_mode = data[1] == 0x00
            self.mode_set_at = self.machine.now if self.manual_mode else None
            return CC_OK, b""
        if data[0] == 0x02:
            if len(data) != 3:
                return CC_BAD_LENGTH, b""
            target, pct = data[1], data[2]
            if pct > 100:
                return CC_INVALID_DATA, b""
            if target == 0xFF:
                self.all_duty = float(pct)
                self.fan_duty_map.clear()
            elif target < len(self.machine.fans()):
                self.fan_duty_map[target] = float(pct)
            else:
                return CC_INVALID_DATA, b""
            return CC_OK, b""
        return CC_INVALID_DATA, b""

    _PCIE_PREFIX = bytes([0x16, 0x05, 0x00, 0x00, 0x00])

    def _pcie(self, data: bytes) -> Reply:
        if len(data) >= 6 and data[0] == 0x01 and data[1:6] == self._PCIE_PREFIX:
            flag = 0x00 if self.pcie_cooling else 0x01
            return CC_OK, self._PCIE_PREFIX + bytes([0x05, 0x00, flag, 0x00, 0x00])
        if len(data) == 11 and data[0] == 0x00 and data[1:6] == self._PCIE_PREFIX and data[6] == 0x05:
            self.pcie_cooling = data[8] == 0x00
            return CC_OK, b""
        return CC_INVALID_DATA, b""


def make_fan_control(machine: Machine) -> FanControl:
    """Fan controller class for the profile's vendor."""
    vendor = machine.profile.vendor
    if vendor == SUPERMICRO:
        return SupermicroFans(machine)
    if vendor == DELL:
        return DellFans(machine)
    return FanControl(machine)
