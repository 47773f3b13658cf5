"""Fixtures of the Zephyr IPMI tests: a config entry and a fake BMC client with realistic models."""

# First: pytest-homeassistant-custom-component's testing_config/custom_components would shadow ours.
from custom_components.zephyr_ipmi.const import DOMAIN  # isort: skip

import shutil
from collections.abc import Generator
from contextlib import nullcontext
from pathlib import Path
from unittest.mock import MagicMock, PropertyMock, patch

import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from bmcsim.pytest_fixture import bmc_sim, bmc_sim_factory  # noqa: F401 - shared fixtures
from custom_components.zephyr_ipmi.credentials import async_encrypt_credentials
from custom_components.zephyr_ipmi.ipmi import (
    BmcIdentity,
    BmcSnapshot,
    PowerReading,
    SdrSensor,
    SensorKind,
    SensorReading,
    SensorStatus,
)
from custom_components.zephyr_ipmi.ipmi.models import Conversion
from custom_components.zephyr_ipmi.ipmi.vendors import Capabilities
from tests.delivery_helpers import sink  # noqa: F401 - shared fixture
from tests.peers.fixtures import ipmi_sim_peer, pyghmi_io_thread  # noqa: F401 - shared fixtures

HOST = "192.0.2.45"
PORT = 623
USERNAME = "zephyr-monitor"
PASSWORD = "Fan-Curve-7781"
GUID = "4c4c4544-0042-3510-8051-b4c04f4e3232"
SERIAL = "ZM19AS012345"
USER_INPUT = {CONF_HOST: HOST, CONF_PORT: PORT, CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD}


def conversion(m: int, k2: int = 0) -> Conversion:
    """Return a linear, unsigned conversion y = m x 10^k2."""
    return Conversion(m=m, b=0, k1=0, k2=k2, analog_format=0, linearization=0)


def sdr(key: str, name: str, kind: SensorKind, unit: str | None, **kwargs: object) -> SdrSensor:
    """Return an SDR sensor owned by the BMC (0x20), LUN 0, numbered after its key."""
    number = int(key.rsplit("_", 1)[1])
    fields: dict[str, object] = {
        "record_id": number,
        "owner": 0x20,
        "lun": 0,
        "number": number,
        "entity_id": 0x07,
        "entity_instance": 1,
        "sensor_type": 0x01,
        "reading_type": 0x01,
        "conversion": conversion(1),
    }
    fields.update(kwargs)
    return SdrSensor(key=key, name=name, kind=kind, unit=unit, **fields)  # type: ignore[arg-type]


IDENTITY = BmcIdentity(
    manufacturer_id=10876,
    manufacturer="Supermicro",
    product_id=0x1B13,
    device_id=0x20,
    device_revision=1,
    firmware="1.74",
    ipmi_version="2.0",
    guid=GUID,
    model="X11SPM-TF",
    serial=SERIAL,
)

SENSORS = [
    sdr(
        "20_0_1",
        "CPU Temp",
        SensorKind.TEMPERATURE,
        "°C",
        thresholds={"lcr": 5.0, "lnc": 10.0, "unc": 85.0, "ucr": 95.0, "unr": 100.0},
    ),
    sdr("20_0_2", "System Temp", SensorKind.TEMPERATURE, "°C", entity_id=0x17, thresholds={"ucr": 85.0}),
    sdr(
        "20_0_65",
        "FAN1",
        SensorKind.FAN,
        "rpm",
        sensor_type=0x04,
        entity_id=0x1D,
        conversion=conversion(100),
        thresholds={"lnr": 300.0, "lcr": 500.0, "lnc": 700.0, "unc": 25300.0},
    ),
    sdr("20_0_66", "FAN2", SensorKind.FAN, "rpm", sensor_type=0x04, entity_id=0x1D, conversion=conversion(100)),
    sdr("20_0_48", "12V", SensorKind.VOLTAGE, "V", sensor_type=0x02, conversion=conversion(7, -2)),
    sdr("20_0_200", "PS1 Current", SensorKind.CURRENT, "A", sensor_type=0x03, conversion=conversion(1, -1)),
    sdr("20_0_201", "PS1 Input Power", SensorKind.POWER, "W", sensor_type=0x0B, conversion=conversion(2)),
    sdr("20_0_170", "Chassis Intru", SensorKind.DISCRETE, None, sensor_type=0x05, reading_type=0x6F, conversion=None),
    # Power supply: the record declares offsets 0-3 (presence, failure, predictive failure, input lost).
    sdr(
        "20_0_202",
        "PS1 Status",
        SensorKind.DISCRETE,
        None,
        sensor_type=0x08,
        reading_type=0x6F,
        conversion=None,
        state_mask=0x000F,
    ),
    sdr("20_0_210", "DIMM Status", SensorKind.DISCRETE, None, sensor_type=0x0C, reading_type=0x6F, conversion=None),
    # Several meanings, so enum sensors: a watchdog, and power supply redundancy (generic reading type 0Bh).
    sdr("20_0_180", "Watchdog2", SensorKind.DISCRETE, None, sensor_type=0x23, reading_type=0x6F, conversion=None),
    sdr("20_0_203", "PS Redundancy", SensorKind.DISCRETE, None, sensor_type=0x08, reading_type=0x0B, conversion=None),
]


