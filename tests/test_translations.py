"""Every string the integration can show has a translation, in the domain Home Assistant looks it up in.

The abort reasons are not only the literal ``reason="…"`` of the code: Home Assistant's flow helpers
(``async_update_reload_and_abort``, ``_abort_if_unique_id_configured``, ``_abort_if_unique_id_mismatch``,
``async_set_unique_id``) end flows with reasons of their own, some translated by the integration and some by
Home Assistant itself (``translation_domain="homeassistant"``). This test runs each helper the flow uses and
checks that the reason it produces resolves in the translations Home Assistant serves to the frontend.
"""

import ast
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zephyr_ipmi.config_flow import ZephyrConfigFlow, ZephyrOptionsFlow
from custom_components.zephyr_ipmi.const import DOMAIN

from .conftest import GUID

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "zephyr_ipmi"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
CONFIG_FLOW = ast.parse((INTEGRATION / "config_flow.py").read_text(encoding="utf-8"))


def _class(name: str) -> ast.ClassDef:
    return next(node for node in ast.walk(CONFIG_FLOW) if isinstance(node, ast.ClassDef) and node.name == name)


def _called_methods(tree: ast.AST) -> set[str]:
    """Names of the ``self.<method>(…)`` calls in ``tree``."""
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    }


def _literal_reasons(tree: ast.AST) -> set[str]:
    """``reason="…"`` arguments given literally anywhere in ``tree``."""
    return {
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant)
    }


def _error_keys(tree: ast.AST) -> set[str]:
    """Error keys a flow shows: ``error = "…"``, ``errors[…] = "…"`` and ``{FIELD: "…"}`` error dicts."""
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                plain = isinstance(target, ast.Name) and target.id == "error"  # error = "…"
                keyed = (  # errors[FIELD] = "…"
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                )
                if plain or keyed:
                    keys.add(node.value.value)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            for element in node.value.elts:
                if isinstance(element, ast.Dict):
                    keys.update(
                        value.value
                        for value in element.values
                        if isinstance(value, ast.Constant) and isinstance(value.value, str)
                    )
    return keys


def test_english_matches_strings() -> None:
    """translations/en.json is a copy of strings.json."""
    assert json.loads((INTEGRATION / "translations" / "en.json").read_text(encoding="utf-8")) == STRINGS


def _automatic_setting_errors() -> set[str]:
    """Keys of the refusals the automatic fan control steps show: ``AutomaticConfigError("…")`` of the core."""
    keys: set[str] = set()
    for name in ("curve.py", "settings.py"):
        tree = ast.parse((INTEGRATION / "ipmi" / "automatic" / name).read_text(encoding="utf-8"))
        keys.update(
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "AutomaticConfigError"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        )
    return keys


def test_flow_errors_translated() -> None:
    """Each error key the config and options flows can show has a string, and no string is left unused."""
    assert _error_keys(_class(ZephyrConfigFlow.__name__)) == set(STRINGS["config"]["error"])
    options = _error_keys(_class(ZephyrOptionsFlow.__name__)) | _automatic_setting_errors()
    assert options == set(STRINGS["options"].get("error", {}))
    # the same refusals raised by the number entities and actions
    assert _automatic_setting_errors() <= set(STRINGS["exceptions"])


