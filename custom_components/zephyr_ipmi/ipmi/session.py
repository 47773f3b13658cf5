"""The boundary with pyghmi: one RMCP+ (IPMI 2.0 lanplus) session, and workarounds for pyghmi 1.6.19's defects.

Everything pyghmi-specific lives here; the rest of the core sees ``LanplusSession.request`` (bytes in,
bytes out, ``IpmiError`` on failure). Known pyghmi defects handled here (see docs/ipmi-notes.md):

* (a) A broken session is kept in pyghmi's registry under ``str`` credentials but removed under
  ``bytes`` ones, so a new session with ``str`` credentials can get the dead one back forever.
  Credentials are therefore always passed as ``bytes``.
* (b) Keepalives are only sent while some thread is inside pyghmi; an idle session expires at the
  BMC and the next request stalls for about 20 s. ``_Keepalive`` sends a cheap request on each
  session that has been idle for 20 s, or for half the idle time after which the BMC was seen to
  forget a session (``suspect_expired``, confirmed by the next login succeeding).
* (f) pyghmi hands the same session object to every ``Command`` with the same host, user and
  password, so logging out one of them logs out all. ``_HOLDERS`` counts the holders of each pyghmi
  session; only the last one to close logs out (a config flow checking credentials of a BMC that is
  already loaded must not end the coordinator's session).
* (g) A response that pyghmi's I/O thread receives before the requesting thread has registered its
  wait is queued for the session but wakes nobody: the requester sleeps until its retransmission
  timer fires (0.5-1 s) although the answer is there (seen on about 1 % of requests on loopback).
  ``_install_pyghmi_workarounds`` wraps pyghmi's ``_io_wait``: a directed wait returns at once when the
  session already has a packet queued, and no directed wait sleeps longer than ``WAKE_CAP`` s
  before the caller looks at its queue again (pyghmi's callers loop until their deadline).
* (h) When a BMC stops answering, pyghmi retransmits with growing timeouts and then logs in again
  inside the same request, so one request takes 27-30 s to fail and a poll of a dead BMC (and an
  unload waiting for it) hangs that long. After login the session is set not to re-log in
  (``logontries = 0``) and to give up once its retransmission timeout passes ``RETRANSMIT_LIMIT``
  (1 + 2 + 3 s, about 7 s in all); the next poll logs in anew.
* (i) Lock-order inversion: a session that times out is marked broken while its thread holds
  pyghmi's ``WAITING_SESSIONS`` lock and then takes ``KEEPALIVE_SESSIONS``; any other session
  sending a request holds ``KEEPALIVE_SESSIONS`` and then takes ``WAITING_SESSIONS``. One dead BMC
  thus deadlocks every other BMC's polls. Both names are made one re-entrant lock, and a session
  being marked broken skips its Close Session (it would wait on a dead BMC while holding that lock).
* (d) ``Command.get_sensor_data`` sends two extra Get Device ID requests per poll; the core never
  calls it and sends Get Sensor Reading itself.
* (e) A cipher-suite mismatch in Open Session raises ``struct.error``, not ``IpmiException``; it is
  translated to ``IpmiConnectionError`` like every other failure to reach the BMC.
* (j) A login has no deadline: with lost datagrams, or a BMC that answers half a handshake or garbage,
  pyghmi starts the handshake over and over (logins of 14-68 s seen at 40-50 % loss). Each login
  here is abandoned after ``LOGIN_TIMEOUT`` s (pyghmi's retransmission timer checks the deadline),
  and ``time_bound`` bounds everything a thread sends in a block: a request is given fewer
  retransmissions when little time is left, and none once it is over.
* (k) pyghmi's I/O thread appends the session of every received packet to the process-wide ``sessionqueue``,
  which only its event loop empties, and that loop runs only during a login: the queue grew by one entry per
  packet (about a million a day per BMC polled every 10 s), keeping old session objects alive.
  ``drain_received_queue`` empties it after each poll while no login is running (requests read their own
  session's packet queue, so nothing waits on these entries).
* (l) A session pyghmi gives up on (a request unanswered after its retransmissions) is marked broken without
  Close Session (see (i)), so under packet loss the BMC kept each abandoned session until its own timeout and
  could run out of its few session slots. Such a session is marked ``zephyr_abandoned``, and when it is
  forgotten ``_logout`` sends it one Close Session (IPMI 2.0 §22.19) without waiting for the answer.
* (m) Cost, not a defect: each pyghmi request is handed between threads (a wake-up datagram to its own socket,
  its I/O thread waking from ``select``, empty ``recvfrom`` calls, an ``Event`` per wait: about 31 system calls
  and 4.5 context switches per request, half of a poll's CPU), and pyghmi allows one request in flight per
  session. Each login here gets a socket of its own (``_assignsocket`` below); once the session is established,
  that socket is taken out of pyghmi's I/O thread and ``CallingThreadTransport`` sends the session's requests and
  reads their answers in the calling thread, with the keys pyghmi negotiated (``rmcpplus.RmcpPlusCodec``). The
  source address and port stay those of the login (a BMC may answer only there), pyghmi's session sequence
  number and rqSeq counters are the ones used, pyghmi's own keepalive is left out (``_Keepalive`` sends them), and
  retransmission follows pyghmi's timers. A session that cannot be taken over (IPMI 1.5, no integrity) keeps
  pyghmi's path. The socket of every login, failed ones included, is closed once it is done with
  (``_retire_socket``); a socket whose descriptor ``select`` cannot watch (1024 and up) is never handed to
  pyghmi's I/O thread (that session shares pyghmi's socket instead).
"""

from __future__ import annotations

import logging
import random
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from . import rmcpplus
from .errors import (
    IpmiAuthError,
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiSessionLimitError,
)

_LOGGER = logging.getLogger(__name__)

#: pyghmi error texts that mean the BMC rejected the user name or password (RAKP 2/4).
_AUTH_MARKERS = ("Incorrect password", "Unauthorized name", "Invalid username")
#: pyghmi error texts when the account may not have the privilege asked for (RMCP+ status 0x09 / 0x0A).
_ROLE_MARKERS = ("Invalid role", "Unauthorized role", "privelege level", "privilege level")
#: Privilege levels (IPMI 2.0 Table 6-4): USER suffices for every read the core sends.
PRIVILEGE_USER = 2
#: pyghmi error texts for RMCP+ status 0x01 / 0x0B: no free session (IPMI 2.0 Table 13-15).
_SESSION_LIMIT_MARKERS = ("Insufficient resources",)


