"""The session with one BMC and the proof that the BMC answering it is the expected one.

A new login (first use, BMC restart, lost or expired session) gives a new session generation; requests
are only sent on a generation whose BMC identity was read or checked (``BmcConnection.ensure``).
"""

from __future__ import annotations

import threading

from .errors import IpmiClientClosedError, IpmiCompletionCodeError, IpmiConnectionError, IpmiWrongBmcError
from .identity import check_identity, read_identity
from .models import BmcIdentity
from .session import LanplusSession, time_bound

#: Longest a login with its identity check may take (s): the config flow answers within about this long.
CONNECT_TIMEOUT = 15.0
#: Round trips of a login and its identity reads (Device ID, GUID, FRU areas, MAC): the bound above grows
#: by this many answer times of a slow BMC, so one answering in 1 s still connects.
CONNECT_ROUND_TRIPS = 14


class BmcConnection:
    """One BMC's lanplus session, logged in on demand, with the identity checked at each new login.

    Thread-safe: logins are serialised; requests are serialised per request by the session. Once
    ``close`` was called it stays closed: nothing is sent and no login is made any more.
    """

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        """Store where and as whom to log in; nothing is sent yet."""
        self.host = host
        self.port = port
        self.session = LanplusSession(host, port, username, password)
        self._login_lock = threading.Lock()
        self._identity: BmcIdentity | None = None
        self._confirmed_generation = -1
        self._closed = False

    @property
    def identity(self) -> BmcIdentity | None:
        """The identity read at the first login, or None before it."""
        return self._identity

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    @property
    def confirmed(self) -> bool:
        """True while the session is logged in and the BMC's identity was read or checked on it."""
        return not self._closed and self.session.alive and self._confirmed_generation == self.session.generation

    def ensure(self) -> BmcIdentity:
        """Log in when there is no live session and check who answers; return the BMC's identity.

        Bounded to ``CONNECT_TIMEOUT`` s plus ``CONNECT_ROUND_TRIPS`` answer times of a slow BMC (the
        login alone to ``session.LOGIN_TIMEOUT``). Every new login
        checks the identity against the one first read (``identity.check_identity``):
        another BMC raises ``IpmiWrongBmcError`` after logging out. A closed connection raises
        ``IpmiClientClosedError``; a failed login the session's errors (``IpmiAuthError``,
        ``IpmiConnectionError`` …).
        """
        stretch = self._slow_bmc_allowance
        with self._login_lock, time_bound(CONNECT_TIMEOUT, stretch=stretch):
            # Read before the closed check: a close after the check then shows as a close during the login.
            closes = self.session.closes
            if self._closed:
                raise IpmiClientClosedError("the client was closed")
            try:
                if not self.session.alive:
                    self.session.open(closes=closes)
                generation = self.session.generation
                identity = self._identity
                if self._confirmed_generation != generation or identity is None:
                    identity = self._confirm(identity)
                    self._identity = identity
                    self._confirmed_generation = generation
            except IpmiConnectionError:
                if self.closed:
                    raise IpmiClientClosedError("the client was closed") from None
                raise
            return identity

    def _slow_bmc_allowance(self) -> float:
        """Extra time (s) a slow BMC gets to log in and be identified: its answer time per round trip."""
        return CONNECT_ROUND_TRIPS * self.session.round_trip

    def _confirm(self, known: BmcIdentity | None) -> BmcIdentity:
        """Read the identity of a new session's BMC, or check it against the one known."""
        if known is None:
            return read_identity(self.session)
        seen = check_identity(self.session, known)
        if seen is None:
            self.session.close()
            raise IpmiWrongBmcError("a different BMC answers at this address")
        return seen

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one request on the confirmed session (no login); see ``LanplusSession.request``.

        Raises ``IpmiConnectionError`` when no session is confirmed (``IpmiClientClosedError`` once closed).
        """
        generation = self._confirmed_generation
        if not self.confirmed:
            raise (IpmiClientClosedError if self._closed else IpmiConnectionError)("no session with the BMC")
        return self.session.request(netfn, command, data, lun=lun, generation=generation)

    def request_many(
        self, requests: list[tuple[int, int, bytes, int]], *, urgent: bool = False
    ) -> list[bytes | IpmiCompletionCodeError]:
        """Send several requests on the confirmed session; see ``LanplusSession.request_many`` and ``request``."""
        generation = self._confirmed_generation
        if not self.confirmed:
            raise (IpmiClientClosedError if self._closed else IpmiConnectionError)("no session with the BMC")
        return self.session.request_many(requests, generation=generation, urgent=urgent)

    @property
    def confirmed_generation(self) -> int:
        """The login (``LanplusSession.generation``) whose BMC was last checked; -1 before the first."""
        return self._confirmed_generation

    def drop(self, generation: int | None = None) -> None:
        """Forget the session of login ``generation`` (default: the confirmed one) after a failure.

        Logged out best effort. A newer session (another thread logged in since) is kept, so a request that
        failed on an old session never logs out the one another thread has just logged in with.
        """
        self.session.drop(self._confirmed_generation if generation is None else generation)

    def close(self) -> None:
        """Log out, forget the session and refuse every later call; a login under way is undone."""
        self._closed = True
        self.session.close()
