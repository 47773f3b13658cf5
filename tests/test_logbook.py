"""Tests of the Zephyr IPMI logbook: each audited write shows as a logbook entry, in Home Assistant's logbook."""

from __future__ import annotations

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.zephyr_ipmi.logbook import describe_audit

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
    assert [(item["name"], item["message"]) for item in ours] == [
        (entry.title, "set_fan_mode (netfn 0x30 cmd 0x45 01 01): ok (read back full)"),
        (entry.title, "set_zone_duty (netfn 0x30 cmd 0x70 66 01 00 28): ok (read back 40)"),
    ]
    assert {item["context_user_id"] for item in ours} == {hass_admin_user.id}


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        (
            {
                "command": "raw",
                "netfn": 6,
                "cmd": 0x47,
                "data": "**REDACTED**",
                "result": "refused",
                "completion_code": None,
                "detail": "raw_command_forbidden",
            },
            "raw (netfn 0x06 cmd 0x47 **REDACTED**): refused (raw_command_forbidden)",
        ),
        (
            {
                "command": "set_zone_duty",
                "netfn": 0x30,
                "cmd": 0x70,
                "data": "66010032",
                "result": "error",
                "completion_code": 0xC0,
                "detail": None,
            },
            "set_zone_duty (netfn 0x30 cmd 0x70 66 01 00 32): error, completion code 0xC0",
        ),
        (
            {"command": "identify", "netfn": 0, "cmd": 4, "data": "", "result": "ok", "completion_code": 0},
            "identify (netfn 0x00 cmd 0x04): ok",
        ),
        (
            {"command": "options", "result": "ok", "detail": {"scan_interval": [300, 60]}},
            "options changed: scan_interval 300 → 60",
        ),
    ],
)
def test_describe_audit(entry: dict[str, object], line: str) -> None:
    """Refusals, completion codes, requests without data and option changes read as one line each."""
    assert describe_audit(entry) == line
