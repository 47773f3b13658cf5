"""Tests of the translation of IPMI errors into Home Assistant errors, for the errors no simulator shows.

The errors bmcsim produces (completion codes, silence, refusals by the write gate, a firmware lock, rejected
credentials) are tested end to end in test_control.py and test_services.py; these are the rest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.zephyr_ipmi.helpers import STATE_REFUSALS, VALIDATION_REFUSALS, bmc_errors
from custom_components.zephyr_ipmi.ipmi import IpmiError, IpmiProtocolError, IpmiWrongBmcError
from custom_components.zephyr_ipmi.ipmi.errors import IpmiWriteRefusedError


@pytest.mark.parametrize(
    ("error", "kind", "key", "placeholders"),
    [
        (IpmiWrongBmcError("a different BMC answers"), HomeAssistantError, "wrong_bmc", None),
        (IpmiProtocolError("Get Device ID answered 3 bytes"), HomeAssistantError, "command_failed", None),
        (IpmiError("anything else"), HomeAssistantError, "command_failed", None),
        (IpmiWriteRefusedError("identity_unconfirmed"), HomeAssistantError, "identity_unconfirmed", None),
        (IpmiWriteRefusedError("a_reason_added_later"), HomeAssistantError, "write_refused", None),
        (
            IpmiWriteRefusedError("duty_below_floor", duty="12", floor="20"),
            ServiceValidationError,
            "duty_below_floor",
            {"duty": "12", "floor": "20"},
        ),
    ],
)
async def test_errors_translated(
    error: IpmiError, kind: type[HomeAssistantError], key: str, placeholders: dict[str, str] | None
) -> None:
    """Each IPMI error becomes a translated Home Assistant error; the library's text is never shown."""
    coordinator = MagicMock()

    with pytest.raises(kind) as raised:
        async with bmc_errors(coordinator):
            raise error

    assert type(raised.value) is kind
    assert raised.value.translation_key == key
    if placeholders is not None:
        assert raised.value.translation_placeholders == placeholders
    assert raised.value.__cause__ is error
    coordinator.hass.config_entries.async_schedule_reload.assert_not_called()


def test_every_refusal_has_a_message() -> None:
    """Every refusal reason the write gate or the capabilities name has its own translated message."""
    strings = json.loads((Path(__file__).parents[1] / "custom_components/zephyr_ipmi/strings.json").read_text())
    reasons = VALIDATION_REFUSALS | STATE_REFUSALS | {"write_refused", "fan_control_locked", "command_refused"}
    assert reasons <= set(strings["exceptions"])
    # The reasons the core documents (ipmi/errors.py) are all known here.
    documented = set(re.findall(r"``(\w+)``", IpmiWriteRefusedError.__doc__ or "")) - {"reason", "placeholders"}
    assert documented - {"floor", "duty", "threshold", "fan_control_reason"} <= VALIDATION_REFUSALS | STATE_REFUSALS
