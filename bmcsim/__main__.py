"""Command line: ``python -m bmcsim --profile supermicro-x11 --port 6230 --user admin --password secret``.

Serves one simulated BMC on 127.0.0.1 until SIGINT/SIGTERM. Prints one JSON line with the bound ports
on stdout once ready (useful with ``--port 0``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from .profiles import PROFILES
from .simulator import Simulator


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the CLI."""
    parser = argparse.ArgumentParser(prog="python -m bmcsim", description="Simulated BMC (RMCP+) on 127.0.0.1")
    parser.add_argument("--profile", default="generic", choices=sorted(PROFILES), help="server profile")
    parser.add_argument("--port", type=int, default=6230, help="UDP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--user", default="admin", help="user name (administrator)")
    parser.add_argument("--password", default="admin", help="password")
    parser.add_argument("--control", help="control channel: 127.0.0.1:PORT (TCP) or a unix socket path")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second (0 = frozen)")
    parser.add_argument("--seed", type=int, default=0, help="seed for packet loss and ids")
    parser.add_argument("--load", type=float, default=10.0, help="initial host load (percent)")
    parser.add_argument("--list-profiles", action="store_true", help="print the profiles and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.list_profiles:
        for name in sorted(PROFILES):
            sys.stdout.write(f"{name:20} {PROFILES[name].description}\n")
        return 0
    sim = Simulator(
        args.profile,
        port=args.port,
        users={args.user: args.password},
        speed=args.speed,
        seed=args.seed,
        control=args.control,
        load=args.load,
    )
    # A plain flag: calling Event.set() from a signal handler can deadlock against Event.wait() in the
    # main thread (both take the event's non-reentrant lock).
    stopping: list[bool] = []

    def _stop(signum: int, frame: object) -> None:
        stopping.append(True)

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    sim.start()
    ready = {"profile": args.profile, "host": "127.0.0.1", "port": sim.port}
    if sim.control_server is not None:
        ready["control"] = sim.control_server.address
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
