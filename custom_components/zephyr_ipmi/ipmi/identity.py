"""Who a BMC is: Get Device ID, Get System GUID and FRU 0, and whether a BMC is the one seen before."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .errors import IpmiCompletionCodeError, IpmiProtocolError
from .fru import read_fru
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
    device = read_device_id(requester)
    guid = read_guid(requester)
    fru = read_fru(requester)
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
