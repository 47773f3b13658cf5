"""Tests of the Zephyr IPMI config flow: user, reauth, reconfigure and options."""

import logging
import re
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SCAN_INTERVAL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.credentials import async_decrypt_credentials
from custom_components.zephyr_ipmi.ipmi import (
    IpmiAuthError,
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiProtocolError,
    IpmiSessionLimitError,
)
from custom_components.zephyr_ipmi.ipmi.session import translate_error

from .conftest import GUID, HOST, IDENTITY, PASSWORD, PORT, USER_INPUT, USERNAME

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


CONNECT_ERRORS = [
    (IpmiAuthError("Incorrect password provided"), "invalid_auth"),
    (IpmiSessionLimitError("no free session"), "session_limit"),
    (IpmiConnectionError("no answer"), "cannot_connect"),
    (IpmiProtocolError("truncated reply"), "cannot_connect"),
    (IpmiCompletionCodeError(0x06, 0x01, 0xC0), "cannot_connect"),
    (RuntimeError("bug"), "unknown"),
]


async def _assert_credentials(hass: HomeAssistant, entry: MockConfigEntry, username: str, password: str) -> None:
    """Assert that the entry holds the given credentials, encrypted."""
    assert username not in entry.data.values()
    assert password not in entry.data.values()
    assert await async_decrypt_credentials(hass, entry.data) == (username, password)


async def test_user_flow(hass: HomeAssistant, mock_client: MagicMock) -> None:
    """A BMC that accepts the credentials is added under its GUID, named by its model."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], USER_INPUT)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Supermicro X11SPM-TF"
    entry = result["result"]
    assert entry.unique_id == GUID
    assert entry.data[CONF_HOST] == HOST
    assert entry.data[CONF_PORT] == PORT
    await _assert_credentials(hass, entry, USERNAME, PASSWORD)
    assert not entry.options
    mock_client.connect.assert_called_once_with()
    mock_client.close.assert_called_once_with()


@pytest.mark.parametrize(
    ("controller_name", "title"),
    [("X11SSH-F BMC", "Supermicro X11SSH-F BMC"), (None, "Supermicro product 0x1B13")],
)
async def test_user_flow_title_without_model(
    hass: HomeAssistant, mock_client: MagicMock, controller_name: str | None, title: str
) -> None:
    """A BMC whose FRU names no model is named by what it reports, never by its address."""
    mock_client.connect.return_value = replace(IDENTITY, model=None)
    mock_client.controller_name.return_value = controller_name
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title


@pytest.mark.parametrize(("side_effect", "error"), CONNECT_ERRORS)
async def test_user_flow_errors(
    hass: HomeAssistant, mock_client: MagicMock, side_effect: Exception, error: str
) -> None:
    """Each failure shows its error, keeps the input but the password, and the flow then recovers."""
    mock_client.connect.side_effect = side_effect
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    suggested = {
        str(key): key.description.get("suggested_value") for key in result["data_schema"].schema if key.description
    }
    assert suggested == {CONF_HOST: HOST, CONF_PORT: PORT, CONF_USERNAME: USERNAME}
    mock_client.close.assert_called_once_with()

    mock_client.connect.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], USER_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_logout_failure_ignored(hass: HomeAssistant, mock_client: MagicMock) -> None:
    """A BMC that fails to log out after validation is still added."""
    mock_client.close.side_effect = IpmiConnectionError("gone")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_error_logged_without_credentials(
    hass: HomeAssistant, mock_client: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected error is logged with its traceback but without the credentials."""
    mock_client.connect.side_effect = RuntimeError("bug")
    await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)
    assert "Unexpected error connecting to the BMC" in caplog.text
    assert "RuntimeError: bug" in caplog.text
    assert USERNAME not in caplog.text
    assert PASSWORD not in caplog.text


README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _as_raised_by_the_core(cause: Exception) -> Exception:
    """The core's error for a pyghmi exception, chained to it as ``ipmi.session`` raises it."""
    error = translate_error(cause)
    error.__cause__ = cause
    return error


