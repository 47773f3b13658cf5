"""Fail when any module of the integration is below its coverage floor (95 %, the config flow 100 %)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

FLOOR = 95.0
FLOORS = {"custom_components/zephyr_ipmi/config_flow.py": 100.0}


def main(report: str) -> int:
    """Print each module below its floor; return 1 if there is one, 0 otherwise."""
    files = json.loads(Path(report).read_text(encoding="utf-8"))["files"]
    if not files:
        print("coverage: no module measured")  # noqa: T201
        return 1
    low = []
    for name, data in sorted(files.items()):
        percent = data["summary"]["percent_covered"]
        floor = FLOORS.get(name, FLOOR)
        if percent + 1e-9 < floor:
            low.append(f"{name}: {percent:.1f} % < {floor:.0f} %")
    for line in low:
        print(f"coverage below floor: {line}")  # noqa: T201
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
