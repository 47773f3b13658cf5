"""IPMI core of Zephyr IPMI: sessions, SDR, sensor readings and vendor logic.

Nothing in this package imports Home Assistant, so it can be read, tested and benchmarked alone.
The only transport is pyghmi's IPMI 2.0 (RMCP+, lanplus) session; SDR parsing and sensor reading
decoding follow the IPMI 2.0 specification (sections 35 and 43) and are owned here.

Parts, each importing only those listed before it:

* ``protocol``: netfn, command and completion code numbers; ``errors``: the exception tree.
* ``conversion``: raw byte ↔ value of a sensor (§36.3); ``models``: the typed results.
* ``sdr``: SDR record parsing and reading decoding; ``fru``: FRU inventory; ``iana``: manufacturer names.
* ``records``: the record walker (SDR, SEL; whole records, pieces, reservations, chunk halving).
* ``session``: the pyghmi boundary (one lanplus session, pyghmi's defects worked around).
* ``identity``: Get Device ID, System GUID, FRU identity and the same-BMC check.
* ``connection``: the session, logged in on demand, with the identity checked at each login.
* ``sdr_cache``: the SDR's sensors and its disk cache; ``poller``: readings, chassis and DCMI power.
* ``client``: ``BmcClient``, the face the integration (and fan control, SEL alerts) use.
* ``vendors``: vendor fan command sets (bytes only); ``thresholds`` and ``raw``: checks of those writes.
* ``gate``: the write gate every hardware write passes, with the audit trail.
* ``control``: ``FanController``, the control facade the integration calls.
"""

from .client import BmcClient
from .control import ChassisAction, FanController, FanState
from .errors import (
    IpmiAuthError,
    IpmiClientClosedError,
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiError,
    IpmiFanControlLockedError,
    IpmiProtocolError,
    IpmiSessionLimitError,
    IpmiWriteRefusedError,
    IpmiWrongBmcError,
)
from .gate import AuditRecord, WriteGate
from .models import (
    BmcIdentity,
    BmcSnapshot,
    PowerReading,
    SdrSensor,
    SensorKind,
    SensorReading,
    SensorStatus,
)
from .records import SDR_REPOSITORY, SEL, Record, RecordRepository, RecordWalker, Requester
from .sdr_cache import remove_sdr_cache
from .vendors import Capabilities, FanMode, FanZone, ReadRequest, VendorCommandSet, WriteKind, WriteRequest, detect

__all__ = [
    "SDR_REPOSITORY",
    "SEL",
    "AuditRecord",
    "BmcClient",
    "BmcIdentity",
    "BmcSnapshot",
    "Capabilities",
    "ChassisAction",
    "FanController",
    "FanMode",
    "FanState",
    "FanZone",
    "IpmiAuthError",
    "IpmiClientClosedError",
    "IpmiCompletionCodeError",
    "IpmiConnectionError",
    "IpmiError",
    "IpmiFanControlLockedError",
    "IpmiProtocolError",
    "IpmiSessionLimitError",
    "IpmiWriteRefusedError",
    "IpmiWrongBmcError",
    "PowerReading",
    "ReadRequest",
    "Record",
    "RecordRepository",
    "RecordWalker",
    "Requester",
    "SdrSensor",
    "SensorKind",
    "SensorReading",
    "SensorStatus",
    "VendorCommandSet",
    "WriteGate",
    "WriteKind",
    "WriteRequest",
    "detect",
    "remove_sdr_cache",
]
