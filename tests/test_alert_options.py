"""Tests of the options page for a sensor's own monitoring limits, on a loaded entry (its SDR sensors)."""

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def _options_page(hass: HomeAssistant, entry: MockConfigEntry, page: str) -> dict[str, Any]:
    """Open the options and pick ``page`` from the menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["polling", "alerts", "sensor_limits"]
    return dict(await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": page}))


async def test_sensor_limits(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A threshold sensor gets limits of its own in its unit; empty fields remove them; order is checked."""
    result = await _options_page(hass, init_integration, "sensor_limits")
    assert result["step_id"] == "sensor_limits"
    options = result["data_schema"].schema["sensor"].config["options"]
    # Threshold sensors only, by name; discrete sensors have no limits.
    assert [option["label"] for option in options] == [
        "12V",
        "CPU Temp",
        "FAN1",
        "FAN2",
        "PS1 Current",
        "PS1 Input Power",
        "System Temp",
    ]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"sensor": "20_0_2"})
    assert result["step_id"] == "sensor_limit"
    assert result["description_placeholders"] == {"sensor": "System Temp", "unit": "°C", "thresholds": "UCR 85"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"warning_high": 60.0, "critical_high": 55.0}
    )
    assert result["errors"] == {"base": "limits_out_of_order"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"warning_high": 50.0, "critical_high": 55.0, "critical_low": 5.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options["sensor_limits"] == {
        "20_0_2": {"warning_high": 50.0, "critical_high": 55.0, "critical_low": 5.0}
    }

    # Opened again: the sensor is marked, its limits are suggested; all fields empty removes them.
    result = await _options_page(hass, init_integration, "sensor_limits")
    labels = {o["value"]: o["label"] for o in result["data_schema"].schema["sensor"].config["options"]}
    assert labels["20_0_2"] == "System Temp ✓"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"sensor": "20_0_2"})
    suggested = {key.schema: key.description for key in result["data_schema"].schema}
    assert suggested["critical_high"] == {"suggested_value": 55.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options["sensor_limits"] == {}