async def test_cannot_connect_reason_logged_as_the_readme_says(
    hass: HomeAssistant, mock_client: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's cipher suite hint names the reason the flow logs at debug level when the form says cannot_connect.

    pyghmi raises struct.error when the BMC offers no usable cipher suite (no peer here offers another suite).
    """
    caplog.set_level(logging.DEBUG, logger="custom_components.zephyr_ipmi")
    hint = re.search(r"If the reason is \*([^*]+)\*, cipher suites 17 and 3 are both disabled", README)
    assert hint is not None, "README lost its cipher suite hint"
    assert "enable debug logging" in README[: hint.start()].rsplit("\n", 1)[-1]
    mock_client.connect.side_effect = _as_raised_by_the_core(struct.error("unpack requires a buffer of 4 bytes"))

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)

    assert result["errors"] == {"base": "cannot_connect"}
    (record,) = [r for r in caplog.records if r.name == "custom_components.zephyr_ipmi" and "failed" in r.getMessage()]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith(f"Logging in to the BMC at {HOST} port {PORT} failed: ")
    assert hint.group(1) in record.getMessage()


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (Exception(f"Unauthorized name for b'{USERNAME}'"), ("invalid_auth", "rejected the user name or password")),
        (Exception(f"Invalid role for {USERNAME}: privelege level 3"), ("cannot_connect", "refused the session")),
        (Exception("Insufficient resources for a new session"), ("session_limit", "no free session")),
    ],
)
async def test_failure_reason_logged_without_credentials(
    hass: HomeAssistant,
    mock_client: MagicMock,
    caplog: pytest.LogCaptureFixture,
    cause: Exception,
    expected: tuple[str, str],
) -> None:
    """Each refused login logs the core's reason, never the user name or password pyghmi's own text carries."""
    caplog.set_level(logging.DEBUG, logger="custom_components.zephyr_ipmi")
    mock_client.connect.side_effect = _as_raised_by_the_core(cause)
    error, reason = expected

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}, data=USER_INPUT)

    assert result["errors"] == {"base": error}
    assert f"Logging in to the BMC at {HOST} port {PORT} failed: " in caplog.text
    assert reason in caplog.text
    assert USERNAME not in caplog.text
    assert PASSWORD not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.usefixtures("mock_client")
async def test_user_flow_already_configured(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """A BMC that is already configured is not added twice, whatever address reached it."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data={**USER_INPUT, CONF_HOST: "bmc.example.lan"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth_flow(hass: HomeAssistant, mock_client: MagicMock, mock_config_entry: MockConfigEntry) -> None:
    """New credentials are checked against the stored address and saved encrypted."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"][CONF_HOST] == HOST
    (username_key,) = (key for key in result["data_schema"].schema if key == CONF_USERNAME)
    assert username_key.description == {"suggested_value": USERNAME}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "n3w-Passw0rd"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_HOST] == HOST
    assert mock_config_entry.data[CONF_PORT] == PORT
    await _assert_credentials(hass, mock_config_entry, "admin", "n3w-Passw0rd")
    _, kwargs = mock_client_call(mock_client)
    assert kwargs == {"host": HOST, "port": PORT, "username": "admin", "password": "n3w-Passw0rd"}


def mock_client_call(mock_client: MagicMock) -> tuple[tuple[object, ...], dict[str, object]]:
    """Return how the last BmcClient was built, with its arguments named."""
    client_class = mock_client._mock_new_parent
    args, kwargs = client_class.call_args
    names = ("host", "port", "username", "password")
    return (), dict(zip(names, args, strict=False)) | {k: v for k, v in kwargs.items() if k in names}


@pytest.mark.parametrize(("side_effect", "error"), CONNECT_ERRORS)
async def test_reauth_flow_errors(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_config_entry: MockConfigEntry,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows its error and keeps the typed user name; the flow then recovers."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    mock_client.connect.side_effect = side_effect

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    (username_key,) = (key for key in result["data_schema"].schema if key == CONF_USERNAME)
    assert username_key.description == {"suggested_value": "admin"}

    mock_client.connect.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "right"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


async def test_reauth_flow_unreadable_credentials(
    hass: HomeAssistant, mock_client: MagicMock, mock_config_entry: MockConfigEntry
) -> None:
    """When the stored credentials cannot be decrypted, no user name is suggested and new ones are saved."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_USERNAME: "garbage", CONF_PASSWORD: "garbage"}
    )
    result = await mock_config_entry.start_reauth_flow(hass)
    (username_key,) = (key for key in result["data_schema"].schema if key == CONF_USERNAME)
    assert not username_key.description

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await _assert_credentials(hass, mock_config_entry, USERNAME, PASSWORD)