def ok(value: float | None, status: SensorStatus = SensorStatus.OK) -> SensorReading:
    """Return an available threshold reading."""
    return SensorReading(value=value, status=status, available=True)


def states(mask: int) -> SensorReading:
    """Return an available discrete reading with the given asserted states."""
    return SensorReading(value=None, status=None, available=True, states=mask)


SNAPSHOT = BmcSnapshot(
    readings={
        "20_0_1": ok(47.0),
        "20_0_2": ok(31.0),
        "20_0_65": ok(1800.0, SensorStatus.OK),
        # FAN2 reads nothing while the host is off or the header is empty.
        "20_0_66": SensorReading(value=None, status=None, available=False),
        "20_0_48": ok(12.18),
        "20_0_200": ok(1.6),
        "20_0_201": ok(186.0),
        "20_0_170": states(0b1),
        "20_0_202": states(0b1),
        "20_0_210": states(0b100),
        "20_0_180": states(0),
        "20_0_203": states(0b1),
    },
    power_on=True,
    power=PowerReading(current=182.0, minimum=96.0, maximum=311.0, average=175.0),
)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize Home Assistant objects (states, registry entries) the way HA core's tests do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own folder, never in the plugin's shared ``testing_config``.

    ``hass_tmp_config_dir`` copies that shared folder, which is a file tree in the (shared) virtualenv:
    a test that ran Home Assistant there left SDR caches behind. They are removed from the copy, so a test
    never reads a cache it did not write.
    """
    shutil.rmtree(Path(hass_tmp_config_dir, ".storage"), ignore_errors=True)
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load the integration from custom_components, in tests that run Home Assistant.

    Tests of the IPMI core (tests/ipmi, tests/peers) need no Home Assistant instance, so none is started for them.
    """
    if "hass" in request.fixturenames:
        if "recorder_mock" in request.fixturenames:
            # The recorder's database must be prepared before Home Assistant starts.
            request.getfixturevalue("recorder_db_url")
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
async def mock_config_entry(hass: HomeAssistant) -> MockConfigEntry:
    """Return a config entry of the fake BMC, with its credentials encrypted as the flow stores them."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Supermicro X11SPM-TF",
        unique_id=GUID,
        data={
            CONF_HOST: HOST,
            CONF_PORT: PORT,
            **await async_encrypt_credentials(hass, USERNAME, PASSWORD),
        },
    )


MONITORING_ONLY = Capabilities(vendor="generic", fan_control=False, fan_control_reason="generic_monitoring_only")


@pytest.fixture
def mock_client() -> Generator[MagicMock]:
    """Patch BmcClient everywhere it is built; return the one fake client instance.

    Its fan controller is a fake of a BMC without fan or power control (fan control is tested against bmcsim).
    """
    with (
        patch("custom_components.zephyr_ipmi.BmcClient", autospec=True) as client_class,
        patch("custom_components.zephyr_ipmi.config_flow.BmcClient", new=client_class),
        patch("custom_components.zephyr_ipmi.fan_control.FanController", autospec=True) as controller_class,
    ):
        client: MagicMock = client_class.return_value
        client.connect.return_value = IDENTITY
        client.controller_name.return_value = None
        client.sensor_list_version = 0
        client.closed = False
        client.sensors.return_value = list(SENSORS)
        client.check_sdr.return_value = False
        client.poll.return_value = SNAPSHOT
        controller = controller_class.return_value
        controller.probe.return_value = MONITORING_ONLY
        controller.capabilities = MONITORING_ONLY
        controller.holding = False
        controller.lost = False
        controller.persisted.return_value = {"version": 1, "holding": False, "baseline": None}
        yield client


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that start disabled (destructive power buttons, single fans) as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def mock_setup_entry() -> Generator[MagicMock]:
    """Keep config flow tests from setting up the entry they create."""
    with patch("custom_components.zephyr_ipmi.async_setup_entry", return_value=True) as setup_entry:
        yield setup_entry


@pytest.fixture
def platforms() -> list[Platform] | None:
    """Limit the platforms set up by ``init_integration`` (None: all)."""
    return None


async def setup_integration(
    hass: HomeAssistant, entry: MockConfigEntry, platforms: list[Platform] | None = None
) -> None:
    """Add ``entry`` and set it up, limited to ``platforms`` when given."""
    entry.add_to_hass(hass)
    context = nullcontext() if platforms is None else patch("custom_components.zephyr_ipmi.PLATFORMS", platforms)
    with context:
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_client: MagicMock,
    platforms: list[Platform] | None,
) -> MockConfigEntry:
    """Set up the integration with the fake BMC."""
    await setup_integration(hass, mock_config_entry, platforms)
    return mock_config_entry


@pytest.fixture(autouse=True, scope="session")
def _pyghmi_io_thread_first(request: pytest.FixtureRequest) -> None:
    """Start pyghmi's process-wide I/O thread before any test's thread snapshot (it never ends)."""
    request.getfixturevalue("pyghmi_io_thread")