def translate_error(err: BaseException) -> IpmiError:
    """Map an exception raised inside pyghmi to the core's ``IpmiError`` tree.

    The resulting message is one of a fixed set, safe to log and show: pyghmi's own texts can carry the
    user name (e.g. "... privelege level 3 for b'user'"), so they are never passed through.
    """
    if isinstance(err, IpmiError):
        return err
    if isinstance(err, socket.gaierror):
        return IpmiConnectionError("host name does not resolve")
    if isinstance(err, struct.error):
        # pyghmi defect (e): a cipher-suite mismatch in Open Session surfaces as struct.error.
        return IpmiConnectionError("the BMC offered no usable cipher suite (lanplus cipher suite 17 or 3 is required)")
    message = str(err.args[0]) if err.args and err.args[0] is not None else ""
    if any(marker in message for marker in _AUTH_MARKERS):
        return IpmiAuthError("the BMC rejected the user name or password")
    if any(marker in message for marker in _SESSION_LIMIT_MARKERS):
        return IpmiSessionLimitError("the BMC has no free session; close other IPMI clients or wait")
    if isinstance(err, OSError):
        return IpmiConnectionError(f"network error: {err.strerror or err}")
    if not message or "no longer connected" in message or "timeout" in message.lower():
        return IpmiConnectionError("the BMC did not answer")
    return IpmiConnectionError(f"the BMC refused the session ({type(err).__name__})")


class _Keepalive:
    """Keeps idle sessions alive from one daemon thread (pyghmi defect (b)).

    Every ``TICK`` s it sends Get Device ID on each open session that has been idle for ``IDLE`` s,
    so the BMC's session inactivity timeout (commonly 30-60 s) never expires between polls. It does
    not run pyghmi's event loop: a second thread inside that loop slows every request of a session
    by a retransmission timeout (seen: 0.5-1 s stalls). A session busy with a request is skipped.
    The thread runs while any session is open and stops when the last one closes. A BMC whose timeout is
    shorter gets keepalives sooner: see ``LanplusSession.keepalive_idle``.
    """

    TICK = 1.0
    IDLE = 20.0

    def __init__(self) -> None:
        """Create the keeper; no thread runs until a session is added."""
        self._lock = threading.Lock()
        self._sessions: set[LanplusSession] = set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, session: LanplusSession) -> None:
        """Watch ``session``, starting the thread for the first one."""
        with self._lock:
            self._sessions.add(session)
            if self._thread is None or not self._thread.is_alive():
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="zephyr_ipmi_keepalive", daemon=True
                )
                self._thread.start()

    def remove(self, session: LanplusSession) -> None:
        """Stop watching ``session``; the last one stops and joins the thread (at most ``TICK`` s)."""
        with self._lock:
            self._sessions.discard(session)
            if self._sessions or self._thread is None:
                return
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not threading.current_thread():
            thread.join(timeout=self.TICK * 3)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.TICK):
            with self._lock:
                sessions = list(self._sessions)
            for session in sessions:
                session.keepalive_if_idle(self.IDLE)


KEEPALIVE = _Keepalive()

#: pyghmi's per-session retransmission cap (its timeout grows 1 s per retry from about 1 s); defect (h).
RETRANSMIT_LIMIT = 3
#: Longest ``close`` waits for a request under way before leaving the logout to a helper thread (s).
CLOSE_WAIT = 0.5
#: Longest that helper waits for the request under way to end (s); requests end within about 7 s.
LOGOUT_LATER_WAIT = 30.0

#: Shortest keepalive idle time (s) learned from a BMC that forgot an idle session; an idle time shorter than
#: this is no sign of an expired session either.
MIN_KEEPALIVE_IDLE = 2.0

#: Longest a directed wait inside pyghmi sleeps before its caller re-checks its packet queue (s); defect (g).
WAKE_CAP = 0.02
_WAKEUP_LOCK = threading.Lock()

#: Longest one login (the RMCP+ handshake, Set Session Privilege included) may take (s); defect (j).
LOGIN_TIMEOUT = 10.0
#: Round trips of a login (Get Channel Auth Capabilities, Open Session, RAKP 1/2, RAKP 3/4, Set Session
#: Privilege): a login's duration divided by this estimates the BMC's answer time before any request.
LOGIN_ROUND_TRIPS = 5
#: Answer times kept; the fastest of them is the BMC's answer time (loss only makes answers slower).
RTT_SAMPLES = 16
#: A BMC answering slower than this (s) gets a longer first retransmission timer: 2 x its answer time.
SLOW_ANSWER = 0.25
#: Longest first retransmission timer (s).
MAX_FIRST_TIMEOUT = 5.0
_LOGINS_LOCK = threading.Lock()
_logins_running = 0
"""Logins inside pyghmi's ``Session`` constructor now; their event loop needs ``sessionqueue`` (defect (k))."""
_BOUND = threading.local()
"""Per thread: ``at``, the monotonic time by which the block under ``time_bound`` must be done."""
_LOGIN = threading.local()
"""Per thread: ``deadline`` of the login this thread is running inside pyghmi's ``Session`` constructor."""


@contextmanager
def time_bound(seconds: float, *, stretch: Callable[[], float] | None = None) -> Iterator[None]:
    """Bound what this thread sends to BMCs inside the block to about ``seconds`` s in all.

    Logins and requests in the block get what is left (a request is given fewer retransmissions; once
    nothing is left it raises ``IpmiConnectionError`` without sending). ``stretch()`` (s), asked each time,
    extends the bound, e.g. by the round trips a slow BMC needs. Nested bounds keep the tighter one. A
    request may overrun the bound by at most about 1 s (one retransmission timer).
    """
    previous: _Bound | None = getattr(_BOUND, "at", None)
    mine: _Bound | None = (time.monotonic() + seconds, stretch)
    outer_left, my_left = _left(previous), _left(mine)
    if outer_left is not None and my_left is not None and outer_left < my_left:
        mine = previous
    _BOUND.at = mine
    try:
        yield
    finally:
        _BOUND.at = previous


type _Bound = tuple[float, Callable[[], float] | None]


def _left(bound: _Bound | None) -> float | None:
    """Seconds left of ``bound`` (its end and stretch), or None for no bound."""
    if bound is None:
        return None
    at, stretch = bound
    return at + (stretch() if stretch is not None else 0.0) - time.monotonic()


def _time_left() -> float | None:
    """Seconds left of this thread's ``time_bound``, or None outside of one."""
    return _left(getattr(_BOUND, "at", None))


def _retransmit_limit(left: float | None) -> int:
    """Pyghmi's retransmission cap for a request that must end within ``left`` s (1 + 2 + … + n ≤ left)."""
    limit = RETRANSMIT_LIMIT
    if left is None:
        return limit
    while limit > 1 and limit * (limit + 1) / 2 > left:
        limit -= 1
    return limit


