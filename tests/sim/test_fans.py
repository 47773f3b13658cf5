"""Vendor fan commands and the thermal model, observed through pyghmi raw commands and sensor readings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmcsim import Simulator

from .conftest import ipmitool

pytestmark = pytest.mark.peer

Factory = Callable[..., Simulator]


def raw(cmd: Any, netfn: int, command: int, *data: int) -> tuple[int, bytes]:
    rsp = cmd.raw_command(netfn, command, data=list(data))
    return rsp["code"], bytes(rsp["data"])


def rpm(sim: Simulator, fan: str) -> float:
    return float(sim.control.sensor(fan)["value"])


# -- Supermicro ------------------------------------------------------------------------------------------


def test_supermicro_mode_and_zone_duty(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    assert raw(cmd, 0x30, 0x45, 0x00) == (0, b"\x02")  # Optimal
    # in Optimal the BMC overwrites a manual zone duty after a few seconds
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x18) == (0, b"")
    sim.control.tick(2)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00) == (0, b"\x18")
    sim.control.tick(10)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00)[1][0] >= 30
    # Full mode first, then the duty sticks: 24 % of 7000 rpm = 1680 -> 1700 in 100 rpm steps
    assert raw(cmd, 0x30, 0x45, 0x01, 0x01) == (0, b"")
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x18) == (0, b"")
    sim.control.tick(30)
    assert raw(cmd, 0x30, 0x45, 0x00) == (0, b"\x01")
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00) == (0, b"\x18")
    assert rpm(sim, "FAN1") == 1700
    assert rpm(sim, "FANA") == 7000  # zone 1 stays at Full's 100 %
    # the request log holds the exact bytes on the wire
    duty = sim.control.request_log(netfn=0x30, cmd=0x70)
    assert [r.data for r in duty if r.data[1] == 0x01] == [bytes([0x66, 0x01, 0x00, 0x18])] * 2
    assert all(r.cc == 0 for r in duty)


def test_supermicro_bad_requests(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    x11 = pyghmi_cmd(bmc_sim_factory("supermicro-x11"))
    # the literal seven-byte form of the mission rule: zone 0, duty 0, stray byte -> length error
    assert raw(x11, 0x30, 0x70, 0x66, 0x01, 0x00, 0x00, 0x18)[0] == 0xC7
    assert raw(x11, 0x30, 0x70, 0x66, 0x01, 0x02, 0x32)[0] == 0xCC  # zone 2 on a 2-zone board
    assert raw(x11, 0x30, 0x70, 0x66, 0x01, 0x00, 0x65)[0] == 0xCC  # duty above 100
    assert raw(x11, 0x30, 0x45, 0x01, 0x07)[0] == 0xCC  # unknown mode
    assert raw(x11, 0x30, 0x91, 0x5A, 0x03, 0x10, 0x80)[0] == 0xC1  # X9 command


def test_four_zone_board_obeys_the_seven_byte_form_and_pulses(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-4zone")
    cmd = pyghmi_cmd(sim)
    assert raw(cmd, 0x30, 0x45, 0x01, 0x01) == (0, b"")
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x03, 0x32) == (0, b"")  # zone 3 exists here
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x00, 0x18) == (0, b"")  # read as 0 %
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00) == (0, b"\x00")
    sim.control.tick(4)
    fans = sim.control.state()["fans"]
    assert fans["panic"] is True  # FAN1-4 dropped below 500 rpm
    assert fans["zone_duty"] == [100, 100, 100, 100]  # every zone at 100 %, zone 3 included


def test_supermicro_low_fan_pulsing_and_threshold_fix(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    raw(cmd, 0x30, 0x45, 0x01, 0x01)
    raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x05)  # 5 % = 350 rpm, below LCR 500
    series = []
    for _ in range(80):  # 40 simulated seconds
        sim.control.tick(0.5)
        series.append(rpm(sim, "FAN1"))
    lows = [i for i in range(1, len(series)) if series[i] <= 500 < series[i - 1]]
    highs = [i for i in range(1, len(series)) if series[i] >= 6000 > series[i - 1]]
    assert len(lows) >= 3
    assert len(highs) >= 3  # the fans pulse between ~500 and ~6700 rpm every few seconds
    # each dip below LCR was logged as a threshold assertion (lower critical going low, offset 02h)
    sel = sim.control.sel()
    assert any(e["sensor_number"] == 0x41 and e["offset"] == 0x02 and not e["deassert"] for e in sel)
    # owners' fix: lower the fan thresholds with Set Sensor Thresholds (LNR 100, LCR 200, LNC 300 rpm)
    for number in (0x41, 0x42, 0x43, 0x44):
        assert raw(cmd, 0x04, 0x26, number, 0x07, 3, 2, 1, 0, 0, 0) == (0, b"")
    sim.control.tick(10)
    steady = []
    for _ in range(40):
        sim.control.tick(0.5)
        steady.append(rpm(sim, "FAN1"))
    assert max(steady) == min(steady) == 400  # 350 rpm reads 400 (100 rpm steps), no more pulsing
    assert sim.control.state()["fans"]["panic"] is False


def test_supermicro_failed_fan_forces_full_speed(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_fan_failed("FAN3")
    sim.control.tick(10)
    assert rpm(sim, "FAN3") == 0
    assert rpm(sim, "FAN1") == 7000
    assert sim.control.state()["fans"]["panic"] is True
    reading = pyghmi_cmd(sim).get_sensor_reading("FAN3")
    assert reading.value == 0
    assert "lower non-recoverable threshold" in reading.states


def test_supermicro_revert_to_full_after_a_while(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_policy(revert_after=1800.0)
    cmd = pyghmi_cmd(sim)
    raw(cmd, 0x30, 0x45, 0x01, 0x01)
    raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x20)
    sim.control.tick(1700)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00) == (0, b"\x20")
    raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x20)  # re-writing the duty does not reset the timer
    sim.control.tick(120)
    assert raw(cmd, 0x30, 0x45, 0x00) == (0, b"\x01")
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00) == (0, b"\x64")  # back to 100 %


def test_supermicro_x9_duty_command(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x9")
    cmd = pyghmi_cmd(sim)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x00, 0x00)[0] == 0xCC
    assert raw(cmd, 0x30, 0x45, 0x01, 0x01) == (0, b"")
    assert raw(cmd, 0x30, 0x91, 0x5A, 0x03, 0x10, 0x80) == (0, b"")  # zone 0 at 128/255
    sim.control.tick(30)
    assert rpm(sim, "FAN1") == pytest.approx(6000 * 128 / 255, abs=75)
    assert raw(cmd, 0x30, 0x91, 0x5A, 0x03, 0x12, 0x80)[0] == 0xCC  # no zone 2


def test_supermicro_x14_bypass(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x14")
    cmd = pyghmi_cmd(sim)
    raw(cmd, 0x30, 0x45, 0x01, 0x01)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x30)[0] == 0xCC  # no duty control without bypass
    assert raw(cmd, 0x30, 0x70, 0x66, 0x02, 0x01) == (0, b"")
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x30) == (0, b"")
    sim.control.tick(20)
    assert rpm(sim, "FAN1") == pytest.approx(7000 * 0.48, abs=100)
    sim.control.set_fault(lockdown=True)
    assert raw(cmd, 0x30, 0x70, 0x66, 0x02, 0x01)[0] == 0xD4
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x30)[0] == 0xD4


def test_ipmitool_raw_fan_commands(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    assert ipmitool(sim, "raw", "0x30", "0x45", "0x00").stdout.strip() == "02"
    ipmitool(sim, "raw", "0x30", "0x45", "0x01", "0x01")
    ipmitool(sim, "raw", "0x30", "0x70", "0x66", "0x01", "0x01", "0x32")
    assert ipmitool(sim, "raw", "0x30", "0x70", "0x66", "0x00", "0x01").stdout.strip() == "32"
    bad = ipmitool(sim, "raw", "0x30", "0x70", "0x66", "0x01", "0x00", "0x00", "0x18", check=False)
    assert "rsp=0xc7" in bad.stderr


# -- Dell --------------------------------------------------------------------------------------------------


def test_dell_manual_and_automatic(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    cmd = pyghmi_cmd(sim)
    auto = rpm(sim, "Fan1")
    assert raw(cmd, 0x30, 0x30, 0x02, 0xFF, 0x14) == (0, b"")  # ignored while automatic
    sim.control.tick(20)
    assert rpm(sim, "Fan1") == auto
    assert raw(cmd, 0x30, 0x30, 0x01, 0x00) == (0, b"")  # manual
    sim.control.tick(20)
    assert rpm(sim, "Fan1") == pytest.approx(14000 * 0.20, abs=120)
    assert raw(cmd, 0x30, 0x30, 0x02, 0x02, 0x32) == (0, b"")  # Fan3 alone at 50 %
    sim.control.tick(20)
    assert rpm(sim, "Fan3") == pytest.approx(7000, abs=120)
    assert rpm(sim, "Fan1") == pytest.approx(2800, abs=120)
    assert raw(cmd, 0x30, 0x30, 0x02, 0x09, 0x32)[0] == 0xCC  # no Fan10
    assert raw(cmd, 0x30, 0x30, 0x01, 0x01) == (0, b"")  # automatic again
    sim.control.tick(20)
    assert sim.control.state()["fans"]["manual"] is False
    assert rpm(sim, "Fan1") >= auto  # at least the automatic speed (the CPUs warmed up meanwhile)


def test_dell_pcie_cooling_response(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    cmd = pyghmi_cmd(sim)
    read = (0x30, 0xCE, 0x01, 0x16, 0x05, 0x00, 0x00, 0x00)
    code, data = raw(cmd, *read)
    assert code == 0
    assert data[7] == 0x00  # enabled
    before = rpm(sim, "Fan1")
    disable = (0x30, 0xCE, 0x00, 0x16, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00)
    assert raw(cmd, *disable) == (0, b"")
    assert raw(cmd, *read)[1][7] == 0x01
    sim.control.tick(20)
    assert rpm(sim, "Fan1") < before  # the third-party card cooling boost is gone


def test_dell_idrac9_locked(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    cmd = pyghmi_cmd(bmc_sim_factory("dell-idrac9-locked"))
    assert raw(cmd, 0x30, 0x30, 0x01, 0x00)[0] == 0xD4
    assert raw(cmd, 0x30, 0x30, 0x02, 0xFF, 0x14)[0] == 0xD4
    assert raw(cmd, 0x30, 0xCE, 0x01, 0x16, 0x05, 0x00, 0x00, 0x00)[0] == 0xC1


@pytest.mark.parametrize("profile", ["hpe-ilo4", "generic"])
def test_no_fan_control(bmc_sim_factory: Factory, pyghmi_cmd: Any, profile: str) -> None:
    cmd = pyghmi_cmd(bmc_sim_factory(profile))
    assert raw(cmd, 0x30, 0x45, 0x00)[0] == 0xC1
    assert raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x18)[0] == 0xC1
    assert raw(cmd, 0x30, 0x30, 0x01, 0x00)[0] == 0xC1


# -- thermal model ----------------------------------------------------------------------------------------


def test_temperatures_follow_load_and_cooling(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    quiet = bmc_sim_factory("supermicro-x11")
    loud = bmc_sim_factory("supermicro-x11")
    for sim, duty in ((quiet, 0x1E), (loud, 0x64)):
        cmd = pyghmi_cmd(sim)
        raw(cmd, 0x30, 0x45, 0x01, 0x01)
        raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, duty)
        sim.control.set_load(100)
    idle_temp = quiet.control.sensor("CPU Temp")["value"]
    quiet.control.tick(120)
    loud.control.tick(120)
    hot, cool = quiet.control.sensor("CPU Temp")["value"], loud.control.sensor("CPU Temp")["value"]
    assert hot > cool > idle_temp
    assert hot - cool >= 10
    # deterministic: the same inputs give the same readings
    again = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(again)
    raw(cmd, 0x30, 0x45, 0x01, 0x01)
    raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x1E)
    again.control.set_load(100)
    again.control.tick(120)
    assert again.control.sensor("CPU Temp")["value"] == hot
    # automatic control answers heat with more airflow
    auto = bmc_sim_factory("supermicro-x11")
    before = rpm(auto, "FAN1")
    auto.control.set_load(100)
    auto.control.tick(120)
    assert rpm(auto, "FAN1") > before
    assert auto.control.state()["power_watts"] > quiet.control.state()["power_watts"] - 20


def test_full_sel_pins_fans_at_full_speed(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    raw(cmd, 0x30, 0x45, 0x01, 0x01)
    raw(cmd, 0x30, 0x70, 0x66, 0x01, 0x00, 0x20)
    assert sim.control.fill_sel() == sim.profile.sel_capacity
    info = raw(cmd, 0x0A, 0x40)[1]
    assert info[3:5] == b"\x00\x00"  # no free space
    sim.control.tick(10)
    assert rpm(sim, "FAN1") == 7000
    rsv = raw(cmd, 0x0A, 0x42)[1]
    assert raw(cmd, 0x0A, 0x47, rsv[0], rsv[1], *b"CLR", 0xAA) == (0, b"\x01")
    sim.control.tick(10)
    assert rpm(sim, "FAN1") == pytest.approx(7000 * 0.32, abs=100)
