"""IPMI command semantics of the simulated BMC (everything above the RMCP+ session layer).

Protocol sources (IPMI 2.0 rev 1.1 unless noted): Get Device ID 20.1, Cold Reset 20.2, Get Self Test
Results 20.4, Get System GUID 22.14, Get Chassis Status 28.2, Chassis Control 28.3, Chassis Identify
28.5, Get Sensor Hysteresis
35.7, Set/Get Sensor Thresholds 35.8/35.9, Get Sensor Reading 35.14, Get FRU Inventory Area Info 34.1,
Read FRU Data 34.2, Get SDR Repository Info 33.9, Reserve SDR Repository 33.11, Get SDR 33.12, Get SEL
Info 31.2, Reserve SEL 31.4, Get SEL Entry 31.5, Clear SEL 31.9, Get/Set SEL Time 31.10/31.11, Get LAN
Configuration Parameters 23.2 (parameter 5, MAC address), DCMI 1.5
section 6.6.1 Get Power Reading (netfn 2Ch, command 02h, group extension DCh). Completion codes: Table 5-2.
Required privileges: Appendix G.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import sdr as s

if TYPE_CHECKING:
    from .simulator import Simulator

CC_OK = 0x00
CC_INVALID_CMD = 0xC1
CC_RESERVATION = 0xC5
CC_BAD_LENGTH = 0xC7
CC_CANNOT_RETURN = 0xCA
CC_NOT_PRESENT = 0xCB
CC_INVALID_DATA = 0xCC
CC_NOT_IN_STATE = 0xD5

Reply = tuple[int, bytes]

#: Minimum session privilege for commands above USER (IPMI 2.0 Appendix G); OEM netfns need ADMIN.
REQUIRED_PRIVILEGE: dict[tuple[int, int], int] = {
    (0x00, 0x02): 3,  # Chassis Control: operator
    (0x00, 0x08): 3,  # Set System Boot Options: operator
    (0x04, 0x26): 3,  # Set Sensor Thresholds: operator
    (0x0A, 0x47): 3,  # Clear SEL: operator
    (0x0A, 0x49): 3,  # Set SEL Time: operator
    (0x06, 0x02): 4,  # Cold Reset: admin
}


def required_privilege(netfn: int, cmd: int) -> int:
    """Session privilege needed for (netfn, cmd): 2 user, 3 operator, 4 administrator."""
    if netfn >= 0x30:
        return 4
    return REQUIRED_PRIVILEGE.get((netfn, cmd), 2)


class Commands:
    """Handlers for the standard commands; each returns (completion code, response data)."""

    def __init__(self, sim: Simulator) -> None:
        """Serve commands for ``sim``."""
        self.sim = sim
        self.table: dict[tuple[int, int], Callable[[bytes], Reply]] = {
            (0x06, 0x01): self.get_device_id,
            (0x06, 0x04): self.get_self_test,
            (0x06, 0x37): self.get_system_guid,
            (0x00, 0x01): self.get_chassis_status,
            (0x00, 0x04): self.chassis_identify,
            (0x04, 0x25): self.get_hysteresis,
            (0x04, 0x26): self.set_thresholds,
            (0x04, 0x27): self.get_thresholds,
            (0x04, 0x2D): self.get_sensor_reading,
            (0x0A, 0x10): self.fru_area_info,
            (0x0A, 0x11): self.read_fru,
            (0x0A, 0x20): self.sdr_info,
            (0x0A, 0x22): self.reserve_sdr,
            (0x0A, 0x23): self.get_sdr,
            (0x0A, 0x40): self.sel_info,
            (0x0A, 0x42): self.reserve_sel,
            (0x0A, 0x43): self.get_sel_entry,
            (0x0A, 0x47): self.clear_sel,
            (0x0A, 0x48): self.get_sel_time,
            (0x0A, 0x49): self.set_sel_time,
            (0x0C, 0x02): self.get_lan_config,
            (0x2C, 0x02): self.dcmi_power_reading,
        }

    def handle(self, netfn: int, cmd: int, data: bytes) -> Reply:
        """Dispatch one request; OEM netfns go to the vendor fan controller."""
        if netfn >= 0x30:
            return self.sim.fan_control.handle(netfn, cmd, data)
        handler = self.table.get((netfn, cmd))
        if handler is None:
            return CC_INVALID_CMD, b""
        return handler(data)

    # -- application (netfn 06h) ---------------------------------------------------------------------

    def get_device_id(self, data: bytes) -> Reply:
        """Get Device ID, 20.1: manufacturer id is 3 bytes LSB first, product id 2 bytes LSB first.

        Defect in pyghmi ``IpmiServer.send_device_id``: it packs manufacturer and product id as 4-byte
        integers each, shifting every later byte.
        """
        dev = self.sim.profile.device
        body = bytes([dev.device_id, dev.revision, dev.fw_major & 0x7F, dev.fw_minor, dev.ipmi_version, dev.additional])
        body += dev.manufacturer.to_bytes(3, "little") + dev.product.to_bytes(2, "little") + dev.aux
        return CC_OK, body

    def get_self_test(self, data: bytes) -> Reply:
        """Get Self Test Results: 55h = no error."""
        return CC_OK, b"\x55\x00"

    def get_system_guid(self, data: bytes) -> Reply:
        """Get System GUID: 16 bytes, least significant byte first (SMBIOS wire order)."""
        return CC_OK, self.sim.guid.bytes_le

    # -- chassis (netfn 00h) ----------------------------------------------------------------------------

    def get_chassis_status(self, data: bytes) -> Reply:
        """Get Chassis Status, 28.2: power on bit, restore policy "previous", intrusion and fan fault."""
        m = self.sim.machine
        power = (0x01 if m.power_on else 0x00) | (0b01 << 5)
        fan_fault = any(x.failed for x in m.fans())
        misc = (0x01 if m.intrusion else 0x00) | (0x08 if fan_fault else 0x00)
        return CC_OK, bytes([power, m.last_power_event, misc, 0x00])

    def chassis_identify(self, data: bytes) -> Reply:
        """Chassis Identify, 28.5: optional interval (s, default 15, 0 = off), optional force-on bit."""
        if len(data) > 2:
            return CC_BAD_LENGTH, b""
        m = self.sim.machine
        if len(data) == 2 and data[1] & 0x01:
            m.identify_until = float("inf")
        else:
            m.identify_until = m.now + (data[0] if data else 15)
        return CC_OK, b""

    # -- sensors (netfn 04h) ------------------------------------------------------------------------------

    def _sensor(self, data: bytes) -> tuple[int, object] | None:
        if not data:
            return None
        number = data[0]
        sensor = self.sim.machine.by_number.get(number)
        if sensor is None:
            mirrored = self.sim.machine.quirk_sensor(number)
            if mirrored is None:
                return None
            sensor = mirrored[0]
        return number, sensor

    def get_sensor_reading(self, data: bytes) -> Reply:
        """Get Sensor Reading, 35.14 (see :meth:`bmcsim.model.Machine.reading_response`)."""
        if len(data) != 1:
            return CC_BAD_LENGTH, b""
        found = self._sensor(data)
        if found is None:
            return CC_NOT_PRESENT, b""
        return CC_OK, self.sim.machine.reading_response(found[1])  # type: ignore[arg-type]

    def _threshold_sensor(self, number: int) -> tuple[Any, int]:
        """Return threshold sensor ``number`` and CC_OK, or None with 0xCB (absent) / 0xC1 (not threshold)."""
        sensor = self.sim.machine.by_number.get(number)
        if sensor is None:
            return None, CC_NOT_PRESENT
        if not sensor.is_threshold:
            return None, CC_INVALID_CMD
        return sensor, CC_OK

    def get_thresholds(self, data: bytes) -> Reply:
        """Get Sensor Thresholds, 35.9: readable mask then LNC, LCR, LNR, UNC, UCR, UNR raw bytes."""
        if len(data) != 1:
            return CC_BAD_LENGTH, b""
        sensor, code = self._threshold_sensor(data[0])
        if sensor is None:
            return code, b""
        thresholds = sensor.record.thresholds
        mask = sum(1 << bit for bit, name in enumerate(s.THRESHOLD_ORDER) if name in thresholds)
        return CC_OK, bytes([mask]) + bytes(thresholds.get(name, 0) for name in s.THRESHOLD_ORDER)

    def set_thresholds(self, data: bytes) -> Reply:
        """Set Sensor Thresholds, 35.8: mask bit 0..5 = LNC, LCR, LNR, UNC, UCR, UNR, then 6 raw bytes.

        Setting a threshold the SDR does not mark settable answers CCh (X13 boards accept only the lower
        critical fan threshold, docs/ipmi-notes.md §2). Raw values are stored as sent: they are already
        whole steps of the sensor's conversion.
        """
        if len(data) != 8:
            return CC_BAD_LENGTH, b""
        sensor, code = self._threshold_sensor(data[0])
        if sensor is None:
            return code, b""
        mask = data[1]
        if mask & 0xC0:
            return CC_INVALID_DATA, b""
        names = [name for bit, name in enumerate(s.THRESHOLD_ORDER) if mask & (1 << bit)]
        for name in names:
            if name not in sensor.record.settable or name not in sensor.record.thresholds:
                return CC_INVALID_DATA, b""
        for name in names:
            sensor.record.thresholds[name] = data[2 + s.THRESHOLD_ORDER.index(name)]
        return CC_OK, b""

    def get_hysteresis(self, data: bytes) -> Reply:
        """Get Sensor Hysteresis, 35.7: positive- and negative-going hysteresis (raw counts)."""
        if len(data) != 2:
            return CC_BAD_LENGTH, b""
        sensor, code = self._threshold_sensor(data[0])
        if sensor is None:
            return code, b""
        return CC_OK, bytes(sensor.record.hysteresis)

    # -- FRU (netfn 0Ah) -------------------------------------------------------------------------------

    def fru_area_info(self, data: bytes) -> Reply:
        """Get FRU Inventory Area Info, 34.1: size (2 bytes LSB first), byte access."""
        if len(data) != 1:
            return CC_BAD_LENGTH, b""
        if data[0] != 0:
            return CC_NOT_PRESENT, b""
        return CC_OK, struct.pack("<HB", len(self.sim.fru_image), 0x00)

    def read_fru(self, data: bytes) -> Reply:
        """Read FRU Data, 34.2: count returned then the bytes; more than 255 bytes answers CAh."""
        if len(data) != 4:
            return CC_BAD_LENGTH, b""
        fru_id, offset, count = data[0], struct.unpack("<H", data[1:3])[0], data[3]
        if fru_id != 0:
            return CC_NOT_PRESENT, b""
        image = self.sim.fru_image
        if offset >= len(image):
            return CC_INVALID_DATA, b""
        if count > 224:  # keep the response within one IPMI LAN message on every client
            return CC_CANNOT_RETURN, b""
        chunk = image[offset : offset + count]
        return CC_OK, bytes([len(chunk)]) + chunk

    # -- SDR repository (netfn 0Ah) -------------------------------------------------------------------

    def sdr_info(self, data: bytes) -> Reply:
        """Get SDR Repository Info, 33.9: version 51h, record count, free space, timestamps, support."""
        m = self.sim.machine
        count = len(m.sdr_records)
        return CC_OK, struct.pack("<BHHIIB", 0x51, count, 0x0800, m.sdr_timestamp, m.sdr_timestamp, 0x02)

    def reserve_sdr(self, data: bytes) -> Reply:
        """Reserve SDR Repository, 33.11: 2-byte reservation id."""
        return CC_OK, struct.pack("<H", self.sim.machine.reserve_sdr())

    def get_sdr(self, data: bytes) -> Reply:
        """Get SDR, 33.12: reservation id, record id (0000h first, FFFFh last), offset, count (FFh all).

        A non-zero offset needs the current reservation (C5h otherwise); a read longer than the profile's
        ``sdr_max_read`` answers CAh so clients fall back to partial reads.
        """
        if len(data) != 6:
            return CC_BAD_LENGTH, b""
        m = self.sim.machine
        reservation, record_id, offset, count = struct.unpack("<HHBB", data)
        if offset and (reservation == 0 or reservation != m.sdr_reservation):
            return CC_RESERVATION, b""
        records = m.sdr_records
        if record_id == 0x0000:
            index = 0
        elif record_id == 0xFFFF:
            index = len(records) - 1
        else:
            index = record_id - 1
        if not 0 <= index < len(records):
            return CC_NOT_PRESENT, b""
        record = records[index]
        next_id = 0xFFFF if index == len(records) - 1 else index + 2
        if offset > len(record):
            return CC_INVALID_DATA, b""
        if count == 0xFF:
            count = len(record) - offset
        limit = self.sim.profile.sdr_max_read
        if limit is not None and count > limit:
            return CC_CANNOT_RETURN, b""
        return CC_OK, struct.pack("<H", next_id) + record[offset : offset + count]

    # -- SEL (netfn 0Ah) ----------------------------------------------------------------------------

    def sel_info(self, data: bytes) -> Reply:
        """Get SEL Info, 31.2."""
        return CC_OK, self.sim.machine.sel.info()

    def reserve_sel(self, data: bytes) -> Reply:
        """Reserve SEL, 31.4."""
        return CC_OK, struct.pack("<H", self.sim.machine.sel.reserve())

    def get_sel_entry(self, data: bytes) -> Reply:
        """Get SEL Entry, 31.5: next record id then the (partial) 16-byte record; CBh when absent."""
        if len(data) != 6:
            return CC_BAD_LENGTH, b""
        sel = self.sim.machine.sel
        reservation, record_id, offset, count = struct.unpack("<HHBB", data)
        if offset and (reservation == 0 or reservation != sel.reservation):
            return CC_RESERVATION, b""
        found = sel.find(record_id)
        if found is None:
            return CC_NOT_PRESENT, b""
        index, entry = found
        next_id = 0xFFFF if index == len(sel.entries) - 1 else sel.entries[index + 1].record_id
        raw = entry.encode()
        if offset >= len(raw):
            return CC_INVALID_DATA, b""
        if count == 0xFF:
            count = len(raw) - offset
        return CC_OK, struct.pack("<H", next_id) + raw[offset : offset + count]

    def clear_sel(self, data: bytes) -> Reply:
        """Clear SEL, 31.9: reservation id, 'CLR', AAh initiate / 00h get status; 01h = erase done."""
        if len(data) != 6:
            return CC_BAD_LENGTH, b""
        sel = self.sim.machine.sel
        reservation = struct.unpack("<H", data[0:2])[0]
        if data[2:5] != b"CLR":
            return CC_INVALID_DATA, b""
        if reservation != sel.reservation or reservation == 0:
            return CC_RESERVATION, b""
        if data[5] == 0xAA:
            sel.clear(self.sim.machine.unix_time)
        elif data[5] != 0x00:
            return CC_INVALID_DATA, b""
        return CC_OK, b"\x01"

    def get_sel_time(self, data: bytes) -> Reply:
        """Get SEL Time, 31.10: seconds since 1970 (simulated clock)."""
        return CC_OK, struct.pack("<I", self.sim.machine.unix_time & 0xFFFFFFFF)

    def set_sel_time(self, data: bytes) -> Reply:
        """Set SEL Time, 31.11: moves the simulated epoch so the clock reads the given time."""
        if len(data) != 4:
            return CC_BAD_LENGTH, b""
        m = self.sim.machine
        m.epoch = struct.unpack("<I", data)[0] - m.now
        return CC_OK, b""

    # -- transport (netfn 0Ch) ---------------------------------------------------------------------------

    def get_lan_config(self, data: bytes) -> Reply:
        """Get LAN Configuration Parameters, 23.2: channel (1, or 0Eh = this channel), parameter, set, block.

        Parameter 5 (MAC address) answers revision 11h and the 6 bytes; any other parameter 80h
        ("parameter not supported"); another channel CCh. Bit 7 of byte 1 asks for the revision only.
        """
        if len(data) != 4:
            return CC_BAD_LENGTH, b""
        channel, parameter = data[0] & 0x0F, data[1]
        if channel not in (0x01, 0x0E):
            return CC_INVALID_DATA, b""
        if data[0] & 0x80:
            return CC_OK, b"\x11"
        if parameter != 5:
            return 0x80, b""
        return CC_OK, b"\x11" + bytes(self.sim.mac)

    # -- DCMI (netfn 2Ch) --------------------------------------------------------------------------------

    def dcmi_power_reading(self, data: bytes) -> Reply:
        """DCMI Get Power Reading (DCMI 1.5 section 6.6.1).

        Current/min/max/average watts, timestamp, reporting period (ms) and state (bit 6 = measurement
        active). C1h on profiles without DCMI.
        """
        if not self.sim.profile.dcmi:
            return CC_INVALID_CMD, b""
        if len(data) != 4 or data[0] != 0xDC:
            return CC_INVALID_DATA if data[:1] != b"\xdc" else CC_BAD_LENGTH, b""
        if data[1] != 0x01:
            return CC_INVALID_DATA, b""
        m = self.sim.machine
        history = m.power_history or [m.power_watts()]
        current = round(m.power_watts())
        values = [round(x) for x in history]
        avg = round(sum(history) / len(history))
        period_ms = int(len(history) * 500)
        body = bytes([0xDC]) + struct.pack(
            "<HHHHIIB", current, min(values), max(values), avg, m.unix_time & 0xFFFFFFFF, period_ms, 0x40
        )
        return CC_OK, body
