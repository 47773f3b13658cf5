"""Constants of the Zephyr IPMI integration."""

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "zephyr_ipmi"
LOGGER = logging.getLogger(__package__)

DEFAULT_PORT: Final = 623
DEFAULT_SCAN_INTERVAL: Final = 300
"""Seconds between two polls of a BMC unless the options say otherwise."""
MIN_SCAN_INTERVAL: Final = 10
MAX_SCAN_INTERVAL: Final = 3600

SDR_CHECK_INTERVAL: Final = timedelta(hours=1)
"""How often the coordinator asks the BMC whether its SDR (sensor list) changed."""

SDR_CACHE_DIR: Final = "zephyr_ipmi_sdr"
"""Folder under HA's .storage where decoded SDRs are cached across restarts."""

POLL_HISTORY: Final = 20
"""Number of recent polls kept for diagnostics."""

EVENT_ALERT: Final = "zephyr_ipmi_alert"
"""Bus event fired for every alert, with ``Alert.as_dict()`` as data (alerts.py)."""

# Alert options (health alerts, rules.py): failed polls before "BMC unreachable", cooldown (s), monitoring limits.
CONF_UNREACHABLE_POLLS: Final = "unreachable_polls"
CONF_ALERT_COOLDOWN: Final = "alert_cooldown"
CONF_CPU_TEMPERATURE_WARNING: Final = "cpu_temperature_warning"
CONF_CPU_TEMPERATURE_CRITICAL: Final = "cpu_temperature_critical"
CONF_TEMPERATURE_WARNING: Final = "temperature_warning"
CONF_TEMPERATURE_CRITICAL: Final = "temperature_critical"
CONF_SENSOR_LIMITS: Final = "sensor_limits"
"""Options key of the per-sensor monitoring limits: SdrSensor.key → {"warning_high": …, "critical_low": …}."""

CONTROL_INTERVAL: Final = timedelta(seconds=30)
"""How often fan control is supervised: fan mode and zone duties read back, reverts and hand-backs checked."""

CONF_ALLOW_NON_ADMIN: Final = "allow_non_admin_control"
"""Option: let Home Assistant users without administrator rights use the fan and power entities."""

CONTROL_STORE_VERSION: Final = 1
CONTROL_STORE_KEY: Final = "zephyr_ipmi.control"
"""Prefix of the per-BMC storage file holding fan control state (to hand back after a crash) and the audit trail."""

AUDIT_LIMIT: Final = 500
"""Audit entries kept per BMC (oldest dropped first)."""

EVENT_AUDIT: Final = "zephyr_ipmi_audit"
"""Event fired for each audited write (or option change); the logbook shows it."""

CONF_AUTOMATIC: Final = "automatic"
"""Option: automatic fan control settings of the BMC (``AutomaticSettings.as_dict()`` plus ``enabled``)."""
