"""Fixtures for the BMC simulator tests: simulators, pyghmi clients and command line clients."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmcsim import Simulator
from bmcsim.pytest_fixture import bmc_sim, bmc_sim_factory

__all__ = ["bmc_sim", "bmc_sim_factory"]

#: Repository root (``python -m bmcsim`` runs from here).
ROOT = Path(__file__).resolve().parents[2]

#: Wall-clock limit for one command line client run (s).
CLI_TIMEOUT = 20


@pytest.fixture(scope="session", autouse=True)
def _pyghmi_io_thread() -> None:
    """Start pyghmi's process-wide I/O thread once, before any per-test thread snapshot.

    pyghmi creates it lazily with its first socket; a test that did so would be blamed for a leftover
    thread by the Home Assistant plugin's cleanup check.
    """
    import pytest_socket
    from pyghmi.ipmi.private import session as pyghmi_session

    if pyghmi_session.iothread is not None:
        return
    pytest_socket.enable_socket()
    try:
        pyghmi_session.Session._assignsocket()
    finally:
        pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def pyghmi_cmd() -> Iterator[Callable[..., Any]]:
    """Factory for logged-in ``pyghmi.ipmi.command.Command`` objects; each is logged out afterwards.

    Credentials are passed as bytes (docs/ipmi-notes.md §3 (a)).
    """
    from pyghmi.ipmi import command

    made: list[Any] = []

    def factory(sim: Simulator, user: str = "admin", password: str = "admin") -> Any:  # noqa: S107
        cmd = command.Command("127.0.0.1", user.encode(), password.encode(), port=sim.port, keepalive=False)
        made.append(cmd)
        return cmd

    yield factory
    for cmd in reversed(made):
        with contextlib.suppress(Exception):  # the BMC may be gone on purpose
            cmd.ipmi_session.logout()


def ipmitool(
    sim: Simulator,
    *args: str,
    user: str = "admin",
    password: str = "admin",  # noqa: S107 - simulator test credentials
    check: bool = True,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``ipmitool -I lanplus -C 3`` against ``sim``."""
    cmd = [
        "ipmitool",
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        "127.0.0.1",
        "-p",
        str(sim.port),
        "-U",
        user,
        "-P",
        password,
        *extra,
        *args,
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, errors="backslashreplace", timeout=CLI_TIMEOUT, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {result.stderr}")
    return result


def freeipmi(
    tool: str,
    sim: Simulator,
    cache: Path,
    *args: str,
    user: str = "admin",
    password: str = "admin",  # noqa: S107 - simulator test credentials
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a FreeIPMI tool (``ipmi-sensors``, ``ipmi-sel``) over LAN_2_0 with ``-W opensesspriv``."""
    cmd = [
        tool,
        "-h",
        f"127.0.0.1:{sim.port}",
        "-u",
        user,
        "-p",
        password,
        "-D",
        "LAN_2_0",
        "-W",
        "opensesspriv",
        f"--sdr-cache-directory={cache}",
        *args,
    ]
    env = {**os.environ, "HOME": str(cache)}
    result = subprocess.run(
        cmd, capture_output=True, text=True, errors="backslashreplace", timeout=CLI_TIMEOUT, check=False, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {result.stdout}{result.stderr}")
    return result


def parse_ipmitool_sensor(output: str) -> dict[str, dict[str, Any]]:
    """``ipmitool sensor`` table -> name -> {value, unit, status, thresholds (lnr, lcr, lnc, unc, ucr, unr)}."""
    out: dict[str, dict[str, Any]] = {}
    for line in output.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 10:
            continue
        name, value, unit, status = cols[0:4]
        names = ("lnr", "lcr", "lnc", "unc", "ucr", "unr")
        thresholds = {k: float(v) for k, v in zip(names, cols[4:10], strict=True) if v != "na"}
        out[name] = {"value": value, "unit": unit, "status": status, "thresholds": thresholds}
    return out


def parse_freeipmi_csv(output: str) -> list[dict[str, str]]:
    """``ipmi-sensors --comma-separated-output`` rows as dicts keyed by the header."""
    lines = [x for x in output.splitlines() if x.strip()]
    header = lines[0].split(",")
    return [dict(zip(header, re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", line), strict=False)) for line in lines[1:]]
