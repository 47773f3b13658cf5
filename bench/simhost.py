"""Simulator host: serves several bmcsim BMCs with a synthetic profile from one child process.

``python -m bench.simhost --first 0 --count 25 --sensors 120 --control-dir DIR`` starts ``count``
simulators on free 127.0.0.1 UDP ports, each with a control channel on a unix socket in ``DIR``, prints one
JSON line ``{"pid", "bmcs": [{"index", "port", "control", "guid"}, ...]}`` once all listen, and serves until
its standard input closes or it receives SIGTERM/SIGINT; every simulator is stopped before it exits.

Standard input also carries control requests, one JSON object a line: bmcsim's control protocol plus the
BMC's ``index`` (``{"bmc": 3, "id": 1, "cmd": "state"}``); each is answered with one line on standard
output. The benchmark's parent process uses this pipe, so it needs no socket of its own (the Home Assistant
test plugin blocks sockets in the test process); other processes may use the unix control sockets.

Running the simulators in their own process keeps their CPU out of the client-side measurements.
Simulated time is frozen (``speed=0``): readings do not drift, and no CPU goes to the thermal model.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bmcsim import Simulator
from bmcsim.control import execute

from .profiles import synthetic_profile

#: User name and password every benchmark BMC accepts (administrator).
USER = "bench"
PASSWORD = "Bench-Pass-42"  # noqa: S105 - a simulator credential, not a secret
#: Fixed simulated epoch (Unix s), so every run sees the same SEL and SDR timestamps.
EPOCH = 1_700_000_000
#: Longest a simulator host lives (s): a safety net should its parent die without closing stdin.
MAX_LIFETIME = 3600.0


def build_parser() -> argparse.ArgumentParser:
    """Command line of the simulator host."""
    parser = argparse.ArgumentParser(prog="python -m bench.simhost", description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0, help="index of the first BMC (seeds its GUID)")
    parser.add_argument("--count", type=int, required=True, help="number of simulated BMCs")
    parser.add_argument("--sensors", type=int, required=True, help="sensors per BMC")
    parser.add_argument("--control-dir", required=True, help="directory for the control unix sockets")
    parser.add_argument("--sdr-max-read", type=int, help="refuse Get SDR reads longer than this (bytes)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve the simulators until stdin closes or a signal arrives; returns the exit status."""
    args = build_parser().parse_args(argv)
    profile = synthetic_profile(args.sensors, sdr_max_read=args.sdr_max_read)
    stopping: list[int] = []

    def _stop(signum: int, frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sims: list[Simulator] = []
    try:
        for index in range(args.first, args.first + args.count):
            control = str(Path(args.control_dir) / f"bmc-{index}.sock")
            sim = Simulator(
                profile,
                port=0,
                users={USER: PASSWORD},
                speed=0.0,
                epoch=EPOCH,
                seed=index,
                control=control,
            )
            sims.append(sim)
            sim.start()
        bmcs = [
            {"index": args.first + i, "port": sim.port, "control": sim.control_address, "guid": str(sim.guid)}
            for i, sim in enumerate(sims)
        ]
        sys.stdout.write(json.dumps({"pid": os.getpid(), "bmcs": bmcs}) + "\n")
        sys.stdout.flush()
        by_index = {args.first + i: sim for i, sim in enumerate(sims)}
        deadline = time.monotonic() + MAX_LIFETIME
        buffer = b""
        while not stopping and time.monotonic() < deadline:
            try:
                ready, _, _ = select.select([sys.stdin], [], [], 0.5)
            except InterruptedError:
                continue
            if not ready:
                continue
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    sys.stdout.write(json.dumps(answer(by_index, line)) + "\n")
                    sys.stdout.flush()
    finally:
        for sim in sims:
            sim.stop()
    return 0


def answer(sims: dict[int, Simulator], line: bytes) -> dict[str, Any]:
    """Run one control request line for the BMC it names (``bmc``); bmcsim's answer object."""
    try:
        request = json.loads(line)
        sim = sims[int(request.pop("bmc"))]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return {"id": None, "ok": False, "error": f"bad request: {err!r}"}
    return execute(sim.control, request)


if __name__ == "__main__":
    sys.exit(main())
