"""Who a BMC is: Get Device ID, Get System GUID and FRU 0, and whether a BMC is the one seen before.

The identity is checked at every new login: a DHCP lease can hand the address to another server whose
BMC takes the same credentials, and its readings must never show under the old server's names.

Many boards report values that are not theirs alone: a System GUID left at the firmware's placeholder
(identical on every board of a model, or of a whole BIOS vendor) and FRU fields left at "To be filled
by O.E.M.". Those count as absent; the identity then falls back to the FRU serial number and, lacking
one, to the MAC address of the BMC's LAN channel.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace

from .errors import IpmiCompletionCodeError, IpmiConnectionError, IpmiError, IpmiProtocolError
from .fru import FruInfo, read_fru
from .iana import manufacturer_name
from .models import BmcIdentity
from .protocol import (
    BMC_ADDRESS,
    CC_UNSUPPORTED,
    CMD_GET_DEVICE_ID,
    CMD_GET_LAN_CONFIG,
    CMD_GET_SYSTEM_GUID,
    NETFN_APP,
    NETFN_TRANSPORT,
)
from .records import SDR_REPOSITORY, RecordWalker, Requester
from .sdr import parse_controller_locator

_LOGGER = logging.getLogger(__name__)

#: System GUIDs that many boards share, so they identify nothing (compared lower-case, as decoded).
#: All zeros and all FFh mean "not set" (SMBIOS 3.x §7.2.1); 03000200-0400-0500-0006-000700080009
#: (raw bytes 00 02 00 03 … 00 09) is AMI firmware's default, seen on many boards; its big-endian
#: reading 00020003-0004-0005-0006-000700080009 is listed too, as some firmware stores it that way.
PLACEHOLDER_GUIDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",
        "00020003-0004-0005-0006-000700080009",
    }
)
#: FRU texts that firmware leaves in place of a serial number or model (compared case-insensitively).
PLACEHOLDER_TEXTS = frozenset(
    {
        "to be filled by o.e.m.",
        "default string",
        "not specified",
        "not applicable",
        "system serial number",
        "system product name",
        "0123456789",
        "1234567890",
        "none",
        "n/a",
        "na",
        "0",
        "-",
        ".",
    }
)
#: Management controller names that name no board (compared case-insensitively).
GENERIC_CONTROLLER_NAMES = frozenset({"bmc", "mc", "ipmi", "ipmi bmc", "bmc controller", "basbrd mgmt ctlr"})
#: Get LAN Configuration Parameters: parameter 5 is the MAC address (IPMI 2.0 Table 23-4).
LAN_PARAMETER_MAC = 5
#: Channels asked for the MAC: 0Eh is "the channel this request came in on" (IPMI 2.0 §6.3), 1 the
#: first LAN channel on most boards, for firmware that does not take 0Eh here.
LAN_CHANNELS = (0x0E, 0x01)
#: SDR records searched for the Management Controller Device Locator when the FRU names no model.
LOCATOR_SEARCH_LIMIT = 32


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


def read_system_guid(requester: Requester) -> str | None:
    """Get System GUID (IPMI 2.0 §22.14) as the BMC reports it (placeholders included), or None.

    Only "not supported" completion codes mean no GUID: a busy BMC (C0h) raises, so a transient answer
    never gives a BMC a different identity (and unique id) than it has.
    """
    try:
        data = requester.request(NETFN_APP, CMD_GET_SYSTEM_GUID)
    except IpmiCompletionCodeError as err:
        if err.code in CC_UNSUPPORTED:
            return None
        raise
    if len(data) < 16:
        return None
    return str(uuid.UUID(bytes_le=bytes(data[:16])))


def is_placeholder_guid(guid: str) -> bool:
    """Return whether ``guid`` is a placeholder many boards share (``PLACEHOLDER_GUIDS``)."""
    return guid.lower() in PLACEHOLDER_GUIDS


def read_guid(requester: Requester) -> str | None:
    """Get System GUID, or None when the BMC has none or reports a known placeholder."""
    guid = read_system_guid(requester)
    return None if guid is None or is_placeholder_guid(guid) else guid


def real_text(value: str | None) -> str | None:
    """Return a FRU text, or None when it is empty or a placeholder (``PLACEHOLDER_TEXTS``)."""
    if value is None or value.strip().lower() in PLACEHOLDER_TEXTS:
        return None
    return value


def read_mac(requester: Requester) -> str | None:
    """Return the MAC address of the BMC's LAN channel (Get LAN Configuration Parameters 5, §23.2).

    Returns "aa:bb:cc:dd:ee:ff", or None when no channel answers it or the address is all zeros/FFh.
    Only a lost connection (``IpmiConnectionError``) is raised.
    """
    for channel in LAN_CHANNELS:
        try:
            data = requester.request(NETFN_TRANSPORT, CMD_GET_LAN_CONFIG, (channel, LAN_PARAMETER_MAC, 0x00, 0x00))
        except IpmiConnectionError:
            raise
        except IpmiError:
            continue
        mac = bytes(data[1:7])
        if len(mac) == 6 and mac not in (bytes(6), b"\xff" * 6):
            return ":".join(f"{byte:02x}" for byte in mac)
    return None


def read_controller_name(requester: Requester) -> str | None:
    """Return the BMC's own name from the SDR's Management Controller Device Locator (IPMI 2.0 §43.9).

    Searches the first ``LOCATOR_SEARCH_LIMIT`` records for the locator of the BMC (slave address 20h).
    Returns None when there is none, its name is generic ("BMC"), or the SDR cannot be read.
    """
    try:
        for record in RecordWalker(requester, SDR_REPOSITORY, max_records=LOCATOR_SEARCH_LIMIT).walk():
            locator = parse_controller_locator(record.data)
            if locator is not None and locator[0] == BMC_ADDRESS:
                name = locator[1]
                return None if not name or name.lower() in GENERIC_CONTROLLER_NAMES else name
    except IpmiConnectionError:
        raise
    except IpmiError as err:
        _LOGGER.debug("No controller name from the SDR: %s", err)
    return None


def _identity(
    device: DeviceId, reported_guid: str | None, fru: FruInfo, mac: str | None, controller_name: str | None
) -> BmcIdentity:
    guid = None if reported_guid is None or is_placeholder_guid(reported_guid) else reported_guid
    return BmcIdentity(
        manufacturer_id=device.manufacturer_id,
        manufacturer=manufacturer_name(device.manufacturer_id),
        product_id=device.product_id,
        device_id=device.device_id,
        device_revision=device.device_revision,
        firmware=device.firmware,
        ipmi_version=device.ipmi_version,
        guid=guid,
        model=real_text(fru.product_name) or real_text(fru.board_product),
        serial=real_text(fru.product_serial) or real_text(fru.board_serial),
        mac=mac,
        controller_name=controller_name,
        placeholder_guid=reported_guid if reported_guid is not None and guid is None else None,
    )


def read_identity(requester: Requester) -> BmcIdentity:
    """Read who the BMC is: Get Device ID, Get System GUID and the FRU 0 product/board info.

    Without a usable GUID the MAC address is read too. (The controller's SDR name is not: it costs an
    SDR walk, see ``read_controller_name``.)
    """
    device = read_device_id(requester)
    reported = read_system_guid(requester)
    identity = _identity(device, reported, read_fru(requester), None, None)
    return replace(identity, mac=read_mac(requester)) if identity.guid is None else identity


def same_bmc(known: BmcIdentity, seen: BmcIdentity) -> bool:
    """Return whether ``seen`` (read after a new login) is the BMC ``known`` describes.

    A usable system GUID on both sides decides alone. Otherwise every trait both identities carry must
    be equal: manufacturer, product and device id always; the FRU serial number, model and the MAC
    address when both have them. When no unique trait (GUID, serial, MAC) can be compared, the firmware
    revision must match too: two boards of one model then differ in nothing else the BMC reports.
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
    traits = ((known.serial, seen.serial, True), (known.mac, seen.mac, True), (known.model, seen.model, False))
    for mine, theirs, unique in traits:
        if mine is not None and theirs is not None:
            if mine != theirs:
                return False
            compared_unique = compared_unique or unique
    return compared_unique or known.firmware == seen.firmware


def check_identity(requester: Requester, known: BmcIdentity) -> BmcIdentity | None:
    """Read who answers after a new login and compare it with ``known``; None when it is another BMC.

    Costs Get Device ID and Get System GUID when both sides have a usable GUID; otherwise the FRU and
    the MAC address are read too, so a BMC without a GUID is still told apart. Returns ``known`` with
    the firmware revision as now reported.
    """
    device = read_device_id(requester)
    reported = read_system_guid(requester)
    seen = _identity(device, reported, FruInfo(), None, None)
    if seen.guid is None or known.guid is None:
        mac = read_mac(requester) if known.mac is not None else None
        seen = _identity(device, reported, read_fru(requester), mac, None)
    if not same_bmc(known, seen):
        return None
    return replace(known, firmware=device.firmware)