def test_entity_and_exception_keys_translated() -> None:
    """Every translation key, exception key and icon key in the code has a string."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in INTEGRATION.glob("*.py"))
    entity_keys = {key for platform in STRINGS["entity"].values() for key in platform}
    issues = _translation_keys((INTEGRATION / "issues.py").read_text(encoding="utf-8"))
    assert issues <= set(STRINGS["issues"])
    exceptions = _translation_keys(source) - entity_keys - issues
    assert exceptions <= set(STRINGS["exceptions"])
    for platform, keys in (
        ("sensor", {"dcmi_power", "dcmi_energy", "fan"}),
        ("binary_sensor", {"bmc_connectivity", "chassis_power"}),
    ):
        assert keys <= set(STRINGS["entity"][platform])
    icons = json.loads((INTEGRATION / "icons.json").read_text(encoding="utf-8"))
    for platform, keys in icons.get("entity", {}).items():
        assert set(keys) <= set(STRINGS["entity"][platform])


def _translation_keys(source: str) -> set[str]:
    """Literal ``translation_key="…"`` values in ``source``."""
    return {
        keyword.value.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "translation_key"
        and isinstance(keyword.value, ast.Constant)
        and isinstance(keyword.value.value, str)
    }


def _flow(hass: HomeAssistant, source: str, entry: MockConfigEntry, unique_id: str | None) -> ZephyrConfigFlow:
    """A config flow as the flow manager would start it from ``source`` for ``entry``."""
    flow = ZephyrConfigFlow()
    flow.hass = hass
    flow.handler = DOMAIN
    flow.flow_id = "translations-test"
    flow.context = {"source": source, "entry_id": entry.entry_id, "unique_id": unique_id}
    return flow


async def _ending(run: Callable[[], Awaitable[Any] | Any]) -> tuple[str, str]:
    """Run a flow helper; return (translation domain, reason) of the abort it ends the flow with."""
    try:
        result = run()
        if isinstance(result, Awaitable):
            result = await result
    except AbortFlow as abort:
        return abort.translation_domain or DOMAIN, abort.reason
    assert result["type"] == "abort", result
    return result.get("translation_domain") or DOMAIN, result["reason"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_every_abort_reason_translated(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Literal reasons and the reasons of the helpers the flow calls all resolve to an English string."""
    mock_config_entry.add_to_hass(hass)
    flow_class = _class(ZephyrConfigFlow.__name__)
    called = _called_methods(flow_class)
    endings = {(DOMAIN, reason) for reason in _literal_reasons(flow_class)}
    sources = [SOURCE_USER]
    steps = {node.name for node in flow_class.body if isinstance(node, ast.AsyncFunctionDef)}
    sources += [source for source in (SOURCE_REAUTH, SOURCE_RECONFIGURE) if f"async_step_{source}" in steps]

    for source in sources:
        if "async_update_reload_and_abort" in called and source != SOURCE_USER:
            flow = _flow(hass, source, mock_config_entry, GUID)
            endings.add(await _ending(lambda flow=flow: flow.async_update_reload_and_abort(mock_config_entry)))
            await hass.async_block_till_done()  # the reload it scheduled
        if "_abort_if_unique_id_mismatch" in called and source != SOURCE_USER:
            flow = _flow(hass, source, mock_config_entry, "another BMC")
            endings.add(await _ending(flow._abort_if_unique_id_mismatch))
        if "_abort_if_unique_id_configured" in called:
            flow = _flow(hass, source, mock_config_entry, GUID)
            endings.add(await _ending(flow._abort_if_unique_id_configured))
        if "async_set_unique_id" in called:
            # Another flow for the same BMC in progress (two browser tabs adding it at once).
            flow = _flow(hass, source, mock_config_entry, None)
            in_progress = [{"flow_id": "other", "handler": DOMAIN, "context": {"source": SOURCE_USER}}]
            with patch.object(ZephyrConfigFlow, "_async_in_progress", return_value=in_progress):
                endings.add(await _ending(lambda flow=flow: flow.async_set_unique_id(GUID)))

    # What the helpers of Home Assistant 2026.10 produce; the set grows when the flow uses more helpers.
    assert {
        (DOMAIN, "already_configured"),
        (DOMAIN, "unique_id_mismatch"),
        ("homeassistant", "reauth_successful"),
        ("homeassistant", "reconfigure_successful"),
        ("homeassistant", "already_in_progress"),
    } <= endings
    translations = await async_get_translations(hass, "en", "config", {domain for domain, _ in endings})
    missing = {
        (domain, reason)
        for domain, reason in endings
        if not translations.get(f"component.{domain}.config.abort.{reason}")
    }
    assert not missing
    # The strings of the integration's own reasons are its own; none is left unused.
    assert {reason for domain, reason in endings if domain == DOMAIN} == set(STRINGS["config"]["abort"])


