"""Repairs of Zephyr IPMI: retry fan control after the BMC took it back or its firmware refused it."""

from __future__ import annotations

from typing import override

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .coordinator import ZephyrConfigEntry


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


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the flow that fixes ``issue_id`` (lost or refused fan control)."""
    return RetryFanControlFlow(str((data or {}).get("entry_id")))
