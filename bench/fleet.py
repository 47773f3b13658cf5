"""Simulated BMC fleets: simulator host processes, their control channels and traffic accounting.

Traffic is read from the simulators themselves: each one counts the UDP datagrams it received and sent
(``Controller.state()["stats"]``) and logs every request with its exact bytes (``request_log``). A window
of traffic is the difference between two :meth:`SimControl.snapshot` calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bmcsim.control import ControlClient
from bmcsim.simulator import RequestRecord

#: Repository root: child processes run from here so ``bench``, ``bmcsim`` and ``custom_components`` import.
ROOT = Path(__file__).resolve().parents[1]
#: Longest wait for a simulator host to report its ports (s).
START_TIMEOUT = 60.0
#: Longest wait for a simulator host to exit after its stdin closed (s).
STOP_TIMEOUT = 10.0
#: Longest wait for one control answer (s).
CONTROL_TIMEOUT = 60.0
#: Two identical requests of one session closer than this (s) count as a retransmission.
RETRANSMIT_WINDOW = 5.0

#: Names of the requests the clients send: (netfn, cmd) or (netfn, cmd, first data byte) for group netfn 2Ch.
COMMAND_NAMES: dict[tuple[int, ...], str] = {
    (0x00, 0x01): "Get Chassis Status",
    (0x04, 0x2D): "Get Sensor Reading",
    (0x06, 0x01): "Get Device ID",
    (0x06, 0x37): "Get System GUID",
    (0x06, 0x38): "Get Channel Auth Capabilities",
    (0x06, 0x3B): "Set Session Privilege",
    (0x06, 0x3C): "Close Session",
    (0x06, 0x54): "Get Channel Cipher Suites",
    (0x0A, 0x10): "Get FRU Inventory Area Info",
    (0x0A, 0x11): "Read FRU Data",
    (0x0A, 0x20): "Get SDR Repository Info",
    (0x0A, 0x22): "Reserve SDR Repository",
    (0x0A, 0x23): "Get SDR",
    (0x0A, 0x40): "Get SEL Info",
    (0x0A, 0x42): "Reserve SEL",
    (0x0A, 0x43): "Get SEL Entry",
    (0x0A, 0x48): "Get SEL Time",
    (0x2C, 0x02, 0xDC): "DCMI Get Power Reading",
    (0x2C, 0x01, 0xDC): "DCMI Get Capabilities",
    (0x2C, 0x00, 0x00): "PICMG Get Properties",
    (0x2C, 0x00, 0x03): "VSO Get Capabilities",
    (0x2C, 0x3E, 0x03): "VSO Get Capabilities",
}


def command_name(netfn: int | None, cmd: int | None, data: bytes = b"") -> str:
    """Readable name of a request, e.g. ``Get Sensor Reading``; unknown ones as ``netfn 0xNN cmd 0xNN``."""
    if netfn is None or cmd is None:
        return "?"
    if netfn == 0x2C and data:
        name = COMMAND_NAMES.get((netfn, cmd, data[0]))
        if name:
            return name
    return COMMAND_NAMES.get((netfn, cmd)) or f"netfn 0x{netfn:02X} cmd 0x{cmd:02X}"


@dataclass(frozen=True)
class Bmc:
    """One simulated BMC: its UDP port on 127.0.0.1, control socket and system GUID (the entry's unique id)."""

    index: int
    port: int
    control: str
    guid: str


@dataclass
class Traffic:
    """What a set of BMCs saw in a window: datagrams, requests by kind and by command, retransmissions.

    ``packets`` = datagrams received + sent by the BMCs (every request, response and session-setup
    message); ``requests`` = in-session IPMI requests + sessionless requests + session-setup requests (Open
    Session, RAKP 1, RAKP 3); ``retransmissions``: in-session requests repeated byte for byte on the same
    session within ``RETRANSMIT_WINDOW`` s; ``dropped``: datagrams the BMCs ignored (faults).
    """

    packets_in: int = 0
    packets_out: int = 0
    dropped: int = 0
    ipmi: int = 0
    sessionless: int = 0
    handshake: int = 0
    retransmissions: int = 0
    logins: int = 0
    by_command: dict[str, int] = field(default_factory=dict)

    @property
    def packets(self) -> int:
        """UDP datagrams both ways."""
        return self.packets_in + self.packets_out

    @property
    def requests(self) -> int:
        """Every request the BMCs answered, session setup included."""
        return self.ipmi + self.sessionless + self.handshake

    def add(self, other: Traffic) -> None:
        """Accumulate ``other`` into this window."""
        self.packets_in += other.packets_in
        self.packets_out += other.packets_out
        self.dropped += other.dropped
        self.ipmi += other.ipmi
        self.sessionless += other.sessionless
        self.handshake += other.handshake
        self.retransmissions += other.retransmissions
        self.logins += other.logins
        counts = Counter(self.by_command)
        counts.update(other.by_command)
        self.by_command = dict(counts)

    def per(self, polls: int) -> dict[str, Any]:
        """This window divided by ``polls`` (per-poll averages), as a JSON-friendly dict."""
        polls = max(polls, 1)
        return {
            "packets": self.packets / polls,
            "packets_in": self.packets_in / polls,
            "packets_out": self.packets_out / polls,
            "requests": self.requests / polls,
            "ipmi_requests": self.ipmi / polls,
            "session_setup_requests": (self.sessionless + self.handshake) / polls,
            "retransmissions": self.retransmissions / polls,
            "dropped": self.dropped / polls,
            "logins": self.logins / polls,
            "by_command": {name: count / polls for name, count in sorted(self.by_command.items())},
        }

    def to_dict(self) -> dict[str, Any]:
        """Totals of the window as a JSON-friendly dict."""
        return {**asdict(self), "packets": self.packets, "requests": self.requests}


def traffic_from_records(
    records: Iterable[RequestRecord], stats_before: dict[str, int], stats_after: dict[str, int]
) -> Traffic:
    """Account one BMC's request log entries and datagram counters of a window."""
    traffic = Traffic(
        packets_in=stats_after["received"] - stats_before["received"],
        packets_out=stats_after["sent"] - stats_before["sent"],
        dropped=stats_after["dropped"] - stats_before["dropped"],
    )
    last: dict[int, tuple[tuple[Any, ...], float]] = {}
    counts: Counter[str] = Counter()
    for record in records:
        if record.kind == "ipmi":
            traffic.ipmi += 1
            key = (record.netfn, record.cmd, record.lun, record.data)
            previous = last.get(record.session_id)
            if previous is not None and previous[0] == key and record.time - previous[1] < RETRANSMIT_WINDOW:
                traffic.retransmissions += 1
            last[record.session_id] = (key, record.time)
            counts[command_name(record.netfn, record.cmd, record.data)] += 1
        elif record.kind == "sessionless":
            traffic.sessionless += 1
            counts[command_name(record.netfn, record.cmd, record.data)] += 1
        elif record.kind == "rmcp+":
            traffic.handshake += 1
            message = str(record.note.get("message", "?"))
            request = {"open session": "Open Session", "RAKP2": "RAKP 1", "RAKP4": "RAKP 3"}.get(message, message)
            counts[request] += 1
            if message == "RAKP4" and record.note.get("status") == 0:
                traffic.logins += 1
    traffic.by_command = dict(counts)
    return traffic


@dataclass(frozen=True)
class Snapshot:
    """Per-BMC position in the request log and datagram counters at one moment."""

    seqs: dict[int, int]
    stats: dict[int, dict[str, int]]


class ControlLink(Protocol):
    """What the benchmark needs of a BMC's control channel (bmcsim's ``ControlClient`` or a host pipe)."""

    def call(self, command: str, /, **args: Any) -> Any:
        """Run one Controller command; return its JSON result."""
        ...

    def request_log(self, **args: Any) -> list[RequestRecord]:
        """Like ``Controller.request_log``."""
        ...

    def close(self) -> None:
        """Release the channel."""
        ...


class HostPipe:
    """The stdin/stdout pipe of a simulator host process: one JSON request line, one answer line."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        """Talk to ``process`` (its ready line already read)."""
        self.process = process
        self.buffer = b""
        self._id = 0

    def request(self, request: dict[str, Any], timeout: float = CONTROL_TIMEOUT) -> dict[str, Any]:
        """Send ``request`` and return the answer object; raises on timeout or a closed pipe."""
        if self.process.stdin is None:
            raise RuntimeError("a simulator host has no stdin pipe")
        self._id += 1
        self.process.stdin.write((json.dumps({**request, "id": self._id}) + "\n").encode())
        self.process.stdin.flush()
        line, self.buffer = _read_line(self.process, self.buffer, time.monotonic() + timeout)
        return dict(json.loads(line))


class PipeLink:
    """Control of one BMC through its host's pipe (no socket in this process)."""

    def __init__(self, pipe: HostPipe, index: int) -> None:
        """Control BMC ``index`` served by the host behind ``pipe``."""
        self.pipe = pipe
        self.index = index

    def call(self, command: str, /, **args: Any) -> Any:
        """Run one Controller command; raises RuntimeError with the host's error text."""
        answer = self.pipe.request({"bmc": self.index, "cmd": command, "args": args})
        if not answer.get("ok"):
            raise RuntimeError(answer.get("error"))
        return answer.get("result")

    def request_log(self, **args: Any) -> list[RequestRecord]:
        """Like ``Controller.request_log``."""
        return [RequestRecord.from_dict(raw) for raw in self.call("request_log", **args)]

    def close(self) -> None:
        """Nothing to release (the pipe belongs to the fleet)."""


def unix_link(bmc: Bmc) -> ControlLink:
    """bmcsim's control client on the BMC's unix socket."""
    return ControlClient(bmc.control, timeout=CONTROL_TIMEOUT)


class SimControl:
    """Control channels of a set of BMCs, and traffic accounting over them."""

    def __init__(self, bmcs: list[Bmc], connect: Callable[[Bmc], ControlLink] = unix_link) -> None:
        """Remember ``bmcs``; each control channel is opened with ``connect`` on first use."""
        self.bmcs = list(bmcs)
        self._connect = connect
        self._clients: dict[int, ControlLink] = {}

    def client(self, index: int) -> ControlLink:
        """The control channel of BMC ``index`` (opened once)."""
        if index not in self._clients:
            bmc = next(b for b in self.bmcs if b.index == index)
            self._clients[index] = self._connect(bmc)
        return self._clients[index]

    def snapshot(self, indices: Iterable[int] | None = None) -> Snapshot:
        """Log positions and counters of the BMCs (all by default)."""
        seqs: dict[int, int] = {}
        stats: dict[int, dict[str, int]] = {}
        for index in self._indices(indices):
            client = self.client(index)
            seqs[index] = int(client.call("last_seq"))
            stats[index] = dict(client.call("state")["stats"])
        return Snapshot(seqs, stats)

    def traffic(self, since: Snapshot, *, per_bmc: bool = False) -> Traffic | dict[int, Traffic]:
        """Traffic of each BMC of ``since`` from then to now; summed unless ``per_bmc``."""
        out: dict[int, Traffic] = {}
        for index, seq in since.seqs.items():
            client = self.client(index)
            records = client.request_log(since=seq, kind=None)
            stats = dict(client.call("state")["stats"])
            out[index] = traffic_from_records(records, since.stats[index], stats)
        if per_bmc:
            return out
        total = Traffic()
        for traffic in out.values():
            total.add(traffic)
        return total

    def total_traffic(self, since: Snapshot) -> Traffic:
        """Summed traffic of the BMCs of ``since`` from then to now."""
        result = self.traffic(since)
        if not isinstance(result, Traffic):
            raise TypeError("expected summed traffic")
        return result

    def set_fault(self, index: int, **faults: Any) -> None:
        """Inject faults into BMC ``index`` (``silent=True``, ``latency_ms=200``...; see bmcsim)."""
        self.client(index).call("set_fault", **faults)

    def clear_faults(self, index: int) -> None:
        """Remove every fault of BMC ``index``."""
        self.client(index).call("clear_faults")

    def close(self) -> None:
        """Close every control connection."""
        for client in self._clients.values():
            with contextlib.suppress(OSError):
                client.close()
        self._clients.clear()

    def _indices(self, indices: Iterable[int] | None) -> list[int]:
        return [b.index for b in self.bmcs] if indices is None else list(indices)


class Fleet:
    """``count`` simulated BMCs with ``sensors`` sensors each, spread over ``procs`` simulator host processes.

    Use as a context manager: every host process is stopped on exit, whatever happened.
    """

    def __init__(
        self, count: int, sensors: int, workdir: Path, *, procs: int = 1, sdr_max_read: int | None = None
    ) -> None:
        """Plan the fleet; nothing starts before :meth:`start`. ``sdr_max_read``: see ``synthetic_profile``."""
        self.count = count
        self.sensors = sensors
        self.sdr_max_read = sdr_max_read
        self.workdir = workdir
        self.procs = max(1, min(procs, count))
        self.bmcs: list[Bmc] = []
        self.pids: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self.control = SimControl([])

    def start(self) -> Fleet:
        """Start the host processes and wait (at most ``START_TIMEOUT`` s) until every BMC listens."""
        control_dir = self.workdir / "control"
        control_dir.mkdir(parents=True, exist_ok=True)
        per_proc = -(-self.count // self.procs)
        first = 0
        while first < self.count:
            count = min(per_proc, self.count - first)
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.simhost",
                    f"--first={first}",
                    f"--count={count}",
                    f"--sensors={self.sensors}",
                    f"--control-dir={control_dir}",
                    *([f"--sdr-max-read={self.sdr_max_read}"] if self.sdr_max_read else []),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            self._processes.append(process)
            first += count
        deadline = time.monotonic() + START_TIMEOUT
        links: dict[int, PipeLink] = {}
        for process in self._processes:
            pipe = HostPipe(process)
            line, pipe.buffer = _read_line(process, b"", deadline)
            ready = json.loads(line)
            self.pids.append(int(ready["pid"]))
            for raw in ready["bmcs"]:
                bmc = Bmc(**raw)
                self.bmcs.append(bmc)
                links[bmc.index] = PipeLink(pipe, bmc.index)
        self.control = SimControl(self.bmcs, connect=lambda bmc: links[bmc.index])
        return self

    def stop(self) -> None:
        """Close the control channels and stop every host process (SIGKILL if one does not exit)."""
        self.control.close()
        for process in self._processes:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        for process in self._processes:
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
            if process.stdout is not None:
                process.stdout.close()
        self._processes.clear()

    def host_cpu_seconds(self) -> float:
        """CPU time (s) the simulator host processes used so far (from /proc; 0 when unavailable)."""
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in self.pids:
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def __enter__(self) -> Fleet:
        """Start on entry."""
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        """Stop on exit."""
        self.stop()

    def __iter__(self) -> Iterator[Bmc]:
        """The BMCs in index order."""
        return iter(self.bmcs)


def _read_line(process: subprocess.Popen[bytes], buffer: bytes, deadline: float) -> tuple[bytes, bytes]:
    """Read one line from a host process (after ``buffer``); return it and what was read past it.

    Fails when the process exits or ``deadline`` (monotonic s) passes.
    """
    if process.stdout is None:
        raise RuntimeError("a simulator host has no stdout pipe")
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("a simulator host did not answer in time")
        ready, _, _ = select.select([process.stdout], [], [], min(remaining, 1.0))
        if ready:
            chunk = os.read(process.stdout.fileno(), 1 << 20)
            if not chunk:
                raise RuntimeError(f"a simulator host exited early (status {process.poll()})")
            buffer += chunk
    line, rest = buffer.split(b"\n", 1)
    return line, rest
