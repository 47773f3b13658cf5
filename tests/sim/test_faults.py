"""Faults switched at run time, observed through pyghmi, ipmitool and FreeIPMI."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyghmi.exceptions import IpmiException

from bmcsim import Simulator

from .conftest import freeipmi, ipmitool

pytestmark = pytest.mark.peer

Factory = Callable[..., Simulator]

#: ipmitool options for a fast failure: 1 s timeout, 1 retry
FAST = ("-N", "1", "-R", "1")


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every 50 ms for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_session_limit(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11", users={"admin": "admin", "second": "pw2"})
    first = pyghmi_cmd(sim)
    sim.control.set_fault(session_limit=1)
    out = ipmitool(sim, "raw", "6", "1", check=False, extra=FAST)
    assert out.returncode != 0
    assert "insufficient resources" in out.stderr.lower()
    statuses = [
        r.note["status"] for r in sim.control.request_log(kind="rmcp+") if r.note.get("message") == "open session"
    ]
    assert statuses[-1] == 0x01
    with pytest.raises(IpmiException, match="Insufficient resources"):
        pyghmi_cmd(sim, "second", "pw2")
    assert first.raw_command(0x06, 0x01)["code"] == 0  # the open session keeps working
    first.ipmi_session.logout()
    assert wait_for(lambda: not sim.control.sessions())
    assert ipmitool(sim, "raw", "6", "1").returncode == 0


def test_latency(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("generic")
    cmd = pyghmi_cmd(sim)
    sim.control.set_fault(latency_ms=300)
    start = time.monotonic()
    assert cmd.raw_command(0x06, 0x01)["code"] == 0
    assert time.monotonic() - start >= 0.3
    sim.control.set_fault(latency_ms=0)
    start = time.monotonic()
    assert cmd.raw_command(0x06, 0x01)["code"] == 0
    assert time.monotonic() - start < 0.3


def test_packet_loss_is_retried_by_clients(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("generic", seed=1)  # the seed makes the drop pattern repeatable
    cmd = pyghmi_cmd(sim)
    sim.control.set_fault(loss_pct=30)
    codes = [cmd.raw_command(0x04, 0x2D, data=[0x01])["code"] for _ in range(6)]
    assert codes == [0] * 6  # pyghmi retransmits lost requests
    dropped = sim.control.request_log(kind="dropped")
    assert dropped
    assert {r.note["reason"] for r in dropped} == {"loss"}
    # each answered request was logged once, with its exact bytes
    answered = sim.control.request_log(netfn=0x04, cmd=0x2D)
    assert [r.data for r in answered] == [b"\x01"] * len(answered)
    assert len(answered) >= 6


def test_silent_bmc(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    sim.control.set_fault(silent=True)
    start = time.monotonic()
    out = ipmitool(sim, "raw", "6", "1", check=False, extra=FAST)
    assert out.returncode != 0
    assert time.monotonic() - start < 15
    assert all(r.note["reason"] == "silent" for r in sim.control.request_log(kind="dropped"))
    assert sim.control.request_log(kind="ipmi") == []
    sim.control.set_fault(silent=False)
    assert ipmitool(sim, "raw", "6", "1").returncode == 0


def test_bmc_restart_loses_sessions(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    assert cmd.raw_command(0x30, 0x45, data=[0x01, 0x01])["code"] == 0
    assert len(sim.control.sessions()) == 1
    sim.control.restart_bmc(down_seconds=1.5)
    assert sim.control.sessions() == []
    assert sim.control.state()["fans"]["mode"] == 2  # fan mode back to the BMC default
    assert ipmitool(sim, "raw", "6", "1", check=False, extra=FAST).returncode != 0  # still booting
    assert wait_for(lambda: ipmitool(sim, "raw", "6", "1", check=False, extra=FAST).returncode == 0, 10)
    # pyghmi's old session id is unknown now: the BMC drops its packets until pyghmi logs in again
    # (about 20 s, docs/ipmi-notes.md §3).
    start = time.monotonic()
    assert cmd.raw_command(0x06, 0x01)["code"] == 0
    assert time.monotonic() - start > 1
    reasons = [r.note.get("reason") for r in sim.control.request_log(kind="dropped")]
    assert "unknown session id" in reasons


def test_cold_reset_command_restarts_the_bmc(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    ipmitool(sim, "mc", "reset", "cold")
    assert any(r.note.get("event") == "bmc restart" for r in sim.control.request_log(kind="event"))
    assert ipmitool(sim, "raw", "6", "1").returncode == 0


def test_changed_credentials_and_failed_login_sel(bmc_sim_factory: Factory, tmp_path: Path) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_session_timeout(60, handshake=0.2)
    before = len(sim.control.sel())
    sim.control.set_credentials("admin", "N3w-pass")
    assert ipmitool(sim, "raw", "6", "1", check=False, extra=FAST).returncode != 0
    assert ipmitool(sim, "raw", "6", "1", password="N3w-pass").returncode == 0
    assert freeipmi("ipmi-sel", sim, tmp_path, password="N3w-pass").returncode == 0
    # the abandoned handshake (the client could not verify RAKP2) is logged as a failed login
    assert wait_for(lambda: len(sim.control.sel()) > before)
    entry = sim.control.sel()[-1]
    assert (entry["sensor_type"], entry["offset"]) == (0x2A, 0x02)  # session audit: invalid password
    # unknown user: RAKP2 status 0Dh at once
    out = ipmitool(sim, "raw", "6", "1", user="root", check=False, extra=FAST)
    assert out.returncode != 0
    assert 0x0D in [r.note["status"] for r in sim.control.request_log(kind="rmcp+") if r.note["message"] == "RAKP2"]


def test_lockout_after_failed_logins(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    sim.control.set_session_timeout(60, handshake=0.1)
    sim.control.set_lockout(3, 1.5)
    for attempt in range(3):
        with pytest.raises(IpmiException, match="Incorrect password"):
            pyghmi_cmd(sim, "admin", f"wrong{attempt}")
        assert wait_for(lambda n=attempt: len([e for e in sim.control.sel() if e["sensor_type"] == 0x2A]) >= n + 2)
    events = [e for e in sim.control.sel() if e["sensor_type"] == 0x2A]
    assert events[-1]["offset"] == 0x03  # invalid password disable (lockout)
    out = ipmitool(sim, "raw", "6", "1", check=False, extra=FAST)  # right password, locked user
    assert out.returncode != 0
    assert wait_for(lambda: ipmitool(sim, "raw", "6", "1", check=False, extra=FAST).returncode == 0, 5)


def test_completion_code_override(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cmd = pyghmi_cmd(sim)
    sim.control.set_completion_code(0x04, 0x2D, 0xD5, count=1)
    assert cmd.raw_command(0x04, 0x2D, data=[0x01])["code"] == 0xD5
    assert cmd.raw_command(0x04, 0x2D, data=[0x01])["code"] == 0
    # only the zone-duty write, not the read, answers D4h
    sim.control.set_completion_code(0x30, 0x70, 0xD4, data_prefix="6601")
    assert cmd.raw_command(0x30, 0x70, data=[0x66, 0x01, 0x00, 0x20])["code"] == 0xD4
    assert cmd.raw_command(0x30, 0x70, data=[0x66, 0x00, 0x00])["code"] == 0
    log = sim.control.request_log(netfn=0x30, cmd=0x70)
    assert [(r.data, r.cc) for r in log] == [(bytes([0x66, 1, 0, 0x20]), 0xD4), (bytes([0x66, 0, 0]), 0)]
    sim.control.clear_completion_codes()
    assert cmd.raw_command(0x30, 0x70, data=[0x66, 0x01, 0x00, 0x20])["code"] == 0


def test_sdr_id_string_encodings(bmc_sim_factory: Factory, pyghmi_cmd: Any, tmp_path: Path) -> None:
    sim = bmc_sim_factory("generic")
    sim.control.set_fault(sdr_quirks=["bcdplus", "unicode", "nulpad", "compact_share", "sixbit"])
    records = {r[7]: r for r in sim.machine.sdr_records if r[3] in (0x01, 0x02)}
    # type/length byte (IPMI 2.0 section 43.15): 6-bit packed, BCD plus, 8-bit NUL padded, unicode
    assert records[0xE0][47] == 0x80 | 9  # "SIXBIT TEMP" + pad: 12 characters in 9 bytes
    assert records[0xE1][47:51] == bytes([0x40 | 3, 0x12, 0xB3, 0xC4])  # "12-3.4"
    assert records[0xE3][47] == 0xC0 | 16
    assert records[0xE3][48:64] == b"NulPad Temp" + b"\x00" * 5
    assert records[0xE2][47] == 0x00 | len("Lüfter Temp".encode())
    compact = records[0xE4]
    assert compact[3] == 0x02
    assert compact[23] & 0x0F == 2  # share count
    # FreeIPMI expands the shared record into two sensors
    out = freeipmi("ipmi-sensors", sim, tmp_path, "--shared-sensors", "--comma-separated-output").stdout
    assert "PSU 1,Power Supply" in out
    assert "PSU 2,Power Supply" in out
    assert ",Lüfter Temp,Temperature,50.00" in out
    # ipmitool prints the bytes it got
    sdr = ipmitool(sim, "sdr", "list").stdout
    assert "NulPad Temp" in sdr
    assert "E4h" in ipmitool(sim, "sdr", "elist").stdout
    # pyghmi (without the 6-bit record, whose decoding loops forever in pyghmi 1.6.19)
    sim.control.set_fault(sdr_quirks=["bcdplus", "unicode", "nulpad", "compact_share"])
    names = [r.name for r in pyghmi_cmd(sim).get_sensor_data()]
    assert "12-3.4" in names
    assert "Lüfter Temp" in names
    assert "NulPad Temp\x00\x00\x00\x00\x00" in names  # pyghmi keeps the NUL padding
    assert "PSU" in names
