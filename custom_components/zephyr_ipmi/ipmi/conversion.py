"""Conversion of raw sensor bytes to values in the sensor's unit (IPMI 2.0 §36.3).

This module imports nothing else of the core: ``models`` and ``sdr`` both build on it, so imports run
one way (conversion → models → sdr → the readers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: Linearization functions L[y] of the Full Sensor Record (IPMI 2.0 §36.3, Table 43-1 byte 24).
_LINEARIZATION: dict[int, Callable[[float], float]] = {
    0: lambda y: y,
    1: math.log,
    2: math.log10,
    3: math.log2,
    4: math.exp,
    5: lambda y: 10.0**y,
    6: lambda y: 2.0**y,
    7: lambda y: 1.0 / y,
    8: lambda y: y * y,
    9: lambda y: y * y * y,
    10: math.sqrt,
    11: lambda y: math.copysign(abs(y) ** (1.0 / 3.0), y),
}


def signed(value: int, bits: int) -> int:
    """Interpret ``value`` as a two's complement number of ``bits`` bits."""
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


@dataclass(frozen=True, kw_only=True, slots=True)
class Conversion:
    """Reading-to-value conversion of a Full Sensor Record (IPMI 2.0 §36.3).

    ``y = L[(M*x + B*10^k1) * 10^k2]`` where x is the raw byte interpreted per ``analog_format``
    (0 unsigned, 1 one's complement, 2 two's complement) and L the linearization function
    (0 linear, 1 ln, 2 log10, 3 log2, 4 e, 5 exp10, 6 exp2, 7 1/x, 8 sqr, 9 cube, 10 sqrt, 11 cube root).
    """

    m: int
    b: int
    k1: int
    k2: int
    analog_format: int
    linearization: int

    def convert(self, raw: int) -> float | None:
        """Return the value in the sensor's unit for raw byte ``raw`` (0-255), or None if not numeric."""
        return convert_reading(self, raw)

    def to_raw(self, value: float) -> int | None:
        """Return the raw byte (0-255) whose value is nearest to ``value``, or None when none converts.

        Used to encode thresholds (Set Sensor Thresholds, IPMI 2.0 §35.8): the BMC stores raw counts,
        so a value is rounded to the sensor's step. Works for every linearization by searching the
        256 raw values.
        """
        best: tuple[float, int] | None = None
        for raw in range(256):
            converted = self.convert(raw)
            if converted is None:
                continue
            distance = abs(converted - value)
            if best is None or distance < best[0]:
                best = (distance, raw)
        return None if best is None else best[1]


def convert_reading(conversion: Conversion, raw: int) -> float | None:
    """Convert a raw reading byte to a value in the sensor's unit (IPMI 2.0 §36.3).

    Returns None when the sensor has no numeric reading (analog format 3) or the linearization is
    not one of the standard functions 0-11 (non-linear sensors need Get Sensor Reading Factors).
    """
    fmt = conversion.analog_format
    if fmt == 0:
        x = raw
    elif fmt == 1:
        x = -((~raw) & 0x7F) if raw & 0x80 else raw
    elif fmt == 2:
        x = signed(raw, 8)
    else:
        return None
    func = _LINEARIZATION.get(conversion.linearization)
    if func is None:
        return None
    y = (conversion.m * x + conversion.b * 10.0**conversion.k1) * 10.0**conversion.k2
    try:
        value = func(y)
    except ValueError, ZeroDivisionError, OverflowError:
        return None
    digits = max(0, -conversion.k2) + 3
    return round(value, digits)
