"""Zephyr IPMI: monitor server BMCs over IPMI 2.0 (RMCP+, lanplus)."""

from __future__ import annotations

from pathlib import Path

from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
    EVENT_HOMEASSISTANT_STOP,
    Platform,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, SDR_CACHE_DIR
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator, ZephyrRuntimeData
from .credentials import CredentialsError, async_decrypt_credentials
from .delivery import (
    async_setup_channels_entry,
    async_setup_delivery,
    async_unload_channels_entry,
    is_channels_entry,
)
from .health import HealthMonitor, async_remove_health
from .ipmi import BmcClient
from .issues import async_delete_wrong_bmc_issue

PLATFORMS = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start alert delivery (routing and the outbox), which serves every entry."""
    await async_setup_delivery(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> bool:
    """Connect to the BMC, read its SDR and first poll, then set up the platforms."""
    if is_channels_entry(entry):
        return await async_setup_channels_entry(hass, entry)
    try:
        username, password = await async_decrypt_credentials(hass, entry.data)
    except CredentialsError as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="credentials_unreadable") from err

    client = BmcClient(
        entry.data[CONF_HOST],
        entry.data[CONF_PORT],
        username,
        password,
        sdr_cache_dir=Path(hass.config.path(STORAGE_DIR, SDR_CACHE_DIR)),
    )
    coordinator = ZephyrCoordinator(hass, entry, client)
    try:
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        # Each setup retry builds a new client; log out so retries do not use up the BMC's sessions.
        await hass.async_add_executor_job(client.close)
        raise

    health = HealthMonitor(hass, entry, coordinator)
    await health.async_load()
    entry.runtime_data = ZephyrRuntimeData(client=client, coordinator=coordinator, health=health)

    async def _async_close_on_stop(_: Event) -> None:
        """Log out when Home Assistant stops, so the BMC frees the session at once."""
        await hass.async_add_executor_job(client.close)

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    health.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> bool:
    """Unload the platforms and log out of the BMC."""
    if is_channels_entry(entry):
        return await async_unload_channels_entry(hass, entry)
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await hass.async_add_executor_job(entry.runtime_data.client.close)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> None:
    """Clear the entry's repair issues and saved health state when the entry is deleted."""
    async_delete_wrong_bmc_issue(hass, entry)
    await async_remove_health(hass, entry.entry_id)
