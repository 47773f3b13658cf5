"""IANA Private Enterprise Numbers of BMC manufacturers (the manufacturer id of Get Device ID, IPMI 2.0 §20.1)."""

from __future__ import annotations

SUPERMICRO = 10876
DELL = 674
HEWLETT_PACKARD = 11
HPE = 47196
LENOVO = 19046
IBM = 2
INTEL = 343

#: Manufacturer names by IANA enterprise number (source: IANA enterprise-numbers registry).
MANUFACTURERS: dict[int, str] = {
    SUPERMICRO: "Supermicro",
    DELL: "Dell",
    HEWLETT_PACKARD: "HPE",
    HPE: "HPE",
    LENOVO: "Lenovo",
    IBM: "IBM",
    INTEL: "Intel",
    7244: "Quanta",
    2011: "Huawei",
    5771: "Cisco",
    6653: "Tyan",
    10368: "Fujitsu",
    20974: "American Megatrends",
    49622: "OpenBMC",
    0: "Unknown",
}


def manufacturer_name(manufacturer_id: int) -> str:
    """Return the manufacturer's name for an IANA enterprise number, or "IANA <n>" when unknown."""
    return MANUFACTURERS.get(manufacturer_id, f"IANA {manufacturer_id}")
