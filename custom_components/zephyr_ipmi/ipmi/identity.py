"""Who a BMC is: Get Device ID, Get System GUID and FRU 0, and whether a BMC is the one seen before.

The identity is checked at every new login: a DHCP lease can hand the address to another server whose
BMC takes the same credentials, and its readings must never show under the old server's names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from .errors import IpmiCompletionCodeError, IpmiProtocolError
from .fru import FruInfo, read_fru
from .iana import manufacturer_name
from .models import BmcIdentity
from .protocol import CC_UNSUPPORTED, CMD_GET_DEVICE_ID, CMD_GET_SYSTEM_GUID, NETFN_APP
from .records import Requester


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceId:
    """The fields of a Get Device ID answer the core uses (IPMI 2.0 §20.1, Table 20-2)."""

    device_id: int
    device_revision: int
    firmware: str
    ipmi_version: str
    manufacturer_id: int
    product_id: int


def read_device_id(requester: Requester) -> DeviceId:
    """Send Get Device ID (IPMI 2.0 §20.1); raise ``IpmiProtocolError`` for an answer under 11 bytes."""
    data = requester.request(NETFN_APP, CMD_GET_DEVICE_ID)
    if len(data) < 11:
        raise IpmiProtocolError(f"Get Device ID answered {len(data)} bytes, 11 expected")
    return DeviceId(
        device_id=data[0],
        device_revision=data[1] & 0x0F,
        firmware=f"{data[2] & 0x7F}.{data[3]:02X}",
        ipmi_version=f"{data[4] & 0x0F}.{data[4] >> 4}",
        manufacturer_id=data[6] | (data[7] << 8) | ((data[8] & 0x0F) << 16),
        product_id=data[9] | (data[10] << 8),
    )


def read_guid(requester: Requester) -> str | None:
    """Get System GUID (IPMI 2.0 §22.14), or None when the BMC has none.

    Only "not supported" completion codes mean no GUID: a busy BMC (C0h) raises, so a transient answer
    never gives a BMC a different identity (and unique id) than it has.
    """
    try:
        data = requester.request(NETFN_APP, CMD_GET_SYSTEM_GUID)
    except IpmiCompletionCodeError as err:
        if err.code in CC_UNSUPPORTED:
            return None
        raise
    if len(data) < 16 or data[:16] in (bytes(16), b"\xff" * 16):
        return None
    return str(uuid.UUID(bytes_le=bytes(data[:16])))


def read_identity(requester: Requester) -> BmcIdentity:
    """Read who the BMC is: Get Device ID, Get System GUID and the FRU 0 product/board info."""
    return _identity(read_device_id(requester), read_guid(requester), read_fru(requester))


def _identity(device: DeviceId, guid: str | None, fru: FruInfo) -> BmcIdentity:
    return BmcIdentity(
        manufacturer_id=device.manufacturer_id,
        manufacturer=manufacturer_name(device.manufacturer_id),
        product_id=device.product_id,
        device_id=device.device_id,
        device_revision=device.device_revision,
        firmware=device.firmware,
        ipmi_version=device.ipmi_version,
        guid=guid,
        model=fru.product_name or fru.board_product,
        serial=fru.product_serial or fru.board_serial,
    )


def same_bmc(known: BmcIdentity, seen: BmcIdentity) -> bool:
    """Return whether ``seen`` (read after a new login) is the BMC ``known`` describes.

    A system GUID on both sides decides alone. Otherwise every trait both identities carry must be
    equal: manufacturer, product and device id always, and the FRU serial number and model when both
    have them. When no unique trait (GUID, serial) can be compared, the firmware revision must match
    too: two boards of one model then differ in nothing else the BMC reports.
    """
    if known.guid is not None and seen.guid is not None:
        return known.guid == seen.guid
    if (known.manufacturer_id, known.product_id, known.device_id) != (
        seen.manufacturer_id,
        seen.product_id,
        seen.device_id,
    ):
        return False
    compared_unique = False
    for mine, theirs, unique in ((known.serial, seen.serial, True), (known.model, seen.model, False)):
        if mine is not None and theirs is not None:
            if mine != theirs:
                return False
            compared_unique = compared_unique or unique
    return compared_unique or known.firmware == seen.firmware


def check_identity(requester: Requester, known: BmcIdentity) -> BmcIdentity | None:
    """Read who answers after a new login and compare it with ``known``; None when it is another BMC.

    Costs Get Device ID and Get System GUID when both sides have a GUID; otherwise the FRU is read
    too, so a BMC without a GUID is still told apart by its serial number, model and firmware.
    Returns the identity seen (``known`` with the firmware revision as now reported).
    """
    device = read_device_id(requester)
    guid = read_guid(requester)
    fru = read_fru(requester) if guid is None or known.guid is None else FruInfo()
    seen = _identity(device, guid, fru)
    if not same_bmc(known, seen):
        return None
    return replace(known, firmware=device.firmware)
