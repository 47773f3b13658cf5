"""Tests of the Zephyr IPMI diagnostics."""

import json

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .conftest import GUID, HOST, PASSWORD, SERIAL, USERNAME


@pytest.mark.usefixtures("init_integration")
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics hold the identity, SDR, snapshot and polls, and no secret at all."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    volatile = ("start", "duration", "incident_id", "entry_id", "time", "started", "last_seen")
    assert diagnostics == snapshot(exclude=lambda prop, path: prop in volatile)
    # The health alerts of the fake BMC's discrete states (intrusion, memory parity error) are open incidents.
    assert [i["kind"] for i in diagnostics["health"]["incidents"]] == ["chassis_intrusion", "memory_uncorrectable_ecc"]

    text = json.dumps(diagnostics)
    for secret in (USERNAME, PASSWORD, HOST, GUID, SERIAL, mock_config_entry.data["password"]):
        assert secret not in text
    assert [poll["result"] for poll in diagnostics["polls"]] == ["ok"]
