"""CPU per request of a steady poll: the IPMI core alone against ``ipmi-sensors`` and ``ipmitool``, one BMC.

Run from the repository root::

    .venv/bin/python -m bench.hotpath                    # 20 and 120 sensors, 30 polls each
    .venv/bin/python -m bench.hotpath --sensors 120 --polls 50
    .venv/bin/python -m bench.hotpath --sensors 120 --latency-ms 100 --slow-polls 3

One simulated BMC per sensor count (``bench.fleet``, its own process). Zephyr: ``BmcClient.poll`` back to back
in one thread of this process after a warm-up poll (login and SDR); CPU is ``time.process_time`` of the whole
process (pyghmi's I/O thread included) divided by the polls and by the requests the client counted. The tools:
one process per poll (``ipmi-sensors`` with a warm SDR cache, ``ipmitool sdr elist``), CPU from ``wait4``.
Then, per sensor count, a slow BMC (each datagram answered ``--latency-ms`` late): a poll's wall time with the
shipped window of requests in flight, with the window held at 1, and ``ipmi-sensors``'s; and a lossy BMC
(``--loss-pct``): the wall time of one request (the path of a fan write) sent during a poll and alone.
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


def slow_bmc(fleet: Fleet, folder: Path, latency_ms: float, polls: int, tool_polls_: int) -> dict[str, Any]:
    """Wall time of a poll of BMC 0 while it answers each datagram ``latency_ms`` ms late, in three arms.

    ``window``: the shipped client (up to ``MAX_WINDOW`` requests in flight); ``one_at_a_time``: the same client
    with its window held at 1; ``ipmi_sensors``: FreeIPMI's ``ipmi-sensors`` with a warm SDR cache (login
    included), when installed. The SDR is read before the latency is set.
    """
    from custom_components.zephyr_ipmi.ipmi import BmcClient  # noqa: PLC0415
    from custom_components.zephyr_ipmi.ipmi import session as session_module  # noqa: PLC0415

    bmc = fleet.bmcs[0]
    result: dict[str, Any] = {"latency_ms": latency_ms}
    tools = available()
    cache = folder / "freeipmi-slow"
    cache.mkdir(exist_ok=True)
    if tools["ipmi-sensors"]:
        run_tool(ipmi_sensors_command(bmc, cache), env=freeipmi_env(cache))  # fills its SDR cache
    for arm, window in (("window", None), ("one_at_a_time", 1)):
        client = BmcClient("127.0.0.1", bmc.port, USER, PASSWORD, sdr_cache_dir=folder)
        try:
            client.poll()
            fleet.control.set_fault(0, latency_ms=latency_ms)
            walls = []
            for _ in range(polls):
                if window is not None:
                    session = client._connection.session
                    session.window, session._window_penalty = window, session_module.WINDOW_PENALTY
                start = time.perf_counter()
                client.poll()
                walls.append(time.perf_counter() - start)
            result[arm] = {"polls": polls, "wall_s_per_poll": sum(walls) / polls, "window": session_window(client)}
        finally:
            fleet.control.clear_faults(0)
            client.close()
    if tools["ipmi-sensors"]:
        fleet.control.set_fault(0, latency_ms=latency_ms)
        try:
            result["ipmi_sensors"] = tool_polls(
                ipmi_sensors_command(bmc, cache), freeipmi_env(cache), tool_polls_, warm_up=False
            )
        finally:
            fleet.control.clear_faults(0)
    result["ratio_one_at_a_time_to_window"] = (
        result["one_at_a_time"]["wall_s_per_poll"] / result["window"]["wall_s_per_poll"]
    )
    return result


def single_request_during_poll(fleet: Fleet, folder: Path, loss_pct: float, samples: int) -> dict[str, Any]:
    """Wall time (s) of one request (Get Device ID, a fan write's path) while BMC 0 loses ``loss_pct`` % of datagrams.

    ``during_poll``: sent at a random moment of a poll under way in another thread (the poll's batch lets it go
    between two of its requests); ``alone``: nothing else under way. Median and max of ``samples`` each.
    """
    import contextlib  # noqa: PLC0415
    import random  # noqa: PLC0415
    import statistics  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from custom_components.zephyr_ipmi.ipmi import BmcClient, IpmiError  # noqa: PLC0415

    bmc = fleet.bmcs[0]
    client = BmcClient("127.0.0.1", bmc.port, USER, PASSWORD, sdr_cache_dir=folder)
    times: dict[str, list[float]] = {"alone": [], "during_poll": []}
    failures = 0
    rng = random.Random(13)  # noqa: S311 - when to send, not a secret

    def poll() -> None:
        with contextlib.suppress(IpmiError):
            client.poll()

    def one() -> float | None:
        start = time.perf_counter()
        try:
            client.request(0x06, 0x01)
        except IpmiError:
            return None
        return time.perf_counter() - start

    try:
        client.poll()
        fleet.control.set_fault(0, loss_pct=loss_pct)
        for _ in range(samples):
            for arm in ("alone", "during_poll"):
                poller = threading.Thread(target=poll) if arm == "during_poll" else None
                if poller is not None:
                    poller.start()
                    time.sleep(rng.uniform(0.05, 0.5))
                took = one()
                if poller is not None:
                    poller.join()
                if took is None:
                    failures += 1
                else:
                    times[arm].append(took)
    finally:
        fleet.control.clear_faults(0)
        client.close()
    result: dict[str, Any] = {"loss_pct": loss_pct, "samples": samples, "failures": failures}
    for arm, values in times.items():
        if values:
            result[arm] = {"median_s": statistics.median(values), "max_s": max(values)}
    return result


def session_window(client: Any) -> int:
    """The number of requests the client's session keeps in flight now."""
    return int(client._connection.session.window)


def tool_polls(command: list[str], env: dict[str, str], polls: int, *, warm_up: bool = True) -> dict[str, Any]:
    """Run ``command`` ``polls`` times (after one warm-up run unless ``warm_up`` is False); CPU (s) per run."""
    if warm_up:
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
    parser.add_argument("--latency-ms", type=float, default=100.0, help="slow BMC's answer delay (default 100 ms)")
    parser.add_argument("--slow-polls", type=int, default=3, help="polls per arm against the slow BMC (default 3)")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow and lossy BMC arms")
    parser.add_argument("--loss-pct", type=float, default=30.0, help="lossy BMC's datagram loss (default 30 %%)")
    parser.add_argument("--write-samples", type=int, default=10, help="single requests per arm, lossy BMC (10)")
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
                if not args.no_slow:
                    log(f"{sensors} sensors: a BMC answering {args.latency_ms:g} ms late, {args.slow_polls} polls/arm")
                    row["slow_bmc"] = slow_bmc(fleet, folder, args.latency_ms, args.slow_polls, args.slow_polls)
                    if args.write_samples:
                        log(f"{sensors} sensors: one request during a poll, {args.loss_pct:g} % loss")
                        row["single_request_lossy"] = single_request_during_poll(
                            fleet, folder, args.loss_pct, args.write_samples
                        )
                results.append(row)
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
