"""The IPMI core's ``BmcClient`` against a real IPMI 2.0 peer (OpenIPMI ipmi_sim on 127.0.0.1), no Home Assistant.

Every value the client reads is compared with what an independent client, ``ipmitool -I lanplus``, reads from
the same peer at the same moment: identity, each sensor's value, unit, threshold status and thresholds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    BmcClient,
    BmcSnapshot,
    IpmiAuthError,
    IpmiConnectionError,
    SdrSensor,
    SensorKind,
    SensorStatus,
)
from tests.peers.fixtures import (  # noqa: F401 - fixtures
    IpmitoolRow,
    ipmi_sim_peer,
    ipmitool_readings,
    ipmitool_table,
    pyghmi_io_thread,
)
from tests.peers.ipmi_sim import SUPERMICRO_X11, DiscreteSensor, IpmiSimPeer

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

BOARD = SUPERMICRO_X11
#: ipmitool's unit column → the unit symbol the core reports.
IPMITOOL_UNITS = {"degrees C": "°C", "RPM": "rpm", "Volts": "V", "Amps": "A", "Watts": "W"}
#: ipmitool's status column → the core's threshold status.
IPMITOOL_STATUS = {
    "ok": SensorStatus.OK,
    "nc": SensorStatus.NON_CRITICAL,
    "cr": SensorStatus.CRITICAL,
    "nr": SensorStatus.NON_RECOVERABLE,
}
#: ipmitool prints values and thresholds with three decimals.
IPMITOOL_TOLERANCE = 0.0005 + 1e-9
NUMBER_OF_SENSORS = len(BOARD.analog) + sum(d.share_count for d in BOARD.discrete)


@pytest.fixture
def peer(ipmi_sim_peer: IpmiSimPeer) -> IpmiSimPeer:  # noqa: F811 - the imported fixture
    return ipmi_sim_peer


def _client(peer: IpmiSimPeer, cache_dir: Path | None = None, **overrides: object) -> BmcClient:
    args: dict[str, object] = {
        "host": peer.host,
        "port": peer.port,
        "username": peer.username,
        "password": peer.password,
    }
    args.update(overrides)
    return BmcClient(**args, sdr_cache_dir=cache_dir)  # type: ignore[arg-type]


@pytest.fixture
def client(peer: IpmiSimPeer, tmp_path: Path) -> Iterator[BmcClient]:
    """A client of the peer with an SDR cache in the test's directory; always logged out afterwards."""
    bmc = _client(peer, tmp_path / "sdr")
    try:
        yield bmc
    finally:
        bmc.close()


def _free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nobody listens on (bound, read, released)."""
    import pytest_socket

    with pytest_socket._true_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fields(text: str) -> dict[str, str]:
    """``Name : value`` lines of ipmitool output."""
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}


def _ipmitool_states(peer: IpmiSimPeer, number: int) -> int:
    """The asserted states of discrete sensor ``number`` as ipmitool reads them (raw Get Sensor Reading)."""
    data = bytes.fromhex(peer.ipmitool("raw", "0x04", "0x2d", f"{number:#04x}").replace("\n", " "))
    return data[2] | ((data[3] & 0x7F) << 8 if len(data) > 3 else 0)


def _by_name(sensors: list[SdrSensor]) -> dict[str, SdrSensor]:
    return {sensor.name: sensor for sensor in sensors}


def _assert_reading_matches(sensor: SdrSensor, snapshot: BmcSnapshot, row: IpmitoolRow) -> None:
    """The core's reading of a threshold sensor is the one ipmitool shows: value, unit and status."""
    reading = snapshot.readings[sensor.key]
    if row.value is None:
        assert row.status == "na", row
        assert not reading.available, (sensor.name, reading)
        assert reading.value is None
        return
    assert reading.available, (sensor.name, reading)
    assert reading.value == pytest.approx(row.value, abs=IPMITOOL_TOLERANCE), sensor.name
    assert sensor.unit == IPMITOOL_UNITS[row.unit], sensor.name
    assert reading.status is IPMITOOL_STATUS[row.status], sensor.name


# ---------------------------------------------------------------------------
# What the BMC is and what it measures
# ---------------------------------------------------------------------------


