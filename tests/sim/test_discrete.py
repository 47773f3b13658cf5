"""bmcsim's discrete sensors on the wire: Get Sensor Reading state bytes, SDR masks and SEL events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmcsim import Simulator

Factory = Callable[..., Simulator]


def _reading(cmd: Any, number: int) -> bytes:
    """Get Sensor Reading (netfn 04h, cmd 2Dh) data after the completion code."""
    rsp = cmd.raw_command(0x04, 0x2D, data=[number])
    assert rsp["code"] == 0
    return bytes(rsp["data"])


def _last_sel(cmd: Any) -> bytes:
    """The newest SEL record (Get SEL Entry 0Ah/43h for record id FFFFh), 16 bytes."""
    rsp = cmd.raw_command(0x0A, 0x43, data=[0x00, 0x00, 0xFF, 0xFF, 0x00, 0xFF])
    assert rsp["code"] == 0
    return bytes(rsp["data"])[2:]


def test_dell_discrete_readings_and_events(bmc_sim_factory: Factory, pyghmi_cmd: Any) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    cmd = pyghmi_cmd(sim)
    # Drive 0 (80h): scanning enabled, offset 0 (drive present); byte 4 bit 7 reserved as 1.
    assert _reading(cmd, 0x80) == bytes([0x00, 0xC0, 0x01, 0x80])
    # CPU1 Status (60h): offset 7, processor presence detected.
    assert _reading(cmd, 0x60) == bytes([0x00, 0xC0, 0x80, 0x80])
    # PS Redundancy (74h), generic type 0Bh: offset 0 fully redundant.
    assert _reading(cmd, 0x74) == bytes([0x00, 0xC0, 0x01, 0x80])

    # A rebuild on Drive 0: offset 7 asserted and logged (sensor type 0Dh, event type 6Fh, assertion).
    assert sim.control.set_sensor_states("Drive 0", 0x0081) == 0x0081
    assert _reading(cmd, 0x80) == bytes([0x00, 0xC0, 0x81, 0x80])
    record = _last_sel(cmd)
    assert record[7:9] == bytes([0x20, 0x00])  # generator: the BMC
    assert record[10:16] == bytes([0x0D, 0x80, 0x6F, 0x07, 0xFF, 0xFF])

    # PS2 pulled out: offset 0 of PS2 Status (63h) deasserted, PS Redundancy loses offset 0, gains offset 1.
    sim.control.set_psu_present(1, False)
    assert _reading(cmd, 0x63) == bytes([0x00, 0xC0, 0x00, 0x80])
    assert _reading(cmd, 0x74) == bytes([0x00, 0xC0, 0x02, 0x80])
    events = [bytes.fromhex(e["raw"])[10:16] for e in sim.control.sel()[-3:]]
    assert events == [
        bytes([0x08, 0x63, 0xEF, 0x00, 0xFF, 0xFF]),  # power supply, deassertion (bit 7) of presence
        bytes([0x08, 0x74, 0x8B, 0x00, 0xFF, 0xFF]),  # redundancy (0Bh) deassertion of fully redundant
        bytes([0x08, 0x74, 0x0B, 0x01, 0xFF, 0xFF]),  # redundancy lost asserted
    ]
    sim.control.set_psu_present(1, True)
    assert _reading(cmd, 0x63) == bytes([0x00, 0xC0, 0x01, 0x80])
    assert _reading(cmd, 0x74) == bytes([0x00, 0xC0, 0x01, 0x80])


def test_discrete_sdr_masks(bmc_sim_factory: Factory) -> None:
    """Each discrete compact record declares the offsets its sensor reports (IPMI 2.0 Table 43-2 bytes 15-20)."""
    sim = bmc_sim_factory("dell-idrac8")
    by_number = {record[7]: record for record in sim.machine.sdr_records if record[3] == 0x02}
    drive = by_number[0x80]
    assert (drive[12], drive[13]) == (0x0D, 0x6F)
    assert drive[14:20] == bytes([0xEF, 0x01, 0xEF, 0x01, 0xEF, 0x01])
    redundancy = by_number[0x75]
    assert (redundancy[12], redundancy[13]) == (0x04, 0x0B)  # fan, redundancy
    assert redundancy[18:20] == bytes([0x03, 0x00])


def test_set_sensor_states_refuses_threshold_sensors(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("dell-idrac8")
    with pytest.raises(ValueError, match="not a discrete sensor"):
        sim.control.set_sensor_states("Fan1", 1)
