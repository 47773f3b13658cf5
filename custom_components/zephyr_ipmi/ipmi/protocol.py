"""IPMI protocol numbers the core sends and checks: netfns, commands, completion codes, addresses.

Sources: IPMI 2.0 rev 1.1 Appendix G (command numbers), Table 5-1 (netfns), Table 5-2 (completion
codes), §5.5 (slave addresses); DCMI 1.5 §6 (group extension DCh).
"""

from __future__ import annotations

from typing import Final

# Network functions (request netfn; the response is netfn + 1).
NETFN_CHASSIS: Final = 0x00
NETFN_SENSOR: Final = 0x04
NETFN_APP: Final = 0x06
NETFN_STORAGE: Final = 0x0A
NETFN_TRANSPORT: Final = 0x0C
NETFN_DCMI: Final = 0x2C

# Chassis (§28).
CMD_GET_CHASSIS_STATUS: Final = 0x01
# Sensor/event (§35).
CMD_SET_SENSOR_THRESHOLDS: Final = 0x26
CMD_GET_SENSOR_THRESHOLDS: Final = 0x27
CMD_GET_SENSOR_READING: Final = 0x2D
# Application (§20, §22).
CMD_GET_DEVICE_ID: Final = 0x01
CMD_GET_SYSTEM_GUID: Final = 0x37
CMD_CLOSE_SESSION: Final = 0x3C
# Storage: FRU (§34), SDR repository (§33), SEL (§31).
CMD_GET_FRU_AREA_INFO: Final = 0x10
CMD_READ_FRU_DATA: Final = 0x11
CMD_GET_SDR_REPO_INFO: Final = 0x20
CMD_RESERVE_SDR_REPO: Final = 0x22
CMD_GET_SDR: Final = 0x23
CMD_GET_SEL_INFO: Final = 0x40
CMD_RESERVE_SEL: Final = 0x42
CMD_GET_SEL_ENTRY: Final = 0x43
# Transport (§23).
CMD_GET_LAN_CONFIG: Final = 0x02
# DCMI (DCMI 1.5 §6.6.1).
CMD_DCMI_GET_POWER_READING: Final = 0x02
DCMI_GROUP: Final = 0xDC

# Completion codes (Table 5-2).
CC_NODE_BUSY: Final = 0xC0
CC_INVALID_COMMAND: Final = 0xC1
CC_RESERVATION_CANCELLED: Final = 0xC5
CC_CANNOT_RETURN_LENGTH: Final = 0xCA
CC_NOT_PRESENT: Final = 0xCB
CC_INVALID_DATA: Final = 0xCC
CC_INSUFFICIENT_PRIVILEGE: Final = 0xD4
#: Codes a BMC gives when a read asks for more bytes than it can return in one answer: request data
#: length invalid (C7h), request data field length limit exceeded (C8h), cannot return number of
#: requested bytes (CAh), and the unspecified error (FFh) some firmware uses instead.
CC_TOO_LONG: Final = frozenset({0xC7, 0xC8, 0xCA, 0xFF})
#: Codes that mean a command will never work on this BMC: invalid command, invalid command for the LUN,
#: invalid data field, insufficient privilege. Others (busy, not now) are transient.
CC_UNSUPPORTED: Final = frozenset({0xC1, 0xC2, 0xCC, 0xD4})

#: The BMC's IPMB slave address, owner of the sensors it reads itself (§5.5).
BMC_ADDRESS: Final = 0x20
