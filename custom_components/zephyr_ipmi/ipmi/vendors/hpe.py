"""HPE iLO 3/4/5/6: monitoring only.

No IPMI fan-control command is documented for iLO; IPMI gives sensors, SEL, power and FRU. Fan policy
lives in the BIOS (RBSU); lower speeds need patched iLO 4 firmware over SSH (ilo4_unlock; field notes §1).
The iLO generation follows the ProLiant generation in the model name (G7 -> iLO 3, Gen8/Gen9 -> iLO 4,
Gen10 -> iLO 5, Gen11 -> iLO 6).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import BmcIdentity
from .base import Capabilities, MonitoringOnly, RequestFn, chassis_supported, generation_number

_ILO_BY_GENERATION = {7: "ilo3", 8: "ilo4", 9: "ilo4", 10: "ilo5", 11: "ilo6"}


def detect(identity: BmcIdentity, request: RequestFn, fans: Sequence[str] = ()) -> MonitoringOnly:
    """Capabilities of an HPE BMC: no fan control ("hpe_no_ipmi_fan_control"); power if the chassis answers."""
    gen = generation_number(identity.model, r"\bG(?:en)?\s?(\d{1,2})\b")
    power = chassis_supported(request)
    return MonitoringOnly(
        Capabilities(
            vendor="hpe",
            generation=None if gen is None else _ILO_BY_GENERATION.get(gen),
            fan_control=False,
            fan_control_reason="hpe_no_ipmi_fan_control",
            power_control=power,
            identify=power,
        )
    )