async def test_reauth_flow_other_bmc(
    hass: HomeAssistant, mock_client: MagicMock, mock_config_entry: MockConfigEntry
) -> None:
    """Reauthentication that reaches a different BMC aborts and changes nothing."""
    mock_config_entry.add_to_hass(hass)
    data = dict(mock_config_entry.data)
    mock_client.connect.return_value = replace(IDENTITY, guid="00000000-1111-2222-3333-444444444444")
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "other"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert mock_config_entry.data == data


async def test_reconfigure_flow(
    hass: HomeAssistant, mock_client: MagicMock, mock_config_entry: MockConfigEntry
) -> None:
    """A new address is saved once the same BMC answers there with the stored credentials."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "bmc.example.lan", CONF_PORT: 6230}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_HOST] == "bmc.example.lan"
    assert mock_config_entry.data[CONF_PORT] == 6230
    await _assert_credentials(hass, mock_config_entry, USERNAME, PASSWORD)
    _, kwargs = mock_client_call(mock_client)
    assert kwargs == {"host": "bmc.example.lan", "port": 6230, "username": USERNAME, "password": PASSWORD}


@pytest.mark.parametrize(("side_effect", "error"), CONNECT_ERRORS)
async def test_reconfigure_flow_errors(
    hass: HomeAssistant,
    mock_client: MagicMock,
    mock_config_entry: MockConfigEntry,
    side_effect: Exception,
    error: str,
) -> None:
    """Each failure shows its error with the typed address; the flow then recovers."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    mock_client.connect.side_effect = side_effect

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "192.0.2.99", CONF_PORT: PORT}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    mock_client.connect.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "192.0.2.46", CONF_PORT: PORT}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_HOST] == "192.0.2.46"


async def test_reconfigure_flow_other_bmc(
    hass: HomeAssistant, mock_client: MagicMock, mock_config_entry: MockConfigEntry
) -> None:
    """An address where a different BMC answers is refused."""
    mock_config_entry.add_to_hass(hass)
    mock_client.connect.return_value = replace(IDENTITY, guid="00000000-1111-2222-3333-444444444444")
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "192.0.2.99", CONF_PORT: PORT}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert mock_config_entry.data[CONF_HOST] == HOST


@pytest.mark.usefixtures("mock_client")
async def test_reconfigure_flow_unreadable_credentials(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Reconfiguring an entry whose credentials cannot be decrypted asks for reauthentication first."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, data={**mock_config_entry.data, CONF_PASSWORD: "x"})
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "192.0.2.99", CONF_PORT: PORT}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "credentials_unreadable"


async def test_options_flow(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The scan interval defaults to 300 s and is saved as whole seconds; non-admin control is off by default."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "polling"
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested == {
        CONF_SCAN_INTERVAL: {"suggested_value": 300},
        "allow_non_admin_control": {"suggested_value": False},
    }

    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: 60.0})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {CONF_SCAN_INTERVAL: 60, "allow_non_admin_control": False}
    assert isinstance(mock_config_entry.options[CONF_SCAN_INTERVAL], int)

    # The form shows the saved values the next time.
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 60, "allow_non_admin_control": True}
    )
    assert mock_config_entry.options == {CONF_SCAN_INTERVAL: 60, "allow_non_admin_control": True}
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested["allow_non_admin_control"] == {"suggested_value": True}