def _install_pyghmi_workarounds() -> None:
    """Patch pyghmi's session module once per process for defects (g) and (i) above."""
    from pyghmi.ipmi.private import session as pyghmi_session  # noqa: PLC0415

    with _WAKEUP_LOCK:
        original = pyghmi_session._io_wait
        if getattr(original, "zephyr_prompt_wakeup", False):
            return

        def _io_wait(timeout: float, myaddr: Any = None, evq: Any = None) -> None:
            if myaddr is None:
                # A login whose last answer another thread's event loop handled sleeps until any packet reaches
                # pyghmi's I/O thread; with established sessions off that thread (cost (m)) that can be the next
                # keepalive, 25-29 s away. A thread inside a login looks again every ``WAKE_CAP`` s.
                if getattr(_LOGIN, "deadline", None) is not None:
                    timeout = min(timeout, WAKE_CAP)
                original(timeout, myaddr, evq)
                return
            handlers = pyghmi_session.Session.bmc_handlers.get(myaddr, {})
            if any(handler.pktqueue for handler in list(handlers.values())):
                return
            original(min(timeout, WAKE_CAP), myaddr, evq)

        _io_wait.zephyr_prompt_wakeup = True  # type: ignore[attr-defined]
        pyghmi_session._io_wait = _io_wait

        # Defect (i): pyghmi looks both locks up as module globals at each use, so one object serves both.
        pyghmi_session.KEEPALIVE_SESSIONS = pyghmi_session.WAITING_SESSIONS
        mark_broken = pyghmi_session.Session._mark_broken

        def _mark_broken(self: Any, error: Any = None) -> None:
            if self.logged:
                self.zephyr_abandoned = True  # defect (l): Close Session is sent later, without waiting
            self.logged = 0  # no Close Session to a BMC that stopped answering
            mark_broken(self, error)
            # Without the logout, pyghmi's timeout placeholder stays as the last response and its
            # response matching then fails with KeyError instead of "no longer connected".
            self.lastresponse = None

        pyghmi_session.Session._mark_broken = _mark_broken

        # Defect (j): a login started by ``LanplusSession.open`` carries its deadline; pyghmi's
        # retransmission timer (``_timedout``, run for every unanswered handshake message) ends it.
        login = pyghmi_session.Session.login

        def _login(self: Any) -> None:
            deadline = getattr(_LOGIN, "deadline", None)
            if deadline is not None:
                self.zephyr_login_deadline = deadline
                # Cost (m): the sessions this login made, so that ``open`` can close the sockets of those that failed.
                made: list[Any] | None = getattr(_LOGIN, "sessions", None)
                if made is not None:
                    made.append(self)
            login(self)

        timedout = pyghmi_session.Session._timedout

        def _timedout(self: Any) -> None:
            deadline = getattr(self, "zephyr_login_deadline", None)
            if deadline is not None and self.logging and time.monotonic() >= deadline:
                self.lastpayload = None
                self.onlogon({"error": "timeout"})  # marks the session broken; the login loop ends
                return
            timedout(self)

        # A retransmission inside the login's Set Session Privilege logs in again from within that request,
        # whose nested request then waits for the outer one's "in command" time (10 s and more) without
        # running any timer: past the deadline that wait ends, so the timer above can end the login.
        isincommand = pyghmi_session.Session._isincommand

        def _isincommand(self: Any) -> Any:
            deadline = getattr(self, "zephyr_login_deadline", None)
            if deadline is not None and self.logging and time.monotonic() >= deadline:
                return 0
            return isincommand(self)

        pyghmi_session.Session.login = _login
        pyghmi_session.Session._timedout = _timedout
        pyghmi_session.Session._isincommand = _isincommand

        # Cost (m): a login started by ``LanplusSession.open`` gets a socket no other session shares, so that it
        # can be taken out of pyghmi's I/O thread once the session is established. pyghmi's first socket also
        # carries its I/O thread's wake-up datagrams: it is never one of these.
        assign = pyghmi_session.Session._assignsocket

        def _assignsocket(cls: Any, server: Any = None, forbiddensockets: Any = ()) -> Any:
            if server is not None or getattr(_LOGIN, "deadline", None) is None:
                return assign(server, forbiddensockets)
            if not pyghmi_session.iosockets:
                anchor = assign()
                cls.socketpool[anchor] -= 1  # left free for any other pyghmi user
            own = _dedicated_socket(pyghmi_session)
            if own is None:
                # pyghmi's I/O thread waits in ``select``, which refuses a descriptor of ``SELECT_FD_LIMIT`` or more:
                # one such socket in its list ends that thread, and every later login (to any BMC) then waits
                # forever. A process with that many files open (Home Assistant allows 2048) shares a socket pyghmi
                # already has instead; that session keeps pyghmi's path.
                return assign(server, [*forbiddensockets, *_DEDICATED])
            cls.socketpool[own] = 1
            with _DEDICATED_LOCK:
                _DEDICATED.add(own)
            pyghmi_session.iosockets.append(own)
            return own

        pyghmi_session.Session._assignsocket = classmethod(_assignsocket)

        # Cost (m): a retired socket is closed only while pyghmi's I/O thread is not reading its sockets (see
        # ``_close_retired``); ``RETIRE_DELAY`` alone loses that race to a thread held up for longer.
        graball = pyghmi_session._io_graball

        def _io_graball(mysockets: Any, iowaiters: Any) -> Any:
            with _IO_LOCK:
                return graball(mysockets, iowaiters)

        pyghmi_session._io_graball = _io_graball


_DEDICATED_LOCK = threading.Lock()
_DEDICATED: set[socket.socket] = set()
"""Sockets made for one login each (cost (m)); pyghmi's I/O thread reads them until ``_take_over``."""
_RETIRED: deque[tuple[float, socket.socket]] = deque()
"""Dedicated sockets out of pyghmi's hands, with the monotonic time from which they may be closed."""
#: ``select`` (pyghmi's I/O thread) refuses file descriptors from FD_SETSIZE on: 1024 with glibc.
SELECT_FD_LIMIT = 1024
#: Seconds a retired socket stays open after leaving pyghmi's I/O thread's list: that thread may still be reading it
#: (it calls ``setblocking`` and ``getsockname`` on each socket it reads; on a closed one these raise and end it).
RETIRE_DELAY = 1.0
_IO_LOCK = threading.Lock()
"""Held by pyghmi's I/O thread while it reads its sockets; retired sockets are closed only under it."""


def _dedicated_socket(pyghmi_session: Any) -> socket.socket | None:
    """Make a new UDP socket for one login as pyghmi makes its own; None when its descriptor is too high for select.

    pyghmi's first socket already decided the address family (IPv6 with IPv4-mapped addresses where the kernel has
    IPv6). Bound to an ephemeral port on every address, like pyghmi's.
    """
    family = socket.AF_INET6 if pyghmi_session.ipv6support else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if sock.fileno() >= SELECT_FD_LIMIT:
        sock.close()
        return None
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("", 0))
    return sock


def _retire_socket(sock: socket.socket) -> None:
    """Take a dedicated socket out of pyghmi (I/O thread, socket pool) and close it ``RETIRE_DELAY`` s later.

    Sockets pyghmi shares are left alone. Each call also closes the retired sockets whose delay has passed, as does
    ``drain_received_queue`` after each poll.
    """
    from pyghmi.ipmi.private import session as pyghmi_session  # noqa: PLC0415

    with _DEDICATED_LOCK:
        if sock in _DEDICATED:
            _DEDICATED.discard(sock)
            with suppress(ValueError):
                pyghmi_session.iosockets.remove(sock)
            pyghmi_session.Session.socketpool.pop(sock, None)
            _RETIRED.append((time.monotonic() + RETIRE_DELAY, sock))
    _close_retired()


