"""Set Sensor Thresholds planning: values rounded to the sensor's step and validated before any write.

Set Sensor Thresholds is netfn 0x04 cmd 0x26 (IPMI 2.0 §35.8): sensor number, a mask (bit 0 LNC, 1 LCR,
2 LNR, 3 UNC, 4 UCR, 5 UNR) and six raw bytes in that order. Get Sensor Thresholds (0x27, §35.9) reads them
back. Raw bytes convert to values with the SDR's ``y = (M*x + B*10^k1) * 10^k2`` (§36.3); only linear
sensors are written. Low fan thresholds are why Supermicro fans "pulse" (field notes §2).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from .errors import IpmiWriteRefusedError
from .models import Conversion, SdrSensor, SensorKind
from .vendors.base import THRESHOLD_ORDER, WriteKind, WriteRequest, get_sensor_thresholds

#: Thresholds from lowest to highest; each must stay strictly below the next one present.
ASCENDING: tuple[str, ...] = ("lnr", "lcr", "lnc", "unc", "ucr", "unr")
LOWER = frozenset({"lnr", "lcr", "lnc"})


def to_raw(conversion: Conversion, value: float) -> int | None:
    """Return the raw byte (0-255) whose converted value is nearest to ``value``, or None when none exists.

    Only linear conversions (linearization 0) with M != 0 invert; the analog format decides the range
    (0 unsigned 0..255, 1 one's complement -127..127, 2 two's complement -128..127).
    """
    if conversion.linearization != 0 or conversion.m == 0 or not math.isfinite(value):
        return None
    x = round((value / 10.0**conversion.k2 - conversion.b * 10.0**conversion.k1) / conversion.m)
    fmt = conversion.analog_format
    if fmt == 0:
        return x if 0 <= x <= 255 else None
    if fmt == 1:
        if not -127 <= x <= 127:
            return None
        return x if x >= 0 else (~(-x)) & 0xFF
    if fmt == 2:
        return x & 0xFF if -128 <= x <= 127 else None
    return None


def plan(
    sensor: SdrSensor,
    values: Mapping[str, float],
    *,
    current: Mapping[str, int],
    reading: float | None,
    settable: frozenset[str],
) -> tuple[dict[str, int], dict[str, float]]:
    """Round and validate new thresholds; return (raw bytes by name, rounded values by name).

    ``values``: new thresholds in the sensor's unit ("lnr", "lcr", "lnc", "unc", "ucr", "unr").
    ``current``: raw thresholds from Get Sensor Thresholds. ``reading``: the sensor's current value (None
    when unavailable). ``settable``: thresholds the SDR and the vendor let us set. Raises
    ``IpmiWriteRefusedError``: "threshold_invalid" (unknown name, no step, out of range, out of order,
    a lower threshold not below the reading or an upper one not above it, a fan's lower threshold at 0 rpm or
    less, which would never report a stalled fan) or "threshold_not_settable".
    """
    conversion = sensor.conversion
    if not sensor.is_threshold or conversion is None or not values:
        raise IpmiWriteRefusedError("threshold_invalid", sensor=sensor.name)
    raw: dict[str, int] = {}
    rounded: dict[str, float] = {}
    for name, value in values.items():
        if name not in THRESHOLD_ORDER:
            raise IpmiWriteRefusedError("threshold_invalid", sensor=sensor.name, threshold=name)
        if name not in settable:
            raise IpmiWriteRefusedError("threshold_not_settable", sensor=sensor.name, threshold=name)
        byte = to_raw(conversion, float(value))
        converted = None if byte is None else conversion.convert(byte)
        if byte is None or converted is None:
            raise IpmiWriteRefusedError("threshold_invalid", sensor=sensor.name, threshold=name)
        if name in LOWER and sensor.kind is SensorKind.FAN and not converted > 0:
            # A stalled fan reads 0 rpm: a lower threshold of 0 rpm or less would never report it.
            raise IpmiWriteRefusedError("threshold_invalid", sensor=sensor.name, threshold=name)
        raw[name], rounded[name] = byte, converted
    merged: dict[str, float] = {}
    for name, byte in current.items():
        known = conversion.convert(byte)
        if known is not None:
            merged[name] = known
    merged.update(rounded)
    present = [name for name in ASCENDING if name in merged]
    for low, high in itertools.pairwise(present):
        if (low in rounded or high in rounded) and not merged[low] < merged[high]:
            raise IpmiWriteRefusedError(
                "threshold_invalid", sensor=sensor.name, threshold=high if high in rounded else low
            )
    if reading is not None:
        for name, value in rounded.items():
            if (name in LOWER and not value < reading) or (name not in LOWER and not value > reading):
                raise IpmiWriteRefusedError(
                    "threshold_invalid", sensor=sensor.name, threshold=name, reading=f"{reading:g}"
                )
    return raw, rounded


def set_request(sensor: SdrSensor, raw: Mapping[str, int], current: Mapping[str, int]) -> WriteRequest:
    """Set Sensor Thresholds for ``raw`` (name -> byte); bytes outside the mask repeat the current values."""
    mask = sum(1 << bit for bit, name in enumerate(THRESHOLD_ORDER) if name in raw)
    body = bytes(raw.get(name, current.get(name, 0)) for name in THRESHOLD_ORDER)
    return WriteRequest(
        name="set_sensor_thresholds",
        netfn=0x04,
        command=0x26,
        data=bytes([sensor.number, mask]) + body,
        kind=WriteKind.SENSOR_THRESHOLDS,
        thresholds=tuple(sorted(raw.items())),
        subject=sensor.name,
        readback=get_sensor_thresholds(sensor.number, sensor.lun),
        lun=sensor.lun,
    )
