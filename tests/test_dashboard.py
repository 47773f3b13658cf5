"""The example dashboard (docs/dashboard.yaml) names only entities the integration creates for the demo's server.

The server is set up as ``scripts/develop`` sets it up: bmcsim's Supermicro X11 profile over UDP on 127.0.0.1,
added through the config flow, so the entity ids are the ones a user of the demo sees. Automatic fan control is
turned on (as the README's demo does) so that its target duty sensors have the numbers the duty graph draws.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hass_frontend
import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.template import Template
from homeassistant.util.yaml import load_yaml_dict

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

DASHBOARD = Path(__file__).parent.parent / "docs" / "dashboard.yaml"
USER, PASSWORD = "ADMIN", "Dash-Board-31"
#: Entity ids as they appear in card options and templates.
ENTITY_ID = re.compile(r"\b(?:binary_sensor|button|event|fan|number|select|sensor|switch)\.[a-z0-9_]+\b")
#: Card types of Home Assistant's frontend the dashboard may use (no custom cards: usable without HACS plugins).
BUILT_IN_CARDS = {
    "entities",
    "entity",
    "gauge",
    "glance",
    "grid",
    "heading",
    "history-graph",
    "horizontal-stack",
    "logbook",
    "markdown",
    "statistics-graph",
    "tile",
    "vertical-stack",
}

#: Tile card features the dashboard uses, by the entity domain each one controls.
TILE_FEATURES = {"fan-speed": "fan", "select-options": "select", "toggle": "switch"}

SimFactory = Callable[..., Simulator]


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Run Home Assistant in the test's own directory: the SDR cache is written under its .storage."""
    return hass_tmp_config_dir


def _strings(node: Any) -> Iterator[str]:
    """Every string in a YAML tree (values and keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _cards(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every card of every view: the view's cards, its sections' cards, and the cards inside stacks and grids."""

    def walk(cards: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for card in cards:
            yield card
            yield from walk(card.get("cards", []))

    for view in dashboard["views"]:
        yield from walk(view.get("cards", []))
        for section in view.get("sections", []):
            yield from walk(section.get("cards", []))


def _card_entities(card: dict[str, Any]) -> list[str]:
    """The entity ids a card shows through ``entity`` or ``entities``."""
    found = [card["entity"]] if "entity" in card else []
    for item in card.get("entities", []):
        found.append(item if isinstance(item, str) else item["entity"])
    return found


def _frontend_elements(features: set[str]) -> set[str]:
    """The ``features`` whose card feature element (``hui-<type>-card-feature``) the installed frontend defines."""
    found: set[str] = set()
    for path in (Path(hass_frontend.where()) / "frontend_latest").glob("*.js"):
        code = path.read_text(errors="ignore")
        found |= {feature for feature in features if f"hui-{feature}-card-feature" in code}
        if found == features:
            break
    return found


async def _add_demo_server(hass: HomeAssistant, sim: Simulator) -> ConfigEntry:
    """Add the simulated server through the config flow, as scripts/develop does."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "bmc"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


async def test_dashboard_names_entities_of_the_demo_server(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Every entity id of the dashboard exists for the simulated X11, enabled, with a state its card can show.

    The control tiles use card features of the installed frontend on entities of their domain, and the fan
    duty graph draws what the BMC runs once automatic fan control holds the CPU zone quiet.
    """
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD}, load=0)
    sim.control.tick(120)  # a cool, idle server: the quiet rule applies
    entry = await _add_demo_server(hass, sim)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.supermicro_sys_5019s_m_automatic_fan_control"}, blocking=True
    )
    await hass.async_block_till_done()
    assert round(sim.control.state()["fans"]["zone_duty"][0]) == 24
    assert hass.states.get("sensor.supermicro_sys_5019s_m_cpu_zone_target_duty").state == "24"
    registry = er.async_get(hass)
    created = {entity.entity_id: entity for entity in er.async_entries_for_config_entry(registry, entry.entry_id)}

    dashboard = await hass.async_add_executor_job(load_yaml_dict, str(DASHBOARD))
    named = {match for text in _strings(dashboard) for match in ENTITY_ID.findall(text)}
    assert len(named) >= 20, sorted(named)
    assert sorted(named - created.keys()) == [], f"not created for the demo's server; created: {sorted(created)}"
    assert sorted(entity_id for entity_id in named if created[entity_id].disabled_by is not None) == []
    for entity_id in named:
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.state != STATE_UNAVAILABLE, entity_id

    cards = list(_cards(dashboard))
    assert sorted({card["type"] for card in cards} - BUILT_IN_CARDS) == []
    for card in cards:
        for entity_id in _card_entities(card):
            state = hass.states.get(entity_id)
            assert state is not None, entity_id
            if card["type"] in ("history-graph", "gauge"):
                float(state.state)  # a number the graph can draw
            if card["type"] == "statistics-graph":
                # Long-term statistics exist only for entities with a state class.
                assert state.attributes.get("state_class") is not None, entity_id

    tiles = [card for card in cards if card["type"] == "tile"]
    features = [(card["entity"], feature["type"]) for card in tiles for feature in card.get("features", [])]
    assert {feature for _, feature in features} == set(TILE_FEATURES)
    for entity_id, feature in features:
        assert entity_id.split(".")[0] == TILE_FEATURES[feature], (entity_id, feature)
    assert await hass.async_add_executor_job(_frontend_elements, set(TILE_FEATURES)) == set(TILE_FEATURES)
    await entry.runtime_data.control.async_refresh()  # the fan read-back of the next control interval
    await hass.async_block_till_done()
    assert hass.states.get("fan.supermicro_sys_5019s_m_cpu_zone").attributes["percentage"] == 24
    assert hass.states.get("select.supermicro_sys_5019s_m_fan_mode").state == "full"


async def test_dashboard_lists_sensors_outside_their_range(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """The health card's template names every sensor the Hardware health sensor reports, with its status."""
    sim = bmc_sim_factory("supermicro-x11", users={USER: PASSWORD})
    entry = await _add_demo_server(hass, sim)
    dashboard = await hass.async_add_executor_job(load_yaml_dict, str(DASHBOARD))
    (card,) = (card for card in _cards(dashboard) if card["type"] == "markdown")
    content = Template(card["content"], hass)

    assert content.async_render(parse_result=False).strip() == "Every sensor is within its thresholds."

    sim.control.set_temperature("CPU Temp", 97)
    coordinator: ZephyrCoordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    lines = [line.strip() for line in content.async_render(parse_result=False).splitlines() if line.strip()]
    assert lines == ["- **CPU Temp**: critical"]

    sim.control.set_fan_failed("FAN2")
    sim.control.tick(30)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    lines = [line.strip() for line in content.async_render(parse_result=False).splitlines() if line.strip()]
    assert lines == ["- **FAN2**: non-recoverable", "- **CPU Temp**: critical"]
