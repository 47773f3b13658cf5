"""Exception tree of the IPMI core.

``IpmiError`` is the root; the Home Assistant layer maps ``IpmiAuthError`` to reauthentication and every
other ``IpmiError`` to "cannot connect" / unavailable. Messages never contain credentials.
"""

from __future__ import annotations


class IpmiError(Exception):
    """Any failure talking to a BMC."""


class IpmiConnectionError(IpmiError):
    """The BMC did not answer, the host name did not resolve, or the session was lost."""


class IpmiAuthError(IpmiError):
    """The BMC rejected the user name or password (RAKP 2 / RAKP 4 failure, IPMI 2.0 §13.20-13.31)."""


class IpmiWrongBmcError(IpmiConnectionError):
    """After a new login, another BMC than the one first seen answers at the configured address.

    Told by the system GUID, or without one by manufacturer, product, device id, FRU serial and model,
    and the firmware revision (``identity.same_bmc``).
    """


class IpmiClientClosedError(IpmiConnectionError):
    """The client was closed (its entry unloaded or removed): it sends nothing and logs in no more."""


class IpmiSessionLimitError(IpmiConnectionError):
    """The BMC refused a new session for lack of resources (RMCP+ status code 0x01/0x02, IPMI 2.0 Table 13-15)."""


class IpmiProtocolError(IpmiError):
    """The BMC answered with something that cannot be decoded (malformed or truncated reply)."""


class IpmiCompletionCodeError(IpmiError):
    """A request was answered with a non-zero completion code (IPMI 2.0 §5.2, Table 5-2).

    ``code`` is the completion code byte, e.g. 0xC1 invalid command, 0xCB not present, 0xD4 insufficient
    privilege.
    """

    def __init__(self, netfn: int, command: int, code: int) -> None:
        """Record which request (netfn, command) failed with which completion code."""
        super().__init__(f"netfn 0x{netfn:02X} command 0x{command:02X} answered completion code 0x{code:02X}")
        self.netfn = netfn
        self.command = command
        self.code = code


class IpmiWriteRefusedError(IpmiError):
    """The write gate refused a write before sending it (nothing reached the BMC).

    ``reason`` is a translation key (``duty_zero``, ``duty_below_floor``, ``duty_out_of_range``,
    ``identity_unconfirmed``, ``not_supported``, ``raw_command_forbidden``, ``raw_command_invalid``,
    ``threshold_invalid``, ``threshold_not_settable``, ``fan_control_lost``, ``unknown_zone``,
    ``unknown_mode``, or a ``Capabilities.fan_control_reason`` such as
    ``firmware_refuses_raw_fan_commands``); ``placeholders`` are the values its message names
    (e.g. ``floor``, ``duty``, ``threshold``). Neither ever carries a secret or a library's text.
    """

    def __init__(self, reason: str, **placeholders: str) -> None:
        """Record why (``reason``, a translation key) and the message's placeholders."""
        detail = ", ".join(f"{key}={value}" for key, value in sorted(placeholders.items()))
        super().__init__(f"write refused: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.placeholders = placeholders


class IpmiFanControlLockedError(IpmiError):
    """The BMC's firmware refuses raw fan commands (seen at a fan write, e.g. Dell iDRAC9 ≥ 3.34.34.34).

    ``code`` is the completion code the BMC answered (0xD4 insufficient privilege, 0xC1 invalid
    command, 0xCC invalid data field; IPMI 2.0 Table 5-2). ``reason`` is the translation key the
    capabilities then carry (``firmware_refuses_raw_fan_commands``, ``x14_lockdown``). Raised once;
    afterwards fan writes are refused without being sent (``IpmiWriteRefusedError`` with that reason).
    """

    def __init__(self, code: int, reason: str = "firmware_refuses_raw_fan_commands") -> None:
        """Record the completion code and the translation key of the lock."""
        super().__init__(f"the BMC refuses raw fan commands (completion code 0x{code:02X})")
        self.code = code
        self.reason = reason
