"""How a discrete SDR sensor reads to a user: one on/off meaning, or one named state out of several.

A discrete sensor reports a bit mask of asserted state offsets (Get Sensor Reading bytes 3-4,
IPMI 2.0 §35.14) whose meaning comes from its event/reading type and sensor type
(``sensor_types``, Tables 42-2 and 42-3). ``discrete_view`` decides, from the SDR alone, whether
the sensor is shown as a binary sensor (and with which device class) or as a list of named states,
and turns a reading's mask into that binary value or state key. Nothing here imports Home Assistant;
device classes are Home Assistant's binary sensor device class values as plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from .models import SdrSensor
from .sensor_types import READING_TYPE_SENSOR_SPECIFIC, EventState, Severity, StateTable, state_table

STATE_OK = "ok"
"""State key of a multi-state sensor with no state asserted (what ipmitool shows as an empty event)."""
STATE_ABSENT = "absent"
"""State key of a multi-state sensor whose presence offset is deasserted and that asserts nothing else."""


class BinaryClass(StrEnum):
    """Device class of a one-meaning discrete sensor (the values of Home Assistant's binary sensor classes)."""

    PROBLEM = "problem"
    PRESENCE = "presence"
    PLUG = "plug"
    SAFETY = "safety"
    TAMPER = "tamper"


#: Sensor-specific (0x6F) types that are always one binary sensor, whatever offsets they support:
#: physical security (tamper), platform security violation (safety), power supply, memory, battery (problem).
_BINARY_TYPES = {
    0x05: BinaryClass.TAMPER,
    0x06: BinaryClass.SAFETY,
    0x08: BinaryClass.PROBLEM,
    0x0C: BinaryClass.PROBLEM,
    0x29: BinaryClass.PROBLEM,
}

#: Generic "digital" event/reading types (Table 42-2) whose offset 1 is the one meaning:
#: 0x03 state asserted, 0x04 predictive failure, 0x05 limit exceeded, 0x06 performance lags,
#: 0x08 device present, 0x09 device enabled.
_DIGITAL_TYPES: dict[int, BinaryClass | None] = {
    0x03: None,
    0x04: BinaryClass.PROBLEM,
    0x05: BinaryClass.PROBLEM,
    0x06: BinaryClass.PROBLEM,
    0x08: BinaryClass.PRESENCE,
    0x09: None,
}

_CABLE_INTERCONNECT = 0x1B


@dataclass(frozen=True, slots=True)
class DiscreteView:
    """How one discrete sensor is shown.

    ``binary`` True: one meaning, on while ``is_on(mask)``; ``device_class`` is its binary sensor
    device class (None for a plain on/off). ``binary`` False: several meanings; ``state(mask)`` is
    one of ``options`` (state keys of ``table``, plus ``ok`` and, for tables with a presence offset,
    ``absent``). ``declared`` is the mask of known offsets the SDR says the sensor reports;
    ``supported`` is the same, or every offset of the table when the SDR declares none. Absence is
    only told when the SDR declares the presence offset. ``translation_key`` names the table.
    """

    table: StateTable
    binary: bool
    device_class: BinaryClass | None
    declared: int
    supported: int
    on_mask: int
    absent_is_on: bool

    @property
    def translation_key(self) -> str:
        """Return the key of the state table ("drive_slot", "redundancy", ...)."""
        return self.table.key

    @property
    def options(self) -> list[str]:
        """Return every state key ``state`` can return: ``ok``, ``absent`` (if any), then the table's keys."""
        synthetic = [STATE_OK] if self.table.presence_offset is None else [STATE_OK, STATE_ABSENT]
        return [*synthetic, *(state.key for state in self.table)]

    def asserted(self, mask: int) -> list[EventState]:
        """Return the known states asserted in ``mask`` (bit n = offset n), in offset order."""
        return self.table.asserted(mask)

    def is_on(self, mask: int) -> bool:
        """Return the binary value for asserted-state ``mask``.

        On while a state of ``on_mask`` is asserted, or, for a power supply whose SDR declares the
        presence offset, while that offset is deasserted (the supply was removed).
        """
        if mask & self.on_mask:
            return True
        presence = self.table.presence_offset
        return self.absent_is_on and presence is not None and not mask >> presence & 1

    def state(self, mask: int) -> str:
        """Return the state key for asserted-state ``mask``: the most severe asserted state.

        Ties go to the higher offset (the more specific state: "hot spare" over "drive present").
        With nothing asserted: ``absent`` when the sensor reports presence, else ``ok``.
        """
        asserted = self.asserted(mask)
        if asserted:
            return max(asserted, key=lambda state: (state.severity.rank, state.offset)).key
        presence = self.table.presence_offset
        return STATE_ABSENT if presence is not None and self._declares(presence) else STATE_OK

    def problem(self, mask: int) -> bool:
        """Return whether ``mask`` shows something wrong: a warning or critical state, or a missing power supply."""
        if any(state.problem for state in self.asserted(mask)):
            return True
        presence = self.table.presence_offset
        return (
            presence is not None
            and self.table.absent_severity.rank >= Severity.WARNING.rank
            and self._declares(presence)
            and not mask >> presence & 1
        )

    def _declares(self, offset: int) -> bool:
        return bool(self.declared >> offset & 1)


def discrete_view(sensor: SdrSensor) -> DiscreteView | None:
    """Return how ``sensor`` is shown, or None when it is not a discrete sensor with known states.

    Threshold sensors, OEM event/reading types (0x70-0x7F), OEM sensor types and sensor-specific
    sensors of types without sensor-specific offsets give None (they are left out).
    """
    if sensor.is_threshold:
        return None
    return _view(sensor.sensor_type, sensor.reading_type, sensor.state_mask)


@lru_cache(maxsize=256)
def _view(sensor_type: int, reading_type: int, declared: int) -> DiscreteView | None:
    table = state_table(reading_type, sensor_type)
    if table is None or reading_type == 0x01:
        return None
    known = sum(1 << state.offset for state in table)
    declared &= known
    supported = declared or known
    presence = table.presence_offset
    presence_declared = presence is not None and bool(declared >> presence & 1)
    problems = sum(1 << state.offset for state in table if state.problem)

    if reading_type == READING_TYPE_SENSOR_SPECIFIC and sensor_type in _BINARY_TYPES:
        by_type = _BINARY_TYPES[sensor_type]
        on_mask = problems if by_type is BinaryClass.PROBLEM else known
        absent_is_on = presence_declared and table.absent_severity.rank >= Severity.WARNING.rank
        return DiscreteView(table, True, by_type, declared, supported, on_mask & ~_presence_bit(presence), absent_is_on)
    if reading_type in _DIGITAL_TYPES:
        return DiscreteView(table, True, _DIGITAL_TYPES[reading_type], declared, supported, 0b10, False)
    if supported & (supported - 1) == 0:
        # One state only: on while it is asserted.
        device_class: BinaryClass | None = None
        if supported == _presence_bit(presence):
            device_class = BinaryClass.PLUG if sensor_type == _CABLE_INTERCONNECT else BinaryClass.PRESENCE
        elif supported & problems:
            device_class = BinaryClass.PROBLEM
        return DiscreteView(table, True, device_class, declared, supported, supported, False)
    return DiscreteView(table, False, None, declared, supported, 0, False)


def _presence_bit(presence: int | None) -> int:
    return 0 if presence is None else 1 << presence
