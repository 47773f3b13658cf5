"""Slow BMCs and reservations, DCMI decisions and thresholds read from the sensors: bmcsim over UDP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bmcsim import Simulator
from bmcsim.profiles import get_profile
from custom_components.zephyr_ipmi.ipmi import BmcClient

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]


def _client(sim: Simulator, cache: Path | None = None) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", "admin", sdr_cache_dir=cache)


def _log(sim: Simulator, netfn: int, cmd: int, since: int = 0) -> list[tuple[bytes, int | None]]:
    return [
        (bytes(r.data), r.cc)
        for r in sim.control.request_log(since=since)
        if r.kind == "ipmi" and (r.netfn, r.cmd) == (netfn, cmd)
    ]


def test_a_bmc_answering_in_one_second_loads_its_sdr_under_a_reservation(bmc_sim_factory: Factory) -> None:
    """Attack finding 3: 1 s answers, SDR reads limited to 16 bytes (pieces need a reservation).

    pyghmi retransmits after 0.5-1 s, so each Reserve SDR Repository arrived twice and the second cancelled
    the reservation the client held (C5h on every piece, the entry never loaded).
    """
    generic = get_profile("generic")
    sim = bmc_sim_factory(replace(generic, sdr_max_read=16, sensors=generic.sensors[:3]))
    sim.control.set_fault(latency_ms=1000)
    client = _client(sim)
    try:
        sensors = client.sensors()
        assert [s.name for s in sensors] == [spec.name for spec in generic.sensors[:3]]
        snapshot = client.poll()
        assert [snapshot.readings[s.key].value for s in sensors] == [
            sim.control.sensor(s.name)["value"] for s in sensors
        ]
        assert [cc for _, cc in _log(sim, 0x0A, 0x23) if cc == 0xC5] == []
        assert len(_log(sim, 0x0A, 0x22)) == 1  # one reservation held for every piece
    finally:
        client.close()


def test_thresholds_are_the_sensors_own_not_the_cached_sdrs(bmc_sim_factory: Factory, tmp_path: Path) -> None:
    """Attack finding 5: owners lower fan thresholds; the SDR (and its cache) keeps the old ones."""
    sim = bmc_sim_factory("supermicro-x11")
    first = _client(sim, tmp_path)
    try:
        fan = next(s for s in first.sensors() if s.name == "FAN1")
        assert (fan.thresholds["lcr"], fan.thresholds["lnr"]) == (500.0, 300.0)
    finally:
        first.close()
    sim.control.set_threshold("FAN1", "lcr", 200)
    sim.control.set_threshold("FAN1", "lnr", 100)
    seq = sim.control.last_seq()
    second = _client(sim, tmp_path)
    try:
        fan = next(s for s in second.sensors() if s.name == "FAN1")
        assert (fan.thresholds["lcr"], fan.thresholds["lnr"]) == (200.0, 100.0)
        assert _log(sim, 0x0A, 0x23, since=seq) == []  # the SDR itself came from the cache
        assert (bytes([fan.number]), 0) in _log(sim, 0x04, 0x27, since=seq)
    finally:
        second.close()


def test_a_threshold_write_through_the_client_is_read_back(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim)
    try:
        fan = next(s for s in client.sensors() if s.name == "FAN1")
        version = client.sensor_list_version
        # Set Sensor Thresholds: sensor, mask (bit 1 = lower critical), LNC LCR LNR UNC UCR UNR raw bytes.
        client.request(0x04, 0x26, bytes([fan.number, 0x02, 0, 2, 0, 0, 0, 0]))
        shown = next(s for s in client.sensor_list if s.key == fan.key)
        assert shown.thresholds["lcr"] == 200.0
        assert client.sensor_list_version == version + 1
        sim.control.set_threshold("FAN1", "lnr", 100)
        assert client.refresh_thresholds([fan.key, "20_0_250"])[fan.key]["lnr"] == 100.0
        everything = client.refresh_thresholds()
        assert set(everything) == {s.key for s in client.sensor_list if s.is_threshold}
        # A sensor that keeps its thresholds in the SDR only (C1h) keeps those.
        cpu = next(s for s in client.sensor_list if s.name == "CPU Temp")
        sim.control.set_completion_code(0x04, 0x27, 0xC1)
        assert client.refresh_thresholds([cpu.key]) == {}
        assert next(s for s in client.sensor_list if s.key == cpu.key).thresholds == cpu.thresholds
    finally:
        client.close()


def test_dcmi_is_decided_at_setup_or_after_repeated_refusals(bmc_sim_factory: Factory) -> None:
    """Attack finding 4: one refusal during operation no longer turns DCMI power off for good."""
    refusing = bmc_sim_factory("supermicro-x11")
    refusing.control.set_completion_code(0x2C, 0x02, 0xC1, count=1)
    client = _client(refusing)
    try:
        assert client.poll().power is None  # refused at setup: decided, never asked again
        seq = refusing.control.last_seq()
        assert client.poll().power is None
        assert _log(refusing, 0x2C, 0x02, since=seq) == []
    finally:
        client.close()
    sim = bmc_sim_factory("supermicro-x11", seed=3)
    client = _client(sim)
    try:
        assert client.poll().power is not None
        for code in (0xC1, 0xCC, 0xD4):
            sim.control.set_completion_code(0x2C, 0x02, code, count=1)
            assert client.poll().power is None
            assert client.poll().power is not None
        sim.control.set_completion_code(0x2C, 0x02, 0xC2, count=3)
        assert [client.poll().power for _ in range(3)] == [None, None, None]
        assert client.poll().power is None
    finally:
        client.close()


def test_a_malformed_threshold_answer_keeps_the_sdrs_thresholds_of_that_sensor_only(
    bmc_sim_factory: Factory,
) -> None:
    """Get Sensor Thresholds answered 00h with no data (cannot be decoded): that sensor keeps its SDR thresholds."""
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim)
    try:
        sensors = client.sensors()
        cpu = next(s for s in sensors if s.name == "CPU Temp")
        fan = next(s for s in sensors if s.name == "FAN1")
        sim.control.set_threshold("FAN1", "lnr", 100)
        sim.control.set_threshold("CPU Temp", "ucr", 70)
        sim.control.set_completion_code(0x04, 0x27, 0x00, data_prefix=bytes([cpu.number]))
        read = client.refresh_thresholds()
        assert cpu.key not in read
        assert read[fan.key]["lnr"] == 100.0
        shown = {s.key: s for s in client.sensor_list}
        assert shown[cpu.key].thresholds == cpu.thresholds
        assert shown[fan.key].thresholds["lnr"] == 100.0
    finally:
        client.close()
