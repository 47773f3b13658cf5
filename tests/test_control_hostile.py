"""Hostile fan control paths through Home Assistant, against bmcsim over UDP on 127.0.0.1.

Each test reproduces a way the fans could be left at Zephyr's duty with nothing supervising them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events

from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.fan_control import store_key

from .control_helpers import (
    SimFactory,
    async_add,
    async_next_interval,
    control,
    entity_id,
    sets,
    start_sim,
    state,
)

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


async def _set_duty(hass: HomeAssistant, entry: ConfigEntry, context: Context, percentage: int) -> None:
    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": percentage},
        blocking=True,
        context=context,
    )


async def test_hand_back_owed_when_a_refusal_turned_fan_control_off(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, issue_registry: ir.IssueRegistry
) -> None:
    """0xD4 at a zone duty turns fan control off; the hand-back the BMC refused then is still retried."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await _set_duty(hass, entry, admin, 25)
    sim.control.set_completion_code(0x30, 0x70, 0xD4, data_prefix="6601", count=1)
    # The hand-back after the refusal is refused too: at the write, right after it, and at the refresh.
    sim.control.set_completion_code(0x30, 0x45, 0xC0, data_prefix="0102", count=3)

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin, 30)
    assert err.value.translation_key == "fan_control_locked"
    assert sim.control.state()["fans"]["mode_name"] == "full"
    assert sim.control.state()["fans"]["manual"] == {"0": 25.0}
    assert issue_registry.async_get_issue(DOMAIN, f"hand_back_failed_{entry.entry_id}") is not None

    seq = sim.control.last_seq()
    await async_next_interval(hass, sim)

    assert sets(sim, seq) == ["45 01 02 -> 00"]
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert issue_registry.async_get_issue(DOMAIN, f"hand_back_failed_{entry.entry_id}") is None
    assert state(hass, entry, "sensor", "fan_control").state == "firmware_refuses_raw_fan_commands"


@pytest.mark.parametrize("remove", [False, True])
async def test_write_queued_behind_the_unload_hand_back_is_refused(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any], remove: bool
) -> None:
    """A zone duty asked while the unload (or removal) hands back must not take the fans over again."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await _set_duty(hass, entry, admin, 25)
    sim.control.set_fault(latency_ms=300)  # a slow BMC: the hand-back takes a while
    write_lock = entry.runtime_data.control.write_lock
    closing = hass.async_create_task(
        hass.config_entries.async_remove(entry.entry_id) if remove else hass.config_entries.async_unload(entry.entry_id)
    )
    while not write_lock.locked():
        await asyncio.sleep(0.01)

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin, 20)
    await closing
    sim.control.clear_faults()

    assert err.value.translation_key == "control_closing"
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert sim.control.state()["fans"]["manual"] == {}
    # Nothing is left for a later start to hand back: a removed entry leaves no control state behind.
    stored = hass_storage.get(store_key(entry.unique_id or ""))
    assert stored is None if remove else stored["data"]["controller"]["holding"] is False


async def test_non_admin_attempts_are_audited(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_owner_user: MockUser
) -> None:
    """A fan write refused to a user without administrator rights is in the audit trail and the logbook."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    user = await hass.auth.async_create_user("Operator", group_ids=[GROUP_ID_USER])
    non_admin = Context(user_id=user.id)
    events = async_capture_events(hass, "zephyr_ipmi_audit")
    seq = sim.control.last_seq()

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, non_admin, 20)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "set_zone_duty",
            {"config_entry_id": entry.entry_id, "zone": "cpu", "percentage": 20},
            blocking=True,
            context=non_admin,
        )

    assert err.value.translation_key == "not_allowed"
    assert sets(sim, seq) == []
    refused = [(item["actor"], item["command"], item["result"], item["detail"]) for item in control(entry).audit][-2:]
    assert refused == [
        (user.id, "set_duty", "refused", "not_allowed"),
        (user.id, "set_zone_duty", "refused", "not_allowed"),
    ]
    assert [event.data["detail"] for event in events] == ["not_allowed", "not_allowed"]
    assert [event.context.user_id for event in events] == [user.id, user.id]
