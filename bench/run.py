"""Benchmark a Zephyr IPMI poll against ``ipmitool sdr elist`` and FreeIPMI ``ipmi-sensors``.

Run from the repository root::

    .venv/bin/python -m bench.run            # full run (about 10-15 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # smoke run: 1 BMC with 5 sensors, 2 polls per client

For each fleet size (1, 10, 50 BMCs) and sensor count (20, 120), simulated BMCs (bmcsim, synthetic profiles
from ``bench.profiles``) are started in simulator host processes on 127.0.0.1. The same BMCs are then
polled by Zephyr (a real Home Assistant with one config entry per BMC, in a worker process: ``bench.zephyr``),
by ``ipmitool -I lanplus sdr elist`` (a process per poll) and by ``ipmi-sensors`` with a warm SDR cache
(a process per poll). Requests and UDP packets come from the simulators' request logs and counters; CPU
time is the client's own (Zephyr: the worker's ``process_time``; tools: ``wait4`` rusage of each process).
Then one silent and one slow BMC among healthy ones, and a soak of 50 BMCs x 40 sensors polled every 30 s
by the entries' own timers.

Writes ``bench/results.json`` and ``docs/benchmarks.md`` (``--results``/``--report`` to change; the quick
mode writes to a temporary directory unless told otherwise) and prints the ratios against each peer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (bench/run.py): import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench import report
from bench.fleet import ROOT, Fleet, Snapshot, Traffic
from bench.tools import (
    ToolRun,
    available,
    freeipmi_env,
    ipmi_sensors_command,
    ipmitool_command,
    ipmitool_env,
    peak_rss_kib,
    run_tool,
)
from bench.zephyr import summarize

#: Longest a Zephyr worker may run (s).
WORKER_TIMEOUT = 1200.0


@dataclass
class Options:
    """What one benchmark run measures; see ``build_parser`` for the meaning of each field."""

    quick: bool = False
    bmcs: list[int] = field(default_factory=lambda: [1, 10, 50])
    sensors: list[int] = field(default_factory=lambda: [20, 120])
    rounds: dict[int, int] = field(default_factory=dict)
    tool_polls: dict[int, int] = field(default_factory=dict)
    sim_procs: int = 2
    sdr_limit: dict[str, int] | None = None
    isolation: dict[str, Any] | None = None
    soak: dict[str, Any] | None = None

    @classmethod
    def full(cls) -> Options:
        """The full run of the issue: 1/10/50 BMCs x 20/120 sensors, isolation and a 150 s soak."""
        return cls(
            rounds={1: 30, 10: 20, 50: 8},
            tool_polls={1: 20, 10: 3, 50: 2},
            sdr_limit={"bytes": 16, "polls": 5},
            isolation={
                "bmcs": 10,
                "sensors": 20,
                "period": 1.0,
                "duration": 12.0,
                "arms": ["slow", "silent"],
                "latency_ms": 200.0,
                "silent_episodes": 4,
            },
            soak={
                "bmcs": 50,
                "sensors": 40,
                "scan_interval": 30.0,
                "duration": 150.0,
                "idle_seconds": 10.0,
                "lag_seconds": 60.0,
            },
        )

    @classmethod
    def smoke(cls) -> Options:
        """The quick run: 1 BMC x 5 sensors, 2 polls per client; a small slow-BMC check and a 5 s soak."""
        return cls(
            quick=True,
            bmcs=[1],
            sensors=[5],
            rounds={1: 2},
            tool_polls={1: 2},
            sim_procs=1,
            sdr_limit={"bytes": 16, "polls": 1},
            isolation={"bmcs": 2, "sensors": 5, "period": 0.5, "duration": 1.5, "arms": ["slow"], "latency_ms": 30.0},
            soak={
                "bmcs": 2,
                "sensors": 5,
                "scan_interval": 2.0,
                "duration": 5.0,
                "idle_seconds": 1.0,
                "lag_seconds": 2.0,
            },
        )

    def rounds_for(self, bmcs: int) -> int:
        """Zephyr poll rounds (every BMC once per round) for a fleet of ``bmcs``."""
        return self.rounds.get(bmcs, max(2, min(30, 300 // bmcs)))

    def tool_polls_for(self, bmcs: int) -> int:
        """Polls of each BMC by each tool for a fleet of ``bmcs``."""
        return self.tool_polls.get(bmcs, max(2, 20 // bmcs))


def build_parser() -> argparse.ArgumentParser:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Zephyr IPMI poll benchmark")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 BMC x 5 sensors, 2 polls per client")
    parser.add_argument("--bmcs", help="comma-separated fleet sizes (default 1,10,50)")
    parser.add_argument("--sensors", help="comma-separated sensors per BMC (default 20,120)")
    parser.add_argument("--no-isolation", action="store_true", help="skip the silent/slow BMC run")
    parser.add_argument("--no-soak", action="store_true", help="skip the 50 x 40 soak")
    parser.add_argument("--soak-seconds", type=float, help="length of the soak window (s, default 150)")
    parser.add_argument("--sim-procs", type=int, help="simulator host processes per fleet (default 2)")
    parser.add_argument("--results", type=Path, help="JSON results file (default bench/results.json)")
    parser.add_argument("--report", type=Path, help="markdown report (default docs/benchmarks.md)")
    return parser


def options_from_args(args: argparse.Namespace) -> Options:
    """Options of a run from its parsed command line."""
    options = Options.smoke() if args.quick else Options.full()
    if args.bmcs:
        options.bmcs = [int(x) for x in args.bmcs.split(",")]
    if args.sensors:
        options.sensors = [int(x) for x in args.sensors.split(",")]
    if args.no_isolation:
        options.isolation = None
    if args.no_soak:
        options.soak = None
    if args.soak_seconds is not None and options.soak is not None:
        options.soak["duration"] = args.soak_seconds
    if args.sim_procs:
        options.sim_procs = args.sim_procs
    return options


# -- Zephyr -------------------------------------------------------------------------------------------------


def run_zephyr(fleet: Fleet, workdir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run one ``bench.zephyr`` worker against ``fleet``; return its result (raises with its log on failure)."""
    home = workdir / f"ha-{config['mode']}"
    home.mkdir()
    config = {**config, "bmcs": [asdict(bmc) for bmc in fleet.bmcs], "config_dir": str(home)}
    path = workdir / f"zephyr-{config['mode']}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    log = workdir / f"zephyr-{config['mode']}.log"
    sim_cpu = fleet.host_cpu_seconds()
    with log.open("wb") as stderr:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.zephyr", str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            timeout=WORKER_TIMEOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    if completed.returncode != 0 or not completed.stdout.strip():
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise RuntimeError(f"Zephyr worker ({config['mode']}) failed with status {completed.returncode}:\n{tail}")
    result: dict[str, Any] = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    result["simulator_cpu_s"] = fleet.host_cpu_seconds() - sim_cpu
    return result


