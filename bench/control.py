"""Benchmark automatic fan control: requests and CPU per control tick per BMC, and the time from a temperature
change to the fan command that answers it.

Run from the repository root::

    .venv/bin/python -m bench.control            # 1, 5 and 10 BMCs, about 5 minutes
    .venv/bin/python -m bench.control --quick    # 1 BMC, a few ticks (about 15 s)

Each BMC is a bmcsim ``supermicro-x11`` in its own process (``python -m bmcsim``, host load 0 %, simulated
time running at wall speed), so the simulators' CPU stays out of the measurement. This process runs what
Home Assistant runs in its executor for each BMC: ``BmcClient``, the control layer's ``FanController`` and
the core's ``ControlLoop`` with its ``BmcReader``, with the default rule (the Supermicro quiet rule) and the
default guards (every BMC temperature with an upper threshold).

* Per tick: IPMI requests sent (``BmcClient.request_count``) and CPU time of this process
  (``time.process_time``), split into ticks that hold the fans (nothing to change) and ticks that change them.
* Reaction: with the loop on a timer of ``--interval`` s, CPU Temp is pinned to 60 °C at a random moment;
  the time until the BMC receives the hand-back (its request log's receive time) is measured, then the pin is
  released and the time until it receives zone 0's quiet duty again. The wait is at most one interval plus
  the tick's own time; the tick's share is reported apart.

Writes ``bench/control_results.json`` and the *Automatic fan control loop* section of ``docs/benchmarks.md``
(between ``CONTROL_BEGIN`` and ``CONTROL_END``; ``bench.run`` keeps it, see its ``KEPT_SECTIONS``), or the
files ``--results``/``--report`` name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bmcsim.control import ControlClient
from custom_components.zephyr_ipmi.ipmi import BmcClient
from custom_components.zephyr_ipmi.ipmi.automatic import ControlLoop, parse_settings
from custom_components.zephyr_ipmi.ipmi.automatic.bmc import bmc_facts, with_defaults
from custom_components.zephyr_ipmi.ipmi.automatic.reader import BmcReader
from custom_components.zephyr_ipmi.ipmi.control import FanController

ROOT = Path(__file__).resolve().parents[1]
#: Markers of the control loop section in ``docs/benchmarks.md`` (``bench.run.KEPT_SECTIONS`` keeps it).
CONTROL_BEGIN = "<!-- bench.control: begin -->"
CONTROL_END = "<!-- bench.control: end -->"
USER, PASSWORD = "bench", "Bench-Pass-42"  # a simulator credential, not a secret
READY_TIMEOUT = 30.0


@dataclass
class SimBmc:
    """One ``python -m bmcsim`` process and its control channel."""

    process: subprocess.Popen[str]
    port: int
    control: ControlClient

    def stop(self) -> None:
        """Close the control channel and end the process."""
        self.control.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_bmc(index: int) -> SimBmc:
    """Start one simulated Supermicro X11 (load 0 %, wall-speed time) and wait until it answers.

    Its control channel is TCP on 127.0.0.1 (a test process may only reach 127.0.0.1).
    """
    command = [
        sys.executable,
        "-m",
        "bmcsim",
        "--profile",
        "supermicro-x11",
        "--port",
        "0",
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--control",
        "127.0.0.1:0",
        "--speed",
        "1",
        "--load",
        "0",
        "--seed",
        str(index),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None  # noqa: S101 - piped above
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("bmcsim did not start")
    ready = json.loads(line)
    return SimBmc(process=process, port=int(ready["port"]), control=ControlClient(str(ready["control"])))


class Controlled:
    """One BMC under automatic control, as Home Assistant's executor runs it (blocking calls)."""

    def __init__(self, bmc: SimBmc, *, min_change_interval: float) -> None:
        """Connect, probe the fan commands, read the SDR, and build the loop with the default settings."""
        self.bmc = bmc
        self.client = BmcClient("127.0.0.1", bmc.port, USER, PASSWORD)
        self.client.connect()
        self.controller = FanController(self.client)
        caps = self.controller.probe()
        sensors = {sensor.key: sensor for sensor in self.client.sensors()}
        facts = bmc_facts(caps, sensors)
        data = with_defaults({"min_change_interval": min_change_interval}, caps, sensors)
        self.settings = parse_settings(data, facts)
        reader = BmcReader(self.client, sensors, facts.fan_zone, self.controller.read_state)
        self.loop = ControlLoop(self.settings, self.controller, reader)
        self.lock = threading.Lock()

    def tick(self) -> tuple[int, float, int]:
        """Run one tick; return (requests sent, CPU seconds of this process, writes decided)."""
        with self.lock:
            requests = self.client.request_count
            cpu = time.process_time()
            report = self.loop.tick()
            return self.client.request_count - requests, time.process_time() - cpu, len(report.decision.writes)

    def close(self) -> None:
        """Hand back and log out."""
        self.loop.stop("bench")
        self.client.close()


