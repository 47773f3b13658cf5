"""The benchmark keeps working: ``bench.run --quick`` runs end to end and reports sound structure and counts.

One BMC with 5 sensors, 2 polls per client, a 2-BMC slow-BMC check and a 5 s soak, in about 20 s. Every
client and simulator runs in a child process (the test process only talks to them over pipes and unix
sockets). Only structure and request counts are asserted, never timings: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run

pytestmark = pytest.mark.usefixtures("socket_enabled")

SENSORS = 5
POLLS = 2
#: What a steady Zephyr poll sends: one Get Sensor Reading per sensor, chassis status, DCMI power and the SEL check.
STEADY = {"Get Sensor Reading": SENSORS, "Get Chassis Status": 1, "DCMI Get Power Reading": 1, "Get SEL Info": 1}
#: Requests of a steady poll besides the sensor readings.
EXTRAS = len(STEADY) - 1
#: Requests Zephyr must never send inside a steady poll.
NOT_IN_A_POLL = ("Get SDR", "Reserve SDR Repository", "Get SDR Repository Info", "Get Device ID", "Open Session")


def _tool_expected(name: str) -> bool:
    """A tool's rows must be there when it is installed, and always on CI (scripts/setup installs it)."""
    return bool(os.environ.get("CI")) or shutil.which(name) is not None


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    out = tmp_path_factory.mktemp("bench")
    results_path, report_path = out / "results.json", out / "benchmarks.md"
    assert bench_run.main(["--quick", "--results", str(results_path), "--report", str(report_path)]) == 0
    return json.loads(results_path.read_text(encoding="utf-8")), results_path, report_path


@pytest.fixture
def results(quick: tuple[dict[str, Any], Path, Path]) -> dict[str, Any]:
    return quick[0]


@pytest.fixture
def scenario(results: dict[str, Any]) -> dict[str, Any]:
    assert [(s["bmcs"], s["sensors"]) for s in results["scenarios"]] == [(1, SENSORS)]
    return results["scenarios"][0]


def test_files_are_written(quick: tuple[dict[str, Any], Path, Path]) -> None:
    results, results_path, report_path = quick
    assert results["meta"]["mode"] == "quick"
    assert results["meta"]["machine"]["cores"] >= 1
    report = report_path.read_text(encoding="utf-8")
    for heading in ("## Targets", "## Per poll, side by side", "## Zephyr details", "## Soak"):
        assert heading in report
    assert results_path.stat().st_size > 0


def test_zephyr_steady_poll_sends_one_request_per_sensor(scenario: dict[str, Any]) -> None:
    zephyr = scenario["zephyr"]
    assert zephyr["polls"] == POLLS
    assert zephyr["failures"] == 0
    per_poll = zephyr["traffic_per_poll"]
    assert per_poll["by_command"] == STEADY
    assert per_poll["requests"] == SENSORS + EXTRAS
    # Each request and its response, nothing else: no login, no retransmission.
    assert per_poll["packets"] == 2 * (SENSORS + EXTRAS)
    assert per_poll["session_setup_requests"] == 0
    assert per_poll["retransmissions"] == 0
    # The client's own count agrees with what the BMC saw.
    assert zephyr["client_requests_per_poll"] == {"min": SENSORS + EXTRAS, "max": SENSORS + EXTRAS}
    assert zephyr["entities_per_bmc"] == SENSORS
    assert zephyr["lag_ms"]["count"] > 0
    assert zephyr["client_only"]["round_wall_s"]["count"] == POLLS


def test_zephyr_setup_reads_the_sdr_only_when_the_cache_is_cold(scenario: dict[str, Any]) -> None:
    setup = scenario["zephyr"]["setup"]
    cold, warm = setup["cold_traffic_per_bmc"], setup["warm_traffic_per_bmc"]
    assert cold["by_command"]["Get SDR"] > 0
    assert cold["logins"] == warm["logins"] == 1
    for name in ("Get SDR", "Reserve SDR Repository"):
        assert name not in warm["by_command"]
    # Both setups end with the first poll.
    assert cold["by_command"]["Get Sensor Reading"] == warm["by_command"]["Get Sensor Reading"] == SENSORS
    assert setup["cold_s"]["count"] == setup["warm_s"]["count"] == 1


