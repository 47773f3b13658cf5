"""Supermicro fan control: fan modes and zone duties (OEM netfn 0x30), by board generation.

Sources (/work/shared/docs/ipmi-field-notes.md §1, docs/ipmi-notes.md): petersulyok/smfc and the
ServeTheHome "X9/X10/X11 fan speed control" thread.

* Fan mode, all generations: get ``0x30 0x45 0x00`` -> mode byte; set ``0x30 0x45 0x01 <mode>``
  (0 Standard, 1 Full, 2 Optimal, 3 PUE2, 4 Heavy IO).
* Zone duty, X10-X13 (and X14 ATEN): set ``0x30 0x70 0x66 0x01 <zone> <duty %>`` (exactly six bytes,
  duty 0x00-0x64), read ``0x30 0x70 0x66 0x00 <zone>``. The BMC overwrites the duty unless the fan mode
  is Full, so Full is set first.
* X9: ``0x30 0x70`` answers 0xCC; the duty is ``0x30 0x91 0x5A 0x03 <0x10 + zone> <0x00-0xFF>``
  (smfc genericx9, unverified on hardware) and cannot be read back.
* X14 (ATEN): ``0x30 0x70 0x66 0x02 0x01`` (bypass on) before a zone duty, ``0x02 0x00`` off; 0xD4 means
  the system lockdown is on. X14 OpenBMC firmware uses OEM netfn 0x2E and must never get ``0x30 0x45 0x01``;
  it does not answer the ``0x30 0x45 0x00`` read, so it is left monitoring-only.
* Zones: 0 = FAN1...FANn (CPU/system), 1 = FANA/FANB (peripheral); X10DRG/X10DRU have 4 (smfc #20, #31).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import BmcIdentity
from .base import (
    DEFAULT_FLOOR,
    Capabilities,
    FanMode,
    FanZone,
    ReadRequest,
    RequestFn,
    VendorCommandSet,
    WriteKind,
    WriteRequest,
    answers,
    chassis_supported,
    fan_names,
    generation_number,
    read_board_product,
)

#: Mode byte of ``0x30 0x45`` by mode.
MODE_BYTES: dict[FanMode, int] = {
    FanMode.STANDARD: 0,
    FanMode.FULL: 1,
    FanMode.OPTIMAL: 2,
    FanMode.PUE2: 3,
    FanMode.HEAVY_IO: 4,
}
_MODES_BY_BYTE = {value: mode for mode, value in MODE_BYTES.items()}
#: Supermicro documents at most 4 fan zones (X10DRG, X10DRU; smfc issues #20, #31).
MAX_ZONES = 4
#: Duty floors (%): X9's 0-255 encoding is unverified on hardware, so it keeps a wider margin.
FLOOR_X9 = 25
FLOOR = DEFAULT_FLOOR
_ZONE_NAMES = {0: ("cpu", "CPU zone"), 1: ("peripheral", "Peripheral zone")}
#: Board names: X9SCM-F, X10DRG-Q, X11SSH-F, X13SAE-F, X14SBI-TF; H11-H14 are the AMD boards of the same eras.
_BOARD_GENERATION = r"^\s*([XH]\d{1,2})"


#: Generations whose BMC is an ASPEED AST2600 (X12, X13, X14, H13, H14; H12 boards carry an AST2500). Some of
#: these accept only the lower-critical fan threshold (field notes §2); as no read tells which, Zephyr writes
#: only lower-critical on all of them: a threshold left alone is safe, a refused write is not useful.
LCR_ONLY_FAN_GENERATIONS = frozenset({"x12", "x13", "x14", "h13", "h14"})


class SupermicroCommands(VendorCommandSet):
    """Supermicro X9-X14 (ATEN firmware) fan modes and zone duties; see the module docstring for bytes."""

    def read_fan_mode(self) -> ReadRequest:
        """Get fan mode: ``0x30 0x45 0x00``."""
        return ReadRequest("fan_mode", 0x30, 0x45, b"\x00")

    def decode_fan_mode(self, data: bytes) -> FanMode | None:
        """Mode byte 0-4 -> ``FanMode``; anything else None."""
        return _MODES_BY_BYTE.get(data[0]) if data else None

    def set_fan_mode(self, mode: FanMode) -> list[WriteRequest]:
        """Set fan mode: ``0x30 0x45 0x01 <mode>``, read back with ``0x30 0x45 0x00``."""
        return [
            WriteRequest(
                name="set_fan_mode",
                netfn=0x30,
                command=0x45,
                data=bytes([0x01, MODE_BYTES[mode]]),
                kind=WriteKind.FAN_MODE,
                mode=mode,
                readback=self.read_fan_mode(),
            )
        ]

    def set_zone_duty(self, zone: FanZone, percent: int) -> list[WriteRequest]:
        """Full mode, then (X14) the bypass, then the zone duty in the board's encoding.

        X10+: ``0x30 0x70 0x66 0x01 <zone> <percent>``; X9: ``0x30 0x91 0x5A 0x03 <0x10+zone> <percent*255/100>``.
        """
        writes = self.set_fan_mode(FanMode.FULL)
        if self._capabilities.bypass:
            writes.append(
                WriteRequest(
                    name="x14_bypass",
                    netfn=0x30,
                    command=0x70,
                    data=b"\x66\x02\x01",
                    kind=WriteKind.BYPASS,
                    enabled=True,
                )
            )
        if self._capabilities.duty_encoding == "byte":
            data = bytes([0x5A, 0x03, 0x10 + zone.index, round(percent * 255 / 100)])
            writes.append(
                WriteRequest(
                    name="set_zone_duty",
                    netfn=0x30,
                    command=0x91,
                    data=data,
                    kind=WriteKind.ZONE_DUTY,
                    zone=zone.index,
                    duty=percent,
                    subject=zone.name,
                )
            )
        else:
            writes.append(
                WriteRequest(
                    name="set_zone_duty",
                    netfn=0x30,
                    command=0x70,
                    data=bytes([0x66, 0x01, zone.index, percent]),
                    kind=WriteKind.ZONE_DUTY,
                    zone=zone.index,
                    duty=percent,
                    subject=zone.name,
                    readback=self.read_zone_duty(zone),
                )
            )
        return writes

    def read_zone_duty(self, zone: FanZone) -> ReadRequest | None:
        """Read zone duty ``0x30 0x70 0x66 0x00 <zone>`` (X10+); None on X9, which has no read."""
        if self._capabilities.duty_encoding == "byte":
            return None
        return ReadRequest("zone_duty", 0x30, 0x70, bytes([0x66, 0x00, zone.index]))

    def decode_zone_duty(self, data: bytes) -> int | None:
        """Return the duty byte in % (0-100); None when absent or above 100."""
        return data[0] if data and data[0] <= 100 else None

    def hand_back(self, mode: FanMode | None) -> list[WriteRequest]:
        """X14: bypass off (``0x30 0x70 0x66 0x02 0x00``) first; then the fan mode (resets manual duties)."""
        writes: list[WriteRequest] = []
        if self._capabilities.bypass:
            writes.append(
                WriteRequest(
                    name="x14_bypass",
                    netfn=0x30,
                    command=0x70,
                    data=b"\x66\x02\x00",
                    kind=WriteKind.BYPASS,
                    enabled=False,
                )
            )
        return writes + super().hand_back(mode)

    def settable_thresholds(self, sensor_kind: str) -> frozenset[str] | None:
        """Fan sensors of AST2600 boards (``LCR_ONLY_FAN_GENERATIONS``) take only lower-critical (field notes §2)."""
        if sensor_kind == "fan" and self._capabilities.generation in LCR_ONLY_FAN_GENERATIONS:
            return frozenset({"lcr"})
        return None


def _zones(count: int, fans: Sequence[str]) -> tuple[FanZone, ...]:
    """Zones 0..count-1; on 2-zone boards FAN<digit> fans go to the CPU zone and FAN<letter> to peripheral."""
    names = fan_names(fans)
    zones = []
    for index in range(count):
        key, name = _ZONE_NAMES.get(index, (f"zone_{index}", f"Zone {index}"))
        members: tuple[str, ...] = ()
        if count == 2:
            pattern = r"^FAN\s*\d+$" if index == 0 else r"^FAN\s*[A-Z]$"
            members = tuple(n for n in names if re.match(pattern, n, re.IGNORECASE))
        zones.append(FanZone(index=index, key=key, name=name, fans=members))
    return tuple(zones)


def detect(identity: BmcIdentity, request: RequestFn, fans: Sequence[str] = ()) -> SupermicroCommands:
    """Find what a Supermicro BMC does with read-only requests only.

    The generation comes from FRU 0's board name (``X11SSH-F`` -> "x11"); ``0x30 0x45 0x00`` must answer
    (else monitoring only, e.g. X14 OpenBMC); ``0x30 0x70 0x66 0x00 <zone>`` is read for zones 0-3 until the
    first refusal to count the zones. Without that read, an X9 board uses the 0-255 ``0x30 0x91`` duty;
    any other board gets fan modes only (no zone duty). Raises ``IpmiConnectionError`` if the BMC is silent.
    """
    board = read_board_product(request)
    found = re.match(_BOARD_GENERATION, board or "")
    generation = found.group(1).lower() if found else None
    number = generation_number(generation, r"(\d+)")
    power = chassis_supported(request)
    mode_data = answers(request, 0x30, 0x45, b"\x00")
    if not mode_data:
        return SupermicroCommands(
            Capabilities(
                vendor="supermicro",
                generation=generation,
                fan_control=False,
                fan_control_reason="supermicro_fan_commands_unanswered",
                power_control=power,
                identify=power,
            )
        )
    zone_count = 0
    while zone_count < MAX_ZONES and answers(request, 0x30, 0x70, bytes([0x66, 0x00, zone_count])):
        zone_count += 1
    encoding: str = "percent"
    if zone_count == 0 and number == 9:
        encoding, zone_count = "byte", 2  # X9: zone 0 CPU/system, zone 1 peripheral
    modes = [FanMode.STANDARD, FanMode.FULL, FanMode.OPTIMAL, FanMode.PUE2, FanMode.HEAVY_IO]
    if number == 9:
        modes.remove(FanMode.PUE2)  # PUE2 exists on "some boards" from X10 on (field notes §1)
        current = _MODES_BY_BYTE.get(mode_data[0])
        if current is FanMode.PUE2:
            modes.insert(3, current)
    return SupermicroCommands(
        Capabilities(
            vendor="supermicro",
            generation=generation,
            fan_control=True,
            modes=tuple(modes),
            automatic_mode=FanMode.STANDARD,
            zones=_zones(zone_count, fans),
            duty_floor=FLOOR_X9 if encoding == "byte" else FLOOR,
            duty_encoding="byte" if encoding == "byte" else "percent",
            bypass=number == 14,
            power_control=power,
            identify=power,
        )
    )