def summarize(values: list[float]) -> dict[str, float]:
    """Mean, median, p95 and max of ``values`` (0 for each when empty)."""
    if not values:
        return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0, "count": 0}
    ordered = sorted(values)
    return {
        "mean": sum(ordered) / len(ordered),
        "median": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "count": len(ordered),
    }


def measure_ticks(controlled: list[Controlled], ticks: int) -> dict[str, Any]:
    """Tick every BMC ``ticks`` times (the first tick takes the fans); requests and CPU per tick per BMC."""
    hold: list[tuple[int, float]] = []
    change: list[tuple[int, float]] = []
    for _ in range(ticks):
        for bmc in controlled:
            requests, cpu, writes = bmc.tick()
            (change if writes else hold).append((requests, cpu))
        time.sleep(0.05)
    return {
        "holding": {
            "requests": summarize([float(r) for r, _ in hold]),
            "cpu_ms": summarize([c * 1000 for _, c in hold]),
        },
        "changing": {
            "requests": summarize([float(r) for r, _ in change]),
            "cpu_ms": summarize([c * 1000 for _, c in change]),
        },
    }


def _wait_for(bmc: SimBmc, since: int, data: bytes, cmd: int, timeout: float) -> float | None:
    """Wall time (s) the BMC received ``0x30 cmd data`` after log entry ``since``, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in bmc.control.request_log(since=since, netfn=0x30, cmd=cmd):
            if record.data == data:
                return float(record.time)
        time.sleep(0.05)
    return None


def measure_reaction(controlled: list[Controlled], interval: float, samples: int, seed: int) -> dict[str, Any]:
    """Loops on a timer of ``interval`` s; pin CPU Temp hot / release it; time until the BMC gets the command."""
    stop = threading.Event()

    def run(bmc: Controlled) -> None:
        while not stop.wait(interval):
            bmc.tick()

    threads = [threading.Thread(target=run, args=(bmc,), daemon=True) for bmc in controlled]
    for thread in threads:
        thread.start()
    rng = random.Random(seed)  # noqa: S311 - a reproducible moment, not a secret
    hand_back: list[float] = []
    take_again: list[float] = []
    try:
        for _ in range(samples):
            bmc = controlled[rng.randrange(len(controlled))]
            time.sleep(rng.uniform(0, interval))
            since = bmc.bmc.control.last_seq()
            changed = time.time()
            bmc.bmc.control.set_temperature(sensor="CPU Temp", celsius=60)
            received = _wait_for(bmc.bmc, since, b"\x01\x02", 0x45, 3 * interval + 10)
            if received is not None:
                hand_back.append(received - changed)
            time.sleep(rng.uniform(0, interval))
            since = bmc.bmc.control.last_seq()
            changed = time.time()
            bmc.bmc.control.set_temperature(sensor="CPU Temp", celsius=None)
            received = _wait_for(bmc.bmc, since, b"\x66\x01\x00\x18", 0x70, 3 * interval + 10)
            if received is not None:
                take_again.append(received - changed)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=interval + 10)
    return {
        "interval_s": interval,
        "hand_back_s": summarize(hand_back),
        "quiet_again_s": summarize(take_again),
    }


def run(bmc_counts: list[int], ticks: int, interval: float, samples: int) -> dict[str, Any]:
    """Run every fleet size and return the results."""
    results: dict[str, Any] = {
        "meta": {
            "date": time.strftime("%Y-%m-%d"),
            "python": platform.python_version(),
            "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
            "ticks": ticks,
            "interval_s": interval,
            "samples": samples,
        },
        "fleets": [],
    }
    for count in bmc_counts:
        sims = [start_bmc(index) for index in range(count)]
        controlled: list[Controlled] = []
        try:
            time.sleep(2.0)  # the thermal model settles under the BMC's own mode
            controlled = [Controlled(sim, min_change_interval=0) for sim in sims]
            fleet = {"bmcs": count, "ticks": measure_ticks(controlled, ticks)}
            fleet["reaction"] = measure_reaction(controlled, interval, samples, seed=count)
            results["fleets"].append(fleet)
        finally:
            for bmc in controlled:
                bmc.close()
            for sim in sims:
                sim.stop()
    return results


def report(results: dict[str, Any]) -> str:
    """Markdown section of ``results`` (``## Automatic fan control loop``, marked for ``splice_section``)."""
    meta = results["meta"]
    lines = [
        CONTROL_BEGIN,
        "## Automatic fan control loop",
        "",
        f"Measured {meta['date']} on {meta['machine']['cores']} cores, Python {meta['python']}, with "
        f"`python -m bench.control` ({meta['ticks']} ticks per BMC; reaction on a {meta['interval_s']:g} s timer, "
        f"{meta['samples']} samples). Each BMC is a simulated Supermicro X11 in its own process; the numbers are "
        "this process's: the client, the control layer and the control loop, as Home Assistant runs them in its "
        "executor. Default settings: the quiet rule on CPU Temp and the BMC's temperatures as guards.",
        "",
        "### Per control tick and BMC",
        "",
        "| BMCs | tick | requests (mean) | CPU ms (mean) | CPU ms (p95) |",
        "|---:|---|---:|---:|---:|",
    ]
    for fleet in results["fleets"]:
        for kind, label in (("holding", "holding (nothing to change)"), ("changing", "taking the fans")):
            row = fleet["ticks"][kind]
            if row["requests"]["count"]:
                lines.append(
                    f"| {fleet['bmcs']} | {label} | {row['requests']['mean']:.1f} | {row['cpu_ms']['mean']:.2f} | "
                    f"{row['cpu_ms']['p95']:.2f} |"
                )
    lines += [
        "",
        "A holding tick reads CPU Temp, the guards' temperatures and the five fans (one Get Sensor Reading each), "
        "then the fan mode and both zone duties (to see a duty changed behind Zephyr's back); it writes nothing.",
        "",
        "### From a temperature change to the fan command",
        "",
        "| BMCs | interval s | to the hand-back: mean s | max s | back to the quiet duty: mean s | max s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for fleet in results["fleets"]:
        reaction = fleet["reaction"]
        lines.append(
            f"| {fleet['bmcs']} | {reaction['interval_s']:g} | {reaction['hand_back_s']['mean']:.2f} | "
            f"{reaction['hand_back_s']['max']:.2f} | {reaction['quiet_again_s']['mean']:.2f} | "
            f"{reaction['quiet_again_s']['max']:.2f} |"
        )
    lines += [
        "",
        "The change lands at a random moment of the control interval, so the wait averages half an interval and "
        "never exceeds one interval plus the tick itself (the bench sets no minimum time between changes; with "
        "the default 60 s the way back to the quiet duty also waits out the hysteresis).",
        CONTROL_END,
    ]
    return "\n".join(lines) + "\n"


def splice_section(document: str, section: str) -> str:
    """Return ``document`` with its marked control loop section replaced by ``section`` (appended if none)."""
    begin, end = document.find(CONTROL_BEGIN), document.find(CONTROL_END)
    if begin >= 0 and end > begin:
        return document[:begin] + section.rstrip("\n") + document[end + len(CONTROL_END) :]
    return document.rstrip("\n") + "\n\n" + section


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.control", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 BMC, 5 ticks, 2 reaction samples at 2 s")
    parser.add_argument("--results", type=Path, help="JSON results (bench/control_results.json)")
    parser.add_argument("--report", type=Path, help="Markdown report to put the section in (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.quick:
        results = run([1], ticks=5, interval=2.0, samples=2)
        out = Path(tempfile.mkdtemp(prefix="zephyr-bench-control-"))
        results_path = args.results or out / "control_results.json"
        report_path = args.report or out / "benchmarks.md"
    else:
        results = run([1, 5, 10], ticks=30, interval=5.0, samples=8)
        results_path = args.results or ROOT / "bench" / "control_results.json"
        report_path = args.report or ROOT / "docs" / "benchmarks.md"
    results_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    existing = report_path.read_text(encoding="utf-8") if report_path.exists() else ""
    report_path.write_text(splice_section(existing, report(results)).lstrip("\n"), encoding="utf-8")
    sys.stdout.write(f"results {results_path}\nreport {report_path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
