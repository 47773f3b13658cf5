"""How discrete SDR sensors read: one meaning (binary, with a device class) or named states (enum)."""

from __future__ import annotations

import pytest

from custom_components.zephyr_ipmi.ipmi.discrete import DiscreteView, discrete_view
from custom_components.zephyr_ipmi.ipmi.models import Conversion, SdrSensor, SensorKind


def _sensor(sensor_type: int, reading_type: int = 0x6F, state_mask: int = 0) -> SdrSensor:
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


def _view(sensor_type: int, reading_type: int = 0x6F, state_mask: int = 0) -> DiscreteView:
    view = discrete_view(_sensor(sensor_type, reading_type, state_mask))
    assert view is not None
    return view


@pytest.mark.parametrize(
    ("sensor_type", "reading_type", "state_mask", "device_class"),
    [
        (0x05, 0x6F, 0x0001, "tamper"),  # chassis intrusion
        (0x06, 0x6F, 0x0000, "safety"),  # platform security violation attempt
        (0x08, 0x6F, 0x000F, "problem"),  # power supply
        (0x0C, 0x6F, 0x0000, "problem"),  # memory, whatever it declares
        (0x29, 0x6F, 0x0007, "problem"),  # battery
        (0x25, 0x6F, 0x0001, "presence"),  # entity presence, present offset only
        (0x0D, 0x6F, 0x0001, "presence"),  # a drive slot that reports presence only
        (0x1B, 0x6F, 0x0001, "plug"),  # cable connected
        (0x0D, 0x6F, 0x0002, "problem"),  # a drive slot that reports a fault only
        (0x12, 0x6F, 0x0001, None),  # one informational state: plain on/off
        (0x04, 0x08, 0x0003, "presence"),  # fan with generic device present/absent
        (0x04, 0x04, 0x0003, "problem"),  # fan with generic predictive failure
        (0x01, 0x05, 0x0003, "problem"),  # limit exceeded
        (0x01, 0x06, 0x0003, "problem"),  # performance lags
        (0x07, 0x03, 0x0003, None),  # generic state asserted/deasserted
        (0x07, 0x09, 0x0003, None),  # device enabled/disabled
    ],
)
def test_one_meaning_is_a_binary_sensor(
    sensor_type: int, reading_type: int, state_mask: int, device_class: str | None
) -> None:
    view = _view(sensor_type, reading_type, state_mask)
    assert view.binary
    assert view.device_class == device_class


@pytest.mark.parametrize(
    ("sensor_type", "reading_type", "state_mask", "translation_key"),
    [
        (0x0D, 0x6F, 0x01EF, "drive_slot"),
        (0x07, 0x6F, 0x0483, "processor"),
        (0x09, 0x6F, 0x0000, "power_unit"),  # every offset when the SDR declares none
        (0x0F, 0x6F, 0x0007, "system_firmware_progress"),
        (0x23, 0x6F, 0x010F, "watchdog_2"),
        (0x1B, 0x6F, 0x0003, "cable_interconnect"),  # connected or wrongly connected
        (0x08, 0x0B, 0x00FF, "redundancy"),  # power supply redundancy
        (0x04, 0x0B, 0x0003, "redundancy"),  # fan redundancy
        (0x04, 0x0A, 0x0000, "availability"),  # a fan reporting "transition to running"
        (0x01, 0x07, 0x01FF, "severity"),
    ],
)
def test_several_meanings_are_an_enum(
    sensor_type: int, reading_type: int, state_mask: int, translation_key: str
) -> None:
    view = _view(sensor_type, reading_type, state_mask)
    assert not view.binary
    assert view.device_class is None
    assert view.translation_key == translation_key
    assert view.options[0] == "ok"
    assert len(view.options) == len(set(view.options))


@pytest.mark.parametrize(
    ("sensor_type", "reading_type"),
    [
        (0x01, 0x6F),  # temperature has no sensor-specific offsets
        (0xC0, 0x6F),  # OEM sensor type
        (0x08, 0x70),  # OEM event/reading type
        (0x08, 0x7F),
        (0x08, 0x00),  # unspecified
    ],
)
def test_unknown_meanings_are_left_out(sensor_type: int, reading_type: int) -> None:
    assert discrete_view(_sensor(sensor_type, reading_type)) is None


