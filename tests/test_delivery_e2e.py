"""From the BMC to the service: bmcsim over UDP raises an alert, delivery posts it to a local Slack stand-in.

The BMC is added through the config flow with the real ``BmcClient`` over pyghmi against bmcsim on 127.0.0.1;
the channel and the route are added through their subentry flows; the service is a real HTTP server on
127.0.0.1. Nothing between the chassis being opened and the message arriving is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import CONF_ALERT_COOLDOWN, DOMAIN
from custom_components.zephyr_ipmi.delivery.router import DATA_DELIVERY

from .delivery_helpers import SLACK_PATH, ServiceSink, until

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

USER = "alert-operator"
PASSWORD = "Sel-Reader-42"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own directory (the SDR cache and health state are written there)."""
    return hass_tmp_config_dir


async def _flow(hass: HomeAssistant, user_input: dict[str, Any], menu: str) -> Any:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": menu})
    if user_input:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def _subentry(hass: HomeAssistant, entry: ConfigEntry, kind: str, user_input: dict[str, Any]) -> None:
    result = await hass.config_entries.subentries.async_init((entry.entry_id, kind), context={"source": SOURCE_USER})
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()


async def test_chassis_intrusion_reaches_slack(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator], sink: ServiceSink
) -> None:
    """Opening the chassis posts one alert to Slack; closing it posts the recovery with how long it lasted."""
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD})
    bmc: ConfigEntry = await _flow(
        hass, {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}, "bmc"
    )
    try:
        hass.config_entries.async_update_entry(bmc, options={**bmc.options, CONF_ALERT_COOLDOWN: 0})
        assert await hass.config_entries.async_reload(bmc.entry_id)
        await hass.async_block_till_done()
        assert bmc.state is ConfigEntryState.LOADED
        channels: ConfigEntry = await _flow(hass, {}, "notification_channels")
        await _subentry(hass, channels, "slack", {"name": "Ops", "url": sink.url(SLACK_PATH)})
        await _subentry(
            hass,
            bmc,
            "alert_route",
            {
                "name": "Intrusions",
                "kinds": ["chassis_intrusion"],
                "min_severity": "warning",
                "targets": ["notify.ops"],
                "persistent_notification": False,
            },
        )
        sink.received.clear()  # the channel's test alert

        coordinator = bmc.runtime_data.coordinator
        sim.control.set_intrusion(True)
        await coordinator.async_refresh()
        await coordinator.async_wait_poll_hooks()
        await until(hass, lambda: len(sink.at(SLACK_PATH)) == 1)
        (alert,) = sink.at(SLACK_PATH)
        assert alert["blocks"][0]["text"]["text"] == f"🔴 {bmc.title}: Chassis intrusion"
        assert alert["blocks"][1]["text"]["text"] == "Chassis Intru: General chassis intrusion."
        assert {"type": "mrkdwn", "text": "*Sensor*\nChassis Intru"} in alert["blocks"][2]["fields"]

        sim.control.set_intrusion(False)
        await coordinator.async_refresh()
        await coordinator.async_wait_poll_hooks()
        await until(hass, lambda: len(sink.at(SLACK_PATH)) == 2)
        recovery = sink.at(SLACK_PATH)[1]
        assert recovery["blocks"][0]["text"]["text"] == f"✅ {bmc.title}: Chassis intrusion recovered"
        assert "lasted" in recovery["blocks"][1]["text"]["text"]
        assert recovery["blocks"][1]["text"]["text"].count("lasted") == 1
        assert any(field["text"].startswith("*Lasted*\n") for field in recovery["blocks"][2]["fields"])
        await until(hass, lambda: not hass.data[DATA_DELIVERY].outbox.items)
    finally:
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
