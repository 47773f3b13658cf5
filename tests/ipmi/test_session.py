"""The pyghmi boundary: how pyghmi's failures reach the rest of the core (field notes §3)."""

from __future__ import annotations

import socket
import struct

import pytest
from pyghmi.exceptions import IpmiException

from custom_components.zephyr_ipmi.ipmi.errors import (
    IpmiAuthError,
    IpmiConnectionError,
    IpmiSessionLimitError,
)
from custom_components.zephyr_ipmi.ipmi.session import LanplusSession, translate_error


@pytest.mark.parametrize(
    ("raised", "expected", "text"),
    [
        (IpmiException("Incorrect password provided"), IpmiAuthError, "user name or password"),
        (IpmiException("Unauthorized name in RAKP2"), IpmiAuthError, "user name or password"),
        (
            IpmiException("Insufficient resources to create new session (wait for existing sessions to timeout)"),
            IpmiSessionLimitError,
            "no free session",
        ),
        (IpmiException(None), IpmiConnectionError, "did not answer"),
        (IpmiException("Session no longer connected"), IpmiConnectionError, "Session no longer connected"),
        # pyghmi defect (e): a cipher-suite mismatch in Open Session raises struct.error.
        (struct.error("unpack requires a buffer of 4 bytes"), IpmiConnectionError, "cipher suite"),
        (socket.gaierror(-2, "Name or service not known"), IpmiConnectionError, "does not resolve"),
        (ConnectionRefusedError(111, "Connection refused"), IpmiConnectionError, "Connection refused"),
    ],
)
def test_pyghmi_failures_become_ipmi_errors(raised: BaseException, expected: type, text: str) -> None:
    err = translate_error(raised)
    assert type(err) is expected
    assert text in str(err)


def test_credentials_are_bytes_for_pyghmi() -> None:
    """pyghmi defect (a): str credentials let a dead session come back from its registry; bytes do not."""
    session = LanplusSession("127.0.0.1", 623, "ADMIN", "pässword")
    assert session._username == b"ADMIN"
    assert session._password == "pässword".encode()
    assert not session.alive


def test_request_without_session_is_a_connection_error() -> None:
    session = LanplusSession("127.0.0.1", 623, "ADMIN", "secret")
    with pytest.raises(IpmiConnectionError, match="no session"):
        session.request(0x06, 0x01)
    session.close()