# -- tools --------------------------------------------------------------------------------------------------


def summarize_tool(runs: list[ToolRun], traffic: Traffic, sensors: int, expected_lines: int) -> dict[str, Any]:
    """Per-poll figures of a list of tool runs and the traffic they caused."""
    polls = len(runs)
    return {
        "polls": polls,
        "failures": sum(1 for r in runs if r.status != 0 or r.lines != expected_lines),
        "wall_s": summarize([r.wall for r in runs]),
        "cpu_s": summarize([r.cpu for r in runs]),
        "cpu_s_per_poll": sum(r.cpu for r in runs) / max(polls, 1),
        "traffic_per_poll": traffic.per(polls),
        "traffic_total": traffic.to_dict(),
        "sensors": sensors,
        "last_stderr": next((r.stderr for r in reversed(runs) if r.status != 0), ""),
    }


def run_ipmitool(fleet: Fleet, polls: int) -> dict[str, Any]:
    """``ipmitool sdr elist`` ``polls`` times per BMC, one process per poll, one BMC after the other."""
    snap: Snapshot = fleet.control.snapshot()
    sim_cpu = fleet.host_cpu_seconds()
    env = ipmitool_env()
    runs = [run_tool(ipmitool_command(bmc), env=env) for _ in range(polls) for bmc in fleet]
    result = summarize_tool(runs, fleet.control.total_traffic(snap), fleet.sensors, fleet.sensors)
    result["simulator_cpu_s"] = fleet.host_cpu_seconds() - sim_cpu
    # After the traffic window: one more run under GNU time for the process's peak RSS.
    result["peak_rss_kib"] = peak_rss_kib(ipmitool_command(fleet.bmcs[0]), env=env)
    return result


