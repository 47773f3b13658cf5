"""Monitoring completeness, end to end: Home Assistant with the real client against bmcsim over UDP.

Identity at every login, no session left behind by an unload, bounded logins, slow and forgetful BMCs,
DCMI and thresholds that follow the BMC, redefined SDR records, input validation and cleanup.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from bmcsim import Simulator
from bmcsim.profiles import get_profile
from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.credentials import async_decrypt_credentials
from custom_components.zephyr_ipmi.ipmi import session as session_module
from tests.test_adversarial import (
    PASSWORD,
    USER,
    _add,
    _Clock,
    _connectivity,
    _coordinator,
    _sensor,
    _sim,
    _state,
    _unload_all,
)

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

SimFactory = Callable[..., Simulator]


@pytest.fixture
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request to a BMC that lost our session fails after about 1 s instead of 7 s."""
    monkeypatch.setattr(session_module, "RETRANSMIT_LIMIT", 1)


def _active(sim: Simulator) -> list[dict[str, Any]]:
    return [s for s in sim.control.sessions() if s["state"] == "active"]


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# ---------------------------------------------------------------------------
# Identity at every new login, and no session left behind
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_failures")
async def test_guidless_bmc_replaced_while_running_never_shows_its_readings(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    """Attack finding 2: no System GUID (C1h), the server at the address replaced by another one."""
    generic = get_profile("generic")
    first = _sim(bmc_sim_factory, generic)
    first.control.set_completion_code(0x06, 0x37, 0xC1)
    entry = await _add(hass, first)
    try:
        assert entry.state is ConfigEntryState.LOADED
        name = first.control.sensors()[0]["name"]
        shown = _sensor(hass, entry, first, name).state
        port = first.port
        first.stop()
        other = replace(generic, fru=replace(generic.fru, product_serial="OTHER-0002", board_serial="OTHER-B2"))
        second = _sim(bmc_sim_factory, other, port=port)
        second.control.set_completion_code(0x06, 0x37, 0xC1)
        second.control.set_temperature(name, 93)
        for _ in range(3):
            await _coordinator(entry).async_refresh()
            state = _sensor(hass, entry, second, name).state
            assert state in (shown, STATE_UNAVAILABLE), f"the other server's {name} is shown: {state}"
            assert state != "93.0"
        assert _connectivity(hass, entry) == STATE_OFF
        assert not _coordinator(entry).client.identity_confirmed
        assert _active(second) == []
    finally:
        await _unload_all(hass)


@pytest.mark.usefixtures("quick_failures")
async def test_unload_during_a_relogin_leaves_no_session(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack finding 1: unload while a poll logs in again to a slow BMC; the login ends logged out."""
    monkeypatch.setattr(session_module.KEEPALIVE, "TICK", 0.1)
    monkeypatch.setattr(session_module.KEEPALIVE, "IDLE", 0.5)
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim)
    coordinator = _coordinator(entry)
    client = coordinator.client
    sim.control.restart_bmc()  # the BMC forgets our session
    await coordinator.async_refresh()  # fails: no answer on the forgotten session
    assert not coordinator.last_update_success
    sim.control.set_fault(latency_ms=400)
    poll = hass.async_create_task(coordinator.async_refresh())
    assert await _until(lambda: bool(sim.control.sessions()))  # the new login is under way
    assert await hass.config_entries.async_unload(entry.entry_id)
    await poll
    await hass.async_block_till_done()
    sim.control.set_fault(latency_ms=0)
    assert await _until(lambda: not _active(sim))
    seq = sim.control.last_seq()
    await asyncio.sleep(1.5)  # a session kept alive would send Get Device ID every 0.5 s
    assert [r for r in sim.control.request_log(since=seq) if r.kind == "ipmi"] == []
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert _state(hass, entry, "binary_sensor", "connectivity").state == STATE_UNAVAILABLE
    assert client._connection.closed
    assert client._connection.session not in session_module.KEEPALIVE._sessions


# ---------------------------------------------------------------------------
# Identity: placeholder GUIDs, MAC address, names without FRU
# ---------------------------------------------------------------------------


async def test_placeholder_guid_without_fru_both_servers_added_by_mac(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    """Two servers with AMI's placeholder GUID and no FRU: told apart by their BMC's MAC address."""
    sims = [_sim(bmc_sim_factory, "generic", seed=seed) for seed in (1, 2)]
    for sim in sims:
        sim.guid = uuid.UUID("03000200-0400-0500-0006-000700080009")
        sim.control.set_completion_code(0x0A, 0x10, 0xCB)
    try:
        entries = [await _add(hass, sim) for sim in sims]
        assert [entry.state for entry in entries] == [ConfigEntryState.LOADED] * 2
        assert {entry.unique_id for entry in entries} == {f"0-1-{sim.mac.hex(':')}" for sim in sims}
        registry = dr.async_get(hass)
        for entry in entries:
            (device,) = dr.async_entries_for_config_entry(registry, entry.entry_id)
            assert device.identifiers == {(DOMAIN, entry.unique_id)}
    finally:
        await _unload_all(hass)


async def test_bmc_without_fru_is_named_by_what_it_reports(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """No FRU: the title comes from the controller's SDR name, else manufacturer and product id, never the host."""
    named = _sim(bmc_sim_factory, replace(get_profile("supermicro-x11"), mc_name="X11SSH-F BMC"))
    plain = _sim(bmc_sim_factory, "supermicro-x11", seed=5)
    for sim in (named, plain):
        sim.control.set_completion_code(0x0A, 0x10, 0xCB)
    try:
        first, second = await _add(hass, named), await _add(hass, plain)
        assert first.title == "Supermicro X11SSH-F BMC"
        assert second.title == f"Supermicro product 0x{get_profile('supermicro-x11').device.product:04X}"
        assert "127.0.0.1" not in (first.title, second.title)
    finally:
        await _unload_all(hass)


# ---------------------------------------------------------------------------
# DCMI, thresholds and redefined SDR records
# ---------------------------------------------------------------------------


async def test_one_dcmi_refusal_costs_one_power_reading_and_energy_follows_power(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    """Attack finding 4: Power stayed unavailable until reload while Energy showed a frozen total."""
    sim = _sim(bmc_sim_factory, "supermicro-x11")
    entry = await _add(hass, sim)
    coordinator = _coordinator(entry)
    try:
        for code in (0xC1, 0xC2, 0xCC, 0xD4):
            sim.control.set_completion_code(0x2C, 0x02, code, count=1)
            await coordinator.async_refresh()
            assert _state(hass, entry, "sensor", "dcmi_power").state == STATE_UNAVAILABLE
            assert _state(hass, entry, "sensor", "dcmi_energy").state == STATE_UNAVAILABLE
            await coordinator.async_refresh()
            assert float(_state(hass, entry, "sensor", "dcmi_power").state) > 0, hex(code)
            assert _state(hass, entry, "sensor", "dcmi_energy").state != STATE_UNAVAILABLE
    finally:
        await _unload_all(hass)


async def test_thresholds_changed_on_the_bmc_show_after_a_write_and_a_reload(
    hass: HomeAssistant, bmc_sim_factory: SimFactory
) -> None:
    """Attack finding 5: Set Sensor Thresholds changes the sensor's thresholds, not the (cached) SDR's."""
    sim = _sim(bmc_sim_factory, "supermicro-x11")
    entry = await _add(hass, sim)
    try:
        fan = _sensor(hass, entry, sim, "FAN1")
        assert (fan.attributes["lower_critical"], fan.attributes["lower_non_recoverable"]) == (500, 300)
        # Fan control writes through the client: the next poll shows what the BMC now holds.
        client = _coordinator(entry).client
        number = sim.control.sensor("FAN1")["number"]
        await hass.async_add_executor_job(client.request, 0x04, 0x26, bytes([number, 0x02, 0, 2, 0, 0, 0, 0]))
        await _coordinator(entry).async_refresh()
        assert _sensor(hass, entry, sim, "FAN1").attributes["lower_critical"] == 200
        # Another tool lowers a threshold while Home Assistant is stopped: the reload (SDR from the cache)
        # reads the sensor's own.
        sim.control.set_threshold("FAN1", "lnr", 100)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        fan = _sensor(hass, entry, sim, "FAN1")
        assert (fan.attributes["lower_critical"], fan.attributes["lower_non_recoverable"]) == (200, 100)
    finally:
        await _unload_all(hass)


async def test_a_redefined_sdr_record_is_a_new_entity_definition(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack finding 9: a fan record redefined as a power meter kept "rpm" and the fan device class."""
    clock = _Clock()
    monkeypatch.setattr("custom_components.zephyr_ipmi.coordinator.monotonic", clock)
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim)
    try:
        assert _sensor(hass, entry, sim, "FAN1").attributes["unit_of_measurement"] == "rpm"
        with sim.lock:
            target = sim.machine.sensor_by_name("FAN1")
            target.record = replace(target.record, sensor_type=0x03, units=6)  # current type, watts
            sim.machine.rebuild_sdr()
        clock.now += 3600
        await _coordinator(entry).async_refresh()
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        state = _sensor(hass, entry, sim, "FAN1")
        assert state.attributes["unit_of_measurement"] == "W"
        assert state.attributes["device_class"] == "power"
    finally:
        await _unload_all(hass)


# ---------------------------------------------------------------------------
# Unload while polling
# ---------------------------------------------------------------------------


async def test_a_poll_cut_short_by_an_unload_ends_without_an_error_log(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack finding 7: a poll under way when its entry unloads logged "Error fetching … no session" at ERROR."""
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim)
    coordinator = _coordinator(entry)
    hooked: list[object] = []

    async def hook(snapshot: object, error: object) -> None:
        hooked.append(error)

    coordinator.poll_hooks.append(hook)
    sim.control.set_fault(latency_ms=150)
    seq = sim.control.last_seq()
    poll = hass.async_create_task(coordinator.async_refresh())
    # The poll is under way: its first Get Sensor Reading reached the BMC.
    assert await _until(lambda: bool(sim.control.request_log(since=seq, netfn=0x04, cmd=0x2D)))
    caplog.clear()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await poll
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"] == []
    assert hooked == []  # nothing after the unload treats the cut poll as the BMC failing


async def test_reloads_in_the_middle_of_polls_leave_one_session_and_no_error_log(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack findings 1 and 7 together: reload after reload, each while a poll is under way."""
    sim = _sim(bmc_sim_factory)
    entry = await _add(hass, sim)
    sim.control.set_fault(latency_ms=20)
    caplog.clear()
    try:
        for _ in range(6):
            seq = sim.control.last_seq()
            poll = hass.async_create_task(_coordinator(entry).async_refresh())
            assert await _until(lambda: bool(sim.control.request_log(since=seq, netfn=0x04, cmd=0x2D)))  # noqa: B023
            assert await hass.config_entries.async_reload(entry.entry_id)
            await poll
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        # asyncio's own slow-callback warnings (a busy test machine) are not the integration's.
        logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"]
        assert logged == []
        sim.control.set_fault(latency_ms=0)
        assert await _until(lambda: len(_active(sim)) == 1)  # the live entry's session only
        sim.control.set_temperature("CPU Temp", 64)
        await _coordinator(entry).async_refresh()
        assert float(_sensor(hass, entry, sim, "CPU Temp").state) == 64.0
    finally:
        await _unload_all(hass)


# ---------------------------------------------------------------------------
# A BMC that forgets idle sessions sooner than the keepalive comes
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_failures")
async def test_a_bmc_forgetting_idle_sessions_between_polls_never_flaps(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack finding 6: the BMC's session timeout shorter than the poll interval failed every other poll."""
    monkeypatch.setattr(session_module, "MIN_KEEPALIVE_IDLE", 0.3)
    monkeypatch.setattr(session_module.KEEPALIVE, "TICK", 0.1)
    sim = _sim(bmc_sim_factory)
    sim.control.set_session_timeout(2.0)
    entry = await _add(hass, sim)
    coordinator = _coordinator(entry)
    try:
        for celsius in (61, 62, 63):
            await asyncio.sleep(3.0)  # one poll interval, longer than the BMC keeps an idle session
            sim.control.set_temperature("CPU Temp", celsius)
            await coordinator.async_refresh()
            assert coordinator.last_update_success
            assert _connectivity(hass, entry) == "on"
            assert float(_sensor(hass, entry, sim, "CPU Temp").state) == celsius
        # One login found the session expired; after it the keepalive came in time.
        assert coordinator.client._connection.session.generation == 2
    finally:
        await _unload_all(hass)


# ---------------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------------


async def test_removing_entries_deletes_their_sdr_cache_and_the_last_one_the_key(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, hass_storage: dict[str, Any]
) -> None:
    """Removing a BMC deletes its cached SDR; removing the last entry deletes the credential key too."""
    sims = [_sim(bmc_sim_factory, seed=seed) for seed in (1, 2)]
    entries = [await _add(hass, sim) for sim in sims]
    cache_dir = Path(hass.config.path(".storage", "zephyr_ipmi_sdr"))
    files = sorted(path.name for path in cache_dir.iterdir())
    assert len(files) == 2
    assert "zephyr_ipmi.key" in hass_storage

    assert await hass.config_entries.async_remove(entries[0].entry_id)
    await hass.async_block_till_done()
    (left,) = sorted(path.name for path in cache_dir.iterdir())
    assert left in files
    assert "zephyr_ipmi.key" in hass_storage  # the other BMC's credentials still need it
    assert await async_decrypt_credentials(hass, entries[1].data) == (USER, PASSWORD)

    assert await hass.config_entries.async_remove(entries[1].entry_id)
    await hass.async_block_till_done()
    assert list(cache_dir.iterdir()) == []
    assert "zephyr_ipmi.key" not in hass_storage

    # A BMC added afterwards gets a new key, stored, that decrypts its credentials.
    entry = await _add(hass, sims[0])
    try:
        key = hass_storage["zephyr_ipmi.key"]["data"]["key"]
        assert Fernet(key).decrypt(entry.data["username"]).decode() == USER
    finally:
        await _unload_all(hass)


async def test_a_fan_control_read_cut_short_by_an_unload_ends_without_an_error_log(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack finding 7 for the fan control coordinator: its read-back under way when the entry unloads."""
    sim = _sim(bmc_sim_factory, "supermicro-x11")
    entry = await _add(hass, sim)
    control = entry.runtime_data.control
    sim.control.set_fault(latency_ms=150)
    seq = sim.control.last_seq()
    poll = hass.async_create_task(control.async_refresh())
    assert await _until(lambda: bool(sim.control.request_log(since=seq, netfn=0x30)))  # the fan mode read is out
    caplog.clear()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await poll
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name != "asyncio"] == []
