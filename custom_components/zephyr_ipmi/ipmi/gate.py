"""The write gate: the only code that sends a request changing a BMC's hardware, and its audit trail.

Every write (a ``WriteRequest`` built by a vendor command set or by ``ipmi.control``) passes
``WriteGate.send``: it is validated (never 0 % duty, never below the vendor's floor), refused unless the
BMC's identity is confirmed on the current session, dropped when a read shows it would change nothing,
read back after sending where the BMC allows, and recorded as an ``AuditRecord`` whatever the outcome.
Requests go through ``BmcClient.request``, which is serialised with polls per request.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .errors import (
    IpmiCompletionCodeError,
    IpmiConnectionError,
    IpmiWriteRefusedError,
    IpmiWrongBmcError,
)
from .vendors.base import ABSOLUTE_FLOOR, WARN_BELOW, ReadRequest, VendorCommandSet, WriteKind, WriteRequest

_LOGGER = logging.getLogger(__name__)

#: Audit records kept in memory per BMC (newest last).
AUDIT_SIZE = 200


class Transport(Protocol):
    """What the gate needs of ``BmcClient``: one raw request, and whether the identity is confirmed."""

    @property
    def identity_confirmed(self) -> bool:
        """True while the BMC's identity is confirmed on the current session."""

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send one request; see ``BmcClient.request``."""


class AuditResult(StrEnum):
    """Outcome of one write: sent and accepted, refused by the gate, dropped as a no-op, or failed at the BMC."""

    OK = "ok"
    REFUSED = "refused"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One write as the gate saw it.

    ``time``: epoch s. ``actor``: HA user id, "automation:<id>", "zephyr" (hand-back) or None.
    ``command``: the write's name ("set_zone_duty", ...). ``netfn``/``cmd``/``data``: the bytes (to be) sent.
    ``completion_code``: what the BMC answered (None when nothing was sent or no answer came).
    ``result``: "ok", "refused" (by the gate, nothing sent), "unchanged" (dropped: the BMC already had it)
    or "error" (a completion code or no answer). ``detail``: the refusal reason key, the value read back, ...
    ``subject`` (the zone's or sensor's name), ``duty`` (%), ``mode`` (a ``FanMode`` value) and ``enabled``:
    what the write sets, where it says (for a readable logbook line); None otherwise.
    """

    time: float
    actor: str | None
    command: str
    netfn: int
    cmd: int
    data: bytes
    completion_code: int | None
    result: str
    detail: str | None = None
    subject: str | None = None
    duty: int | None = None
    mode: str | None = None
    enabled: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form; ``data`` as a hex string; ``subject``, ``duty``, ``mode``, ``enabled`` only when set."""
        settings = {"subject": self.subject, "duty": self.duty, "mode": self.mode, "enabled": self.enabled}
        return {
            "time": self.time,
            "actor": self.actor,
            "command": self.command,
            "netfn": self.netfn,
            "cmd": self.cmd,
            "data": self.data.hex(),
            "completion_code": self.completion_code,
            "result": self.result,
            "detail": self.detail,
        } | {key: value for key, value in settings.items() if value is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AuditRecord:
        """Inverse of ``as_dict``. Raises ``KeyError``/``ValueError``/``TypeError`` for a malformed dict."""
        code = raw.get("completion_code")
        return cls(
            time=float(raw["time"]),
            actor=None if raw.get("actor") is None else str(raw["actor"]),
            command=str(raw["command"]),
            netfn=int(raw["netfn"]),
            cmd=int(raw["cmd"]),
            data=bytes.fromhex(str(raw["data"])),
            completion_code=None if code is None else int(code),
            result=str(raw["result"]),
            detail=None if raw.get("detail") is None else str(raw["detail"]),
            subject=None if raw.get("subject") is None else str(raw["subject"]),
            duty=None if raw.get("duty") is None else int(raw["duty"]),
            mode=None if raw.get("mode") is None else str(raw["mode"]),
            enabled=None if raw.get("enabled") is None else bool(raw["enabled"]),
        )


def _show(value: object) -> str:
    """Short text of a decoded value for an audit detail."""
    if isinstance(value, dict):
        return ",".join(f"{key}={val}" for key, val in sorted(value.items()))
    return str(value)


def actor_label(actor: str | None) -> str:
    """Return who wrote, as logged: "zephyr", "system", "automation:<id>", "script:<id>", "user" or "-".

    A Home Assistant user id identifies a person: the debug log (pasted into public issues) never carries it.
    """
    if actor is None:
        return "-"
    if actor in ("zephyr", "system") or ":" in actor:
        return actor
    return "user"


def _matches(current: object, target: object) -> bool:
    """Tell whether ``current`` (decoded read) already holds ``target``; dicts compare on ``target``'s keys."""
    if isinstance(target, dict) and isinstance(current, dict):
        return all(current.get(key) == val for key, val in target.items())
    return current == target