def run_ipmi_sensors(fleet: Fleet, polls: int, cache_dir: Path) -> dict[str, Any]:
    """``ipmi-sensors`` per BMC: one run that fills the SDR cache (cold), then ``polls`` warm runs each."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    env = freeipmi_env(cache_dir)
    expected = fleet.sensors + 1  # a header line, then one line per sensor
    snap = fleet.control.snapshot()
    cold_runs = [run_tool(ipmi_sensors_command(bmc, cache_dir), env=env) for bmc in fleet]
    cold = summarize_tool(cold_runs, fleet.control.total_traffic(snap), fleet.sensors, expected)
    snap = fleet.control.snapshot()
    sim_cpu = fleet.host_cpu_seconds()
    runs = [run_tool(ipmi_sensors_command(bmc, cache_dir), env=env) for _ in range(polls) for bmc in fleet]
    result = summarize_tool(runs, fleet.control.total_traffic(snap), fleet.sensors, expected)
    result["simulator_cpu_s"] = fleet.host_cpu_seconds() - sim_cpu
    # After the traffic window: one more (warm) run under GNU time for the process's peak RSS.
    result["peak_rss_kib"] = peak_rss_kib(ipmi_sensors_command(fleet.bmcs[0], cache_dir), env=env)
    result["cold_cache"] = {k: cold[k] for k in ("polls", "failures", "wall_s", "cpu_s_per_poll", "traffic_per_poll")}
    return result


# -- scenarios ----------------------------------------------------------------------------------------------


def ratios(scenario: dict[str, Any]) -> dict[str, float | None]:
    """Peer / Zephyr ratios per poll: packets, requests, CPU and wall time (above 1 = Zephyr spends less)."""
    zephyr = scenario["zephyr"]
    z_packets = zephyr["traffic_per_poll"]["packets"]
    z_requests = zephyr["traffic_per_poll"]["requests"]
    z_cpu = zephyr["cpu_s_per_poll"]
    z_wall = zephyr["poll_wall_s"]["median"]
    out: dict[str, float | None] = {}
    for name in ("ipmitool", "ipmi_sensors"):
        peer = scenario.get(name)
        if not peer:
            continue
        out[f"{name}_packets"] = peer["traffic_per_poll"]["packets"] / z_packets if z_packets else None
        out[f"{name}_requests"] = peer["traffic_per_poll"]["requests"] / z_requests if z_requests else None
        out[f"{name}_cpu"] = peer["cpu_s_per_poll"] / z_cpu if z_cpu else None
        out[f"{name}_wall"] = peer["wall_s"]["median"] / z_wall if z_wall else None
    return out


def run_scenario(options: Options, bmcs: int, sensors: int, workdir: Path) -> dict[str, Any]:
    """Zephyr, ipmitool and ipmi-sensors against one fleet of ``bmcs`` BMCs with ``sensors`` sensors."""
    tools = available()
    scenario: dict[str, Any] = {"bmcs": bmcs, "sensors": sensors}
    procs = options.sim_procs if bmcs >= 10 else 1
    with Fleet(bmcs, sensors, workdir, procs=procs) as fleet:
        log(f"  {bmcs} x {sensors}: Zephyr ({options.rounds_for(bmcs)} rounds)")
        scenario["zephyr"] = run_zephyr(
            fleet, workdir, {"mode": "matrix", "sensors": sensors, "rounds": options.rounds_for(bmcs)}
        )
        polls = options.tool_polls_for(bmcs)
        if tools["ipmitool"]:
            log(f"  {bmcs} x {sensors}: ipmitool sdr elist ({polls} per BMC)")
            scenario["ipmitool"] = run_ipmitool(fleet, polls)
        if tools["ipmi-sensors"]:
            log(f"  {bmcs} x {sensors}: ipmi-sensors ({polls} per BMC, warm cache)")
            scenario["ipmi_sensors"] = run_ipmi_sensors(fleet, polls, workdir / "freeipmi")
    scenario["ratios"] = ratios(scenario)
    return scenario


def run_sdr_limit(options: Options, workdir: Path, scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ipmitool sdr elist`` against one BMC that refuses Get SDR reads over ``bytes``, per sensor count.

    A steady Zephyr poll reads no SDR, so its packets do not change; the ratio uses the 1-BMC scenario's.
    """
    cfg = options.sdr_limit or {}
    out = []
    for sensors in options.sensors:
        zephyr = next((s["zephyr"] for s in scenarios if s["bmcs"] == 1 and s["sensors"] == sensors), None)
        folder = workdir / f"sdr-limit-{sensors}"
        folder.mkdir()
        with Fleet(1, sensors, folder, sdr_max_read=int(cfg["bytes"])) as fleet:
            result = run_ipmitool(fleet, int(cfg["polls"]))
        packets = result["traffic_per_poll"]["packets"]
        z_packets = zephyr["traffic_per_poll"]["packets"] if zephyr else None
        out.append(
            {
                "sensors": sensors,
                "sdr_max_read": int(cfg["bytes"]),
                "ipmitool": result,
                "zephyr_packets": z_packets,
                "ratio": packets / z_packets if z_packets else None,
            }
        )
    return out


def run_isolation(options: Options, workdir: Path) -> dict[str, Any]:
    """Healthy BMCs' poll times with no fault, with one slow and with one silent BMC among them."""
    cfg = dict(options.isolation or {})
    with Fleet(cfg["bmcs"], cfg["sensors"], workdir, procs=1) as fleet:
        return run_zephyr(fleet, workdir, {"mode": "isolation", "faulty": 0, **cfg})


