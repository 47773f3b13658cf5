"""A day of polling in compressed time: does the IPMI core (and pyghmi under it) grow in memory or threads?

Run from the repository root::

    .venv/bin/python -m bench.soak                     # 4 BMCs x 20 sensors, 24 simulated hours at 30 s
    .venv/bin/python -m bench.soak --hours 2 --bmcs 2  # a quick look

The BMCs are bmcsim simulators in a simulator host process (``bench.fleet``); the clients (``BmcClient``, the
core without Home Assistant) run in this process on an executor like Home Assistant's. Each client polls
back to back, as many polls as ``hours`` of its scan interval hold; every simulated hour one BMC restarts
(its sessions are lost: the next poll fails and the one after logs in again), one client drops its session,
and every ``reload_hours`` one client is closed and replaced (an entry reload). The keepalive thread runs with
its idle time cut to ``keepalive_idle`` s, so idle sessions get their keepalives in compressed time too.

After each simulated hour (after ``gc.collect()``) it samples: resident memory, live threads, Python objects,
and the length of every process-wide collection pyghmi keeps (its I/O queue and waiters, the session
registries, the sockets) and of the integration's own (``_HOLDERS``, the keepalive's sessions). The JSON
printed (also written to ``--out``) has every sample and the growth from the first sample after warm-up to the
last. Counts are exact; memory is noisy (allocator): judge its slope, not single samples.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.fleet import Fleet
from bench.run import log
from bench.simhost import PASSWORD, USER


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def global_sizes() -> dict[str, int]:
    """Length of each process-wide collection of pyghmi's session module and of the integration's boundary."""
    from pyghmi.ipmi.private import session as pyghmi_session  # noqa: PLC0415

    from custom_components.zephyr_ipmi.ipmi import session as zephyr_session  # noqa: PLC0415

    klass = pyghmi_session.Session
    handlers = klass.bmc_handlers
    return {
        "pyghmi.ioqueue": len(pyghmi_session.ioqueue),
        "pyghmi.iothreadwaiters": len(pyghmi_session.iothreadwaiters),
        "pyghmi.sessionqueue": len(pyghmi_session.sessionqueue),
        "pyghmi.iosockets": len(pyghmi_session.iosockets),
        "pyghmi.bmc_handlers": sum(len(by_addr) for by_addr in list(handlers.values())),
        "pyghmi.waiting_sessions": len(klass.waiting_sessions),
        "pyghmi.initting_sessions": len(klass.initting_sessions),
        "pyghmi.keepalive_sessions": len(klass.keepalive_sessions),
        "pyghmi.peeraddr_to_nodes": sum(len(v) for v in list(klass.peeraddr_to_nodes.values())),
        "pyghmi.iterwaiters": len(klass.iterwaiters),
        "pyghmi.socketpool": len(klass.socketpool),
        "zephyr._HOLDERS": len(zephyr_session._HOLDERS),
        "zephyr.keepalive_sessions": len(zephyr_session.KEEPALIVE._sessions),
    }


def sample(hour: int, polls: int, failures: int) -> dict[str, Any]:
    """One sample after a simulated hour: memory (KiB), threads, objects and the global collections' sizes."""
    gc.collect()
    return {
        "hour": hour,
        "polls": polls,
        "failures": failures,
        "rss_kib": _rss_kib(),
        "threads": threading.active_count(),
        "objects": len(gc.get_objects()),
        "globals": global_sizes(),
    }


