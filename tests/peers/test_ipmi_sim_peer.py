"""The ipmi_sim peer works with three independent IPMI clients: ipmitool, FreeIPMI, pyghmi."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from pyghmi.exceptions import IpmiException
from pyghmi.ipmi import command as pyghmi_command
from pyghmi.ipmi.sdr import SensorReading

from .fixtures import freeipmi_readings, freeipmi_table, ipmitool_readings, ipmitool_table
from .ipmi_sim import (
    SUPERMICRO_X11,
    UNITS,
    DiscreteSensor,
    IpmiSimError,
    IpmiSimPeer,
    compact_sensor_record,
    full_sensor_record,
    ping_bmc,
    sdr_records,
)

pytestmark = pytest.mark.peer

BOARD = SUPERMICRO_X11
ANALOG = BOARD.analog


def _close(expected: float, actual: float | None, digits: int) -> bool:
    """Equal within the client's printed rounding (``digits`` decimals)."""
    return actual is not None and abs(actual - expected) <= 0.5 * 10**-digits + 1e-9


@pytest.fixture
def pyghmi_cmd(
    ipmi_sim_peer: IpmiSimPeer, socket_enabled: None, pyghmi_io_thread: None
) -> Iterator[pyghmi_command.Command]:
    """A logged-in pyghmi session to the peer (bytes credentials, see docs/ipmi-notes.md §3 (a))."""
    cmd = pyghmi_command.Command(
        bmc=ipmi_sim_peer.host,
        port=ipmi_sim_peer.port,
        userid=ipmi_sim_peer.username.encode(),
        password=ipmi_sim_peer.password.encode(),
    )
    try:
        yield cmd
    finally:
        cmd.ipmi_session.logout()


def _pyghmi_readings(cmd: pyghmi_command.Command) -> dict[str, SensorReading]:
    return {reading.name: reading for reading in cmd.get_sensor_data()}


# ---------------------------------------------------------------------------
# Description and SDR encoding (no process)
# ---------------------------------------------------------------------------


def test_conversions_of_the_description() -> None:
    assert BOARD.analog_sensor("FAN1").value(0x12) == 1800.0
    assert BOARD.analog_sensor("FAN1").threshold_values() == {
        "lnr": 300.0,
        "lcr": 500.0,
        "lnc": 700.0,
        "unc": 25300.0,
        "ucr": 25400.0,
        "unr": 25500.0,
    }
    assert BOARD.analog_sensor("12V").value(171) == pytest.approx(11.97)
    assert BOARD.analog_sensor("Vcpu").value(150) == pytest.approx(1.1)
    assert BOARD.analog_sensor("System Temp").value(0xFB) == -5.0
    for sensor in ANALOG:
        for raw in (0, 1, 0x7F, 0x80, 0xFF):
            assert sensor.raw(sensor.value(raw)) == raw
    assert BOARD.sensor(0xC9).name == "PS Status"
    assert isinstance(BOARD.sensor(0xC9), DiscreteSensor)


def test_sdr_encoding() -> None:
    records = sdr_records(BOARD)
    assert len(records) == len(ANALOG) + len(BOARD.discrete)
    fan1 = full_sensor_record(BOARD.analog_sensor("FAN1"), 5)
    assert fan1[:4] == bytes([5, 0, 0x51, 0x01])
    assert fan1[4] == len(fan1) - 5
    assert fan1[5:8] == bytes([0x20, 0x00, 0x41])
    assert fan1[21] == 18  # RPM
    assert fan1[24] == 100  # M
    assert fan1[36:42] == bytes([255, 254, 253, 3, 5, 7])  # UNR UCR UNC LNR LCR LNC
    assert fan1[48:] == b"FAN1"
    ps = BOARD.sensor("PS Status")
    assert isinstance(ps, DiscreteSensor)
    compact = compact_sensor_record(ps, 16)
    assert compact[3] == 0x02
    assert compact[23] & 0x0F == 2  # share count
    assert compact[24] == 0x81  # instance increments, modifier offset 1
    assert compact[12:14] == bytes([0x08, 0x6F])


# ---------------------------------------------------------------------------
# Start and stop
# ---------------------------------------------------------------------------