def run_soak(options: Options, workdir: Path) -> dict[str, Any]:
    """The entries' own timers poll every scan interval for the soak window; CPU % and memory per BMC."""
    cfg = dict(options.soak or {})
    procs = options.sim_procs if cfg["bmcs"] >= 10 else 1
    with Fleet(cfg["bmcs"], cfg["sensors"], workdir, procs=procs) as fleet:
        return run_zephyr(fleet, workdir, {"mode": "soak", **cfg})


# -- machine ------------------------------------------------------------------------------------------------


def _first_line(command: list[str]) -> str | None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError, subprocess.TimeoutExpired:
        return None
    text = (completed.stdout or completed.stderr).strip()
    return text.splitlines()[0] if text else None


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory (GiB), kernel, load average and client versions of this machine."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = 0.0
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) / 1024 / 1024
    from importlib.metadata import version  # noqa: PLC0415

    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "home_assistant": ha_version,
        "pyghmi": version("pyghmi"),
        "ipmitool": _first_line(["ipmitool", "-V"]),
        "ipmi_sensors": _first_line(["ipmi-sensors", "--version"]),
        "load_average_at_start": list(os.getloadavg()),
        "switch_interval_s": sys.getswitchinterval(),
    }


# -- main ---------------------------------------------------------------------------------------------------

#: Hand-recorded sections of the report (begin and end markers) that a run keeps from the previous report.
KEPT_SECTIONS = (
    ("<!-- poll cost: begin -->", "<!-- poll cost: end -->"),
    # written by bench.control (its CONTROL_BEGIN and CONTROL_END)
    ("<!-- bench.control: begin -->", "<!-- bench.control: end -->"),
)


def keep_sections(previous: str, markdown: str) -> str:
    """Return ``markdown`` with each ``KEPT_SECTIONS`` section of ``previous`` appended when it lacks it."""
    for begin, end in KEPT_SECTIONS:
        start, stop = previous.find(begin), previous.find(end)
        if start >= 0 and stop > start and begin not in markdown:
            markdown = markdown.rstrip("\n") + "\n\n" + previous[start : stop + len(end)] + "\n"
    return markdown


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_benchmark(options: Options) -> dict[str, Any]:
    """Run every part of ``options``; return the results (JSON-friendly), targets evaluated."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "mode": "quick" if options.quick else "full",
            "machine": machine_info(),
            "options": asdict(options),
            "tools": available(),
        },
        "scenarios": [],
    }
    with tempfile.TemporaryDirectory(prefix="zephyr-bench-") as tmp:
        workdir = Path(tmp)
        for bmcs in options.bmcs:
            for sensors in options.sensors:
                scenario_dir = workdir / f"s-{bmcs}-{sensors}"
                scenario_dir.mkdir()
                results["scenarios"].append(run_scenario(options, bmcs, sensors, scenario_dir))
        if options.sdr_limit and available()["ipmitool"]:
            log(f"  ipmitool against BMCs that refuse SDR reads over {options.sdr_limit['bytes']} bytes")
            results["sdr_limit"] = run_sdr_limit(options, workdir, results["scenarios"])
        if options.isolation:
            log(f"  isolation: {options.isolation['bmcs']} x {options.isolation['sensors']}, one faulty BMC")
            (workdir / "isolation").mkdir()
            results["isolation"] = run_isolation(options, workdir / "isolation")
        if options.soak:
            soak = options.soak
            log(f"  soak: {soak['bmcs']} x {soak['sensors']} every {soak['scan_interval']} s for {soak['duration']} s")
            (workdir / "soak").mkdir()
            results["soak"] = run_soak(options, workdir / "soak")
    results["meta"]["duration_s"] = time.perf_counter() - started
    results["meta"]["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["targets"] = report.evaluate_targets(results)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON results and the markdown report, print the ratios; 0 on success."""
    args = build_parser().parse_args(argv)
    options = options_from_args(args)
    default_dir = Path(tempfile.gettempdir()) / "zephyr-bench-quick" if options.quick else None
    results_path = args.results or (default_dir / "results.json" if default_dir else ROOT / "bench" / "results.json")
    report_path = args.report or (default_dir / "benchmarks.md" if default_dir else ROOT / "docs" / "benchmarks.md")
    log(f"Zephyr IPMI benchmark ({'quick' if options.quick else 'full'} run)")
    results = run_benchmark(options)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    markdown = report.render_markdown(results)
    if report_path.exists():
        markdown = keep_sections(report_path.read_text(encoding="utf-8"), markdown)
    report_path.write_text(markdown, encoding="utf-8")
    print(report.render_summary(results))
    print(f"\nresults: {results_path}\nreport:  {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
