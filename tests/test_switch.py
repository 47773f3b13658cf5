"""Tests of the Zephyr IPMI switch platform: Dell's PCIe card cooling response, against bmcsim on 127.0.0.1."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockUser, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .control_helpers import SimFactory, async_add, entity_id, sets, start_sim, state

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


async def test_entities(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, snapshot: SnapshotAssertion, entity_registry: er.EntityRegistry
) -> None:
    """An iDRAC 8 (generation 13) that answers the PCIe cooling read gets the switch, on as the BMC reports."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim, platforms=[Platform.SWITCH])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize("profile", ["dell-idrac9-locked", "supermicro-x11", "hpe-ilo4"])
async def test_absent(hass: HomeAssistant, bmc_sim_factory: SimFactory, profile: str) -> None:
    """Generation 14 iDRACs (0xC1 to the read), Supermicro and HPE have no such switch."""
    sim = start_sim(bmc_sim_factory, profile)
    entry = await async_add(hass, sim, platforms=[Platform.SWITCH])
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert not [entity for entity in entities if entity.unique_id.endswith("_pcie_cooling")]


async def test_turn_off_and_on(hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser) -> None:
    """Off sends 0x30 0xCE 0x00 0x16 0x05 0x00 0x00 0x00 0x05 0x00 0x01 0x00 0x00; on ends 0x00 0x00 0x00."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    switch = entity_id(hass, entry, "switch", "pcie_cooling")
    context = Context(user_id=hass_admin_user.id)
    seq = sim.control.last_seq()

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True, context=context)
    assert sets(sim, seq) == ["ce 00 16 05 00 00 00 05 00 01 00 00 -> 00"]
    assert sim.control.state()["fans"]["pcie_cooling"] is False
    assert state(hass, entry, "switch", "pcie_cooling").state == STATE_OFF

    seq = sim.control.last_seq()
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True, context=context)
    assert sets(sim, seq) == ["ce 00 16 05 00 00 00 05 00 00 00 00 -> 00"]
    assert sim.control.state()["fans"]["pcie_cooling"] is True
    assert state(hass, entry, "switch", "pcie_cooling").state == STATE_ON
