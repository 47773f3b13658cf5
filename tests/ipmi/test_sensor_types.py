"""Meanings of sensor types, state offsets and event data (IPMI 2.0 Tables 29-6, 42-2, 42-3)."""

from __future__ import annotations

import re

import pytest

from custom_components.zephyr_ipmi.ipmi.sensor_types import (
    GENERIC_TABLES,
    SENSOR_TYPES,
    EventDataUse,
    Severity,
    asserted_states,
    event_details,
    event_state,
    memory_module,
    parse_event_data,
    psu_config_error,
    sensor_type,
    state_table,
)


@pytest.mark.parametrize(
    ("reading_type", "sensor_type_code", "offset", "key", "severity"),
    [
        (0x6F, 0x05, 0, "general_chassis_intrusion", "critical"),
        (0x6F, 0x07, 0, "ierr", "critical"),
        (0x6F, 0x07, 7, "presence_detected", "ok"),
        (0x6F, 0x07, 10, "throttled", "warning"),
        (0x6F, 0x08, 0, "presence_detected", "ok"),
        (0x6F, 0x08, 1, "failure_detected", "critical"),
        (0x6F, 0x08, 3, "input_lost", "critical"),
        (0x6F, 0x08, 7, "inactive", "info"),
        (0x6F, 0x09, 4, "input_lost", "critical"),
        (0x6F, 0x0C, 1, "uncorrectable_ecc", "critical"),
        (0x6F, 0x0D, 1, "drive_fault", "critical"),
        (0x6F, 0x0D, 3, "hot_spare", "info"),
        (0x6F, 0x0D, 7, "rebuild_in_progress", "warning"),
        (0x6F, 0x0F, 2, "firmware_progress", "info"),
        (0x6F, 0x10, 4, "sel_full", "warning"),
        (0x6F, 0x23, 8, "timer_interrupt", "warning"),
        (0x6F, 0x28, 2, "controller_offline", "critical"),
        (0x6F, 0x29, 0, "low", "warning"),
        (0x6F, 0x2A, 2, "invalid_credentials", "warning"),
        # Generic codes mean the same whatever the sensor type (a fan, a power supply, ...).
        (0x01, 0x04, 2, "lower_critical_going_low", "critical"),
        (0x01, 0x01, 7, "upper_non_critical_going_high", "warning"),
        (0x07, 0x04, 1, "transition_to_non_critical_from_ok", "warning"),
        (0x08, 0x08, 0, "device_absent", "info"),
        (0x0B, 0x09, 0, "fully_redundant", "ok"),
        (0x0B, 0x09, 1, "redundancy_lost", "critical"),
    ],
)
def test_event_state(reading_type: int, sensor_type_code: int, offset: int, key: str, severity: str) -> None:
    state = event_state(reading_type, sensor_type_code, offset)
    assert state is not None
    assert (state.offset, state.key, state.severity) == (offset, key, severity)
    assert state.problem is (severity in ("warning", "critical"))


def test_unknown_tables_and_offsets_have_no_state() -> None:
    assert event_state(0x6F, 0x08, 8) is None  # reserved offset
    assert event_state(0x6F, 0x23, 5) is None  # watchdog 2 offsets 4-7 are reserved
    assert event_state(0x6F, 0x01, 0) is None  # temperature has no sensor-specific offsets
    assert event_state(0x70, 0x08, 0) is None  # OEM event/reading type
    assert state_table(0x0D, 0x01) is None  # reserved generic code
    assert asserted_states(0x75, 0xC0, 0x7FFF) == []


def test_asserted_states_in_offset_order() -> None:
    # A drive present in a critical array, rebuilding: offsets 0, 5 and 7; bit 12 is reserved.
    states = asserted_states(0x6F, 0x0D, 0b1_0000_1010_0001)
    assert [s.key for s in states] == ["drive_present", "in_critical_array", "rebuild_in_progress"]


def test_presence_offsets() -> None:
    psu = state_table(0x6F, 0x08)
    assert psu is not None
    assert (psu.presence_offset, psu.absent_severity) == (0, "critical")
    drive = state_table(0x6F, 0x0D)
    assert drive is not None
    assert (drive.presence_offset, drive.absent_severity) == (0, "info")
    generic = state_table(0x08, 0x25)
    assert generic is not None
    assert generic.presence_offset == 1
    assert state_table(0x6F, 0x09) is not None
    assert state_table(0x6F, 0x09).presence_offset is None  # type: ignore[union-attr]


def test_sensor_type_names() -> None:
    assert (sensor_type(0x08).key, sensor_type(0x08).name) == ("power_supply", "Power supply")
    assert sensor_type(0x2A).key == "session_audit"
    assert sensor_type(0x04).table is None
    assert sensor_type(0x0D).table is state_table(0x6F, 0x0D)
    oem = sensor_type(0xC1)
    assert (oem.key, oem.name, oem.table) == ("oem_c1", "OEM sensor type 0xC1", None)
    assert sensor_type(0x50).key == "unknown_50"


