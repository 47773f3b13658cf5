"""The session with one BMC and the proof that the BMC answering it is the expected one.

A new login (first use, BMC restart, lost or expired session) gives a new session generation; requests
are only sent on a generation whose BMC identity was read or checked (``BmcConnection.ensure``).
"""

from __future__ import annotations

import threading

from .errors import IpmiConnectionError, IpmiWrongBmcError
from .identity import read_guid, read_identity
from .models import BmcIdentity
from .session import LanplusSession


class BmcConnection:
    """One BMC's lanplus session, logged in on demand, with the identity checked at each new login.

    Thread-safe: logins are serialised; requests are serialised per request by the session.
    """

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        """Store where and as whom to log in; nothing is sent yet."""
        self.host = host
        self.port = port
        self.session = LanplusSession(host, port, username, password)
        self._login_lock = threading.Lock()
        self._identity: BmcIdentity | None = None
        self._confirmed_generation = -1

    @property
    def identity(self) -> BmcIdentity | None:
        """The identity read at the first login, or None before it."""
        return self._identity

    @property
    def confirmed(self) -> bool:
        """True while the session is logged in and the BMC's identity was read or checked on it."""
        return self.session.alive and self._confirmed_generation == self.session.generation

    def ensure(self) -> BmcIdentity:
        """Log in when there is no live session and check who answers; return the BMC's identity.

        Raises ``IpmiWrongBmcError`` (after logging out) when another BMC answers than the one first seen,
        and the session's errors (``IpmiAuthError``, ``IpmiConnectionError`` …) when the login fails.
        """
        with self._login_lock:
            if not self.session.alive:
                self.session.open()
            generation = self.session.generation
            identity = self._identity
            if self._confirmed_generation != generation or identity is None:
                identity = self._confirm(identity)
                self._identity = identity
                self._confirmed_generation = generation
            return identity

    def _confirm(self, known: BmcIdentity | None) -> BmcIdentity:
        """Read the identity of a new session's BMC, or check it against the one known."""
        if known is None:
            return read_identity(self.session)
        if known.guid is not None and read_guid(self.session) != known.guid:
            self.session.close()
            raise IpmiWrongBmcError("a different BMC answers at this address")
        return known

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one request on the confirmed session (no login); see ``LanplusSession.request``.

        Raises ``IpmiConnectionError`` when no session is confirmed.
        """
        generation = self._confirmed_generation
        if not self.confirmed:
            raise IpmiConnectionError("no session with the BMC")
        return self.session.request(netfn, command, data, lun=lun, generation=generation)

    def drop(self) -> None:
        """Forget the session after a failure (logged out best effort); the next ``ensure`` logs in again."""
        self.session.close()

    def close(self) -> None:
        """Log out and forget the session."""
        self.session.close()
