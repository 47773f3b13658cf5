"""Tests of the Zephyr IPMI logbook: each audited write shows as a logbook entry, in Home Assistant's logbook."""

from __future__ import annotations

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from .control_helpers import SimFactory, async_add, entity_id, start_sim

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """Prepare the recorder's database before Home Assistant starts: the logbook reads from it."""


@pytest.mark.usefixtures("recorder_mock")
async def test_writes_in_the_logbook(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser, hass_ws_client: WebSocketGenerator
) -> None:
    """Setting a zone's duty shows two entries under the BMC's name: the mode and the duty, with their bytes."""
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow()
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    context = Context(user_id=hass_admin_user.id)

    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": 40},
        blocking=True,
        context=context,
    )
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "logbook/get_events", "start_time": start.isoformat()})
    response = await client.receive_json()
    ours = [item for item in response["result"] if item.get("domain") == "zephyr_ipmi"]
    assert [(item["name"], item["message"], item["icon"]) for item in ours] == [
        (entry.title, "fan mode set to Full (read back Full)", "mdi:fan"),
        (entry.title, "CPU zone set to 40 % (read back 40 %)", "mdi:fan"),
    ]
    # The bytes stay in the audit trail (diagnostics): Supermicro's fan mode and zone duty commands.
    assert [(item["netfn"], item["cmd"], item["data"]) for item in entry.runtime_data.control.audit] == [
        (0x30, 0x45, "0101"),
        (0x30, 0x70, "66010028"),
    ]
    assert {item["context_user_id"] for item in ours} == {hass_admin_user.id}
