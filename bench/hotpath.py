"""CPU per request of a steady poll: the IPMI core alone against ``ipmi-sensors`` and ``ipmitool``, one BMC.

Run from the repository root::

    .venv/bin/python -m bench.hotpath                    # 20 and 120 sensors, 30 polls each
    .venv/bin/python -m bench.hotpath --sensors 120 --polls 50

One simulated BMC per sensor count (``bench.fleet``, its own process). Zephyr: ``BmcClient.poll`` back to back
in one thread of this process after a warm-up poll (login and SDR); CPU is ``time.process_time`` of the whole
process (pyghmi's I/O thread included) divided by the polls and by the requests the client counted. The tools:
one process per poll (``ipmi-sensors`` with a warm SDR cache, ``ipmitool sdr elist``), CPU from ``wait4``.
Ratios compare within this run (the machine is shared and noisy). Prints JSON (also to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.fleet import Fleet
from bench.run import log
from bench.simhost import PASSWORD, USER
from bench.tools import available, freeipmi_env, ipmi_sensors_command, ipmitool_command, ipmitool_env, run_tool


def zephyr_polls(port: int, polls: int, cache: Path) -> dict[str, Any]:
    """Poll one BMC ``polls`` times with the core's client; CPU (s) per poll and per request, wall per poll."""
    from custom_components.zephyr_ipmi.ipmi import BmcClient  # noqa: PLC0415

    client = BmcClient("127.0.0.1", port, USER, PASSWORD, sdr_cache_dir=cache)
    try:
        client.poll()
        requests = client.request_count
        cpu = time.process_time()
        thread_cpu = time.thread_time()
        start = time.perf_counter()
        for _ in range(polls):
            client.poll()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        thread_cpu = time.thread_time() - thread_cpu
        requests = client.request_count - requests
    finally:
        client.close()
    return {
        "polls": polls,
        "requests_per_poll": requests / polls,
        "cpu_s_per_poll": cpu / polls,
        "cpu_us_per_request": cpu / requests * 1e6,
        "calling_thread_cpu_us_per_request": thread_cpu / requests * 1e6,
        "wall_s_per_poll": wall / polls,
    }


def tool_polls(command: list[str], env: dict[str, str], polls: int) -> dict[str, Any]:
    """Run ``command`` ``polls`` times (after one warm-up run); CPU (s) per run."""
    run_tool(command, env=env)
    runs = [run_tool(command, env=env) for _ in range(polls)]
    return {
        "polls": polls,
        "failures": sum(1 for r in runs if r.status != 0),
        "cpu_s_per_poll": sum(r.cpu for r in runs) / polls,
        "wall_s_per_poll": sum(r.wall for r in runs) / polls,
    }


def build_parser() -> argparse.ArgumentParser:
    """Command line of the hot path benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__.splitlines()[0])
    parser.add_argument("--sensors", default="20,120", help="comma-separated sensors per BMC (default 20,120)")
    parser.add_argument("--polls", type=int, default=30, help="polls per client (default 30)")
    parser.add_argument("--tool-polls", type=int, default=10, help="runs per tool (default 10)")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Measure every sensor count; print the results as JSON; 0 on success."""
    args = build_parser().parse_args(argv)
    tools = available()
    results = []
    with tempfile.TemporaryDirectory(prefix="zephyr-bench-hotpath-") as tmp:
        for sensors in [int(x) for x in args.sensors.split(",")]:
            folder = Path(tmp) / f"s{sensors}"
            folder.mkdir()
            with Fleet(1, sensors, folder) as fleet:
                bmc = fleet.bmcs[0]
                log(f"{sensors} sensors: Zephyr, {args.polls} polls")
                row: dict[str, Any] = {"sensors": sensors, "zephyr": zephyr_polls(bmc.port, args.polls, folder)}
                if tools["ipmi-sensors"]:
                    log(f"{sensors} sensors: ipmi-sensors, {args.tool_polls} runs")
                    cache = folder / "freeipmi"
                    cache.mkdir()
                    row["ipmi_sensors"] = tool_polls(
                        ipmi_sensors_command(bmc, cache), freeipmi_env(cache), args.tool_polls
                    )
                if tools["ipmitool"]:
                    log(f"{sensors} sensors: ipmitool, {args.tool_polls} runs")
                    row["ipmitool"] = tool_polls(ipmitool_command(bmc), ipmitool_env(), args.tool_polls)
                z_cpu = row["zephyr"]["cpu_s_per_poll"]
                peers = [name for name in ("ipmi_sensors", "ipmitool") if name in row]
                row["ratios"] = {f"{name}_cpu": row[name]["cpu_s_per_poll"] / z_cpu for name in peers}
                results.append(row)
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
