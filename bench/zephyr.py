"""Zephyr's own poll path, measured inside a real Home Assistant instance (a child process of the benchmark).

``python -m bench.zephyr CONFIG.json`` prints one JSON result line on stdout. It runs Home Assistant's
core (``HomeAssistant`` with its config entries, entity/device registries and state machine, built by
``pytest_homeassistant_custom_component.common.async_test_home_assistant`` on an event loop made by
``homeassistant.runner.create_event_loop``: HA's 64-thread executor), adds one config entry per BMC and sets
it up through ``hass.config_entries.async_setup``: the integration's real ``async_setup_entry``,
``ZephyrCoordinator``, ``BmcClient`` over pyghmi and its sensor and binary sensor entities. A poll is
``ZephyrCoordinator.async_refresh()``, what the coordinator's timer runs, entity state writes included.

Only the clients run in this process (the simulators are in simulator host processes), so its own CPU
time (``time.process_time``: every thread, RUSAGE_SELF) is the client-side cost.

Modes: ``matrix`` (cold and warm entry setup, then back-to-back poll rounds of every BMC at once with an
event-loop lag probe), ``isolation`` (healthy BMCs' poll times with and without one silent or slow BMC),
``soak`` (the entries' own scan-interval timers drive the polls for a while; CPU and memory over that
window).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fleet import Bmc, SimControl
from .simhost import PASSWORD, USER

#: Interval of the lag probe's sleeps (s).
LAG_TICK = 0.005
#: Longest a poll of a faulty BMC may take before the isolation run gives up on it (s).
FAULTY_POLL_LIMIT = 90.0
#: Healthy BMCs still polling this long (s) after their polling window ended are declared stalled.
STALL_GRACE = 30.0
#: Longest one setup of every entry, or one poll round of every BMC, may take (s) before the worker gives up.
STEP_LIMIT = 300.0


def _rss_bytes() -> int:
    """Resident set size of this process now (bytes)."""
    return _proc_status_kib("VmRSS") * 1024


def _hwm_bytes() -> int:
    """Peak resident set size of this process so far (bytes)."""
    return _proc_status_kib("VmHWM") * 1024


def _proc_status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def summarize(values: list[float]) -> dict[str, float]:
    """count, mean, median, p95, p99 and max of ``values`` (same unit as the values; zeros when empty)."""
    if not values:
        return {"count": 0, "mean": 0.0, "median": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
    }


def percentile(ordered: list[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank) of already sorted values."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), -(-len(ordered) * pct // 100)))
    return ordered[int(rank) - 1]


class LagProbe:
    """Measures event-loop lag: how much later than asked each ``LAG_TICK`` s sleep wakes up (s)."""

    def __init__(self) -> None:
        """Create a stopped probe."""
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._running = False

    def start(self) -> None:
        """Start sampling on the running loop."""
        self.samples = []
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Stop sampling; return the lag summary in milliseconds."""
        self._running = False
        if self._task is not None:
            await self._task
            self._task = None
        return summarize([x * 1000 for x in self.samples])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            start = loop.time()
            await asyncio.sleep(LAG_TICK)
            self.samples.append(max(0.0, loop.time() - start - LAG_TICK))


@dataclass
class Harness:
    """A running Home Assistant with the integration loaded and one config entry per BMC."""

    hass: Any
    entries: list[Any]
    control: SimControl

    @property
    def coordinators(self) -> list[Any]:
        """The ZephyrCoordinator of each loaded entry, in BMC order."""
        return [entry.runtime_data.coordinator for entry in self.entries]

    @property
    def clients(self) -> list[Any]:
        """The BmcClient of each loaded entry, in BMC order."""
        return [entry.runtime_data.client for entry in self.entries]

    async def setup_all(self) -> list[float]:
        """Set up every entry at once, as Home Assistant does at start; return each entry's setup time (s)."""

        async def one(entry: Any) -> float:
            start = time.perf_counter()
            if not await self.hass.config_entries.async_setup(entry.entry_id):
                raise RuntimeError(f"config entry {entry.title} did not load: {entry.state} {entry.reason}")
            return time.perf_counter() - start

        times = await bounded(asyncio.gather(*(one(entry) for entry in self.entries)), "config entry setup")
        await self.hass.async_block_till_done()
        return list(times)

    async def unload_all(self) -> None:
        """Unload every loaded entry (each logs out of its BMC)."""
        from homeassistant.config_entries import ConfigEntryState  # noqa: PLC0415

        for entry in self.entries:
            if entry.state is ConfigEntryState.LOADED:
                await self.hass.config_entries.async_unload(entry.entry_id)
        await self.hass.async_block_till_done()


