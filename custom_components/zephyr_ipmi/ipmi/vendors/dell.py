"""Dell iDRAC 7/8/9 fan control (OEM netfn 0x30), with the third-party PCIe card cooling response.

Sources (/work/shared/docs/ipmi-field-notes.md §1): tigerblue77/Dell_iDRAC_fan_controller_Docker and its
issues #263 (PCIe cooling), #346/#350/#29 (iDRAC9 >= 3.34.34.34 answers 0xD4), #378/#379 (fan index).

* Manual: ``0x30 0x30 0x01 0x00``; automatic: ``0x30 0x30 0x01 0x01``. No documented read of either.
* Duty: ``0x30 0x30 0x02 0xFF <percent>`` for all fans, ``0x30 0x30 0x02 <fan index> <percent>`` for one
  (iDRAC6 on an R510 refuses 0xFF with 0xCC). No documented read back.
* PCIe cooling response (generation 13 and older; 14+ answers 0xC1): read ``0x30 0xCE 0x01 0x16 0x05 0x00
  0x00 0x00``; disable ``0x30 0xCE 0x00 0x16 0x05 0x00 0x00 0x00 0x05 0x00 0x01 0x00 0x00`` (``... 0x00 0x00
  0x00`` at the end enables). The layout of the read answer is not documented; byte 8 (0-based 7) mirrors
  the written flag (0x00 enabled, 0x01 disabled) as bmcsim assumes.
* Generation: the PowerEdge model's second digit (R730 -> 13, R740 -> 14, R7525 -> 15), else the iDRAC
  firmware major version (1 -> iDRAC7, 2 -> iDRAC8, 3 and later -> iDRAC9).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import BmcIdentity
from .base import (
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
)

#: Dell fans run up to 14000-16000 rpm: 15 % is about 2000 rpm, well above their 360/480 rpm thresholds.
FLOOR = 15
ALL_FANS = 0xFF
_PCIE_PREFIX = b"\x16\x05\x00\x00\x00"
_IDRAC_BY_GENERATION = {11: "idrac6", 12: "idrac7", 13: "idrac8"}


class DellCommands(VendorCommandSet):
    """Dell iDRAC manual/automatic mode, all-fans and per-fan duty, PCIe cooling response."""

    def set_fan_mode(self, mode: FanMode) -> list[WriteRequest]:
        """``0x30 0x30 0x01 0x00`` (manual) or ``0x30 0x30 0x01 0x01`` (automatic)."""
        return [
            WriteRequest(
                name="set_fan_mode",
                netfn=0x30,
                command=0x30,
                data=b"\x01\x00" if mode is FanMode.MANUAL else b"\x01\x01",
                kind=WriteKind.FAN_MODE,
                mode=FanMode.MANUAL if mode is FanMode.MANUAL else FanMode.AUTOMATIC,
            )
        ]

    def set_zone_duty(self, zone: FanZone, percent: int) -> list[WriteRequest]:
        """Manual mode first, then ``0x30 0x30 0x02 <0xFF | fan index> <percent>``."""
        return [
            *self.set_fan_mode(FanMode.MANUAL),
            WriteRequest(
                name="set_zone_duty",
                netfn=0x30,
                command=0x30,
                data=bytes([0x02, zone.index, percent]),
                kind=WriteKind.ZONE_DUTY,
                zone=zone.index,
                duty=percent,
                subject=zone.name,
            ),
        ]

    def set_pcie_cooling(self, enabled: bool) -> list[WriteRequest]:
        """``0x30 0xCE 0x00 0x16 0x05 0x00 0x00 0x00 0x05 0x00 <0x00 enable | 0x01 disable> 0x00 0x00``."""
        if not self._capabilities.pcie_cooling:
            return super().set_pcie_cooling(enabled)
        return [
            WriteRequest(
                name="set_pcie_cooling",
                netfn=0x30,
                command=0xCE,
                data=b"\x00" + _PCIE_PREFIX + bytes([0x05, 0x00, 0x00 if enabled else 0x01, 0x00, 0x00]),
                kind=WriteKind.PCIE_COOLING,
                enabled=enabled,
                readback=self.read_pcie_cooling(),
            )
        ]

    def read_pcie_cooling(self) -> ReadRequest | None:
        """``0x30 0xCE 0x01 0x16 0x05 0x00 0x00 0x00`` where the generation answers it."""
        if not self._capabilities.pcie_cooling:
            return None
        return ReadRequest("pcie_cooling", 0x30, 0xCE, b"\x01" + _PCIE_PREFIX)

    def decode_pcie_cooling(self, data: bytes) -> bool | None:
        """Byte 7 of the answer: 0x00 enabled, 0x01 disabled (layout assumed, see module docstring)."""
        if len(data) < 8 or data[7] not in (0x00, 0x01):
            return None
        return data[7] == 0x00


def _generation(identity: BmcIdentity) -> int | None:
    """PowerEdge generation from the model name (R730 -> 13, R7525 -> 15), else from the iDRAC firmware."""
    found = re.search(r"\b[A-Z]{1,3}(\d{3,4})", identity.model or "", re.IGNORECASE)
    if found:
        return 10 + int(found.group(1)[1])
    try:
        major = int(identity.firmware.split(".", 1)[0])
    except ValueError:
        return None
    return {1: 12, 2: 13}.get(major, 14 if major >= 3 else None)


def detect(identity: BmcIdentity, request: RequestFn, fans: Sequence[str] = ()) -> DellCommands:
    """Find what a Dell iDRAC does with read-only requests only.

    Generation from the model or firmware (module docstring); the PCIe cooling read is sent on generation
    13 and older (or unknown) and its answer decides ``pcie_cooling``. Firmware that refuses raw fan
    commands cannot be told without a write: it is found at the first fan write (``FanController``).
    Raises ``IpmiConnectionError`` if the BMC is silent.
    """
    gen = _generation(identity)
    name = None if gen is None else _IDRAC_BY_GENERATION.get(gen, "idrac9" if gen >= 14 else "idrac6")
    pcie = False
    if gen is None or gen <= 13:
        data = answers(request, 0x30, 0xCE, b"\x01" + _PCIE_PREFIX)
        pcie = data is not None and len(data) >= 8 and data[7] in (0x00, 0x01)
    zones: list[FanZone] = []
    if name != "idrac6":  # iDRAC6 refuses the all-fans index 0xFF with 0xCC
        zones.append(FanZone(index=ALL_FANS, key="all", name="All fans", fans=fan_names(fans)))
    zones += [FanZone(index=i, key=f"fan_{i + 1}", name=fan, fans=(fan,)) for i, fan in enumerate(fan_names(fans))]
    power = chassis_supported(request)
    return DellCommands(
        Capabilities(
            vendor="dell",
            generation=name,
            fan_control=True,
            modes=(FanMode.AUTOMATIC, FanMode.MANUAL),
            automatic_mode=FanMode.AUTOMATIC,
            zones=tuple(zones),
            duty_floor=FLOOR,
            duty_encoding="percent",
            pcie_cooling=pcie,
            power_control=power,
            identify=power,
        )
    )
