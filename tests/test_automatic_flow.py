"""Options flow of automatic fan control against bmcsim on 127.0.0.1: every refusal on its field, then saved."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .control_helpers import SimFactory, async_add, start_sim

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

GENERAL = {"scan_interval": 300, "allow_non_admin_control": False}
LOOP = {"interval": 20, "hysteresis": 4, "min_change_interval": 90, "lost_ticks": 3}


async def _start(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Open the options and pick automatic fan control from the menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["polling", "alerts", "sensor_limits", "automatic"]
    return await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "automatic"})


def suggested(result: dict[str, Any]) -> dict[str, Any]:
    """Return the values a form is prefilled with."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


def _key(entry: ConfigEntry, name: str) -> str:
    return next(key for key, sensor in entry.runtime_data.coordinator.sensors.items() if sensor.name == name)


async def test_supermicro_quiet_rule_curve_and_fan_limits(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    cpu, pch, fan1, fana = (_key(entry, n) for n in ("CPU Temp", "PCH Temp", "FAN1", "FANA"))
    flow = await _start(hass, entry)
    assert flow["step_id"] == "automatic"
    configure = hass.config_entries.options.async_configure

    # the loop's numbers
    result = await configure(flow["flow_id"], {**LOOP, "hysteresis": 0.5})
    assert result["errors"] == {"hysteresis": "hysteresis_range"}
    assert result["description_placeholders"] == {"value": "0.5", "min": "1", "max": "15"}
    result = await configure(flow["flow_id"], {**LOOP, "min_change_interval": 4000})
    assert result["errors"] == {"min_change_interval": "min_change_interval_range"}
    result = await configure(flow["flow_id"], LOOP)

    # CPU zone: prefilled with the default quiet rule
    assert (result["step_id"], result["description_placeholders"]) == ("automatic_zone", {"zone": "CPU zone"})
    quiet = {"rule": "quiet", "sensors": [cpu], "quiet_temperature": 48, "quiet_rpm": 2500, "quiet_duty": 30}
    for change, errors in (
        ({"sensors": []}, {"sensors": "no_sensors"}),
        ({"quiet_duty": 15}, {"quiet_duty": "quiet_duty_below_floor"}),
        ({"quiet_duty": 25.5}, {"quiet_duty": "quiet_duty_invalid"}),
        ({"quiet_temperature": 10}, {"handback": "handback_range"}),
        ({"quiet_rpm": 40000}, {"quiet_rpm": "rpm_range"}),
    ):
        result = await configure(flow["flow_id"], {**quiet, **change})
        assert result["errors"] == errors, change
    result = await configure(flow["flow_id"], quiet)

    # Peripheral zone: a curve on PCH Temp and a drive temperature from another integration
    assert result["description_placeholders"] == {"zone": "Peripheral zone"}
    curve = {"rule": "curve", "sensors": [pch], "entities": ["sensor.nas_disk"], "points": "30:25, 50:60"}
    for change, errors in (
        ({"points": "30:25"}, {"points": "curve_point_count"}),
        ({"points": "30:25, hot:60"}, {"points": "curve_point_invalid"}),
        ({"points": "30:35, 50:30"}, {"points": "curve_duties_decreasing"}),
        ({"points": "30:25, 50:10"}, {"points": "curve_duty_below_floor"}),
        ({"points": "30:25, 50:60", "handback": 25}, {"handback": "curve_above_handback"}),
        ({"sensors": [], "points": "30:25, 50:60"}, {"handback": "handback_unknown"}),
    ):
        result = await configure(flow["flow_id"], {**curve, **change})
        assert result["errors"] == errors, change
    result = await configure(flow["flow_id"], curve)

    # fans: FAN1 limits (refusals on their fields), FANA a curve of its own
    assert result["step_id"] == "automatic_fans"
    result = await configure(flow["flow_id"], {"fan": fan1})
    assert (result["step_id"], result["description_placeholders"]) == ("automatic_fan", {"fan": "FAN1"})
    for change, errors in (
        ({"min_rpm": 600}, {"min_rpm": "fan_rpm_below_lower_critical"}),
        ({"min_rpm": 3000, "max_rpm": 2000}, {"max_rpm": "fan_max_below_min"}),
        ({"min_rpm": 900, "points": "40:30, 50:40"}, {"sensors": "no_sensors"}),
        ({"sensors": [cpu], "points": "40:30, 30:40"}, {"points": "curve_temperatures_not_increasing"}),
    ):
        result = await configure(flow["flow_id"], change)
        assert result["errors"] == errors, change
    result = await configure(flow["flow_id"], {"min_rpm": 900, "max_rpm": 4000})
    assert result["step_id"] == "automatic_fans"
    result = await configure(flow["flow_id"], {"fan": fana})
    result = await configure(flow["flow_id"], {"entities": ["sensor.hdd"], "points": "30:30, 45:70", "handback": 55})
    # FAN1 again: the form shows what was entered
    result = await configure(flow["flow_id"], {"fan": fan1})
    assert suggested(result) == {"min_rpm": 900.0, "max_rpm": 4000.0}
    result = await configure(flow["flow_id"], {"min_rpm": 1000, "max_rpm": 4000})
    result = await configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    stored = entry.options["automatic"]
    assert stored["enabled"] is False
    assert (stored["interval"], stored["hysteresis"], stored["min_change_interval"], stored["lost_ticks"]) == (
        20.0,
        4.0,
        90.0,
        3,
    )
    assert stored["rules"] == [
        {"type": "quiet", "zone": "cpu", "sensors": [cpu], "temperature": 48.0, "rpm": 2500.0, "duty": 30},
        {
            "type": "curve",
            "zone": "peripheral",
            "sensors": [pch, "sensor.nas_disk"],
            "points": [[30.0, 25], [50.0, 60]],
            "handback": 90.0,
        },
    ]
    assert stored["overrides"] == [
        {
            "fan": fana,
            "min_rpm": None,
            "max_rpm": None,
            "sensors": ["sensor.hdd"],
            "points": [[30.0, 30], [45.0, 70]],
            "handback": 55.0,
        },
        {"fan": fan1, "min_rpm": 1000.0, "max_rpm": 4000.0},
    ]
    # the entry reloaded with these settings
    automatic = entry.runtime_data.automatic
    assert automatic.settings.interval == 20.0
    assert [rule.zone for rule in automatic.settings.rules] == ["cpu", "peripheral", "peripheral"]


async def test_general_options_keep_automatic_settings(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Saving only the scan interval keeps the automatic fan control settings (and the switch's state)."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "automatic": {"enabled": True}})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    result = await hass.config_entries.options.async_configure(result["flow_id"], {**GENERAL, "scan_interval": 60})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["scan_interval"] == 60
    assert entry.options["automatic"] == {"enabled": True}


async def test_dell_curve_and_no_rule(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Dell: one zone (all fans), no quiet rule on offer; a curve on both CPUs; clearing it leaves no rule."""
    sim = start_sim(bmc_sim_factory, "dell-idrac8")
    entry = await async_add(hass, sim)
    cpus = [key for key, sensor in entry.runtime_data.coordinator.sensors.items() if sensor.name == "Temp"]
    flow = await _start(hass, entry)
    result = await hass.config_entries.options.async_configure(flow["flow_id"], LOOP)
    assert result["description_placeholders"] == {"zone": "All fans"}
    options = result["data_schema"].schema["rule"].config["options"]
    assert options == ["none", "curve"]
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"rule": "curve", "sensors": cpus, "points": "35:20; 50:30; 70:80"}
    )
    result = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["automatic"]["rules"][0]["handback"] == 84.0
    assert entry.options["automatic"]["rules"][0]["zone"] == "all"

    flow = await _start(hass, entry)
    result = await hass.config_entries.options.async_configure(flow["flow_id"], LOOP)
    assert suggested(result) == {
        "rule": "curve",
        "sensors": cpus,
        "entities": [],
        "points": "35:20, 50:30, 70:80",
        "handback": 84.0,
        "quiet_temperature": 50,
        "quiet_rpm": 2050,
        "quiet_duty": 24,
    }
    result = await hass.config_entries.options.async_configure(flow["flow_id"], {"rule": "none"})
    result = await hass.config_entries.options.async_configure(flow["flow_id"], {})
    await hass.async_block_till_done()
    assert entry.options["automatic"]["rules"] == []


async def test_no_automatic_step_without_fan_control(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    sim = start_sim(bmc_sim_factory, "hpe-ilo4")
    entry = await async_add(hass, sim)
    assert entry.runtime_data.automatic is None
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["polling", "alerts", "sensor_limits"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    result = await hass.config_entries.options.async_configure(result["flow_id"], GENERAL)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "automatic" not in entry.options


async def test_automatic_step_aborts_once_the_bmc_is_unloaded(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """The menu offered automatic fan control, but the entry was unloaded before it was picked."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "automatic" in result["menu_options"]
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "automatic"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bmc_not_loaded"
