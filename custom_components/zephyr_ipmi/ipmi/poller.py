"""What a poll reads: sensor readings, chassis power and DCMI power, each request through a ``Requester``."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from .errors import IpmiCompletionCodeError
from .models import PowerReading, SdrSensor, SensorReading
from .protocol import (
    CC_NOT_PRESENT,
    CC_UNSUPPORTED,
    CMD_DCMI_GET_POWER_READING,
    CMD_GET_CHASSIS_STATUS,
    CMD_GET_SENSOR_READING,
    CMD_GET_SENSOR_THRESHOLDS,
    DCMI_GROUP,
    NETFN_CHASSIS,
    NETFN_DCMI,
    NETFN_SENSOR,
)
from .records import BatchRequester, Requester
from .sdr import SdrDecodeError, decode_sensor_reading, decode_thresholds

#: Get Sensor Reading requests sent together when the requester can have several in flight.
BATCH = 16
#: The reading of a sensor the BMC reports absent (CBh) or that could not be read.
UNAVAILABLE = SensorReading(value=None, status=None, available=False)


def read_sensors(
    requester: BatchRequester, sensors: Iterable[SdrSensor], *, urgent: bool = False
) -> tuple[dict[str, SensorReading], dict[str, str]]:
    """One Get Sensor Reading (IPMI 2.0 §35.14) per sensor; a failing sensor costs only itself.

    Returns (readings by ``SdrSensor.key``, errors by key). A sensor answered CBh ("not present")
    reads unavailable; any other completion code or an undecodable answer is reported in the errors
    ("completion code 0xD5") and has no reading. ``urgent`` readings (a control loop's) go before a poll's
    batch under way, between two of its requests. A lost connection (``IpmiConnectionError``) is raised.
    """
    readings: dict[str, SensorReading] = {}
    errors: dict[str, str] = {}
    for sensor, answer in _per_sensor(requester, list(sensors), CMD_GET_SENSOR_READING, urgent=urgent):
        try:
            if isinstance(answer, IpmiCompletionCodeError):
                raise answer
            readings[sensor.key] = decode_sensor_reading(sensor, answer)
        except IpmiCompletionCodeError as err:
            if err.code == CC_NOT_PRESENT:
                readings[sensor.key] = UNAVAILABLE
            else:
                errors[sensor.key] = f"completion code 0x{err.code:02X}"
        except SdrDecodeError as err:
            errors[sensor.key] = str(err)
    return readings, errors


def _per_sensor(
    requester: BatchRequester, sensors: list[SdrSensor], command: int, *, urgent: bool = False
) -> Iterator[tuple[SdrSensor, bytes | IpmiCompletionCodeError]]:
    """Yield each sensor with the answer to ``command`` (a sensor netfn command taking the sensor number).

    The answer is the response data or the completion code error. ``BATCH`` requests at a time: a single request
    (e.g. a fan write) or an ``urgent`` batch (a control loop's readings) waits only for the requests of a batch on
    the wire; another batch waits for at most one batch.
    """
    for start in range(0, len(sensors), BATCH):
        chunk = sensors[start : start + BATCH]
        requests = [(NETFN_SENSOR, command, bytes((sensor.number,)), sensor.lun) for sensor in chunk]
        yield from zip(chunk, requester.request_many(requests, urgent=urgent), strict=True)


def read_all_thresholds(requester: BatchRequester, sensors: Iterable[SdrSensor]) -> dict[str, dict[str, float]]:
    """Get Sensor Thresholds (IPMI 2.0 §35.9) of each threshold sensor, in its unit, batched like ``read_sensors``.

    Returns the thresholds by ``SdrSensor.key`` of the sensors that answered. A completion code (e.g. C1h from a BMC
    that keeps thresholds only in the SDR) or an undecodable answer leaves a sensor out; a lost connection
    (``IpmiConnectionError``) is raised.
    """
    read: dict[str, dict[str, float]] = {}
    threshold_sensors = [sensor for sensor in sensors if sensor.is_threshold]
    for sensor, answer in _per_sensor(requester, threshold_sensors, CMD_GET_SENSOR_THRESHOLDS):
        if isinstance(answer, IpmiCompletionCodeError):
            continue
        try:
            read[sensor.key] = decode_thresholds(sensor, answer)
        except SdrDecodeError:
            continue
    return read


def read_chassis_power(requester: Requester) -> bool | None:
    """Get Chassis Status (IPMI 2.0 §28.2): bit 0 of the current power state byte; None when not answered."""
    try:
        data = requester.request(NETFN_CHASSIS, CMD_GET_CHASSIS_STATUS)
    except IpmiCompletionCodeError:
        return None
    return bool(data[0] & 0x01) if data else None


#: Refusals in a row after which a BMC that gave DCMI power readings is taken not to support them.
DCMI_REFUSALS = 3


class DcmiPower:
    """DCMI Get Power Reading in system power statistics mode (DCMI 1.5 §6.6.1), with what the BMC supports.

    ``supported`` is None until the BMC answered, then decided by its first definite answer (at setup):
    True for a reading; False for a refusal (completion codes C1h, C2h, CCh, D4h) or an answer that is not a
    DCMI power reading, after which no more requests are sent. Once supported, a refusal costs one reading;
    only ``DCMI_REFUSALS`` in a row make it unsupported. A transient code (busy, C0h) costs one reading.
    """

    def __init__(self) -> None:
        """Start undecided."""
        self.supported: bool | None = None
        self.refusals = 0

    def read(self, requester: Requester) -> PowerReading | None:
        """Return the power reading (W), or None when there is none this time."""
        if self.supported is False:
            return None
        try:
            data = requester.request(NETFN_DCMI, CMD_DCMI_GET_POWER_READING, (DCMI_GROUP, 0x01, 0x00, 0x00))
        except IpmiCompletionCodeError as err:
            if err.code in CC_UNSUPPORTED:
                self._refused()
            return None
        if len(data) < 9 or data[0] != DCMI_GROUP:
            self._refused()
            return None
        self.supported = True
        self.refusals = 0
        current, minimum, maximum, average = struct.unpack_from("<HHHH", data, 1)
        return PowerReading(
            current=float(current), minimum=float(minimum), maximum=float(maximum), average=float(average)
        )

    def _refused(self) -> None:
        """Count a refusal: it decides an undecided BMC at once, a supporting one after several in a row."""
        self.refusals += 1
        if self.supported is None or self.refusals >= DCMI_REFUSALS:
            self.supported = False
