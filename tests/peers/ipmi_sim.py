"""A real IPMI 2.0 (RMCP+ / lanplus) peer for tests, built on OpenIPMI's ``ipmi_sim``.

``IpmiSimPeer`` writes a ``lan.conf``, an emulator command file (``.emu``, with the
SDRs inlined as ``main_sdr_add`` lines, so ``sdrcomp`` is not needed) and a chassis
control script into a temporary directory, then runs ``ipmi_sim`` serving RMCP+ on
``127.0.0.1:<free UDP port>``.  The board is described by ``SUPERMICRO_X11`` (or any
other ``BoardDescription``); tests use that description to compute the value a client
must show for a raw byte.

What the peer supports (measured against OpenIPMI 2.0.33, Debian ``openipmi``):

* Sensors: Full Sensor Records (type 0x01) for every threshold sensor, with M, B,
  B-exponent, R-exponent, 2's-complement format, six thresholds, hysteresis and event
  masks; Compact Sensor Records (type 0x02) for discrete sensors, including one with
  a share count of 2 (two PSU status sensors, 0xC8/0xC9, one record).
* Run-time reading changes: ``set_sensor_raw`` / ``set_sensor_value`` for threshold
  sensors and ``set_discrete_state`` for discrete ones.  They are applied at once via
  ipmi_sim's console port (emu command ``sensor_set_value`` / ``sensor_set_bit``) and
  also written to the file the sensor polls, so a later poll or a ``restart()`` keeps
  the value.  A change that crosses a threshold logs a SEL event like a real BMC.
* "No reading": ``set_sensor_available(number, False)`` turns sensor scanning off
  (Get Sensor Reading byte 2 bit 6 = 0).  ipmitool prints ``no reading`` / ``ns``,
  FreeIPMI ``N/A``, pyghmi sets ``unavailable``.  ipmi_sim has no way to set the
  "reading unavailable" bit (byte 2 bit 5) itself; the raw byte is still returned.
  FAN4 (0x44) starts unavailable (an empty fan header).
* Host power: ``Get Chassis Status`` / ``Chassis Control`` work through a
  ``chassis_control`` script.  Powering off makes every ``power_dependent`` sensor
  unreadable ("no reading", as above); powering on brings them back.  ``set_power``
  takes effect at once; a client's ``chassis power off/on`` within two poll periods
  (``poll_interval_ms``, 100 ms).  Standby sensors (system/peripheral temperature,
  12V/5VCC/3.3VCC, PSU and intrusion) keep reading.
* Users: user 2 ``ADMIN`` (administrator) and user 3 ``viewer`` (user privilege, for
  0xD4 "insufficient privilege" tests).  ``set_password`` changes a password over IPMI
  (Set User Password); ipmi_sim stores users in its state directory, so the new
  password survives ``restart()``, as on a real BMC.
* ``kill()`` (SIGKILL) makes the BMC silent while keeping its configuration;
  ``restart()`` starts it again on the same UDP port with the current readings.
* SEL: enabled (1000 entries); threshold crossings add entries.
  ``add_sel_entry`` adds one directly.  Timestamps are small "Pre-Init" values, not
  wall-clock time.

What it does not do: OEM commands (netfn 0x30 answers 0xC1 unless a module is loaded
with ``extra_lan_conf=['loadlib "/path/mod.so" "opts"']``), DCMI, a FRU inventory,
device SDRs, IPv6.  ipmitool and pyghmi ignore a compact record's share count (they
show one ``PS Status`` sensor, number 0xC8); FreeIPMI ``ipmi-sensors
--shared-sensors`` shows both (as ``PS Status 1`` / ``PS Status 2``).

Quirks: ipmi_sim compares raw bytes unsigned when it evaluates thresholds, so for a
2's-complement sensor (System Temp) a negative reading is flagged as above the upper
thresholds (the value itself is decoded right by every client); keep thresholds of
signed sensors >= 0.  With pyghmi, one or two of the first requests of a session
sometimes wait for a retransmission (0.5-1 s); ipmitool saw none.

The simulator process is started with its stdin connected to a pipe held by this
process: ipmi_sim echoes the command file to its log (so a rejected emu line is
reported instead of silently ignored, which is what ``-n`` does), and it exits by
itself as soon as the test process dies, so no simulator outlives the tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ClassVar, Final, Self

IPMI_SIM_BINARY: Final = "ipmi_sim"
BMC_ADDR: Final = 0x20
LOOPBACK: Final = "127.0.0.1"

# Test credentials (the peer only listens on 127.0.0.1).
DEFAULT_USERNAME: Final = "ADMIN"  # user 2, administrator (Supermicro's default user name)
DEFAULT_PASSWORD: Final = "Zephyr-Test-1"
READONLY_USERNAME: Final = "viewer"  # user 3, "user" privilege
READONLY_PASSWORD: Final = "Viewer-Test-1"

# Threshold names in IPMI order (index 0..5 of the threshold mask).
THRESHOLD_NAMES: Final = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")

# Hidden helper sensor (no SDR) that follows the chassis power file; power-dependent
# sensors poll with ``depends=`` on its bit 0.
_POWER_SENSOR_NUMBER: Final = 0xFE


class IpmiSimError(RuntimeError):
    """ipmi_sim could not be started or refused a command."""


class IpmiSimConfigError(IpmiSimError):
    """ipmi_sim printed an error for a line of the generated command file."""


# ---------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Unit:
    """An IPMI base unit and how each client spells it."""

    code: int
    ipmitool: str
    freeipmi: str
    pyghmi: str


UNITS: Final[Mapping[int, Unit]] = {
    1: Unit(1, "degrees C", "C", "°C"),
    4: Unit(4, "Volts", "V", "V"),
    5: Unit(5, "Amps", "A", "A"),
    6: Unit(6, "Watts", "W", "W"),
    18: Unit(18, "RPM", "RPM", "RPM"),
}


# ---------------------------------------------------------------------------
# Board description
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AnalogSensor:
    """A threshold sensor (event/reading type 0x01) with a Full Sensor Record.

    ``value = (m * raw + b * 10**b_exp) * 10**r_exp``, ``raw`` read as 2's complement
    when ``signed``.  ``thresholds`` maps ``lnr/lcr/lnc/unc/ucr/unr`` to raw bytes.
    """

    name: str
    number: int
    sensor_type: int
    unit: int
    m: int
    initial_raw: int
    thresholds: Mapping[str, int]
    b: int = 0
    b_exp: int = 0
    r_exp: int = 0
    signed: bool = False
    entity_id: int = 0x07
    entity_instance: int = 1
    hysteresis: tuple[int, int] = (0, 0)
    power_dependent: bool = False
    present: bool = True

    kind: ClassVar[str] = "threshold"

    @property
    def unit_info(self) -> Unit:
        """Unit spellings."""
        return UNITS[self.unit]

    @property
    def resolution(self) -> float:
        """Value of one raw step."""
        return float(abs(Decimal(self.m) * Decimal(10) ** self.r_exp))

    def _signed_raw(self, raw: int) -> int:
        raw &= 0xFF
        if self.signed and raw & 0x80:
            return raw - 0x100
        return raw

    def value(self, raw: int) -> float:
        """Convert a raw reading byte to the value in ``unit``."""
        x = Decimal(self._signed_raw(raw))
        y = (Decimal(self.m) * x + Decimal(self.b) * Decimal(10) ** self.b_exp) * Decimal(10) ** self.r_exp
        return float(y)

    def raw(self, value: float) -> int:
        """The raw byte whose converted value is closest to ``value``."""
        candidates = range(-128, 128) if self.signed else range(256)
        best = min(candidates, key=lambda x: abs(self.value(x & 0xFF) - value))
        return best & 0xFF

    @property
    def initial_value(self) -> float:
        """Converted value of ``initial_raw``."""
        return self.value(self.initial_raw)

    def threshold_values(self) -> dict[str, float]:
        """Converted thresholds, only the ones the sensor has."""
        return {name: self.value(raw) for name, raw in self.thresholds.items()}

    @property
    def threshold_mask(self) -> int:
        """Bit i set when THRESHOLD_NAMES[i] is supported."""
        return sum(1 << i for i, name in enumerate(THRESHOLD_NAMES) if name in self.thresholds)


@dataclasses.dataclass(frozen=True)
class DiscreteSensor:
    """Sensor-specific discrete sensors (reading type 0x6F) in one Compact Sensor Record.

    With ``share_count`` > 1 the record covers sensor numbers ``number`` ..
    ``number + share_count - 1``; the ID string gets a numeric suffix starting at
    ``instance_offset`` and the entity instance increments.
    """

    name: str
    number: int
    sensor_type: int
    state_mask: int
    initial_states: tuple[int, ...]
    entity_id: int
    entity_instance: int = 1
    share_count: int = 1
    instance_offset: int = 1
    power_dependent: bool = False
    present: bool = True
    reading_type: int = 0x6F

    kind: ClassVar[str] = "discrete"

    @property
    def numbers(self) -> tuple[int, ...]:
        """All sensor numbers covered by the record."""
        return tuple(self.number + i for i in range(self.share_count))

    def instance_name(self, number: int) -> str:
        """Name a shared-record-aware client (FreeIPMI --shared-sensors) shows."""
        if self.share_count == 1:
            return self.name
        return f"{self.name} {number - self.number + self.instance_offset}"

    def initial_state(self, number: int) -> int:
        """Initial state bitmask of sensor ``number``."""
        return self.initial_states[number - self.number]


type Sensor = AnalogSensor | DiscreteSensor


@dataclasses.dataclass(frozen=True)
class BoardDescription:
    """What the simulated BMC is: Get Device ID fields and its sensors."""

    name: str
    manufacturer_id: int
    product_id: int
    device_id: int
    device_revision: int
    firmware_major: int
    firmware_minor_bcd: int
    device_support: int
    analog: tuple[AnalogSensor, ...]
    discrete: tuple[DiscreteSensor, ...]

    @property
    def sensors(self) -> tuple[Sensor, ...]:
        """All sensors in SDR order."""
        return (*self.analog, *self.discrete)

    def sensor(self, key: str | int) -> Sensor:
        """Find a sensor by its ID string or by (any of its) sensor number(s)."""
        for sensor in self.sensors:
            if isinstance(key, int):
                if key == sensor.number or (isinstance(sensor, DiscreteSensor) and key in sensor.numbers):
                    return sensor
            elif key == sensor.name:
                return sensor
        raise KeyError(key)

    def analog_sensor(self, key: str | int) -> AnalogSensor:
        """Like ``sensor`` but only for threshold sensors."""
        sensor = self.sensor(key)
        if not isinstance(sensor, AnalogSensor):
            raise TypeError(f"{key!r} is a discrete sensor")
        return sensor

    @property
    def firmware_version(self) -> str:
        """Firmware revision as ipmitool prints it (``1.73``)."""
        return f"{self.firmware_major}.{self.firmware_minor_bcd:02x}"


# fmt: off
_FAN_THRESHOLDS: Final = {"lnr": 3, "lcr": 5, "lnc": 7, "unc": 253, "ucr": 254, "unr": 255}

SUPERMICRO_X11: Final = BoardDescription(
    name="supermicro_x11",
    manufacturer_id=10876,  # Supermicro, 0x002A7C
    product_id=0x1B32,  # arbitrary X11-like product id
    device_id=0x20,
    device_revision=0x01,
    firmware_major=1,
    firmware_minor_bcd=0x73,  # "1.73"
    device_support=0x9F,  # chassis, event receiver, FRU, SEL, SDR repository, sensor device
    analog=(
        # Temperatures, degrees C, M=1.
        AnalogSensor(
            "CPU Temp", 0x01, 0x01, 1, m=1, initial_raw=40,
            thresholds={"lnr": 5, "lcr": 5, "lnc": 10, "unc": 95, "ucr": 100, "unr": 100},
            entity_id=0x03, hysteresis=(2, 2), power_dependent=True,
        ),
        AnalogSensor(
            "System Temp", 0x0B, 0x01, 1, m=1, initial_raw=30, signed=True,
            # ipmi_sim compares raw bytes unsigned, so a negative threshold (0xF7 = -9)
            # would read as asserted at room temperature: keep the lower ones >= 0.
            thresholds={"lnr": 0, "lcr": 2, "lnc": 5, "unc": 80, "ucr": 85, "unr": 90},
            entity_id=0x07, hysteresis=(2, 2),
        ),
        AnalogSensor(
            "Peripheral Temp", 0x0C, 0x01, 1, m=1, initial_raw=38,
            thresholds={"lnr": 5, "lcr": 5, "lnc": 10, "unc": 80, "ucr": 85, "unr": 90},
            entity_id=0x07, entity_instance=2, hysteresis=(2, 2),
        ),
        AnalogSensor(
            "DIMMA1 Temp", 0xB0, 0x01, 1, m=1, initial_raw=34,
            thresholds={"lnr": 1, "lcr": 2, "lnc": 5, "unc": 80, "ucr": 85, "unr": 90},
            entity_id=0x20, hysteresis=(2, 2), power_dependent=True,
        ),
        # Fans, RPM, M=100: raw 0x12 = 1800 rpm; LNR/LCR/LNC = 300/500/700 rpm.
        AnalogSensor("FAN1", 0x41, 0x04, 18, m=100, initial_raw=0x12, thresholds=_FAN_THRESHOLDS,
                     entity_id=0x1D, entity_instance=1, power_dependent=True),
        AnalogSensor("FAN2", 0x42, 0x04, 18, m=100, initial_raw=0x13, thresholds=_FAN_THRESHOLDS,
                     entity_id=0x1D, entity_instance=2, power_dependent=True),
        AnalogSensor("FAN3", 0x43, 0x04, 18, m=100, initial_raw=0x11, thresholds=_FAN_THRESHOLDS,
                     entity_id=0x1D, entity_instance=3, power_dependent=True),
        AnalogSensor("FAN4", 0x44, 0x04, 18, m=100, initial_raw=0x00, thresholds=_FAN_THRESHOLDS,
                     entity_id=0x1D, entity_instance=4, power_dependent=True, present=False),
        AnalogSensor("FANA", 0x46, 0x04, 18, m=100, initial_raw=0x0F, thresholds=_FAN_THRESHOLDS,
                     entity_id=0x1D, entity_instance=6, power_dependent=True),
        # Voltages.
        AnalogSensor(  # 0.07 V/step: raw 171 = 11.97 V
            "12V", 0x30, 0x02, 4, m=7, r_exp=-2, initial_raw=171,
            thresholds={"lnr": 143, "lcr": 147, "lnc": 150, "unc": 186, "ucr": 189, "unr": 192},
            entity_id=0x07, entity_instance=1,
        ),
        AnalogSensor(  # 0.03 V/step: raw 167 = 5.01 V
            "5VCC", 0x31, 0x02, 4, m=3, r_exp=-2, initial_raw=167,
            thresholds={"lnr": 143, "lcr": 147, "lnc": 150, "unc": 183, "ucr": 187, "unr": 190},
            entity_id=0x07, entity_instance=2,
        ),
        AnalogSensor(  # 0.017 V/step: raw 194 = 3.298 V
            "3.3VCC", 0x32, 0x02, 4, m=17, r_exp=-3, initial_raw=194,
            thresholds={"lnr": 165, "lcr": 170, "lnc": 176, "unc": 212, "ucr": 217, "unr": 222},
            entity_id=0x07, entity_instance=3,
        ),
        AnalogSensor(  # (4*raw + 5*10^2) * 10^-3: raw 150 = 1.100 V
            "Vcpu", 0x34, 0x02, 4, m=4, b=5, b_exp=2, r_exp=-3, initial_raw=150,
            thresholds={"lnr": 25, "lcr": 38, "lnc": 50, "unc": 225, "ucr": 238, "unr": 250},
            entity_id=0x03, power_dependent=True,
        ),
        # PSU current and power (upper thresholds only).
        AnalogSensor(  # 0.1 A/step: raw 25 = 2.5 A
            "PS1 Curr", 0x60, 0x03, 5, m=1, r_exp=-1, initial_raw=25,
            thresholds={"unc": 120, "ucr": 140},
            entity_id=0x0A,
        ),
        AnalogSensor(  # 2 W/step: raw 60 = 120 W
            "PS1 Power", 0x61, 0x0B, 6, m=2, initial_raw=60,
            thresholds={"unc": 200, "ucr": 225},
            entity_id=0x0A,
        ),
    ),
    discrete=(
        # Power supply (sensor type 0x08): bit 0 presence, 1 failure, 2 predictive failure,
        # 3 AC lost, 4 input lost or out of range, 5 input out of range, 6 config error.
        DiscreteSensor(
            "PS Status", 0xC8, 0x08, state_mask=0x007F, initial_states=(0x0001, 0x0001),
            entity_id=0x0A, share_count=2, instance_offset=1,
        ),
        # Physical security (sensor type 0x05): bit 0 general chassis intrusion.
        DiscreteSensor(
            "Chassis Intru", 0xAA, 0x05, state_mask=0x0001, initial_states=(0x0000,),
            entity_id=0x17,
        ),
    ),
)
# fmt: on


# ---------------------------------------------------------------------------
# SDR encoding (IPMI 2.0 section 43)
# ---------------------------------------------------------------------------

# Threshold event offsets: lower thresholds assert going low, upper going high.
_THRESHOLD_EVENT_BIT: Final = {"lnc": 0, "lcr": 2, "lnr": 4, "unc": 7, "ucr": 9, "unr": 11}


def _id_string(name: str) -> bytes:
    data = name.encode("latin-1")
    if len(data) > 16:
        raise ValueError(f"SDR ID string longer than 16 bytes: {name!r}")
    return bytes([0xC0 | len(data)]) + data  # 8-bit ASCII + Latin-1


def _record(record_id: int, record_type: int, body: bytes) -> bytes:
    return bytes([record_id & 0xFF, record_id >> 8, 0x51, record_type, len(body)]) + body


def threshold_event_mask(sensor: AnalogSensor) -> int:
    """15-bit assertion (= deassertion) event mask for the supported thresholds."""
    return sum(1 << _THRESHOLD_EVENT_BIT[name] for name in sensor.thresholds)


def full_sensor_record(sensor: AnalogSensor, record_id: int) -> bytes:
    """Encode a Full Sensor Record (type 0x01)."""
    events = threshold_event_mask(sensor)
    lower = sum(1 << (12 + i) for i, name in enumerate(("lnc", "lcr", "lnr")) if name in sensor.thresholds)
    upper = sum(1 << (12 + i) for i, name in enumerate(("unc", "ucr", "unr")) if name in sensor.thresholds)
    assertion = events | lower
    deassertion = events | upper
    readable = sensor.threshold_mask  # same bit order: LNC LCR LNR UNC UCR UNR
    m = sensor.m & 0x3FF
    b = sensor.b & 0x3FF
    th = {name: sensor.thresholds.get(name, 0) for name in THRESHOLD_NAMES}
    # fmt: off
    body = bytes(
        [
            BMC_ADDR, 0x00, sensor.number,
            sensor.entity_id, sensor.entity_instance & 0x7F,
            0x7F,  # init scanning/events/thresholds/hysteresis/type; events + scanning enabled
            0x40 | (0b01 << 4) | (0b10 << 2) | 0b00,  # auto re-arm, hysteresis readable,
            # thresholds readable+settable, per-threshold event control
            sensor.sensor_type, 0x01,
            assertion & 0xFF, assertion >> 8,
            deassertion & 0xFF, deassertion >> 8,
            readable, readable,  # readable mask, settable mask
            0x80 if sensor.signed else 0x00,  # analog data format
            sensor.unit, 0x00,
            0x00,  # linear
            m & 0xFF, (m >> 8) << 6,
            b & 0xFF, (b >> 8) << 6,
            0x00,
            ((sensor.r_exp & 0xF) << 4) | (sensor.b_exp & 0xF),
            0x00, 0x00, 0x00, 0x00,  # analog flags, nominal, normal max, normal min
            0x7F if sensor.signed else 0xFF,  # sensor maximum reading
            0x80 if sensor.signed else 0x00,  # sensor minimum reading
            th["unr"], th["ucr"], th["unc"], th["lnr"], th["lcr"], th["lnc"],
            sensor.hysteresis[0], sensor.hysteresis[1],
            0x00, 0x00, 0x00,  # reserved, reserved, OEM
        ]
    ) + _id_string(sensor.name)
    # fmt: on
    return _record(record_id, 0x01, body)


def compact_sensor_record(sensor: DiscreteSensor, record_id: int) -> bytes:
    """Encode a Compact Sensor Record (type 0x02)."""
    mask = sensor.state_mask
    sharing = (0b00 << 4) | (sensor.share_count & 0x0F)  # numeric instance modifier
    instance = (0x80 if sensor.share_count > 1 else 0) | (sensor.instance_offset & 0x7F)
    # fmt: off
    body = bytes(
        [
            BMC_ADDR, 0x00, sensor.number,
            sensor.entity_id, sensor.entity_instance & 0x7F,
            0x67,  # init scanning/events/type; events + scanning enabled
            0x40,  # auto re-arm, no hysteresis, no thresholds, per-state event control
            sensor.sensor_type, sensor.reading_type,
            mask & 0xFF, mask >> 8,
            mask & 0xFF, mask >> 8,
            mask & 0xFF, mask >> 8,
            0xC0, 0x00, 0x00,  # no analog reading, unit unspecified
            sharing, instance,
            0x00, 0x00,  # hysteresis
            0x00, 0x00, 0x00, 0x00,  # reserved x3, OEM
        ]
    ) + _id_string(sensor.name)
    # fmt: on
    return _record(record_id, 0x02, body)


def sdr_records(board: BoardDescription) -> list[bytes]:
    """All SDRs of the board, record ids from 1."""
    records: list[bytes] = []
    for sensor in board.sensors:
        record_id = len(records) + 1
        if isinstance(sensor, AnalogSensor):
            records.append(full_sensor_record(sensor, record_id))
        else:
            records.append(compact_sensor_record(sensor, record_id))
    return records


# ---------------------------------------------------------------------------
# Sockets that work under pytest-socket
# ---------------------------------------------------------------------------


def _real_socket(family: int, kind: int) -> socket.socket:
    """A socket even while pytest-socket blocks socket creation.

    The peer's own loopback plumbing (free-port probe, readiness ping, console) is
    test infrastructure; the code under test still needs ``socket_enabled``.
    """
    try:
        import pytest_socket

        cls: Any = pytest_socket._true_socket
    except ImportError, AttributeError:
        cls = socket.socket
    return cls(family, kind)  # type: ignore[no-any-return]


def _real_connect(sock: socket.socket, address: tuple[str, int]) -> None:
    try:
        import pytest_socket

        pytest_socket._true_connect(sock, address)
    except ImportError, AttributeError:
        sock.connect(address)


def _free_port(kind: int) -> int:
    with _real_socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int, kind: int) -> bool:
    with _real_socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _checksum(data: bytes) -> int:
    return (-sum(data)) & 0xFF


def get_channel_auth_capabilities_packet() -> bytes:
    """RMCP / IPMI 1.5 session-less Get Channel Authentication Capabilities request."""
    header = bytes([BMC_ADDR, 0x06 << 2])
    body = bytes([0x81, 0x00, 0x38, 0x8E, 0x04])  # rqSA, rqSeq, cmd, channel E + v2 bit, admin
    message = header + bytes([_checksum(header)]) + body + bytes([_checksum(body)])
    session = bytes([0x00]) + bytes(4) + bytes(4) + bytes([len(message)])
    return bytes([0x06, 0x00, 0xFF, 0x07]) + session + message


def ping_bmc(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something answers Get Channel Authentication Capabilities with 0x00."""
    with _real_socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(get_channel_auth_capabilities_packet(), (host, port))
            data, _ = sock.recvfrom(512)
        except OSError:
            return False
    # RMCP(4) + session header(10) + rqSA netfn chk rsSA seq cmd (6) -> completion code.
    return len(data) > 20 and data[3] == 0x07 and data[19] == 0x38 and data[20] == 0x00


