"""What one control tick reads from a BMC: the rules' temperatures and the fans, nothing else.

One Get Sensor Reading (IPMI 2.0 §35.14) per temperature the rules and guards use and per fan, through
``BmcClient.read``; each fan's lower-critical threshold as the BMC holds it now (Get Sensor Thresholds,
§35.9: read once, and again after tuning, because the SDR keeps the values the board shipped with); and,
while Zephyr holds the fans or is about to take them, the fan mode and zone duties read back through the
control layer (to keep zones without a rule at the BMC's duty, and to see a duty someone else changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from ..errors import IpmiCompletionCodeError
from ..models import SdrSensor, SensorReading, SensorStatus
from .engine import EngineState, FanInput, TemperatureInput, TickInputs
from .settings import AutomaticSettings

#: A zone duty read back this far (%) from what the loop set means someone else changed it.
DUTY_TOLERANCE = 2
#: Get Sensor Thresholds (netfn 04h, cmd 27h, IPMI 2.0 §35.9).
NETFN_SENSOR, CMD_GET_SENSOR_THRESHOLDS = 0x04, 0x27


class SensorClient(Protocol):
    """What the reader needs from ``BmcClient``."""

    def read(self, keys: Iterable[str]) -> dict[str, SensorReading]:
        """Read only the sensors ``keys`` name (raises ``IpmiError`` when the BMC does not answer)."""

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one raw request (raises ``IpmiCompletionCodeError``, ``IpmiConnectionError``)."""


class ZoneDuties(Protocol):
    """What the reader needs from the control layer's ``read_state()`` answer (``FanState``)."""

    @property
    def zone_duty(self) -> Mapping[str, int | None]:
        """Duty (%) read back per zone key; None where the BMC has no read."""


class BmcReader:
    """Reads a tick's inputs from one BMC (blocking); call it as the control loop's reader.

    ``sensors``: the BMC's SDR sensors by key; ``fan_zone``: fan sensor key -> zone key; ``read_state``:
    the control layer's fan state read (zone duties in %); ``extra``: temperatures from elsewhere (e.g. Home
    Assistant entities), by key, called once per tick; ``baseline``: the duties (%) the BMC ran its zones at
    before someone (a duty set by hand) took the fans, by zone key, empty when the BMC has them.
    """

    def __init__(
        self,
        client: SensorClient,
        sensors: Mapping[str, SdrSensor],
        fan_zone: Mapping[str, str],
        read_state: Callable[[], ZoneDuties],
        extra: Callable[[], Mapping[str, TemperatureInput]] = dict,
        *,
        baseline: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        """Bind to the BMC; nothing is read before the first call."""
        self.client = client
        self.sensors = sensors
        self.fan_zone = fan_zone
        self.read_state = read_state
        self.extra = extra
        self.baseline = baseline
        self._lower_critical: dict[str, float | None] | None = None

    def __call__(self, settings: AutomaticSettings, state: EngineState) -> TickInputs:
        """Read the inputs of one tick; raises ``IpmiError`` when the BMC does not answer."""
        extra = self.extra()
        fans = list(self.fan_zone)
        temperatures = [key for key in settings.sensors if key not in extra and key in self.sensors]
        readings = self.client.read([*temperatures, *fans])
        lower_critical = self.lower_critical()
        temps = {key: _temperature(readings.get(key)) for key in temperatures}
        temps.update({key: value for key, value in extra.items() if key in settings.sensors})
        fan_inputs = {
            key: FanInput(
                rpm=_value(readings.get(key)), zone=self.fan_zone[key], lower_critical=lower_critical.get(key)
            )
            for key in fans
        }
        keep = any(zone not in settings.ruled_zones for zone in settings.zones)
        if not settings.rules or not (state.holding or keep):
            return TickInputs(temperatures=temps, fans=fan_inputs)
        duties = self.read_state().zone_duty
        reverted = state.holding and any(
            (seen := duties.get(zone)) is not None and abs(seen - held.duty) > DUTY_TOLERANCE
            for zone, held in state.zones.items()
        )
        return TickInputs(
            temperatures=temps,
            fans=fan_inputs,
            # A zone set by hand (Full mode runs the others at 100 %) keeps the duty the BMC gave it before.
            bmc_duty={} if state.holding else {**duties, **self.baseline()},
            reverted=reverted,
        )

    def lower_critical(self) -> dict[str, float | None]:
        """Each fan's lower-critical threshold (rpm) as the BMC holds it (the SDR's when it has no answer)."""
        if self._lower_critical is None:
            found: dict[str, float | None] = {}
            for key in self.fan_zone:
                sensor = self.sensors[key]
                found[key] = sensor.thresholds.get("lcr")
                try:
                    data = self.client.request(
                        NETFN_SENSOR, CMD_GET_SENSOR_THRESHOLDS, bytes([sensor.number]), lun=sensor.lun
                    )
                except IpmiCompletionCodeError:
                    continue
                # readable mask, then LNC, LCR, LNR, UNC, UCR, UNR (raw)
                if len(data) >= 3 and data[0] & 0x02 and sensor.conversion is not None:
                    found[key] = sensor.conversion.convert(data[2])
            self._lower_critical = found
        return self._lower_critical

    def thresholds(self, key: str) -> dict[str, float]:
        """All thresholds of sensor ``key`` as the BMC holds them now (rpm, °C); the SDR's without an answer."""
        sensor = self.sensors[key]
        try:
            data = self.client.request(NETFN_SENSOR, CMD_GET_SENSOR_THRESHOLDS, bytes([sensor.number]), lun=sensor.lun)
        except IpmiCompletionCodeError:
            return dict(sensor.thresholds)
        if len(data) < 7 or sensor.conversion is None:
            return dict(sensor.thresholds)
        out: dict[str, float] = {}
        for bit, name in enumerate(("lnc", "lcr", "lnr", "unc", "ucr", "unr")):
            if data[0] & (1 << bit) and (value := sensor.conversion.convert(data[1 + bit])) is not None:
                out[name] = value
        return out

    def forget_thresholds(self) -> None:
        """Read the fans' thresholds again at the next tick (after they were changed)."""
        self._lower_critical = None


def _value(reading: SensorReading | None) -> float | None:
    if reading is None or not reading.available:
        return None
    return reading.value


def _temperature(reading: SensorReading | None) -> TemperatureInput:
    critical = reading is not None and reading.status in (SensorStatus.CRITICAL, SensorStatus.NON_RECOVERABLE)
    return TemperatureInput(value=_value(reading), critical=critical)