class WriteGate:
    """Validates, sends, reads back and audits every hardware write to one BMC.

    ``client``: the ``BmcClient`` (or anything with ``request`` and ``identity_confirmed``). ``commands``:
    the BMC's vendor command set (its capabilities give the duty floor and decode read-backs).
    ``on_audit`` is called with each ``AuditRecord`` (in the calling thread); ``clock`` gives epoch s.
    """

    def __init__(
        self,
        client: Transport,
        commands: VendorCommandSet,
        *,
        on_audit: Callable[[AuditRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
        audit_size: int = AUDIT_SIZE,
    ) -> None:
        """Bind to one BMC; nothing is sent yet."""
        self._client = client
        self.commands = commands
        self._on_audit = on_audit
        self._clock = clock
        self._audit: deque[AuditRecord] = deque(maxlen=audit_size)
        self._warned_low = False

    @property
    def audit(self) -> list[AuditRecord]:
        """The last ``audit_size`` records, newest last."""
        return list(self._audit)

    @property
    def duty_floor(self) -> int:
        """Lowest duty accepted (%): the vendor's floor, never below ``ABSOLUTE_FLOOR`` (10 %)."""
        return max(ABSOLUTE_FLOOR, self.commands.capabilities.duty_floor)

    def read(self, read: ReadRequest) -> object | None:
        """Send a read-only request and decode it; None when the BMC answers a completion code.

        Raises ``IpmiConnectionError`` (and ``IpmiWrongBmcError``) when the BMC does not answer.
        """
        try:
            data = self._client.request(read.netfn, read.command, read.data, lun=read.lun)
        except IpmiCompletionCodeError:
            return None
        return self.commands.decode(read, data)

    def refuse(self, command: str, actor: str | None, reason: str, *, request: WriteRequest | None = None) -> None:
        """Audit a write refused before it could be built or sent (``reason``: translation key).

        Without ``request`` (nothing was built) the record carries netfn 0, command 0 and no data, and the log
        line names no command bytes.
        """
        built = request is not None
        if request is None:
            request = WriteRequest(name=command, netfn=0, command=0, data=b"", kind=WriteKind.RAW)
        self._record(request, actor, None, AuditResult.REFUSED, reason, built=built)

    def check(self, request: WriteRequest, *, actor: str | None) -> None:
        """Validate ``request`` as ``send`` would (duty rules) without sending; a refusal is audited and raised."""
        try:
            self._validate(request)
        except IpmiWriteRefusedError as err:
            self._record(request, actor, None, AuditResult.REFUSED, err.reason)
            raise

    def send(self, request: WriteRequest, *, actor: str | None, force: bool = False, note: str | None = None) -> bytes:
        """Validate, send and audit one write; return the BMC's answer (b"" when dropped as unchanged).

        ``force`` sends even when a read shows the BMC already has the value (a hand-back resends the mode,
        which also clears manual duties); ``note`` (e.g. "hand_back:unload") heads the audit detail.
        Raises ``IpmiWriteRefusedError`` (duty 0 %, below the floor, above 100 %, identity unconfirmed;
        nothing sent), ``IpmiCompletionCodeError`` (the BMC refused; ``.code``) and ``IpmiConnectionError``
        (no answer). Each outcome is audited.
        """

        def record(code: int | None, result: AuditResult, detail: str | None) -> None:
            text = ":".join(part for part in (note, detail) if part) or None
            self._record(request, actor, code, result, text)

        try:
            self._validate(request)
            self._confirm_identity()
        except IpmiWriteRefusedError as err:
            record(None, AuditResult.REFUSED, err.reason)
            raise
        except IpmiConnectionError:
            record(None, AuditResult.ERROR, "no_answer")
            raise
        target = request.target
        if not force and request.readback is not None and target is not None:
            try:
                current = self.read(request.readback)
            except IpmiConnectionError:
                record(None, AuditResult.ERROR, "no_answer")
                raise
            if current is not None and _matches(current, target):
                record(None, AuditResult.UNCHANGED, _show(current))
                return b""
        try:
            answer = self._client.request(request.netfn, request.command, request.data, lun=request.lun)
        except IpmiCompletionCodeError as err:
            record(err.code, AuditResult.ERROR, None)
            raise
        except IpmiConnectionError:
            record(None, AuditResult.ERROR, "no_answer")
            raise
        record(0, AuditResult.OK, self._read_back(request))
        return answer

    # -- helpers ----------------------------------------------------------------------------------------

    def _validate(self, request: WriteRequest) -> None:
        """Duty rules (IPMI writes of a duty cycle): never 0 %, never below the floor, never above 100 %."""
        if request.kind is not WriteKind.ZONE_DUTY and request.duty is None:
            return
        duty = request.duty
        if duty is None or duty > 100:
            raise IpmiWriteRefusedError("duty_out_of_range", duty=str(duty))
        if duty <= 0 or not request.data or request.data[-1] == 0:
            raise IpmiWriteRefusedError("duty_zero")
        floor = self.duty_floor
        if duty < floor:
            raise IpmiWriteRefusedError("duty_below_floor", duty=str(duty), floor=str(floor))
        if duty < WARN_BELOW and not self._warned_low:
            self._warned_low = True
            _LOGGER.warning(
                "Fan duty %s %% is below %s %% (floor %s %%): watch the fan speeds and thresholds",
                duty,
                WARN_BELOW,
                floor,
            )

    def _confirm_identity(self) -> None:
        """Refuse unless the BMC's identity is confirmed on the current session.

        After a lost session, one Get Device ID lets the client log in again and check the identity (a BMC
        without a GUID stays unconfirmed: ``BmcClient`` cannot tell it from another one).
        """
        if self._client.identity_confirmed:
            return
        try:
            self._client.request(0x06, 0x01)
        except IpmiWrongBmcError:
            raise IpmiWriteRefusedError("identity_unconfirmed") from None
        if not self._client.identity_confirmed:
            raise IpmiWriteRefusedError("identity_unconfirmed")

    def _read_back(self, request: WriteRequest) -> str | None:
        """Read the written value back where the BMC allows; the audit detail says what it holds."""
        if request.readback is None:
            return None
        try:
            value = self.read(request.readback)
        except IpmiConnectionError:
            return None
        if value is None:
            return None
        return f"read back {_show(value)}"

    def _record(
        self,
        request: WriteRequest,
        actor: str | None,
        code: int | None,
        result: AuditResult,
        detail: str | None,
        *,
        built: bool = True,
    ) -> None:
        record = AuditRecord(
            time=self._clock(),
            actor=actor,
            command=request.name,
            netfn=request.netfn,
            cmd=request.command,
            data=request.data,
            completion_code=code,
            result=result.value,
            detail=detail,
            subject=request.subject,
            duty=request.duty,
            mode=None if request.mode is None else request.mode.value,
            enabled=request.enabled,
        )
        self._audit.append(record)
        log = _LOGGER.warning if result in (AuditResult.REFUSED, AuditResult.ERROR) else _LOGGER.debug
        # A raw command refused by the deny-list may carry a password (Set User Password): never logged.
        withheld = request.kind is WriteKind.RAW and result is AuditResult.REFUSED
        if not built:
            log(
                "%s %s (not sent): %s%s",
                actor_label(actor),
                request.name,
                result.value,
                f" ({detail})" if detail else "",
            )
        else:
            log(
                "%s %s (netfn 0x%02X cmd 0x%02X data %s): %s%s",
                actor_label(actor),
                request.name,
                request.netfn,
                request.command,
                "withheld" if withheld else request.data.hex(" ") or "-",
                result.value,
                f" ({detail})" if detail else "",
            )
        if self._on_audit is not None:
            try:
                self._on_audit(record)
            except Exception:
                _LOGGER.exception("Audit callback failed")
