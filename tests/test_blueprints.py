"""The shipped automation blueprints load with Home Assistant's blueprint schema and make valid automations.

Every file in blueprints/automation/zephyr_ipmi/ is read as Home Assistant reads an imported blueprint, its
inputs are checked against their selectors, and an automation made from it with typical inputs passes the
automation integration's own validation. The alert blueprint then runs against a server set up over UDP on
127.0.0.1 (bmcsim): its chassis is opened, and the notification reaches a Slack stand-in.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA, async_validate_config_item
from homeassistant.components.blueprint import Blueprint
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

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