def test_start_stop_leaves_nothing_behind() -> None:
    peer = IpmiSimPeer()
    peer.start()
    root, pid = peer.root, peer.pid
    assert root is not None
    assert pid is not None
    assert ping_bmc(peer.host, peer.port)
    assert f"addr 127.0.0.1 {peer.port}" in (root / "lan.conf").read_text()
    peer.stop()
    assert not peer.running
    assert not root.exists()
    assert not ping_bmc(peer.host, peer.port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_rejected_emu_command_fails_start() -> None:
    peer = IpmiSimPeer(extra_emu=("no_such_command 1 2",))
    with pytest.raises(IpmiSimError, match="no_such_command"):
        peer.start()
    assert not peer.running
    assert peer.root is None


# ---------------------------------------------------------------------------
# Three clients read the same values
# ---------------------------------------------------------------------------


def test_ipmitool_reads_description(ipmi_sim_peer: IpmiSimPeer) -> None:
    table = ipmitool_table(ipmi_sim_peer)
    assert set(table) == {s.name for s in BOARD.sensors}  # one "PS Status": no share expansion
    for sensor in ANALOG:
        row = table[sensor.name]
        if sensor.present:
            assert _close(sensor.initial_value, row.value, 3), sensor.name
            assert row.unit == sensor.unit_info.ipmitool
            assert row.status == "ok", sensor.name
        else:
            assert row.value is None
            assert row.status == "na"
        assert row.thresholds.keys() == sensor.thresholds.keys(), sensor.name
        for key, value in sensor.threshold_values().items():
            assert row.thresholds[key] == pytest.approx(value, abs=0.0005), (sensor.name, key)
    assert table["PS Status"].states == 0x0001
    assert table["Chassis Intru"].states == 0x0000
    readings = ipmitool_readings(ipmi_sim_peer)
    assert readings["FAN1"] == (1800.0, "RPM")
    assert readings["FAN4"] == (None, "na")
    # The elist view too.
    elist = ipmi_sim_peer.ipmitool("sdr", "elist", "full")
    assert "FAN1             | 41h | ok  | 29.1 | 1800 RPM" in elist
    assert "FAN4             | 44h | ns  | 29.4 | Disabled" in elist


def test_freeipmi_reads_description(ipmi_sim_peer: IpmiSimPeer) -> None:
    table = freeipmi_table(ipmi_sim_peer)
    ps = BOARD.sensor("PS Status")
    assert isinstance(ps, DiscreteSensor)
    assert {ps.instance_name(0xC8), ps.instance_name(0xC9), "Chassis Intru"} <= set(table)
    assert ps.instance_name(0xC9) == "PS Status 2"
    for sensor in ANALOG:
        row = table[sensor.name]
        if sensor.present:
            assert _close(sensor.initial_value, row.value, 2), sensor.name
            assert row.unit == sensor.unit_info.freeipmi
        else:
            assert row.value is None
        assert row.thresholds.keys() == sensor.thresholds.keys(), sensor.name
    assert table["PS Status 2"].event == "'Presence detected'"
    assert table["Chassis Intru"].event == "'OK'"


def test_pyghmi_reads_description(ipmi_sim_peer: IpmiSimPeer, pyghmi_cmd: pyghmi_command.Command) -> None:
    readings = _pyghmi_readings(pyghmi_cmd)
    for sensor in ANALOG:
        reading = readings[sensor.name]
        assert reading.units == sensor.unit_info.pyghmi
        if sensor.present:
            assert reading.value == pytest.approx(sensor.initial_value, abs=1e-9), sensor.name
            assert not reading.unavailable
        else:
            assert reading.unavailable
            assert reading.value is None
    assert readings["PS Status"].states == ["Present"]
    rsp = pyghmi_cmd.raw_command(netfn=4, command=0x2D, data=(0x41,))
    assert rsp["code"] == 0
    assert rsp["data"][0] == 0x12
    assert pyghmi_cmd.get_power() == {"powerstate": "on"}
    device = pyghmi_cmd.raw_command(netfn=6, command=0x01)["data"]
    assert int.from_bytes(device[6:9], "little") == BOARD.manufacturer_id


# ---------------------------------------------------------------------------
# Run-time changes
# ---------------------------------------------------------------------------


def test_set_sensor_raw_reaches_every_client(ipmi_sim_peer: IpmiSimPeer, pyghmi_cmd: pyghmi_command.Command) -> None:
    peer = ipmi_sim_peer
    fan1 = BOARD.analog_sensor("FAN1")
    peer.set_sensor_raw(fan1.number, 0x04)  # 400 rpm: below LCR (500)
    peer.set_sensor_value("12V", 12.6)
    assert peer.expected_value("FAN1") == 400.0

    row = ipmitool_table(peer)["FAN1"]
    assert (row.value, row.status) == (400.0, "cr")
    value, unit = ipmitool_readings(peer)["12V"]
    assert (value, unit) == (12.6, "Volts")  # raw 180 * 0.07 V
    assert freeipmi_readings(peer)["FAN1"] == (400.0, "RPM")
    assert "Lower Critical" in freeipmi_table(peer)["FAN1"].event
    assert pyghmi_cmd.raw_command(netfn=4, command=0x2D, data=(fan1.number,))["data"][0] == 0x04
    fan = pyghmi_cmd.get_sensor_reading("FAN1")
    assert fan.value == 400.0
    assert fan.health != 0  # pyghmi flags the critical state
    # The crossing was logged like a real BMC does.
    assert "Lower Critical going low" in peer.ipmitool("sel", "elist")
    # A SEL entry added directly: fan 0x44, upper critical going high (offset 9).
    peer.add_sel_entry(0x02, bytes([0, 0, 0, 0, 0x20, 0x00, 0x04, 0x04, 0x44, 0x01, 0x59, 0xFF, 0xFF]))
    assert "Fan FAN4 | Upper Critical going high" in peer.ipmitool("sel", "elist")

    peer.set_discrete_state(0xC9, 0b1001)  # PS2: present + AC lost
    peer.set_discrete_state(0xAA, 0b1)  # chassis opened
    assert "input lost (AC/DC)" in freeipmi_table(peer)["PS Status 2"].event
    assert ipmitool_table(peer)["Chassis Intru"].states == 1


def test_sensor_unavailable_and_power_off(ipmi_sim_peer: IpmiSimPeer, pyghmi_cmd: pyghmi_command.Command) -> None:
    peer = ipmi_sim_peer
    peer.set_sensor_available(0x43, False)  # FAN3 -> no reading
    assert ipmitool_readings(peer)["FAN3"] == (None, "na")
    assert peer.expected_value("FAN3") is None

    peer.set_power(False)
    assert "Chassis Power is off" in peer.ipmitool("chassis", "power", "status")
    readings = ipmitool_readings(peer)
    for sensor in ANALOG:
        if sensor.power_dependent:
            assert readings[sensor.name] == (None, "na"), sensor.name
            assert peer.expected_value(sensor.name) is None
        else:
            assert readings[sensor.name][0] is not None, sensor.name
    assert pyghmi_cmd.get_sensor_reading("CPU Temp").unavailable
    assert not pyghmi_cmd.get_sensor_reading("System Temp").unavailable
    assert pyghmi_cmd.get_power() == {"powerstate": "off"}

    # A client powering on through IPMI (Chassis Control) brings the readings back.
    peer.ipmitool("chassis", "power", "on")
    deadline = time.monotonic() + 3
    while ipmitool_readings(peer)["CPU Temp"][0] is None:
        assert time.monotonic() < deadline, "CPU Temp did not come back after power on"
        time.sleep(0.05)
    assert peer.power_on
    assert ipmitool_readings(peer)["CPU Temp"] == (40.0, "degrees C")
    assert ipmitool_readings(peer)["FAN3"] == (None, "na")  # still marked absent
    peer.set_sensor_available(0x43, True)
    assert ipmitool_readings(peer)["FAN3"] == (1700.0, "RPM")


def test_kill_silences_and_restart_keeps_port_and_values(
    ipmi_sim_peer: IpmiSimPeer, socket_enabled: None, pyghmi_io_thread: None
) -> None:
    peer = ipmi_sim_peer
    port = peer.port
    peer.set_sensor_raw(0x42, 0x20)  # FAN2 3200 rpm
    peer.kill()
    assert not peer.running
    assert not ping_bmc(peer.host, port)
    with pytest.raises(subprocess.CalledProcessError) as err:
        peer.ipmitool("mc", "info", lan_retries=1)
    assert "Unable to establish" in err.value.stderr
    peer.set_sensor_raw(0x01, 45)  # changed while the BMC is down: applies at restart

    peer.restart()
    assert peer.port == port
    assert ping_bmc(peer.host, port)
    readings = ipmitool_readings(peer)
    assert readings["FAN2"] == (3200.0, "RPM")
    assert readings["CPU Temp"] == (45.0, "degrees C")
    assert freeipmi_readings(peer)["FAN2"] == (3200.0, "RPM")
    cmd = pyghmi_command.Command(
        bmc=peer.host, port=port, userid=peer.username.encode(), password=peer.password.encode()
    )
    try:
        assert cmd.get_sensor_reading("FAN2").value == 3200.0
    finally:
        cmd.ipmi_session.logout()


def test_set_password(ipmi_sim_peer: IpmiSimPeer, socket_enabled: None, pyghmi_io_thread: None) -> None:
    peer = ipmi_sim_peer
    old = peer.password
    peer.set_password("Changed-Pass-2")
    assert peer.password == "Changed-Pass-2"
    with pytest.raises(subprocess.CalledProcessError):
        peer.ipmitool("mc", "info", password=old, lan_retries=1)
    with pytest.raises(IpmiException, match="Incorrect password"):
        pyghmi_command.Command(bmc=peer.host, port=peer.port, userid=peer.username.encode(), password=old.encode())
    peer.restart()  # users persist in the BMC's state directory
    assert "Device ID" in peer.ipmitool("mc", "info")


def test_readonly_user_and_oem_command(ipmi_sim_peer: IpmiSimPeer) -> None:
    peer = ipmi_sim_peer
    user, password = peer.readonly_username, peer.readonly_password
    assert "1800" in peer.ipmitool("-L", "USER", "sensor", "reading", "FAN1", username=user, password=password)
    with pytest.raises(subprocess.CalledProcessError) as err:  # chassis power off needs operator
        peer.ipmitool("-L", "USER", "raw", "0x00", "0x02", "0x00", username=user, password=password)
    assert "rsp=0xd4" in err.value.stderr
    with pytest.raises(subprocess.CalledProcessError) as err:
        peer.ipmitool("raw", "0x30", "0x45", "0x00")  # Supermicro fan mode: not in stock ipmi_sim
    assert "rsp=0xc1" in err.value.stderr
    assert peer.power_on


def test_units_table_matches_clients() -> None:
    assert {s.unit for s in ANALOG} <= set(UNITS)
