"""Home Assistant end to end against a real IPMI 2.0 peer: OpenIPMI ipmi_sim over UDP on 127.0.0.1.

Nothing is patched: the config flow and the entry use the integration's own ``BmcClient`` over pyghmi. What
each entity shows is compared with what ``ipmitool -I lanplus`` reads from the same peer at the same moment.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_system import US_CUSTOMARY_SYSTEM
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.zephyr_ipmi.const import DEFAULT_SCAN_INTERVAL, DOMAIN, SDR_CACHE_DIR
from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator
from custom_components.zephyr_ipmi.credentials import async_decrypt_credentials
from tests.peers.fixtures import (  # noqa: F401 - fixtures
    IpmitoolRow,
    ipmi_sim_peer,
    ipmitool_table,
    pyghmi_io_thread,
)
from tests.peers.ipmi_sim import SUPERMICRO_X11, IpmiSimPeer

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

BOARD = SUPERMICRO_X11
#: ipmitool's unit column → the unit Home Assistant shows.
IPMITOOL_UNITS = {"degrees C": "°C", "RPM": "rpm", "Volts": "V", "Amps": "A", "Watts": "W"}
IPMITOOL_STATUS = {"ok": "ok", "nc": "non_critical", "cr": "critical", "nr": "non_recoverable"}
THRESHOLD_ATTRIBUTES = {
    "lnr": "lower_non_recoverable",
    "lcr": "lower_critical",
    "lnc": "lower_non_critical",
    "unc": "upper_non_critical",
    "ucr": "upper_critical",
    "unr": "upper_non_recoverable",
}
#: ipmitool prints values and thresholds with three decimals.
IPMITOOL_TOLERANCE = 0.0005 + 1e-9
#: Sensor numbers of the discrete sensors that become binary sensors.
CHASSIS_INTRUSION, PSU1, PSU2 = 0xAA, 0xC8, 0xC9


@pytest.fixture
def peer(ipmi_sim_peer: IpmiSimPeer) -> IpmiSimPeer:  # noqa: F811 - the imported fixture
    return ipmi_sim_peer


def _user_input(peer: IpmiSimPeer, **overrides: Any) -> dict[str, Any]:
    return {
        CONF_HOST: peer.host,
        CONF_PORT: peer.port,
        CONF_USERNAME: peer.username,
        CONF_PASSWORD: peer.password,
        **overrides,
    }


def _free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nobody listens on."""
    import pytest_socket

    with pytest_socket._true_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _add_bmc(hass: HomeAssistant, peer: IpmiSimPeer) -> ConfigEntry:
    """Add the peer through the user step of the config flow, as a user would; return the loaded entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(peer))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


@pytest.fixture
async def entry(hass: HomeAssistant, peer: IpmiSimPeer) -> AsyncIterator[ConfigEntry]:
    """The peer added through the config flow and loaded; unloaded (logged out) at the end of the test."""
    config_entry = await _add_bmc(hass, peer)
    try:
        yield config_entry
    finally:
        if config_entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(config_entry.entry_id)
            await hass.async_block_till_done()


def _coordinator(entry: ConfigEntry) -> ZephyrCoordinator:
    return entry.runtime_data.coordinator  # type: ignore[no-any-return]


def _state(hass: HomeAssistant, entry: ConfigEntry, platform: str, key: str) -> State:
    """The state of the entity the entry made for ``key`` (an SDR sensor key, or a fixed one)."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert entity_id is not None, f"no {platform} entity for {key}"
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _sensor_key(number: int) -> str:
    return f"20_0_{number}"


def _sensor_state(hass: HomeAssistant, entry: ConfigEntry, name: str) -> State:
    return _state(hass, entry, "sensor", _sensor_key(BOARD.sensor(name).number))


def _binary_state(hass: HomeAssistant, entry: ConfigEntry, key: str | int) -> str:
    return _state(hass, entry, "binary_sensor", key if isinstance(key, str) else _sensor_key(key)).state


def _assert_sensors_match_ipmitool(hass: HomeAssistant, entry: ConfigEntry, peer: IpmiSimPeer) -> dict[str, State]:
    """Every threshold sensor shows what ipmitool reads now: value, unit, status and thresholds."""
    rows: dict[str, IpmitoolRow] = {name: row for name, row in ipmitool_table(peer).items() if row.unit != "discrete"}
    assert set(rows) == {sensor.name for sensor in BOARD.analog}
    states: dict[str, State] = {}
    for name, row in rows.items():
        state = states[name] = _sensor_state(hass, entry, name)
        if row.value is None:
            assert state.state == STATE_UNAVAILABLE, (name, state)
            continue
        assert float(state.state) == pytest.approx(row.value, abs=IPMITOOL_TOLERANCE), (name, state)
        assert state.attributes["unit_of_measurement"] == IPMITOOL_UNITS[row.unit], name
        assert state.attributes["status"] == IPMITOOL_STATUS[row.status], name
        thresholds = {
            short: state.attributes[long] for short, long in THRESHOLD_ATTRIBUTES.items() if long in state.attributes
        }
        assert thresholds == pytest.approx(row.thresholds, abs=IPMITOOL_TOLERANCE), name
    return states


