"""IPMI core of Zephyr IPMI: sessions, SDR, sensor readings and vendor logic.

Nothing in this package imports Home Assistant, so it can be read, tested and benchmarked alone.
The only transport is pyghmi's IPMI 2.0 (RMCP+, lanplus) session; SDR parsing and sensor reading
decoding follow the IPMI 2.0 specification (sections 35 and 43) and are owned here.
"""

from .client import BmcClient
from .errors import (
    IpmiAuthError,
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiProtocolError,
    IpmiSessionLimitError,
    IpmiWrongBmcError,
)
from .models import (
    BmcIdentity,
    BmcSnapshot,
    PowerReading,
    SdrSensor,
    SensorKind,
    SensorReading,
    SensorStatus,
)

__all__ = [
    "BmcClient",
    "BmcIdentity",
    "BmcSnapshot",
    "IpmiAuthError",
    "IpmiCompletionCodeError",
    "IpmiConnectionError",
    "IpmiError",
    "IpmiProtocolError",
    "IpmiSessionLimitError",
    "IpmiWrongBmcError",
    "PowerReading",
    "SdrSensor",
    "SensorKind",
    "SensorReading",
    "SensorStatus",
]
