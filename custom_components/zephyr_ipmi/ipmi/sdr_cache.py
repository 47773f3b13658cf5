"""The SDR of one BMC: its sensors decoded from the records, and a disk cache of the records.

The cache is a JSON file per BMC, not Home Assistant's ``Store``: the core never imports Home Assistant,
and the cache is read and written by the blocking client in an executor thread in the middle of a login
or an SDR walk, where the event-loop-bound ``Store`` cannot be awaited. The file gives what ``Store``
would: a format version (``SDR_CACHE_VERSION``; another version is read again from the BMC) and atomic
writes (a temporary file renamed over the old one, so a crash never leaves half a cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

from .errors import IpmiCompletionCodeError
from .models import SdrSensor
from .protocol import BMC_ADDRESS, CMD_GET_SDR_REPO_INFO, NETFN_STORAGE
from .records import Requester
from .sdr import SdrDecodeError, parse_sensor_records

_LOGGER = logging.getLogger(__name__)

SDR_CACHE_VERSION = 1


def repository_stamp(requester: Requester) -> list[int] | None:
    """Get SDR Repository Info (IPMI 2.0 §33.9): [record count, addition time, erase time], or None.

    None when the BMC answers a completion code or a short answer: there is then nothing cheap to
    compare, and the SDR is not cached.
    """
    try:
        data = requester.request(NETFN_STORAGE, CMD_GET_SDR_REPO_INFO)
    except IpmiCompletionCodeError:
        return None
    if len(data) < 13:
        return None
    count, _free, added, erased = struct.unpack_from("<HHII", data, 1)
    return [count, added, erased]


def sensors_from_records(records: list[bytes]) -> list[SdrSensor]:
    """Decode SDR records into the BMC's own sensors; an undecodable record is skipped with one warning.

    Sensors owned by another controller (e.g. the management engine at 0x2C) are left out: reading them
    needs a bridged request, and a plain Get Sensor Reading would read the BMC's sensor of that number.
    """
    sensors: list[SdrSensor] = []
    keys: set[str] = set()
    for record in records:
        try:
            parsed = parse_sensor_records(record)
        except (SdrDecodeError, IndexError) as err:
            _LOGGER.warning("Skipping an SDR record that cannot be decoded: %s", err)
            continue
        for sensor in parsed:
            if sensor.owner != BMC_ADDRESS:
                _LOGGER.debug("Leaving out sensor %r owned by controller 0x%02X", sensor.name, sensor.owner)
                continue
            if sensor.key in keys:
                _LOGGER.warning(
                    "Skipping SDR record 0x%04X: sensor %s is described twice", sensor.record_id, sensor.key
                )
                continue
            keys.add(sensor.key)
            sensors.append(sensor)
    return sensors


def cache_path(directory: Path, key: str) -> Path:
    """Return the cache file of the BMC known as ``key`` (its unique id, or the caller's cache key)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return directory / f"sdr-{digest}.json"


def remove_sdr_cache(directory: Path, key: str) -> None:
    """Delete the cached SDR of the BMC known as ``key`` in ``directory`` (blocking); a missing file is no error."""
    SdrCache(cache_path(directory, key)).remove()


class SdrCache:
    """The SDR records of one BMC on disk, valid while the repository's stamp is unchanged."""

    def __init__(self, path: Path) -> None:
        """Cache in the file ``path`` (its folder is made on first write)."""
        self.path = path

    def load(self, stamp: list[int]) -> list[bytes] | None:
        """Return the cached records when the cache exists, has this version and matches ``stamp``."""
        try:
            content: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            if content.get("version") != SDR_CACHE_VERSION or content.get("stamp") != stamp:
                return None
            return [bytes.fromhex(record) for record in content["records"]]
        except OSError, ValueError, KeyError, TypeError:
            return None

    def save(self, stamp: list[int], records: list[bytes]) -> None:
        """Write the cache atomically; a failure is logged and only costs the next start a re-read."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"version": SDR_CACHE_VERSION, "stamp": stamp, "records": [r.hex() for r in records]}),
                encoding="utf-8",
            )
            os.replace(tmp, self.path)
        except OSError as err:
            _LOGGER.warning("Cannot write the SDR cache %s: %s", self.path, err)

    def remove(self) -> None:
        """Delete the cache file (e.g. when its BMC is removed); a missing file is no error."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as err:
            _LOGGER.warning("Cannot remove the SDR cache %s: %s", self.path, err)
