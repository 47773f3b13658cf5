"""FanController against bmcsim over UDP: exact bytes on the wire, read-back, rpm, hand-back, refusals.

Expected bytes are written literally; the simulator's request log shows what went on the wire.
"""

from __future__ import annotations

import logging
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


# -- Supermicro X11 --------------------------------------------------------------------------------------


def test_x11_zone_duty_sets_full_first_reads_back_and_moves_the_fans(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    state = r.controller.set_zone_duty("cpu", 30, actor="user-1")
    assert r.fan_writes(since) == [
        (0x45, b"\x01\x01", 0),  # Full mode first
        (0x70, b"\x66\x01\x00\x1e", 0),  # zone 0 at 30 %: six bytes in all
    ]
    assert state.mode is FanMode.FULL
    assert state.zone_duty == {"cpu": 30, "peripheral": 100}
    assert state.manual is True
    r.sim.control.tick(30)
    assert r.rpm("FAN1") == 2100  # 30 % of 7000 rpm
    assert r.rpm("FANA") == 7000  # the peripheral zone stays at Full's 100 %
    assert r.controller.holding is True
    assert r.controller.baseline is FanMode.OPTIMAL
    assert [(a.command, a.result, a.actor) for a in r.audits] == [
        ("set_fan_mode", "ok", "user-1"),
        ("set_zone_duty", "ok", "user-1"),
    ]
    assert r.audits[1].detail == "read back 30"


def test_x11_write_that_changes_nothing_is_dropped(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("cpu", 40)
    since = r.seq()
    state = r.controller.set_zone_duty("cpu", 40)
    assert r.fan_writes(since) == []
    assert state.zone_duty["cpu"] == 40
    assert [(a.command, a.result) for a in r.audits[-2:]] == [
        ("set_fan_mode", "unchanged"),
        ("set_zone_duty", "unchanged"),
    ]


def test_x11_hand_back_restores_the_baseline_mode(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("peripheral", 50)
    since = r.seq()
    assert r.controller.hand_back("unload") is True
    assert r.fan_writes(since) == [(0x45, b"\x01\x02", 0)]  # back to Optimal, found before the first write
    state = r.controller.read_state()
    assert state.mode is FanMode.OPTIMAL
    assert state.manual is False
    assert r.controller.holding is False
    assert r.controller.persisted()["holding"] is False
    assert r.audits[-1].actor == "zephyr"
    assert r.audits[-1].detail == "hand_back:unload:read back optimal"
    r.sim.control.tick(30)
    assert r.rpm("FANA") < 7000  # the BMC's own curve again
    since = r.seq()
    assert r.controller.hand_back("unload") is False
    assert r.fan_writes(since) == []


def test_x11_hand_back_resends_a_baseline_of_full(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_fan_mode(FanMode.FULL)  # the BMC runs Full before Zephyr takes a zone
    r.controller.hand_back("test")
    r.controller.set_fan_mode(FanMode.FULL)
    r.controller._release()  # the owner had Full: nothing of Zephyr's to hand back
    r.controller.set_zone_duty("cpu", 35)
    assert r.controller.baseline is FanMode.FULL
    since = r.seq()
    r.controller.hand_back("test")
    # Full again, sent although the BMC already reports Full: it clears the manual duty.
    assert r.fan_writes(since) == [(0x45, b"\x01\x01", 0)]
    assert r.controller.read_state().zone_duty == {"cpu": 100, "peripheral": 100}


def test_selecting_full_clears_zephyrs_zone_duties(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("cpu", 30)
    since = r.seq()
    state = r.controller.set_fan_mode(FanMode.FULL)
    assert r.fan_writes(since) == [(0x45, b"\x01\x01", 0)]  # sent although the BMC is in Full already
    assert state.zone_duty == {"cpu": 100, "peripheral": 100}
    since = r.seq()
    r.controller.set_fan_mode(FanMode.FULL)
    assert r.fan_writes(since) == []  # nothing of Zephyr's left to clear: dropped


def test_fan_mode_select(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    state = r.controller.set_fan_mode(FanMode.HEAVY_IO, actor="user-1")
    assert r.fan_writes(since) == [(0x45, b"\x01\x04", 0)]
    assert state.mode is FanMode.HEAVY_IO
    assert r.controller.holding is False  # the BMC drives the fans in Heavy IO
    r.controller.set_fan_mode(FanMode.FULL)
    assert r.controller.holding is True
    assert r.controller.baseline is FanMode.HEAVY_IO
    r.controller.set_fan_mode(FanMode.STANDARD)
    assert r.controller.holding is False
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_fan_mode(FanMode.MANUAL)
    assert err.value.reason == "unknown_mode"


@pytest.mark.parametrize(
    ("percent", "reason"),
    [(0, "duty_zero"), (-5, "duty_out_of_range"), (101, "duty_out_of_range"), (19, "duty_below_floor")],
)
def test_duty_refused_sends_nothing(rig: RigFactory, percent: int, reason: str) -> None:
    r = rig("supermicro-x11")
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_zone_duty("cpu", percent, actor="user-1")
    assert err.value.reason == reason
    assert r.fan_writes(since) == []
    assert r.controller.holding is False
    assert (r.audits[-1].result, r.audits[-1].detail) == ("refused", reason)


def test_low_duty_accepted_with_one_warning(rig: RigFactory, caplog: pytest.LogCaptureFixture) -> None:
    r = rig("supermicro-x11")
    with caplog.at_level(logging.WARNING):
        r.controller.set_zone_duty("cpu", 20)
        r.controller.set_zone_duty("cpu", 25)
        r.controller.set_zone_duty("peripheral", 29)
    assert len([rec for rec in caplog.records if "below 30 %" in rec.getMessage()]) == 1
    assert r.controller.read_state().zone_duty == {"cpu": 25, "peripheral": 29}


def test_unknown_zone_refused(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_zone_duty("zone_3", 50)
    assert err.value.reason == "unknown_zone"


def test_state_persisted_before_the_first_write_and_restored_after_a_crash(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    states: list[dict[str, object]] = []
    seen_at_write: list[bool] = []
    controller = r.new_controller(
        on_state=states.append, on_audit=lambda _rec: seen_at_write.append(bool(states) and states[-1]["holding"])
    )
    controller.set_zone_duty("cpu", 30)
    assert seen_at_write[0] is True  # saved as holding before the first write went out
    saved = controller.persisted()
    assert states[-1] == saved
    assert saved == {"version": 1, "holding": True, "baseline": "optimal", "locked": None, "locked_code": None}
    # Home Assistant was killed: a new client and controller start from the saved state.
    again = r.new_controller(state=saved)
    again.probe()
    assert again.holding is True
    since = r.seq()
    assert again.hand_back("restart") is True
    assert r.fan_writes(since) == [(0x45, b"\x01\x02", 0)]
    assert again.read_state().mode is FanMode.OPTIMAL


def test_malformed_saved_state_is_ignored(rig: RigFactory) -> None:
    r = rig("supermicro-x11", state={"version": 99, "holding": True})
    assert r.controller.holding is False
    again = r.new_controller(state={"version": 1, "holding": True, "baseline": "bogus", "locked": 5})
    assert again.holding is True
    assert again.baseline is None
    assert again.probe().fan_control is True
    since = r.seq()
    again.hand_back("restart")
    assert r.fan_writes(since) == [(0x45, b"\x01\x00", 0)]  # no baseline: Standard, the safe automatic mode


def test_bmc_reverting_is_detected_and_lost_after_more_than_three(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.sim.control.set_policy(revert_after=10, revert_mode=0)  # back to Standard 10 s after a mode write
    r.controller.set_zone_duty("cpu", 30)
    assert r.controller.check_reverted(r.controller.read_state()) is False
    for attempt in range(1, 5):
        r.sim.control.tick(11)
        state = r.controller.read_state()
        assert state.mode is FanMode.STANDARD
        assert r.controller.check_reverted(state) is True
        assert r.controller.lost is (attempt > 3)
        if not r.controller.lost:
            r.controller.set_zone_duty("cpu", 30)  # Zephyr puts it back (Full, then the duty)
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_zone_duty("cpu", 30)
    assert err.value.reason == "fan_control_lost"
    with pytest.raises(IpmiWriteRefusedError):
        r.controller.set_fan_mode(FanMode.FULL)
    assert r.fan_writes(since) == []
    assert r.controller.hand_back("lost") is True
    assert r.controller.read_state().mode is FanMode.OPTIMAL
    r.controller.reset_fan_control()
    assert r.controller.lost is False
    assert r.controller.set_zone_duty("cpu", 30).zone_duty["cpu"] == 30


def test_reverted_duty_is_detected(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.sim.control.set_policy(revert_after=5)  # back to Full, manual duties dropped
    r.controller.set_zone_duty("cpu", 30)
    r.sim.control.tick(6)
    state = r.controller.read_state()
    assert (state.mode, state.zone_duty["cpu"]) == (FanMode.FULL, 100)
    assert r.controller.check_reverted(state) is True
    r.controller.set_zone_duty("cpu", 30)
    assert r.controller.check_reverted(r.controller.read_state()) is False
    assert r.controller.check_reverted(r.controller.read_state()) is False
    r.controller.hand_back("test")
    assert r.controller.check_reverted(r.controller.read_state()) is False  # nothing held, nothing to revert


def test_first_fan_write_refused_locks_fan_control(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.sim.control.set_completion_code(0x30, 0x70, 0xC1, data_prefix=b"\x66\x01")
    since = r.seq()
    with pytest.raises(IpmiFanControlLockedError) as err:
        r.controller.set_zone_duty("cpu", 30)
    assert err.value.code == 0xC1
    # Full went out, the duty was refused, and the fans were handed back to Optimal.
    assert r.fan_writes(since) == [
        (0x45, b"\x01\x01", 0),
        (0x70, b"\x66\x01\x00\x1e", 0xC1),
        (0x45, b"\x01\x02", 0),
    ]
    assert r.controller.read_state().mode is None  # fan control unavailable: nothing read
    caps = r.controller.capabilities
    assert (caps.fan_control, caps.fan_control_reason) == (False, "firmware_refuses_raw_fan_commands")
    assert r.controller.holding is False
    assert r.controller.persisted()["locked"] == "firmware_refuses_raw_fan_commands"
    assert r.controller.locked_code == 0xC1
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as refused:
        r.controller.set_zone_duty("cpu", 30)
    assert refused.value.reason == "firmware_refuses_raw_fan_commands"
    assert r.fan_writes(since) == []  # not retried
    # After a restart the lock is remembered; the owner can ask for a retry.
    again = r.new_controller(state=r.controller.persisted())
    assert again.probe().fan_control is False
    r.sim.control.clear_completion_codes()
    again.reset_fan_control()
    assert again.probe().fan_control is True
    assert again.set_zone_duty("cpu", 30).zone_duty["cpu"] == 30


def test_later_refusal_hands_back_without_locking(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("cpu", 30)
    r.sim.control.set_completion_code(0x30, 0x70, 0xCC, data_prefix=b"\x66\x01", count=1)
    with pytest.raises(IpmiCompletionCodeError) as err:
        r.controller.set_zone_duty("cpu", 35)
    assert err.value.code == 0xCC
    assert r.controller.capabilities.fan_control is True
    assert r.controller.holding is False
    assert r.controller.read_state().mode is FanMode.OPTIMAL


# -- Dell --------------------------------------------------------------------------------------------------


def test_dell_all_fans_manual_first_and_rpm(rig: RigFactory) -> None:
    r = rig("dell-idrac8")
    since = r.seq()
    state = r.controller.set_zone_duty("all", 30, actor="automation:quiet")
    assert r.fan_writes(since) == [(0x30, b"\x01\x00", 0), (0x30, b"\x02\xff\x1e", 0)]
    assert state.mode is FanMode.MANUAL
    assert state.zone_duty["all"] is None  # iDRAC has no read back of the duty
    r.sim.control.tick(30)
    assert r.rpm("Fan1") == 4200  # 30 % of 14000 rpm
    assert r.controller.baseline is None  # no mode read on iDRAC: hand back to automatic
    since = r.seq()
    r.controller.set_zone_duty("fan_3", 50)
    assert r.fan_writes(since) == [(0x30, b"\x01\x00", 0), (0x30, b"\x02\x02\x32", 0)]
    r.sim.control.tick(30)
    assert r.rpm("Fan3") == 6960  # 50 % of 14000 rpm, in the sensor's 120 rpm steps
    assert r.rpm("Fan1") == 4200  # the others keep the all-fans duty
    since = r.seq()
    assert r.controller.hand_back("stop") is True
    assert r.fan_writes(since) == [(0x30, b"\x01\x01", 0)]
    assert r.controller.read_state().mode is FanMode.AUTOMATIC
    r.sim.control.tick(30)
    assert r.rpm("Fan1") != 4200


def test_dell_fan_mode_and_floor(rig: RigFactory) -> None:
    r = rig("dell-idrac8")
    assert r.controller.capabilities.duty_floor == 15
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_zone_duty("all", 14)
    assert err.value.reason == "duty_below_floor"
    since = r.seq()
    r.controller.set_fan_mode(FanMode.MANUAL)
    r.controller.set_fan_mode(FanMode.AUTOMATIC)
    assert r.fan_writes(since) == [(0x30, b"\x01\x00", 0), (0x30, b"\x01\x01", 0)]
    assert r.controller.holding is False


def test_dell_pcie_cooling_response(rig: RigFactory) -> None:
    r = rig("dell-idrac8")
    assert r.controller.capabilities.pcie_cooling is True
    assert r.controller.read_state().pcie_cooling is True
    since = r.seq()
    assert r.controller.set_pcie_cooling(False, actor="user-1") is False
    assert r.fan_writes(since) == [
        (0xCE, bytes([0x00, 0x16, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00]), 0),
    ]
    assert r.sim.control.state()["fans"]["pcie_cooling"] is False
    since = r.seq()
    assert r.controller.set_pcie_cooling(False) is False
    assert r.fan_writes(since) == []  # already off: dropped
    assert r.controller.set_pcie_cooling(True) is True
    assert r.sim.control.state()["fans"]["pcie_cooling"] is True


def test_dell_locked_firmware_ends_safe_and_is_not_retried(rig: RigFactory) -> None:
    r = rig("dell-idrac9-locked")
    caps = r.controller.capabilities
    assert (caps.generation, caps.fan_control, caps.pcie_cooling) == ("idrac9", True, False)
    since = r.seq()
    with pytest.raises(IpmiFanControlLockedError) as err:
        r.controller.set_zone_duty("all", 30)
    assert err.value.code == 0xD4
    assert err.value.reason == "firmware_refuses_raw_fan_commands"
    # manual refused; the hand-back to automatic is still tried (best effort); no duty was sent
    assert r.fan_writes(since) == [(0x30, b"\x01\x00", 0xD4), (0x30, b"\x01\x01", 0xD4)]
    caps = r.controller.capabilities
    assert (caps.fan_control, caps.fan_control_reason) == (False, "firmware_refuses_raw_fan_commands")
    assert r.controller.holding is False
    since = r.seq()
    for call in (lambda: r.controller.set_zone_duty("all", 30), lambda: r.controller.set_fan_mode(FanMode.MANUAL)):
        with pytest.raises(IpmiWriteRefusedError) as refused:
            call()
        assert refused.value.reason == "firmware_refuses_raw_fan_commands"
    with pytest.raises(IpmiWriteRefusedError) as pcie:
        r.controller.set_pcie_cooling(False)
    assert pcie.value.reason == "not_supported"
    assert r.fan_writes(since) == []
    assert [a.result for a in r.audits[-3:]] == ["refused"] * 3


# -- other Supermicro generations ------------------------------------------------------------------------


def test_x9_duty_in_0_255_after_full(rig: RigFactory) -> None:
    r = rig("supermicro-x9")
    since = r.seq()
    state = r.controller.set_zone_duty("cpu", 50)
    assert r.fan_writes(since) == [(0x45, b"\x01\x01", 0), (0x91, b"\x5a\x03\x10\x80", 0)]  # 50 % = 0x80 of 0xFF
    assert state.zone_duty == {"cpu": None, "peripheral": None}  # X9 has no read of the duty
    assert state.mode is FanMode.FULL
    r.sim.control.tick(30)
    assert r.rpm("FAN1") == 3000  # 50 % of 6000 rpm
    assert r.rpm("FANA") == 6000
    since = r.seq()
    r.controller.set_zone_duty("peripheral", 100)
    assert r.fan_writes(since) == [(0x91, b"\x5a\x03\x11\xff", 0)]  # Full already: not resent
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.set_zone_duty("cpu", 24)
    assert (err.value.reason, err.value.placeholders["floor"]) == ("duty_below_floor", "25")
    since = r.seq()
    r.controller.hand_back("stop")
    assert r.fan_writes(since) == [(0x45, b"\x01\x00", 0)]  # X9 was in Standard


def test_four_zone_board_reaches_every_zone(rig: RigFactory) -> None:
    r = rig("supermicro-4zone")
    since = r.seq()
    state = r.controller.set_zone_duty("zone_3", 40)
    assert r.fan_writes(since) == [(0x45, b"\x01\x01", 0), (0x70, b"\x66\x01\x03\x28", 0)]
    assert state.zone_duty == {"cpu": 100, "peripheral": 100, "zone_2": 100, "zone_3": 40}
    r.sim.control.tick(30)
    assert (r.rpm("FAN7"), r.rpm("FAN8")) == (3600, 3600)  # 40 % of 9000 rpm
    assert r.rpm("FAN5") == 9000


def test_x13_zone_duty(rig: RigFactory) -> None:
    r = rig("supermicro-x13")
    since = r.seq()
    assert r.controller.set_zone_duty("peripheral", 60).zone_duty["peripheral"] == 60
    assert r.fan_writes(since) == [(0x45, b"\x01\x01", 0), (0x70, b"\x66\x01\x01\x3c", 0)]
    r.sim.control.tick(30)
    assert r.rpm("FANA") == 4200  # 60 % of 7000 rpm


def test_x14_bypass_first_and_off_at_hand_back(rig: RigFactory) -> None:
    r = rig("supermicro-x14")
    since = r.seq()
    state = r.controller.set_zone_duty("cpu", 30)
    assert r.fan_writes(since) == [
        (0x45, b"\x01\x01", 0),
        (0x70, b"\x66\x02\x01", 0),  # bypass on
        (0x70, b"\x66\x01\x00\x1e", 0),
    ]
    assert state.zone_duty["cpu"] == 30
    r.sim.control.tick(30)
    assert r.rpm("FAN1") == 2100
    since = r.seq()
    r.controller.hand_back("unload")
    assert r.fan_writes(since) == [(0x70, b"\x66\x02\x00", 0), (0x45, b"\x01\x02", 0)]
    assert r.sim.control.state()["fans"]["bypass"] is False


def test_x14_lockdown_is_told_and_the_fans_handed_back(rig: RigFactory) -> None:
    r = rig("supermicro-x14")
    r.sim.control.set_fault(lockdown=True)
    since = r.seq()
    with pytest.raises(IpmiFanControlLockedError) as err:
        r.controller.set_zone_duty("cpu", 30)
    assert (err.value.code, err.value.reason) == (0xD4, "x14_lockdown")
    assert r.fan_writes(since) == [
        (0x45, b"\x01\x01", 0),
        (0x70, b"\x66\x02\x01", 0xD4),  # the lockdown refuses the bypass
        (0x70, b"\x66\x02\x00", 0xD4),  # hand-back: bypass off (refused too), then the mode
        (0x45, b"\x01\x02", 0),
    ]
    caps = r.controller.capabilities
    assert (caps.fan_control, caps.fan_control_reason) == (False, "x14_lockdown")
    assert r.controller.holding is False
    assert r.sim.control.state()["fans"]["mode_name"] == "optimal"
