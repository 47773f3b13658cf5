"""Tests of setting up and unloading Zephyr IPMI config entries."""

from datetime import timedelta
from pathlib import Path
from unittest.mock import MagicMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_SCAN_INTERVAL, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.ipmi import IpmiAuthError, IpmiConnectionError

from .conftest import GUID, HOST, IDENTITY, PASSWORD, PORT, USERNAME


async def test_setup_and_unload(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Setup builds the client from decrypted credentials; unload logs out of the BMC."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    client_class = mock_client._mock_new_parent
    client_class.assert_called_once_with(
        HOST,
        PORT,
        USERNAME,
        PASSWORD,
        sdr_cache_dir=Path(hass.config.path(".storage", "zephyr_ipmi_sdr")),
        sdr_cache_key=mock_config_entry.unique_id,
    )
    coordinator = mock_config_entry.runtime_data.coordinator
    assert coordinator.identity == IDENTITY
    assert coordinator.update_interval == timedelta(seconds=300)
    mock_client.close.assert_not_called()

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    mock_client.close.assert_called_once_with()


@pytest.mark.parametrize("failing", ["connect", "sensors", "poll"])
async def test_setup_connection_error_retries(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock, failing: str
) -> None:
    """An unreachable BMC puts the entry in setup retry, and the session is closed before the next try."""
    getattr(mock_client, failing).side_effect = IpmiConnectionError("no answer")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == "Could not read the BMC: no answer"
    mock_client.close.assert_called_once_with()


async def test_setup_other_bmc_retries(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """When another BMC answers at the configured address, nothing is set up for it."""
    mock_client.connect.return_value = MagicMock(unique_id="00000000-1111-2222-3333-444444444444")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "A different BMC answers" in (mock_config_entry.reason or "")
    mock_client.sensors.assert_not_called()


async def test_setup_auth_error_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Rejected credentials at setup start a reauthentication flow."""
    mock_client.connect.side_effect = IpmiAuthError("Incorrect password provided")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    _assert_reauth_started(hass, mock_config_entry)
    mock_client.close.assert_called_once_with()


async def test_setup_unreadable_credentials_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Credentials that cannot be decrypted (lost key) ask the user for them again."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_PASSWORD: "not-a-token"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    _assert_reauth_started(hass, mock_config_entry)
    mock_client._mock_new_parent.assert_not_called()


async def test_auth_error_while_polling_starts_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Credentials changed on the BMC after setup start a reauthentication flow."""
    mock_client.poll.side_effect = IpmiAuthError("Unauthorized name in RAKP2")
    freezer.tick(timedelta(seconds=300))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    _assert_reauth_started(hass, init_integration)


def _assert_reauth_started(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Assert that exactly one reauthentication flow runs for ``entry``."""
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [(flow["context"]["source"], flow["context"]["entry_id"]) for flow in flows] == [
        (SOURCE_REAUTH, entry.entry_id)
    ]


async def test_close_on_stop(hass: HomeAssistant, init_integration: MockConfigEntry, mock_client: MagicMock) -> None:
    """Home Assistant stopping logs out of the BMC so it frees the session at once."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    mock_client.close.assert_called_once_with()


async def test_options_change_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A new scan interval reloads the entry, which then polls at that interval."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: 30})
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.coordinator.update_interval == timedelta(seconds=30)
    # Each setup checks the BMC's identity twice: for fan control (first) and for polling.
    assert mock_client.connect.call_count == 4
    mock_client.close.assert_called_once_with()
    assert init_integration.unique_id == GUID


async def test_failed_unload_keeps_session(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_client: MagicMock
) -> None:
    """When a platform refuses to unload, the entry stays loaded and keeps its session."""
    with patch.object(hass.config_entries, "async_unload_platforms", return_value=False):
        assert not await hass.config_entries.async_unload(init_integration.entry_id)
    mock_client.close.assert_not_called()