def test_identity_matches_ipmitool(peer: IpmiSimPeer, client: BmcClient) -> None:
    identity = client.connect()

    info = _fields(peer.ipmitool("mc", "info"))
    assert identity.manufacturer_id == int(info["Manufacturer ID"]) == 10876
    assert identity.manufacturer == "Supermicro"
    assert identity.firmware == info["Firmware Revision"] == "1.73"
    assert identity.product_id == int(info["Product ID"].split()[0])
    assert identity.device_id == int(info["Device ID"])
    assert identity.ipmi_version == info["IPMI Version"]
    guid = _fields(peer.ipmitool("mc", "guid"))["System GUID"]
    assert identity.guid == guid
    assert identity.unique_id == guid
    # The peer has no FRU inventory: no model or serial is invented.
    assert identity.model is None
    assert identity.serial is None
    assert client.identity == identity


def test_every_sensor_value_and_threshold_matches_ipmitool(peer: IpmiSimPeer, client: BmcClient) -> None:
    client.connect()
    sensors = client.sensors()
    snapshot = client.poll()
    table = ipmitool_table(peer)

    assert snapshot.errors == {}
    assert snapshot.power_on is True
    assert snapshot.power is None  # ipmi_sim has no DCMI
    assert len(sensors) == NUMBER_OF_SENSORS
    assert set(snapshot.readings) == {sensor.key for sensor in sensors}
    by_name = _by_name(sensors)

    threshold_rows = {name: row for name, row in table.items() if row.unit != "discrete"}
    assert {s.name for s in sensors if s.is_threshold} == set(threshold_rows)
    for name, row in threshold_rows.items():
        sensor = by_name[name]
        assert sensor.thresholds == pytest.approx(row.thresholds, abs=IPMITOOL_TOLERANCE), name
        _assert_reading_matches(sensor, snapshot, row)
        assert snapshot.readings[sensor.key].value == peer.expected_value(name)

    # Discrete sensors: the asserted states ipmitool reads, sensor by sensor (ipmitool's own table shows only
    # the first sensor of a shared Compact record, so every number is read with a raw Get Sensor Reading).
    discrete = [s for s in sensors if not s.is_threshold]
    assert sorted(s.number for s in discrete) == sorted(n for d in BOARD.discrete for n in d.numbers)
    for sensor in discrete:
        board_sensor = BOARD.sensor(sensor.number)
        assert isinstance(board_sensor, DiscreteSensor)
        assert sensor.kind is SensorKind.DISCRETE
        assert sensor.sensor_type == board_sensor.sensor_type
        reading = snapshot.readings[sensor.key]
        assert reading.available
        assert reading.states == _ipmitool_states(peer, sensor.number) == peer.sensor_raw(sensor.number)
        if board_sensor.share_count == 1:
            assert sensor.name == board_sensor.name
            assert reading.states == table[sensor.name].states
        else:
            # IPMI 2.0 §43.2: the instance modifier (numeric, from the offset) is appended to the ID string.
            assert sensor.name.startswith(board_sensor.name)
            assert sensor.name.removeprefix(board_sensor.name).strip() == str(
                sensor.number - board_sensor.number + board_sensor.instance_offset
            )
    assert len({s.name for s in sensors}) == len(sensors), "two sensors share a name"


def test_steady_poll_costs_one_request_per_sensor(client: BmcClient) -> None:
    client.connect()
    sensors = client.sensors()

    before = client.request_count
    client.poll()
    # One Get Sensor Reading each, Get Chassis Status, and one DCMI Get Power Reading (answered 0xC1).
    assert client.request_count - before == len(sensors) + 2

    for _ in range(3):
        before = client.request_count
        client.poll()
        # DCMI is not asked again once the BMC said it does not support it.
        assert client.request_count - before == len(sensors) + 1


