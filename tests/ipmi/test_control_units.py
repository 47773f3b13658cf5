"""Pure parts of the control core: threshold rounding, Dell byte builders, gate branches no quick peer shows."""

from __future__ import annotations

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    FanMode,
    FanZone,
    IpmiConnectionError,
    IpmiWriteRefusedError,
    SdrSensor,
    SensorKind,
    WriteGate,
    WriteKind,
    WriteRequest,
)
from custom_components.zephyr_ipmi.ipmi.models import Conversion
from custom_components.zephyr_ipmi.ipmi.thresholds import plan, to_raw
from custom_components.zephyr_ipmi.ipmi.vendors import DellCommands
from custom_components.zephyr_ipmi.ipmi.vendors.base import Capabilities, ReadRequest


def _conv(*, m: int = 1, b: int = 0, k1: int = 0, k2: int = 0, fmt: int = 0, lin: int = 0) -> Conversion:
    return Conversion(m=m, b=b, k1=k1, k2=k2, analog_format=fmt, linearization=lin)


@pytest.mark.parametrize(
    ("conversion", "value", "raw"),
    [
        (_conv(m=100), 440, 4),
        (_conv(m=100), 460, 5),
        (_conv(m=64, k2=-3), 10.272, 160),  # 12V rail: 64 mV per count
        (_conv(fmt=2), -7, 0xF9),  # two's complement
        (_conv(fmt=1), -7, 0xF8),  # one's complement
        (_conv(fmt=1), 7, 7),
        (_conv(m=2, b=5, k1=1), 150, 50),  # y = 2x + 50
        (_conv(), 256, None),
        (_conv(fmt=1), -128, None),
        (_conv(fmt=2), 128, None),
        (_conv(fmt=3), 1, None),  # no numeric reading
        (_conv(lin=1), 1, None),  # non-linear
        (_conv(m=0), 1, None),
        (_conv(), float("nan"), None),
    ],
)
def test_to_raw(conversion: Conversion, value: float, raw: int | None) -> None:
    assert to_raw(conversion, value) == raw


def _sensor(conversion: Conversion | None = None, reading_type: int = 0x01) -> SdrSensor:
    return SdrSensor(
        key="20_0_65",
        record_id=1,
        name="FAN1",
        owner=0x20,
        lun=0,
        number=0x41,
        entity_id=0x1D,
        entity_instance=1,
        sensor_type=0x04,
        reading_type=reading_type,
        kind=SensorKind.FAN,
        unit="rpm",
        conversion=conversion,
        thresholds={},
        settable=("lnr", "lcr", "lnc", "unc", "ucr", "unr"),
    )


ALL = frozenset({"lnr", "lcr", "lnc", "unc", "ucr", "unr"})


def test_plan_orders_only_what_changes() -> None:
    fan = _sensor(_conv(m=100))
    # lnr == lcr already on the BMC: changing only the upper side is still accepted
    raw, rounded = plan(fan, {"unc": 9000}, current={"lnr": 3, "lcr": 3, "unc": 200}, reading=2000, settable=ALL)
    assert (raw, rounded) == ({"unc": 90}, {"unc": 9000.0})
    with pytest.raises(IpmiWriteRefusedError) as err:
        plan(fan, {"lcr": 300}, current={"lnr": 3, "lcr": 5}, reading=None, settable=ALL)
    assert err.value.placeholders["threshold"] == "lcr"
    with pytest.raises(IpmiWriteRefusedError):
        plan(fan, {"lnr": 500}, current={"lnr": 3, "lcr": 5}, reading=None, settable=ALL)
    # with the host off (no reading) a lower threshold is not compared with it
    assert plan(fan, {"lcr": 9000}, current={}, reading=None, settable=ALL)[0] == {"lcr": 90}


