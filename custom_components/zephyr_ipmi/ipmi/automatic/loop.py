"""The control loop: read a few sensors, :func:`decide`, and send the decision through the write gate.

Blocking (pyghmi); the Home Assistant side runs :meth:`ControlLoop.tick` in an executor thread every
control interval. Safety: any failure to write hands the fans back at once; a hand-back that could not
be sent (BMC silent) is retried first thing every tick until it goes through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from ..errors import IpmiError
from .engine import Action, Decision, EngineState, Reason, TickInputs, decide
from .pulsing import PulsingDetector
from .settings import AutomaticSettings

_LOGGER = logging.getLogger(__name__)

#: Actor recorded in the audit trail for the loop's writes.
ACTOR = "zephyr"


class FanActuator(Protocol):
    """What the loop needs from the control layer (``ipmi.control.FanController`` has it)."""

    def set_zone_duty(self, zone_key: str, percent: int, *, actor: str | None = None) -> object:
        """Put ``zone_key`` at ``percent`` % through the write gate (raises ``IpmiError``)."""

    def hand_back(self, reason: str, *, actor: str = ACTOR) -> bool:
        """Restore the fan mode the BMC had before Zephyr's first write (raises ``IpmiError``)."""


type Reader = Callable[[AutomaticSettings, EngineState], TickInputs]
"""Read a tick's inputs: ``reader(settings, state)``; raises ``IpmiError`` when the BMC is silent."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TickReport:
    """One tick: the decision, the requests it cost (when the reader counts them) and its duration (s)."""

    decision: Decision
    handed_back: bool = False
    error: str | None = None


class ControlLoop:
    """Automatic fan control of one BMC.

    ``actuator`` sends writes (through the gate), ``reader`` reads the inputs, ``clock`` gives the time
    in s (monotonic; injected so simulations run on simulated time).
    """

    def __init__(
        self,
        settings: AutomaticSettings,
        actuator: FanActuator,
        reader: Reader,
        *,
        clock: Callable[[], float] = time.monotonic,
        detector: PulsingDetector | None = None,
    ) -> None:
        """Start idle: nothing is written before the first good read."""
        self.settings = settings
        self.actuator = actuator
        self.reader = reader
        self.clock = clock
        self.state = EngineState()
        self.detector = detector or PulsingDetector()
        self.pending_hand_back: str | None = None
        self.last: Decision | None = None
        self.pulsing: frozenset[str] = frozenset()
        self.ticks = 0

    @property
    def holding(self) -> bool:
        """True while Zephyr drives the fans."""
        return self.state.holding

    def update_settings(self, settings: AutomaticSettings) -> None:
        """Use new settings from the next tick on; learned per-fan duties are forgotten, the hold is kept."""
        self.settings = settings
        self.state = replace(self.state, min_duty={}, max_duty={})

    def resync(self) -> None:
        """Send every held duty again at the next tick (after something else wrote the fan zones)."""
        if self.state.holding:
            self.state = replace(self.state, holding=False, zones={}, reason=Reason.REVERTED)

    def handed_back_elsewhere(self) -> None:
        """Note that the fans were handed back without the loop (the hysteresis clock restarts now)."""
        if self.state.holding:
            self.state = replace(self.state, holding=False, zones={}, changed_at=self.clock(), reason=Reason.EXTERNAL)

    def tick(self) -> TickReport:
        """Run one control tick (blocking): retry a pending hand-back, read, decide, send."""
        self.ticks += 1
        now = self.clock()
        if self.pending_hand_back is not None and not self._hand_back(self.pending_hand_back):
            decision = Decision(action=Action.HAND_BACK, reason=Reason.BMC_SILENT)
            self.last = decision
            return TickReport(decision=decision, error="hand_back_failed")
        try:
            inputs = self.reader(self.settings, self.state)
        except IpmiError as err:
            _LOGGER.debug("Control tick read failed: %s", type(err).__name__)
            inputs = TickInputs(answered=False)
        steady = self.state.holding
        before = {zone: held.duty for zone, held in self.state.zones.items()}
        decision, self.state = decide(self.settings, inputs, self.state, now)
        if inputs.answered:
            unchanged = (
                steady
                and decision.action == Action.HOLD
                and before == {zone: held.duty for zone, held in self.state.zones.items()}
            )
            self.pulsing = self.detector.observe(now, inputs.fans, unchanged)
        self.last = decision
        if decision.action == Action.HAND_BACK:
            handed = self._hand_back(str(decision.reason))
            return TickReport(decision=decision, handed_back=handed, error=None if handed else "hand_back_failed")
        if decision.action == Action.HOLD:
            for zone, duty in decision.writes:
                try:
                    self.actuator.set_zone_duty(zone, duty, actor=ACTOR)
                except IpmiError as err:
                    _LOGGER.warning("Fan zone %s write failed (%s); handing the fans back", zone, type(err).__name__)
                    self.state = replace(
                        self.state, holding=False, zones={}, changed_at=now, reason=Reason.WRITE_FAILED
                    )
                    failed = Decision(action=Action.HAND_BACK, reason=Reason.WRITE_FAILED)
                    self.last = failed
                    handed = self._hand_back(str(Reason.WRITE_FAILED))
                    return TickReport(decision=failed, handed_back=handed, error=type(err).__name__)
        return TickReport(decision=decision)

    def stop(self, reason: str = "stopped") -> bool:
        """Hand the fans back now (switch off, unload); returns True when a hand-back was sent."""
        if not self.state.holding and self.pending_hand_back is None:
            return False
        if self.state.holding:
            self.state = replace(self.state, holding=False, zones={}, changed_at=self.clock())
        return self._hand_back(reason)

    def _hand_back(self, reason: str) -> bool:
        """Send the hand-back; remember it as pending when the BMC did not take it."""
        try:
            self.actuator.hand_back(reason, actor=ACTOR)
        except IpmiError as err:
            _LOGGER.warning("Hand-back to the BMC failed (%s); retrying every tick", type(err).__name__)
            self.pending_hand_back = reason
            return False
        self.pending_hand_back = None
        return True
