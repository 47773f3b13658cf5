"""Vendor fan command sets, chosen from Get Device ID and confirmed with read-only requests.

``detect`` picks the family by the IANA manufacturer id of Get Device ID (IPMI 2.0 §20.1): Supermicro
10876, Dell 674, Hewlett-Packard 11 / HPE 47196; everything else is generic (monitoring only). Nothing is
written to find out what a board supports.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import iana
from ..models import BmcIdentity
from . import dell, generic, hpe, supermicro
from .base import (
    ABSOLUTE_FLOOR,
    BMC_DRIVEN_MODES,
    DEFAULT_FLOOR,
    FAN_WRITE_KINDS,
    WARN_BELOW,
    Capabilities,
    FanMode,
    FanZone,
    MonitoringOnly,
    ReadRequest,
    RequestFn,
    VendorCommandSet,
    WriteKind,
    WriteRequest,
)
from .dell import DellCommands
from .supermicro import SupermicroCommands

__all__ = [
    "ABSOLUTE_FLOOR",
    "BMC_DRIVEN_MODES",
    "DEFAULT_FLOOR",
    "FAN_WRITE_KINDS",
    "WARN_BELOW",
    "Capabilities",
    "DellCommands",
    "FanMode",
    "FanZone",
    "MonitoringOnly",
    "ReadRequest",
    "RequestFn",
    "SupermicroCommands",
    "VendorCommandSet",
    "WriteKind",
    "WriteRequest",
    "detect",
]


def detect(identity: BmcIdentity, request: RequestFn, fans: Sequence[str] = ()) -> VendorCommandSet:
    """Return the command set for the BMC ``identity`` describes, confirmed with read-only requests.

    ``request(netfn, command, data) -> bytes`` sends one read (e.g. ``BmcClient.request``); ``fans`` are the
    SDR names of the fan sensors (they name the zones' fans and Dell's per-fan zones). Raises
    ``IpmiConnectionError`` when the BMC does not answer.
    """
    vendor = identity.manufacturer_id
    if vendor == iana.SUPERMICRO:
        return supermicro.detect(identity, request, fans)
    if vendor == iana.DELL:
        return dell.detect(identity, request, fans)
    if vendor in (iana.HEWLETT_PACKARD, iana.HPE):
        return hpe.detect(identity, request, fans)
    return generic.detect(identity, request, fans)