async def _next_scheduled_poll(hass: HomeAssistant) -> None:
    """Let the scan interval pass and wait for the poll it starts."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEFAULT_SCAN_INTERVAL))
    await hass.async_block_till_done(wait_background_tasks=True)


# ---------------------------------------------------------------------------
# Adding the BMC and what it shows
# ---------------------------------------------------------------------------


async def test_add_bmc_and_every_sensor_matches_ipmitool(
    hass: HomeAssistant, peer: IpmiSimPeer, entry: ConfigEntry
) -> None:
    guid = peer.ipmitool("mc", "guid").split("System GUID", 1)[1].split(":", 1)[1].split()[0]
    firmware = peer.ipmitool("mc", "info").split("Firmware Revision", 1)[1].split(":", 1)[1].split()[0]

    # The entry: named by manufacturer and product id (the peer has no FRU model, and no SDR controller name),
    # never by its address; found again by its GUID; no plaintext secrets.
    assert entry.unique_id == guid
    assert entry.title == f"Supermicro product 0x{BOARD.product_id:04X}"
    assert entry.data[CONF_HOST] == peer.host
    assert entry.data[CONF_PORT] == peer.port
    stored = repr(dict(entry.data))
    assert peer.password not in stored
    assert peer.username not in stored
    assert await async_decrypt_credentials(hass, entry.data) == (peer.username, peer.password)

    # One device: the BMC.
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 1
    device = devices[0]
    assert device.manufacturer == "Supermicro"
    assert device.sw_version == firmware == "1.73"
    assert device.model == f"Product 0x{BOARD.product_id:04X}"
    assert device.identifiers == {(DOMAIN, guid)}
    assert device.name == entry.title

    # A sensor for every threshold SDR sensor, a binary sensor for connectivity, chassis power, hardware
    # health, the chassis intrusion switch and each power supply of the shared record, and the Fan control
    # status. No DCMI power or energy: the BMC does not answer DCMI.
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    by_domain: dict[str, set[str]] = {}
    for entity in entities:
        assert entity.device_id == device.id
        by_domain.setdefault(entity.domain, set()).add(entity.unique_id.removeprefix(f"{guid}_"))
    assert by_domain["sensor"] == {_sensor_key(sensor.number) for sensor in BOARD.analog} | {"fan_control"}
    assert by_domain["binary_sensor"] == {
        "connectivity",
        "chassis_power",
        "hardware_health",
        *(_sensor_key(number) for number in (CHASSIS_INTRUSION, PSU1, PSU2)),
    }

    states = _assert_sensors_match_ipmitool(hass, entry, peer)
    assert states["CPU Temp"].attributes["friendly_name"] == f"{entry.title} CPU Temp"
    assert states["CPU Temp"].attributes["device_class"] == "temperature"
    assert states["12V"].attributes["device_class"] == "voltage"
    assert states["FAN1"].state == "1800.0"
    assert states["FAN1"].attributes["lower_critical"] == 500.0
    # FAN4 is an empty fan header: the entity exists, without a reading.
    assert states["FAN4"].state == STATE_UNAVAILABLE
    assert _binary_state(hass, entry, "connectivity") == STATE_ON
    assert _binary_state(hass, entry, "chassis_power") == STATE_ON
    assert _binary_state(hass, entry, CHASSIS_INTRUSION) == STATE_OFF
    assert _binary_state(hass, entry, PSU1) == STATE_OFF
    assert _binary_state(hass, entry, PSU2) == STATE_OFF
    psu2 = _state(hass, entry, "binary_sensor", _sensor_key(PSU2))
    assert psu2.attributes["device_class"] == "problem"
    assert psu2.attributes["friendly_name"] == f"{entry.title} PS Status 2"
    assert psu2.attributes["asserted"] == ["presence_detected"]
    assert _binary_state(hass, entry, "hardware_health") == STATE_OFF

    # Changes in the BMC show after the next scheduled poll.
    peer.set_sensor_value("CPU Temp", 73)
    peer.set_sensor_value("FAN1", 400)  # below lower critical (500 rpm)
    peer.set_sensor_available(BOARD.sensor("FAN4").number, True)
    peer.set_sensor_value("FAN4", 2500)
    peer.set_discrete_state(CHASSIS_INTRUSION, 0b1)  # chassis opened
    peer.set_discrete_state(PSU2, 0b1001)  # present, AC lost
    peer.set_discrete_state(PSU1, 0b0000)  # pulled out: presence deasserted
    await _next_scheduled_poll(hass)

    states = _assert_sensors_match_ipmitool(hass, entry, peer)
    assert float(states["CPU Temp"].state) == 73.0
    assert float(states["FAN1"].state) == 400.0
    assert states["FAN1"].attributes["status"] == "critical"
    assert float(states["FAN4"].state) == 2500.0
    assert _binary_state(hass, entry, CHASSIS_INTRUSION) == STATE_ON
    assert _binary_state(hass, entry, PSU1) == STATE_ON
    assert _state(hass, entry, "binary_sensor", _sensor_key(PSU1)).attributes["asserted"] == []
    assert _binary_state(hass, entry, PSU2) == STATE_ON
    assert _state(hass, entry, "binary_sensor", _sensor_key(PSU2)).attributes["asserted"] == [
        "presence_detected",
        "input_lost",
    ]
    # FAN1 below its lower critical threshold makes the BMC's hardware health a problem, naming FAN1.
    health = _state(hass, entry, "binary_sensor", "hardware_health")
    assert health.state == STATE_ON
    assert health.attributes["critical"] == ["FAN1"]
    assert health.attributes["entity_ids"] == [_sensor_state(hass, entry, "FAN1").entity_id]
    assert "non_recoverable" not in health.attributes

    # Adding the same BMC again is refused, and the check's login/logout leaves the entry's session alone: the BMC
    # still counts it (plus ipmitool's own), and the next poll needs no new login.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=_user_input(peer))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    active = peer.ipmitool("session", "info", "active").split("active sessions", 1)[1].split(":", 1)[1].split()[0]
    assert int(active) == 2
    peer.set_sensor_value("FAN3", 1200)
    await _coordinator(entry).async_refresh()
    assert float(_sensor_state(hass, entry, "FAN3").state) == 1200.0
    assert _binary_state(hass, entry, "connectivity") == STATE_ON

    # A reload finds the SDR in the cache under Home Assistant's storage and does not read it again.
    assert list(Path(hass.config.path(".storage", SDR_CACHE_DIR)).glob("sdr-*.json"))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    client = entry.runtime_data.client
    sensors = len(_coordinator(entry).sensors)
    # Identity (Get Device ID, GUID, FRU area info) + SDR Repository Info + one poll (sensors, chassis, DCMI)
    # + the health check's Get SEL Info (the SEL position was saved before the reload) + what fan control's
    # read-only probe asks (3 requests for this BMC, which offers no fan control), and one Get Sensor Thresholds
    # per threshold sensor (a sensor's own thresholds may differ from its SDR record's).
    threshold_sensors = sum(1 for sensor in _coordinator(entry).sensors.values() if sensor.is_threshold)
    assert threshold_sensors > 0
    assert client.request_count <= 3 + 1 + sensors + 2 + 1 + 3 + threshold_sensors
    assert float(_sensor_state(hass, entry, "CPU Temp").state) == 73.0
    assert float(_sensor_state(hass, entry, "FAN3").state) == 1200.0


async def test_host_powered_off_at_setup_keeps_every_sensor(hass: HomeAssistant, peer: IpmiSimPeer) -> None:
    """Sensors that read "no reading" while the host is off exist anyway, read once it is on, and go again."""
    peer.set_power(False)
    entry = await _add_bmc(hass, peer)
    try:
        states = _assert_sensors_match_ipmitool(hass, entry, peer)
        for sensor in BOARD.analog:
            expected_available = sensor.present and not sensor.power_dependent
            assert (states[sensor.name].state != STATE_UNAVAILABLE) is expected_available, sensor.name
        assert float(states["System Temp"].state) == 30.0
        assert float(states["12V"].state) == pytest.approx(11.97)
        assert _binary_state(hass, entry, "chassis_power") == STATE_OFF
        assert _binary_state(hass, entry, "connectivity") == STATE_ON
        assert _binary_state(hass, entry, PSU1) == STATE_OFF

        peer.set_power(True)
        await _next_scheduled_poll(hass)
        states = _assert_sensors_match_ipmitool(hass, entry, peer)
        assert float(states["CPU Temp"].state) == 40.0
        assert float(states["FAN1"].state) == 1800.0
        assert states["FAN4"].state == STATE_UNAVAILABLE  # still an empty header
        assert _binary_state(hass, entry, "chassis_power") == STATE_ON

        peer.set_power(False)
        await _next_scheduled_poll(hass)
        states = _assert_sensors_match_ipmitool(hass, entry, peer)
        assert states["CPU Temp"].state == STATE_UNAVAILABLE
        assert float(states["PS1 Power"].state) == 120.0
        assert _binary_state(hass, entry, "chassis_power") == STATE_OFF
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


# ---------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------


async def test_wrong_password_shows_invalid_auth_then_recovers(
    hass: HomeAssistant, peer: IpmiSimPeer, caplog: pytest.LogCaptureFixture
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    start = time.monotonic()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(peer, password="Wrong-Password-9")
    )
    assert time.monotonic() - start < 3
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    # The form keeps the address and user name, not the rejected password.
    schema = result["data_schema"]
    assert schema is not None
    suggested = {str(key): key.description.get("suggested_value") for key in schema.schema if key.description}
    assert suggested[CONF_HOST] == peer.host
    assert suggested[CONF_USERNAME] == peer.username
    assert suggested.get(CONF_PASSWORD) is None
    assert "Wrong-Password-9" not in caplog.text
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(peer))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert float(_sensor_state(hass, entry, "FAN1").state) == 1800.0
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_silent_port_shows_cannot_connect_within_10_s(
    hass: HomeAssistant, peer: IpmiSimPeer, caplog: pytest.LogCaptureFixture
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    start = time.monotonic()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(peer, **{CONF_PORT: _free_udp_port()})
    )
    assert time.monotonic() - start < 10
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert peer.password not in caplog.text
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_peer_killed_mid_run_then_restarted(
    hass: HomeAssistant, peer: IpmiSimPeer, entry: ConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A BMC that dies makes every reading unavailable and connectivity off; back, it shows values again.

    pyghmi declares a session dead about 30 s after the BMC stops answering: that poll dominates this test.
    """
    assert _binary_state(hass, entry, "connectivity") == STATE_ON
    peer.kill()
    start = time.monotonic()
    await _next_scheduled_poll(hass)
    assert time.monotonic() - start < 15

    assert entry.state is ConfigEntryState.LOADED
    assert _binary_state(hass, entry, "connectivity") == STATE_OFF
    for sensor in BOARD.analog:
        assert _sensor_state(hass, entry, sensor.name).state == STATE_UNAVAILABLE, sensor.name
    for key in ("chassis_power", CHASSIS_INTRUSION, PSU1, PSU2):
        assert _binary_state(hass, entry, key) == STATE_UNAVAILABLE, key
    assert peer.password not in caplog.text

    peer.set_sensor_value("FAN2", 2200)
    peer.restart()
    start = time.monotonic()
    await _next_scheduled_poll(hass)
    assert time.monotonic() - start < 10

    assert _binary_state(hass, entry, "connectivity") == STATE_ON
    states = _assert_sensors_match_ipmitool(hass, entry, peer)
    assert float(states["FAN2"].state) == 2200.0
    assert float(states["CPU Temp"].state) == 40.0
    assert _binary_state(hass, entry, "chassis_power") == STATE_ON


