"""Synthetic server profiles for the benchmark, built with bmcsim's public profile model.

A profile with ``n`` sensors repeats a 20-sensor pattern of the kinds a real board shows: 6 temperatures,
6 voltages, 4 fans, one input power, one PSU current, one PSU status and one chassis intrusion sensor.
Every sensor has its own SDR record, so a client that reads each sensor once sends ``n`` Get Sensor
Reading requests.
"""

from __future__ import annotations

from bmcsim.fru import FruInfo
from bmcsim.profiles import (
    ENT_AIR_INLET,
    ENT_MEMORY,
    ENT_PROCESSOR,
    ENT_SYSTEM_BOARD,
    GENERIC,
    DeviceId,
    FanPolicy,
    Profile,
    SensorSpec,
    Thermal,
    current,
    fan,
    intrusion,
    power,
    psu,
    temp,
    volt,
)

#: Kinds of one 20-sensor block, in SDR order.
PATTERN = (
    "temp",
    "volt",
    "fan",
    "temp",
    "volt",
    "temp",
    "fan",
    "volt",
    "power",
    "temp",
    "current",
    "volt",
    "temp",
    "fan",
    "volt",
    "psu",
    "temp",
    "volt",
    "fan",
    "intrusion",
)

#: Largest sensor count: sensor numbers stay below 0xF0 (bmcsim's SEL generator sensors).
MAX_SENSORS = 0xEF

_TEMP_THR = {"lcr": 5, "lnc": 10, "unc": 80, "ucr": 90}
_FAN_THR = {"lnr": 300, "lcr": 500, "lnc": 700}
_TEMP_ENTITIES = ((ENT_PROCESSOR, 1), (ENT_SYSTEM_BOARD, 1), (ENT_MEMORY, 1), (ENT_AIR_INLET, 1))
#: Voltage rails: (name, nominal V, (M, R exponent)).
_RAILS = (("12V", 12.05, (64, -3)), ("5V", 5.04, (26, -3)), ("3V3", 3.32, (17, -3)), ("Vcore", 1.80, (10, -3)))


def _sensor(kind: str, number: int, index: int, counts: dict[str, int]) -> SensorSpec:
    """The ``index``-th sensor (0-based) of ``kind``, with SDR sensor number ``number``."""
    k = counts[kind] = counts.get(kind, 0) + 1
    if kind == "temp":
        thermal = Thermal(offset=k % 5, idle_rise=8 + k % 7, load_rise=10 + 3 * (k % 9), tau=30, drives=k == 1)
        return temp(f"Temp {k:03d}", number, _TEMP_THR, thermal, entity=_TEMP_ENTITIES[k % len(_TEMP_ENTITIES)])
    if kind == "volt":
        name, nominal, step = _RAILS[k % len(_RAILS)]
        thr = {"lcr": round(nominal * 0.85, 3), "ucr": round(nominal * 1.15, 3)}
        return volt(f"{name} {k:03d}", number, nominal, step, thr, standby=k % 4 == 0)
    if kind == "fan":
        return fan(f"FAN{k:03d}", number, 0, 7000, _FAN_THR, index=k - 1)
    if kind == "power":
        return power(f"PS{k} Power", number, 2, {"ucr": 480})
    if kind == "current":
        return current(f"PS{k} Current", number, (1, -1), {"ucr": 16.0}, index=k - 1)
    if kind == "psu":
        return psu(f"PS{k} Status", number, k - 1)
    if kind == "intrusion":
        return intrusion(f"Intrusion {k}", number)
    raise ValueError(f"unknown sensor kind {kind!r}")


def synthetic_profile(sensors: int, *, name: str | None = None, sdr_max_read: int | None = None) -> Profile:
    """A generic IPMI 2.0 server with ``sensors`` SDR sensors (1..MAX_SENSORS), DCMI power and FRU 0.

    ``name`` defaults to ``bench-<sensors>``; the simulator derives the system GUID from the profile name
    and its seed, so give each simulator of one profile its own seed. ``sdr_max_read`` (bytes): Get SDR
    reads longer than this are refused with CAh, as on BMCs with small buffers (None: no limit).
    """
    if not 1 <= sensors <= MAX_SENSORS:
        raise ValueError(f"sensors must be 1..{MAX_SENSORS}, got {sensors}")
    counts: dict[str, int] = {}
    specs = tuple(_sensor(PATTERN[i % len(PATTERN)], i + 1, i, counts) for i in range(sensors))
    return Profile(
        name=name or f"bench-{sensors}",
        description=f"Synthetic benchmark server with {sensors} sensors (temperatures, fans, voltages, PSUs)",
        vendor=GENERIC,
        device=DeviceId(0x20, 0x01, 0x02, 0x10, manufacturer=0, product=0x0B0E),
        fru=FruInfo(
            board_manufacturer="Bench",
            board_product="Synthetic Board",
            board_serial="BB0001",
            board_part="BB-1",
            product_manufacturer="Bench",
            product_name=f"Synthetic {sensors}",
            product_part="BS-1",
            product_version="1",
            product_serial="BS0001",
        ),
        sensors=specs,
        zones=1,
        fan_policy=FanPolicy(),
        dcmi=True,
        sdr_max_read=sdr_max_read,
    )


def sensor_kinds(profile: Profile) -> dict[str, int]:
    """Number of sensors of each kind in ``profile``."""
    out: dict[str, int] = {}
    for spec in profile.sensors:
        out[spec.kind] = out.get(spec.kind, 0) + 1
    return out
