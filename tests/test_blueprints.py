"""The shipped automation blueprints load with Home Assistant's blueprint schema and make valid automations.

Every file in blueprints/automation/zephyr_ipmi/ is read as Home Assistant reads an imported blueprint, its
inputs are checked against their selectors, and an automation made from it with typical inputs passes the
automation integration's own validation. The alert blueprint then runs against a server set up over UDP on
127.0.0.1 (bmcsim): its chassis is opened, and the notification reaches a Slack stand-in. The quiet hours
blueprint turns a simulated Supermicro's automatic fan control on and off at its times and at a start of Home
Assistant, and the simulated BMC's fan mode and zone duty show it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA, async_validate_config_item
from homeassistant.components.blueprint import Blueprint
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from bmcsim import Simulator
from custom_components.zephyr_ipmi.alerts import AlertKind
from custom_components.zephyr_ipmi.const import CONF_ALERT_COOLDOWN, DOMAIN

from .delivery_helpers import SLACK_PATH, ServiceSink, until

FOLDER = Path(__file__).parent.parent / "blueprints" / "automation" / "zephyr_ipmi"
USER, PASSWORD = "blueprint-user", "Blue-Print-77"

#: Typical inputs of each blueprint, as a user would pick them in the UI.
EXAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "route_alerts.yaml": {
        "servers": ["0123456789abcdef0123456789abcdef"],
        "kinds": ["chassis_intrusion", "fan_failed"],
        "min_severity": "critical",
        "recoveries": False,
        "targets": ["notify.ops"],
    },
    "quiet_hours.yaml": {
        "switches": ["switch.supermicro_sys_5019s_m_automatic_fan_control"],
        "start": "23:30:00",
        "end": "06:45:00",
    },
}


def _blueprint(path: Path) -> Blueprint:
    """Read ``path`` as Home Assistant reads an automation blueprint (raises ``InvalidBlueprint``)."""
    return Blueprint(
        load_yaml_dict(str(path)), path=path.name, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )


def test_every_blueprint_has_example_inputs() -> None:
    """The folder holds exactly the blueprints this module checks."""
    assert sorted(path.name for path in FOLDER.glob("*.yaml")) == sorted(EXAMPLE_INPUTS)


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
async def test_blueprint_schema_and_inputs(hass: HomeAssistant, name: str) -> None:
    """The blueprint passes the blueprint schema, runs on this Home Assistant, and its example inputs fit."""
    blueprint = _blueprint(FOLDER / name)
    assert blueprint.validate() is None
    assert blueprint.metadata["source_url"].endswith(f"/blueprints/automation/zephyr_ipmi/{name}")
    inputs = blueprint.inputs
    assert set(EXAMPLE_INPUTS[name]) <= set(inputs)
    for key, value in EXAMPLE_INPUTS[name].items():
        selector.selector(inputs[key]["selector"])(value)
    for key, spec in inputs.items():
        assert spec.get("name"), f"input {key} has no name"
        if "default" in spec:
            selector.selector(spec["selector"])(spec["default"])


def test_alert_kinds_offered_are_the_integrations() -> None:
    """The alert blueprint offers every alert kind the integration fires (the test alert aside), by its value."""
    kinds = _blueprint(FOLDER / "route_alerts.yaml").inputs["kinds"]["selector"]["select"]["options"]
    assert sorted(option["value"] for option in kinds) == sorted(k.value for k in AlertKind if k is not AlertKind.TEST)


@pytest.mark.parametrize("name", sorted(EXAMPLE_INPUTS))
async def test_blueprint_makes_a_valid_automation(hass: HomeAssistant, name: str) -> None:
    """An automation using the blueprint with its example inputs passes the automation integration's validation."""
    await _install(hass)
    config = {"id": "1", "alias": name, "use_blueprint": {"path": f"zephyr_ipmi/{name}", "input": EXAMPLE_INPUTS[name]}}
    validated = await async_validate_config_item(hass, "1", config)
    assert validated is not None
    assert validated.validation_status == "ok", validated.validation_error
    assert validated["triggers"]
    assert validated["actions"]