@pytest.mark.parametrize(
    ("sensor", "values"),
    [(_sensor(None), {"lcr": 1}), (_sensor(_conv(), reading_type=0x6F), {"lcr": 1}), (_sensor(_conv()), {})],
)
def test_plan_refuses_sensors_without_thresholds(sensor: SdrSensor, values: dict[str, float]) -> None:
    with pytest.raises(IpmiWriteRefusedError) as err:
        plan(sensor, values, current={}, reading=None, settable=ALL)
    assert err.value.reason == "threshold_invalid"


def test_plan_refuses_a_raw_value_without_a_reading() -> None:
    # linear conversion whose converted value is None cannot happen; a non-linear sensor has no raw value
    with pytest.raises(IpmiWriteRefusedError):
        plan(_sensor(_conv(lin=7)), {"lcr": 5}, current={}, reading=None, settable=ALL)


def test_dell_bytes() -> None:
    caps = Capabilities(vendor="dell", fan_control=True, automatic_mode=FanMode.AUTOMATIC, pcie_cooling=False)
    dell = DellCommands(caps)
    assert [w.data for w in dell.set_fan_mode(FanMode.MANUAL)] == [b"\x01\x00"]
    assert [w.data for w in dell.set_fan_mode(FanMode.FULL)] == [b"\x01\x01"]  # anything else: automatic
    assert [w.data for w in dell.hand_back(None)] == [b"\x01\x01"]
    assert [w.data for w in dell.set_zone_duty(FanZone(index=0xFF, key="all", name="All fans"), 20)] == [
        b"\x01\x00",
        b"\x02\xff\x14",
    ]
    with pytest.raises(IpmiWriteRefusedError):
        dell.set_pcie_cooling(False)
    assert dell.read_pcie_cooling() is None
    with_pcie = DellCommands(Capabilities(vendor="dell", pcie_cooling=True))
    assert with_pcie.read_pcie_cooling() == ReadRequest("pcie_cooling", 0x30, 0xCE, b"\x01\x16\x05\x00\x00\x00")
    assert [w.data for w in with_pcie.set_pcie_cooling(True)] == [b"\x00\x16\x05\x00\x00\x00\x05\x00\x00\x00\x00"]
    assert with_pcie.decode_pcie_cooling(b"\x16\x05\x00\x00\x00\x05\x00\x01\x00\x00") is False
    assert with_pcie.decode_pcie_cooling(b"\x16\x05\x00\x00\x00\x05\x00\x00\x00\x00") is True
    assert with_pcie.decode_pcie_cooling(b"\x16\x05\x00\x00\x00\x05\x00\x07") is None
    assert with_pcie.decode_pcie_cooling(b"\x16") is None


class _LosingTransport:
    """A BMC whose answers stop after ``answers`` requests (a silent BMC, without waiting for timeouts)."""

    identity_confirmed = True

    def __init__(self, answers: int) -> None:
        self.answers = answers
        self.sent: list[tuple[int, int, bytes]] = []

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        self.sent.append((netfn, command, bytes(data)))
        if len(self.sent) > self.answers:
            raise IpmiConnectionError("the BMC did not answer")
        return b"\x02"


def _mode_write() -> WriteRequest:
    return WriteRequest(
        name="set_fan_mode",
        netfn=0x30,
        command=0x45,
        data=b"\x01\x01",
        kind=WriteKind.FAN_MODE,
        mode=FanMode.FULL,
        readback=ReadRequest("fan_mode", 0x30, 0x45, b"\x00"),
    )


def test_gate_records_a_write_that_got_no_answer() -> None:
    from custom_components.zephyr_ipmi.ipmi.vendors import SupermicroCommands

    commands = SupermicroCommands(Capabilities(vendor="supermicro", fan_control=True))
    lost_at_write = WriteGate(_LosingTransport(answers=1), commands)
    with pytest.raises(IpmiConnectionError):
        lost_at_write.send(_mode_write(), actor="t")
    assert [(a.result, a.detail) for a in lost_at_write.audit] == [("error", "no_answer")]
    lost_at_read_back = WriteGate(_LosingTransport(answers=2), commands)
    lost_at_read_back.send(_mode_write(), actor="t")
    assert [(a.result, a.detail) for a in lost_at_read_back.audit] == [("ok", None)]
