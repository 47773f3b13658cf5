"""The record walker (SDR, SEL) and the targeted sensor read, against bmcsim on 127.0.0.1."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import SEL, BmcClient, IpmiCompletionCodeError, RecordWalker, SensorKind
from custom_components.zephyr_ipmi.ipmi.conversion import Conversion

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

Factory = Callable[..., Simulator]
CORE = Path(__file__).parents[2] / "custom_components" / "zephyr_ipmi" / "ipmi"


def _client(sim: Simulator) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", "admin")


def _ipmi(sim: Simulator, since: int, netfn: int, cmd: int) -> list[bytes]:
    return [
        bytes(r.data)
        for r in sim.control.request_log(since=since)
        if r.kind == "ipmi" and (r.netfn, r.cmd) == (netfn, cmd)
    ]


def test_sel_walk_reads_every_entry_whole(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.add_sel_event("intrusion")
    sim.control.set_psu_failed(0, True)
    expected = sim.control.sel()
    assert len(expected) >= 2
    client = _client(sim)
    try:
        client.connect()
        seq = sim.control.last_seq()
        records = list(RecordWalker(client, SEL).walk())
        assert [r.record_id for r in records] == [e["record_id"] for e in expected]
        assert [r.data.hex() for r in records] == [e["raw"] for e in expected]
        assert records[-1].next_id == 0xFFFF
        # Whole entries at offset 0: no reservation is needed, one Get SEL Entry per entry.
        gets = _ipmi(sim, seq, 0x0A, 0x43)
        assert len(gets) == len(expected)
        assert all(get[0:2] == b"\x00\x00" and get[4:6] == b"\x00\xff" for get in gets)
        assert _ipmi(sim, seq, 0x0A, 0x42) == []
    finally:
        client.close()


def test_sel_walk_in_pieces_reserves_and_survives_a_cancelled_reservation(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.add_sel_event("intrusion")
    expected = [e["raw"] for e in sim.control.sel()]
    client = _client(sim)
    try:
        client.connect()
        # Whole entries and 16-byte pieces refused (CAh): 8-byte pieces, the second one under a reservation,
        # which is cancelled once (C5h) and renewed.
        sim.control.set_completion_code(0x0A, 0x43, 0xCA, count=3)
        sim.control.set_completion_code(0x0A, 0x43, 0xC5, data_prefix=b"\x01\x00", count=1)
        seq = sim.control.last_seq()
        walker = RecordWalker(client, SEL)
        assert [r.data.hex() for r in walker.walk()] == expected
        assert walker.whole_records is False
        assert walker.chunk.size == 8
        assert len(_ipmi(sim, seq, 0x0A, 0x42)) == 2  # Reserve SEL, then again after C5h
        pieces = _ipmi(sim, seq, 0x0A, 0x43)
        assert any(piece[4] != 0 and piece[0:2] != b"\x00\x00" for piece in pieces)
    finally:
        client.close()


def test_empty_sel_walks_nothing_and_other_codes_propagate(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    sim.control.clear_sel()
    client = _client(sim)
    try:
        assert list(RecordWalker(client, SEL).walk()) == []
        sim.control.add_sel_event("intrusion")
        sim.control.set_completion_code(0x0A, 0x43, 0xD5)
        with pytest.raises(IpmiCompletionCodeError):
            RecordWalker(client, SEL).records()
    finally:
        client.close()


def test_read_reads_only_the_sensors_asked_for(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_temperature("CPU Temp", 66)
    cpu, fan1 = sim.control.sensor("CPU Temp"), sim.control.sensor("FAN1")
    client = _client(sim)
    try:
        sensors = {s.name: s for s in client.sensors()}
        assert sensors["CPU Temp"].kind is SensorKind.TEMPERATURE
        sim.control.set_completion_code(0x04, 0x2D, 0xD5, data_prefix=bytes([fan1["number"]]))
        seq = sim.control.last_seq()
        keys = [sensors["CPU Temp"].key, sensors["FAN1"].key, "20_0_250", sensors["CPU Temp"].key]
        readings = client.read(keys)
        assert set(readings) == {sensors["CPU Temp"].key, sensors["FAN1"].key}
        assert readings[sensors["CPU Temp"].key].value == 66.0 == cpu["value"]
        assert readings[sensors["FAN1"].key].available is False
        assert _ipmi(sim, seq, 0x04, 0x2D) == [bytes([cpu["number"]]), bytes([fan1["number"]])]
    finally:
        client.close()


def test_read_before_any_poll_loads_the_sdr(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        first = sim.control.sensors()[0]
        key = f"20_0_{first['number']}"
        assert client.read([key])[key].available
    finally:
        client.close()


def test_to_raw_rounds_to_the_sensor_step() -> None:
    fan = Conversion(m=100, b=0, k1=0, k2=0, analog_format=0, linearization=0)
    assert fan.to_raw(1840.0) == 18
    assert fan.convert(fan.to_raw(260.0) or 0) == 300.0
    assert Conversion(m=1, b=0, k1=0, k2=0, analog_format=3, linearization=0).to_raw(5.0) is None


def _core_imports(module: str) -> set[str]:
    tree = ast.parse((CORE / f"{module}.py").read_text(encoding="utf-8"))
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}


def test_imports_run_one_way() -> None:
    """Conversion needs nothing of the core; models need only conversion; nothing below imports upward."""
    assert _core_imports("conversion") == set()
    assert _core_imports("models") == {"conversion"}
    assert "client" not in set().union(*(_core_imports(m) for m in ("sdr", "records", "identity", "poller")))