def _close_retired() -> None:
    """Close the retired sockets whose ``RETIRE_DELAY`` has passed, unless pyghmi's I/O thread is reading its sockets.

    That thread may have taken a retired socket from its list just before it left, and be held up in its read for
    longer than the delay on a busy machine; the sockets are then closed at a later call (the next poll's end).
    """
    now = time.monotonic()
    if not _IO_LOCK.acquire(blocking=False):
        return
    try:
        with _DEDICATED_LOCK:
            while _RETIRED and _RETIRED[0][0] <= now:
                _RETIRED.popleft()[1].close()
    finally:
        _IO_LOCK.release()


def _forget_failed_logins(sessions: list[Any], kept: Any) -> None:
    """Retire the dedicated sockets of the pyghmi sessions a login made but does not keep (failed logins).

    A failed login (wrong password, no answer, a read-only account's refused Administrator attempt) left its socket
    open in pyghmi's I/O thread: one file descriptor more per failed login, for as long as the process runs. A
    session pyghmi has not given up on yet (an exception out of its handshake) is marked broken first, so that no
    retransmission timer of it runs on the closed socket.
    """
    for failed in sessions:
        if failed is kept:
            continue
        if not failed.broken:
            with suppress(Exception):
                failed._mark_broken()
        _retire_socket(failed.socket)


#: pyghmi's first retransmission timer (s): 0.5 s plus up to 0.5 s at random; each retry waits 1 s longer.
INITIAL_TIMEOUT = 0.5
#: Largest datagram read (bytes): an RMCP+ answer carries at most 255 bytes of IPMI message plus headers.
MAX_DATAGRAM = 4096
#: Times a rqSeq that went unanswered or was sent twice is skipped when it comes round again (pyghmi: 16).
TABOO_ROUNDS = 2
#: Threads that may build, send, receive and check calling-thread requests at once; the others wait, and a thread
#: waiting for an answer gives its slot up. Fifty executor threads polling at once otherwise compete with Home
#: Assistant's event loop for the interpreter lock (loop lag p99 of 50-130 ms when 50 BMCs are polled together).
CPU_SLOTS = 2
_CPU_SLOTS = threading.BoundedSemaphore(CPU_SLOTS)
#: Completion codes of a BMC too busy for more requests in flight (IPMI 2.0 Table 5-2): node busy (C0h), timeout
#: while processing (C3h), out of space (C4h), response could not be provided (CEh), destination unavailable (D3h).
BUSY_CODES = frozenset({0xC0, 0xC3, 0xC4, 0xCE, 0xD3})
#: Longest wait (s) of a batch for the urgent callers it lets go first (single requests, a control loop's readings)
#: to take the session; they are already waiting for it.
TURN_WAIT = 1.0

#: Requests in flight at once on a session (``LanplusSession.request_many``): the first batch after a login uses
#: ``FIRST_WINDOW``; each clean batch doubles it up to ``MAX_WINDOW``; a batch with a timeout or busy answer sets it
#: to 1 for ``WINDOW_PENALTY`` batches.
FIRST_WINDOW = 4
MAX_WINDOW = 8
WINDOW_PENALTY = 32