def test_threshold_sensors_are_not_discrete() -> None:
    conversion = Conversion(m=1, b=0, k1=0, k2=0, analog_format=0, linearization=0)
    sensor = _sensor(0x01, 0x01)
    threshold = SdrSensor(**{**{f: getattr(sensor, f) for f in sensor.__slots__}, "conversion": conversion})  # type: ignore[arg-type]
    assert discrete_view(threshold) is None
    # A threshold-type record without a numeric reading has no discrete meaning either.
    assert discrete_view(sensor) is None


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (0b0001, False),  # present, fine
        (0b0011, True),  # failure detected
        (0b0101, True),  # predictive failure
        (0b1001, True),  # input lost
        (0b1000_0001, False),  # inactive (standby spare)
        (0b0100_0001, True),  # configuration error, though not declared in the SDR
        (0b0000, True),  # removed: presence deasserted
    ],
)
def test_power_supply_problem(states: int, expected: bool) -> None:
    view = _view(0x08, state_mask=0x000F)
    assert view.is_on(states) is expected
    assert view.problem(states) is expected


def test_power_supply_without_declared_presence_is_not_a_problem_when_nothing_is_asserted() -> None:
    # Some BMCs declare no masks; they may never assert presence, so absence cannot be told.
    view = _view(0x08, state_mask=0x0000)
    assert view.is_on(0) is False
    assert view.problem(0) is False
    assert view.is_on(0b10) is True


def test_intrusion_and_memory() -> None:
    intrusion = _view(0x05, state_mask=0x0001)
    assert (intrusion.is_on(0), intrusion.is_on(1), intrusion.is_on(0b100_0000)) == (False, True, True)
    memory = _view(0x0C, state_mask=0x0043)
    # An empty DIMM slot is no problem; presence alone neither.
    assert (memory.is_on(0), memory.is_on(0b100_0000), memory.is_on(0b100_0010)) == (False, False, True)
    assert memory.asserted(0b100_0010)[0].key == "uncorrectable_ecc"


def test_generic_digital_states_use_offset_1() -> None:
    presence = _view(0x0A, 0x08, 0x0003)
    assert (presence.is_on(0b01), presence.is_on(0b10)) == (False, True)
    predictive = _view(0x04, 0x04, 0x0003)
    assert (predictive.is_on(0b01), predictive.is_on(0b10)) == (False, True)


def test_single_state_binary() -> None:
    drive = _view(0x0D, state_mask=0x0001)
    assert (drive.is_on(0), drive.is_on(1)) == (False, True)
    cable = _view(0x1B, state_mask=0x0001)
    assert (cable.is_on(0), cable.is_on(1)) == (False, True)


@pytest.mark.parametrize(
    ("states", "expected", "problem"),
    [
        (0b0_0000_0000, "absent", False),  # empty bay
        (0b0_0000_0001, "drive_present", False),
        (0b0_0000_1001, "hot_spare", False),  # an info state beats "present"
        (0b0_1000_0001, "rebuild_in_progress", True),
        (0b0_1010_0001, "in_critical_array", True),  # critical beats warning
        (0b0_0000_0011, "drive_fault", True),
        (0b1_0000_0001, "rebuild_aborted", True),
        (0b1000_0000_0000_0001, "drive_present", False),  # reserved offsets are ignored
    ],
)
def test_drive_slot_states(states: int, expected: str, problem: bool) -> None:
    view = _view(0x0D, state_mask=0x01EF)
    assert view.state(states) == expected
    assert expected in view.options
    assert view.problem(states) is problem


def test_processor_states() -> None:
    view = _view(0x07, state_mask=0x0483)
    assert view.state(0b1000_0000) == "presence_detected"
    assert view.state(0b100_1000_0000) == "throttled"
    assert view.state(0b100_1000_0001) == "ierr"
    # Presence declared, deasserted: an empty socket.
    assert view.state(0) == "absent"
    assert view.problem(0) is False


def test_states_without_presence() -> None:
    watchdog = _view(0x23, state_mask=0x010F)
    assert watchdog.state(0) == "ok"
    assert watchdog.state(0b10) == "hard_reset"
    assert watchdog.state(1 << 8) == "timer_interrupt"
    assert "absent" not in watchdog.options
    redundancy = _view(0x08, 0x0B, 0x00FF)
    assert redundancy.state(0b1) == "fully_redundant"
    assert redundancy.state(0b10) == "redundancy_lost"
    assert redundancy.problem(0b10) is True
    assert redundancy.problem(0b1) is False


def test_presence_not_declared_gives_ok_when_nothing_is_asserted() -> None:
    # A drive slot that declares only fault and rebuild offsets: nothing asserted reads "ok", not "absent".
    view = _view(0x0D, state_mask=0x0082)
    assert view.state(0) == "ok"
    assert "absent" in view.options  # the table can report presence; the option stays listed
