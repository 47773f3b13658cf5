"""Rules for raw IPMI commands sent on an owner's behalf: byte checks, a deny-list, fan-duty checks.

A raw command passes the write gate like any write. Refused outright (IPMI 2.0 Appendix G command
numbers): user, password, channel and session settings; LAN, serial and SOL configuration; FRU and SDR
repository writes; firmware transfer and update (netfn 0x08/0x09, PICMG HPM.1 upgrade commands, AMI's OEM
netfn 0x32 whose YAFU flash commands live there, Supermicro's factory-default resets ``0x30 0x40``,
``0x30 0x48`` and ``0x3C 0x40``, which also reset users and passwords); Send Message (§22.7),
which bridges any request (e.g. Set User Password) to another channel; the vendors' BMC network port
selection (Supermicro ``0x30 0x70 0x0C 0x01 <mode>``, Dell ``0x30 0x24`` 11G and ``0x30 0x28`` 12G+ NIC
selection, ipmitool delloem). Set Sensor
Thresholds has its own validated action. Vendor fan-duty commands are parsed so their duty meets the same
floor as every other duty write, and the seven-byte ``0x30 0x70 0x66 0x01 <zone> 0x00 <duty>`` form (a 0 %
write on lenient boards, field notes §1) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import IpmiWriteRefusedError
from .vendors.base import FanMode

#: Longest raw request data accepted (bytes); an IPMI LAN message carries well under 255.
MAX_DATA = 64

#: (netfn, command) pairs that are never sent raw.
DENIED: frozenset[tuple[int, int]] = frozenset(
    {
        (0x04, 0x26),  # Set Sensor Thresholds: use the validated action
        (0x06, 0x3B),  # Set Session Privilege Level
        (0x06, 0x34),  # Send Message: bridges any request, denied ones included, to another channel
        (0x06, 0x3C),  # Close Session
        (0x06, 0x40),  # Set Channel Access
        (0x06, 0x43),  # Set User Access
        (0x06, 0x45),  # Set User Name
        (0x06, 0x47),  # Set User Password
        (0x06, 0x4C),  # Set User Payload Access
        (0x06, 0x52),  # Master Write-Read (raw I2C writes)
        (0x06, 0x56),  # Set Channel Security Keys
        (0x0A, 0x12),  # Write FRU Data
        (0x0A, 0x24),  # Add SDR
        (0x0A, 0x25),  # Partial Add SDR
        (0x0A, 0x26),  # Delete SDR
        (0x0A, 0x27),  # Clear SDR Repository
        (0x0A, 0x2A),  # Enter SDR Repository Update Mode
        (0x0A, 0x2B),  # Exit SDR Repository Update Mode
        (0x0C, 0x01),  # Set LAN Configuration Parameters
        (0x0C, 0x10),  # Set Serial/Modem Configuration
        (0x0C, 0x12),  # Set Serial/Modem Mux
        (0x0C, 0x21),  # Set SOL Configuration Parameters
        (0x30, 0x24),  # Dell 11G: set iDRAC NIC selection (dedicated/shared)
        (0x30, 0x28),  # Dell 12G and later: set iDRAC NIC selection
        (0x30, 0x40),  # Supermicro X9: restore BMC factory defaults
        (0x30, 0x48),  # Supermicro: restore BMC factory defaults (0x01: ADMIN gets the board's unique password)
        (0x3C, 0x40),  # Supermicro X10+: restore BMC factory defaults
    }
)
#: Whole netfns never sent raw: firmware transfer (0x08/0x09) and AMI MegaRAC OEM (0x32, YAFU flash).
DENIED_NETFNS = frozenset({0x08, 0x09, 0x32})
#: PICMG HPM.1 upgrade commands (netfn 0x2C, group extension 0x00, commands 0x2E-0x37).
_HPM1 = range(0x2E, 0x38)

_SM_MODES = {0: FanMode.STANDARD, 1: FanMode.FULL, 2: FanMode.OPTIMAL, 3: FanMode.PUE2, 4: FanMode.HEAVY_IO}


@dataclass(frozen=True, kw_only=True)
class RawFanEffect:
    """What a raw command does to the fans, when it is a known vendor fan command.

    ``duty``: the duty cycle it sets (%, for the gate's floor check); ``mode``: the fan mode it sets.
    """

    duty: int | None = None
    mode: FanMode | None = None


def check(netfn: int, command: int, data: bytes) -> RawFanEffect | None:
    """Validate a raw request; return its fan effect (None when it is no known fan write).

    Raises ``IpmiWriteRefusedError("raw_command_invalid")`` for malformed bytes (odd = response netfn,
    out-of-range values, too long, a fan-duty command of the wrong length) and
    ``IpmiWriteRefusedError("raw_command_forbidden")`` for a denied command.
    """
    if not (0 <= netfn <= 0x3F and netfn % 2 == 0 and 0 <= command <= 0xFF and len(data) <= MAX_DATA):
        raise IpmiWriteRefusedError("raw_command_invalid")
    if (
        (netfn, command) in DENIED
        or netfn in DENIED_NETFNS
        or (netfn == 0x2C and command in _HPM1 and data[:1] == b"\x00")
        or (netfn == 0x30 and command == 0x70 and data[:2] == b"\x0c\x01")  # Supermicro: set BMC LAN port
    ):
        raise IpmiWriteRefusedError("raw_command_forbidden", netfn=f"0x{netfn:02X}", command=f"0x{command:02X}")
    if netfn != 0x30:
        return None
    if command == 0x70 and data[:2] == b"\x66\x01":  # Supermicro X10+ zone duty: exactly 66 01 <zone> <duty>
        if len(data) != 4:
            raise IpmiWriteRefusedError("raw_command_invalid")
        return RawFanEffect(duty=data[3])
    if command == 0x91 and data[:2] == b"\x5a\x03":  # Supermicro X9 zone duty, 0-255
        if len(data) != 4:
            raise IpmiWriteRefusedError("raw_command_invalid")
        return RawFanEffect(duty=data[3] * 100 // 255)  # rounded down: never above the duty sent
    if command == 0x30 and data[:1] == b"\x02":  # Dell duty: 02 <fan|FF> <percent>
        if len(data) != 3:
            raise IpmiWriteRefusedError("raw_command_invalid")
        return RawFanEffect(duty=data[2])
    if command == 0x30 and data[:1] == b"\x01" and len(data) == 2:  # Dell manual / automatic
        return RawFanEffect(mode=FanMode.MANUAL if data[1] == 0x00 else FanMode.AUTOMATIC)
    if command == 0x45 and data[:1] == b"\x01" and len(data) == 2 and data[1] in _SM_MODES:  # Supermicro mode
        return RawFanEffect(mode=_SM_MODES[data[1]])
    return None