class CallingThreadTransport:
    """The requests of one established RMCP+ session, sent and answered in the calling thread (cost (m)).

    Built by ``_take_over`` from a pyghmi session whose socket is its own. ``request`` sends one IPMI request,
    retransmits it on pyghmi's timers (the first after ``first_timeout`` s, or 0.5-1 s; each next one 1 s longer,
    while that stays within ``retransmit_limit`` s) and returns the matching ``rmcpplus.Response``: same response
    netfn, command and rqSeq, from the BMC's address, with a valid AuthCode. Anything else that arrives is dropped.
    With no answer, the pyghmi session is marked broken (defect (l) then sends it a Close Session) and
    ``IpmiConnectionError`` is raised. One request at a time per session (``lock``).
    """

    def __init__(self, ipmi_session: Any, sock: socket.socket, codec: rmcpplus.RmcpPlusCodec) -> None:
        """Use ``sock`` (already out of pyghmi's I/O thread) for ``ipmi_session``'s requests."""
        self._session = ipmi_session
        self._socket = sock
        self._codec = codec
        self._peer = ipmi_session.sockaddr
        self._poll = select.poll()  # poll, not select: no limit on the descriptor's number
        self._poll.register(sock, select.POLLIN)
        self.lock = threading.Lock()
        self.answered = 0
        """Answers received so far."""
        self._retired = False
        self._taboo: dict[int, int] = {}
        """rqSeq -> times it is still to be skipped (``_next_rq_seq``)."""
        self.retransmissions = 0
        """Requests sent again by ``request`` because their answer did not come in time."""

    def request(
        self,
        netfn: int,
        command: int,
        data: bytes,
        lun: int,
        *,
        first_timeout: float | None,
        retransmit_limit: int,
    ) -> rmcpplus.Response:
        """Send one request and wait for its answer; ``IpmiConnectionError`` when none came."""
        session = self._session
        with self.lock, _CPU_SLOTS:
            self._check_open()
            rq_seq = self._next_rq_seq(session.seqlun, ())
            step = INITIAL_TIMEOUT + random.random() * 0.5  # noqa: S311 - a retransmission jitter, not a secret
            wait = first_timeout if first_timeout is not None else step
            while True:
                self._send(rq_seq, netfn, command, data, lun)
                answer = self._receive(time.monotonic() + wait, {rq_seq: (netfn + 1, command)})
                if answer is not None:
                    session.seqlun = (rq_seq + 1) & 0x3F
                    self.answered += 1
                    return answer
                # The request goes out again with the same rqSeq, so an answer to either copy counts; a late one
                # must not be taken for another request's answer once the rqSeq comes round again.
                self._taboo[rq_seq] = TABOO_ROUNDS
                step += 1
                if step > retransmit_limit:
                    break
                wait = step
                self.retransmissions += 1
            # Under the lock: a logout retiring the socket meanwhile would leave pyghmi's logout (inside
            # ``_mark_broken``) a socket it no longer counts (KeyError).
            session._mark_broken()
        raise IpmiConnectionError("the BMC did not answer")

    def _next_rq_seq(self, start: int, in_flight: Container[int]) -> int:
        """Return the first rqSeq from ``start`` on that is neither in flight nor taboo, skipping at most 7.

        A rqSeq whose request went unanswered or was sent twice stays taboo for ``TABOO_ROUNDS`` times it comes
        round (64 requests each), as pyghmi keeps it: a Get Sensor Reading answer does not name its sensor, so a
        very late answer could otherwise be taken for the reading of the request that reuses its rqSeq. IPMI
        requesters may skip sequence numbers; pyghmi skips at most 7.
        """
        rq_seq = start & 0x3F
        for _ in range(7):
            rounds = self._taboo.get(rq_seq, 0)
            if not rounds and rq_seq not in in_flight:
                break
            if rounds > 1:
                self._taboo[rq_seq] = rounds - 1
            elif rounds:
                del self._taboo[rq_seq]
            rq_seq = (rq_seq + 1) & 0x3F
        return rq_seq

    def _check_open(self) -> None:
        """Raise ``IpmiConnectionError`` once the session was logged out and its socket retired; hold ``lock``.

        A second holder of a shared pyghmi session (defect (f)) that got it just before the last holder logged out
        would otherwise send on a closed socket and end in pyghmi's logout with a KeyError.
        """
        if self._retired:
            raise IpmiConnectionError("no session with the BMC")

    def send_only(self, netfn: int, command: int, data: bytes) -> None:
        """Send one request without waiting for its answer (Close Session at logout, as pyghmi sends it)."""
        session = self._session
        with self.lock:
            if self._retired:
                return
            self._send(session.seqlun, netfn, command, data, 0)
            session.seqlun = (session.seqlun + 1) & 0x3F

    def _send(self, rq_seq: int, netfn: int, command: int, data: bytes, lun: int) -> None:
        """Send one request with the session's next sequence number; hold ``lock``."""
        session = self._session
        sequence = session.sequencenumber
        if sequence:  # 0 is the sequence of sessionless messages and stays 0 (as pyghmi does)
            session.sequencenumber = sequence + 1
        packet = self._codec.request(sequence, rq_seq, netfn, command, data, lun=lun)
        # A send error is like a lost datagram (pyghmi ignores them too): the retransmission timer goes on.
        with suppress(OSError):
            self._socket.sendto(packet, self._peer)

    def exchange_many(
        self, requests: list[tuple[int, int, bytes, int]], *, window: int, wait: float
    ) -> tuple[list[rmcpplus.Response | None], bool]:
        """Send ``requests`` ((netfn, command, data, lun) each) with up to ``window`` of them unanswered at once.

        Each request has its own rqSeq (so at most 63 may be in flight); answers are matched by rqSeq, response netfn
        and command, in whatever order they come. Nothing is retransmitted here: once a request waits longer than
        ``wait`` s, or an answer says the BMC is busy (``BUSY_CODES``), no further request is sent and the answers
        still due are collected until their own deadlines. Returns the answers in the order of ``requests`` (None for
        each request that got none, was answered busy or was not sent; the caller sends those one at a time with
        retransmission) and
        whether the window was clean (every request answered, none busy).
        """
        session = self._session
        answers: list[rmcpplus.Response | None] = [None] * len(requests)
        clean = True
        with self.lock, _CPU_SLOTS:
            self._check_open()
            next_seq = session.seqlun
            waiting: dict[int, tuple[int, float]] = {}  # rqSeq -> (index, deadline)
            expected: dict[int, tuple[int, int]] = {}  # rqSeq -> (response netfn, command)
            pending = iter(range(len(requests)))

            def send_next() -> None:
                nonlocal next_seq
                index = next(pending, None)
                if index is None:
                    return
                netfn, command, data, lun = requests[index]
                rq_seq = self._next_rq_seq(next_seq, waiting)
                next_seq = (rq_seq + 1) & 0x3F
                waiting[rq_seq] = (index, time.monotonic() + wait)
                expected[rq_seq] = (netfn + 1, command)
                self._send(rq_seq, netfn, command, data, lun)

            for _ in range(min(window, len(requests), 63)):
                send_next()
            while waiting:
                answer = self._receive(min(deadline for _, deadline in waiting.values()), expected)
                if answer is None:  # the oldest request went unanswered: the rest are left to the caller
                    clean = False
                    expired = [rq for rq, (_, deadline) in waiting.items() if deadline <= time.monotonic()]
                    for rq_seq in expired or [min(waiting, key=lambda rq: waiting[rq][1])]:
                        del waiting[rq_seq], expected[rq_seq]
                        self._taboo[rq_seq] = TABOO_ROUNDS  # its answer may still come, late
                    continue
                index, _deadline = waiting.pop(answer.rq_seq)
                del expected[answer.rq_seq]
                self.answered += 1
                if answer.code in BUSY_CODES:
                    clean = False  # this request is left to the caller too, to be sent again on its own
                else:
                    answers[index] = answer
                if clean:
                    send_next()
            session.seqlun = next_seq
        if any(answer is None for answer in answers):
            clean = False
        return answers, clean

    def _receive(self, deadline: float, expected: dict[int, tuple[int, int]]) -> rmcpplus.Response | None:
        """Return the first answer before ``deadline`` (monotonic s) that ``expected`` awaits, or None.

        ``expected`` maps each rqSeq in flight to its (response netfn, command).
        """
        sock, peer, codec = self._socket, self._peer, self._codec
        while (left := deadline - time.monotonic()) > 0:
            try:
                packet, source = sock.recvfrom(MAX_DATAGRAM, socket.MSG_DONTWAIT)
            except BlockingIOError:
                # Nothing yet: wait without a CPU slot, so that other BMCs' requests (and the event loop) run.
                _CPU_SLOTS.release()
                try:
                    self._poll.poll(left * 1000)
                finally:
                    _CPU_SLOTS.acquire()
                continue
            except OSError:  # a socket closed under a request
                return None
            if source[:2] != peer[:2]:
                continue
            answer = codec.response(packet)
            if answer is not None and expected.get(answer.rq_seq) == (answer.netfn, answer.command):
                return answer
        return None

    def retire(self) -> None:
        """Close the socket once the session is logged out (see ``_retire_socket``); later requests are refused."""
        with self.lock:
            self._retired = True
        _retire_socket(self._socket)


def _take_over(ipmi_session: Any) -> CallingThreadTransport | None:
    """Move an established pyghmi session's requests to the calling thread (cost (m)); None when it cannot be.

    Needs an IPMI 2.0 session with integrity (and AES or no confidentiality), a confirmed BMC address and a socket
    no other session uses. The socket leaves pyghmi's I/O thread's ``select``; pyghmi's keepalive for the session
    stops (``_Keepalive`` sends them, on this transport).
    """
    from pyghmi.ipmi.private import session as pyghmi_session  # noqa: PLC0415

    existing: CallingThreadTransport | None = getattr(ipmi_session, "zephyr_transport", None)
    if existing is not None:
        return existing
    sock = ipmi_session.socket
    with _DEDICATED_LOCK:
        dedicated = sock in _DEDICATED
    if (
        not dedicated
        or ipmi_session.ipmiversion != 2.0
        or not ipmi_session.integrityalgo
        or ipmi_session.confalgo not in (0, "aes")
        or ipmi_session.sessioncontext != "ESTABLISHED"
        or ipmi_session.k1 is None
        or ipmi_session.sockaddr is None
        or ipmi_session.socketpool.get(sock, 0) != 1
    ):
        return None
    try:
        codec = rmcpplus.RmcpPlusCodec(
            bmc_session_id=ipmi_session.sessionid,
            console_session_id=ipmi_session.localsid,
            integrity_key=bytes(ipmi_session.k1),
            digest=ipmi_session.currhashlib().name,
            mac_length=ipmi_session.currhashlen,
            aes_key=bytes(ipmi_session.aeskey) if ipmi_session.confalgo == "aes" else None,
        )
    except ValueError:
        return None
    with pyghmi_session.util.protect(pyghmi_session.KEEPALIVE_SESSIONS):
        pyghmi_session.Session.keepalive_sessions.pop(ipmi_session, None)
    try:
        pyghmi_session.iosockets.remove(sock)
    except ValueError:
        return None
    ipmi_session.pktqueue.clear()
    transport = CallingThreadTransport(ipmi_session, sock, codec)
    ipmi_session.zephyr_transport = transport
    return transport


