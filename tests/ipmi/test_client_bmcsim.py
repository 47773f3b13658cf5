"""BmcClient against bmcsim on 127.0.0.1: what ipmi_sim cannot show (odd SDR encodings, DCMI, FRU,
per-sensor completion codes, session limits, the exact bytes of a steady poll)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import (
    BmcClient,
    IpmiAuthError,
    IpmiConnectionError,
    IpmiProtocolError,
    IpmiSessionLimitError,
    SensorKind,
)

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled")]

Factory = Callable[..., Simulator]


def _client(sim: Simulator, tmp_path: Path | None = None, password: str | None = None) -> BmcClient:
    return BmcClient("127.0.0.1", sim.port, "admin", password or "admin", sdr_cache_dir=tmp_path)


def test_unusual_id_strings_and_shared_records_decode(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    sim.control.set_fault(sdr_quirks=["sixbit", "bcdplus", "unicode", "nulpad", "compact_share"])
    client = _client(sim)
    try:
        names = {s.number: s.name for s in client.sensors()}
        assert names[0xE0] == "SIXBIT TEMP"
        assert names[0xE1] == "12-3.4"
        assert names[0xE2] == "Lüfter Temp"
        assert names[0xE3] == "NulPad Temp"
        assert (names[0xE4], names[0xE5]) == ("PSU 1", "PSU 2")
        snapshot = client.poll()
        assert snapshot.readings[next(s.key for s in client.sensors() if s.number == 0xE0)].available
    finally:
        client.close()


def test_identity_fru_and_dcmi_power(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim)
    try:
        identity = client.connect()
        assert identity.manufacturer_id == 10876
        assert identity.manufacturer == "Supermicro"
        assert identity.guid
        assert identity.model
        assert identity.serial
        snapshot = client.poll()
        assert snapshot.power is not None
        assert snapshot.power.current > 0
        assert snapshot.power_on is True
        # A busy BMC (0xC0) costs one DCMI reading; so does one refusal (0xC1) of a BMC that gave readings.
        sim.control.set_completion_code(0x2C, 0x02, 0xC0, count=1)
        assert client.poll().power is None
        assert client.poll().power is not None
        sim.control.set_completion_code(0x2C, 0x02, 0xC1, count=1)
        assert client.poll().power is None
        assert client.poll().power is not None
        # Three refusals in a row: DCMI is unsupported, and not asked again.
        sim.control.set_completion_code(0x2C, 0x02, 0xC1)
        assert [client.poll().power for _ in range(3)] == [None, None, None]
        seq = sim.control.last_seq()
        assert client.poll().power is None
        assert not [r for r in sim.control.request_log(since=seq) if (r.netfn, r.cmd) == (0x2C, 0x02)]
    finally:
        client.close()


def test_steady_poll_sends_one_get_sensor_reading_per_sensor(bmc_sim_factory: Factory, tmp_path: Path) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim, tmp_path)
    try:
        client.connect()
        sensors = client.sensors()
        client.poll()
        seq = sim.control.last_seq()
        client.poll()
        requests = [r for r in sim.control.request_log(since=seq) if r.kind == "ipmi"]
        wire = [(r.netfn, r.cmd, bytes(r.data)) for r in requests]
        expected = [(0x04, 0x2D, bytes([s.number])) for s in sensors]
        assert wire[: len(sensors)] == expected
        # Besides the sensors: Get Chassis Status and DCMI Get Power Reading, nothing else.
        assert wire[len(sensors) :] == [(0x00, 0x01, b""), (0x2C, 0x02, bytes([0xDC, 0x01, 0x00, 0x00]))]
    finally:
        client.close()


def test_warm_sdr_cache_reads_no_sdr(bmc_sim_factory: Factory, tmp_path: Path) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    cold = _client(sim, tmp_path)
    try:
        cold.connect()
        cold_sensors = cold.sensors()
    finally:
        cold.close()
    assert list(tmp_path.glob("sdr-*.json"))
    seq = sim.control.last_seq()
    warm = _client(sim, tmp_path)
    try:
        warm.connect()
        assert warm.sensors() == cold_sensors
    finally:
        warm.close()
    sdr_reads = [r for r in sim.control.request_log(since=seq) if r.kind == "ipmi" and (r.netfn, r.cmd) == (0x0A, 0x23)]
    assert sdr_reads == []


def test_one_sensor_with_an_error_costs_only_that_sensor(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    client = _client(sim)
    try:
        sensors = client.sensors()
        victim = next(s for s in sensors if s.kind is SensorKind.TEMPERATURE)
        sim.control.set_completion_code(0x04, 0x2D, 0xD5, data_prefix=bytes([victim.number]))
        snapshot = client.poll()
        assert snapshot.errors == {victim.key: "completion code 0xD5"}
        assert len(snapshot.readings) == len(sensors) - 1
        sim.control.clear_completion_codes()
        sim.control.set_completion_code(0x04, 0x2D, 0xCB, data_prefix=bytes([victim.number]))
        reading = client.poll().readings[victim.key]
        assert (reading.available, reading.value) == (False, None)
    finally:
        client.close()


def test_session_limit_is_a_clear_error(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic", users={"admin": "admin", "other": "other"})
    sim.control.set_fault(session_limit=1)
    holder = BmcClient("127.0.0.1", sim.port, "other", "other")
    client = _client(sim)
    try:
        holder.connect()
        with pytest.raises(IpmiSessionLimitError, match="no free session"):
            client.connect()
    finally:
        client.close()
        holder.close()


def test_changed_credentials_are_an_auth_error(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    client = _client(sim, password="wrong-password")
    try:
        with pytest.raises(IpmiAuthError):
            client.connect()
    finally:
        client.close()


def test_sdr_change_is_found_by_check_sdr(bmc_sim_factory: Factory, tmp_path: Path) -> None:
    sim = bmc_sim_factory("generic")
    client = _client(sim, tmp_path)
    try:
        before = {s.key for s in client.sensors()}
        seq = sim.control.last_seq()
        assert client.check_sdr() is False
        assert [(r.netfn, r.cmd) for r in sim.control.request_log(since=seq) if r.kind == "ipmi"] == [(0x0A, 0x20)]
        sim.control.set_fault(sdr_quirks=["nulpad"])
        assert client.check_sdr() is True
        after = {s.key: s.name for s in client.sensors()}
        assert set(after) - before == {"20_0_227"}
        assert after["20_0_227"] == "NulPad Temp"
    finally:
        client.close()


def test_sdr_read_survives_short_reads_and_cancelled_reservations(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    reference = _client(sim)
    try:
        expected = reference.sensors()
    finally:
        reference.close()
    # 0xCA "cannot return that many bytes": ask for smaller chunks. 0xC5 "reservation cancelled": reserve again.
    sim.control.set_completion_code(0x0A, 0x23, 0xCA, count=2)
    sim.control.set_completion_code(0x0A, 0x23, 0xC5, count=1)
    client = _client(sim)
    try:
        assert client.sensors() == expected
    finally:
        client.close()
    sim.control.set_completion_code(0x0A, 0x23, 0xC5)
    stubborn = _client(sim)
    try:
        with pytest.raises(IpmiProtocolError, match="reservation cancelled"):
            stubborn.sensors()
    finally:
        stubborn.close()


def test_fru_short_reads_and_unreadable_fru(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11")
    sim.control.set_completion_code(0x0A, 0x11, 0xCA, count=1)
    client = _client(sim)
    try:
        model = client.connect().model
        assert model
    finally:
        client.close()
    sim.control.set_completion_code(0x0A, 0x11, 0xD5)
    unreadable = _client(sim)
    try:
        identity = unreadable.connect()
        assert identity.model is None
        assert identity.manufacturer == "Supermicro"
    finally:
        unreadable.close()


def test_empty_sensor_reading_costs_that_sensor(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    client = _client(sim)
    try:
        victim = client.sensors()[0]
        sim.control.set_completion_code(0x04, 0x2D, 0x00, data_prefix=bytes([victim.number]))
        snapshot = client.poll()
        assert "reading of 0 bytes" in snapshot.errors[victim.key]
    finally:
        client.close()


def test_damaged_or_unwritable_sdr_cache(
    bmc_sim_factory: Factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = bmc_sim_factory("generic")
    first = _client(sim, tmp_path)
    try:
        expected = first.sensors()
    finally:
        first.close()
    (cache,) = tmp_path.glob("sdr-*.json")
    cache.write_text("{not json", encoding="utf-8")
    second = _client(sim, tmp_path)
    try:
        assert second.sensors() == expected
    finally:
        second.close()
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", encoding="utf-8")
    third = _client(sim, blocked)
    try:
        assert third.sensors() == expected
    finally:
        third.close()
    assert "Cannot write the SDR cache" in caplog.text


def test_a_silent_bmc_does_not_stop_the_others(bmc_sim_factory: Factory) -> None:
    """pyghmi defect (i): a session timing out must not deadlock the polls of other BMCs."""
    import threading
    import time

    sims = [bmc_sim_factory("generic") for _ in range(4)]
    clients = [_client(sim) for sim in sims]
    try:
        for client in clients:
            client.sensors()
        sims[0].control.set_fault(silent=True)
        done = dict.fromkeys(range(1, 4), 0)
        failed: list[BaseException] = []
        stop = time.monotonic() + 9  # longer than the silent BMC's failing poll (about 7 s)

        def poll_silent() -> None:
            with pytest.raises(IpmiConnectionError):
                clients[0].poll()

        def poll_healthy(i: int) -> None:
            try:
                while time.monotonic() < stop:
                    clients[i].poll()
                    done[i] += 1
            except BaseException as err:  # noqa: BLE001 - reported below
                failed.append(err)

        threads = [threading.Thread(target=poll_silent)]
        threads += [threading.Thread(target=poll_healthy, args=(i,)) for i in range(1, 4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in threads), "polls deadlocked"
        assert failed == []
        assert all(count > 10 for count in done.values()), done
    finally:
        for client in clients:
            client.close()


@pytest.mark.usefixtures("pyghmi_io_thread")
def test_the_session_privilege_is_what_the_bmc_granted(bmc_sim_factory: Factory) -> None:
    """Administrator for an administrator account; User for a read-only account (writes would be refused)."""
    sim = bmc_sim_factory("supermicro-x11", users={"admin": "admin", "reader": ("readonly", 2)})
    admin, reader = _client(sim), BmcClient("127.0.0.1", sim.port, "reader", "readonly")
    try:
        assert admin.privilege is None  # no session yet
        admin.connect()
        reader.connect()
        assert (admin.privilege, reader.privilege) == (4, 2)
        assert {(s["user"], s["privilege"]) for s in sim.control.sessions()} == {("admin", 4), ("reader", 2)}
    finally:
        admin.close()
        reader.close()
    assert reader.privilege is None
