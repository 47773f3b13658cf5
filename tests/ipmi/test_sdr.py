"""SDR record parsing and sensor reading decoding against records laid out as IPMI 2.0 §43 specifies."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.zephyr_ipmi.ipmi.client import sensors_from_records
from custom_components.zephyr_ipmi.ipmi.models import SensorKind, SensorStatus
from custom_components.zephyr_ipmi.ipmi.sdr import (
    SdrDecodeError,
    convert_reading,
    decode_id_string,
    decode_sensor_reading,
    decode_thresholds,
    parse_controller_locator,
    parse_sensor_records,
)

from .records import compact_record, full_record, pack_6bit


def test_full_temperature_record() -> None:
    record = full_record(1, 0x01, "CPU Temp", thresholds={"unc": 80, "ucr": 85, "unr": 90, "lcr": 5})
    (sensor,) = parse_sensor_records(record)
    assert sensor.key == "20_0_1"
    assert sensor.name == "CPU Temp"
    assert sensor.kind is SensorKind.TEMPERATURE
    assert sensor.unit == "°C"
    assert sensor.thresholds == {"unc": 80.0, "ucr": 85.0, "unr": 90.0, "lcr": 5.0}
    reading = decode_sensor_reading(sensor, bytes([0x2D, 0xC0, 0x00]))
    assert reading.value == 45.0
    assert reading.status is SensorStatus.OK
    assert reading.available


def test_fan_record_with_multiplier_and_threshold_status() -> None:
    (fan,) = parse_sensor_records(full_record(2, 0x41, "FAN1", sensor_type=0x04, base_unit=18, m=100))
    assert (fan.kind, fan.unit) == (SensorKind.FAN, "rpm")
    assert decode_sensor_reading(fan, bytes([0x12, 0xC0, 0x00])).value == 1800.0
    # 0 rpm with "at or below lower critical" and "lower non-recoverable" asserted.
    failed = decode_sensor_reading(fan, bytes([0x00, 0xC0, 0b0000_0111]))
    assert failed.value == 0.0
    assert failed.status is SensorStatus.NON_RECOVERABLE
    assert decode_sensor_reading(fan, bytes([0x05, 0xC0, 0b0000_0011])).status is SensorStatus.CRITICAL
    assert decode_sensor_reading(fan, bytes([0x07, 0xC0, 0b0000_0001])).status is SensorStatus.NON_CRITICAL
    assert decode_sensor_reading(fan, bytes([0xFF, 0xC0, 0b0000_1000])).status is SensorStatus.NON_CRITICAL


def test_voltage_conversion_with_exponents_and_signed_formats() -> None:
    # 12V rail: M=7, R exp -2 → raw 0xAC (172) reads 12.04 V.
    (volt,) = parse_sensor_records(full_record(3, 0x30, "12V", sensor_type=0x02, base_unit=4, m=7, r_exp=-2))
    assert (volt.kind, volt.unit) == (SensorKind.VOLTAGE, "V")
    assert decode_sensor_reading(volt, bytes([0xAC, 0xC0])).value == 12.04
    # B with its own exponent: y = (2x + 5*10^1) * 10^-1
    (offset,) = parse_sensor_records(
        full_record(4, 0x31, "VBAT", sensor_type=0x02, base_unit=4, m=2, b=5, b_exp=1, r_exp=-1)
    )
    assert decode_sensor_reading(offset, bytes([10, 0xC0])).value == 7.0
    (twos,) = parse_sensor_records(full_record(5, 0x32, "Ambient", analog_format=2))
    assert decode_sensor_reading(twos, bytes([0xF6, 0xC0])).value == -10.0
    (ones,) = parse_sensor_records(full_record(6, 0x33, "Inlet", analog_format=1))
    assert decode_sensor_reading(ones, bytes([0xF5, 0xC0])).value == -10.0
    (negative_m,) = parse_sensor_records(full_record(7, 0x34, "Neg", m=-3))
    assert decode_sensor_reading(negative_m, bytes([2, 0xC0])).value == -6.0


def test_current_power_and_percent_units() -> None:
    (amps,) = parse_sensor_records(full_record(8, 0x50, "PSU1 Iin", sensor_type=0x03, base_unit=5, m=1, r_exp=-1))
    assert (amps.kind, amps.unit) == (SensorKind.CURRENT, "A")
    assert decode_sensor_reading(amps, bytes([25, 0xC0])).value == 2.5
    (watts,) = parse_sensor_records(full_record(9, 0x51, "PSU1 Pin", sensor_type=0x0B, base_unit=6, m=2))
    assert (watts.kind, watts.unit) == (SensorKind.POWER, "W")
    assert decode_sensor_reading(watts, bytes([100, 0xC0])).value == 200.0


@pytest.mark.parametrize(
    ("linearization", "raw", "expected"),
    [(1, 1, 0.0), (2, 100, 2.0), (3, 8, 3.0), (7, 4, 0.25), (8, 3, 9.0), (9, 2, 8.0), (10, 16, 4.0), (11, 27, 3.0)],
)
def test_linearization_functions(linearization: int, raw: int, expected: float) -> None:
    (sensor,) = parse_sensor_records(full_record(10, 0x60, "Lin", linearization=linearization))
    assert decode_sensor_reading(sensor, bytes([raw, 0xC0])).value == pytest.approx(expected)


def test_nonlinear_sensor_costs_only_its_value() -> None:
    (sensor,) = parse_sensor_records(full_record(11, 0x61, "OEM", linearization=0x70))
    reading = decode_sensor_reading(sensor, bytes([10, 0xC0]))
    assert reading.value is None
    assert not reading.available
    (zero,) = parse_sensor_records(full_record(12, 0x62, "Inv", linearization=7))
    assert decode_sensor_reading(zero, bytes([0, 0xC0])).value is None


def test_reading_unavailable_and_scanning_disabled() -> None:
    (sensor,) = parse_sensor_records(full_record(1, 0x01, "CPU Temp"))
    for flags in (0xE0, 0x20, 0x00):
        reading = decode_sensor_reading(sensor, bytes([0x2D, flags, 0x00]))
        assert (reading.value, reading.available) == (None, False)
    with pytest.raises(SdrDecodeError):
        decode_sensor_reading(sensor, b"\x2d")


def test_compact_record_with_share_count_gives_one_sensor_each() -> None:
    sensors = parse_sensor_records(
        compact_record(20, 0x70, "PS", share_count=2, modifier_offset=1, instance_increments=True)
    )
    assert [(s.name, s.number, s.key, s.entity_instance) for s in sensors] == [
        ("PS 1", 0x70, "20_0_112", 1),
        ("PS 2", 0x71, "20_0_113", 2),
    ]
    assert all(s.kind is SensorKind.DISCRETE for s in sensors)
    alpha = parse_sensor_records(compact_record(21, 0x80, "DIMM", share_count=3, alpha=True))
    assert [s.name for s in alpha] == ["DIMM A", "DIMM B", "DIMM C"]
    # Discrete states: offsets 0-7 in byte 3, 8-14 in byte 4.
    reading = decode_sensor_reading(sensors[0], bytes([0x00, 0xC0, 0x03, 0x01]))
    assert reading.states == 0x0103
    assert reading.available


def test_discrete_state_mask_joins_assertion_deassertion_and_reading_masks() -> None:
    # A drive slot that asserts presence and fault (0x0003), deasserts presence (0x0001) and reads
    # rebuild (offset 7) as well; bit 15 of the reading mask is reserved.
    (sensor,) = parse_sensor_records(
        compact_record(30, 0x90, "Drive 0", sensor_type=0x0D, masks=(0x0003, 0x0001, 0x8080))
    )
    assert sensor.state_mask == 0x0083
    # Threshold sensors have no state mask: their mask bytes hold threshold events and access.
    (threshold,) = parse_sensor_records(full_record(31, 0x91, "T", thresholds={"ucr": 90}))
    assert threshold.state_mask == 0


def test_id_string_encodings() -> None:
    assert decode_id_string(0xC0 | 8, b"CPU Temp") == "CPU Temp"
    assert decode_id_string(0xC0 | 8, b"FAN1\x00\x00\x00\x00") == "FAN1"
    assert decode_id_string(0xC0 | 6, "Lüfter".encode("latin-1")) == "Lüfter"
    packed = pack_6bit("SYS TEMP")
    assert decode_id_string(0x80 | len(packed), packed) == "SYS TEMP"
    assert decode_id_string(0x40 | 3, bytes([0x12, 0xB3, 0xC4])) == "12-3.4"
    assert decode_id_string(0x00 | 8, "Fan1".encode("utf-16-le")) == "Fan1"
    assert decode_id_string(0x00 | 4, b"Fan1") == "Fan1"
    assert decode_id_string(0x00 | 12, "Lüfter Temp".encode()) == "Lüfter Temp"
    assert decode_id_string(0xC0 | 12, "Lüfter Temp".encode()) == "Lüfter Temp"


@pytest.mark.parametrize("id_type", [0b00, 0b01, 0b10, 0b11])
def test_any_id_string_bytes_decode_without_error(id_type: int) -> None:
    for length in range(32):
        data = bytes((i * 37 + length) & 0xFF for i in range(length))
        assert isinstance(decode_id_string((id_type << 6) | length, data), str)


def test_six_bit_packed_name_in_a_record() -> None:
    packed = pack_6bit("P1-DIMMA1 TEMP")
    (sensor,) = parse_sensor_records(full_record(30, 0x90, packed, id_type=0b10))
    assert sensor.name == "P1-DIMMA1 TEMP"


def test_unusual_records_are_skipped_alone(caplog: pytest.LogCaptureFixture) -> None:
    good = full_record(1, 0x01, "CPU Temp")
    truncated = full_record(2, 0x02, "Broken")[:20]
    wrong_version = bytearray(full_record(3, 0x03, "Old"))
    wrong_version[2] = 0x10
    fru_locator = bytes([4, 0, 0x51, 0x11, 3, 0, 0, 0])
    duplicate = full_record(5, 0x01, "CPU Temp again")
    nameless = full_record(6, 0x05, b"\x00\x00")
    sensors = sensors_from_records([good, truncated, bytes(wrong_version), fru_locator, duplicate, nameless, b"\x01"])
    assert [s.name for s in sensors] == ["CPU Temp", "Sensor 5"]
    assert caplog.text.count("Skipping") == 4


def test_two_sensors_with_the_same_name_are_two_sensors() -> None:
    sensors = sensors_from_records([full_record(1, 0x10, "Temp"), full_record(2, 0x11, "Temp")])
    assert [s.key for s in sensors] == ["20_0_16", "20_0_17"]


@pytest.mark.parametrize(
    ("sensor_type", "base_unit", "units1", "kind", "unit"),
    [
        (0x01, 1, 0x00, SensorKind.TEMPERATURE, "°C"),
        (0x01, 2, 0x00, SensorKind.TEMPERATURE, "°F"),
        (0x04, 18, 0x00, SensorKind.FAN, "rpm"),
        (0x04, 0, 0x00, SensorKind.FAN, "rpm"),
        (0x02, 0, 0x00, SensorKind.VOLTAGE, None),
        (0x0B, 19, 0x00, SensorKind.OTHER, "Hz"),
        (0x04, 1, 0x01, SensorKind.OTHER, "%"),
        (0x0B, 6, 0b0000_0010, SensorKind.OTHER, None),
        (0x0B, 0, 0x00, SensorKind.OTHER, None),
    ],
)
def test_kind_and_unit(sensor_type: int, base_unit: int, units1: int, kind: SensorKind, unit: str | None) -> None:
    record = bytearray(full_record(1, 0x10, "S", sensor_type=sensor_type, base_unit=base_unit))
    record[20] = units1
    (sensor,) = parse_sensor_records(bytes(record))
    assert (sensor.kind, sensor.unit) == (kind, unit)


def test_discrete_full_record_has_no_conversion() -> None:
    (sensor,) = parse_sensor_records(full_record(1, 0x10, "Intrusion", sensor_type=0x05, reading_type=0x6F))
    assert sensor.kind is SensorKind.DISCRETE
    assert sensor.conversion is None
    assert decode_sensor_reading(sensor, bytes([0, 0xC0, 0x01])).states == 1


def test_no_numeric_format_reads_none() -> None:
    (sensor,) = parse_sensor_records(full_record(1, 0x10, "T"))
    assert sensor.conversion is not None
    assert convert_reading(replace(sensor.conversion, analog_format=3), 10) is None
    assert convert_reading(replace(sensor.conversion, linearization=1), 0) is None  # ln(0)


def test_get_sensor_thresholds_answer_decodes_in_the_sensor_unit() -> None:
    (fan,) = parse_sensor_records(full_record(2, 0x41, "FAN1", sensor_type=0x04, base_unit=18, m=100))
    # Readable: LCR (bit 1), LNR (bit 2), UNC (bit 3); raw 5, 3, 250.
    assert decode_thresholds(fan, bytes([0b0000_1110, 0, 5, 3, 250, 0, 0])) == {
        "lcr": 500.0,
        "lnr": 300.0,
        "unc": 25000.0,
    }
    with pytest.raises(SdrDecodeError, match="thresholds of 3 bytes"):
        decode_thresholds(fan, bytes([0x0E, 0, 5]))
    (psu,) = parse_sensor_records(compact_record(3, 0xC8, "PS1 Status"))
    with pytest.raises(SdrDecodeError, match="no threshold conversion"):
        decode_thresholds(psu, bytes(7))


def test_management_controller_locator_names_the_board() -> None:
    name = b"X11SSH BMC"
    body = bytes([0x20, 0x00, 0x00, 0xBF, 0, 0, 0, 0x2E, 0x01, 0x00, 0xC0 | len(name)]) + name
    record = bytes([0x01, 0x00, 0x51, 0x12, len(body)]) + body
    assert parse_controller_locator(record) == (0x20, "X11SSH BMC")
    assert parse_controller_locator(full_record(2, 0x41, "FAN1")) is None
    assert parse_controller_locator(record[:10]) is None