def test_sdr_disk_cache_spares_the_second_client_the_sdr(peer: IpmiSimPeer, tmp_path: Path) -> None:
    cache = tmp_path / "sdr"
    first = _client(peer, cache)
    try:
        first.connect()
        cold_before = first.request_count
        sensors = first.sensors()
        cold = first.request_count - cold_before
    finally:
        first.close()
    assert list(cache.glob("sdr-*.json")), "no SDR cache written"
    # Repository info + reservation + header and body of every record.
    assert cold > 2 * len(BOARD.sensors)

    second = _client(peer, cache)
    try:
        second.connect()
        warm_before = second.request_count
        assert second.sensors() == sensors
        # Get SDR Repository Info, then the sensors' own thresholds (Get Sensor Thresholds, IPMI 2.0 §35.9),
        # which a Set Sensor Thresholds may have changed without touching the SDR.
        threshold_sensors = sum(1 for sensor in sensors if sensor.is_threshold)
        assert threshold_sensors > 0
        assert second.request_count - warm_before == 1 + threshold_sensors
        before = second.request_count
        snapshot = second.poll()
        assert second.request_count - before == len(sensors) + 2
        assert snapshot.readings[_by_name(sensors)["FAN1"].key].value == 1800.0
    finally:
        second.close()


def test_user_privilege_account_reads_every_sensor(peer: IpmiSimPeer) -> None:
    """Monitoring needs only the User privilege (as the config flow tells the user)."""
    bmc = _client(peer, username=peer.readonly_username, password=peer.readonly_password)
    try:
        bmc.connect()
        sensors = bmc.sensors()
        snapshot = bmc.poll()
    finally:
        bmc.close()
    assert snapshot.errors == {}
    assert snapshot.power_on is True
    assert len(snapshot.readings) == len(sensors) == NUMBER_OF_SENSORS
    assert snapshot.readings[_by_name(sensors)["FAN1"].key].value == 1800.0


# ---------------------------------------------------------------------------
# Changes in the BMC
# ---------------------------------------------------------------------------


def test_value_changed_in_the_peer_shows_in_the_next_poll(peer: IpmiSimPeer, client: BmcClient) -> None:
    client.connect()
    by_name = _by_name(client.sensors())
    cpu, fan1, volts = by_name["CPU Temp"], by_name["FAN1"], by_name["12V"]
    client.poll()

    peer.set_sensor_value("CPU Temp", 71)
    peer.set_sensor_value("12V", 12.6)
    # 400 rpm: below the lower critical threshold (500), above the non-recoverable one (300).
    peer.set_sensor_value("FAN1", 400)
    snapshot = client.poll()
    table = ipmitool_table(peer)

    assert snapshot.readings[cpu.key].value == 71.0
    assert snapshot.readings[volts.key].value == pytest.approx(12.6)
    assert snapshot.readings[fan1.key].value == 400.0
    assert snapshot.readings[fan1.key].status is SensorStatus.CRITICAL
    for sensor in (cpu, fan1, volts):
        _assert_reading_matches(sensor, snapshot, table[sensor.name])

    # A discrete change: chassis opened, power supply 1 failed.
    peer.set_discrete_state(0xAA, 0b1)
    peer.set_discrete_state(0xC8, 0b11)
    snapshot = client.poll()
    assert snapshot.readings[by_name["Chassis Intru"].key].states == 0b1
    assert snapshot.readings[by_name["PS Status 1"].key].states == 0b11
    assert snapshot.readings[by_name["PS Status 2"].key].states == 0b1


def test_sensor_without_reading_is_unavailable(peer: IpmiSimPeer, client: BmcClient) -> None:
    client.connect()
    by_name = _by_name(client.sensors())
    fan2 = by_name["FAN2"]
    # FAN4 is an empty fan header from the start.
    assert not client.poll().readings[by_name["FAN4"].key].available

    peer.set_sensor_available(fan2.number, False)
    snapshot = client.poll()
    reading = snapshot.readings[fan2.key]
    assert (reading.available, reading.value, reading.status) == (False, None, None)
    assert ipmitool_readings(peer)["FAN2"] == (None, "na")
    assert fan2.key not in snapshot.errors

    peer.set_sensor_available(fan2.number, True)
    assert client.poll().readings[fan2.key].value == 1900.0


