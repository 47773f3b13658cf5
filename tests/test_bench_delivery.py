"""The delivery benchmark keeps working: ``bench.delivery`` runs end to end and every message arrives.

Run in a child process (its own Home Assistant and local HTTP server on 127.0.0.1). Only counts and the
result's structure are asserted, never timings: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_delivery_benchmark_quick_run() -> None:
    """Five alerts reach all five channels, the slow one included; latencies are reported per channel."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.delivery", "--alerts", "5", "--slow", "0.2", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["alerts"] == 5
    assert set(result["channels"]) == {"slack", "discord", "teams", "telegram", "slow slack"}
    for name, channel in result["channels"].items():
        assert channel["delivered"] == 5, (name, done.stderr[-2000:])
        assert channel["latency_ms"]["count"] == 5
        assert 0 < channel["latency_ms"]["median"] <= channel["latency_ms"]["max"]
