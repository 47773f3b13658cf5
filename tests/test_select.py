"""Tests of the Zephyr IPMI select platform: the BMC's fan mode, against bmcsim over UDP on 127.0.0.1."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockUser, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .control_helpers import SimFactory, async_add, entity_id, sets, start_sim, state

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


async def _select(hass: HomeAssistant, select: str, option: str, context: Context) -> None:
    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": option}, blocking=True, context=context
    )


@pytest.mark.parametrize("profile", ["supermicro-x9", "supermicro-x11", "dell-idrac8"])
async def test_entities(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    profile: str,
) -> None:
    """The modes each board answers (X9 has no PUE2), the current one as read back."""
    sim = start_sim(bmc_sim_factory, profile)
    entry = await async_add(hass, sim, platforms=[Platform.SELECT])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize(
    ("option", "byte", "zephyr_holds"),
    [("standard", "00", False), ("full", "01", True), ("pue2", "03", False), ("heavy_io", "04", False)],
)
async def test_select_supermicro_mode(
    hass: HomeAssistant,
    *,
    bmc_sim_factory: SimFactory,
    admin: Context,
    option: str,
    byte: str,
    zephyr_holds: bool,
) -> None:
    """Each Supermicro mode is 0x30 0x45 0x01 <mode>; only Full (fans at 100 %) is Zephyr's to hand back."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _select(hass, entity_id(hass, entry, "select", "fan_mode"), option, admin)

    assert sets(sim, seq) == [f"45 01 {byte} -> 00"]
    assert sim.control.state()["fans"]["mode_name"] == option
    assert state(hass, entry, "select", "fan_mode").state == option
    assert state(hass, entry, "sensor", "fan_control").state == ("zephyr" if zephyr_holds else "bmc")


async def test_select_dell_manual_and_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Dell: Manual is 0x30 0x30 0x01 0x00, Automatic 0x01 0x01; the mode, unreadable, shows what was set."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    select = entity_id(hass, entry, "select", "fan_mode")
    assert state(hass, entry, "select", "fan_mode").state == STATE_UNKNOWN
    seq = sim.control.last_seq()

    await _select(hass, select, "manual", admin)
    assert sets(sim, seq) == ["30 01 00 -> 00"]
    assert sim.control.state()["fans"]["manual"] is True
    assert state(hass, entry, "select", "fan_mode").state == "manual"

    seq = sim.control.last_seq()
    await _select(hass, select, "automatic", admin)
    assert sets(sim, seq) == ["30 01 01 -> 00"]
    assert sim.control.state()["fans"]["manual"] is False
    assert state(hass, entry, "select", "fan_mode").state == "automatic"
