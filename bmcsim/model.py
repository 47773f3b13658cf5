"""The simulated machine: thermal model, fans, power, PSUs, intrusion, SDR repository and SEL.

Everything advances in fixed steps of simulated time (:data:`STEP`, seconds), so a run driven by
``tick()`` is deterministic. Readings are encoded with each sensor's SDR conversion (IPMI 2.0 section
36.3); threshold status bits and "reading unavailable" follow Get Sensor Reading (IPMI 2.0 section 35.14).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import sdr as s
from . import sel as sel_mod
from .profiles import Profile, SensorSpec

if TYPE_CHECKING:
    from .vendors import FanControl

#: Simulated seconds per model step.
STEP = 0.5

#: Sensor numbers of the extra records the ``sdr_quirks`` fault adds (IPMI 2.0 section 43.15 encodings).
QUIRK_RECORDS: dict[str, tuple[int, str, str]] = {
    "sixbit": (0xE0, "SIXBIT TEMP", s.ENC_SIXBIT),
    "bcdplus": (0xE1, "12-3.4", s.ENC_BCDPLUS),
    "unicode": (0xE2, "Lüfter Temp", s.ENC_UNICODE),
    "nulpad": (0xE3, "NulPad Temp", s.ENC_ASCII8_NULPAD),
    "compact_share": (0xE4, "PSU", s.ENC_ASCII8),
}

# Session audit sensor (type 2Ah) and memory sensor numbers used by BMC/BIOS generated SEL entries;
# they have no SDR, as on many boards.
SESSION_AUDIT_SENSOR = 0xF1
MEMORY_SENSOR = 0xF0


def _psu_works(sensor: Sensor) -> bool:
    """Return whether a power supply is present (offset 0) with neither failure (1) nor AC lost (3) asserted."""
    return bool(sensor.state_bits & 0x01) and not sensor.state_bits & 0x0A


def interpolate(curve: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear interpolation over (x, y) points, clamped at both ends."""
    if x <= curve[0][0]:
        return curve[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return curve[-1][1]


@dataclass
class Sensor:
    """Runtime state of one sensor: its SDR record (with live raw thresholds) and current value."""

    spec: SensorSpec
    record: s.SensorRecord
    sdr_thresholds: dict[str, int] = field(default_factory=dict)
    value: float = 0.0
    pinned: float | None = None
    failed: bool = False
    state_bits: int = 0
    asserted: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        """Sensor ID string."""
        return self.spec.name

    @property
    def is_threshold(self) -> bool:
        """True for threshold-based (event/reading type 01h) sensors."""
        return self.record.event_type == s.ERT_THRESHOLD


class Machine:
    """Host hardware plus BMC-side state that does not depend on the network layer."""

    def __init__(self, profile: Profile, *, epoch: float, ambient: float = 25.0) -> None:
        """Build sensors and SDR for ``profile``; ``epoch`` is the Unix time at simulated time 0."""
        self.profile = profile
        self.epoch = epoch
        self.now = 0.0  # simulated seconds since start
        self.ambient = ambient
        self.load = 10.0  # percent
        self.power_on = True
        self.intrusion = False
        self.identify_until = 0.0  # simulated time the locator LED blinks until (Chassis Identify)
        self.sdr_quirks: set[str] = set()
        self.sel = sel_mod.Sel(profile.sel_capacity)
        self.sensors: list[Sensor] = []
        self.by_number: dict[int, Sensor] = {}
        self.fan_control: FanControl | None = None
        self.power_history: list[float] = []
        self.sdr_reservation = 0
        self._sdr_reservation_counter = 0
        self.sdr_records: list[bytes] = []
        self.sdr_timestamp = 0
        self.last_power_event = 0
        for spec in profile.sensors:
            self._add_sensor(spec)
        self.rebuild_sdr()

    # ---------------------------------------------------------------------------------------------------
    # construction

    def _add_sensor(self, spec: SensorSpec) -> None:
        conv = spec.conversion
        thresholds = {name: conv.to_raw(value) for name, value in spec.thresholds.items()}
        settable = frozenset(spec.thresholds) if spec.settable is None else spec.settable
        if spec.kind in ("psu", "intrusion"):
            sensor_type = s.ST_POWER_SUPPLY if spec.kind == "psu" else s.ST_PHYSICAL_SECURITY
            # PSU: presence, failure, predictive failure, AC lost (offsets 0-3); intrusion: offset 0
            mask = 0x000F if spec.kind == "psu" else 0x0001
            record = s.SensorRecord(
                spec.number,
                spec.name,
                sensor_type,
                s.ERT_SENSOR_SPECIFIC,
                spec.entity[0],
                spec.entity[1],
                compact=True,
                discrete_mask=mask,
                hysteresis=(0, 0),
            )
        elif spec.kind in ("discrete", "redundancy"):
            record = s.SensorRecord(
                spec.number,
                spec.name,
                spec.sensor_type,
                spec.reading_type,
                spec.entity[0],
                spec.entity[1],
                compact=spec.compact,
                discrete_mask=spec.state_mask,
                hysteresis=(0, 0),
            )
        else:
            sensor_type = {
                "temp": s.ST_TEMPERATURE,
                "fan": s.ST_FAN,
                "voltage": s.ST_VOLTAGE,
                "power": s.ST_CURRENT,  # input power sensors use type 03h with watts units
                "current": s.ST_CURRENT,
            }[spec.kind]
            record = s.SensorRecord(
                spec.number,
                spec.name,
                sensor_type,
                s.ERT_THRESHOLD,
                spec.entity[0],
                spec.entity[1],
                units=spec.units,
                percent=spec.percent,
                conversion=conv,
                thresholds=thresholds,
                settable=settable,
                hysteresis=spec.hysteresis,
            )
        sensor = Sensor(spec, record, dict(record.thresholds))
        if spec.kind == "psu":
            sensor.state_bits = 0x01  # presence detected
        elif spec.kind in ("discrete", "redundancy"):
            sensor.state_bits = spec.states
        self.sensors.append(sensor)
        self.by_number[spec.number] = sensor

    def rebuild_sdr(self) -> None:
        """Re-encode the SDR repository.

        The addition timestamp is derived from the content so clients
        that key caches on it (pyghmi, FreeIPMI) re-read it exactly when it changed.
        """
        # The SDR keeps the thresholds the sensors were initialised with; Set Sensor Thresholds changes
        # the live values that Get Sensor Thresholds reports (IPMI 2.0 sections 35.8 and 43.1).
        records = [dataclasses.replace(x.record, thresholds=x.sdr_thresholds) for x in self.sensors]
        template = next((x.record for x in self.sensors if x.spec.kind == "temp"), None)
        for quirk in sorted(self.sdr_quirks):
            number, name, encoding = QUIRK_RECORDS[quirk]
            if quirk == "compact_share":
                records.append(
                    s.SensorRecord(
                        number,
                        name,
                        s.ST_POWER_SUPPLY,
                        s.ERT_SENSOR_SPECIFIC,
                        0x0A,
                        1,
                        compact=True,
                        discrete_mask=0x000F,
                        share_count=2,
                        share_modifier_offset=1,
                    )
                )
            elif template is not None:
                # a threshold temperature mirroring the first temperature sensor, without thresholds
                rec = s.SensorRecord(**{**template.__dict__, "number": number, "name": name, "id_encoding": encoding})
                rec.thresholds = {}
                rec.settable = frozenset()
                records.append(rec)
        encoded = [s.mc_locator_record(0, self.profile.mc_name)]
        encoded += [rec.encode(0) for rec in records]
        self.sdr_records = [struct.pack("<H", i + 1) + body[2:] for i, body in enumerate(encoded)]
        crc = zlib.crc32(b"".join(self.sdr_records))
        self.sdr_timestamp = 0x60000000 + (crc & 0x0FFFFFFF)
        self.sdr_reservation = 0

    def reserve_sdr(self) -> int:
        """Return a new SDR reservation id (IPMI 2.0 section 33.11); cancels the previous one."""
        self._sdr_reservation_counter = self._sdr_reservation_counter % 0xFFFF + 1
        self.sdr_reservation = self._sdr_reservation_counter
        return self.sdr_reservation

    def quirk_sensor(self, number: int) -> tuple[Sensor, int] | None:
        """Return the real sensor a quirk record mirrors (temperature template or PSU), with the state offset."""
        for quirk in self.sdr_quirks:
            q_number, _, _ = QUIRK_RECORDS[quirk]
            if quirk == "compact_share" and number in (q_number, q_number + 1):
                psus = [x for x in self.sensors if x.spec.kind == "psu"]
                if psus:
                    return psus[min(number - q_number, len(psus) - 1)], 0
            elif number == q_number:
                temps = [x for x in self.sensors if x.spec.kind == "temp"]
                if temps:
                    return temps[0], 0
        return None

    # ---------------------------------------------------------------------------------------------------
    # time

    @property
    def unix_time(self) -> int:
        """Current simulated wall clock, seconds since 1970 (SEL timestamps)."""
        return int(self.epoch + self.now)

    def settle(self) -> None:
        """Jump fans and temperatures straight to their equilibrium (used at start)."""
        for _ in range(3):
            duties = self.fan_duties()
            for sensor in self.fans():
                sensor.value = self._fan_target(sensor, duties)
            for sensor in self.sensors:
                if sensor.spec.kind == "temp" and sensor.spec.thermal is not None:
                    sensor.value = self._temp_equilibrium(sensor)
        self._update_derived()
        for sensor in self.sensors:
            sensor.asserted = self._threshold_states(sensor) if self._available(sensor) else set()

    def step(self, dt: float = STEP) -> None:
        """Advance the machine by ``dt`` simulated seconds."""
        self.now += dt
        if self.fan_control is not None:
            self.fan_control.step(self.now, dt)
        duties = self.fan_duties()
        tau = self.profile.fan_policy.fan_tau
        k_fan = 1 - math.exp(-dt / tau)
        for sensor in self.fans():
            target = self._fan_target(sensor, duties)
            sensor.value += (target - sensor.value) * k_fan
        for sensor in self.sensors:
            thermal = sensor.spec.thermal
            if sensor.spec.kind == "temp" and thermal is not None:
                eq = self._temp_equilibrium(sensor)
                sensor.value += (eq - sensor.value) * (1 - math.exp(-dt / thermal.tau))
        self._update_derived()
        self._log_threshold_events()
        if self.fan_control is not None:
            self.fan_control.after_step(self.now)

    # ---------------------------------------------------------------------------------------------------
    # physics

    def fans(self) -> list[Sensor]:
        """Fan sensors in SDR order."""
        return [x for x in self.sensors if x.spec.kind == "fan"]

    def fan_duties(self) -> list[float]:
        """Duty (percent) the BMC currently drives each fan with."""
        fans = self.fans()
        if self.fan_control is None:
            return [50.0] * len(fans)
        return [self.fan_control.fan_duty(sensor.spec.fan_zone, sensor.spec.index) for sensor in fans]

    def _fan_target(self, sensor: Sensor, duties: list[float]) -> float:
        if sensor.failed or not self.power_on:
            return 0.0
        index = self.fans().index(sensor)
        return sensor.spec.fan_max_rpm * max(0.0, min(100.0, duties[index])) / 100.0

    def airflow(self, zone: int | None) -> float:
        """Mean rpm/max (0..1) of the fans in ``zone`` (None: all fans)."""
        fans = [x for x in self.fans() if zone is None or x.spec.fan_zone == zone] or self.fans()
        if not fans:
            return 1.0
        return sum(min(1.0, x.value / x.spec.fan_max_rpm) for x in fans) / len(fans)

    def _temp_equilibrium(self, sensor: Sensor) -> float:
        thermal = sensor.spec.thermal
        if thermal is None:
            return self.ambient
        base = self.ambient + thermal.offset
        if not self.power_on:
            return base
        zone = thermal.zone if thermal.zone is not None and thermal.zone < self.profile.zones else None
        rise = thermal.idle_rise + thermal.load_rise * self.load / 100.0
        return base + rise * (1 + thermal.airflow_k * (1 - self.airflow(zone)))

    def power_watts(self) -> float:
        """Return the simulated input power (W): idle + load share + fan power (cube of fan speed)."""
        if not self.power_on:
            return self.profile.standby_watts
        fans = self.fans()
        fan_w = sum(12.0 * min(1.0, x.value / x.spec.fan_max_rpm) ** 3 for x in fans)
        return self.profile.idle_watts + self.profile.load_watts * self.load / 100.0 + fan_w

    def _update_derived(self) -> None:
        watts = self.power_watts()
        self.power_history.append(watts)
        del self.power_history[:-120]
        psus = [x for x in self.sensors if x.spec.kind == "psu"]
        working = [x for x in psus if _psu_works(x)] or psus
        for sensor in self.sensors:
            kind = sensor.spec.kind
            if kind == "voltage":
                sensor.value = sensor.spec.nominal
            elif kind == "power":
                sensor.value = watts
            elif kind == "current":
                idx = sensor.spec.index
                failed = idx < len(psus) and not _psu_works(psus[idx])
                sensor.value = 0.0 if failed else watts / 230.0 / max(1, len(working))
            elif kind == "intrusion":
                sensor.state_bits = 0x01 if self.intrusion else 0x00
            elif kind == "redundancy":
                members = psus if sensor.spec.group == "psu" else self.fans()
                works = (
                    all(_psu_works(x) for x in members)
                    if sensor.spec.group == "psu"
                    else not any(x.failed for x in members)
                )
                # offset 0 fully redundant, offset 1 redundancy lost (IPMI 2.0 Table 42-2, type 0Bh)
                self.set_states(sensor, 0x0001 if works else 0x0002)

    # ---------------------------------------------------------------------------------------------------
    # readings

    def _available(self, sensor: Sensor) -> bool:
        return self.power_on or sensor.spec.standby

    def current_value(self, sensor: Sensor) -> float:
        """Engineering value reported now (pinned value wins)."""
        return sensor.pinned if sensor.pinned is not None else sensor.value

    def raw_reading(self, sensor: Sensor) -> int:
        """Return the reading byte as the sensor's conversion encodes the current value."""
        return sensor.record.conversion.to_raw(self.current_value(sensor))

    def _threshold_states(self, sensor: Sensor) -> set[str]:
        if not sensor.is_threshold:
            return set()
        conv = sensor.record.conversion
        reading = conv.compare_key(self.raw_reading(sensor))
        states = set()
        for name, raw in sensor.record.thresholds.items():
            limit = conv.compare_key(raw)
            if (name.startswith("l") and reading <= limit) or (name.startswith("u") and reading >= limit):
                states.add(name)
        return states

    def reading_response(self, sensor: Sensor) -> bytes:
        """Get Sensor Reading data after the completion code (IPMI 2.0 section 35.14).

        Byte 2: bit 7 event messages enabled, bit 6 scanning enabled, bit 5 reading unavailable.
        Threshold sensors: byte 3 bit 0..5 = at/below LNC, LCR, LNR, at/above UNC, UCR, UNR.
        Discrete sensors: bytes 3-4 hold the asserted state offsets (byte 4 bit 7 reserved, 1b).
        """
        if not self._available(sensor):
            return bytes([0x00, 0xE0, 0x00, 0x80]) if not sensor.is_threshold else bytes([0x00, 0xE0, 0x00])
        if not sensor.is_threshold:
            return bytes([0x00, 0xC0, sensor.state_bits & 0xFF, 0x80 | ((sensor.state_bits >> 8) & 0x7F)])
        status = 0
        for bit, name in enumerate(s.THRESHOLD_ORDER):
            if name in self._threshold_states(sensor):
                status |= 1 << bit
        return bytes([self.raw_reading(sensor), 0xC0, status])

    def _log_threshold_events(self) -> None:
        for sensor in self.sensors:
            if not sensor.is_threshold:
                continue
            now_states = self._threshold_states(sensor) if self._available(sensor) else set()
            if now_states == sensor.asserted:
                continue
            raw = self.raw_reading(sensor)
            changes = [(name, False) for name in sorted(now_states - sensor.asserted)]
            if self._available(sensor):
                changes += [(name, True) for name in sorted(sensor.asserted - now_states)]
            for name, deassert in changes:
                self.add_sel(
                    sel_mod.threshold_event(
                        self.unix_time,
                        sensor.record,
                        name,
                        reading=raw,
                        threshold=sensor.record.thresholds[name],
                        deassert=deassert,
                    )
                )
            sensor.asserted = now_states

    # ---------------------------------------------------------------------------------------------------
    # events

    def add_sel(self, entry: sel_mod.SelEntry) -> sel_mod.SelEntry | None:
        """Append to the SEL (dropped when full, see :class:`bmcsim.sel.Sel`)."""
        return self.sel.add(entry)

    def sel_event(self, kind: str, *, timestamp: int | None = None, **params: int) -> sel_mod.SelEntry | None:
        """Log a named event.

        Kinds: intrusion, psu_failure, psu_ok, ac_lost, ecc_correctable,
        ecc_uncorrectable, login_failed, lockout, sel_full. Offsets from IPMI 2.0 Table 42-3.
        """
        ts = self.unix_time if timestamp is None else timestamp
        if kind == "intrusion":
            number = self._first("intrusion")
            entry = sel_mod.discrete_event(ts, s.ST_PHYSICAL_SECURITY, number, 0x00)
        elif kind in ("psu_failure", "psu_ok", "ac_lost"):
            number = self._psu_number(params.get("psu", 0))
            offset = 0x03 if kind == "ac_lost" else 0x01
            entry = sel_mod.discrete_event(ts, s.ST_POWER_SUPPLY, number, offset)
            entry.deassert = kind == "psu_ok"
        elif kind in ("ecc_correctable", "ecc_uncorrectable"):
            offset = 0x00 if kind == "ecc_correctable" else 0x01
            entry = sel_mod.discrete_event(
                ts, s.ST_MEMORY, MEMORY_SENSOR, offset, data3=params.get("dimm", 0), flags=0x30
            )
            entry.generator = 0x0001  # BIOS (system software id 01h)
        elif kind in ("login_failed", "lockout"):
            offset = 0x02 if kind == "login_failed" else 0x03
            entry = sel_mod.discrete_event(
                ts,
                s.ST_SESSION_AUDIT,
                SESSION_AUDIT_SENSOR,
                offset,
                data2=params.get("user", 0) & 0x3F,
                data3=params.get("channel", 1) & 0x0F,
                flags=0xF0,
            )
        elif kind == "sel_full":
            entry = sel_mod.discrete_event(ts, s.ST_EVENT_LOGGING_DISABLED, 0xF2, 0x04)
        else:
            raise ValueError(f"unknown SEL event kind {kind!r}")
        return self.add_sel(entry)

    def _first(self, kind: str) -> int:
        for sensor in self.sensors:
            if sensor.spec.kind == kind:
                return sensor.spec.number
        return 0xFF

    def _psu_number(self, index: int) -> int:
        psus = [x for x in self.sensors if x.spec.kind == "psu"]
        if not psus:
            return 0xFF
        return psus[min(index, len(psus) - 1)].spec.number

    def seed_sel(self) -> None:
        """Write the profile's initial SEL entries, timestamped before simulated time 0."""
        for kind, age, params in self.profile.initial_sel:
            self.sel_event(kind, timestamp=int(self.epoch - age), **params)

    def set_psu_failed(self, index: int, failed: bool, *, ac_lost: bool = False) -> None:
        """Fail (or restore) PSU ``index``: state offset 1 (failure) or 3 (AC lost), with a SEL entry."""
        psus = [x for x in self.sensors if x.spec.kind == "psu"]
        sensor = psus[index]
        bit = 0x08 if ac_lost else 0x02
        was = bool(sensor.state_bits & bit)
        if failed:
            sensor.state_bits |= bit
        else:
            sensor.state_bits &= ~0x0A
        if failed and not was:
            self.sel_event("ac_lost" if ac_lost else "psu_failure", psu=index)
        elif not failed and was:
            self.sel_event("psu_ok", psu=index)
        self._update_derived()

    def set_psu_present(self, index: int, present: bool) -> None:
        """Insert (True) or pull out (False) PSU ``index``: offset 0 (presence detected) follows, with a SEL entry.

        A pulled supply asserts nothing (its failure and AC-lost states go with it) and draws no current.
        """
        sensor = [x for x in self.sensors if x.spec.kind == "psu"][index]
        self.set_states(sensor, 0x0001 if present else 0x0000)
        self._update_derived()

    def set_states(self, sensor: Sensor, states: int) -> None:
        """Set the asserted state offsets of discrete ``sensor``; each change goes to the SEL.

        One assertion or deassertion event per changed offset, with the sensor's event/reading type
        (IPMI 2.0 section 29.7, Tables 42-2/42-3).
        """
        states &= 0x7FFF
        changed = sensor.state_bits ^ states
        for offset in range(15):
            if changed >> offset & 1:
                self.add_sel(
                    sel_mod.discrete_event(
                        self.unix_time,
                        sensor.record.sensor_type,
                        sensor.spec.number,
                        offset,
                        event_type=sensor.record.event_type,
                        deassert=not states >> offset & 1,
                    )
                )
        sensor.state_bits = states

    def set_intrusion(self, active: bool) -> None:
        """Open (True, logs an assertion) or reset (False) the chassis intrusion switch."""
        if active and not self.intrusion:
            self.sel_event("intrusion")
        self.intrusion = active
        self._update_derived()

    def sensor_by_name(self, name: str) -> Sensor:
        """Sensor by ID string (first match) or by number given as an int-like string."""
        for sensor in self.sensors:
            if sensor.name == name:
                return sensor
        try:
            return self.by_number[int(name, 0)]
        except ValueError, KeyError:
            raise KeyError(f"no sensor {name!r}") from None