def test_every_key_is_stable_snake_case_and_unique_within_its_table() -> None:
    tables = [*GENERIC_TABLES.values(), *(t.table for t in SENSOR_TYPES.values() if t.table is not None)]
    assert len({t.key for t in tables}) == len(tables)
    for table in tables:
        keys = [state.key for state in table]
        assert len(set(keys)) == len(keys), table.key
        assert not {"ok", "absent"} & set(keys), table.key
        for state in table:
            assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", state.key), state.key
            assert 0 <= state.offset <= 14
            assert state.name
            assert state.severity in Severity
    assert len({t.key for t in SENSOR_TYPES.values()}) == len(SENSOR_TYPES)
    assert Severity.CRITICAL.rank > Severity.WARNING.rank > Severity.INFO.rank > Severity.OK.rank


def test_parse_event_data() -> None:
    # Threshold event: trigger reading in data 2, trigger threshold in data 3, offset 9 (upper critical going high).
    event = parse_event_data(bytes([0x59, 0x5A, 0x50]))
    assert (event.offset, event.data2_use, event.data3_use) == (9, EventDataUse.TRIGGER, EventDataUse.TRIGGER)
    assert (event.data2, event.data3) == (0x5A, 0x50)
    # Unspecified bytes read as None even though the BMC sends 0xFF.
    event = parse_event_data(bytes([0x01, 0xFF, 0xFF]))
    assert (event.offset, event.data2, event.data3) == (1, None, None)
    # A short event carries only event data 1.
    event = parse_event_data(bytes([0xA1]))
    assert (event.data2_use, event.data3_use, event.data2) == (EventDataUse.OEM, EventDataUse.OEM, None)
    with pytest.raises(ValueError, match="event data 1"):
        parse_event_data(b"")


def test_memory_module_from_event_data_3() -> None:
    # Uncorrectable ECC on DIMM 5: data 3 sensor-specific.
    event = parse_event_data(bytes([0x31, 0xFF, 0x05]))
    assert memory_module(0x0C, event) == 5
    assert event_details(0x0C, 0x6F, event) == {"memory_module": 5}
    # Correctable memory error logging disabled names the DIMM in data 2.
    assert memory_module(0x10, parse_event_data(bytes([0xC0, 0x03, 0xFF]))) == 3
    # Data 3 given as OEM is not a DIMM number.
    assert memory_module(0x0C, parse_event_data(bytes([0x21, 0xFF, 0x05]))) is None
    assert memory_module(0x08, event) is None


@pytest.mark.parametrize(
    ("data3", "expected"),
    [
        (0x00, "vendor_mismatch"),
        (0x01, "revision_mismatch"),
        (0x03, "rating_mismatch"),
        (0xF4, "voltage_rating_mismatch"),
        (0x09, "reserved_9"),
    ],
)
def test_psu_config_error(data3: int, expected: str) -> None:
    event = parse_event_data(bytes([0x36, 0xFF, data3]))
    assert psu_config_error(0x08, event) == expected
    assert event_details(0x08, 0x6F, event) == {"config_error": expected}


def test_psu_config_error_only_for_offset_6_with_sensor_specific_data() -> None:
    assert psu_config_error(0x08, parse_event_data(bytes([0x31, 0xFF, 0x01]))) is None
    assert psu_config_error(0x08, parse_event_data(bytes([0x06, 0xFF, 0x01]))) is None
    assert psu_config_error(0x09, parse_event_data(bytes([0x36, 0xFF, 0x01]))) is None
    assert psu_config_error(0x08, parse_event_data(bytes([0x36, 0xFF]))) is None


@pytest.mark.parametrize(
    ("sensor_type_code", "data", "expected"),
    [
        (0x0F, [0xC0, 0x01, 0xFF], {"post_error": "no_system_memory"}),
        (0x0F, [0xC0, 0x7E, 0xFF], {"post_error": "reserved_126"}),
        (0x0F, [0xC2, 0x13, 0xFF], {"progress": "starting_os_boot"}),
        (0x0F, [0xC1, 0x01, 0xFF], {"progress": "memory_initialization"}),
        (0x23, [0xC1, 0x24, 0xFF], {"interrupt": "nmi", "timer_use": "sms_os"}),
        (0x23, [0xC1, 0x76, 0xFF], {"interrupt": "reserved_7", "timer_use": "reserved_6"}),
        (0x2A, [0xF1, 0x03, 0x21], {"user_id": 3, "channel": 1, "deactivation_cause": "timeout"}),
        (0x2A, [0xC0, 0x02, 0xFF], {"user_id": 2}),
        (0x05, [0xC4, 0x02, 0xFF], {"network_controller": 2}),
        (0x28, [0xC4, 0x31, 0xFF], {"sensor_number": 0x31}),
        (0x10, [0x35, 0xFF, 0x5A], {"sel_percent_full": 90}),
        (0x07, [0xC0, 0x01, 0x02], {}),
    ],
)
def test_event_details(sensor_type_code: int, data: list[int], expected: dict[str, object]) -> None:
    assert event_details(sensor_type_code, 0x6F, parse_event_data(bytes(data))) == expected


def test_event_details_only_for_sensor_specific_events() -> None:
    # A generic (0x07 severity) event on a memory sensor type has no DIMM number.
    assert event_details(0x0C, 0x07, parse_event_data(bytes([0x31, 0xFF, 0x05]))) == {}
