"""Encryption at rest of BMC credentials: Fernet tokens under a per-installation key kept in HA storage.

The key lives in ``.storage/zephyr_ipmi.key`` (written 0600); config entries hold only tokens, so a copy
of ``core.config_entries`` alone does not reveal a BMC's user name or password.
"""

from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.singleton import singleton
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER

STORAGE_KEY = f"{DOMAIN}.key"
STORAGE_VERSION = 1
_DATA_FERNET: HassKey[Fernet] = HassKey(f"{DOMAIN}_fernet")


class CredentialsError(HomeAssistantError):
    """Stored credentials cannot be decrypted (the key changed or the token is damaged)."""


@singleton(_DATA_FERNET, async_=True)
async def _async_get_fernet(hass: HomeAssistant) -> Fernet:
    """Return the installation's Fernet, creating and storing its key on first use."""
    store: Store[dict[str, str]] = Store(hass, STORAGE_VERSION, STORAGE_KEY, private=True)
    if (stored := await store.async_load()) is not None:
        try:
            return Fernet(stored["key"])
        except KeyError, TypeError, ValueError:
            LOGGER.warning("The stored credential key is damaged; a new one is made and BMCs need reauthentication")
    key = Fernet.generate_key().decode()
    await store.async_save({"key": key})
    return Fernet(key)


async def async_remove_key(hass: HomeAssistant) -> None:
    """Delete the installation's key (once no entry holds a token made with it); the next use makes a new one."""
    hass.data.pop(_DATA_FERNET, None)
    await Store(hass, STORAGE_VERSION, STORAGE_KEY, private=True).async_remove()


async def async_encrypt_credentials(hass: HomeAssistant, username: str, password: str) -> dict[str, str]:
    """Return config entry data holding ``username`` and ``password`` as Fernet tokens."""
    fernet = await _async_get_fernet(hass)
    return {
        CONF_USERNAME: fernet.encrypt(username.encode()).decode(),
        CONF_PASSWORD: fernet.encrypt(password.encode()).decode(),
    }


async def async_decrypt_credentials(hass: HomeAssistant, data: Mapping[str, Any]) -> tuple[str, str]:
    """Return the plaintext ``(username, password)`` of config entry data; raise ``CredentialsError``."""
    fernet = await _async_get_fernet(hass)
    try:
        return (
            fernet.decrypt(data[CONF_USERNAME]).decode(),
            fernet.decrypt(data[CONF_PASSWORD]).decode(),
        )
    except (InvalidToken, KeyError, TypeError) as err:
        raise CredentialsError(translation_domain=DOMAIN, translation_key="credentials_unreadable") from err


async def async_encrypt_secret(hass: HomeAssistant, secret: str) -> str:
    """Return ``secret`` (a webhook URL, a bot token) as a Fernet token under the installation's key."""
    fernet = await _async_get_fernet(hass)
    return fernet.encrypt(secret.encode()).decode()


async def async_decrypt_secret(hass: HomeAssistant, token: str) -> str:
    """Return the plaintext of a token made by ``async_encrypt_secret``; raise ``CredentialsError``."""
    fernet = await _async_get_fernet(hass)
    try:
        return fernet.decrypt(token).decode()
    except (InvalidToken, TypeError) as err:
        raise CredentialsError(translation_domain=DOMAIN, translation_key="credentials_unreadable") from err
