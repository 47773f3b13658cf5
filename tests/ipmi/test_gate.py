"""The write gate: identity, audit trail, validation of duty bytes, read-back; against bmcsim over UDP."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest

from custom_components.zephyr_ipmi.ipmi import (
    AuditRecord,
    IpmiConnectionError,
    IpmiWriteRefusedError,
    WriteGate,
    WriteKind,
    WriteRequest,
)

from .control_fixtures import Rig

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

RigFactory = Callable[..., Rig]


def _duty(data: bytes, duty: int | None) -> WriteRequest:
    return WriteRequest(name="set_zone_duty", netfn=0x30, command=0x70, data=data, kind=WriteKind.ZONE_DUTY, duty=duty)


def test_audit_record_round_trip() -> None:
    record = AuditRecord(
        time=1_700_000_000.5,
        actor="automation:quiet",
        command="set_zone_duty",
        netfn=0x30,
        cmd=0x70,
        data=b"\x66\x01\x00\x18",
        completion_code=0,
        result="ok",
        detail="read back 24",
    )
    raw = record.as_dict()
    assert raw["data"] == "66010018"
    assert AuditRecord.from_dict(raw) == record
    bare = AuditRecord.from_dict({**raw, "actor": None, "completion_code": None, "detail": None})
    assert (bare.actor, bare.completion_code, bare.detail) == (None, None, None)
    with pytest.raises(KeyError):
        AuditRecord.from_dict({"time": 1})


def test_write_to_another_bmc_is_refused(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    # The BMC at the address is replaced by another one (another GUID) while the session is down.
    r.sim.guid = uuid.UUID(int=0x1234, version=4)
    r.sim.control.restart_bmc()
    r.client.drop_session()  # the session is lost (a poll would find out the same way)
    since = r.seq()
    with pytest.raises(IpmiWriteRefusedError) as err:
        r.controller.chassis_control("power_on", actor="user-1")
    assert err.value.reason == "identity_unconfirmed"
    assert r.writes(since) == []
    assert (r.audits[-1].command, r.audits[-1].result, r.audits[-1].detail) == (
        "chassis_control",
        "refused",
        "identity_unconfirmed",
    )


def test_write_after_a_bmc_restart_logs_in_again(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.sim.control.restart_bmc()  # the same BMC: the session is gone, its GUID is the same
    r.client.drop_session()
    state = r.controller.set_zone_duty("cpu", 40)
    assert state.zone_duty["cpu"] == 40


def test_gate_validates_duty_bytes_and_bounds_its_audit(rig: RigFactory, caplog: pytest.LogCaptureFixture) -> None:
    r = rig("supermicro-x11")
    calls: list[AuditRecord] = []

    def failing(record: AuditRecord) -> None:
        calls.append(record)
        raise RuntimeError("storage full")

    gate = WriteGate(r.client, r.controller._parts()[1], on_audit=failing, audit_size=3, clock=lambda: 42.0)
    since = r.seq()
    cases = [
        (_duty(b"\x66\x01\x00\x00", 0), "duty_zero"),
        (_duty(b"\x66\x01\x00\x00", 30), "duty_zero"),  # the bytes say 0 % whatever the field says
        (_duty(b"\x66\x01\x00\x1e", None), "duty_out_of_range"),
        (_duty(b"\x66\x01\x00\x0a", 10), "duty_below_floor"),
    ]
    with caplog.at_level(logging.ERROR):
        for request, reason in cases:
            with pytest.raises(IpmiWriteRefusedError) as err:
                gate.send(request, actor=None)
            assert err.value.reason == reason
    assert r.writes(since) == []
    assert len(calls) == 4
    assert [a.detail for a in gate.audit] == ["duty_zero", "duty_out_of_range", "duty_below_floor"]
    assert {a.time for a in gate.audit} == {42.0}
    assert "Audit callback failed" in caplog.text
    gate.send(_duty(b"\x66\x01\x01\x32", 50), actor="t")
    assert gate.audit[-1].result == "ok"
    assert r.writes(since) == [(0x30, 0x70, b"\x66\x01\x01\x32", 0)]


def test_silent_bmc_write_is_an_error_and_a_later_hand_back_restores(rig: RigFactory) -> None:
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("cpu", 30)
    r.sim.control.set_fault(silent=True)
    with pytest.raises(IpmiConnectionError):
        r.controller.set_zone_duty("cpu", 35)
    assert r.controller.holding is True  # the hand-back could not go out either: still due
    assert r.audits[-1].result == "error"
    r.sim.control.set_fault(silent=False)
    since = r.seq()
    assert r.controller.hand_back("reconnected") is True
    assert r.fan_writes(since) == [(0x45, b"\x01\x02", 0)]
    assert r.controller.read_state().mode.value == "optimal"  # type: ignore[union-attr]


def test_a_refusal_before_any_command_was_built_names_no_command_bytes(
    rig: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A duty below the board's floor is refused before a request exists: the log line shows no netfn 0x00 cmd 0x00."""
    r = rig("supermicro-x11")
    since = r.sim.control.last_seq()
    with (
        caplog.at_level(logging.DEBUG, logger="custom_components.zephyr_ipmi.ipmi.gate"),
        pytest.raises(IpmiWriteRefusedError),
    ):
        r.controller.set_zone_duty("cpu", 10, actor="automation:night_fans")
    assert r.fan_writes(since) == []
    refused = [line for line in caplog.text.splitlines() if "set_zone_duty" in line]
    assert len(refused) == 1, caplog.text
    assert "automation:night_fans set_zone_duty (not sent): refused (" in refused[0]
    assert "netfn" not in refused[0]


def test_log_names_no_home_assistant_user(rig: RigFactory, caplog: pytest.LogCaptureFixture) -> None:
    r = rig("supermicro-x11")
    user_id = "9f3c2b1a7d6e4f5a8b9c0d1e2f3a4b5c"
    with caplog.at_level(logging.DEBUG, logger="custom_components.zephyr_ipmi.ipmi.gate"):
        r.controller.set_zone_duty("cpu", 40, actor=user_id)
        r.controller.identify(5, actor="automation:night_fans")
        r.controller.hand_back("unload")
    assert user_id not in caplog.text
    assert "user set_zone_duty (netfn 0x30 cmd 0x70 data 66 01 00 28): ok" in caplog.text
    assert "automation:night_fans identify (netfn 0x00 cmd 0x04 data 05): ok" in caplog.text
    assert "zephyr set_fan_mode" in caplog.text
    # The audit trail itself keeps the id (diagnostics redact it).
    assert user_id in [a.actor for a in r.audits]


def test_audit_records_say_what_a_write_sets(rig: RigFactory) -> None:
    """The zone's name, duty and mode go with the bytes (the logbook's sentence), and survive storage."""
    r = rig("supermicro-x11")
    r.controller.set_zone_duty("peripheral", 55, actor="automation:quiet")
    mode, duty = r.audits[-2:]
    assert (mode.command, mode.mode, mode.subject, mode.duty) == ("set_fan_mode", "full", None, None)
    assert (duty.command, duty.subject, duty.duty, duty.data) == (
        "set_zone_duty",
        "Peripheral zone",
        55,
        b"\x66\x01\x01\x37",
    )
    stored = duty.as_dict()
    assert (stored["subject"], stored["duty"], "mode" in stored, "enabled" in stored) == (
        "Peripheral zone",
        55,
        False,
        False,
    )
    assert AuditRecord.from_dict(stored) == duty
    assert AuditRecord.from_dict(mode.as_dict()) == mode
