"""Tests of the Zephyr IPMI repairs: retrying fan control after it was lost or refused, against bmcsim."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from homeassistant.const import STATE_OFF, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zephyr_ipmi.alerts import AlertKind
from custom_components.zephyr_ipmi.const import DOMAIN

from .control_helpers import SimFactory, async_add, async_next_interval, entity_id, sets, start_sim, state

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


async def _fix(hass: HomeAssistant, hass_client: ClientSessionGenerator, issue_id: str) -> dict[str, object]:
    """Run the issue's fix flow as the frontend does: open it, then confirm."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post("/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id})
    assert response.status == HTTPStatus.OK
    flow = await response.json()
    assert (flow["type"], flow["step_id"]) == ("form", "confirm")
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert response.status == HTTPStatus.OK
    result: dict[str, object] = await response.json()
    await hass.async_block_till_done()
    return result


async def test_retry_after_fan_control_lost(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """After the BMC won the fight (a critical alert), the repair's retry clears the problem and the fans can be set."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    alerts = async_capture_events(hass, "zephyr_ipmi_alert")
    admin = Context(user_id=hass_admin_user.id)
    fan = entity_id(hass, entry, "fan", "fan_zone_cpu")
    await hass.services.async_call(
        "fan", "set_percentage", {"entity_id": fan, "percentage": 40}, blocking=True, context=admin
    )
    sim.control.set_policy(revert_after=5.0, revert_mode=0)
    for _ in range(4):
        await async_next_interval(hass, sim)
    issue_id = f"fan_control_lost_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert [(a.data["kind"], a.data["severity"], a.data["recovered"]) for a in alerts] == [
        ("fan_control_lost", "critical", False)
    ]
    sim.control.set_policy(revert_after=None)

    result = await _fix(hass, hass_client, issue_id)

    assert result["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    # The incident is cleared (its recovery is announced after the health alerts' quiet cooldown).
    assert [a.data["recovered"] for a in alerts] == [False]
    incident = entry.runtime_data.health.tracker.get(AlertKind.FAN_CONTROL_LOST, "fan_control_all")
    assert incident is not None
    assert incident.cleared is not None
    assert state(hass, entry, "binary_sensor", "fan_control_lost").state == STATE_OFF
    seq = sim.control.last_seq()
    await hass.services.async_call(
        "fan", "set_percentage", {"entity_id": fan, "percentage": 40}, blocking=True, context=admin
    )
    assert sets(sim, seq) == ["45 01 01 -> 00", "70 66 01 00 28 -> 00"]


async def test_retry_after_firmware_refusal(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The retry forgets the refusal: the fans are offered again and the next write tries the BMC once more."""
    sim = start_sim(bmc_sim_factory, "dell-idrac9-locked")
    entry = await async_add(hass, sim)
    admin = Context(user_id=hass_admin_user.id)
    fan = entity_id(hass, entry, "fan", "fan_zone_all")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "fan", "set_percentage", {"entity_id": fan, "percentage": 30}, blocking=True, context=admin
        )
    issue_id = f"fan_control_locked_{entry.entry_id}"
    assert state(hass, entry, "fan", "fan_zone_all").state == STATE_UNAVAILABLE

    result = await _fix(hass, hass_client, issue_id)

    assert result["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert state(hass, entry, "fan", "fan_zone_all").state == STATE_OFF
    seq = sim.control.last_seq()
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "fan", "set_percentage", {"entity_id": fan, "percentage": 30}, blocking=True, context=admin
        )
    # Manual mode refused again; the hand-back to automatic that follows any refusal is refused too.
    assert sets(sim, seq) == ["30 01 00 -> d4", "30 01 01 -> d4"]


async def test_retry_of_an_unloaded_entry(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_client: ClientSessionGenerator
) -> None:
    """A retry for an entry that is no longer loaded just closes the issue."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    issue_id = f"fan_control_lost_{entry.entry_id}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        data={"entry_id": entry.entry_id},
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="fan_control_lost",
        translation_placeholders={"name": entry.title},
    )
    assert await hass.config_entries.async_unload(entry.entry_id)

    result = await _fix(hass, hass_client, issue_id)

    assert result["type"] == "create_entry"


async def test_status_between_retry_and_reload(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser
) -> None:
    """Until the reload a retry starts, the entities keep showing what setup found (the core forgot it)."""
    sim = start_sim(bmc_sim_factory, "dell-idrac9-locked")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_all")
    admin = Context(user_id=hass_admin_user.id)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "fan", "set_percentage", {"entity_id": fan, "percentage": 30}, blocking=True, context=admin
        )
    control = entry.runtime_data.control
    await hass.async_add_executor_job(control.controller.reset_fan_control)

    assert control.status == "bmc"
    assert control.capabilities_now is control.capabilities