def test_host_power_off_leaves_only_standby_sensors(peer: IpmiSimPeer, client: BmcClient) -> None:
    client.connect()
    by_name = _by_name(client.sensors())
    peer.set_power(False)
    snapshot = client.poll()
    table = ipmitool_table(peer)

    assert snapshot.power_on is False
    for sensor in BOARD.analog:
        reading = snapshot.readings[by_name[sensor.name].key]
        assert reading.available is (not sensor.power_dependent and sensor.present), sensor.name
        _assert_reading_matches(by_name[sensor.name], snapshot, table[sensor.name])

    peer.set_power(True)
    snapshot = client.poll()
    assert snapshot.power_on is True
    assert snapshot.readings[by_name["CPU Temp"].key].value == 40.0


# ---------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------


def test_wrong_password_fails_fast_as_auth_error(peer: IpmiSimPeer) -> None:
    bmc = _client(peer, password="not-the-password")
    start = time.monotonic()
    try:
        with pytest.raises(IpmiAuthError) as err:
            bmc.connect()
    finally:
        bmc.close()
    assert time.monotonic() - start < 2
    assert "not-the-password" not in str(err.value)
    assert bmc.identity is None


def test_unknown_user_fails_as_auth_error(peer: IpmiSimPeer) -> None:
    bmc = _client(peer, username="nobody")
    try:
        with pytest.raises(IpmiAuthError):
            bmc.connect()
    finally:
        bmc.close()


def test_silent_port_fails_as_connection_error_within_10_s(peer: IpmiSimPeer) -> None:
    bmc = _client(peer, port=_free_udp_port())
    start = time.monotonic()
    try:
        with pytest.raises(IpmiConnectionError) as err:
            bmc.connect()
    finally:
        bmc.close()
    assert time.monotonic() - start < 10
    assert peer.password not in str(err.value)


def test_peer_killed_then_restarted(peer: IpmiSimPeer, client: BmcClient) -> None:
    """A BMC that dies mid-session fails the poll in about 7 s (not pyghmi's 30 s); once back, polls work."""
    client.connect()
    fan1 = _by_name(client.sensors())["FAN1"]
    client.poll()

    peer.kill()
    start = time.monotonic()
    with pytest.raises(IpmiConnectionError, match="did not answer"):
        client.poll()
    assert time.monotonic() - start < 15

    peer.set_sensor_value("FAN1", 2100)  # kept in the value files across the restart
    peer.restart()
    start = time.monotonic()
    snapshot = client.poll()
    assert time.monotonic() - start < 10
    assert snapshot.readings[fan1.key].value == 2100.0
    assert snapshot.power_on is True
    _assert_reading_matches(fan1, snapshot, ipmitool_table(peer)["FAN1"])


def test_close_does_not_wait_for_a_poll_of_a_dead_bmc(peer: IpmiSimPeer, client: BmcClient) -> None:
    """Unloading the entry while a poll of a dead BMC hangs returns at once; the poll then fails."""
    client.sensors()
    peer.kill()
    outcome: list[BaseException | None] = []

    def poll() -> None:
        try:
            client.poll()
            outcome.append(None)
        except IpmiConnectionError as err:
            outcome.append(err)

    worker = threading.Thread(target=poll)
    worker.start()
    time.sleep(0.5)
    start = time.monotonic()
    client.close()
    assert time.monotonic() - start < 2
    worker.join(timeout=15)
    assert not worker.is_alive()
    assert isinstance(outcome[0], IpmiConnectionError)


def test_second_client_closing_keeps_the_first_session(peer: IpmiSimPeer, client: BmcClient) -> None:
    """A config flow logging in to a BMC that is already polled, then out, must not end the poller's session."""
    client.connect()
    fan1 = _by_name(client.sensors())["FAN1"]
    client.poll()

    checker = _client(peer)
    try:
        assert checker.connect() == client.identity
    finally:
        checker.close()

    # ipmitool's own session counts as one: the poller's session must still be active at the BMC.
    active = int(_fields(peer.ipmitool("session", "info", "active"))["active sessions"])
    assert active == 2

    peer.set_sensor_value("FAN1", 1600)
    before = client.request_count
    snapshot = client.poll()
    assert snapshot.readings[fan1.key].value == 1600.0
    assert client.request_count - before == len(client.sensors()) + 1
