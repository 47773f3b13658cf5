"""RMCP+ (IPMI 2.0 lanplus) server transport built on pyghmi's server session.

Protocol source: IPMI 2.0 rev 1.1 section 13 (IPMI LAN interface): 13.6 RMCP header, 13.8 IPMI 2.0 session
header, 13.17 Open Session Request/Response (Tables 13-9, 13-10), 13.20-13.23 RAKP messages 1-4 (Tables
13-11 to 13-14), 13.24 RMCP+ status codes (Table 13-15), 13.28-13.31 key generation (SIK, K1, K2) and
HMAC-SHA1-96 / HMAC-SHA256-128 integrity with AES-CBC-128 confidentiality (cipher suites 3 and 17, Table
22-20); section 22.13 Get Channel Authentication Capabilities, 22.15 Get Channel Cipher Suites, 22.18 Set
Session Privilege Level, 22.19 Close Session.

pyghmi's ``ServerSession`` supplies packet framing, integrity checking, AES encryption/decryption and the
response builder; this module replaces what does not work in it (each override names the defect).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyghmi.ipmi.private.constants as ipmi_constants
from pyghmi.ipmi.private import serversession

if TYPE_CHECKING:
    import socket

RMCP_HEADER = b"\x06\x00\xff\x07"

# Payload types, IPMI 2.0 Table 13-16.
PT_IPMI, PT_SOL, PT_OPEN_REQ, PT_OPEN_RSP, PT_RAKP1, PT_RAKP2, PT_RAKP3, PT_RAKP4 = (
    0,
    1,
    0x10,
    0x11,
    0x12,
    0x13,
    0x14,
    0x15,
)

# RMCP+ status codes, IPMI 2.0 Table 13-15.
RS_OK = 0x00
RS_NO_RESOURCES = 0x01
RS_INVALID_SESSION = 0x02
RS_INVALID_ROLE = 0x09
RS_INVALID_NAME_LENGTH = 0x0C
RS_UNAUTHORIZED_NAME = 0x0D
RS_INVALID_ICV = 0x0F
RS_NO_CIPHER_MATCH = 0x11

#: Cipher suites (IPMI 2.0 Table 22-20): id -> (authentication, integrity, confidentiality) algorithm.
CIPHER_SUITES: dict[int, tuple[int, int, int]] = {
    3: (0x01, 0x01, 0x01),  # RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128
    17: (0x03, 0x04, 0x01),  # RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128
}

# Privilege levels, IPMI 2.0 Table 6-1 (as encoded in RAKP1 / Set Session Privilege Level).
PRIV_CALLBACK, PRIV_USER, PRIV_OPERATOR, PRIV_ADMIN, PRIV_OEM = 1, 2, 3, 4, 5


def checksum(data: bytes | bytearray) -> int:
    """IPMI 8-bit two's-complement checksum (IPMI 2.0 section 13.8)."""
    return (-sum(data)) & 0xFF


@dataclass
class User:
    """A BMC user: password (bytes, at most 20) and maximum privilege (1..4)."""

    name: str
    password: bytes
    max_priv: int = PRIV_ADMIN
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class Request:
    """One IPMI request as decoded from the wire (netfn, command, data after the command byte)."""

    netfn: int
    command: int
    data: bytes
    session: SimSession
    client: tuple[Any, ...]
    lun: int = 0
    seq: int = 0


