"""Blocking IPMI 2.0 (lanplus) client for one BMC, built on a single reused pyghmi session.

Every public method blocks and must run in an executor thread, never in an event loop. Calls to one
``BmcClient`` are serialised by a lock; distinct clients never wait for each other.
"""

from __future__ import annotations

from pathlib import Path

from .models import BmcIdentity, BmcSnapshot, SdrSensor


class BmcClient:
    """One BMC reached over RMCP+ (IPMI 2.0 lanplus), with its SDR cached on disk.

    ``timeout`` (s) bounds how long connecting to a silent BMC may take.
    Raises ``IpmiAuthError`` for rejected credentials, ``IpmiConnectionError`` (and its
    ``IpmiSessionLimitError``) when the BMC cannot be reached, ``IpmiError`` for anything else.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        sdr_cache_dir: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Store the connection parameters; nothing is sent until ``connect``."""
        raise NotImplementedError

    @property
    def identity(self) -> BmcIdentity | None:
        """The identity read by the last ``connect``, or None before it."""
        raise NotImplementedError

    def connect(self) -> BmcIdentity:
        """Open (or reuse) the session and return the BMC's identity (Get Device ID, GUID, FRU 0)."""
        raise NotImplementedError

    def sensors(self) -> list[SdrSensor]:
        """Return the readable sensors of the SDR, read once and cached on disk (keyed by SDR timestamps)."""
        raise NotImplementedError

    def check_sdr(self) -> bool:
        """Ask the BMC whether its SDR changed (Get SDR Repository Info); re-read it if so.

        Returns True when the sensor list changed. Costs one request when nothing changed.
        """
        raise NotImplementedError

    def poll(self) -> BmcSnapshot:
        """Read every sensor once (one Get Sensor Reading each), chassis status and DCMI power.

        Reconnects first when the session was lost. Raises ``IpmiError`` when the BMC cannot be reached;
        a single sensor that fails is reported in ``BmcSnapshot.errors`` and does not fail the poll.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Log out and forget the session; a later call reconnects."""
        raise NotImplementedError
