"""Repairs of Zephyr IPMI: retry fan control after the BMC took it back or refused it; clear a full SEL; tune fans.

Chassis intrusions are acknowledged with the plain confirmation of ``RetryFanControlFlow`` (no entry id).
"""

from __future__ import annotations

from typing import Final, override

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .automatic import ISSUE_PULSING
from .const import DOMAIN
from .coordinator import ZephyrConfigEntry
from .helpers import async_clear_event_log, bmc_errors
from .ipmi.automatic import AutomaticConfigError

ACTION_CLEAR_EVENT_LOG: Final = "clear_event_log"
"""Issue data ``action`` of the "SEL nearly full" issue: its fix clears the SEL."""
REPAIR_ACTOR: Final = "repair:sel_nearly_full"
"""Audit actor of a clear confirmed in the repair (Home Assistant lets only administrators fix repairs)."""


class RetryFanControlFlow(ConfirmRepairFlow):
    """Confirm, then forget the refusal or lost fight and reload the entry so fan control is tried again."""

    def __init__(self, entry_id: str) -> None:
        """Retry fan control of the entry ``entry_id``."""
        super().__init__()
        self._entry_id = entry_id

    @override
    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask for confirmation, then retry."""
        if user_input is not None:
            entry: ZephyrConfigEntry | None = self.hass.config_entries.async_get_entry(self._entry_id)
            if entry is not None and entry.state is ConfigEntryState.LOADED:
                await entry.runtime_data.control.async_retry()
        return await super().async_step_confirm(user_input)


class ClearEventLogFlow(ConfirmRepairFlow):
    """Confirm, then clear the BMC's SEL (its unread records are alerted first); a failure is shown in words."""

    def __init__(self, entry_id: str) -> None:
        """Clear the SEL of the entry ``entry_id``."""
        super().__init__()
        self._entry_id = entry_id

    @override
    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask for confirmation, then clear the SEL through the write gate (audited)."""
        if user_input is None:
            return await super().async_step_confirm()
        entry: ZephyrConfigEntry | None = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        try:
            await async_clear_event_log(entry, REPAIR_ACTOR, None)
        except HomeAssistantError as err:
            form = await super().async_step_confirm()
            return self.async_show_form(
                step_id="confirm",
                data_schema=form.get("data_schema"),
                errors={"base": "clear_failed"},
                description_placeholders={**(form.get("description_placeholders") or {}), "error": str(err)},
            )
        return self.async_create_entry(data={})


class TuneFanThresholdsFlow(ConfirmRepairFlow):
    """Confirm, then measure each pulsing fan and lower its thresholds to fit its speed at the floor duty."""

    def __init__(self, entry_id: str, fans: list[str]) -> None:
        """Tune ``fans`` (sensor keys) of the entry ``entry_id``."""
        super().__init__()
        self._entry_id = entry_id
        self._fans = fans

    @override
    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask for confirmation, then tune; a failure aborts with its reason in words (the issue stays)."""
        if user_input is None:
            return await super().async_step_confirm(user_input)
        entry: ZephyrConfigEntry | None = self.hass.config_entries.async_get_entry(self._entry_id)
        automatic = (
            entry.runtime_data.automatic if entry is not None and entry.state is ConfigEntryState.LOADED else None
        )
        if automatic is None:
            return self.async_abort(reason="not_loaded")
        try:
            async with bmc_errors(automatic.control):
                for fan in self._fans:
                    await automatic.async_tune(fan, "repair:fan_pulsing")
        except AutomaticConfigError as err:
            refused = HomeAssistantError(
                translation_domain=DOMAIN, translation_key=err.key, translation_placeholders=err.placeholders
            )
            return self.async_abort(reason="not_tuned", description_placeholders={"error": str(refused)})
        except HomeAssistantError as err:
            return self.async_abort(reason="not_tuned", description_placeholders={"error": str(err)})
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the flow that fixes ``issue_id``: clear a nearly full SEL, tune pulsing fans, or retry fan control."""
    data = data or {}
    entry_id = str(data.get("entry_id"))
    if data.get("action") == ACTION_CLEAR_EVENT_LOG:
        return ClearEventLogFlow(entry_id)
    if issue_id.startswith(ISSUE_PULSING):
        return TuneFanThresholdsFlow(entry_id, [fan for fan in str(data.get("fans")).split(",") if fan])
    return RetryFanControlFlow(entry_id)
