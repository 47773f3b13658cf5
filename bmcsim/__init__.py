"""bmcsim: a vendor-faithful BMC simulator speaking RMCP+ (IPMI 2.0 lanplus) on 127.0.0.1.

Quick start::

    from bmcsim import Simulator

    with Simulator("supermicro-x11", port=0, users={"admin": "secret"}, speed=0) as sim:
        sim.control.set_load(80)
        sim.control.tick(30)          # 30 simulated seconds
        print(sim.port, sim.control.sensor("CPU Temp"))

See ``bmcsim/README.md`` for the CLI and the JSON control protocol.
"""

from typing import TYPE_CHECKING, Any

from .profiles import PROFILES, Profile, get_profile
from .simulator import Controller, Faults, RequestRecord, Simulator

if TYPE_CHECKING:
    from .control import ControlClient

__all__ = [
    "PROFILES",
    "ControlClient",
    "Controller",
    "Faults",
    "Profile",
    "RequestRecord",
    "Simulator",
    "get_profile",
]


def __getattr__(name: str) -> Any:
    """Import :class:`bmcsim.control.ControlClient` lazily (keeps ``python -m bmcsim.control`` clean)."""
    if name == "ControlClient":
        from .control import ControlClient  # noqa: PLC0415

        return ControlClient
    raise AttributeError(name)
