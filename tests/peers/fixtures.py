"""Pytest fixtures and client-side helpers for the ipmi_sim peer.

Use from a conftest.py::

    from tests.peers.fixtures import ipmi_sim_peer, pyghmi_io_thread  # noqa: F401

``pyghmi_io_thread`` is session scoped: pyghmi runs one process-wide I/O thread that
never ends, and the Home Assistant test plugin fails a test that leaves a new thread
behind.  Starting that thread once, before the first test's thread snapshot, keeps
the check meaningful for every other thread.  It can be made autouse in the root
conftest (``@pytest.fixture(autouse=True, scope="session")``).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .ipmi_sim import IPMI_SIM_BINARY, IpmiSimPeer

__all__ = [
    "FreeIpmiRow",
    "IpmitoolRow",
    "freeipmi_readings",
    "freeipmi_table",
    "ipmi_sim_peer",
    "ipmitool_readings",
    "ipmitool_table",
    "pyghmi_io_thread",
]


@pytest.fixture
def ipmi_sim_peer() -> Iterator[IpmiSimPeer]:
    """A started SUPERMICRO_X11 peer on 127.0.0.1; always stopped afterwards.

    Skips when ipmi_sim is missing, except on CI (``CI`` set), where it fails.
    """
    if shutil.which(IPMI_SIM_BINARY) is None:
        message = "ipmi_sim is not installed (Debian package 'openipmi'); IPMI peer tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    peer = IpmiSimPeer()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def pyghmi_io_thread() -> None:
    """Start pyghmi's process-wide I/O thread (and its UDP socket) once per session."""
    from pyghmi.ipmi.private import session as pyghmi_session

    if pyghmi_session.iothread is not None:
        return
    # pytest-socket may block socket creation at this point; the socket pyghmi makes
    # here is its client socket (bound to an ephemeral port), reused by later sessions.
    try:
        import pytest_socket

        real_socket = pytest_socket._true_socket
    except ImportError, AttributeError:
        real_socket = socket.socket
    saved = socket.socket
    socket.socket = real_socket  # type: ignore[misc]
    try:
        pyghmi_session.Session._assignsocket()
    finally:
        socket.socket = saved  # type: ignore[misc]


# ---------------------------------------------------------------------------
# ipmitool
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IpmitoolRow:
    """One line of ``ipmitool sensor``."""

    name: str
    value: float | None  # None: "na" (no reading) or a discrete sensor
    unit: str  # "degrees C", "RPM", "Volts", ... ; "discrete"; "" when no reading
    status: str  # "ok", "nc", "cr", "nr", "na", or "0xSSSS" for discrete sensors
    thresholds: dict[str, float]  # lnr/lcr/lnc/unc/ucr/unr that are not "na"
    states: int | None  # discrete sensors: state bitmask (offset 0 = bit 0)


_THRESHOLD_COLUMNS = ("lnr", "lcr", "lnc", "unc", "ucr", "unr")


def _float_or_none(text: str) -> float | None:
    text = text.strip()
    if text in ("na", "N/A", ""):
        return None
    return float(text)


def parse_ipmitool_sensor(output: str) -> dict[str, IpmitoolRow]:
    """Parse ``ipmitool sensor`` output (name | value | unit | status | 6 thresholds)."""
    rows: dict[str, IpmitoolRow] = {}
    for line in output.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 4:
            continue
        name, value, unit, status = cols[:4]
        thresholds = {
            key: val
            for key, text in zip(_THRESHOLD_COLUMNS, cols[4:10], strict=False)
            if (val := _float_or_none(text)) is not None
        }
        if unit == "discrete":
            # Status column is the two state bytes as "0xLLHH" (offsets 0-7, 8-14).
            raw = status.removeprefix("0x")
            states = int(raw[:2], 16) | (int(raw[2:4], 16) << 8) if len(raw) >= 4 else None
            rows[name] = IpmitoolRow(name, None, unit, status, thresholds, states)
        else:
            rows[name] = IpmitoolRow(name, _float_or_none(value), unit, status, thresholds, None)
    return rows


def ipmitool_table(peer: IpmiSimPeer) -> dict[str, IpmitoolRow]:
    """``ipmitool -I lanplus sensor`` against the peer, parsed."""
    return parse_ipmitool_sensor(peer.ipmitool("sensor"))


def ipmitool_readings(peer: IpmiSimPeer) -> dict[str, tuple[float | None, str]]:
    """Name -> (value, unit) as ``ipmitool -I lanplus sensor`` reads it from the peer.

    A threshold sensor without a reading gives ``(None, "na")``; a discrete sensor
    gives ``(None, "0xLLHH")`` (its state bytes, see ``ipmitool_table`` for a bitmask).
    """
    readings: dict[str, tuple[float | None, str]] = {}
    for name, row in ipmitool_table(peer).items():
        if row.value is not None:
            readings[name] = (row.value, row.unit)
        else:
            readings[name] = (None, row.status)
    return readings


# ---------------------------------------------------------------------------
# FreeIPMI
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FreeIpmiRow:
    """One line of ``ipmi-sensors --comma-separated-output --output-sensor-thresholds``."""

    record_id: int
    name: str
    sensor_type: str
    value: float | None
    unit: str  # "C", "RPM", "V", "A", "W"; "N/A" for discrete sensors
    thresholds: dict[str, float]
    event: str  # "'OK'", "'Presence detected'", "N/A" when no reading


def parse_ipmi_sensors(output: str) -> dict[str, FreeIpmiRow]:
    """Parse ``ipmi-sensors --comma-separated-output --no-header-output --output-sensor-thresholds``."""
    rows: dict[str, FreeIpmiRow] = {}
    for line in output.splitlines():
        cols = line.split(",")
        if len(cols) < 12:
            continue
        record_id, name, sensor_type, value, unit = cols[:5]
        thresholds = {
            key: val
            for key, text in zip(_THRESHOLD_COLUMNS, cols[5:11], strict=True)
            if (val := _float_or_none(text)) is not None
        }
        event = ",".join(cols[11:])
        rows[name] = FreeIpmiRow(int(record_id), name, sensor_type, _float_or_none(value), unit, thresholds, event)
    return rows


def freeipmi_table(peer: IpmiSimPeer) -> dict[str, FreeIpmiRow]:
    """FreeIPMI ``ipmi-sensors -D LAN_2_0 --shared-sensors`` against the peer, parsed."""
    return parse_ipmi_sensors(
        peer.ipmi_sensors(
            "--shared-sensors",
            "--comma-separated-output",
            "--no-header-output",
            "--output-sensor-thresholds",
        )
    )


def freeipmi_readings(peer: IpmiSimPeer) -> dict[str, tuple[float | None, str]]:
    """Name -> (value, unit) from FreeIPMI; ``(None, event)`` without a reading."""
    return {
        name: (row.value, row.unit) if row.value is not None else (None, row.event)
        for name, row in freeipmi_table(peer).items()
    }