async def test_password_changed_on_the_bmc_asks_for_reauthentication(
    hass: HomeAssistant, peer: IpmiSimPeer, entry: ConfigEntry
) -> None:
    """After the BMC's password changed, the next start fails authentication and asks for the new password."""
    peer.set_password("Changed-Pass-2")
    # The running session is not affected; a new login (here: a reload, as after a restart of HA) is refused.
    await _coordinator(entry).async_refresh()
    assert _binary_state(hass, entry, "connectivity") == STATE_ON
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_USERNAME: peer.username, CONF_PASSWORD: "Changed-Pass-2"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await async_decrypt_credentials(hass, entry.data) == (peer.username, "Changed-Pass-2")
    assert float(_sensor_state(hass, entry, "FAN1").state) == 1800.0


async def test_thresholds_in_the_unit_the_state_is_shown_in(hass: HomeAssistant, peer: IpmiSimPeer) -> None:
    """With US customary units a temperature shows in °F: its thresholds must be in °F too."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    entry = await _add_bmc(hass, peer)
    try:
        cpu = _sensor_state(hass, entry, "CPU Temp")
        assert cpu.attributes["unit_of_measurement"] == "°F"
        assert float(cpu.state) == 104.0  # 40 °C
        assert cpu.attributes["status"] == "ok"
        # ipmitool: upper critical 100 °C = 212 °F.
        assert cpu.attributes["upper_critical"] == pytest.approx(212.0)
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
