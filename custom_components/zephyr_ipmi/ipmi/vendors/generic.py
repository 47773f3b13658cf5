"""Any other BMC: monitoring only, plus the standard chassis commands when the chassis device answers.

Fan control exists only as OEM commands (netfn 0x30-0x3F), which Zephyr sends only to the vendors it
knows; guessing OEM bytes on an unknown board is how fans get stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import BmcIdentity
from .base import Capabilities, MonitoringOnly, RequestFn, chassis_supported


def detect(identity: BmcIdentity, request: RequestFn, fans: Sequence[str] = ()) -> MonitoringOnly:
    """Capabilities of an unknown BMC: no fan control ("generic_monitoring_only")."""
    power = chassis_supported(request)
    return MonitoringOnly(
        Capabilities(
            vendor="generic",
            fan_control=False,
            fan_control_reason="generic_monitoring_only",
            power_control=power,
            identify=power,
        )
    )