def build_parser() -> argparse.ArgumentParser:
    """Command line of the soak."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--bmcs", type=int, default=4, help="simulated BMCs (default 4)")
    parser.add_argument("--sensors", type=int, default=20, help="sensors per BMC (default 20)")
    parser.add_argument("--hours", type=int, default=24, help="simulated hours (default 24)")
    parser.add_argument("--interval", type=float, default=30.0, help="simulated scan interval (s, default 30)")
    parser.add_argument("--reload-hours", type=int, default=6, help="replace one client every so many hours")
    parser.add_argument("--keepalive-idle", type=float, default=0.05, help="keepalive idle time (s) in the soak")
    parser.add_argument("--warmup-hours", type=int, default=2, help="hours before the growth baseline")
    parser.add_argument(
        "--unbounded-pyghmi-queue",
        action="store_true",
        help="never empty pyghmi's received-packet queue (defect (k) of ipmi/session.py unfixed), for comparison",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    return parser


def run(args: argparse.Namespace, fleet: Fleet) -> dict[str, Any]:
    """Poll ``fleet`` for the simulated hours; return the samples and the growth after warm-up."""
    from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiError  # noqa: PLC0415
    from custom_components.zephyr_ipmi.ipmi import session as zephyr_session  # noqa: PLC0415

    zephyr_session.KEEPALIVE.IDLE = args.keepalive_idle
    zephyr_session.KEEPALIVE.TICK = min(zephyr_session.KEEPALIVE.TICK, args.keepalive_idle)
    cache = Path(tempfile.mkdtemp(prefix="zephyr-soak-sdr-"))

    def client_for(index: int) -> BmcClient:
        bmc = fleet.bmcs[index]
        return BmcClient("127.0.0.1", bmc.port, USER, PASSWORD, sdr_cache_dir=cache)

    clients = [client_for(i) for i in range(len(fleet.bmcs))]
    polls_per_hour = round(3600 / args.interval)
    polls = failures = 0
    samples = []
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="soak") as pool:

        def one(client: BmcClient) -> bool:
            try:
                client.poll()
            except IpmiError:
                return False
            return True

        for _ in range(2):  # log in and read the SDR (cold, then warm) before the first sample
            list(pool.map(one, clients))
        if args.unbounded_pyghmi_queue:
            from custom_components.zephyr_ipmi.ipmi import client as client_module  # noqa: PLC0415

            client_module.drain_received_queue = lambda: None  # type: ignore[assignment]
        samples.append(sample(0, polls, failures))
        for hour in range(1, args.hours + 1):
            for step in range(polls_per_hour):
                if step == polls_per_hour // 3:
                    fleet.control.client(hour % len(clients)).call("restart_bmc", down_seconds=0.0)
                if step == 2 * polls_per_hour // 3:
                    clients[(hour + 1) % len(clients)].drop_session()
                results = list(pool.map(one, clients))
                polls += len(results)
                failures += results.count(False)
                if step % 10 == 0:
                    time.sleep(args.keepalive_idle * 3)  # idle sessions get a keepalive
            if hour % args.reload_hours == 0:
                index = hour % len(clients)
                clients[index].close()
                clients[index] = client_for(index)
            samples.append(sample(hour, polls, failures))
            log(
                f"hour {hour}: {polls} polls ({failures} failed), rss {samples[-1]['rss_kib']} KiB, "
                f"threads {samples[-1]['threads']}, objects {samples[-1]['objects']}"
            )
    for client in clients:
        client.close()
    time.sleep(zephyr_session.KEEPALIVE.TICK * 3)
    after_close = sample(args.hours, polls, failures)
    base = samples[min(args.warmup_hours, len(samples) - 1)]
    last = samples[-1]
    return {
        "bmcs": len(clients),
        "sensors": args.sensors,
        "hours": args.hours,
        "interval_s": args.interval,
        "unbounded_pyghmi_queue": args.unbounded_pyghmi_queue,
        "polls": polls,
        "failures": failures,
        "wall_s": time.perf_counter() - started,
        "growth_after_warmup": {
            "from_hour": base["hour"],
            "rss_kib": last["rss_kib"] - base["rss_kib"],
            "threads": last["threads"] - base["threads"],
            "objects": last["objects"] - base["objects"],
            "globals": {k: last["globals"][k] - base["globals"][k] for k in base["globals"]},
        },
        "after_close": after_close,
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak against a fresh fleet; print the result as JSON; 0 on success."""
    args = build_parser().parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="zephyr-bench-soak-") as tmp,
        Fleet(args.bmcs, args.sensors, Path(tmp), procs=1) as fleet,
    ):
        result = run(args, fleet)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
