"""The simulator: one BMC on 127.0.0.1 (UDP, RMCP+), its machine model, faults and the request log.

A single background thread serves the UDP socket and the optional control socket, advances simulated
time in real-time mode and expires idle sessions. All state is guarded by one lock, so the Python API
(:class:`Controller`) may be called from any thread.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import random
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyghmi.ipmi.bmc as pyghmi_bmc

from . import ipmi
from .fru import build_fru
from .model import QUIRK_RECORDS, STEP, Machine
from .profiles import Profile, get_profile
from .rmcp import Request as IpmiRequest
from .rmcp import RmcpServer, SimSession, User
from .vendors import FanControl, make_fan_control

LOOPBACK = "127.0.0.1"


@dataclass
class RequestRecord:
    """One entry of the request log.

    ``kind``: ``ipmi`` (a request inside a session: ``netfn``, ``cmd``, ``data`` as received and the
    ``cc``/``response`` sent back), ``sessionless`` (Get Channel Authentication Capabilities / Cipher
    Suites), ``rmcp+`` (session setup messages, ``note`` holds the status), ``dropped`` (a datagram the
    BMC ignored: fault injection or an unknown session id) or ``event`` (restart, lockout...).
    ``time`` is Unix wall time, ``sim_time`` simulated seconds since start.
    """

    seq: int
    kind: str
    time: float
    sim_time: float
    client: str = ""
    session_id: int = 0
    netfn: int | None = None
    cmd: int | None = None
    data: bytes = b""
    cc: int | None = None
    response: bytes = b""
    lun: int = 0
    note: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (bytes as lowercase hex)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "time": self.time,
            "sim_time": self.sim_time,
            "client": self.client,
            "session_id": self.session_id,
            "netfn": self.netfn,
            "cmd": self.cmd,
            "data": self.data.hex(),
            "cc": self.cc,
            "response": self.response.hex(),
            "lun": self.lun,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RequestRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**raw, "data": bytes.fromhex(raw["data"]), "response": bytes.fromhex(raw["response"])})


@dataclass
class Faults:
    """Run-time faults.

    ``loss_pct``: percent of received datagrams dropped (seeded RNG);
    ``latency_ms``: delay before a datagram is processed; ``silent``: drop everything;
    ``session_limit``: refuse Open Session past this many sessions (RMCP+ status 01h);
    ``cc_overrides``: forced completion codes; ``sdr_quirks``: extra SDR records with unusual ID strings.
    """

    loss_pct: float = 0.0
    latency_ms: float = 0.0
    silent: bool = False
    session_limit: int | None = None
    cc_overrides: list[dict[str, Any]] = field(default_factory=list)
    sdr_quirks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "loss_pct": self.loss_pct,
            "latency_ms": self.latency_ms,
            "silent": self.silent,
            "session_limit": self.session_limit,
            "cc_overrides": [
                {**o, "data_prefix": o["data_prefix"].hex() if o["data_prefix"] else None} for o in self.cc_overrides
            ],
            "sdr_quirks": list(self.sdr_quirks),
        }


def _addr_str(addr: Any) -> str:
    if not addr:
        return ""
    return f"{addr[0]}:{addr[1]}"


class SimBmc(pyghmi_bmc.Bmc):  # type: ignore[misc]
    """pyghmi's BMC skeleton wired to the simulator.

    Chassis control, boot options and payload
    activation use pyghmi's plumbing, everything else is answered by :class:`bmcsim.ipmi.Commands`.

    ``IpmiServer.__init__`` is not called: it binds through pyghmi's process-wide I/O loop, whose packets
    are then processed in whichever thread calls ``Session.wait_for_rsp`` (client threads included).
    The simulator owns its socket and thread instead.
    """

    _PYGHMI_HANDLED = frozenset({(0x00, 0x02), (0x00, 0x08), (0x00, 0x09), (0x06, 0x48), (0x06, 0x49)})

    def __init__(self, sim: Simulator) -> None:  # pylint: disable=super-init-not-called
        """Bind to ``sim`` (no socket of its own)."""
        self.sim = sim
        self.port = 0
        self.uuid = sim.guid
        self.boot_device: int | str = 0
        self.iohandler = None

    # hooks used by pyghmi's Bmc.control_chassis / boot option handlers
    def get_power_state(self) -> str:
        """'on' or 'off'."""
        return "on" if self.sim.machine.power_on else "off"

    def power_on(self) -> int:
        """Chassis Control 01h: power up."""
        self.sim.set_power_locked(True)
        return 0

    def power_off(self) -> int:
        """Chassis Control 00h: power down."""
        self.sim.set_power_locked(False)
        return 0

    def power_shutdown(self) -> int:
        """Chassis Control 05h: soft shutdown (the simulated OS obeys at once)."""
        return self.power_off()

    def power_cycle(self) -> int:
        """Chassis Control 02h: off then on (from off: just on)."""
        self.sim.set_power_locked(False)
        self.sim.set_power_locked(True)
        return 0

    def power_reset(self) -> int:
        """Chassis Control 03h: hard reset; D5h (not in this state) while powered off."""
        return 0 if self.sim.machine.power_on else ipmi.CC_NOT_IN_STATE

    def pulse_diag(self) -> int:
        """Chassis Control 04h: diagnostic interrupt (accepted, no effect)."""
        return 0

    def get_boot_device(self) -> int | str:
        """Boot device set with Set System Boot Options (not otherwise used)."""
        return self.boot_device

    def set_boot_device(self, bootdevice: int | str) -> None:
        """Remember the boot device."""
        self.boot_device = bootdevice

    def get_system_guid(self) -> uuid.UUID:
        """Return the simulator's GUID."""
        return self.sim.guid

    def handle_raw_request(self, request: dict[str, Any], session: Any) -> None:
        """Answer one IPMI request (pyghmi's entry point for BMC commands)."""
        netfn, cmd, data = request["netfn"], request["command"], bytes(request["data"])
        if (netfn, cmd) in self._PYGHMI_HANDLED:
            if not data:  # pyghmi indexes data[0] unchecked
                session.send_ipmi_response(code=ipmi.CC_BAD_LENGTH)
                return
            if (netfn, cmd) == (0x00, 0x08) and data[0] not in (0, 3, 4, 5):
                session.send_ipmi_response(code=0x80)  # parameter not supported (pyghmi raises instead)
                return
            super().handle_raw_request(request, session)
            return
        code, rsp = self.sim.commands.handle(netfn, cmd, data)
        session.send_ipmi_response(data=rsp, code=code)