async def bounded[T](awaitable: Awaitable[T], what: str, limit: float = STEP_LIMIT) -> T:
    """Await ``awaitable`` for at most ``limit`` s; past that, report the threads stuck in pyghmi and exit.

    A stalled pyghmi cannot be torn down (its threads never return), so the process ends at once with
    status 3 and the stuck threads on stderr.
    """
    try:
        return await asyncio.wait_for(awaitable, timeout=limit)
    except TimeoutError:
        sys.stderr.write(f"{what} did not finish in {limit:g} s; threads stuck in pyghmi:\n")
        sys.stderr.writelines(f"  {thread}\n" for thread in stuck_threads())
        sys.stderr.flush()
        os._exit(3)


async def timed_refresh(coordinator: Any) -> tuple[float, bool]:
    """One poll through the coordinator, as its timer runs it, with the health check it starts: (wall s, success)."""
    start = time.perf_counter()
    await coordinator.async_refresh()
    await coordinator.async_wait_poll_hooks()
    return time.perf_counter() - start, bool(coordinator.last_update_success)


async def with_home_assistant(
    config: dict[str, Any], body: Callable[[Harness], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Start Home Assistant, load the integration, add one entry per BMC, run ``body``, tear it all down."""
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SCAN_INTERVAL  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.zephyr_ipmi.const import DOMAIN  # noqa: PLC0415
    from custom_components.zephyr_ipmi.credentials import async_encrypt_credentials  # noqa: PLC0415

    bmcs = [Bmc(**raw) for raw in config["bmcs"]]
    control = SimControl(bmcs)
    # The benchmark passes a folder it removes itself: a stalled worker exits without cleaning up.
    folder = config.get("config_dir")
    holder = contextlib.nullcontext(folder) if folder else tempfile.TemporaryDirectory(prefix="zephyr-bench-ha-")
    with holder as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            harness = Harness(hass, [], control)
            try:
                # Let Home Assistant load custom integrations (the test helper turns them off).
                hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
                # Load what every entry shares before the memory baseline: the sensor and binary sensor
                # components, the integration and its platforms.
                for domain in ("sensor", "binary_sensor", DOMAIN):
                    if not await async_setup_component(hass, domain, {}):
                        raise RuntimeError(f"cannot set up {domain}")
                integration = await loader.async_get_integration(hass, DOMAIN)
                await integration.async_get_platforms(["sensor", "binary_sensor"])
                credentials = await async_encrypt_credentials(hass, USER, PASSWORD)
                options = {CONF_SCAN_INTERVAL: config.get("scan_interval", 3600)}
                for bmc in bmcs:
                    entry = MockConfigEntry(
                        domain=DOMAIN,
                        title=f"bench-{bmc.index}",
                        unique_id=bmc.guid,
                        data={CONF_HOST: "127.0.0.1", CONF_PORT: bmc.port, **credentials},
                        options=options,
                    )
                    entry.add_to_hass(hass)
                    harness.entries.append(entry)
                await hass.async_block_till_done()
                return await body(harness)
            finally:
                await harness.unload_all()
                await hass.async_stop(force=True)
                control.close()


async def run_matrix(config: dict[str, Any]) -> dict[str, Any]:
    """Cold and warm setup of every entry, then ``rounds`` poll rounds of every BMC at once."""
    rounds = int(config["rounds"])
    sensors = int(config["sensors"])

    async def body(h: Harness) -> dict[str, Any]:
        count = len(h.entries)
        probe = LagProbe()
        probe.start()
        await asyncio.sleep(config.get("idle_lag_seconds", 1.0))
        idle_lag = await probe.stop()
        rss_baseline = _rss_bytes()

        # Cold: an empty SDR cache (a fresh config directory). Warm: the cache the cold setup wrote.
        snap = h.control.snapshot()
        cpu = time.process_time()
        start = time.perf_counter()
        cold = await h.setup_all()
        cold_total = time.perf_counter() - start
        cold_cpu = time.process_time() - cpu
        cold_traffic = h.control.total_traffic(snap)
        await h.unload_all()
        snap = h.control.snapshot()
        cpu = time.process_time()
        start = time.perf_counter()
        warm = await h.setup_all()
        warm_total = time.perf_counter() - start
        warm_cpu = time.process_time() - cpu
        warm_traffic = h.control.total_traffic(snap)

        coordinators = h.coordinators
        clients = h.clients

        async def coordinator_round() -> list[tuple[float, bool]]:
            return await bounded(asyncio.gather(*(timed_refresh(c) for c in coordinators)), "a poll round")

        async def client_round() -> list[Any]:
            # BmcClient.poll through the executor as hass.async_add_executor_job runs it: no coordinator, no
            # entity updates. Splits a poll's cost between the IPMI client and Home Assistant.
            jobs = (h.hass.async_add_executor_job(client.poll) for client in clients)
            return await bounded(asyncio.gather(*jobs), "a client round")

        # CPU, wall time and traffic without the lag probe (its 200 wake-ups a second cost CPU too) ...
        snap = h.control.snapshot()
        before = [client.request_count for client in clients]
        durations: list[float] = []
        failures = 0
        round_walls: list[float] = []
        cpu = time.process_time()
        for _ in range(rounds):
            start = time.perf_counter()
            results = await coordinator_round()
            round_walls.append(time.perf_counter() - start)
            durations += [wall for wall, _ok in results]
            failures += sum(1 for _wall, ok in results if not ok)
        poll_cpu = time.process_time() - cpu
        steady = h.control.total_traffic(snap)
        per_client = [(client.request_count - b) / rounds for client, b in zip(clients, before, strict=True)]
        bare_walls: list[float] = []
        cpu = time.process_time()
        for _ in range(rounds):
            start = time.perf_counter()
            await client_round()
            bare_walls.append(time.perf_counter() - start)
        bare_cpu = time.process_time() - cpu

        # ... then the same rounds again with the probe sampling the loop's lag.
        probe.start()
        for _ in range(rounds):
            await coordinator_round()
        lag = await probe.stop()
        probe.start()
        for _ in range(rounds):
            await client_round()
        bare_lag = await probe.stop()

        # What one coordinator update costs the event loop: every entity of the BMC writes its state.
        listener_update: list[float] = []
        for coordinator in coordinators:
            start = time.perf_counter()
            coordinator.async_update_listeners()
            listener_update.append(time.perf_counter() - start)
        rss_after = _rss_bytes()
        polls = rounds * count
        return {
            "bmcs": count,
            "sensors": sensors,
            "rounds": rounds,
            "polls": polls,
            "failures": failures,
            "entities_per_bmc": len(coordinators[0].sensors) if coordinators else 0,
            "poll_wall_s": summarize(durations),
            "round_wall_s": summarize(round_walls),
            "cpu_s_per_poll": poll_cpu / polls,
            "cpu_s_total": poll_cpu,
            "lag_ms": lag,
            "idle_lag_ms": idle_lag,
            "traffic_per_poll": steady.per(polls),
            "traffic_total": steady.to_dict(),
            "client_requests_per_poll": {"min": min(per_client), "max": max(per_client)},
            "client_only": {
                "cpu_s_per_poll": bare_cpu / polls,
                "round_wall_s": summarize(bare_walls),
                "lag_ms": bare_lag,
            },
            "listener_update_ms": summarize([x * 1000 for x in listener_update]),
            "setup": {
                "cold_s": summarize(cold),
                "warm_s": summarize(warm),
                "cold_total_s": cold_total,
                "warm_total_s": warm_total,
                "cold_cpu_s": cold_cpu,
                "warm_cpu_s": warm_cpu,
                "cold_traffic_per_bmc": cold_traffic.per(count),
                "warm_traffic_per_bmc": warm_traffic.per(count),
            },
            "memory": {
                "rss_baseline_bytes": rss_baseline,
                "rss_after_bytes": rss_after,
                "hwm_bytes": _hwm_bytes(),
                "rss_growth_per_bmc_bytes": (rss_after - rss_baseline) / count,
                "peak_growth_per_bmc_bytes": (_hwm_bytes() - rss_baseline) / count,
            },
        }

    return await with_home_assistant(config, body)


async def _paced_polls(coordinator: Any, period: float, duration: float, out: list[tuple[float, float, bool]]) -> None:
    """Poll every ``period`` s (as a timer would) for ``duration`` s, appending (end time, wall s, success) to ``out``.

    A poll in progress when ``duration`` ends is finished first. Results land in ``out`` as they come, so they
    are there even when a poll never returns.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while loop.time() - start < duration:
        wall, ok = await timed_refresh(coordinator)
        out.append((loop.time() - start, wall, ok))
        tick += 1
        delay = start + tick * period - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            tick = int((loop.time() - start) / period) + 1


def stuck_threads() -> list[str]:
    """The threads blocked inside pyghmi now, each as its innermost pyghmi frames (file:line function)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame)
        inner = [f for f in stack if "pyghmi" in f.filename]
        if not inner or inner[-1].name != "__enter__":
            continue
        frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(inner[-7:]))
        out.append(f"{names.get(ident, ident)}: {frames}")
    return out


async def run_isolation(config: dict[str, Any]) -> dict[str, Any]:
    """Poll times of healthy BMCs without and with one faulty BMC (``arms``: slow, silent) among them.

    When the healthy BMCs stop polling (a deadlock inside pyghmi), the result is printed at once and the
    process exits without tearing Home Assistant down: deadlocked threads cannot be joined.
    """
    period = float(config["period"])
    duration = float(config["duration"])
    faulty = int(config.get("faulty", 0))
    latency_ms = float(config.get("latency_ms", 200.0))

    async def body(h: Harness) -> dict[str, Any]:
        await h.setup_all()
        coordinators = h.coordinators
        bad = next(i for i, bmc in enumerate(h.control.bmcs) if bmc.index == faulty)
        result: dict[str, Any] = {
            "bmcs": len(coordinators),
            "sensors": int(config["sensors"]),
            "period_s": period,
            "duration_s": duration,
            "latency_ms": latency_ms,
            "arms": {},
        }
        for arm in ["baseline", *config["arms"]]:
            # A dead BMC deadlocks pyghmi only when its session times out while another session is sending:
            # a race, so the silent BMC goes silent (and comes back) several times.
            episodes = int(config.get("silent_episodes", 1)) if arm == "silent" else 1
            healthy: list[tuple[float, float, bool]] = []
            faulty_polls: list[dict[str, Any]] = []
            recoveries: list[dict[str, Any]] = []
            data: dict[str, Any] = {"episodes": episodes}
            result["arms"][arm] = data
            for episode in range(1, episodes + 1):
                if arm == "silent":
                    h.control.set_fault(faulty, silent=True)
                elif arm == "slow":
                    h.control.set_fault(faulty, latency_ms=latency_ms)
                outs: list[list[tuple[float, float, bool]]] = [[] for _ in coordinators]
                tasks = [
                    asyncio.ensure_future(_paced_polls(c, period, duration, outs[i]))
                    for i, c in enumerate(coordinators)
                ]
                healthy_tasks = [task for i, task in enumerate(tasks) if i != bad]
                _done, pending = await asyncio.wait(healthy_tasks, timeout=duration + STALL_GRACE)
                episode_healthy = [poll for i, out in enumerate(outs) if i != bad for poll in out]
                healthy += episode_healthy
                data["healthy_poll_s"] = summarize([wall for _t, wall, _ok in healthy])
                data["healthy_failures"] = sum(1 for _t, _w, ok in healthy if not ok)
                data["faulty_polls"] = faulty_polls + [
                    {"at_s": t, "wall_s": wall, "ok": ok} for t, wall, ok in outs[bad]
                ]
                if pending:
                    data["stalled"] = {
                        "episode": episode,
                        "healthy_bmcs_stuck": len(pending),
                        "last_healthy_poll_at_s": max((t for t, _w, _ok in episode_healthy), default=0.0),
                        "waited_s": duration + STALL_GRACE,
                        "threads": stuck_threads(),
                    }
                    result["aborted"] = True
                    sys.stdout.write(json.dumps(result) + "\n")
                    sys.stdout.flush()
                    os._exit(0)
                _done, pending = await asyncio.wait([tasks[bad]], timeout=FAULTY_POLL_LIMIT)
                h.control.clear_faults(faulty)
                faulty_polls += [{"at_s": t, "wall_s": wall, "ok": ok} for t, wall, ok in outs[bad]]
                data["faulty_polls"] = faulty_polls
                if pending:
                    data["faulty_stuck"] = True
                    break
                wall, ok = await timed_refresh(coordinators[bad])
                recoveries.append({"wall_s": wall, "ok": ok})
                data["faulty_recovery"] = {
                    "wall_s": max(r["wall_s"] for r in recoveries),
                    "ok": all(r["ok"] for r in recoveries),
                }
        return result

    return await with_home_assistant(config, body)


async def run_soak(config: dict[str, Any]) -> dict[str, Any]:
    """Let the entries' own timers poll every ``scan_interval`` s for ``duration`` s; measure CPU and memory.

    First Home Assistant's own idle CPU for ``idle_seconds`` (no entries yet). The CPU window runs without
    the lag probe (its 200 wake-ups a second cost CPU too); the loop lag under the same timers is sampled in
    a separate window of ``lag_seconds`` afterwards.
    """
    duration = float(config["duration"])
    idle_seconds = float(config.get("idle_seconds", 10.0))
    lag_seconds = float(config.get("lag_seconds", 60.0))

    async def body(h: Harness) -> dict[str, Any]:
        rss_baseline = _rss_bytes()
        cpu = time.process_time()
        start = time.perf_counter()
        await asyncio.sleep(idle_seconds)
        idle_pct = 100.0 * (time.process_time() - cpu) / (time.perf_counter() - start)
        setup = await h.setup_all()
        snap = h.control.snapshot()
        cpu = time.process_time()
        start = time.perf_counter()
        await asyncio.sleep(duration)
        window = time.perf_counter() - start
        cpu_used = time.process_time() - cpu
        traffic = h.control.total_traffic(snap)
        rss_after = _rss_bytes()
        # Each coordinator keeps its recent polls; the first one is the setup's.
        walls = [record.duration for c in h.coordinators for record in list(c.polls)[1:]]
        probe = LagProbe()
        probe.start()
        await asyncio.sleep(lag_seconds)
        lag = await probe.stop()
        count = len(h.entries)
        polls = traffic.by_command.get("Get Chassis Status", 0)
        return {
            "bmcs": count,
            "sensors": int(config["sensors"]),
            "scan_interval_s": float(config["scan_interval"]),
            "window_s": window,
            "setup_s": summarize(setup),
            "ha_idle_cpu_pct": idle_pct,
            "cpu_s": cpu_used,
            "cpu_pct_of_one_core": 100.0 * cpu_used / window,
            "polls": polls,
            "poll_wall_s": summarize(walls),
            "cpu_s_per_poll": cpu_used / polls if polls else None,
            "lag_window_s": lag_seconds,
            "lag_ms": lag,
            "traffic": traffic.to_dict(),
            "keepalives": traffic.by_command.get("Get Device ID", 0),
            "memory": {
                "rss_baseline_bytes": rss_baseline,
                "rss_after_bytes": rss_after,
                "hwm_bytes": _hwm_bytes(),
                "rss_per_bmc_bytes": (rss_after - rss_baseline) / count,
            },
        }

    return await with_home_assistant(config, body)


class GcWatch:
    """Pauses of the garbage collector (ms) while watching: they stop every thread, the event loop included."""

    def __init__(self) -> None:
        """Create a stopped watch."""
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def start(self) -> None:
        """Start recording."""
        import gc  # noqa: PLC0415

        self.pauses = {0: [], 1: [], 2: []}
        gc.callbacks.append(self._callback)

    def stop(self) -> dict[str, dict[str, float]]:
        """Stop recording; return a summary (ms) per generation."""
        import gc  # noqa: PLC0415

        gc.callbacks.remove(self._callback)
        return {f"gen{gen}": {**summarize(p), "total": sum(p)} for gen, p in self.pauses.items()}


async def run_startup(config: dict[str, Any]) -> dict[str, Any]:
    """Every entry set up at once with a warm SDR cache (as at Home Assistant start), the loop's lag sampled.

    A cold setup of every entry fills the SDR cache first; after unloading them all, the warm setup runs with
    the lag probe on. Returns each entry's warm setup time (s), the loop lag during it and the garbage
    collector's pauses (ms).
    """

    async def body(h: Harness) -> dict[str, Any]:
        cold = await h.setup_all()
        await h.unload_all()
        probe = LagProbe()
        gc_watch = GcWatch()
        probe.start()
        gc_watch.start()
        cpu = time.process_time()
        start = time.perf_counter()
        warm = await h.setup_all()
        total = time.perf_counter() - start
        warm_cpu = time.process_time() - cpu
        lag = await probe.stop()
        return {
            "bmcs": len(h.entries),
            "sensors": int(config["sensors"]),
            "cold_s": summarize(cold),
            "warm_s": summarize(warm),
            "warm_total_s": total,
            "warm_cpu_s": warm_cpu,
            "lag_ms": lag,
            "gc_pause_ms": gc_watch.stop(),
        }

    return await with_home_assistant(config, body)


def _poll_starts(coordinators: list[Any], since: float) -> list[float]:
    """Start times (Unix s) of the polls the coordinators recorded since ``since`` (Unix s)."""
    from homeassistant.util import dt as dt_util  # noqa: PLC0415

    starts = []
    for coordinator in coordinators:
        for record in list(coordinator.polls):
            parsed = dt_util.parse_datetime(record.start)
            if parsed is not None and parsed.timestamp() >= since:
                starts.append(parsed.timestamp())
    return sorted(starts)


def _crowding(starts: list[float], width: float) -> int:
    """The most poll starts within any ``width`` s."""
    most = 0
    first = 0
    for last, at in enumerate(starts):
        while at - starts[first] > width:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run_timers(config: dict[str, Any]) -> dict[str, Any]:
    """The entries' own timers poll every ``scan_interval`` s; the loop's lag sampled per scheduling ``arms``.

    Arm ``together`` schedules every poll the way Home Assistant's ``DataUpdateCoordinator`` does (the next
    poll one interval after the last one ended, all entries within the same second when they started
    together); arm ``spread`` is the integration's own schedule. Each arm gets one interval to settle, then
    ``duration`` s measured: loop lag (ms), CPU (s), and how many polls started within any 1 s.
    """
    from homeassistant.helpers.update_coordinator import DataUpdateCoordinator  # noqa: PLC0415

    from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator  # noqa: PLC0415

    duration = float(config["duration"])
    interval = float(config["scan_interval"])
    own = ZephyrCoordinator.__dict__.get("_schedule_refresh")

    async def body(h: Harness) -> dict[str, Any]:
        setup = await h.setup_all()
        arms: dict[str, Any] = {}
        for arm in config.get("arms", ["together", "spread"]):
            if arm == "together" or own is None:
                # Home Assistant's own scheduling; every entry re-started together as at Home Assistant start.
                ZephyrCoordinator._schedule_refresh = DataUpdateCoordinator._schedule_refresh  # type: ignore[method-assign]
                for coordinator in h.coordinators:
                    coordinator._microsecond = getattr(coordinator, "_jitter", coordinator._microsecond)
            else:
                ZephyrCoordinator._schedule_refresh = own  # type: ignore[method-assign]
            await bounded(
                asyncio.gather(*(c.async_refresh() for c in h.coordinators)), "a poll round"
            )  # all at once, then each reschedules itself
            await asyncio.sleep(interval)
            since = time.time()
            probe = LagProbe()
            gc_watch = GcWatch()
            probe.start()
            gc_watch.start()
            cpu = time.process_time()
            await asyncio.sleep(duration)
            cpu_used = time.process_time() - cpu
            lag = await probe.stop()
            gc_pauses = gc_watch.stop()
            starts = _poll_starts(h.coordinators, since)
            arms[arm] = {
                "lag_ms": lag,
                "cpu_s": cpu_used,
                "polls": len(starts),
                "most_starts_in_1s": _crowding(starts, 1.0),
                "most_starts_in_100ms": _crowding(starts, 0.1),
                "gc_pause_ms": gc_pauses,
            }
        return {
            "bmcs": len(h.entries),
            "sensors": int(config["sensors"]),
            "scan_interval_s": interval,
            "window_s": duration,
            "setup_s": summarize(setup),
            "arms": arms,
        }

    return await with_home_assistant(config, body)


MODES: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "matrix": run_matrix,
    "isolation": run_isolation,
    "soak": run_soak,
    "startup": run_startup,
    "timers": run_timers,
}


def run(config: dict[str, Any]) -> dict[str, Any]:
    """Run one mode of ``config`` on a Home Assistant event loop; returns its JSON-friendly result."""
    from homeassistant.runner import create_event_loop  # noqa: PLC0415

    loop = create_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(MODES[config["mode"]](config))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.zephyr CONFIG.json``: run it and print the result as one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # A custom integration is announced with a warning on each start; that is expected here.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    config = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result = run(config)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
