"""Chassis Control/Identify, Set Sensor Thresholds and raw commands through the gate, against bmcsim."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    ChassisAction,
    FanMode,
    IpmiCompletionCodeError,
    IpmiWriteRefusedError,
)

from .control_fixtures import Rig

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

RigFactory = Callable[..., Rig]


def test_chassis_control_byte_per_action(rig: RigFactory) -> None:
    r = rig("generic")
    steps = [
        (ChassisAction.SOFT_SHUTDOWN, 0x05, False),
        (ChassisAction.POWER_ON, 0x01, True),
        (ChassisAction.POWER_CYCLE, 0x02, True),
        (ChassisAction.HARD_RESET, 0x03, True),
        (ChassisAction.POWER_OFF, 0x00, False),
    ]
    for action, byte, power_on in steps:
        since = r.seq()
        r.controller.chassis_control(action, actor="user-1")
        assert r.writes(since) == [(0x00, 0x02, bytes([byte]), 0)]
        assert r.sim.control.state()["power_on"] is power_on
    with pytest.raises(IpmiCompletionCodeError) as err:
        r.controller.chassis_control(ChassisAction.HARD_RESET)  # the BMC refuses a reset while off
    assert err.value.code == 0xD5
    assert [a.result for a in r.audits][-2:] == ["ok", "error"]
    assert r.audits[-1].completion_code == 0xD5


def test_identify(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    r.controller.identify(actor="user-1")
    assert r.writes(since) == [(0x00, 0x04, b"\x0f", 0)]
    assert r.sim.control.state()["identify"] is True
    r.sim.control.tick(16)
    assert r.sim.control.state()["identify"] is False
    r.controller.identify(0)
    assert r.writes(since)[-1] == (0x00, 0x04, b"\x00", 0)
    for seconds in (256, -1):
        with pytest.raises(IpmiWriteRefusedError) as err:
            r.controller.identify(seconds)
        assert err.value.reason == "identify_interval_invalid"
    r.sim.control.set_completion_code(0x00, 0x04, 0xC1)
    with pytest.raises(IpmiCompletionCodeError):
        r.controller.identify(5)
    assert r.controller.capabilities.identify is False
    with pytest.raises(IpmiWriteRefusedError) as refused:
        r.controller.identify(5)
    assert refused.value.reason == "not_supported"


def _sensor(r: Rig, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in r.client.sensors() if s.name == name)


def test_thresholds_rounded_written_and_read_back_on_x11(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    fan1 = _sensor(r, "FAN1")
    assert set(fan1.settable) == {"lnr", "lcr", "lnc", "unc", "ucr", "unr"}
    since = r.seq()
    rounded = r.controller.set_sensor_thresholds(fan1, {"lnr": 140, "lcr": 260, "lnc": 390}, actor="user-1")
    assert rounded == {"lnr": 100.0, "lcr": 300.0, "lnc": 400.0}  # the sensor's step is 100 rpm
    # mask 0x07 = LNC|LCR|LNR; then raw LNC, LCR, LNR, UNC, UCR, UNR (the upper ones unchanged)
    assert r.writes(since) == [(0x04, 0x26, bytes([0x41, 0x07, 4, 3, 1, 253, 254, 255]), 0)]
    assert r.sim.control.sensor("FAN1")["thresholds"] == {
        "lnr": 100.0,
        "lcr": 300.0,
        "lnc": 400.0,
        "unc": 25300.0,
        "ucr": 25400.0,
        "unr": 25500.0,
    }
    assert r.audits[-1].detail == "read back lcr=3,lnc=4,lnr=1,ucr=254,unc=253,unr=255"
    since = r.seq()
    r.controller.set_sensor_thresholds(fan1, {"lcr": 310})
    assert r.writes(since) == []  # already 300 rpm once rounded
    assert r.audits[-1].result == "unchanged"


@pytest.mark.parametrize(
    ("values", "reason", "threshold"),
    [
        ({"lcr": 800}, "threshold_invalid", "lcr"),  # above LNC 700
        ({"lnc": 9000}, "threshold_invalid", "lnc"),  # above the fan's current speed
        ({"unc": 1000}, "threshold_invalid", "unc"),  # below the current speed
        ({"lcr": 99999}, "threshold_invalid", "lcr"),  # beyond the raw range
        ({"lower": 300}, "threshold_invalid", "lower"),
        ({"lnr": 0}, "threshold_invalid", "lnr"),  # a stalled fan (0 rpm) would never be reported
        ({"lnr": 0, "lcr": 0, "lnc": 0}, "threshold_invalid", "lnr"),
    ],
)
def test_thresholds_validated_before_sending(
    rig: RigFactory, values: dict[str, float], reason: str, threshold: str
) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_sensor_thresholds(_sensor(r, "FAN1"), values)
    assert (err.value.reason, err.value.placeholders["threshold"]) == (reason, threshold)
    assert r.writes(since) == []
    assert r.audits[-1].result == "refused"


def test_x13_takes_only_the_lower_critical_fan_threshold(rig: RigFactory) -> None:
    r = rig("supermicro-x13")
    fan1 = _sensor(r, "FAN1")
    assert fan1.settable == ("lcr",)
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_sensor_thresholds(fan1, {"lnc": 600})
    assert err.value.reason == "threshold_not_settable"
    assert r.writes(since) == []
    r.controller.set_sensor_thresholds(fan1, {"lcr": 400})
    assert r.writes(since) == [(0x04, 0x26, bytes([0x41, 0x02, 7, 4, 3, 253, 254, 255]), 0)]
    assert r.sim.control.sensor("FAN1")["thresholds"]["lcr"] == 400.0


def test_thresholds_of_a_sensor_without_thresholds(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    psu = _sensor(r, "PS1 Status")
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_sensor_thresholds(psu, {"lcr": 1})
    assert err.value.reason == "not_supported"


def test_raw_command_reads_and_writes_through_the_gate(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    assert r.controller.raw_command(0x30, 0x45, b"\x00", actor="user-1") == b"\x02"
    assert (r.audits[-1].command, r.audits[-1].data, r.audits[-1].result) == ("raw", b"\x00", "ok")
    since = r.seq()
    assert r.controller.raw_command(0x30, 0x70, b"\x66\x01\x00\x18") == b""  # the mission's rule, 6 bytes
    assert r.fan_writes(since) == [(0x70, b"\x66\x01\x00\x18", 0)]
    assert (r.controller.holding, r.controller.baseline) == (True, FanMode.OPTIMAL)
    r.controller.raw_command(0x30, 0x45, b"\x01\x02")  # back to Optimal by hand: nothing held
    assert r.controller.holding is False


@pytest.mark.parametrize(
    ("netfn", "cmd", "data", "reason"),
    [
        (0x06, 0x47, b"\x02\x02" + b"x" * 16, "raw_command_forbidden"),  # Set User Password
        (0x06, 0x45, b"\x02zephyr", "raw_command_forbidden"),  # Set User Name
        (0x0C, 0x01, b"\x01\x03\xc0\xa8\x00\x02", "raw_command_forbidden"),  # Set LAN Configuration
        (0x08, 0x00, b"", "raw_command_forbidden"),  # firmware transfer netfn
        (0x2C, 0x31, b"\x00\x01", "raw_command_forbidden"),  # HPM.1 Initiate Upgrade Action
        (0x04, 0x26, b"\x41\x02\x00\x00\x00\x00\x00\x00", "raw_command_forbidden"),
        (0x07, 0x01, b"", "raw_command_invalid"),  # a response netfn
        (0x40, 0x01, b"", "raw_command_invalid"),
        (0x30, 0x70, b"\x66\x01\x00\x00\x18", "raw_command_invalid"),  # the seven-byte form
        (0x30, 0x70, b"\x66\x01\x00\x00", "duty_zero"),
        (0x30, 0x70, b"\x66\x01\x00\x0a", "duty_below_floor"),
        (0x30, 0x91, b"\x5a\x03\x10\x10", "duty_below_floor"),
        (0x30, 0x91, b"\x5a\x03\x10", "raw_command_invalid"),
        (0x30, 0x30, b"\x02\xff\x00", "duty_zero"),
        (0x30, 0x30, b"\x02\xff", "raw_command_invalid"),
    ],
)
def test_raw_command_refusals_send_nothing(rig: RigFactory, netfn: int, cmd: int, data: bytes, reason: str) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.raw_command(netfn, cmd, data, actor="user-1")
    assert err.value.reason == reason
    assert r.sim.control.request_log(since=since) == []
    assert r.controller.holding is False
    assert (r.audits[-1].result, r.audits[-1].detail) == ("refused", reason)


def test_raw_command_bytes_out_of_range(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.raw_command(0x06, 0x01, [256])  # type: ignore[arg-type]
    assert err.value.reason == "raw_command_invalid"


def test_raw_dell_commands_track_manual_mode(rig: RigFactory) -> None:
    r = rig("dell-idrac8")
    r.controller.raw_command(0x30, 0x30, b"\x01\x00")
    assert r.controller.holding is True
    r.controller.raw_command(0x30, 0x30, b"\x02\xff\x14")
    r.controller.raw_command(0x30, 0x30, b"\x01\x01")
    assert r.controller.holding is False
