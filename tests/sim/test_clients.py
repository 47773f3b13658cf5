"""pyghmi, ipmitool and FreeIPMI read the same sensors, thresholds, SEL and identity from the simulator."""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmcsim import PROFILES, Simulator

from .conftest import freeipmi, ipmitool, parse_freeipmi_csv, parse_ipmitool_sensor

pytestmark = pytest.mark.peer

Factory = Callable[..., Simulator]

THRESHOLD_NAMES = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")


def threshold_sensors(sim: Simulator) -> list[dict[str, Any]]:
    return [x for x in sim.control.sensors() if x["value"] is not None]


@pytest.mark.parametrize("profile", ["generic", "supermicro-x11", "dell-idrac8", "hpe-ilo4"])
def test_pyghmi_reads_sensors_thresholds_and_sel(bmc_sim_factory: Factory, pyghmi_cmd: Any, profile: str) -> None:
    sim = bmc_sim_factory(profile)
    cmd = pyghmi_cmd(sim)
    expected = sim.control.sensors()  # in SDR order, as pyghmi reads them
    readings = list(cmd.get_sensor_data())
    assert [r.name for r in readings] == [x["name"] for x in expected]
    seen = 0
    for reading, entry in zip(readings, expected, strict=True):
        if entry["value"] is not None:
            assert reading.value == pytest.approx(entry["value"], abs=1e-6)
            seen += 1
    assert seen == len(threshold_sensors(sim))
    # Get Sensor Thresholds (04h/27h) through raw commands: readable mask + 6 raw bytes
    for entry in threshold_sensors(sim):
        rsp = cmd.raw_command(0x04, 0x27, data=[entry["number"]])
        assert rsp["code"] == 0
        mask = rsp["data"][0]
        sensor = sim.machine.by_number[entry["number"]]
        for bit, name in enumerate(THRESHOLD_NAMES):
            assert bool(mask & (1 << bit)) == (name in sensor.record.thresholds)
            if name in sensor.record.thresholds:
                assert rsp["data"][1 + bit] == sensor.record.thresholds[name]
    events = cmd.get_event_log()
    assert len(events) == len(sim.control.sel()) == len(PROFILES[profile].initial_sel)