@pytest.mark.parametrize("value", [9, 3601, 12.5])
async def test_options_flow_range(hass: HomeAssistant, mock_config_entry: MockConfigEntry, value: float) -> None:
    """Scan intervals outside 10-3600 s or not whole seconds get a translated field error, then can be fixed."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})

    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: value})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SCAN_INTERVAL: "scan_interval_out_of_range"}
    # The message's numbers are whole seconds, as the field takes them.
    assert result["description_placeholders"] == {"min": "10", "max": "3600"}
    suggested = {str(key): key.description for key in result["data_schema"].schema}
    assert suggested[CONF_SCAN_INTERVAL] == {"suggested_value": value}
    assert mock_config_entry.options == {}

    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: 3600})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {CONF_SCAN_INTERVAL: 3600, "allow_non_admin_control": False}


async def test_options_flow_refuses_what_is_no_number(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Text in the number box is refused by the schema before the step runs."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    with pytest.raises(InvalidData, match="scan_interval"):
        await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: "often"})


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (CONF_USERNAME, "operator-account-1", "username_too_long"),
        (CONF_PASSWORD, "ä" * 11, "password_too_long"),
    ],
)
async def test_user_flow_rejects_credentials_ipmi_cannot_hold(
    hass: HomeAssistant, mock_client: MagicMock, field: str, value: str, error: str
) -> None:
    """User names over 16 bytes and passwords over 20 bytes never reach the BMC; the field says why."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {**USER_INPUT, field: value})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    mock_client.connect.assert_not_called()


async def _options_page(hass: HomeAssistant, entry: MockConfigEntry, page: str) -> dict[str, Any]:
    """Open the options and pick ``page`` from the menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["polling", "alerts", "sensor_limits"]
    return dict(await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": page}))


ALERT_OPTIONS = {
    "unreachable_polls": 5.0,
    "alert_cooldown": 600.0,
    "cpu_temperature_warning": 75.0,
    "cpu_temperature_critical": 85.0,
    "temperature_warning": 55.0,
    "temperature_critical": 65.0,
}


async def test_alert_options(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The alert page shows the defaults, saves whole numbers and keeps the other options."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_SCAN_INTERVAL: 60})
    result = await _options_page(hass, mock_config_entry, "alerts")
    assert result["step_id"] == "alerts"
    suggested = {key.schema: key.description["suggested_value"] for key in result["data_schema"].schema}
    assert suggested == {
        "unreachable_polls": 3,
        "alert_cooldown": 300,
        "cpu_temperature_warning": 80.0,
        "cpu_temperature_critical": 90.0,
        "temperature_warning": 70.0,
        "temperature_critical": 80.0,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], ALERT_OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_SCAN_INTERVAL: 60,
        "unreachable_polls": 5,
        "alert_cooldown": 600,
        "cpu_temperature_warning": 75,
        "cpu_temperature_critical": 85,
        "temperature_warning": 55,
        "temperature_critical": 65,
    }
    # The polling page keeps the alert options.
    result = await _options_page(hass, mock_config_entry, "polling")
    await hass.config_entries.options.async_configure(result["flow_id"], {CONF_SCAN_INTERVAL: 120})
    assert mock_config_entry.options["alert_cooldown"] == 600
    assert mock_config_entry.options[CONF_SCAN_INTERVAL] == 120


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"unreachable_polls": 0.0}, {"unreachable_polls": "value_out_of_range"}),
        ({"unreachable_polls": 2.5}, {"unreachable_polls": "value_out_of_range"}),
        ({"alert_cooldown": 86401.0}, {"alert_cooldown": "value_out_of_range"}),
        ({"cpu_temperature_warning": 10.0}, {"cpu_temperature_warning": "value_out_of_range"}),
        ({"cpu_temperature_critical": 75.0}, {"cpu_temperature_critical": "critical_not_above_warning"}),
        (
            {"temperature_warning": 70.0, "temperature_critical": 151.0},
            {"temperature_critical": "value_out_of_range"},
        ),
        ({"temperature_critical": 50.0}, {"temperature_critical": "critical_not_above_warning"}),
    ],
)
async def test_alert_options_errors(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, changes: dict[str, float], errors: dict[str, str]
) -> None:
    """Values out of range, or a critical limit not above its warning, get a translated field error."""
    mock_config_entry.add_to_hass(hass)
    result = await _options_page(hass, mock_config_entry, "alerts")
    result = await hass.config_entries.options.async_configure(result["flow_id"], ALERT_OPTIONS | changes)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert mock_config_entry.options == {}
    result = await hass.config_entries.options.async_configure(result["flow_id"], ALERT_OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_sensor_limits_need_the_bmc_loaded(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await _options_page(hass, mock_config_entry, "sensor_limits")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bmc_not_loaded"