# ---------------------------------------------------------------------------
# The peer
# ---------------------------------------------------------------------------

_TELNET_CMD: Final = re.compile(rb"\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", re.DOTALL)

_CHASSIS_SCRIPT: Final = """#!/bin/sh
# chassis_control helper for ipmi_sim: "$0 get power ..." or "$0 set power 1 ...".
# The power state lives in a file that the hidden power sensor polls.
state='{power_file}'
op="$1"; shift
case "$op" in
get)
    for name in "$@"; do
        case "$name" in
            power) echo "power:$(cat "$state")" ;;
            boot) echo "boot:default" ;;
            *) echo "$name:0" ;;
        esac
    done ;;
set)
    while [ "$#" -ge 2 ]; do
        if [ "$1" = power ]; then
            printf '%s\\n' "$2" > "$state.tmp" && mv -f "$state.tmp" "$state"
        fi
        shift 2
    done ;;
esac
exit 0
"""


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill a simulator left running (finalizer safety net)."""
    if proc.poll() is None:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    if proc.stdin is not None:
        proc.stdin.close()


class IpmiSimPeer:
    """One ipmi_sim BMC on 127.0.0.1 (see module docstring for what it can do)."""

    host: Final = LOOPBACK

    def __init__(
        self,
        board: BoardDescription = SUPERMICRO_X11,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        readonly_username: str = READONLY_USERNAME,
        readonly_password: str = READONLY_PASSWORD,
        port: int | None = None,
        poll_interval_ms: int = 100,
        start_timeout: float = 10.0,
        extra_lan_conf: tuple[str, ...] = (),
        extra_emu: tuple[str, ...] = (),
        binary: str = IPMI_SIM_BINARY,
    ) -> None:
        self.board = board
        self.username = username
        self.password = password
        self.readonly_username = readonly_username
        self.readonly_password = readonly_password
        self.port: int = port or 0
        self.console_port: int = 0
        self.poll_interval_ms = poll_interval_ms
        self.start_timeout = start_timeout
        self.extra_lan_conf = extra_lan_conf
        self.extra_emu = extra_emu
        self.binary = binary
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._root_finalizer: weakref.finalize[Any, Any] | None = None
        self._console_lock = threading.Lock()
        self._log_offset = 0
        self._raw: dict[int, int] = {s.number: s.initial_raw & 0xFF for s in board.analog}
        self._states: dict[int, int] = {n: s.initial_state(n) for s in board.discrete for n in s.numbers}
        self._available: dict[int, bool] = {s.number: s.present for s in board.analog}
        self._available.update({n: s.present for s in board.discrete for n in s.numbers})
        self._power_on = True

    # -- context manager -------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<IpmiSimPeer {self.board.name} {self.host}:{self.port} {state}>"

    # -- lifecycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the simulator process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running simulator."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> Self:
        """Write the configuration, launch ipmi_sim and wait until it answers."""
        if self.running:
            raise IpmiSimError("peer already running")
        if shutil.which(self.binary) is None:
            raise IpmiSimError(f"{self.binary} not found (Debian package 'openipmi')")
        fresh = self.root is None
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="zephyr-ipmi-sim-"))
            self._root_finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)
            (self.root / "state").mkdir()
            (self.root / "values").mkdir()
            (self.root / "freeipmi-cache").mkdir()
            (self.root / "freeipmi.conf").write_text("")
        fixed_port = bool(self.port)
        attempts = 1 if fixed_port else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            if not fixed_port:
                self.port = _free_port(socket.SOCK_DGRAM)
            elif not _port_is_free(self.port, socket.SOCK_DGRAM):
                raise IpmiSimError(f"UDP port {self.port} on {LOOPBACK} is in use")
            self.console_port = _free_port(socket.SOCK_STREAM)
            self._write_files(write_values=fresh)
            try:
                self._launch()
                return self
            except IpmiSimConfigError:
                self._terminate(graceful=False)
                if fresh:
                    self._remove_root()
                raise
            except IpmiSimError as err:  # e.g. lost a port race
                last_error = err
                self._terminate(graceful=False)
        if fresh:
            self._remove_root()
        raise IpmiSimError(f"ipmi_sim did not start: {last_error}")

    def stop(self) -> None:
        """Terminate the simulator and delete its directory."""
        self._terminate(graceful=True)
        self._remove_root()

    def kill(self) -> None:
        """SIGKILL the simulator (a dead BMC); configuration and state are kept."""
        self._terminate(graceful=False)

    def restart(self) -> Self:
        """Stop (if running) and start again on the same UDP port with current readings."""
        if self.root is None:
            raise IpmiSimError("peer was never started or was stopped")
        self._terminate(graceful=True)
        port = self.port
        deadline = time.monotonic() + 5
        while not _port_is_free(port, socket.SOCK_DGRAM):
            if time.monotonic() > deadline:
                raise IpmiSimError(f"UDP port {port} did not become free")
            time.sleep(0.05)
        self.console_port = _free_port(socket.SOCK_STREAM)
        self._write_files(write_values=False)
        self._launch()
        return self

    def log_text(self) -> str:
        """What ipmi_sim printed (emu command echo, errors)."""
        if self.root is None or not (self.root / "ipmi_sim.log").exists():
            return ""
        return (self.root / "ipmi_sim.log").read_text(errors="replace")

    # -- run-time changes ---------------------------------------------------

    def set_sensor_raw(self, number: int, raw: int, *, generate_event: bool = True) -> None:
        """Set the raw reading byte of threshold sensor ``number``."""
        sensor = self.board.sensor(number)
        if not isinstance(sensor, AnalogSensor):
            raise TypeError(f"sensor {number:#x} is discrete; use set_discrete_state")
        if not 0 <= raw <= 0xFF:
            raise ValueError(f"raw reading must be a byte, not {raw}")
        self._raw[number] = raw
        self._write_value(number, raw)
        if self.running:
            self._console(f"sensor_set_value {BMC_ADDR:#x} 0 {number:#x} {raw:#x} {int(generate_event)}")

    def set_sensor_value(self, key: str | int, value: float) -> int:
        """Set a threshold sensor to the raw byte closest to ``value``; returns the raw byte."""
        sensor = self.board.analog_sensor(key)
        raw = sensor.raw(value)
        self.set_sensor_raw(sensor.number, raw)
        return raw

    def set_discrete_state(self, number: int, states: int, *, generate_event: bool = True) -> None:
        """Set the state bitmask (offsets 0..14) of discrete sensor ``number``."""
        sensor = self.board.sensor(number)
        if not isinstance(sensor, DiscreteSensor):
            raise TypeError(f"sensor {number:#x} is a threshold sensor; use set_sensor_raw")
        states &= 0x7FFF
        self._states[number] = states
        self._write_value(number, states)
        if self.running:
            self._console(
                *(
                    f"sensor_set_bit {BMC_ADDR:#x} 0 {number:#x} {bit} {(states >> bit) & 1} {int(generate_event)}"
                    for bit in range(15)
                    if sensor.state_mask >> bit & 1
                )
            )

    def set_sensor_available(self, number: int, available: bool) -> None:
        """Make a sensor readable or "no reading" (scanning disabled)."""
        self.board.sensor(number)
        self._available[number] = available
        if self.running:
            self._console(self._event_support_command(number))

    def set_power(self, on: bool) -> None:
        """Host power on/off, as a client's ``chassis power on/off`` would; immediate.

        Re-sending a sensor's event support makes ipmi_sim poll it at once, which
        re-evaluates its ``depends=`` on the hidden power sensor.  (A client's Chassis
        Control reaches the sensors through polling instead, within two poll periods.)
        """
        if self.root is None:
            raise IpmiSimError("peer not started")
        subprocess.run(
            [str(self.root / "chassis.sh"), "set", "power", "1" if on else "0"],
            check=True,
            timeout=10,
        )
        self._power_on = on
        if self.running:
            self._console(
                f"sensor_set_bit {BMC_ADDR:#x} 0 {_POWER_SENSOR_NUMBER:#x} 0 {int(on)} 0",
                *(
                    self._event_support_command(number)
                    for sensor in self.board.sensors
                    if sensor.power_dependent
                    for number in ((sensor.number,) if isinstance(sensor, AnalogSensor) else sensor.numbers)
                ),
            )

    @property
    def power_on(self) -> bool:
        """Host power as the BMC reports it (Get Chassis Status)."""
        if self.root is not None and (self.root / "power").exists():
            return (self.root / "power").read_text().strip() == "1"
        return self._power_on

    def set_password(self, new_password: str, *, user_id: int = 2) -> None:
        """Change a user's password over IPMI (Set User Password); persists across restart."""
        self.ipmitool("user", "set", "password", str(user_id), new_password)
        if user_id == 2:
            self.password = new_password
        elif user_id == 3:
            self.readonly_password = new_password

    def add_sel_entry(self, record_type: int, data: bytes) -> None:
        """Add a raw SEL entry (record type + 13 bytes) through the console."""
        if len(data) != 13:
            raise ValueError("SEL entry data must be 13 bytes")
        self._console(f"sel_add {BMC_ADDR:#x} {record_type:#x} " + " ".join(f"{b:#x}" for b in data))

    # -- what a client should see ---------------------------------------------

    def sensor_raw(self, number: int) -> int:
        """Current raw reading (threshold sensor) or state bitmask (discrete)."""
        return self._raw[number] if number in self._raw else self._states[number]

    def is_available(self, number: int) -> bool:
        """Whether a client gets a reading for sensor ``number`` right now."""
        sensor = self.board.sensor(number)
        if not self._available[number]:
            return False
        return not (sensor.power_dependent and not self.power_on)

    def expected_value(self, key: str | int) -> float | None:
        """The converted value a client must show, None when there is no reading."""
        sensor = self.board.analog_sensor(key)
        if not self.is_available(sensor.number):
            return None
        return sensor.value(self._raw[sensor.number])

    # -- clients ------------------------------------------------------------

    def ipmitool_command(
        self, *args: str, username: str | None = None, lan_timeout: int = 1, lan_retries: int = 2
    ) -> list[str]:
        """The ipmitool argv (the password goes through IPMI_PASSWORD, ``-E``)."""
        return [
            "ipmitool",
            "-I",
            "lanplus",
            "-C",
            "3",
            "-H",
            self.host,
            "-p",
            str(self.port),
            "-U",
            username or self.username,
            "-E",
            "-N",
            str(lan_timeout),
            "-R",
            str(lan_retries),
            *args,
        ]

    def ipmitool(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 20.0,
        username: str | None = None,
        password: str | None = None,
        lan_timeout: int = 1,
        lan_retries: int = 2,
    ) -> str:
        """Run ``ipmitool -I lanplus -C 3 -H 127.0.0.1 -p PORT -U user -E ...``; stdout.

        Against a dead peer ipmitool gives up after about 6 s (``lan_retries=1``: 2 s).
        Raises ``subprocess.CalledProcessError`` (``check``) or ``TimeoutExpired``.
        """
        env = {**os.environ, "IPMI_PASSWORD": password if password is not None else self.password}
        proc = subprocess.run(
            self.ipmitool_command(*args, username=username, lan_timeout=lan_timeout, lan_retries=lan_retries),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, ["ipmitool", *args], proc.stdout, proc.stderr)
        return proc.stdout

    def ipmi_sensors(self, *args: str, check: bool = True, timeout: float = 20.0) -> str:
        """Run FreeIPMI ``ipmi-sensors`` over LAN_2_0 against this peer; stdout."""
        if self.root is None:
            raise IpmiSimError("peer not started")
        cmd = [
            "ipmi-sensors",
            f"--config-file={self.root / 'freeipmi.conf'}",
            "-D",
            "LAN_2_0",
            "-h",
            f"{self.host}:{self.port}",
            "-u",
            self.username,
            "-p",
            self.password,
            "-l",
            "ADMIN",
            "-I",
            "3",
            "-W",
            "opensesspriv",
            f"--sdr-cache-directory={self.root / 'freeipmi-cache'}",
            "--quiet-cache",
            "--session-timeout=5000",
            *args,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, ["ipmi-sensors", *args], proc.stdout, proc.stderr)
        return proc.stdout

    # -- internals ------------------------------------------------------------

    def _event_support_command(self, number: int, *, events: bool = True) -> str:
        sensor = self.board.sensor(number)
        mask = threshold_event_mask(sensor) if isinstance(sensor, AnalogSensor) else sensor.state_mask
        bits = format(mask & 0x7FFF, "015b")
        # Scanning off = "no reading".  Power-dependent sensors are also switched off by
        # their ``depends=`` on the hidden power sensor, checked whenever they poll.
        scanning = "scanning" if self._available[number] else "no-scanning"
        enable = "enable" if events else "disable"
        return (
            f"sensor_set_event_support {BMC_ADDR:#x} 0 {number:#x} {enable} {scanning} per-state "
            f"{bits} {bits} {bits} {bits}"
        )

    def _write_value(self, number: int, value: int) -> None:
        if self.root is None:
            return
        path = self.root / "values" / f"{number:02x}.val"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{value}\n")
        tmp.replace(path)

    def _write_files(self, *, write_values: bool) -> None:
        assert self.root is not None
        root = self.root
        if write_values:
            for number, raw in self._raw.items():
                self._write_value(number, raw)
            for number, states in self._states.items():
                self._write_value(number, states)
            (root / "power").write_text("1\n" if self._power_on else "0\n")
        self._power_on = self.power_on
        script = root / "chassis.sh"
        script.write_text(_CHASSIS_SCRIPT.format(power_file=root / "power"))
        script.chmod(0o755)
        (root / "lan.conf").write_text(self._lan_conf())
        (root / "peer.emu").write_text(self._emu())

    def _lan_conf(self) -> str:
        assert self.root is not None
        lines = [
            "# Generated by tests/peers/ipmi_sim.py",
            f'name "{self.board.name}"',
            f"set_working_mc {BMC_ADDR:#x}",
            "  startlan 1",
            f"    addr {LOOPBACK} {self.port}",
            "    priv_limit admin",
            "    allowed_auths_callback none md2 md5 straight",
            "    allowed_auths_user none md2 md5 straight",
            "    allowed_auths_operator none md2 md5 straight",
            "    allowed_auths_admin none md2 md5 straight",
            "    guid 5a455048595249504d4953494d583131",
            "  endlan",
            f'  chassis_control "{self.root / "chassis.sh"}"',
            f'  user 2 true "{self.username}" "{self.password}" admin 10 none md2 md5 straight',
            f'  user 3 true "{self.readonly_username}" "{self.readonly_password}" user 10 none md2 md5 straight',
            *self.extra_lan_conf,
            f"console {LOOPBACK} {self.console_port}",
            "",
        ]
        return "\n".join(lines)

    def _emu(self) -> str:
        assert self.root is not None
        board = self.board
        poll = self.poll_interval_ms
        addr = f"{BMC_ADDR:#x}"
        lines = [
            "# Generated by tests/peers/ipmi_sim.py",
            f"mc_setbmc {addr}",
            f"mc_add {addr} {board.device_id:#x} no-device-sdrs {board.device_revision:#x} "
            f"{board.firmware_major:#x} {board.firmware_minor_bcd:#x} {board.device_support:#x} "
            f"{board.manufacturer_id:#x} {board.product_id:#x}",
            f"sel_enable {addr} 1000 0x0a",
        ]
        for record in sdr_records(board):
            lines.append(f"main_sdr_add {addr} " + " ".join(f"{b:#04x}" for b in record))
        power_file = self.root / "power"
        lines += [
            "# hidden host-power sensor (no SDR), polled from the chassis power file",
            f'sensor_add {addr} 0 {_POWER_SENSOR_NUMBER:#x} 0x22 0x6f poll {poll} file "{power_file}"',
            f"sensor_set_event_support {addr} 0 {_POWER_SENSOR_NUMBER:#x} disable scanning per-state "
            + " ".join(["000000000000001"] * 4),
            f"sensor_set_bit {addr} 0 {_POWER_SENSOR_NUMBER:#x} 0 {int(self.power_on)} 0",
        ]
        for sensor in board.analog:
            n = sensor.number
            depends = f" depends={addr},0,{_POWER_SENSOR_NUMBER:#x},0" if sensor.power_dependent else ""
            values = self.root / "values" / f"{n:02x}.val"
            th = [sensor.thresholds.get(name, 0) for name in reversed(THRESHOLD_NAMES)]
            enabled = format(sensor.threshold_mask, "06b")
            lines += [
                f"# {sensor.name}",
                f'sensor_add {addr} 0 {n:#x} {sensor.sensor_type:#x} 0x01 poll {poll} file "{values}"{depends}',
                # Events off while the initial state is set (sensor_set_event_support
                # polls at once), so a start or restart does not log SEL entries.
                self._event_support_command(n, events=False),
                f"sensor_set_threshold {addr} 0 {n:#x} settable {enabled} " + " ".join(f"{v:#x}" for v in th),
                f"sensor_set_hysteresis {addr} 0 {n:#x} readable {sensor.hysteresis[0]:#x} {sensor.hysteresis[1]:#x}",
                f"sensor_set_value {addr} 0 {n:#x} {self._raw[n]:#x} 0",
                self._event_support_command(n),
            ]
        for dsensor in board.discrete:
            for n in dsensor.numbers:
                depends = f" depends={addr},0,{_POWER_SENSOR_NUMBER:#x},0" if dsensor.power_dependent else ""
                values = self.root / "values" / f"{n:02x}.val"
                lines += [
                    f"# {dsensor.instance_name(n)}",
                    f"sensor_add {addr} 0 {n:#x} {dsensor.sensor_type:#x} {dsensor.reading_type:#x} "
                    f'poll {poll} file "{values}"{depends}',
                    self._event_support_command(n, events=False),
                ]
                lines += [
                    f"sensor_set_bit {addr} 0 {n:#x} {bit} {(self._states[n] >> bit) & 1} 0"
                    for bit in range(15)
                    if dsensor.state_mask >> bit & 1
                ]
                lines.append(self._event_support_command(n))
        lines += [*self.extra_emu, f"mc_enable {addr}", ""]
        return "\n".join(lines)

    def _launch(self) -> None:
        assert self.root is not None
        root = self.root
        self._log = (root / "ipmi_sim.log").open("ab")
        self._log_offset = self._log.tell()
        # stdin is a pipe we hold (never written): ipmi_sim echoes the command file and
        # its errors to the log, and exits on EOF when this process goes away.
        proc = subprocess.Popen(
            [self.binary, "-c", str(root / "lan.conf"), "-f", str(root / "peer.emu"), "-s", str(root / "state")],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,
        )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _reap, proc)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if proc.poll() is not None:
                raise IpmiSimError(f"ipmi_sim exited with {proc.returncode}:\n{self.log_text()[-3000:]}")
            self._raise_on_emu_errors()
            if ping_bmc(self.host, self.port):
                break
            if time.monotonic() > deadline:
                raise IpmiSimError(
                    f"ipmi_sim did not answer on {self.host}:{self.port} within {self.start_timeout}s:\n"
                    f"{self.log_text()[-3000:]}"
                )
            time.sleep(0.05)
        self._raise_on_emu_errors()
        # The console must work too (run-time changes go through it).
        self._console()

    def _raise_on_emu_errors(self) -> None:
        assert self.root is not None
        with (self.root / "ipmi_sim.log").open("rb") as log:
            log.seek(self._log_offset)
            lines = log.read().decode(errors="replace").splitlines()
        errors = [
            f"{lines[i - 1].strip() if i else ''}  ->  {line.strip()}"
            for i, line in enumerate(lines)
            if line.startswith("**")
        ]
        if errors:
            raise IpmiSimConfigError("ipmi_sim rejected the command file:\n" + "\n".join(errors))

    def _terminate(self, *, graceful: bool) -> None:
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                if graceful:
                    proc.terminate()
                    try:
                        proc.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                else:
                    proc.send_signal(signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            finally:
                if proc.stdin is not None:
                    proc.stdin.close()
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _remove_root(self) -> None:
        if self._root_finalizer is not None:
            self._root_finalizer()  # rmtree(root, ignore_errors=True), once
            self._root_finalizer = None
        self.root = None

    def _console(self, *commands: str, timeout: float = 5.0) -> list[str]:
        """Run emu commands on the console port; raise on '**' errors."""
        if not self.running:
            raise IpmiSimError("peer not running")
        deadline = time.monotonic() + timeout
        outputs: list[str] = []
        with self._console_lock, _real_socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            _real_connect(sock, (LOOPBACK, self.console_port))
            self._read_prompt(sock, deadline)
            for command in commands:
                sock.sendall(command.encode() + b"\n")
                out = self._read_prompt(sock, deadline)
                if "**" in out:
                    raise IpmiSimError(f"ipmi_sim console rejected {command!r}: {out.strip()}")
                outputs.append(out)
        return outputs

    @staticmethod
    def _read_prompt(sock: socket.socket, deadline: float) -> str:
        buf = b""
        while True:
            clean = _TELNET_CMD.sub(b"", buf)
            if clean.endswith(b"> "):
                return clean[:-2].decode(errors="replace")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise IpmiSimError(f"ipmi_sim console timed out; got {clean!r}")
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                raise IpmiSimError(f"ipmi_sim console closed; got {clean!r}")
            buf += chunk