def drain_received_queue() -> None:
    """Empty pyghmi's process-wide queue of sessions with received packets, unless a login is running.

    pyghmi defect (k): the queue is read only by pyghmi's event loop (run during logins); a request reads its own
    session's packets. Called after each poll; a login started meanwhile waits until the queue is empty.
    """
    from pyghmi.ipmi.private import session as pyghmi_session  # noqa: PLC0415

    with _LOGINS_LOCK:
        if not _logins_running:
            pyghmi_session.sessionqueue.clear()
    _close_retired()


def _login_started() -> None:
    global _logins_running  # noqa: PLW0603 - one count for the process, like pyghmi's queue
    with _LOGINS_LOCK:
        _logins_running += 1


def _login_ended() -> None:
    global _logins_running  # noqa: PLW0603
    with _LOGINS_LOCK:
        _logins_running -= 1


_HOLDERS_LOCK = threading.Lock()
_HOLDERS: dict[int, int] = {}
"""Number of open ``LanplusSession`` objects per pyghmi session object (by ``id``); see defect (f)."""


def _hold(ipmi_session: object) -> None:
    with _HOLDERS_LOCK:
        _HOLDERS[id(ipmi_session)] = _HOLDERS.get(id(ipmi_session), 0) + 1


def _unhold(ipmi_session: object) -> bool:
    """Count one holder less; return True when it was the last one."""
    with _HOLDERS_LOCK:
        left = _HOLDERS.get(id(ipmi_session), 1) - 1
        if left > 0:
            _HOLDERS[id(ipmi_session)] = left
            return False
        _HOLDERS.pop(id(ipmi_session), None)
        return True


def _outcome(netfn: int, command: int, response: dict[str, Any]) -> bytes | IpmiCompletionCodeError:
    """Return an answer's data, or the error of its non-zero completion code; ``IpmiConnectionError`` for none."""
    code = int(response.get("code", 0) or 0)
    if code:
        return IpmiCompletionCodeError(netfn, command, code)
    if "error" in response:
        raise IpmiConnectionError(str(response["error"]))
    return bytes(response.get("data", b""))


