"""Home Assistant's event loop under many BMCs: entries started together, and polls on their own timers.

Run from the repository root::

    .venv/bin/python -m bench.load                      # 50 BMCs x 120 sensors, scan interval 20 s
    .venv/bin/python -m bench.load --bmcs 10 --sensors 20 --window 20 --scan-interval 10

Two workers (``bench.zephyr``) against one simulated fleet (``bench.fleet``):

* ``startup``: every entry set up at once with a warm SDR cache (the cold setup before it fills the
  cache), loop lag sampled during the warm setup; each entry's setup time.
* ``timers``: the entries' own coordinator timers poll every scan interval; per scheduling arm (``together``:
  Home Assistant's default, every entry in the same second after a common start; ``spread``: the
  integration's per-entry slots) the loop lag, CPU and how many polls started within any 1 s and 100 ms.

Both arms run in the same worker one after the other, so their ratio is measured in one run. Prints the
results as JSON (also written to ``--out``). Timings are noisy on a shared machine: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.fleet import Fleet
from bench.run import log, run_zephyr


def build_parser() -> argparse.ArgumentParser:
    """Command line of the load benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--bmcs", type=int, default=50, help="simulated BMCs (default 50)")
    parser.add_argument("--sensors", type=int, default=120, help="sensors per BMC (default 120)")
    parser.add_argument("--scan-interval", type=float, default=20.0, help="entries' scan interval (s)")
    parser.add_argument("--window", type=float, default=60.0, help="measured window per arm (s)")
    parser.add_argument("--sim-procs", type=int, default=2, help="simulator host processes")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up run")
    parser.add_argument("--no-timers", action="store_true", help="skip the timers run")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the start-up and timer runs; print their results as JSON; 0 on success."""
    args = build_parser().parse_args(argv)
    result: dict[str, Any] = {"bmcs": args.bmcs, "sensors": args.sensors}
    with tempfile.TemporaryDirectory(prefix="zephyr-bench-load-") as tmp:
        workdir = Path(tmp)
        with Fleet(args.bmcs, args.sensors, workdir, procs=args.sim_procs) as fleet:
            if not args.no_startup:
                log(f"startup: {args.bmcs} x {args.sensors}, every entry at once, warm SDR cache")
                result["startup"] = run_zephyr(fleet, workdir, {"mode": "startup", "sensors": args.sensors})
            if not args.no_timers:
                log(f"timers: {args.bmcs} x {args.sensors} every {args.scan_interval:g} s, {args.window:g} s per arm")
                result["timers"] = run_zephyr(
                    fleet,
                    workdir,
                    {
                        "mode": "timers",
                        "sensors": args.sensors,
                        "scan_interval": args.scan_interval,
                        "duration": args.window,
                    },
                )
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
