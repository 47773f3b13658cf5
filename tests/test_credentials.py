"""Tests of encrypting BMC credentials at rest."""

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import storage

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.credentials import (
    STORAGE_KEY,
    CredentialsError,
    async_decrypt_credentials,
    async_encrypt_credentials,
)

from .conftest import PASSWORD, USER_INPUT, USERNAME

# Captured before the hass fixture replaces storage writes by an in-memory dict.
_REAL_WRITE = storage.Store._async_write_data


async def test_round_trip(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """Credentials come back as they went in; the tokens hold neither, and the key is made once."""
    data = await async_encrypt_credentials(hass, USERNAME, PASSWORD)
    assert set(data) == {CONF_USERNAME, CONF_PASSWORD}
    assert USERNAME not in json.dumps(data)
    assert PASSWORD not in json.dumps(data)
    assert await async_decrypt_credentials(hass, data) == (USERNAME, PASSWORD)

    key = hass_storage[STORAGE_KEY]["data"]["key"]
    await async_encrypt_credentials(hass, "other", "secret")
    assert hass_storage[STORAGE_KEY]["data"]["key"] == key


async def test_stored_key_reused(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """The key already in storage (from an earlier run) decrypts what was encrypted with it."""
    key = Fernet.generate_key()
    hass_storage[STORAGE_KEY] = {"version": 1, "data": {"key": key.decode()}}
    fernet = Fernet(key)
    data = {CONF_USERNAME: fernet.encrypt(b"admin").decode(), CONF_PASSWORD: fernet.encrypt(b"s3cret").decode()}
    assert await async_decrypt_credentials(hass, data) == ("admin", "s3cret")
    assert hass_storage[STORAGE_KEY]["data"]["key"] == key.decode()


async def test_damaged_key_replaced(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged key file is replaced by a new key, with a warning."""
    hass_storage[STORAGE_KEY] = {"version": 1, "data": {"key": "not a key"}}
    data = await async_encrypt_credentials(hass, USERNAME, PASSWORD)
    assert await async_decrypt_credentials(hass, data) == (USERNAME, PASSWORD)
    assert hass_storage[STORAGE_KEY]["data"]["key"] != "not a key"
    assert "credential key is damaged" in caplog.text


@pytest.mark.parametrize(
    "data",
    [
        {CONF_USERNAME: "plain", CONF_PASSWORD: "text"},
        {CONF_USERNAME: "missing password"},
        {CONF_USERNAME: None, CONF_PASSWORD: None},
    ],
)
async def test_unreadable(hass: HomeAssistant, data: dict[str, Any]) -> None:
    """Anything that is not a token of this installation's key is refused."""
    with pytest.raises(CredentialsError):
        await async_decrypt_credentials(hass, data)


@pytest.mark.usefixtures("mock_client", "mock_setup_entry")
async def test_entry_holds_no_plaintext(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config entry made by the flow holds tokens only, and the key file on disk is 0600."""
    hass.config.config_dir = str(tmp_path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(storage.Store, "_async_write_data", _REAL_WRITE)
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)
    entry = result["result"]

    text = json.dumps(dict(entry.data))
    assert USERNAME not in text
    assert PASSWORD not in text

    key_file = tmp_path / ".storage" / STORAGE_KEY
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = json.loads(key_file.read_text())["data"]["key"]
    assert key not in text