def test_every_discrete_state_translated() -> None:
    """Each state table a multi-state discrete sensor can use has a name for every state it can show."""
    from custom_components.zephyr_ipmi.ipmi.discrete import discrete_view
    from custom_components.zephyr_ipmi.ipmi.models import SdrSensor, SensorKind

    tables = 0
    for reading_type in (*range(0x02, 0x0D), 0x6F):
        for sensor_type in range(0x01, 0x2D):
            sensor = SdrSensor(
                key="20_0_1",
                record_id=1,
                name="S",
                owner=0x20,
                lun=0,
                number=1,
                entity_id=0x07,
                entity_instance=1,
                sensor_type=sensor_type,
                reading_type=reading_type,
                kind=SensorKind.DISCRETE,
                unit=None,
            )
            view = discrete_view(sensor)
            if view is None or view.binary:
                continue
            tables += 1
            translations = STRINGS["entity"]["sensor"][view.translation_key]
            assert list(translations["state"]) == view.options, view.translation_key
            assert all(translations["state"].values())
            assert set(translations["state_attributes"]) == {"asserted", "problem"}
    assert tables > 30


def test_every_asserted_state_translated() -> None:
    """Every state any table can assert reads as the table names it, in the attribute of either platform.

    Any table can be a binary sensor (an SDR that declares one offset of it); tables the enum sensors use
    are in ``entity.sensor``. The ``asserted`` attribute lists state keys, which the frontend translates
    through the entity's translation key, the table's key.
    """
    from custom_components.zephyr_ipmi.ipmi.discrete import discrete_view
    from custom_components.zephyr_ipmi.ipmi.sensor_types import GENERIC_TABLES, SENSOR_TYPES
    from scripts.discrete_strings import discrete_sensor

    tables = {(reading_type, 0x01): table for reading_type, table in GENERIC_TABLES.items() if reading_type != 0x01} | {
        (0x6F, code): sensor.table for code, sensor in SENSOR_TYPES.items() if sensor.table is not None
    }
    assert len(tables) > 40
    for (reading_type, sensor_type), table in tables.items():
        for state in table:
            view = discrete_view(discrete_sensor(sensor_type, reading_type, 1 << state.offset))
            assert view is not None
            assert view.binary
            assert view.translation_key == table.key
        names = {state.key: state.name for state in table}
        binary = STRINGS["entity"]["binary_sensor"][table.key]
        assert "name" not in binary, "discrete binary sensors keep the name the BMC gives them"
        assert binary["state_attributes"]["asserted"]["state"] == names, table.key
        if (enum := STRINGS["entity"]["sensor"].get(table.key)) is not None:
            assert "name" not in enum
            assert enum["state_attributes"]["asserted"]["state"] == names, table.key


def test_discrete_strings_generated_from_the_tables() -> None:
    """strings.json holds what scripts/discrete_strings.py writes: run it after changing a state table."""
    from scripts.discrete_strings import dump, updated

    assert updated(STRINGS) == STRINGS
    assert dump(STRINGS) == (INTEGRATION / "strings.json").read_text(encoding="utf-8")


def test_threshold_status_translated() -> None:
    """The status attribute of every threshold sensor (fans and the rest) is translated, with every threshold."""
    for key in ("fan", "threshold_sensor"):
        attributes = STRINGS["entity"]["sensor"][key]["state_attributes"]
        assert set(attributes["status"]["state"]) == {"ok", "non_critical", "critical", "non_recoverable"}
        assert {
            "lower_non_recoverable",
            "lower_critical",
            "lower_non_critical",
            "upper_non_critical",
            "upper_critical",
            "upper_non_recoverable",
            "threshold_unit",
        } <= set(attributes)


def test_options_explain_access_and_the_reload() -> None:
    """The access option names every write it governs; the options say that saving hands the fans back."""
    options = STRINGS["options"]["step"]
    refusal = STRINGS["exceptions"]["not_allowed"]["message"]
    help_text = options["polling"]["data_description"]["allow_non_admin_control"]
    assert "event log" in refusal
    assert "clear the event log" in help_text
    for text in (options["init"]["description"], options["polling"]["description"]):
        assert "reloads the entry" in text
        assert "handed back to the BMC" in text