def test_tool_rows(scenario: dict[str, Any]) -> None:
    if _tool_expected("ipmitool"):
        ipmitool = scenario["ipmitool"]
        assert ipmitool["polls"] == POLLS
        assert ipmitool["failures"] == 0, ipmitool["last_stderr"]
        per_poll = ipmitool["traffic_per_poll"]
        assert per_poll["by_command"]["Get Sensor Reading"] == SENSORS
        assert per_poll["by_command"]["Get SDR"] > 0  # sdr elist reads the whole SDR on every run
        assert per_poll["logins"] == 1
        assert scenario["ratios"]["ipmitool_packets"] > 1
    if _tool_expected("ipmi-sensors"):
        sensors = scenario["ipmi_sensors"]
        assert sensors["polls"] == POLLS
        assert sensors["failures"] == 0, sensors["last_stderr"]
        per_poll = sensors["traffic_per_poll"]
        assert per_poll["by_command"]["Get Sensor Reading"] == SENSORS
        assert "Get SDR" not in per_poll["by_command"]  # warm cache
        assert per_poll["logins"] == 1
        assert sensors["cold_cache"]["traffic_per_poll"]["by_command"]["Get SDR"] > 0
        assert "ipmi_sensors_packets" in scenario["ratios"]


def test_ipmitool_against_a_bmc_that_limits_sdr_reads(results: dict[str, Any], scenario: dict[str, Any]) -> None:
    if not _tool_expected("ipmitool"):
        pytest.skip("ipmitool is not installed")
    (limited,) = results["sdr_limit"]
    assert limited["sensors"] == SENSORS
    per_poll = limited["ipmitool"]["traffic_per_poll"]
    assert limited["ipmitool"]["failures"] == 0, limited["ipmitool"]["last_stderr"]
    # Shorter reads: more Get SDR for the same records.
    assert per_poll["by_command"]["Get SDR"] > scenario["ipmitool"]["traffic_per_poll"]["by_command"]["Get SDR"]
    assert limited["zephyr_packets"] == scenario["zephyr"]["traffic_per_poll"]["packets"]


def test_isolation_and_soak(results: dict[str, Any]) -> None:
    isolation = results["isolation"]
    assert set(isolation["arms"]) == {"baseline", "slow"}
    for arm in isolation["arms"].values():
        assert arm["healthy_poll_s"]["count"] > 0
        assert arm["healthy_failures"] == 0
        assert "stalled" not in arm
        assert arm["faulty_recovery"]["ok"]
    soak = results["soak"]
    assert soak["bmcs"] == 2
    assert soak["polls"] > 0
    assert soak["traffic"]["by_command"]["Get Sensor Reading"] == SENSORS * soak["polls"]
    assert soak["memory"]["rss_after_bytes"] > 0


def test_targets_are_evaluated(results: dict[str, Any]) -> None:
    targets = {t["key"]: t for t in results["targets"]}
    for key in ("steady_requests", "lag", "soak_cpu", "soak_memory", "isolation", "warm_setup"):
        assert key in targets
    assert targets["steady_requests"]["status"] == "pass"
    for target in targets.values():
        assert target["status"] in {"pass", "miss", "n/a"}
        assert target["measured"]


def test_a_run_keeps_the_hand_recorded_poll_cost_section() -> None:
    """The poll cost section (bench.load, bench.soak, bench.hotpath) survives a new report, once."""
    previous = "# Old\n\nold numbers\n\n<!-- poll cost: begin -->\n## Poll cost\n\nkept\n<!-- poll cost: end -->\n"
    kept = bench_run.keep_sections(previous, "# New\n\nnew numbers\n")
    assert kept == "# New\n\nnew numbers\n\n<!-- poll cost: begin -->\n## Poll cost\n\nkept\n<!-- poll cost: end -->\n"
    assert bench_run.keep_sections(previous, kept) == kept
    assert bench_run.keep_sections("# Old\n", "# New\n") == "# New\n"
