"""Repair issues, against simulated BMCs over UDP: a different BMC at the configured address."""

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN

pytestmark = pytest.mark.peer

USER = "repair-monitor"
PASSWORD = "Rp-4471-quiet"


def _start(factory: Callable[..., Simulator], seed: int, port: int = 0) -> Simulator:
    """A generic BMC whose identity (GUID, serial) follows from ``seed``."""
    return factory("generic", seed=seed, port=port, users={USER: PASSWORD})


async def _add(hass: HomeAssistant, sim: Simulator) -> ConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


def _issue(hass: HomeAssistant, entry: ConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"wrong_bmc_{entry.entry_id}")


async def test_different_bmc_raises_a_repair_that_reconfigure_clears(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator]
) -> None:
    """Server A moved to a new port and server B took A's: a repair names the address; Reconfigure fixes it."""
    server_a = _start(bmc_sim_factory, seed=11)
    entry = await _add(hass, server_a)
    old_port = server_a.port
    assert _issue(hass, entry) is None

    assert await hass.config_entries.async_unload(entry.entry_id)
    server_a.stop()
    server_b = _start(bmc_sim_factory, seed=12, port=old_port)
    assert server_b.guid != server_a.guid
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "wrong_bmc"
    assert not issue.is_fixable
    placeholders: dict[str, Any] = dict(issue.translation_placeholders or {})
    assert placeholders == {
        "title": entry.title,
        "host": "127.0.0.1",
        "port": str(old_port),
        "entry_url": f"/config/integrations/integration/zephyr_ipmi#config_entry={entry.entry_id}",
    }
    assert PASSWORD not in str(issue.to_json())

    # Server A answers again, at a new port: the user follows the repair to Reconfigure.
    server_a_moved = _start(bmc_sim_factory, seed=11)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: server_a_moved.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PORT] == server_a_moved.port
    assert _issue(hass, entry) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_deleting_the_entry_clears_its_repair(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator]
) -> None:
    """A server that was replaced for good: deleting its entry removes the repair with it."""
    server_a = _start(bmc_sim_factory, seed=21)
    entry = await _add(hass, server_a)
    assert await hass.config_entries.async_unload(entry.entry_id)
    port = server_a.port
    server_a.stop()
    _start(bmc_sim_factory, seed=22, port=port)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is not None

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None
