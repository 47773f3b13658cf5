"""Tests of the Zephyr IPMI button platform: Chassis Control and Identify, against bmcsim on 127.0.0.1."""

from __future__ import annotations

import pytest
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockUser, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .control_helpers import SimFactory, async_add, entity_id, start_sim, writes

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, snapshot: SnapshotAssertion, entity_registry: er.EntityRegistry
) -> None:
    """Power on, soft shutdown, power off, power cycle, hard reset and identify."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_destructive_buttons_start_disabled(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Power off, power cycle, hard reset and clearing the event log cannot be undone: they start disabled."""
    sim = start_sim(bmc_sim_factory, "hpe-ilo4")
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    keys = {item.unique_id.removeprefix(f"{entry.unique_id}_"): item for item in entries}
    disabled = sorted(key for key, item in keys.items() if item.disabled_by is not None)
    enabled = sorted(key for key, item in keys.items() if not item.disabled_by)
    assert disabled == ["clear_event_log", "hard_reset", "power_cycle", "power_off"]
    assert enabled == ["identify", "power_on", "soft_shutdown"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    ("button", "request_bytes", "power_on_after"),
    [
        ("power_off", "02 00", False),
        ("power_on", "02 01", True),
        ("power_cycle", "02 02", True),
        ("hard_reset", "02 03", True),
        ("soft_shutdown", "02 05", False),
    ],
)
async def test_press(
    hass: HomeAssistant,
    *,
    bmc_sim_factory: SimFactory,
    hass_admin_user: MockUser,
    button: str,
    request_bytes: str,
    power_on_after: bool,
) -> None:
    """Each power button sends Chassis Control (netfn 0x00 cmd 0x02) with its byte; the server obeys."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    if button == "power_on":
        sim.control.set_power(on=False)
    seq = sim.control.last_seq()

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, entry, "button", button)},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )

    chassis = [line for line in writes(sim, seq, netfn=0x00) if not line.startswith("01 ")]
    assert chassis == [f"{request_bytes} -> 00"]
    sim.control.tick(10)
    assert sim.control.state()["power_on"] is power_on_after


async def test_identify(hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_admin_user: MockUser) -> None:
    """Identify sends Chassis Identify (netfn 0x00 cmd 0x04) for 15 s: the locator LED blinks, then stops."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim, platforms=[Platform.BUTTON])
    seq = sim.control.last_seq()

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, entry, "button", "identify")},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )

    assert [line for line in writes(sim, seq, netfn=0x00) if not line.startswith("01 ")] == ["04 0f -> 00"]
    assert sim.control.state()["identify"] is True
    sim.control.tick(16)
    assert sim.control.state()["identify"] is False