class LanplusSession:
    """One authenticated RMCP+ session with a BMC, carrying raw IPMI requests.

    Requests are serialised per session: one request or one batch (``request_many``) at a time, and a single
    request or an urgent batch waiting for a batch goes between two of the batch's requests. ``open`` and
    ``close`` may be called from any thread. ``open`` raises ``IpmiAuthError``, ``IpmiSessionLimitError`` or
    ``IpmiConnectionError``; ``request`` raises ``IpmiCompletionCodeError`` for a non-zero completion
    code and ``IpmiConnectionError`` when the session is lost (after which ``alive`` is False).

    A ``close`` while ``open`` is logging in wins: the session that login makes is logged out at once
    and ``open`` raises ``IpmiConnectionError``, so a closed session never comes back to life.
    """

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        """Store where and as whom to log in; nothing is sent yet."""
        self._host = host
        self._port = port
        # pyghmi defect (a): bytes credentials keep its session registry consistent.
        self._username = username.encode("utf-8")
        self._password = password.encode("utf-8")
        self._command: Any = None
        self._lock = threading.Lock()
        """Held while a request (or a logout) is on the wire: one at a time per session."""
        self._state_lock = threading.Lock()
        """Guards ``_command``, ``generation`` and ``_closes``; never held while waiting for the BMC."""
        self._closes = 0
        self._last_used = 0.0
        self._answer_times: deque[float] = deque(maxlen=RTT_SAMPLES)
        self._login_round_trip = 0.0
        self.requests = 0
        self.answers = 0
        """Answers received on this BMC's sessions (a completion code counts: the BMC answered)."""
        self.keepalives = 0
        self.keepalive_idle: float | None = None
        """Idle time (s) after which this BMC's sessions get a keepalive, once the BMC was seen to expire one
        sooner than ``_Keepalive.IDLE``: half the idle time after which it did, at least ``MIN_KEEPALIVE_IDLE``."""
        self._expired_after: float | None = None
        self.generation = 0
        """Number of logins so far; a new value means a new session (identity to be checked again)."""
        self.window = FIRST_WINDOW
        """Requests ``request_many`` keeps in flight at once on this BMC (1 once it timed out or was busy)."""
        self._window_penalty = 0
        self._turn = threading.Condition(threading.Lock())
        """Guards ``_waiting``; notified when a thread that waited for ``_lock`` got it."""
        self._waiting = 0
        """Threads waiting for ``_lock`` with a single request or an urgent batch; a batch lets them go first."""

    @property
    def alive(self) -> bool:
        """True while the session is logged in and pyghmi has not marked it broken."""
        command = self._command
        if command is None:
            return False
        ipmi_session = command.ipmi_session
        return bool(ipmi_session.logged) and not ipmi_session.broken

    @property
    def privilege(self) -> int | None:
        """The privilege level the BMC granted the session (IPMI 2.0 Table 6-4: 2 User, 3 Operator, 4 Administrator).

        None without a session. pyghmi asks for Administrator and settles for Operator; a read-only account is
        logged in with User (see ``open``).
        """
        command = self._command
        return None if command is None else int(command.ipmi_session.privlevel)

    @property
    def round_trip(self) -> float:
        """The BMC's answer time (s): the fastest recent answer, or a login's time per round trip before any.

        Pyghmi retransmits after 0.5-1 s, so a BMC slower than that gets each request twice; a Reserve SDR
        Repository sent twice cancels the reservation the client holds. Requests to a BMC slower than
        ``SLOW_ANSWER`` therefore wait 2 x this long before their first retransmission.
        """
        return min(self._answer_times) if self._answer_times else self._login_round_trip

    @property
    def idle(self) -> float:
        """Seconds since the last request (or keepalive) on this BMC's sessions ended."""
        return time.monotonic() - self._last_used

    def suspect_expired(self, idle: float) -> None:
        """Note that the first request after ``idle`` s without traffic went unanswered.

        When the next login succeeds, the BMC answered but had forgotten the session: it expires idle sessions
        in less than ``idle`` s, and ``keepalive_idle`` is shortened to half of it. A failed login forgets the note
        (a BMC that stopped answering says nothing about its timeout).
        """
        if idle >= MIN_KEEPALIVE_IDLE:
            self._expired_after = idle

    @property
    def closes(self) -> int:
        """How many times ``close`` was called; see ``open``'s ``closes``."""
        return self._closes

    def open(self, *, closes: int | None = None) -> None:
        """Log in (Get Channel Auth Capabilities, Open Session, RAKP 1-4, Set Session Privilege).

        A session already open is logged out first. When ``close`` is called after ``closes`` was read
        (by default: once this login started), the new session is logged out and ``IpmiConnectionError``
        raised.
        """
        from pyghmi.ipmi import command as pyghmi_command  # noqa: PLC0415

        self._release(self.generation)
        if closes is None:
            closes = self._closes
        _install_pyghmi_workarounds()
        left = _time_left()
        if left is not None and left <= 0:
            raise IpmiConnectionError("the BMC did not answer in time")
        started = time.monotonic()
        _LOGIN.deadline = started + min(LOGIN_TIMEOUT, LOGIN_TIMEOUT if left is None else left)
        made: list[Any] = []
        _LOGIN.sessions = made
        command: Any = None
        _login_started()
        try:
            try:
                # pyghmi asks for Administrator and falls back to Operator only.
                command = pyghmi_command.Command(
                    bmc=self._host, userid=self._username, password=self._password, port=self._port
                )
            except Exception as err:
                if not any(marker in str(err) for marker in _ROLE_MARKERS):
                    raise
                # A read-only account: every read the core sends needs the User privilege only.
                command = pyghmi_command.Command(
                    bmc=self._host,
                    userid=self._username,
                    password=self._password,
                    port=self._port,
                    privlevel=PRIVILEGE_USER,
                )
        except Exception as err:  # noqa: BLE001 - pyghmi raises many types; all become IpmiError here
            self._expired_after = None
            raise translate_error(err) from None
        finally:
            _LOGIN.deadline = None
            _LOGIN.sessions = None
            _login_ended()
            _forget_failed_logins(made, None if command is None else command.ipmi_session)
        self._login_round_trip = min(MAX_FIRST_TIMEOUT, (time.monotonic() - started) / LOGIN_ROUND_TRIPS)
        if (expired_after := self._expired_after) is not None:
            self._expired_after = None
            learned = max(MIN_KEEPALIVE_IDLE, expired_after / 2)
            self.keepalive_idle = learned if self.keepalive_idle is None else min(self.keepalive_idle, learned)
            _LOGGER.debug(
                "%s forgets idle sessions within %.1f s; keepalive after %.1f s", self._host, expired_after, learned
            )
        ipmi_session = command.ipmi_session
        # Defect (h): no re-login inside a request, and give up after about 7 s of retransmissions.
        ipmi_session.logontries = 0
        ipmi_session.maxtimeout = RETRANSMIT_LIMIT
        if ipmi_session.logged and not ipmi_session.broken:
            _take_over(ipmi_session)
        _hold(ipmi_session)
        with self._state_lock:
            kept = self._closes == closes
            if kept:
                # One step for requests: a request sees either the old session and generation, or both new.
                self._command = command
                self.generation += 1
                self._last_used = time.monotonic()
                KEEPALIVE.add(self)
        if not kept:
            self._discard(command)
            raise IpmiConnectionError("the session was closed while logging in")

    def request(
        self,
        netfn: int,
        command: int,
        data: bytes | tuple[int, ...] = (),
        *,
        lun: int = 0,
        generation: int | None = None,
    ) -> bytes:
        """Send one request and return the response data after the completion code.

        ``netfn`` is the request netfn (even), ``command`` the command byte, ``lun`` the responder LUN.
        With ``generation``, the request is only sent on that login's session (``IpmiConnectionError``
        otherwise): a request never reaches a session whose BMC was not checked.
        """
        with self._holding(urgent=True):
            with self._state_lock:
                cmd, current = self._command, self.generation
            if generation is not None and generation != current:
                raise IpmiConnectionError("the session with the BMC changed")
            self.requests += 1
            response = self._raw(cmd, netfn, command, tuple(data), lun)
        result = _outcome(netfn, command, response)
        if isinstance(result, IpmiCompletionCodeError):
            raise result
        return result

    def request_many(
        self, requests: list[tuple[int, int, bytes, int]], *, generation: int | None = None, urgent: bool = False
    ) -> list[bytes | IpmiCompletionCodeError]:
        """Send several requests ((netfn, command, data, lun) each) and return each one's data or completion code error.

        On a session taken off pyghmi's I/O thread (cost (m)), up to ``window`` requests are in flight at once, so a
        BMC 100 ms away answers a poll of 120 sensors in a fraction of the time one request at a time takes; a BMC
        that lets one go unanswered or answers busy gets them one at a time again (``window`` 1 for
        ``WINDOW_PENALTY`` batches). Whatever the window did not get answered is sent one at a time with
        retransmission. A batch sent one at a time on such a session counts towards ``WINDOW_PENALTY`` when it needed no
        retransmission and got no busy answer. An ``urgent`` batch (a control loop's readings) waits for the session
        like a single request: another batch under way lets it go between two of its requests. Raises
        ``IpmiConnectionError`` when the session is lost (or, with ``generation``, changed).
        """
        with self._holding(urgent=urgent):
            self._let_waiting_go()
            with self._state_lock:
                cmd, current = self._command, self.generation
            if generation is not None and generation != current:
                raise IpmiConnectionError("the session with the BMC changed")
            self.requests += len(requests)
            results: list[bytes | IpmiCompletionCodeError | None] = [None] * len(requests)
            transport: CallingThreadTransport | None = (
                None if cmd is None else getattr(cmd.ipmi_session, "zephyr_transport", None)
            )
            batch = transport is not None and len(requests) > 1 and self.alive
            one_at_a_time = batch and self.window == 1
            retransmitted = 0  # by this batch's own requests (not by a single request let go between them)
            if transport is not None and batch and not one_at_a_time:
                left = _time_left()
                if left is not None and left <= 0:
                    raise IpmiConnectionError("the BMC did not answer in time")
                round_trip = self.round_trip
                wait = min(MAX_FIRST_TIMEOUT, 2 * round_trip + SLOW_ANSWER) if round_trip > SLOW_ANSWER else 1.0
                answers, clean = transport.exchange_many(requests, window=self.window, wait=wait)
                self._last_used = time.monotonic()
                self._adapt_window(clean=clean)
                self.answers += sum(answer is not None for answer in answers)
                for index, answer in enumerate(answers):
                    if answer is not None:
                        netfn, command = requests[index][:2]
                        results[index] = (
                            IpmiCompletionCodeError(netfn, command, answer.code) if answer.code else answer.data
                        )
            for index, result in enumerate(results):
                if result is None:
                    self._let_waiting_go()
                    with self._state_lock:
                        if self._command is not cmd:
                            raise IpmiConnectionError("the session with the BMC changed")
                    netfn, command, data, lun = requests[index]
                    before = 0 if transport is None else transport.retransmissions
                    results[index] = _outcome(netfn, command, self._raw(cmd, netfn, command, tuple(data), lun))
                    if transport is not None:
                        retransmitted += transport.retransmissions - before
            if transport is not None and one_at_a_time:
                busy = any(
                    isinstance(result, IpmiCompletionCodeError) and result.code in BUSY_CODES for result in results
                )
                self._adapt_window(clean=not busy and not retransmitted)
        return [result for result in results if result is not None]

    @contextmanager
    def _holding(self, *, urgent: bool) -> Iterator[None]:
        """Hold ``_lock``; an ``urgent`` caller is counted in ``_waiting`` while it waits, so a batch lets it in."""
        if urgent:
            with self._turn:
                self._waiting += 1
            try:
                self._lock.acquire()
            finally:
                with self._turn:
                    self._waiting -= 1
                    self._turn.notify_all()
        else:
            self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()

    def _let_waiting_go(self) -> None:
        """Hand ``_lock`` to the urgent callers waiting (a fan write, a control loop's readings), then take it back.

        The caller holds ``_lock`` (a batch between two of its requests), so a write waits for at most the request
        on the wire, not for the rest of a poll's batch. Waits at most ``TURN_WAIT`` s for them to take the lock.
        """
        with self._turn:
            if not self._waiting:
                return
        self._lock.release()
        try:
            with self._turn:
                self._turn.wait_for(lambda: self._waiting == 0, timeout=TURN_WAIT)
        finally:
            self._lock.acquire()

    def _adapt_window(self, *, clean: bool) -> None:
        """Double the window after a clean batch; fall back to 1 for ``WINDOW_PENALTY`` batches after trouble."""
        if not clean:
            self.window, self._window_penalty = 1, WINDOW_PENALTY
            _LOGGER.debug("%s: one request at a time for the next %d batches", self._host, WINDOW_PENALTY)
        elif self._window_penalty:
            self._window_penalty -= 1
        else:
            self.window = min(MAX_WINDOW, self.window * 2)

    def keepalive_if_idle(self, idle: float) -> None:
        """Send Get Device ID when no request went out for ``idle`` s (or ``keepalive_idle``, when shorter).

        Skipped when a request is under way. An unanswered keepalive is noted with ``suspect_expired``.
        """
        if not self._lock.acquire(blocking=False):
            return
        waited = 0.0
        try:
            cmd = self._command
            waited = self.idle
            if self.alive and waited >= min(idle, self.keepalive_idle or idle):
                self.keepalives += 1
                self._raw(cmd, 0x06, 0x01, (), 0)
        except IpmiError as err:
            # The session is now marked broken; the next poll logs in again.
            _LOGGER.debug("keepalive to %s failed: %s", self._host, err)
            self.suspect_expired(waited)
        finally:
            self._lock.release()

    def _raw(self, cmd: Any, netfn: int, command: int, data: tuple[int, ...], lun: int) -> dict[str, Any]:
        """Send one request through pyghmi on ``cmd``, translating its exceptions; the caller holds ``_lock``."""
        if cmd is None or not cmd.ipmi_session.logged or cmd.ipmi_session.broken:
            raise IpmiConnectionError("no session with the BMC")
        left = _time_left()
        if left is not None and left <= 0:
            raise IpmiConnectionError("the BMC did not answer in time")
        ipmi_session = cmd.ipmi_session
        round_trip = self.round_trip
        first_timeout = min(MAX_FIRST_TIMEOUT, 2 * round_trip + SLOW_ANSWER) if round_trip > SLOW_ANSWER else None
        started = time.monotonic()
        transport: CallingThreadTransport | None = getattr(ipmi_session, "zephyr_transport", None)
        if transport is not None:
            try:
                answer = transport.request(
                    netfn,
                    command,
                    bytes(data),
                    lun,
                    first_timeout=first_timeout,
                    retransmit_limit=_retransmit_limit(left),
                )
            finally:
                self._last_used = time.monotonic()
            self._answer_times.append(self._last_used - started)
            self.answers += 1
            return {"code": answer.code, "data": answer.data}
        ipmi_session.maxtimeout = _retransmit_limit(left)
        try:
            response: dict[str, Any] = cmd.raw_command(
                netfn=netfn, command=command, data=data, rslun=lun, timeout=first_timeout
            )
        except Exception as err:  # noqa: BLE001 - pyghmi raises many types; all become IpmiError here
            raise translate_error(err) from None
        finally:
            ipmi_session.maxtimeout = RETRANSMIT_LIMIT
            self._last_used = time.monotonic()
        if "error" not in response:
            self._answer_times.append(self._last_used - started)
            self.answers += 1
        return response

    def close(self) -> None:
        """Log out (best effort) and forget the session; a login under way is logged out when it ends.

        Never waits long for a request under way (a poll of a dead BMC): after ``CLOSE_WAIT`` s the
        logout is left to a helper thread that sends it once the request ended.
        """
        with self._state_lock:
            self._closes += 1
            cmd, self._command = self._command, None
        self._discard(cmd)

    def drop(self, generation: int) -> None:
        """Forget the session of login ``generation`` after it failed (logged out best effort).

        A newer session (another thread logged in since) is kept.
        """
        self._release(generation)

    def _release(self, generation: int) -> None:
        """Forget the session of login ``generation``, if it is still the current one, and log it out."""
        with self._state_lock:
            if generation != self.generation:
                return
            cmd, self._command = self._command, None
        self._discard(cmd)

    def _discard(self, cmd: Any) -> None:
        """Stop keeping ``cmd``'s session alive and log it out unless another holder still uses it."""
        if cmd is None:
            return
        KEEPALIVE.remove(self)
        ipmi_session = cmd.ipmi_session
        if not _unhold(ipmi_session):
            return
        if self._lock.acquire(timeout=CLOSE_WAIT):
            try:
                self._logout(ipmi_session)
            finally:
                self._lock.release()
            return
        threading.Thread(
            target=self._logout_after_request, args=(ipmi_session,), name="zephyr_ipmi_logout", daemon=True
        ).start()

    def _logout_after_request(self, ipmi_session: Any) -> None:
        """Log ``ipmi_session`` out once the request under way ended (it ends within about 7 s)."""
        if not self._lock.acquire(timeout=LOGOUT_LATER_WAIT):
            return
        try:
            self._logout(ipmi_session)
        finally:
            self._lock.release()

    def _logout(self, ipmi_session: Any) -> None:
        """Send Close Session for a logged-in session; failures are only logged (the BMC expires it).

        A session pyghmi gave up on gets one Close Session datagram, unanswered and not retransmitted (defect (l)):
        a BMC that only lost some datagrams frees the session at once, one that forgot it ignores it.
        """
        transport: CallingThreadTransport | None = getattr(ipmi_session, "zephyr_transport", None)
        try:
            if ipmi_session.logged and not ipmi_session.broken:
                if transport is not None:
                    # The socket is out of pyghmi's I/O thread: Close Session goes out here, unanswered like
                    # pyghmi's own, and pyghmi's logout only forgets the session.
                    transport.send_only(0x06, 0x3C, struct.pack("<I", ipmi_session.sessionid))
                    ipmi_session.logged = 0
                ipmi_session.logout()
            elif getattr(ipmi_session, "zephyr_abandoned", False):
                ipmi_session.zephyr_abandoned = False
                session_id = struct.pack("<I", ipmi_session.sessionid)
                if transport is not None:
                    transport.send_only(0x06, 0x3C, session_id)
                else:
                    ipmi_session._send_ipmi_net_payload(netfn=0x06, command=0x3C, data=session_id, retry=False)
        except Exception:
            _LOGGER.debug("logout from %s failed", self._host, exc_info=True)
        finally:
            if transport is not None:
                transport.retire()
            else:
                _retire_socket(ipmi_session.socket)  # a dedicated socket pyghmi kept using (no-op for shared ones)
