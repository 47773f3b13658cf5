"""Automatic fan control: curves, the Supermicro quiet rule, hysteresis, per-fan limits and safety hand-backs.

HA-free: ``settings`` validates what the owner sets, ``engine.decide`` is the pure decision core,
``loop.ControlLoop`` reads, decides and writes through the control layer, ``pulsing`` detects pulsing fans
and proposes lower fan thresholds.
"""

from .curve import CurvePoint, FanCurve, make_curve
from .engine import (
    Action,
    ActiveRule,
    Decision,
    EngineState,
    FanInput,
    Reason,
    TemperatureInput,
    TickInputs,
    ZoneStatus,
    decide,
)
from .errors import AutomaticConfigError
from .loop import ControlLoop, FanActuator, TickReport
from .pulsing import (
    PulsingDetector,
    TuningResult,
    propose_fan_thresholds,
    tune_fan_thresholds,
)
from .settings import (
    AutomaticSettings,
    BmcFacts,
    CurveRule,
    FanOverride,
    QuietRule,
    default_handback,
    default_rules,
    make_curve_rule,
    make_fan_override,
    make_quiet_rule,
    make_settings,
    parse_settings,
)

__all__ = [
    "Action",
    "ActiveRule",
    "AutomaticConfigError",
    "AutomaticSettings",
    "BmcFacts",
    "ControlLoop",
    "CurvePoint",
    "CurveRule",
    "Decision",
    "EngineState",
    "FanActuator",
    "FanCurve",
    "FanInput",
    "FanOverride",
    "PulsingDetector",
    "QuietRule",
    "Reason",
    "TemperatureInput",
    "TickInputs",
    "TickReport",
    "TuningResult",
    "ZoneStatus",
    "decide",
    "default_handback",
    "default_rules",
    "make_curve",
    "make_curve_rule",
    "make_fan_override",
    "make_quiet_rule",
    "make_settings",
    "parse_settings",
    "propose_fan_thresholds",
    "tune_fan_thresholds",
]
