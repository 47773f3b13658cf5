"""The control loop benchmark keeps working: ``bench.control --quick`` runs end to end with sound counts.

One simulated Supermicro X11 in a child process, five ticks and two reaction samples on a 2 s timer. Only
structure and request counts are asserted, never timings: the machine is shared and noisy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import control as bench_control
from bench import run as bench_run

pytestmark = pytest.mark.usefixtures("socket_enabled")


def test_quick_run(tmp_path: Path) -> None:
    results_path, report_path = tmp_path / "control.json", tmp_path / "control.md"
    assert bench_control.main(["--quick", "--results", str(results_path), "--report", str(report_path)]) == 0
    results = json.loads(results_path.read_text(encoding="utf-8"))
    (fleet,) = results["fleets"]
    assert fleet["bmcs"] == 1
    # a holding tick: CPU Temp and four guard temperatures, five fans, the fan mode and two zone duties
    holding = fleet["ticks"]["holding"]["requests"]
    assert (holding["count"], holding["mean"], holding["max"]) == (4, 13.0, 13.0)
    assert fleet["ticks"]["changing"]["requests"]["count"] == 1
    assert fleet["reaction"]["hand_back_s"]["count"] == 2
    assert fleet["reaction"]["quiet_again_s"]["count"] == 2
    report = report_path.read_text(encoding="utf-8")
    for heading in ("### Per control tick and BMC", "### From a temperature change to the fan command"):
        assert heading in report


def test_section_replaced_in_place_and_kept() -> None:
    """A new run replaces the control loop section of docs/benchmarks.md and leaves the poll benchmark alone."""
    old = "# Benchmarks\n\npoll numbers\n\n<!-- bench.control: begin -->\nold\n<!-- bench.control: end -->\n"
    new = "<!-- bench.control: begin -->\nnew\n<!-- bench.control: end -->\n"
    assert bench_control.splice_section(old, new) == old.replace("old", "new")
    assert bench_control.splice_section("# Benchmarks\n", new) == "# Benchmarks\n\n" + new
    # bench.run rewrites the document and puts the section it found back
    assert (bench_control.CONTROL_BEGIN, bench_control.CONTROL_END) in bench_run.KEPT_SECTIONS
    assert bench_run.keep_sections(old, "# Benchmarks\n\nnew poll numbers\n") == (
        "# Benchmarks\n\nnew poll numbers\n\n<!-- bench.control: begin -->\nold\n<!-- bench.control: end -->\n"
    )
