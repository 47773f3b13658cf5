"""The pyghmi boundary: how pyghmi's failures reach the rest of the core (docs/ipmi-notes.md §3)."""

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
        (IpmiException("Session no longer connected"), IpmiConnectionError, "did not answer"),
        # pyghmi's free text may name the user: it is never passed on.
        (
            IpmiException("Failed to establish session while requesting privelege level 3 for b'operator'"),
            IpmiConnectionError,
            "refused the session (IpmiException)",
        ),
        (IpmiException("Invalid role in RAKP2"), IpmiConnectionError, "refused the session"),
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


def test_queued_response_is_not_slept_on() -> None:
    """pyghmi defect (g): a wait for a BMC whose answer is already queued must return at once.

    pyghmi's own ``_io_wait`` sleeps until its deadline in that case (the retransmission timer, 0.5-1 s);
    the wrapped one returns immediately, and never sleeps longer than ``WAKE_CAP`` before the caller re-checks.
    """
    import time
    from types import SimpleNamespace

    from pyghmi.ipmi.private import session as pyghmi_session

    from custom_components.zephyr_ipmi.ipmi import session as session_module

    session_module._install_pyghmi_workarounds()
    session_module._install_pyghmi_workarounds()  # installing twice wraps once
    wrapped = pyghmi_session._io_wait
    assert wrapped.zephyr_prompt_wakeup
    addr = ("::ffff:127.0.0.9", 6230, 0, 0)
    pending = SimpleNamespace(pktqueue=[b"answer"])
    pyghmi_session.Session.bmc_handlers[addr] = {40000: pending}
    try:
        started = time.monotonic()
        wrapped(5.0, addr)
        assert time.monotonic() - started < 0.5
        pending.pktqueue.clear()
        started = time.monotonic()
        wrapped(5.0, addr)
        assert time.monotonic() - started < 0.5
    finally:
        del pyghmi_session.Session.bmc_handlers[addr]


def test_pyghmi_session_locks_are_one_lock() -> None:
    """pyghmi defect (i): with two locks taken in opposite orders, one dead BMC deadlocks the others."""
    from pyghmi.ipmi.private import session as pyghmi_session

    from custom_components.zephyr_ipmi.ipmi import session as session_module

    session_module._install_pyghmi_workarounds()
    assert pyghmi_session.KEEPALIVE_SESSIONS is pyghmi_session.WAITING_SESSIONS


class _FakePyghmiSession:
    """Stands in for pyghmi's private session object: what no BMC can make pyghmi do on demand."""

    def __init__(self, *, logout_raises: bool = False) -> None:
        self.logged = 1
        self.broken = False
        self.maxtimeout = 0
        self.logouts = 0
        self.socket = None  # pyghmi's socket of the session (None: none of Zephyr's own)
        self._logout_raises = logout_raises

    def logout(self) -> None:
        self.logouts += 1
        if self._logout_raises:
            raise OSError("network is unreachable")


class _FakeCommand:
    """A pyghmi ``Command`` whose ``raw_command`` answers a fixed dict (pyghmi reports errors in the dict)."""

    def __init__(self, answer: dict[str, object]) -> None:
        self.ipmi_session = _FakePyghmiSession()
        self._answer = answer

    def raw_command(self, **_: object) -> dict[str, object]:
        return dict(self._answer)


def test_an_ipmi_error_passes_through_translation_unchanged() -> None:
    original = IpmiAuthError("the BMC refused the user name or password")
    assert translate_error(original) is original


def test_retransmissions_without_a_time_bound_use_pyghmis_cap() -> None:
    from custom_components.zephyr_ipmi.ipmi import session as session_module

    assert session_module._retransmit_limit(None) == session_module.RETRANSMIT_LIMIT
    # 1 + 2 = 3 s of timers fit in 3.5 s; a third retransmission (6 s in all) would not.
    assert session_module._retransmit_limit(3.5) == 2
    assert session_module._retransmit_limit(0.1) == 1


def test_an_error_pyghmi_reports_in_its_answer_is_a_connection_error() -> None:
    """pyghmi returns {"error": text} instead of raising for some lost sessions: never taken as data."""
    session = LanplusSession("127.0.0.1", 623, "ADMIN", "secret")
    session._command = _FakeCommand({"error": "timeout"})
    with pytest.raises(IpmiConnectionError, match="timeout"):
        session.request(0x06, 0x01)
    assert session.round_trip == 0.0  # a failed request is no answer time


def test_a_request_for_a_session_that_was_replaced_is_refused() -> None:
    """A request made for login ``generation`` never reaches a newer session whose BMC was not checked."""
    session = LanplusSession("127.0.0.1", 623, "ADMIN", "secret")
    session._command = _FakeCommand({"code": 0, "data": b"\x20"})
    session.generation = 2
    assert session.request(0x06, 0x01, generation=2) == b"\x20"
    with pytest.raises(IpmiConnectionError, match="changed"):
        session.request(0x06, 0x01, generation=1)


def test_a_failed_logout_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Close Session may fail (BMC gone); the BMC expires the session by itself, nothing is raised."""
    import logging

    session = LanplusSession("127.0.0.1", 623, "ADMIN", "secret")
    fake = _FakePyghmiSession(logout_raises=True)
    with caplog.at_level(logging.DEBUG, logger="custom_components.zephyr_ipmi.ipmi.session"):
        session._logout(fake)
    assert fake.logouts == 1
    assert "logout from 127.0.0.1 failed" in caplog.text


def test_a_deferred_logout_gives_up_while_a_request_holds_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from custom_components.zephyr_ipmi.ipmi import session as session_module

    monkeypatch.setattr(session_module, "LOGOUT_LATER_WAIT", 0.05)
    session = LanplusSession("127.0.0.1", 623, "ADMIN", "secret")
    fake = _FakePyghmiSession()
    with session._lock:
        session._logout_after_request(fake)
    assert fake.logouts == 0
    session._logout_after_request(fake)
    assert fake.logouts == 1