class Simulator:
    """A simulated BMC serving RMCP+ (IPMI 2.0 lanplus) on 127.0.0.1.

    ``profile``: a profile name (see :data:`bmcsim.profiles.PROFILES`) or :class:`Profile`.
    ``port``: UDP port, 0 picks a free one (read :attr:`port` after :meth:`start`).
    ``users``: user name -> password (administrator) or (password, max privilege 1..4); default
    ``{"admin": "admin"}``. ``speed``: simulated seconds per wall second (0 = time moves only through
    :meth:`Controller.tick`). ``epoch``: Unix time at simulated time 0 (default: now). ``seed``: seeds
    the packet-loss RNG and the GUID (session ids stay random). ``control``: optional control channel
    address, "127.0.0.1:PORT" (TCP) or a filesystem path (unix socket).
    """

    def __init__(
        self,
        profile: str | Profile = "generic",
        *,
        port: int = 0,
        users: dict[str, str | tuple[str, int]] | None = None,
        speed: float = 1.0,
        epoch: float | None = None,
        seed: int = 0,
        control: str | None = None,
        ambient: float = 25.0,
        load: float = 10.0,
    ) -> None:
        """Build the machine; nothing is bound until :meth:`start`."""
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.requested_port = port
        self.speed = speed
        self.lock = threading.RLock()
        self.rng = random.Random(seed)  # noqa: S311 - reproducible fault injection, not cryptography
        guid_rng = random.Random(f"{self.profile.name}:{seed}")  # noqa: S311 - a stable GUID per profile
        self.guid = uuid.UUID(int=guid_rng.getrandbits(128), version=4)
        # The LAN channel's MAC address (Get LAN Configuration Parameters, parameter 5): a stable,
        # locally administered address per profile and seed; tests may set it like ``guid``.
        self.mac = bytes([0x02, *guid_rng.getrandbits(40).to_bytes(5, "big")])
        self.machine = Machine(self.profile, epoch=time.time() if epoch is None else epoch, ambient=ambient)
        self.machine.load = load
        self.fan_control: FanControl = make_fan_control(self.machine)
        self.machine.fan_control = self.fan_control
        self.machine.seed_sel()
        self.machine.settle()
        self.fru_image = build_fru(self.profile.fru)
        self.commands = ipmi.Commands(self)
        self.bmc = SimBmc(self)
        self.faults = Faults()
        self.users: dict[str, User] = {}
        for name, value in (users or {"admin": "admin"}).items():
            password, priv = (value, 4) if isinstance(value, str) else value
            self.users[name] = User(name, password.encode("utf-8"), priv)
        self.log: list[RequestRecord] = []
        self.log_limit = 100_000
        self._seq = itertools.count(1)
        self.stats = {"received": 0, "dropped": 0, "sent": 0}
        self.down_until = 0.0
        self.sock: socket.socket | None = None
        self.server = RmcpServer(
            None,
            guid=self.guid,
            users=self.users,
            cipher_suites=self.profile.cipher_suites,
            handler=self._handle_request,
            on_log=self._log_protocol,
            on_login_failed=self._login_failed,
            on_response=self._note_response,
        )
        self.server.transmit_filter = self._outbound
        self.server.lockout_after = self.profile.lockout_after
        self.server.lockout_seconds = self.profile.lockout_seconds
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._delayed: list[tuple[float, int, bytes, Any]] = []
        self._delay_seq = itertools.count()
        self._pending_restart: float | None = None
        self._last_wall = time.monotonic()
        self._time_debt = 0.0
        self._last_expire = 0.0
        self.control_address = control
        self.control_server: Any = None
        self.control = Controller(self)

    # -- lifecycle ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """UDP port the BMC listens on (valid after :meth:`start`)."""
        if self.sock is None:
            raise RuntimeError("simulator not started")
        return int(self.sock.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of the BMC."""
        return LOOPBACK, self.port

    def start(self) -> Simulator:
        """Bind 127.0.0.1:port (UDP) and the control channel, then start the service thread."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((LOOPBACK, self.requested_port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.sock = sock
        self.server.sock = sock
        if self.control_address:
            from .control import ControlServer  # noqa: PLC0415 - avoids an import cycle

            try:
                self.control_server = ControlServer(self.control, self.control_address)
            except OSError:
                sock.close()
                self.sock = None
                raise
        self._stop.clear()
        self._last_wall = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"bmcsim-{self.profile.name}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close every socket (idempotent)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)
            self._thread = None
        if self.control_server is not None:
            self.control_server.close()
            self.control_server = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> Simulator:
        """Start on entry."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on exit."""
        self.stop()

    # -- service loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        sock = self.sock
        if sock is None:
            return
        while not self._stop.is_set():
            timeout = 0.05
            if self._delayed:
                timeout = max(0.0, min(timeout, self._delayed[0][0] - time.monotonic()))
            readers: list[Any] = [sock]
            if self.control_server is not None:
                readers += self.control_server.readers()
            try:
                ready, _, _ = select.select(readers, [], [], timeout)
            except OSError, ValueError:
                ready = []
            with self.lock:
                for item in ready:
                    if item is sock:
                        self._drain(sock)
                    elif self.control_server is not None:
                        self.control_server.on_readable(item)
                self._process_delayed()
                self._advance_realtime()
                now = time.monotonic()
                if now - self._last_expire > 0.2:
                    self._last_expire = now
                    self.server.expire_idle()

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(256):
            try:
                data, addr = sock.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError, InterruptedError:
                return
            except OSError:
                return
            self._inbound(data, addr)

    def _inbound(self, data: bytes, addr: Any) -> None:
        self.stats["received"] += 1
        now = time.monotonic()
        reason = None
        if self.faults.silent:
            reason = "silent"
        elif now < self.down_until:
            reason = "restarting"
        elif self.faults.loss_pct and self.rng.random() * 100.0 < self.faults.loss_pct:
            reason = "loss"
        if reason is not None:
            self.stats["dropped"] += 1
            self._append(
                RequestRecord(
                    0,
                    "dropped",
                    time.time(),
                    self.machine.now,
                    _addr_str(addr),
                    note={"reason": reason, "length": len(data)},
                )
            )
            return
        if self.faults.latency_ms > 0:
            due = now + self.faults.latency_ms / 1000.0
            heapq.heappush(self._delayed, (due, next(self._delay_seq), data, addr))
            return
        self._dispatch(data, addr)

    def _process_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, data, addr = heapq.heappop(self._delayed)
            self._dispatch(data, addr)

    def _dispatch(self, data: bytes, addr: Any) -> None:
        try:
            self.server.datagram(data, addr)
        except Exception as err:  # noqa: BLE001 - a malformed packet must never stop the BMC
            self._append(
                RequestRecord(
                    0, "dropped", time.time(), self.machine.now, _addr_str(addr), note={"reason": f"error: {err!r}"}
                )
            )
        if self._pending_restart is not None:
            down = self._pending_restart
            self._pending_restart = None
            self.restart_locked(down)

    def _outbound(self, packet: bytes, addr: Any) -> bool:
        self.stats["sent"] += 1
        return True

    def _advance_realtime(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last_wall
        self._last_wall = now
        if self.speed <= 0:
            return
        self._time_debt += min(elapsed, 5.0) * self.speed
        steps = min(int(self._time_debt / STEP), 10_000)
        for _ in range(steps):
            self.machine.step(STEP)
        self._time_debt -= steps * STEP

    # -- request handling --------------------------------------------------------------------------------

    def _append(self, record: RequestRecord) -> RequestRecord:
        record.seq = next(self._seq)
        self.log.append(record)
        if len(self.log) > self.log_limit:
            del self.log[: len(self.log) - self.log_limit]
        return record

    def _log_protocol(self, entry: dict[str, Any]) -> None:
        kind = entry.pop("kind")
        client = _addr_str(entry.pop("client", None))
        if kind == "sessionless":
            self._append(
                RequestRecord(
                    0,
                    kind,
                    time.time(),
                    self.machine.now,
                    client,
                    0,
                    entry["netfn"],
                    entry["cmd"],
                    entry["data"],
                    entry["cc"],
                    entry["response"],
                )
            )
            return
        session_id = entry.pop("session_id", 0)
        self._append(RequestRecord(0, kind, time.time(), self.machine.now, client, session_id, note=entry))

    def _note_response(self, session: SimSession, code: int, data: bytes) -> None:
        record = getattr(session, "current_record", None)
        if record is not None and record.cc is None:
            record.cc = code
            record.response = data

    def _handle_request(self, req: IpmiRequest) -> None:
        session = req.session
        record = self._append(
            RequestRecord(
                0,
                "ipmi",
                time.time(),
                self.machine.now,
                _addr_str(req.client),
                session.localsid,
                req.netfn,
                req.command,
                req.data,
                lun=req.lun,
            )
        )
        session.current_record = record
        forced = self._forced_code(req.netfn, req.command, req.data)
        if forced is not None:
            session.send_ipmi_response(code=forced)
            return
        if (req.netfn, req.command) == (0x06, 0x3B):
            code, rsp = self.server.set_session_privilege(req)
            session.send_ipmi_response(data=rsp, code=code)
            return
        if (req.netfn, req.command) == (0x06, 0x3C):
            self._close_session(req)
            return
        if session.clientpriv < ipmi.required_privilege(req.netfn, req.command):
            session.send_ipmi_response(code=0xD4)
            return
        if (req.netfn, req.command) == (0x06, 0x02):  # BMC Cold Reset: answer, then restart
            session.send_ipmi_response(code=0)
            self._pending_restart = 0.0
            return
        self.bmc.handle_raw_request({"netfn": req.netfn, "command": req.command, "data": bytearray(req.data)}, session)

    def _close_session(self, req: IpmiRequest) -> None:
        """Close Session (06h/3Ch, IPMI 2.0 section 22.19): own id or 0 closes this session."""
        session = req.session
        if len(req.data) < 4:
            session.send_ipmi_response(code=ipmi.CC_BAD_LENGTH)
            return
        target = int.from_bytes(req.data[0:4], "little")
        if target in (0, session.localsid):
            session.send_ipmi_response(code=0)
            self.server.drop_session(session)
            return
        other = self.server.sessions.get(target)
        if other is None:
            session.send_ipmi_response(code=0x87)  # invalid session id
            return
        if session.clientpriv < 4:
            session.send_ipmi_response(code=0xD4)
            return
        self.server.drop_session(other)
        session.send_ipmi_response(code=0)

    def _forced_code(self, netfn: int, cmd: int, data: bytes) -> int | None:
        for override in self.faults.cc_overrides:
            if override["netfn"] != netfn or override["cmd"] != cmd:
                continue
            prefix = override.get("data_prefix")
            if prefix and not data.startswith(prefix):
                continue
            remaining = override.get("remaining")
            if remaining is not None:
                if remaining <= 0:
                    continue
                override["remaining"] = remaining - 1
            return int(override["code"])
        return None

    def _login_failed(self, name: bytes, reason: str) -> None:
        user = self.users.get(name.decode("latin-1"))
        user_id = list(self.users).index(user.name) + 2 if user is not None else 0
        self.machine.sel_event("login_failed", user=user_id)
        self._append(
            RequestRecord(
                0,
                "event",
                time.time(),
                self.machine.now,
                note={"event": "login failed", "user": name.decode("latin-1"), "reason": reason},
            )
        )
        if user is None or not self.server.lockout_after or time.monotonic() < user.locked_until:
            return
        user.failures += 1
        if user.failures >= self.server.lockout_after:
            user.failures = 0
            user.locked_until = time.monotonic() + self.server.lockout_seconds
            self.machine.sel_event("lockout", user=user_id)
            self._append(
                RequestRecord(
                    0, "event", time.time(), self.machine.now, note={"event": "user locked", "user": user.name}
                )
            )

    # -- state changes (lock held) ------------------------------------------------------------------------

    def set_power_locked(self, on: bool) -> None:
        """Power the host on or off; "last power event" reports a command (bit 4)."""
        if self.machine.power_on != on:
            self.machine.power_on = on
            self.machine.last_power_event = 0x10 if not on else 0x00
            self.machine.step(0.0)

    def restart_locked(self, down_seconds: float) -> None:
        """Reboot the BMC.

        Sessions and reservations are lost, the fan controller returns to its defaults,
        and the BMC ignores every datagram for ``down_seconds`` (wall clock).
        """
        self.server.drop_all()
        self.fan_control.reset()
        self.machine.sdr_reservation = 0
        self.machine.sel.reservation = 0
        self.down_until = time.monotonic() + down_seconds
        self._delayed.clear()
        self._append(
            RequestRecord(
                0, "event", time.time(), self.machine.now, note={"event": "bmc restart", "down_seconds": down_seconds}
            )
        )


class Controller:
    """Run-time control of a :class:`Simulator` (the same operations the JSON control channel offers).

    Every method takes and returns JSON-compatible values, except :meth:`request_log`, which returns
    :class:`RequestRecord` objects (the JSON channel sends their ``to_dict()`` form).
    """

    def __init__(self, sim: Simulator) -> None:
        """Control ``sim``."""
        self._sim = sim

    # -- time and environment ---------------------------------------------------------------------------

    def tick(self, seconds: float) -> float:
        """Advance simulated time by ``seconds`` (in 0.5 s steps); returns the new simulated time (s)."""
        steps = max(0, math.ceil(seconds / STEP - 1e-9))
        with self._sim.lock:
            for _ in range(steps):
                self._sim.machine.step(STEP)
            return self._sim.machine.now

    def set_speed(self, factor: float) -> float:
        """Set simulated seconds per wall second (0 stops the clock); returns the factor."""
        with self._sim.lock:
            self._sim.speed = max(0.0, float(factor))
            self._sim._last_wall = time.monotonic()
            return self._sim.speed

    def set_load(self, percent: float) -> float:
        """Host CPU load (0-100 %), drives temperatures and power."""
        with self._sim.lock:
            self._sim.machine.load = max(0.0, min(100.0, float(percent)))
            return self._sim.machine.load

    def set_ambient(self, celsius: float) -> float:
        """Inlet air temperature (degrees C)."""
        with self._sim.lock:
            self._sim.machine.ambient = float(celsius)
            return self._sim.machine.ambient

    def set_temperature(self, sensor: str, celsius: float | None) -> float | None:
        """Pin a temperature sensor to ``celsius`` (None releases it to the thermal model)."""
        with self._sim.lock:
            target = self._sim.machine.sensor_by_name(sensor)
            target.pinned = None if celsius is None else float(celsius)
            return target.pinned

    def set_fan_failed(self, fan: str, failed: bool = True) -> bool:
        """Stop (failed=True) or restore a fan; a stopped fan reads 0 rpm."""
        with self._sim.lock:
            target = self._sim.machine.sensor_by_name(fan)
            if target.spec.kind != "fan":
                raise ValueError(f"{fan} is not a fan")
            target.failed = bool(failed)
            return target.failed

    def set_power(self, on: bool) -> bool:
        """Host power (as the power button would); sensors outside standby read "unavailable" while off."""
        with self._sim.lock:
            self._sim.set_power_locked(bool(on))
            return self._sim.machine.power_on

    def set_intrusion(self, active: bool = True) -> bool:
        """Open the chassis (logs an intrusion event) or reset the switch."""
        with self._sim.lock:
            self._sim.machine.set_intrusion(bool(active))
            return self._sim.machine.intrusion

    def set_psu_failed(self, psu: int, failed: bool = True, ac_lost: bool = False) -> None:
        """Fail or restore power supply ``psu`` (0-based): failure or AC-lost offset and a SEL entry."""
        with self._sim.lock:
            self._sim.machine.set_psu_failed(int(psu), bool(failed), ac_lost=bool(ac_lost))

    def set_psu_present(self, psu: int, present: bool = True) -> None:
        """Insert or pull out power supply ``psu`` (0-based): presence offset 0 and a SEL entry."""
        with self._sim.lock:
            self._sim.machine.set_psu_present(int(psu), bool(present))

    def set_sensor_states(self, sensor: str, states: int) -> int:
        """Set the asserted state offsets (bit n = offset n) of discrete sensor ``sensor`` (name or number).

        Each changed offset logs an assertion or deassertion to the SEL. Returns the new mask.
        """
        with self._sim.lock:
            target = self._sim.machine.sensor_by_name(str(sensor))
            if target.spec.kind not in ("discrete", "redundancy", "psu", "intrusion"):
                raise ValueError(f"{sensor} is not a discrete sensor")
            self._sim.machine.set_states(target, int(states))
            return target.state_bits

    def add_sel_event(self, kind: str, **params: int) -> dict[str, object] | None:
        """Log an event.

        Kinds: intrusion, psu_failure, psu_ok, ac_lost, ecc_correctable, ecc_uncorrectable,
        login_failed, lockout, sel_full); returns the entry or None when the SEL is full.
        """
        with self._sim.lock:
            entry = self._sim.machine.sel_event(kind, **params)
            return None if entry is None else entry.describe()

    def fill_sel(self, kind: str = "ecc_correctable") -> int:
        """Add ``kind`` events until the SEL is full; returns the number of entries."""
        with self._sim.lock:
            sel = self._sim.machine.sel
            while not sel.full:
                self._sim.machine.sel_event(kind)
            return len(sel.entries)

    def sel(self) -> list[dict[str, object]]:
        """SEL entries (record id, timestamp, sensor, offset, raw hex)."""
        with self._sim.lock:
            return [entry.describe() for entry in self._sim.machine.sel.entries]

    def clear_sel(self) -> None:
        """Erase the SEL."""
        with self._sim.lock:
            self._sim.machine.sel.clear(self._sim.machine.unix_time)

    def set_threshold(self, sensor: str, threshold: str, value: float) -> float:
        """Set one threshold (lnr, lcr, lnc, unc, ucr, unr) in engineering units.

        The value is rounded to
        the sensor's step, as the BMC stores raw counts. Returns the stored value.
        """
        if threshold not in ("lnr", "lcr", "lnc", "unc", "ucr", "unr"):
            raise ValueError(f"unknown threshold {threshold!r}")
        with self._sim.lock:
            target = self._sim.machine.sensor_by_name(sensor)
            if not target.is_threshold:
                raise ValueError(f"{sensor} is not a threshold sensor")
            conv = target.record.conversion
            raw = conv.to_raw(float(value))
            target.record.thresholds[threshold] = raw
            return conv.to_value(raw)

    # -- observation -------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Snapshot: time, power, load, fan controller, sessions, faults, counters."""
        sim = self._sim
        with sim.lock:
            m = sim.machine
            sessions = [x.describe() for x in sim.server.sessions.values()]
            return {
                "profile": sim.profile.name,
                "port": sim.port if sim.sock is not None else None,
                "sim_time": m.now,
                "unix_time": m.unix_time,
                "speed": sim.speed,
                "power_on": m.power_on,
                "load": m.load,
                "ambient": m.ambient,
                "intrusion": m.intrusion,
                "identify": m.now < m.identify_until,
                "power_watts": round(m.power_watts(), 1),
                "fans": sim.fan_control.state(),
                "sessions": sessions,
                "faults": sim.faults.to_dict(),
                "stats": dict(sim.stats),
                "sel_entries": len(m.sel.entries),
                "sdr_records": len(m.sdr_records),
            }

    def sensors(self) -> list[dict[str, Any]]:
        """Describe every sensor.

        Name, number, kind, value (engineering units), raw byte, availability, asserted
        threshold names, thresholds (engineering units).
        """
        sim = self._sim
        with sim.lock:
            m = sim.machine
            out = []
            for sensor in m.sensors:
                conv = sensor.record.conversion
                raw = m.raw_reading(sensor)
                available = m.power_on or sensor.spec.standby
                out.append(
                    {
                        "name": sensor.name,
                        "number": sensor.spec.number,
                        "kind": sensor.spec.kind,
                        "value": conv.to_value(raw) if sensor.is_threshold else None,
                        "raw": raw if sensor.is_threshold else None,
                        "state_bits": sensor.state_bits,
                        "available": available,
                        "asserted": sorted(sensor.asserted),
                        "thresholds": {k: conv.to_value(v) for k, v in sensor.record.thresholds.items()},
                        "failed": sensor.failed,
                    }
                )
            return out

    def sensor(self, name: str) -> dict[str, Any]:
        """One entry of :meth:`sensors` by name (first match) or number ("0x41", "65")."""
        with self._sim.lock:
            number = self._sim.machine.sensor_by_name(str(name)).spec.number
        return next(entry for entry in self.sensors() if entry["number"] == number)

    def request_log(
        self, since: int = 0, kind: str | None = "ipmi", netfn: int | None = None, cmd: int | None = None
    ) -> list[RequestRecord]:
        """Return logged requests with ``seq`` > ``since``, optionally filtered by kind (None = all), netfn, cmd."""
        with self._sim.lock:
            return [
                r
                for r in self._sim.log
                if r.seq > since
                and (kind is None or r.kind == kind)
                and (netfn is None or r.netfn == netfn)
                and (cmd is None or r.cmd == cmd)
            ]

    def last_seq(self) -> int:
        """Sequence number of the newest log entry (0 if none); pass it as ``since`` later."""
        with self._sim.lock:
            return self._sim.log[-1].seq if self._sim.log else 0

    def clear_request_log(self) -> None:
        """Empty the request log."""
        with self._sim.lock:
            self._sim.log.clear()

    def sessions(self) -> list[dict[str, Any]]:
        """Open sessions."""
        with self._sim.lock:
            return [x.describe() for x in self._sim.server.sessions.values()]

    # -- faults --------------------------------------------------------------------------------------------

    def set_fault(self, **faults: Any) -> dict[str, Any]:
        """Set faults.

        Any of: loss_pct (0-100), latency_ms, silent (bool), session_limit (int or None),
        sdr_quirks (list of sixbit, bcdplus, unicode, nulpad, compact_share). Returns all faults.
        """
        sim = self._sim
        with sim.lock:
            for name, value in faults.items():
                if name == "loss_pct":
                    sim.faults.loss_pct = max(0.0, min(100.0, float(value)))
                elif name == "latency_ms":
                    sim.faults.latency_ms = max(0.0, float(value))
                elif name == "silent":
                    sim.faults.silent = bool(value)
                elif name == "session_limit":
                    sim.faults.session_limit = None if value is None else int(value)
                    sim.server.session_limit = sim.faults.session_limit
                elif name == "sdr_quirks":
                    quirks = list(value or [])
                    unknown = set(quirks) - set(QUIRK_RECORDS)
                    if unknown:
                        raise ValueError(f"unknown SDR quirks {sorted(unknown)}; known: {sorted(QUIRK_RECORDS)}")
                    sim.faults.sdr_quirks = quirks
                    sim.machine.sdr_quirks = set(quirks)
                    sim.machine.rebuild_sdr()
                elif name == "lockdown":
                    if hasattr(sim.fan_control, "lockdown"):
                        sim.fan_control.lockdown = bool(value)
                else:
                    raise ValueError(f"unknown fault {name!r}")
            return sim.faults.to_dict()

    def clear_faults(self) -> dict[str, Any]:
        """Remove every fault (SDR quirks included)."""
        return self.set_fault(loss_pct=0, latency_ms=0, silent=False, session_limit=None, sdr_quirks=[]) | {
            "cc_overrides": self.clear_completion_codes()
        }

    def set_completion_code(
        self, netfn: int, cmd: int, code: int, data_prefix: str | bytes | None = None, count: int | None = None
    ) -> list[dict[str, Any]]:
        """Answer (netfn, cmd) with completion ``code`` (and no data) instead of executing it.

        Optional
        ``data_prefix`` (hex or bytes) narrows it to requests whose data start with it, ``count`` to the
        next N matching requests.
        """
        prefix = bytes.fromhex(data_prefix) if isinstance(data_prefix, str) else data_prefix
        with self._sim.lock:
            self._sim.faults.cc_overrides.insert(
                0, {"netfn": int(netfn), "cmd": int(cmd), "code": int(code), "data_prefix": prefix, "remaining": count}
            )
            overrides: list[dict[str, Any]] = self._sim.faults.to_dict()["cc_overrides"]
            return overrides

    def clear_completion_codes(self) -> list[dict[str, Any]]:
        """Remove every completion code override."""
        with self._sim.lock:
            self._sim.faults.cc_overrides.clear()
            return []

    def restart_bmc(self, down_seconds: float = 0.0) -> None:
        """Reboot the BMC: sessions are lost; it ignores datagrams for ``down_seconds`` (wall clock)."""
        with self._sim.lock:
            self._sim.restart_locked(float(down_seconds))

    def set_credentials(self, user: str, password: str, privilege: int = 4) -> list[str]:
        """Add or change a user (privilege 1-4); open sessions stay valid. Returns the user names."""
        with self._sim.lock:
            existing = self._sim.users.get(user)
            if existing is None:
                self._sim.users[user] = User(user, password.encode("utf-8"), int(privilege))
            else:
                existing.password = password.encode("utf-8")
                existing.max_priv = int(privilege)
                existing.locked_until = 0.0
                existing.failures = 0
            return list(self._sim.users)

    def remove_user(self, user: str) -> list[str]:
        """Delete a user; returns the remaining names."""
        with self._sim.lock:
            self._sim.users.pop(user, None)
            return list(self._sim.users)

    def set_session_timeout(self, seconds: float, handshake: float | None = None) -> float:
        """Set the idle time (wall seconds) after which the BMC forgets a session (default 60).

        ``handshake`` (optional) sets how long a half-open handshake may stall (default 5 s; one abandoned
        after RAKP2 counts as a failed login).
        """
        with self._sim.lock:
            self._sim.server.session_timeout = float(seconds)
            if handshake is not None:
                self._sim.server.handshake_timeout = float(handshake)
            return self._sim.server.session_timeout

    def set_lockout(self, after: int, seconds: float) -> None:
        """Lock a user for ``seconds`` (wall) after ``after`` failed logins (0 disables)."""
        with self._sim.lock:
            self._sim.server.lockout_after = int(after)
            self._sim.server.lockout_seconds = float(seconds)

    def set_policy(self, **policy: Any) -> dict[str, Any]:
        """Change fan policy fields.

        Fields: override_after, low_fan_full_speed, panic_hold, revert_after,
        revert_mode, full_sel_full_speed, floor); returns the policy.
        """
        with self._sim.lock:
            fc = self._sim.fan_control
            fc.policy = dataclasses.replace(fc.policy, **policy)
            return dataclasses.asdict(fc.policy)
