"""Hostile use of fan control against bmcsim over UDP: deny-list bypasses, raw fan writes, partial hand-backs.

Each test reproduces a way the fans could be left under a command nobody supervises (or the BMC's users or
network changed) and asserts what reached the wire. Expected bytes are written literally.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    FanMode,
    IpmiCompletionCodeError,
    IpmiFanControlLockedError,
    IpmiWriteRefusedError,
)

from .control_fixtures import Rig

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

RigFactory = Callable[..., Rig]

#: Send Message (netfn 0x06 cmd 0x34) to channel 0 (IPMB), tracking on, wrapping Set User Password
#: (netfn 0x06 cmd 0x47) for user 2 to the BMC at slave address 0x20: rsSA, netFn/rsLUN, checksum,
#: rqSA, rqSeq/rqLUN, cmd, user id, operation "set password", 16 password bytes, checksum.
_BRIDGED_SET_PASSWORD = bytes([0x40, 0x20, 0x18, 0xC8, 0x81, 0x04, 0x47, 0x02, 0x02]) + b"Hijacked-Pw-1234" + b"\x00"


@pytest.mark.parametrize(
    ("netfn", "cmd", "data"),
    [
        (0x06, 0x34, _BRIDGED_SET_PASSWORD),  # Send Message: a bridged request can carry any command
        (0x30, 0x70, b"\x0c\x01\x00"),  # Supermicro X9-X13: BMC LAN interface to dedicated
        (0x30, 0x70, b"\x0c\x01\x01\x00"),  # Supermicro older form of the same
        (0x30, 0x24, b"\x02"),  # Dell 11G: iDRAC NIC selection
        (0x30, 0x28, b"\x02\x00"),  # Dell 12G and later: iDRAC NIC selection
        (0x30, 0x48, b"\x01"),  # Supermicro: BMC factory defaults, users and passwords included
    ],
)
def test_raw_commands_that_change_users_or_the_bmc_network_are_refused(
    rig: RigFactory, netfn: int, cmd: int, data: bytes
) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.raw_command(netfn, cmd, data, actor="user-1")
    assert err.value.reason == "raw_command_forbidden"
    assert r.sim.control.request_log(since=since) == []
    assert (r.audits[-1].command, r.audits[-1].result) == ("raw", "refused")


def test_raw_read_of_the_supermicro_lan_interface_still_goes_out(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    with pytest.raises(IpmiCompletionCodeError):  # bmcsim does not model it; what matters is that it was sent
        r.controller.raw_command(0x30, 0x70, b"\x0c\x00")
    assert [bytes(rec.data) for rec in r.sim.control.request_log(since=since, netfn=0x30)] == [b"\x0c\x00"]


def test_raw_fan_writes_refused_once_the_firmware_refused_fan_control(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.sim.control.set_completion_code(0x30, 0x70, 0xCC, data_prefix=b"\x66\x01", count=1)
    with pytest.raises(IpmiFanControlLockedError):
        r.controller.set_zone_duty("cpu", 40)
    assert r.controller.capabilities.fan_control is False
    since = r.seq()
    # Full mode then 20 % by hand: nothing would supervise them or hand them back at unload.
    for data in (b"\x01\x01", b"\x66\x01\x00\x14"):
        with pytest.raises(IpmiWriteRefusedError) as err:
            r.controller.raw_command(0x30, 0x45 if len(data) == 2 else 0x70, data, actor="user-1")
        assert err.value.reason == "firmware_refuses_raw_fan_commands"
    assert r.fan_writes(since) == []
    assert r.controller.holding is False
    assert r.sim.control.state()["fans"]["mode_name"] == "optimal"
    # Handing the fans back by hand (a BMC-driven mode) stays possible.
    r.controller.raw_command(0x30, 0x45, b"\x01\x00")
    assert r.sim.control.state()["fans"]["mode_name"] == "standard"


def test_x14_hand_back_whose_mode_write_is_refused_keeps_holding(rig: RigFactory) -> None:
    r = rig("supermicro-x14")
    r.controller.set_zone_duty("cpu", 30)
    r.sim.control.set_completion_code(0x30, 0x45, 0xFF, data_prefix=b"\x01", count=1)
    since = r.seq()
    with pytest.raises(IpmiCompletionCodeError):
        r.controller.hand_back("unload")
    assert r.fan_writes(since) == [(0x70, b"\x66\x02\x00", 0), (0x45, b"\x01\x02", 0xFF)]
    # The BMC still runs Zephyr's Full mode: the hand-back is still owed.
    assert r.sim.control.state()["fans"]["mode_name"] == "full"
    assert r.controller.holding is True
    assert r.controller.hand_back("unload") is True
    assert r.sim.control.state()["fans"]["mode_name"] == "optimal"
    assert (r.controller.holding, r.controller.read_state().mode) == (False, FanMode.OPTIMAL)


def test_refused_raw_command_bytes_stay_out_of_the_log(rig: RigFactory, caplog: pytest.LogCaptureFixture) -> None:
    r = rig("supermicro-x11")
    password = b"Hijacked-Pw-1234"
    with pytest.raises(IpmiWriteRefusedError):
        r.controller.raw_command(0x06, 0x47, b"\x02\x02" + password, actor="user-1")
    assert "raw" in caplog.text  # the refusal is logged...
    assert password.hex(" ") not in caplog.text  # ...without the password it carried
    assert password.hex() not in caplog.text


def test_x14_selecting_a_bmc_mode_turns_the_bypass_off(rig: RigFactory) -> None:
    r = rig("supermicro-x14")
    r.controller.set_zone_duty("cpu", 30)
    assert r.sim.control.state()["fans"]["bypass"] is True
    since = r.seq()
    state = r.controller.set_fan_mode(FanMode.STANDARD)
    # Like a hand-back: the BMC drives the fans again only with the bypass off.
    assert r.fan_writes(since) == [(0x70, b"\x66\x02\x00", 0), (0x45, b"\x01\x00", 0)]
    assert r.sim.control.state()["fans"]["bypass"] is False
    assert (state.mode, r.controller.holding) == (FanMode.STANDARD, False)
    # Without a hold of Zephyr's (no bypass of its own on), a mode is only the mode write.
    since = r.seq()
    r.controller.set_fan_mode(FanMode.OPTIMAL)
    assert r.fan_writes(since) == [(0x45, b"\x01\x02", 0)]


def test_x9_raw_duty_byte_just_under_the_floor_is_refused(rig: RigFactory) -> None:
    r = rig("supermicro-x9")
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:  # 0x3F = 63/255 = 24.7 %, under X9's 25 % floor
        r.controller.raw_command(0x30, 0x91, b"\x5a\x03\x10\x3f")
    assert err.value.reason == "duty_below_floor"
    assert r.fan_writes(since) == []
    r.controller.raw_command(0x30, 0x91, b"\x5a\x03\x10\x40")  # 64/255 = 25.1 %
    assert r.fan_writes(since) == [(0x91, b"\x5a\x03\x10\x40", 0)]
