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
    """After a new login, a BMC with another system GUID answers at the configured address."""


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
