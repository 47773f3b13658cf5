"""Write the English strings of discrete sensors into strings.json and translations/en.json from the state tables.

The names of the states a discrete sensor can assert live in ``ipmi/sensor_types.py`` (IPMI 2.0 Tables
42-2 and 42-3). Home Assistant translates entity states and state attributes from strings.json, so each
table's states are copied there, under the table's key (the entity's translation key):

* ``entity.sensor.<table>`` for multi-state discrete sensors: ``state`` (``ok``, ``absent`` when the table
  has a presence state, then every state) and the ``asserted`` attribute's states;
* ``entity.binary_sensor.<table>`` for one-meaning discrete sensors: the ``asserted`` attribute's states.

Run ``.venv/bin/python -m scripts.discrete_strings`` after changing the tables; ``--check`` only reports
whether the files are current (tests/test_translations.py fails when they are not). Only these entries
are rewritten (other keys of an entry and every other string are kept, in their order); a new entry is
inserted before the first existing key that sorts after it.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from custom_components.zephyr_ipmi.ipmi.discrete import STATE_ABSENT, STATE_OK, discrete_view
from custom_components.zephyr_ipmi.ipmi.models import SdrSensor, SensorKind
from custom_components.zephyr_ipmi.ipmi.sensor_types import READING_TYPE_SENSOR_SPECIFIC, StateTable

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "zephyr_ipmi"
FILES = (INTEGRATION / "strings.json", INTEGRATION / "translations" / "en.json")

SYNTHETIC_STATES = {STATE_OK: "OK", STATE_ABSENT: "Absent"}
ATTRIBUTE_NAMES = {"asserted": "Asserted states", "problem": "Problem"}

#: Event/reading type codes of discrete sensors with known states (IPMI 2.0 Table 42-1).
_READING_TYPES = (*range(0x02, 0x0D), READING_TYPE_SENSOR_SPECIFIC)
#: Sensor type codes IPMI 2.0 Table 42-3 defines.
_SENSOR_TYPES = range(0x01, 0x2D)


def discrete_sensor(sensor_type: int, reading_type: int, state_mask: int = 0) -> SdrSensor:
    """Return a discrete SDR sensor of this type that declares the offsets in ``state_mask`` (0: none)."""
    return SdrSensor(
        key="20_0_1",
        record_id=1,
        name="S",
        owner=0x20,
        lun=0,
        number=1,
        entity_id=0x07,
        entity_instance=1,
        sensor_type=sensor_type,
        reading_type=reading_type,
        kind=SensorKind.DISCRETE,
        unit=None,
        state_mask=state_mask,
    )


def discrete_tables() -> tuple[dict[str, StateTable], dict[str, StateTable]]:
    """Return the state tables shown by binary sensors and by multi-state (enum) sensors, by translation key.

    Every combination of event/reading type, sensor type and declared offsets (none, or one) that
    ``discrete_view`` accepts is tried, so a table is listed exactly when some SDR can show it that way.
    """
    binary: dict[str, StateTable] = {}
    multi: dict[str, StateTable] = {}
    for reading_type in _READING_TYPES:
        for sensor_type in _SENSOR_TYPES:
            view = discrete_view(discrete_sensor(sensor_type, reading_type, 0))
            if view is None:
                continue
            for mask in (0, *(1 << state.offset for state in view.table)):
                shown = discrete_view(discrete_sensor(sensor_type, reading_type, mask))
                if shown is not None:
                    (binary if shown.binary else multi)[shown.translation_key] = shown.table
    return binary, multi


def _state_names(table: StateTable) -> dict[str, str]:
    return {state.key: state.name for state in table}


def _asserted(entry: dict[str, Any], table: StateTable) -> dict[str, Any]:
    attributes = entry.setdefault("state_attributes", {})
    asserted = attributes.setdefault("asserted", {})
    asserted.setdefault("name", ATTRIBUTE_NAMES["asserted"])
    asserted["state"] = _state_names(table)
    return attributes  # type: ignore[no-any-return]


def _insert_sorted(platform: dict[str, Any], key: str) -> dict[str, Any]:
    """Return ``platform[key]``, adding an empty entry before the first key that sorts after ``key``."""
    if key in platform:
        return platform[key]  # type: ignore[no-any-return]
    items = list(platform.items())
    position = next((index for index, (other, _) in enumerate(items) if other > key), len(items))
    items.insert(position, (key, {}))
    platform.clear()
    platform.update(items)
    return platform[key]  # type: ignore[no-any-return]


def updated(strings: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``strings`` (strings.json) whose discrete sensor entries match the state tables."""
    result = copy.deepcopy(strings)
    entity = result.setdefault("entity", {})
    binary, multi = discrete_tables()
    for key, table in sorted(multi.items()):
        entry = _insert_sorted(entity.setdefault("sensor", {}), key)
        synthetic = [STATE_OK] if table.presence_offset is None else [STATE_OK, STATE_ABSENT]
        entry["state"] = {state: SYNTHETIC_STATES[state] for state in synthetic} | _state_names(table)
        _asserted(entry, table).setdefault("problem", {"name": ATTRIBUTE_NAMES["problem"]})
    for key, table in sorted(binary.items()):
        _asserted(_insert_sorted(entity.setdefault("binary_sensor", {}), key), table)
    return result


def dump(strings: dict[str, Any]) -> str:
    """Format strings.json as the repository keeps it (two-space indent, UTF-8, final newline)."""
    return json.dumps(strings, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite strings.json and translations/en.json (or, with ``--check``, tell whether they are current)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is not current; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        new = dump(updated(json.loads(text)))
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'not current' if args.check else 'updated'}: {path.relative_to(INTEGRATION.parents[1])}")  # noqa: T201
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
