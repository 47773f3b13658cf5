"""pytest fixtures: simulators on free 127.0.0.1 ports that are always stopped.

Import them into a ``conftest.py``::

    from bmcsim.pytest_fixture import bmc_sim, bmc_sim_factory  # noqa: F401

``bmc_sim_factory(profile, **kwargs)`` starts a :class:`bmcsim.Simulator` (defaults: ``speed=0`` so time
moves only with ``sim.control.tick``, a fixed ``epoch``, user ``admin``/``admin``) and stops every one it
started at teardown. ``bmc_sim`` is one generic simulator; parametrize it indirectly with a profile name.
When pytest-socket is active (pytest-homeassistant-custom-component), the factory requests
``socket_enabled`` so the test may use the network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .simulator import Simulator

#: Unix time at simulated time 0 for fixture simulators (2023-11-14T22:13:20Z).
FIXED_EPOCH = 1_700_000_000


@pytest.fixture
def bmc_sim_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Simulator]]:
    """Yield a factory starting simulators; every simulator it started is stopped after the test."""
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")
    started: list[Simulator] = []

    def factory(profile: str = "generic", **kwargs: Any) -> Simulator:
        kwargs.setdefault("speed", 0.0)
        kwargs.setdefault("epoch", FIXED_EPOCH)
        kwargs.setdefault("users", {"admin": "admin"})
        sim = Simulator(profile, port=kwargs.pop("port", 0), **kwargs)
        started.append(sim)
        return sim.start()

    try:
        yield factory
    finally:
        for sim in reversed(started):
            sim.stop()


@pytest.fixture
def bmc_sim(bmc_sim_factory: Callable[..., Simulator], request: pytest.FixtureRequest) -> Simulator:
    """One started simulator; the profile is ``request.param`` when parametrized indirectly, else generic."""
    return bmc_sim_factory(getattr(request, "param", "generic"))
