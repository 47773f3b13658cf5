"""Helpers of the fan and power control tests: a simulated BMC added to Home Assistant, and what it was sent.

Every helper works against bmcsim over real UDP on 127.0.0.1: the entry is added through the config flow
and the real ``BmcClient`` talks to the simulator. The expected bytes live in the tests, written out.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.fan_control import ZephyrControlCoordinator

SimFactory = Callable[..., Simulator]

USER = "fan-admin"
PASSWORD = "Sim-Fan-Pw-42"
#: The control interval of the integration, written out (tests share no constants with the code under test).
CONTROL_INTERVAL = timedelta(seconds=30)


def start_sim(factory: SimFactory, profile: str, **kwargs: Any) -> Simulator:
    """Start ``profile`` with the test's administrator account (or ``users``)."""
    kwargs.setdefault("users", {USER: PASSWORD})
    return factory(profile, **kwargs)


async def async_add(
    hass: HomeAssistant,
    sim: Simulator,
    *,
    platforms: list[Platform] | None = None,
    username: str = USER,
    password: str = PASSWORD,
) -> ConfigEntry:
    """Add ``sim`` through the config flow (only ``platforms`` when given) and return the loaded entry."""
    context = nullcontext() if platforms is None else patch("custom_components.zephyr_ipmi.PLATFORMS", platforms)
    with context:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: username, CONF_PASSWORD: password},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


def control(entry: ConfigEntry) -> ZephyrControlCoordinator:
    """Return the control coordinator of a loaded entry."""
    coordinator: ZephyrControlCoordinator = entry.runtime_data.control
    return coordinator


def entity_id(hass: HomeAssistant, entry: ConfigEntry, platform: str, key: str) -> str:
    """Return the entity id of this BMC's ``platform`` entity whose unique id ends in ``key``."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert found is not None, f"no {platform} entity {key}"
    return found


def state(hass: HomeAssistant, entry: ConfigEntry, platform: str, key: str) -> State:
    """Return the state of this BMC's ``platform`` entity ``key``."""
    found = hass.states.get(entity_id(hass, entry, platform, key))
    assert found is not None, key
    return found


def writes(sim: Simulator, since: int = 0, netfn: int = 0x30) -> list[str]:
    """Return the requests of ``netfn`` the BMC received after ``since``, as "cmd data" hex with cc.

    Example: ``["45 01 01 -> 00", "70 66 01 00 28 -> 00"]``; reads are included (they are requests too).
    """
    return [
        f"{record.cmd:02x} {record.data.hex(' ')} -> {record.cc:02x}".replace("  ", " ")
        for record in sim.control.request_log(since=since, netfn=netfn)
    ]


def sets(sim: Simulator, since: int = 0, netfn: int = 0x30) -> list[str]:
    """Like ``writes``, but only the requests that change something (Supermicro mode/duty sets, Dell sets)."""
    reads = ("45 00", "70 66 00", "ce 01")
    return [line for line in writes(sim, since, netfn) if not line.startswith(reads)]


async def async_next_interval(hass: HomeAssistant, sim: Simulator) -> None:
    """Let one control interval pass in the simulated BMC and in Home Assistant, and run the supervision.

    The control coordinator reschedules itself one interval after each run, so firing the time a second
    past one interval from now runs it exactly once (the 300 s poll is not due).
    """
    sim.control.tick(CONTROL_INTERVAL.total_seconds())
    async_fire_time_changed(hass, dt_util.utcnow() + CONTROL_INTERVAL + timedelta(seconds=1))
    # Scheduled refreshes run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)
