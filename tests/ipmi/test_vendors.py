"""Vendor detection against every bmcsim profile (read-only: nothing is written to find out) and the
byte builders of each command set, checked against literal bytes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    BmcIdentity,
    FanMode,
    FanZone,
    IpmiCompletionCodeError,
    IpmiWriteRefusedError,
    detect,
)
from custom_components.zephyr_ipmi.ipmi.vendors import MonitoringOnly, SupermicroCommands
from custom_components.zephyr_ipmi.ipmi.vendors.base import (
    Capabilities,
    ReadRequest,
    read_board_product,
)

from .control_fixtures import Rig

RigFactory = Callable[..., Rig]

PROFILES = {
    # profile: (vendor, generation, zone keys, encoding, floor, bypass, pcie, fan control, reason)
    "supermicro-x9": ("supermicro", "x9", ["cpu", "peripheral"], "byte", 25, False, False, True, None),
    "supermicro-x11": ("supermicro", "x11", ["cpu", "peripheral"], "percent", 20, False, False, True, None),
    "supermicro-4zone": (
        "supermicro",
        "x10",
        ["cpu", "peripheral", "zone_2", "zone_3"],
        "percent",
        20,
        False,
        False,
        True,
        None,
    ),
    "supermicro-x13": ("supermicro", "x13", ["cpu", "peripheral"], "percent", 20, False, False, True, None),
    "supermicro-x14": ("supermicro", "x14", ["cpu", "peripheral"], "percent", 20, True, False, True, None),
    "dell-idrac8": (
        "dell",
        "idrac8",
        ["all", "fan_1", "fan_2", "fan_3", "fan_4", "fan_5", "fan_6"],
        "percent",
        15,
        False,
        True,
        True,
        None,
    ),
    "dell-idrac9-locked": (
        "dell",
        "idrac9",
        ["all", "fan_1", "fan_2", "fan_3", "fan_4", "fan_5", "fan_6"],
        "percent",
        15,
        False,
        False,
        True,
        None,
    ),
    "hpe-ilo4": ("hpe", "ilo4", [], "percent", 20, False, False, False, "hpe_no_ipmi_fan_control"),
    "generic": ("generic", None, [], "percent", 20, False, False, False, "generic_monitoring_only"),
}


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_detect_each_profile_read_only(rig: RigFactory, profile: str) -> None:
    r = rig(profile)
    caps = r.controller.capabilities
    vendor, generation, zones, encoding, floor, bypass, pcie, fan_control, reason = PROFILES[profile]
    assert (caps.vendor, caps.generation) == (vendor, generation)
    assert [z.key for z in caps.zones] == zones
    assert (caps.duty_encoding, caps.duty_floor, caps.bypass, caps.pcie_cooling) == (encoding, floor, bypass, pcie)
    assert (caps.fan_control, caps.fan_control_reason) == (fan_control, reason)
    assert caps.power_control is True
    assert caps.identify is True
    # Nothing but reads went to the BMC while finding out.
    assert r.writes() == []
    if vendor in ("hpe", "generic"):
        assert r.sim.control.request_log(netfn=0x30) == []
        assert caps.modes == ()
        with pytest.raises(IpmiWriteRefusedError) as err:
            r.controller.set_zone_duty("cpu", 50)
        assert err.value.reason == reason
        with pytest.raises(IpmiWriteRefusedError):
            r.controller.set_fan_mode(FanMode.FULL)
        assert r.controller.read_state().zone_duty == {}
        assert r.writes() == []
        assert [(a.result, a.detail) for a in r.audits] == [("refused", reason)] * 2
    if vendor == "supermicro":
        assert caps.automatic_mode is FanMode.STANDARD
        assert FanMode.FULL in caps.modes
        assert (FanMode.PUE2 in caps.modes) is (generation != "x9")


@pytest.mark.peer
@pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")
def test_supermicro_zone_fans_named_from_the_sdr(rig: RigFactory) -> None:
    caps = rig("supermicro-x11").controller.capabilities
    assert caps.zone("cpu") == FanZone(index=0, key="cpu", name="CPU zone", fans=("FAN1", "FAN2", "FAN3", "FAN4"))
    assert caps.zone("peripheral") == FanZone(index=1, key="peripheral", name="Peripheral zone", fans=("FANA",))
    assert caps.zone("zone_2") is None
    four = rig("supermicro-4zone").controller.capabilities
    assert [z.fans for z in four.zones] == [(), (), (), ()]  # which fan is in which of 4 zones is not documented


# -- byte builders (no peer needed: bytes in, bytes out) ----------------------------------------------------


def _supermicro(**changes: object) -> SupermicroCommands:
    base = Capabilities(vendor="supermicro", generation="x11", fan_control=True, automatic_mode=FanMode.STANDARD)
    return SupermicroCommands(Capabilities(**{**base.__dict__, **changes}))  # type: ignore[arg-type]


def test_supermicro_bytes() -> None:
    x11 = _supermicro()
    cpu = FanZone(index=0, key="cpu", name="CPU zone")
    zone3 = FanZone(index=3, key="zone_3", name="Zone 3")
    assert x11.read_fan_mode() == ReadRequest("fan_mode", 0x30, 0x45, b"\x00")
    assert [w.data for w in x11.set_fan_mode(FanMode.PUE2)] == [b"\x01\x03"]
    writes = x11.set_zone_duty(zone3, 45)
    assert [(w.name, w.netfn, w.command, w.data) for w in writes] == [
        ("set_fan_mode", 0x30, 0x45, b"\x01\x01"),
        ("set_zone_duty", 0x30, 0x70, b"\x66\x01\x03\x2d"),
    ]
    assert writes[1].readback == ReadRequest("zone_duty", 0x30, 0x70, b"\x66\x00\x03")
    assert x11.decode_zone_duty(b"\x2d") == 45
    assert x11.decode_zone_duty(b"\xff") is None
    assert x11.decode_zone_duty(b"") is None
    assert x11.decode_fan_mode(b"\x09") is None
    assert x11.decode_fan_mode(b"") is None
    assert x11.settable_thresholds("fan") is None
    assert x11.hand_back(None)[0].data == b"\x01\x00"  # no baseline: Standard
    x9 = _supermicro(generation="x9", duty_encoding="byte")
    assert [w.data for w in x9.set_zone_duty(cpu, 100)] == [b"\x01\x01", b"\x5a\x03\x10\xff"]
    assert [w.data for w in x9.set_zone_duty(FanZone(index=1, key="peripheral", name="P"), 25)][1] == (
        b"\x5a\x03\x11\x40"
    )
    assert x9.read_zone_duty(cpu) is None
    x14 = _supermicro(generation="x14", bypass=True)
    assert [w.data for w in x14.set_zone_duty(cpu, 30)] == [b"\x01\x01", b"\x66\x02\x01", b"\x66\x01\x00\x1e"]
    assert [w.data for w in x14.hand_back(FanMode.OPTIMAL)] == [b"\x66\x02\x00", b"\x01\x02"]
    # AST2600 boards write lower-critical only; H12 carries an AST2500 and takes every threshold.
    for ast2600 in ("x12", "x13", "x14", "h13", "h14"):
        assert _supermicro(generation=ast2600).settable_thresholds("fan") == frozenset({"lcr"})
    assert _supermicro(generation="h12").settable_thresholds("fan") is None
    assert _supermicro(generation="x13").settable_thresholds("temperature") is None
    with pytest.raises(IpmiWriteRefusedError):
        x11.set_pcie_cooling(True)
    assert x11.read_pcie_cooling() is None
    assert x11.decode_pcie_cooling(b"\x00") is None
    assert x11.decode(ReadRequest("other", 0, 0, b""), b"\x00") is None


def test_monitoring_only_refuses_with_its_reason() -> None:
    caps = Capabilities(vendor="generic", fan_control_reason="generic_monitoring_only")
    commands = MonitoringOnly(caps)
    for call in (
        lambda: commands.set_fan_mode(FanMode.FULL),
        lambda: commands.set_zone_duty(FanZone(index=0, key="a", name="a"), 50),
    ):
        with pytest.raises(IpmiWriteRefusedError) as err:
            call()
        assert err.value.reason == "generic_monitoring_only"
    assert commands.hand_back(None) == []
    assert commands.read_fan_mode() is None
    assert commands.read_zone_duty(FanZone(index=0, key="a", name="a")) is None
    assert commands.decode_fan_mode(b"\x01") is None
    assert commands.decode_zone_duty(b"\x01") is None
    with pytest.raises(IpmiWriteRefusedError) as err:
        MonitoringOnly(Capabilities(vendor="x")).set_fan_mode(FanMode.FULL)
    assert err.value.reason == "not_supported"


# -- detection from identities no profile has (a fake BMC answering a table of reads) ----------------------


class FakeBmc:
    """Answers reads from a table (netfn, cmd, data) -> bytes; anything else a completion code 0xC1."""

    def __init__(self, answers: dict[tuple[int, int, bytes], bytes]) -> None:
        self.answers = answers
        self.sent: list[tuple[int, int, bytes]] = []

    def __call__(self, netfn: int, cmd: int, data: bytes) -> bytes:
        self.sent.append((netfn, cmd, bytes(data)))
        try:
            return self.answers[(netfn, cmd, bytes(data))]
        except KeyError:
            raise IpmiCompletionCodeError(netfn, cmd, 0xC1) from None


def _identity(manufacturer_id: int, model: str | None, firmware: str = "2.83") -> BmcIdentity:
    return BmcIdentity(
        manufacturer_id=manufacturer_id,
        manufacturer="x",
        product_id=1,
        device_id=0x20,
        device_revision=1,
        firmware=firmware,
        ipmi_version="2.0",
        model=model,
    )


@pytest.mark.parametrize(
    ("model", "firmware", "generation"),
    [
        ("PowerEdge R720", "2.65", "idrac7"),
        ("PowerEdge R730xd", "2.83", "idrac8"),
        ("PowerEdge R7525", "4.40", "idrac9"),
        ("PowerEdge MX740c", "3.30", "idrac9"),
        ("PowerEdge R510", "1.95", "idrac6"),
        (None, "1.66", "idrac7"),
        (None, "2.86", "idrac8"),
        (None, "7.00", "idrac9"),
        (None, "garbage", None),
        (None, "0.5", None),
    ],
)
def test_dell_generation(model: str | None, firmware: str, generation: str | None) -> None:
    bmc = FakeBmc({(0x00, 0x01, b""): b"\x01\x00\x00\x00"})
    commands = detect(_identity(674, model, firmware), bmc, ["Fan1", "Fan2"])
    caps = commands.capabilities
    assert caps.generation == generation
    assert caps.pcie_cooling is False  # the read answered 0xC1
    if generation == "idrac6":
        assert [z.key for z in caps.zones] == ["fan_1", "fan_2"]  # iDRAC6 refuses the all-fans index
    else:
        assert [z.key for z in caps.zones] == ["all", "fan_1", "fan_2"]
    pcie_reads = [s for s in bmc.sent if s[:2] == (0x30, 0xCE)]
    assert bool(pcie_reads) is (generation in (None, "idrac6", "idrac7", "idrac8"))


@pytest.mark.parametrize(
    ("manufacturer", "model", "generation"),
    [(11, "ProLiant DL380 Gen10", "ilo5"), (47196, "ProLiant DL360 G7", "ilo3"), (11, None, None)],
)
def test_hpe_generation(manufacturer: int, model: str | None, generation: str | None) -> None:
    caps = detect(_identity(manufacturer, model), FakeBmc({})).capabilities
    assert (caps.vendor, caps.generation, caps.fan_control, caps.power_control) == ("hpe", generation, False, False)


def _fru_board(board: str) -> dict[tuple[int, int, bytes], bytes]:
    """A FRU 0 image with only a board area naming ``board``, served in 16-byte reads."""
    name = board.encode()
    area = bytearray([0x01, 0x00, 0x00, 0, 0, 0, 0xC0 | 3]) + b"SMC" + bytes([0xC0 | len(name)]) + name + b"\xc1"
    while (len(area) + 1) % 8:
        area += b"\x00"
    area += b"\x00"
    area[1] = len(area) // 8
    header = bytes([0x01, 0, 0, 1, 0, 0, 0, 0])
    header = header[:7] + bytes([(-sum(header[:7])) & 0xFF])
    image = header + bytes(area)
    table = {(0x0A, 0x10, b"\x00"): bytes([len(image) & 0xFF, len(image) >> 8, 0])}
    for offset in range(len(image)):
        for count in range(1, 17):
            chunk = image[offset : offset + count]
            table[(0x0A, 0x11, bytes([0, offset & 0xFF, offset >> 8, count]))] = bytes([len(chunk)]) + chunk
    return table


def test_supermicro_generation_from_the_board_and_reads() -> None:
    table = _fru_board("H12SSL-i") | {
        (0x30, 0x45, b"\x00"): b"\x00",
        (0x30, 0x70, b"\x66\x00\x00"): b"\x32",
    }
    bmc = FakeBmc(table)
    caps = detect(_identity(10876, None), bmc, ["FAN1", "FANA"]).capabilities
    assert (caps.generation, [z.key for z in caps.zones], caps.duty_encoding) == ("h12", ["cpu"], "percent")
    assert all(netfn != 0x30 or data[:1] in (b"\x00", b"\x66") for netfn, _cmd, data in bmc.sent)
    assert read_board_product(FakeBmc(table)) == "H12SSL-i"


def test_supermicro_without_fan_commands_is_monitoring_only() -> None:
    caps = detect(_identity(10876, None), FakeBmc(_fru_board("X14SBI-TF"))).capabilities
    assert (caps.generation, caps.fan_control, caps.fan_control_reason) == (
        "x14",
        False,
        "supermicro_fan_commands_unanswered",
    )


def test_supermicro_unknown_board_without_zone_read_gets_modes_only() -> None:
    caps = detect(_identity(10876, None), FakeBmc({(0x30, 0x45, b"\x00"): b"\x03"})).capabilities
    assert (caps.generation, caps.zones, caps.fan_control) == (None, (), True)
    x9 = detect(_identity(10876, None), FakeBmc(_fru_board("X9SCM-F") | {(0x30, 0x45, b"\x00"): b"\x03"})).capabilities
    assert FanMode.PUE2 in x9.modes  # an X9 that reports PUE2 has it
    assert x9.duty_encoding == "byte"


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {(0x0A, 0x10, b"\x00"): b"\x01"},
        {(0x0A, 0x10, b"\x00"): b"\x40\x00\x00"},
        {
            (0x0A, 0x10, b"\x00"): b"\x40\x00\x00",
            (0x0A, 0x11, b"\x00\x00\x00\x08"): b"\x08\x01\x00\x00\x00\x00\x00\x00\x00",
        },
        {
            (0x0A, 0x10, b"\x00"): b"\x40\x00\x00",
            (0x0A, 0x11, b"\x00\x00\x00\x08"): b"\x08\x01\x00\x00\x01\x00\x00\x00\x00",
        },
        {
            (0x0A, 0x10, b"\x00"): b"\x40\x00\x00",
            (0x0A, 0x11, b"\x00\x00\x00\x08"): b"\x08\x01\x00\x00\x01\x00\x00\x00\x00",
            (0x0A, 0x11, b"\x00\x08\x00\x02"): b"\x02\x01\x02",
        },
    ],
)
def test_unreadable_fru_gives_no_board(answers: dict[tuple[int, int, bytes], bytes]) -> None:
    assert read_board_product(FakeBmc(answers)) is None
