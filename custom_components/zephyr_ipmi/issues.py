"""Repair issues of Zephyr IPMI: what the user must fix by hand, shown under Settings > Repairs."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN


def wrong_bmc_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the "a different BMC answers" issue of ``entry`` (one per entry)."""
    return f"wrong_bmc_{entry.entry_id}"


@callback
def async_create_wrong_bmc_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Tell the user that another BMC answers at the entry's address, and how to point the entry at its BMC.

    The entry's BMC (recognised by system GUID or FRU identity) is not the one answering at host:port:
    most often the server got a new address and another server took the old one. Only the user knows
    the new address, so the issue leads to the entry's Reconfigure. Raised again on every failed setup;
    ``async_delete_wrong_bmc_issue`` clears it once the entry's own BMC answers.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        wrong_bmc_issue_id(entry),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="wrong_bmc",
        translation_placeholders={
            "title": entry.title,
            "host": str(entry.data[CONF_HOST]),
            "port": str(entry.data[CONF_PORT]),
            "entry_url": f"/config/integrations/integration/{DOMAIN}#config_entry={entry.entry_id}",
        },
    )


@callback
def async_delete_wrong_bmc_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Clear the "a different BMC answers" issue of ``entry``, if raised."""
    ir.async_delete_issue(hass, DOMAIN, wrong_bmc_issue_id(entry))