def test_get_device_id_bytes(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    """Manufacturer id is 3 bytes LSB first (10876 = 7C 2A 00), product id 2 bytes LSB first."""
    sim = bmc_sim_factory("supermicro-x11")
    rsp = pyghmi_cmd(sim).raw_command(0x06, 0x01)
    data = bytes(rsp["data"])
    assert data[6:9] == bytes([0x7C, 0x2A, 0x00])
    assert int.from_bytes(data[9:11], "little") == sim.profile.device.product
    assert data[4] == 0x02  # IPMI 2.0
    log = sim.control.request_log(netfn=0x06, cmd=0x01)
    assert log[-1].data == b""
    assert log[-1].cc == 0
    assert log[-1].response == data


@pytest.mark.parametrize(
    ("profile", "manufacturer"), [("supermicro-x11", 10876), ("dell-idrac8", 674), ("hpe-ilo4", 11)]
)
def test_ipmitool_mc_info(bmc_sim_factory: Factory, profile: str, manufacturer: int) -> None:
    sim = bmc_sim_factory(profile)
    out = ipmitool(sim, "mc", "info").stdout
    assert f"Manufacturer ID           : {manufacturer}" in out
    assert f"Product ID                : {sim.profile.device.product}" in out


@pytest.mark.parametrize("profile", ["supermicro-x11", "dell-idrac8"])
def test_ipmitool_freeipmi_and_pyghmi_agree(
    bmc_sim_factory: Factory, pyghmi_cmd: Any, tmp_path: Path, profile: str
) -> None:
    sim = bmc_sim_factory(profile)
    sim.control.set_load(60)
    sim.control.tick(20)
    expected = {x["name"]: x for x in threshold_sensors(sim)}
    tool = parse_ipmitool_sensor(ipmitool(sim, "sensor").stdout)
    rows = parse_freeipmi_csv(
        freeipmi("ipmi-sensors", sim, tmp_path, "--output-sensor-thresholds", "--comma-separated-output").stdout
    )
    py = {r.name: r for r in pyghmi_cmd(sim).get_sensor_data()}
    names = {
        "lnr": "Lower NR",
        "lcr": "Lower C",
        "lnc": "Lower NC",
        "unc": "Upper NC",
        "ucr": "Upper C",
        "unr": "Upper NR",
    }
    for name, entry in expected.items():
        if name == "Temp":  # Dell has two sensors called "Temp"; checked by number below
            continue
        assert float(tool[name]["value"]) == pytest.approx(entry["value"], abs=1e-3)
        assert tool[name]["thresholds"] == pytest.approx(entry["thresholds"], abs=1e-3)
        row = next(r for r in rows if r["Name"] == name)
        assert float(row["Reading"]) == pytest.approx(entry["value"], abs=0.01)
        for key, column in names.items():
            if key in entry["thresholds"]:
                assert float(row[column]) == pytest.approx(entry["thresholds"][key], abs=0.01)
            else:
                assert row[column] == "N/A"
        assert py[name].value == pytest.approx(entry["value"], abs=1e-6)


def test_sel_read_by_all_clients(bmc_sim_factory: Factory, pyghmi_cmd: Any, tmp_path: Path) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_intrusion(True)
    sim.control.set_psu_failed(0)
    sim.control.add_sel_event("ecc_uncorrectable", dimm=2)
    sel = sim.control.sel()
    assert len(sel) == 6
    tool_lines = [x for x in ipmitool(sim, "sel", "list").stdout.splitlines() if "|" in x]
    assert len(tool_lines) == 6
    assert "General Chassis intrusion" in tool_lines[3]
    assert "Power Supply #0xc8 | Failure detected" in tool_lines[4]
    assert "Uncorrectable ECC" in tool_lines[5]
    fi = freeipmi("ipmi-sel", sim, tmp_path).stdout.splitlines()[1:]
    assert len(fi) == 6
    assert "Uncorrectable memory error" in fi[5]
    py = pyghmi_cmd(sim).get_event_log()
    assert [e["event"] for e in py][-3:] == ["Chassis intrusion", "Failure", "Uncorrectable error"]


def test_sel_reservation_entry_and_clear(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    info = bytes(cmd.raw_command(0x0A, 0x40)["data"])
    assert info[0] == 0x51
    assert struct.unpack("<H", info[1:3])[0] == 3
    first = cmd.raw_command(0x0A, 0x43, data=[0, 0, 0, 0, 0, 0xFF])
    assert first["code"] == 0
    assert bytes(first["data"][2:]) == bytes.fromhex(sim.control.sel()[0]["raw"])
    # partial read (offset != 0) needs the reservation
    assert cmd.raw_command(0x0A, 0x43, data=[0, 0, 1, 0, 2, 4])["code"] == 0xC5
    rsv = bytes(cmd.raw_command(0x0A, 0x42)["data"])
    part = cmd.raw_command(0x0A, 0x43, data=[rsv[0], rsv[1], 1, 0, 2, 4])
    assert bytes(part["data"][2:]) == bytes.fromhex(sim.control.sel()[0]["raw"])[2:6]
    assert cmd.raw_command(0x0A, 0x47, data=[rsv[0] ^ 0xFF, rsv[1], *b"CLR", 0xAA])["code"] == 0xC5
    assert bytes(cmd.raw_command(0x0A, 0x47, data=[rsv[0], rsv[1], *b"CLR", 0xAA])["data"]) == b"\x01"
    assert sim.control.sel() == []
    assert cmd.raw_command(0x0A, 0x43, data=[0, 0, 0, 0, 0, 0xFF])["code"] == 0xCB


def test_sdr_repository_partial_reads(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("generic")
    cmd = pyghmi_cmd(sim)
    info = bytes(cmd.raw_command(0x0A, 0x20)["data"])
    count = struct.unpack("<H", info[1:3])[0]
    assert info[0] == 0x51
    assert count == len(sim.machine.sdr_records)
    # walk the repository with 5-byte header reads then 16-byte partial reads, as ipmitool does
    rsv = bytes(cmd.raw_command(0x0A, 0x22)["data"])
    record_id, records = 0, []
    for _ in range(count + 1):
        if record_id == 0xFFFF:
            break
        head = bytes(cmd.raw_command(0x0A, 0x23, data=[rsv[0], rsv[1], record_id & 0xFF, record_id >> 8, 0, 5])["data"])
        next_id, header = struct.unpack("<H", head[:2])[0], head[2:]
        body = b""
        while len(body) < header[4]:
            part = cmd.raw_command(
                0x0A, 0x23, data=[rsv[0], rsv[1], record_id & 0xFF, record_id >> 8, 5 + len(body), 16]
            )
            assert part["code"] == 0
            body += bytes(part["data"][2:])
        records.append(header + body[: header[4]])
        record_id = next_id
    assert records == sim.machine.sdr_records
    # a partial read with a stale reservation is refused
    cmd.raw_command(0x0A, 0x22)
    assert cmd.raw_command(0x0A, 0x23, data=[rsv[0], rsv[1], 1, 0, 5, 4])["code"] == 0xC5
    # record FFFFh is the last record
    last = cmd.raw_command(0x0A, 0x23, data=[0, 0, 0xFF, 0xFF, 0, 0xFF])
    assert bytes(last["data"][2:]) == sim.machine.sdr_records[-1]
    assert bytes(last["data"][:2]) == b"\xff\xff"


def test_fru_guid_and_dcmi(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    system = cmd.get_inventory_of_component("System")
    assert system["Board manufacturer"] == "Supermicro"
    assert system["Board product name"] == "X11SSH-F"
    assert system["Serial Number"] == sim.profile.fru.product_serial
    assert system["Manufacturer ID"] == 10876
    assert bytes(cmd.raw_command(0x06, 0x37)["data"]) == sim.guid.bytes_le
    power = cmd.raw_command(0x2C, 0x02, data=[0xDC, 0x01, 0x00, 0x00])
    assert power["code"] == 0
    assert power["data"][0] == 0xDC
    watts = struct.unpack("<H", bytes(power["data"][1:3]))[0]
    assert watts == round(sim.control.state()["power_watts"])
    assert power["data"][17] & 0x40
    generic = bmc_sim_factory("generic")
    assert pyghmi_cmd(generic).raw_command(0x2C, 0x02, data=[0xDC, 0x01, 0x00, 0x00])["code"] == 0xC1


def test_ipmitool_fru_and_dcmi(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    fru = ipmitool(sim, "fru", "print", "0").stdout
    assert "Product Name          : PowerEdge R730" in fru
    assert "Product Serial        : 7H3KQ52" in fru
    dcmi = ipmitool(sim, "dcmi", "power", "reading").stdout
    watts = re.search(r"Instantaneous power reading:\s+(\d+) Watts", dcmi)
    assert watts is not None
    assert int(watts.group(1)) == round(sim.control.state()["power_watts"])


def test_reading_status_bits_and_health(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    sim.control.set_temperature("CPU Temp", 85)
    rsp = bytes(cmd.raw_command(0x04, 0x2D, data=[0x01])["data"])
    assert rsp == bytes([85, 0xC0, 0x08])  # at or above upper non-critical
    sim.control.set_temperature("CPU Temp", 100)
    rsp = bytes(cmd.raw_command(0x04, 0x2D, data=[0x01])["data"])
    assert rsp == bytes([100, 0xC0, 0x38])  # UNC + UCR + UNR
    reading = cmd.get_sensor_reading("CPU Temp")
    assert "upper non-recoverable threshold" in reading.states
    sim.control.set_temperature("System Temp", -8)  # 2's complement reading
    rsp = bytes(cmd.raw_command(0x04, 0x2D, data=[0x0B])["data"])
    assert rsp == bytes([(-8) & 0xFF, 0xC0, 0x03])  # at or below LNC and LCR
    assert cmd.get_sensor_reading("System Temp").value == -8
    assert cmd.raw_command(0x04, 0x2D, data=[0x99])["code"] == 0xCB
    out = parse_ipmitool_sensor(ipmitool(sim, "sensor").stdout)
    assert out["CPU Temp"]["status"] == "nr"
    assert out["System Temp"]["status"] == "cr"


def test_chassis_identify(bmc_sim_factory: Factory) -> None:
    """ipmitool's chassis identify (Chassis Identify, IPMI 2.0 §28.5): timed, forced on, and off."""
    sim = bmc_sim_factory("supermicro-x11")
    assert sim.control.state()["identify"] is False
    ipmitool(sim, "chassis", "identify", "20")
    assert [r.data for r in sim.control.request_log(netfn=0x00, cmd=0x04)] == [b"\x14"]
    assert sim.control.state()["identify"] is True
    sim.control.tick(21)
    assert sim.control.state()["identify"] is False
    ipmitool(sim, "chassis", "identify", "force")
    sim.control.tick(3600)
    assert sim.control.state()["identify"] is True
    ipmitool(sim, "chassis", "identify", "0")
    assert sim.control.state()["identify"] is False


def test_power_off_sensors_read_no_reading(bmc_sim_factory: Factory, pyghmi_cmd: Any, tmp_path: Path) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    assert "Chassis Power is on" in ipmitool(sim, "chassis", "power", "status").stdout
    ipmitool(sim, "chassis", "power", "off")
    assert sim.control.state()["power_on"] is False
    cmd = pyghmi_cmd(sim)
    readings = {r.name: r for r in cmd.get_sensor_data()}
    assert readings["CPU Temp"].unavailable == 1
    assert readings["FAN1"].unavailable == 1
    assert readings["VBAT"].unavailable == 0  # standby rail
    assert bytes(cmd.raw_command(0x04, 0x2D, data=[0x01])["data"]) == bytes([0, 0xE0, 0])
    elist = ipmitool(sim, "sdr", "elist").stdout
    cpu = next(x for x in elist.splitlines() if x.startswith("CPU Temp"))
    assert "No Reading" in cpu or "ns" in cpu
    fi = freeipmi("ipmi-sensors", sim, tmp_path, "--comma-separated-output").stdout
    assert "CPU Temp,Temperature,N/A" in fi
    assert cmd.get_power() == {"powerstate": "off"}
    assert cmd.set_power("on", wait=False)["pendingpowerstate"] == "on"
    assert sim.control.state()["power_on"] is True


def test_set_sensor_thresholds(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    # ipmitool converts rpm to raw counts of 100 rpm and sends Set Sensor Thresholds (04h/26h)
    ipmitool(sim, "sensor", "thresh", "FAN1", "lower", "100", "200", "300")
    log = sim.control.request_log(netfn=0x04, cmd=0x26)
    assert [r.cc for r in log] == [0, 0, 0]
    # one request per threshold: sensor, mask, LNC, LCR, LNR, UNC, UCR, UNR (raw counts of 100 rpm)
    assert {r.data for r in log} == {
        bytes([0x41, 0x04, 0, 0, 1, 0, 0, 0]),
        bytes([0x41, 0x02, 0, 2, 0, 0, 0, 0]),
        bytes([0x41, 0x01, 3, 0, 0, 0, 0, 0]),
    }
    assert sim.control.sensor("FAN1")["thresholds"]["lcr"] == 200
    cmd = pyghmi_cmd(sim)
    assert bytes(cmd.raw_command(0x04, 0x27, data=[0x41])["data"])[1:4] == bytes([3, 2, 1])
    # non-settable bits (6, 7) and unknown sensors
    assert cmd.raw_command(0x04, 0x26, data=[0x41, 0x40, 0, 0, 0, 0, 0, 0])["code"] == 0xCC
    assert cmd.raw_command(0x04, 0x26, data=[0x99, 0x01, 0, 0, 0, 0, 0, 0])["code"] == 0xCB
    # the control API rounds engineering values to the sensor's step (100 rpm)
    assert sim.control.set_threshold("FAN1", "lnc", 449) == 400
    assert sim.control.set_threshold("12V", "lcr", 10.3) == pytest.approx(10.304)


def test_x13_accepts_only_the_lower_critical_fan_threshold(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x13")
    cmd = pyghmi_cmd(sim)
    assert cmd.raw_command(0x04, 0x26, data=[0x41, 0x07, 3, 2, 1, 0, 0, 0])["code"] == 0xCC
    assert cmd.raw_command(0x04, 0x26, data=[0x41, 0x02, 0, 2, 0, 0, 0, 0])["code"] == 0
    assert sim.control.sensor("FAN1")["thresholds"] == {
        "lnr": 300,
        "lcr": 200,
        "lnc": 700,
        "unc": 25300,
        "ucr": 25400,
        "unr": 25500,
    }
    # the SDR says so: readable mask (byte 19 of the full record) has all six, settable (byte 20) only LCR
    record = next(r for r in sim.machine.sdr_records if r[3] == 0x01 and r[7] == 0x41)
    assert record[18] == 0x3F
    assert record[19] == 0x02


def test_privilege_levels(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11", users={"admin": "admin", "viewer": ("view", 2)})
    out = ipmitool(
        sim, "sensor", "thresh", "FAN1", "lcr", "400", user="viewer", password="view", extra=("-L", "USER"), check=False
    )
    assert sim.control.request_log(netfn=0x04, cmd=0x26)[-1].cc == 0xD4
    assert out.returncode != 0 or "Insufficient privilege" in out.stdout + out.stderr
    bad = ipmitool(sim, "raw", "6", "1", user="viewer", password="view", check=False)  # asks ADMIN
    assert bad.returncode != 0


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_serves_freeipmi(bmc_sim_factory: Factory, tmp_path: Path, profile: str) -> None:
    sim = bmc_sim_factory(profile)
    rows = parse_freeipmi_csv(freeipmi("ipmi-sensors", sim, tmp_path, "--comma-separated-output").stdout)
    assert len(rows) == len(sim.machine.sensors)
    for row, sensor in zip(rows, sim.control.sensors(), strict=True):
        assert row["Name"] == sensor["name"]
        if sensor["value"] is not None:
            assert float(row["Reading"]) == pytest.approx(sensor["value"], abs=0.01)


def test_cipher_suite_negotiation(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    """ipmitool without -C lists the cipher suites (06h/54h) and picks 17; pyghmi proposes 17 first and
    falls back to 3 when the BMC answers status 11h (no matching cipher suite)."""
    sim = bmc_sim_factory("supermicro-x11")
    out = subprocess.run(
        ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(sim.port), "-U", "admin", "-P", "admin",
         "raw", "6", "1"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    suites = sim.control.request_log(kind="sessionless", cmd=0x54)
    assert suites[0].response == bytes([0x01, 0xC0, 0x03, 0x01, 0x41, 0x81, 0xC0, 0x11, 0x03, 0x44, 0x81])
    opened = [r.note for r in sim.control.request_log(kind="rmcp+") if r.note["message"] == "open session"]
    assert opened[-1]["suite"] == 17
    x9 = bmc_sim_factory("supermicro-x9")  # cipher suite 3 only
    cmd = pyghmi_cmd(x9)
    assert cmd.raw_command(0x06, 0x01)["code"] == 0
    notes = [r.note for r in x9.control.request_log(kind="rmcp+") if r.note["message"] == "open session"]
    assert [(n["proposal"], n["status"]) for n in notes] == [([3, 4, 1], 0x11), ([1, 1, 1], 0x00)]


def test_power_cycle_and_chassis_status(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("generic")
    cmd = pyghmi_cmd(sim)
    sim.control.set_intrusion(True)
    status = bytes(cmd.raw_command(0x00, 0x01)["data"])
    assert status[0] & 0x01  # power on
    assert status[2] & 0x01  # chassis intrusion active
    assert cmd.raw_command(0x00, 0x02, data=[0x02])["code"] == 0  # power cycle
    assert sim.control.state()["power_on"] is True
    assert cmd.raw_command(0x00, 0x02, data=[0x00])["code"] == 0
    assert bytes(cmd.raw_command(0x00, 0x01)["data"])[0] & 0x01 == 0
    assert cmd.raw_command(0x00, 0x02, data=[0x03])["code"] == 0xD5  # hard reset while off
    assert cmd.raw_command(0x00, 0x02, data=[0x01])["code"] == 0
    assert sim.control.state()["power_on"] is True
    assert cmd.raw_command(0x00, 0x02)["code"] == 0xC7