class SimSession(serversession.ServerSession):  # type: ignore[misc]
    """One RMCP+ session between a client and the simulated BMC."""

    def __new__(cls, *args: Any, **kwargs: Any) -> SimSession:
        """Plain object creation (pyghmi's ``Session.__new__`` shares sessions between callers)."""
        return object.__new__(cls)

    def __init__(self, server: RmcpServer, clientaddr: tuple[Any, ...], open_request: bytes, suite: int) -> None:
        """Create the session for an accepted Open Session request.

        Defect in pyghmi ``ServerSession.__init__``: it registers the session in the process-wide
        ``Session.bmc_handlers`` keyed by client address (one session per client address and BMC port,
        visible to pyghmi's client I/O thread in the same process) and always answers for cipher suite 3.
        We keep sessions in :class:`RmcpServer` keyed by the managed session id instead.
        """
        self.server = server
        self.suite = suite
        auth, integrity, _ = CIPHER_SUITES[suite]
        self.currhashlib = hashlib.sha256 if auth == 0x03 else hashlib.sha1
        self.currhashlen = 16 if integrity == 0x04 else 12
        self.rqaddr = ipmi_constants.IPMI_BMC_ADDRESS
        self.uuid = server.guid
        self.authdata = None
        self.servermode = True
        self.ipmiversion = 2.0
        self.sequencenumber = 0
        self.sessionid = 0
        self.lastpayload = None
        self.rqlun = 0
        self.broken = False
        self.authtype = 6
        self.integrityalgo: int | str = 0
        self.confalgo: int | str = 0
        self.kg = server.kg
        self.k1: bytes | None = None
        self.socket = server.sock
        self.sockaddr = clientaddr
        self.pendingpayloads: Any = []
        self.pktqueue: Any = []
        self.clientsessionid = bytes(open_request[4:8])
        self.managedsessionid = server.new_session_id()
        self.localsid = struct.unpack("<I", self.managedsessionid)[0]
        self.requested_max = open_request[1] & 0x0F
        self.state = "opened"
        self.username = b""
        self.user: User | None = None
        self.maxpriv = PRIV_ADMIN
        self.clientpriv = PRIV_USER
        self.created = time.monotonic()
        self.last_activity = self.created
        self.req_rqlun = 0
        self.req_rslun = 0
        self.current_record: Any = None  # request log entry being answered

    # -- transmit ----------------------------------------------------------------------------------------

    def _xmit_packet(self, retry: bool = True, delay_xmit: float | None = None, timeout: float | None = None) -> None:
        """Send ``self.netpacket`` through the simulator's socket.

        Defect in pyghmi ``Session._xmit_packet`` for servers: it arms client retry timers in the
        process-wide ``waiting_sessions`` table; a BMC never retransmits.
        """
        if self.sequencenumber:
            self.sequencenumber = (self.sequencenumber + 1) & 0xFFFFFFFF
        self.server.transmit(bytes(self.netpacket), self.sockaddr)

    def send_ipmi_response(self, data: bytes | list[int] = b"", code: int = 0) -> None:
        """Send an IPMI response for the request being handled.

        Defect in pyghmi ``ServerSession``: the response puts the requester's LUN in the rqSeq/rsLUN byte
        and 0 in the netFn/rqLUN byte (IPMI 2.0 Figure 13-4 wants the opposite); we pass them the right way.
        """
        self.server.note_response(self, code, bytes(data))
        self.rqlun = self.req_rslun
        self._send_ipmi_net_payload(data=bytearray(data), code=code, rslun=self.req_rqlun)

    # -- receive -----------------------------------------------------------------------------------------

    def _parse_ipmi_payload(self, payload: bytearray) -> None:
        """Decode an IPMI request message (IPMI 2.0 Figure 13-4) and hand it to the BMC.

        Defect in pyghmi ``Session._parse_ipmi_payload``: checksums are not verified; here a message
        with a bad header or body checksum is dropped, as a BMC does.
        """
        if len(payload) < 7 or checksum(payload[0:2]) != payload[2] or checksum(payload[3:-1]) != payload[-1]:
            return
        self.seqlun = payload[4] >> 2
        self.clientaddr = payload[3]
        self.clientnetfn = (payload[1] >> 2) + 1
        self.clientcommand = payload[5]
        self.req_rslun = payload[1] & 0x03
        self.req_rqlun = payload[4] & 0x03
        request = Request(
            payload[1] >> 2,
            payload[5],
            bytes(payload[6:-1]),
            lun=self.req_rslun,
            seq=self.seqlun,
            session=self,
            client=self.sockaddr,
        )
        self.server.handle_request(request)

    # -- RAKP ----------------------------------------------------------------------------------------------

    def got_rakp1(self, data: bytes) -> None:
        """RAKP Message 1 -> RAKP Message 2 (IPMI 2.0 section 13.20/13.21).

        Defect in pyghmi ``ServerSession._got_rakp1``: unknown or null user names get no answer at all
        (the client waits for a timeout) and only HMAC-SHA1 is computed; here they get status 0Dh
        ("unauthorized name") and the suite's hash is used.
        """
        if len(data) < 28 or self.state not in ("opened", "rakp2"):
            return
        tag = data[0]
        self.Rm = bytes(data[8:24])
        self.rolem = data[24]
        ulen = data[27]
        if ulen > 16 or len(data) < 28 + ulen:
            self._send_rakp2_error(tag, RS_INVALID_NAME_LENGTH)
            return
        self.username = bytes(data[28 : 28 + ulen])
        user = self.server.lookup_user(self.username)
        if user is None:
            locked = self.username.decode("latin-1") in self.server.users
            self.server.login_failed(self.username, "user locked out" if locked else "unknown user")
            self._send_rakp2_error(tag, RS_UNAUTHORIZED_NAME)
            return
        requested = self.rolem & 0x0F
        if requested > user.max_priv:
            self._send_rakp2_error(tag, RS_INVALID_ROLE)
            return
        self.user = user
        self.maxpriv = requested if requested else user.max_priv
        self.kuid = user.password
        self.Rc = os.urandom(16)
        guid = self.uuid.bytes
        self.uuiddata = guid
        hmacdata = (
            self.clientsessionid
            + self.managedsessionid
            + self.Rm
            + self.Rc
            + guid
            + bytes([self.rolem, len(self.username)])
            + self.username
        )
        authcode = hmac.new(self.kuid, hmacdata, self.currhashlib).digest()
        message = bytes([tag, RS_OK, 0, 0]) + self.clientsessionid + self.Rc + guid + authcode
        self.state = "rakp2"
        self.server.note_handshake(self, "RAKP2", RS_OK)
        self.send_payload(bytearray(message), PT_RAKP2, retry=False)

    def _send_rakp2_error(self, tag: int, status: int) -> None:
        self.server.note_handshake(self, "RAKP2", status)
        self.send_payload(bytearray([tag, status, 0, 0]) + self.clientsessionid, PT_RAKP2, retry=False)
        self.server.drop_session(self)

    def got_rakp3(self, data: bytes) -> None:
        """RAKP Message 3 -> RAKP Message 4 (IPMI 2.0 section 13.22/13.23).

        Defect in pyghmi ``ServerSession._got_rakp3``: a wrong authentication code is silently ignored
        (no RAKP4 with status 0Fh), keys are always derived with SHA1 and the session is never
        marked failed; here the session is dropped and a failed login is recorded.
        """
        if len(data) < 8 or self.state != "rakp2":
            return
        tag, status = data[0], data[1]
        if status != RS_OK:
            # The client rejected our RAKP2 (e.g. it computed another HMAC: wrong password).
            self.server.login_failed(self.username, f"client aborted RAKP3 status {status:#04x}")
            self.server.drop_session(self)
            return
        namebytes = bytes([self.rolem, len(self.username)]) + self.username
        expected = hmac.new(self.kuid, self.Rc + self.clientsessionid + namebytes, self.currhashlib).digest()
        if not hmac.compare_digest(expected, bytes(data[8:])):
            self.server.login_failed(self.username, "bad RAKP3 authcode")
            self.server.note_handshake(self, "RAKP4", RS_INVALID_ICV)
            self.send_payload(bytearray([tag, RS_INVALID_ICV, 0, 0]) + self.clientsessionid, PT_RAKP4, retry=False)
            self.server.drop_session(self)
            return
        kg = self.kg if self.kg is not None else self.kuid
        self.sik = hmac.new(kg, self.Rm + self.Rc + namebytes, self.currhashlib).digest()
        # K1/K2 use 20-byte constants for both SHA1 and SHA256 (as ipmitool, FreeIPMI and pyghmi do).
        self.k1 = hmac.new(self.sik, b"\x01" * 20, self.currhashlib).digest()
        self.k2 = hmac.new(self.sik, b"\x02" * 20, self.currhashlib).digest()
        self.aeskey = self.k2[0:16]
        icv = hmac.new(self.sik, self.Rm + self.managedsessionid + self.uuiddata, self.currhashlib).digest()
        payload = bytearray([tag, RS_OK, 0, 0]) + self.clientsessionid + icv[: self.currhashlen]
        self.server.note_handshake(self, "RAKP4", RS_OK)
        self.send_payload(payload, PT_RAKP4, retry=False)
        self.confalgo = "aes"
        self.integrityalgo = "sha"
        self.sequencenumber = 1
        self.sessionid = struct.unpack("<I", self.clientsessionid)[0]
        self.clientpriv = min(PRIV_USER, self.maxpriv)
        self.state = "active"
        self.server.login_succeeded(self)

    def close_server_session(self) -> None:
        """Forget the session (pyghmi's version does nothing, so sessions were never released)."""
        self.server.drop_session(self)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly description for the control channel."""
        return {
            "session_id": self.localsid,
            "client": f"{self.sockaddr[0]}:{self.sockaddr[1]}",
            "user": self.username.decode("latin-1"),
            "state": self.state,
            "suite": self.suite,
            "privilege": self.clientpriv,
            "idle_s": round(time.monotonic() - self.last_activity, 3),
        }


class RmcpServer:
    """UDP endpoint of the simulated BMC: routes datagrams to sessions and sessionless handlers.

    ``handler(request)`` is called for each decoded IPMI request inside an active session; it must answer
    with ``request.session.send_ipmi_response``. Hooks named ``on_*`` report protocol events to the
    simulator (request log, SEL entries).
    """

    def __init__(
        self,
        sock: socket.socket | None,
        *,
        guid: Any,
        users: dict[str, User],
        cipher_suites: tuple[int, ...],
        handler: Callable[[Request], None],
        on_log: Callable[[dict[str, Any]], None],
        on_login_failed: Callable[[bytes, str], None],
        on_response: Callable[[SimSession, int, bytes], None],
    ) -> None:
        """Serve on ``sock`` (bound by the caller to 127.0.0.1 only; may be set later)."""
        self.sock = sock
        self.guid = guid
        self.users = users
        self.cipher_suites = cipher_suites
        self.handler = handler
        self.on_log = on_log
        self.on_login_failed = on_login_failed
        self.on_response = on_response
        self.kg: bytes | None = None
        self.sessions: dict[int, SimSession] = {}
        self.session_limit: int | None = None
        self.session_timeout = 60.0
        self.handshake_timeout = 5.0
        self.lockout_after = 0
        self.lockout_seconds = 300.0
        self.channel = 1
        self.transmit_filter: Callable[[bytes, Any], bool] | None = None

    # -- sessions ------------------------------------------------------------------------------------------

    def new_session_id(self) -> bytes:
        """Random non-zero managed session id not in use (4 bytes, little endian on the wire)."""
        while True:
            sid = os.urandom(4)
            value = struct.unpack("<I", sid)[0]
            if value and value not in self.sessions:
                return sid

    def drop_session(self, session: SimSession) -> None:
        """Remove ``session`` from the table (close, failure, timeout, restart)."""
        self.sessions.pop(session.localsid, None)
        session.state = "closed"

    def drop_all(self) -> None:
        """Forget every session (BMC restart)."""
        for session in list(self.sessions.values()):
            session.state = "closed"
        self.sessions.clear()

    def expire_idle(self) -> None:
        """Drop idle sessions and stalled handshakes.

        Sessions idle for longer than ``session_timeout`` seconds and handshakes stalled for
        ``handshake_timeout`` seconds (wall clock) are dropped. A handshake abandoned after RAKP2 is how a client with
        the wrong password shows up (it cannot verify RAKP2 and never sends RAKP3): a failed login.
        """
        now = time.monotonic()
        for session in list(self.sessions.values()):
            limit = self.session_timeout if session.state == "active" else self.handshake_timeout
            if now - session.last_activity > limit:
                if session.state == "rakp2":
                    self.login_failed(session.username, "handshake abandoned after RAKP2")
                self.drop_session(session)

    def lookup_user(self, name: bytes) -> User | None:
        """User by name unless unknown or locked out."""
        user = self.users.get(name.decode("latin-1"))
        if user is None or time.monotonic() < user.locked_until:
            return None
        return user

    def login_failed(self, name: bytes, reason: str) -> None:
        """Count a failed login; after ``lockout_after`` failures the user is locked."""
        self.on_login_failed(name, reason)

    def login_succeeded(self, session: SimSession) -> None:
        """Reset the failure counter of the session's user."""
        if session.user is not None:
            session.user.failures = 0

    # -- transmit --------------------------------------------------------------------------------------------

    def transmit(self, packet: bytes, addr: Any) -> None:
        """Send a datagram unless an outbound filter (fault injection) swallows it."""
        if self.transmit_filter is not None and not self.transmit_filter(packet, addr):
            return
        if self.sock is None:
            return
        with contextlib.suppress(OSError):
            self.sock.sendto(packet, addr)

    def note_handshake(self, session: SimSession, message: str, status: int) -> None:
        """Log one session-setup message we sent (kind "rmcp+")."""
        self.on_log(
            {
                "kind": "rmcp+",
                "message": message,
                "status": status,
                "session_id": session.localsid,
                "client": session.sockaddr,
            }
        )

    def note_response(self, session: SimSession, code: int, data: bytes) -> None:
        """Pass the completion code and data of a response to the request log."""
        self.on_response(session, code, data)

    # -- receive ---------------------------------------------------------------------------------------------

    def datagram(self, data: bytes, addr: Any) -> None:
        """Process one received datagram (RMCP class IPMI only; ASF presence ping gets a pong)."""
        if len(data) < 5 or data[0] != 0x06:
            return
        if data[3] == 0x06:  # ASF class: presence ping (DMTF DSP0114 section 3.2.4.3)
            self._asf_pong(data, addr)
            return
        if data[2:4] != b"\xff\x07":
            return
        authtype = data[4]
        if authtype == 0x06:
            self._ipmi20(bytearray(data), addr)
        elif authtype == 0x00 and len(data) >= 14:
            self._ipmi15(bytearray(data), addr)

    def _asf_pong(self, data: bytes, addr: Any) -> None:
        if len(data) < 12 or data[8] != 0x80:
            return
        tag = data[9]
        pong = bytes([0x06, 0x00, 0xFF, 0x06, 0x00, 0x00, 0x11, 0xBE, 0x40, tag, 0x00, 0x10])
        pong += struct.pack(">I", 4542) + b"\x00\x00\x00\x00" + bytes([0x81, 0x00]) + b"\x00" * 6
        self.transmit(pong, addr)

    def _ipmi15(self, data: bytearray, addr: Any) -> None:
        # IPMI 1.5 session header with authentication type NONE: only sessionless commands.
        sid = struct.unpack("<I", data[9:13])[0]
        length = data[13]
        payload = data[14 : 14 + length]
        if sid != 0 or len(payload) < 7:
            return
        self._sessionless(payload, addr, ipmi20=False)

    def _ipmi20(self, data: bytearray, addr: Any) -> None:
        if len(data) < 16:
            return
        ptype = data[5] & 0x3F
        sid = struct.unpack("<I", data[6:10])[0]
        length = struct.unpack("<H", data[14:16])[0]
        body = bytes(data[16 : 16 + length])
        if ptype == PT_OPEN_REQ:
            self._open_session(body, addr)
        elif ptype in (PT_RAKP1, PT_RAKP3):
            if len(body) < 8:
                return
            msid = struct.unpack("<I", body[4:8])[0]
            session = self.sessions.get(msid)
            if session is None or session.sockaddr != addr:
                if ptype == PT_RAKP1:
                    reply = bytearray([body[0], RS_INVALID_SESSION, 0, 0]) + b"\x00" * 4
                    self._send_unauth(PT_RAKP2, reply, addr)
                return
            session.last_activity = time.monotonic()
            if ptype == PT_RAKP1:
                session.got_rakp1(body)
            else:
                session.got_rakp3(body)
        elif ptype == PT_IPMI:
            if sid == 0:
                if not data[5] & 0xC0:
                    self._sessionless(bytearray(body), addr, ipmi20=True)
                return
            session = self.sessions.get(sid)
            if session is None or session.state != "active":
                self.on_log({"kind": "dropped", "reason": "unknown session id", "session_id": sid, "client": addr})
                return
            session.last_activity = time.monotonic()
            session._handle_ipmi2_packet(data)

    def _open_session(self, body: bytes, addr: Any) -> None:
        """Open Session Request -> Response (IPMI 2.0 section 13.17).

        Defect in pyghmi ``ServerSession.create_open_session_response``: it always answers with cipher
        suite 3 (HMAC-SHA1 / AES) whatever was proposed, and always grants privilege 4; a client that
        proposed suite 17 then fails its RAKP checks. Here the proposal is matched against the suites
        this BMC supports (status 11h if none), the requested maximum privilege is echoed, and the
        session limit answers status 01h ("insufficient resources").
        """
        if len(body) < 8:
            return
        tag = body[0]
        rcsid = body[4:8]
        requested = body[1] & 0x0F
        proposal = self._parse_proposal(body[8:])
        log = {"kind": "rmcp+", "message": "open session", "client": addr, "proposal": list(proposal)}
        active = [x for x in self.sessions.values() if x.state != "closed"]
        if self.session_limit is not None and len(active) >= self.session_limit:
            self.on_log({**log, "status": RS_NO_RESOURCES})
            self._send_unauth(PT_OPEN_RSP, bytearray([tag, RS_NO_RESOURCES, 0, 0]) + rcsid, addr)
            return
        suite = self._match_suite(proposal)
        if suite is None:
            self.on_log({**log, "status": RS_NO_CIPHER_MATCH})
            self._send_unauth(PT_OPEN_RSP, bytearray([tag, RS_NO_CIPHER_MATCH, 0, 0]) + rcsid, addr)
            return
        session = SimSession(self, addr, body, suite)
        self.sessions[session.localsid] = session
        auth, integ, conf = CIPHER_SUITES[suite]
        granted = requested if requested else PRIV_ADMIN
        response = (
            bytearray([tag, RS_OK, granted, 0])
            + rcsid
            + session.managedsessionid
            + bytes([0, 0, 0, 8, auth, 0, 0, 0, 1, 0, 0, 8, integ, 0, 0, 0, 2, 0, 0, 8, conf, 0, 0, 0])
        )
        self.on_log({**log, "status": RS_OK, "suite": suite, "session_id": session.localsid})
        self._send_unauth(PT_OPEN_RSP, response, addr)

    @staticmethod
    def _parse_proposal(data: bytes) -> tuple[int | None, int | None, int | None]:
        """(auth, integrity, confidentiality) algorithms proposed; None where the payload is a wildcard."""
        algs: list[int | None] = [None, None, None]
        offset = 0
        while offset + 4 <= len(data):
            ptype, plen = data[offset], data[offset + 3]
            if plen >= 8 and offset + 5 <= len(data) and ptype < 3:
                algs[ptype] = data[offset + 4] & 0x3F
                offset += 8
            else:
                offset += max(plen, 8) if plen else 8
        return algs[0], algs[1], algs[2]

    def _match_suite(self, proposal: tuple[int | None, int | None, int | None]) -> int | None:
        for suite in sorted(self.cipher_suites, reverse=True):
            algs = CIPHER_SUITES[suite]
            if all(p is None or p == a for p, a in zip(proposal, algs, strict=True)):
                return suite
        return None

    def _send_unauth(self, ptype: int, payload: bytes | bytearray, addr: Any) -> None:
        header = RMCP_HEADER + bytes([0x06, ptype]) + b"\x00" * 8 + struct.pack("<H", len(payload))
        self.transmit(header + bytes(payload), addr)

    # -- sessionless commands ----------------------------------------------------------------------------

    def _sessionless(self, msg: bytearray, addr: Any, *, ipmi20: bool) -> None:
        """Get Channel Authentication Capabilities (06h/38h) and Get Channel Cipher Suites (06h/54h)."""
        if len(msg) < 7 or checksum(msg[0:2]) != msg[2] or checksum(msg[3:-1]) != msg[-1]:
            return
        netfn, cmd = msg[1] >> 2, msg[5]
        data = bytes(msg[6:-1])
        entry: dict[str, Any] = {"kind": "sessionless", "netfn": netfn, "cmd": cmd, "data": data, "client": addr}
        if netfn == 0x06 and cmd == 0x38 and len(data) >= 2:
            code, rsp = self._auth_caps(data)
        elif netfn == 0x06 and cmd == 0x54 and len(data) >= 3:
            code, rsp = self._cipher_suites(data)
        else:
            code, rsp = 0xC1, b""  # other commands need a session
        entry.update({"cc": code, "response": rsp})
        self.on_log(entry)
        # response message: rqAddr, netFn/rqLUN, chk, rsAddr, rqSeq/rsLUN, cmd, cc, data, chk
        head = bytes([msg[3], ((netfn + 1) << 2) | (msg[4] & 0x03)])
        body = bytes([msg[0], (msg[4] & 0xFC) | (msg[1] & 0x03), cmd, code]) + rsp
        message = head + bytes([checksum(head)]) + body + bytes([checksum(body)])
        if ipmi20:
            self._send_unauth(PT_IPMI, message, addr)
        else:
            self.transmit(RMCP_HEADER + b"\x00" + b"\x00" * 8 + bytes([len(message)]) + message, addr)

    def _auth_caps(self, data: bytes) -> tuple[int, bytes]:
        """Get Channel Authentication Capabilities response (IPMI 2.0 section 22.13)."""
        channel = data[0] & 0x0F
        if channel not in (0x0E, self.channel):
            return 0xCC, b""
        extended = bool(data[0] & 0x80)
        auth_support = 0x80 if extended else 0x00  # IPMI 2.0 extended capabilities, no 1.5 auth types
        anonymous = 0x02 if "" in self.users else 0x00
        status = 0x04 | anonymous  # non-null user names enabled
        ext = 0x02 if extended else 0x00  # channel supports IPMI 2.0 connections
        return 0x00, bytes([self.channel, auth_support, status, ext, 0, 0, 0, 0])

    def _cipher_suites(self, data: bytes) -> tuple[int, bytes]:
        """Get Channel Cipher Suites response, 16 bytes of records per list index (section 22.15)."""
        records = b""
        for suite in sorted(self.cipher_suites):
            auth, integ, conf = CIPHER_SUITES[suite]
            records += bytes([0xC0, suite, auth, 0x40 | integ, 0x80 | conf])
        index = data[2] & 0x3F
        return 0x00, bytes([self.channel]) + records[index * 16 : index * 16 + 16]

    # -- requests ----------------------------------------------------------------------------------------

    def handle_request(self, request: Request) -> None:
        """Hand a request received in an active session to the BMC handler."""
        self.handler(request)

    def set_session_privilege(self, request: Request) -> tuple[int, bytes]:
        """Set Session Privilege Level (06h/3Bh, IPMI 2.0 section 22.18).

        Defect in pyghmi ``ServerSession.handle_client_request``: a request above the maximum privilege
        answers 81h but then reads ``clientpriv`` that may not exist (AttributeError); level 0 ("return
        present level") is not handled.
        """
        session = request.session
        if not request.data:
            return 0xC7, b""
        wanted = request.data[0] & 0x0F
        if wanted == 0:
            return 0x00, bytes([session.clientpriv])
        if wanted > PRIV_OEM or wanted < PRIV_USER:
            return 0x80, b""
        if wanted > session.maxpriv:
            return 0x81, b""
        session.clientpriv = wanted
        return 0x00, bytes([wanted])
