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
