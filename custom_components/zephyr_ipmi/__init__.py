"""Zephyr IPMI: monitor server BMCs over IPMI 2.0 (RMCP+, lanplus) and control their fans and power."""

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

from .automatic import ZephyrAutomaticCoordinator
from .const import DOMAIN, SDR_CACHE_DIR
from .coordinator import ZephyrConfigEntry, ZephyrCoordinator, ZephyrRuntimeData
from .credentials import CredentialsError, async_decrypt_credentials, async_remove_key
from .delivery import (
    async_setup_channels_entry,
    async_setup_delivery,
    async_unload_channels_entry,
    is_channels_entry,
)
from .fan_control import ZephyrControlCoordinator, async_remove_control
from .health import HealthMonitor, async_remove_health, async_setup_failed
from .ipmi import BmcClient, remove_sdr_cache
from .issues import async_delete_wrong_bmc_issue
from .services import async_setup_services

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.FAN,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start alert delivery (routing and the outbox), which serves every entry, and register the actions."""
    await async_setup_delivery(hass)
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> bool:
    """Connect to the BMC, hand back fan control left over from a crash, read its SDR, set up the platforms."""
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
        sdr_cache_dir=_sdr_cache_dir(hass),
        sdr_cache_key=_sdr_cache_key(entry),
    )
    coordinator = ZephyrCoordinator(hass, entry, client)
    control = ZephyrControlCoordinator(hass, entry, client)
    try:
        # Fan control first: after a crash, the fans go back to the BMC before anything else is asked.
        await control.async_config_entry_first_refresh()
        await coordinator.async_config_entry_first_refresh()
    except BaseException as err:
        # Each setup retry builds a new client; log out so retries do not use up the BMC's sessions.
        await hass.async_add_executor_job(client.close)
        await async_setup_failed(hass, entry, err)
        raise

    health = HealthMonitor(hass, entry, coordinator)
    await health.async_load()
    entry.runtime_data = ZephyrRuntimeData(client=client, coordinator=coordinator, control=control, health=health)
    if control.fan_control:
        # Automatic fan control resumes (when the owner left it on) only after a first good read.
        automatic = entry.runtime_data.automatic = ZephyrAutomaticCoordinator(hass, entry, control)
        await automatic.async_refresh()

    async def _async_stop(_: Event) -> None:
        """Hand fan control back and log out when Home Assistant stops, so the BMC frees the session at once."""
        if entry.runtime_data.automatic is not None:
            entry.runtime_data.automatic.suspend()
        await control.async_hand_back("stop")
        await hass.async_add_executor_job(client.close)

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    health.async_start()
    return True


def _sdr_cache_dir(hass: HomeAssistant) -> Path:
    """Return the folder of the BMCs' cached SDRs, in Home Assistant's storage folder."""
    return Path(hass.config.path(STORAGE_DIR, SDR_CACHE_DIR))


def _sdr_cache_key(entry: ZephyrConfigEntry) -> str:
    """Return the name of an entry's cached SDR: its unique id (the BMC's), found at removal without the BMC."""
    return entry.unique_id or entry.entry_id


async def async_unload_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> bool:
    """Hand fan control back to the BMC, unload the platforms and log out."""
    if is_channels_entry(entry):
        return await async_unload_channels_entry(hass, entry)
    # First, whatever happens next: an entry being unloaded (or reloaded, or removed) supervises nothing.
    if entry.runtime_data.automatic is not None:
        entry.runtime_data.automatic.suspend()
    await entry.runtime_data.control.async_hand_back("unload")
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await hass.async_add_executor_job(entry.runtime_data.client.close)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ZephyrConfigEntry) -> None:
    """Clear the entry's repair issues, health state, cached SDR and its control state unless a hand-back is owed.

    The last entry removed also deletes the credential key: nothing encrypted with it is left.
    """
    async_delete_wrong_bmc_issue(hass, entry)
    await async_remove_health(hass, entry.entry_id)
    if not is_channels_entry(entry):
        await async_remove_control(hass, entry)
        await hass.async_add_executor_job(remove_sdr_cache, _sdr_cache_dir(hass), _sdr_cache_key(entry))
    if not hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        await async_remove_key(hass)