async def _install(hass: HomeAssistant) -> None:
    """Copy the blueprints into the configuration folder, where Home Assistant looks for them."""
    target = Path(hass.config.path("blueprints", "automation", "zephyr_ipmi"))
    await hass.async_add_executor_job(lambda: shutil.copytree(FOLDER, target, dirs_exist_ok=True))


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own directory (the SDR cache and health state are written there)."""
    return hass_tmp_config_dir


async def _flow(hass: HomeAssistant, menu: str, user_input: dict[str, Any]) -> ConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": menu})
    if user_input:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
async def test_alert_blueprint_notifies_on_a_real_alert(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator], sink: ServiceSink
) -> None:
    """A server's chassis is opened: the automation from the alert blueprint sends its own title to the channel.

    The second server's intrusion and the first server's recovery are not sent (the inputs leave them out).
    """
    users = [f"{USER}-{n}" for n in range(2)]
    sims = [bmc_sim_factory("supermicro-x11", users={user: PASSWORD}) for user in users]
    sims[1].guid = uuid.UUID("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0")  # another server of the same model
    servers = []
    for sim, user in zip(sims, users, strict=True):
        entry = await _flow(
            hass,
            "bmc",
            {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: user, CONF_PASSWORD: PASSWORD},
        )
        hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_ALERT_COOLDOWN: 0})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        servers.append(entry)
    try:
        channels = await _flow(hass, "notification_channels", {})
        result = await hass.config_entries.subentries.async_init(
            (channels.entry_id, "slack"), context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"name": "Ops", "url": sink.url(SLACK_PATH)}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        await hass.async_block_till_done()
        sink.received.clear()  # the channel's test alert

        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, str(servers[0].unique_id)), servers[0].entry_id
        )
        assert device is not None
        await _install(hass)
        inputs = {
            "servers": [device.id],
            "kinds": ["chassis_intrusion"],
            "min_severity": "warning",
            "recoveries": False,
            "targets": ["notify.ops"],
        }
        automation = {
            "alias": "Intrusions",
            "use_blueprint": {"path": "zephyr_ipmi/route_alerts.yaml", "input": inputs},
        }
        assert await async_setup_component(hass, "automation", {"automation": [automation]})
        await hass.async_block_till_done()
        assert hass.states.get("automation.intrusions").state == "on"

        for sim in sims:
            sim.control.set_intrusion(True)
        for entry in servers:
            await entry.runtime_data.coordinator.async_refresh()
            await entry.runtime_data.coordinator.async_wait_poll_hooks()
        await until(hass, lambda: len(sink.at(SLACK_PATH)) >= 1)
        sims[0].control.set_intrusion(False)
        await servers[0].runtime_data.coordinator.async_refresh()
        await servers[0].runtime_data.coordinator.async_wait_poll_hooks()
        await hass.async_block_till_done()

        (message,) = sink.at(SLACK_PATH)
        title, text = message["text"].split("\n", 1)
        assert title == f"*🔴 {servers[0].title}: Chassis intrusion*"
        assert text.startswith("Chassis Intru: General chassis intrusion. (Chassis Intru) at ")
        assert hass.states.get("automation.intrusions").attributes["last_triggered"] is not None
    finally:
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
async def test_quiet_hours_blueprint_drives_the_fans(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator]
) -> None:
    """Quiet hours around now: a start of Home Assistant within them turns automatic fan control on (zone 0 of
    the idle simulated X11 at 24 % in Full mode), their end hands the fans back to the BMC's Optimal mode, and
    their next start takes them again. A start of Home Assistant outside them hands back.
    """
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD}, load=0)
    sim.control.tick(120)  # a cool, idle server: the quiet rule applies
    entry = await _flow(
        hass, "bmc", {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}
    )
    switch = er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{entry.unique_id}_automatic_fan_control")
    assert switch is not None
    assert hass.states.get(switch).state == "off"
    automatic = entry.runtime_data.automatic
    automatic.clock = lambda: float(sim.control.state()["sim_time"])
    automatic.sleep = sim.control.tick
    assert sim.control.state()["fans"]["mode_name"] == "optimal"

    now = dt_util.now().replace(microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    await _install(hass)
    inputs = {"switches": [switch], "start": start.strftime("%H:%M:%S"), "end": end.strftime("%H:%M:%S")}
    automation = {"alias": "Quiet nights", "use_blueprint": {"path": "zephyr_ipmi/quiet_hours.yaml", "input": inputs}}
    try:
        assert await async_setup_component(hass, "automation", {"automation": [automation]})
        await hass.async_block_till_done()
        assert hass.states.get("automation.quiet_nights").state == "on"

        hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)  # Home Assistant starts within the quiet hours
        await hass.async_block_till_done()
        assert hass.states.get(switch).state == "on"
        fans = sim.control.state()["fans"]
        assert (fans["mode_name"], round(fans["zone_duty"][0])) == ("full", 24)

        async_fire_time_changed(hass, end)
        await hass.async_block_till_done()
        assert hass.states.get(switch).state == "off"
        assert sim.control.state()["fans"]["mode_name"] == "optimal"

        # The day passes on the simulated BMC too (the control loop's clock), so the loop may take the fans again.
        sim.control.tick(3600)
        async_fire_time_changed(hass, start + timedelta(days=1))
        await hass.async_block_till_done()
        assert hass.states.get(switch).state == "on"
        fans = sim.control.state()["fans"]
        assert (fans["mode_name"], round(fans["zone_duty"][0])) == ("full", 24)
        assert hass.states.get("automation.quiet_nights").attributes["last_triggered"] is not None
    finally:
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    assert sim.control.state()["fans"]["mode_name"] == "optimal"  # unloading hands back too


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
async def test_quiet_hours_blueprint_hands_back_after_a_start_outside_them(
    hass: HomeAssistant, bmc_sim_factory: Callable[..., Simulator]
) -> None:
    """Automatic fan control left on (the end of the quiet hours passed while Home Assistant was down): a start
    of Home Assistant outside the quiet hours turns it off and the BMC has its own mode back."""
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD}, load=0)
    sim.control.tick(120)
    entry = await _flow(
        hass, "bmc", {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}
    )
    switch = er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{entry.unique_id}_automatic_fan_control")
    assert switch is not None
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert sim.control.state()["fans"]["mode_name"] == "full"

    now = dt_util.now().replace(microsecond=0)
    inputs = {
        "switches": [switch],
        "start": (now + timedelta(hours=1)).strftime("%H:%M:%S"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M:%S"),
    }
    await _install(hass)
    automation = {"alias": "Quiet nights", "use_blueprint": {"path": "zephyr_ipmi/quiet_hours.yaml", "input": inputs}}
    try:
        assert await async_setup_component(hass, "automation", {"automation": [automation]})
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
        await hass.async_block_till_done()
        assert hass.states.get(switch).state == "off"
        assert sim.control.state()["fans"]["mode_name"] == "optimal"
    finally:
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
