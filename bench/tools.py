"""The tools owners poll with today, one process per poll: ``ipmitool sdr elist`` and FreeIPMI ``ipmi-sensors``.

Each run is reaped with ``os.wait4``, which gives that child's own CPU time (the benchmark's RUSAGE_CHILDREN
would mix in every earlier child). Its ``ru_maxrss`` is not the tool's: Linux carries the high-water RSS of
the forking process (this Python, tens of MB) across ``exec``. A tool's peak RSS is therefore measured by a
separate run under GNU ``time`` (a small C process forks the tool), when ``/usr/bin/time`` exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .fleet import Bmc
from .simhost import PASSWORD, USER

#: Longest one tool run may take (s) before it is killed.
TOOL_TIMEOUT = 60.0
#: Poll period while waiting for a child to exit (s); bounds the error of the measured wall time.
REAP_POLL = 0.0005
#: GNU time, which reports the peak RSS of the command it runs (``-f %M``, KiB).
GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class ToolRun:
    """One tool process: wall time (s), CPU time user+system (s), exit status, non-empty output lines."""

    wall: float
    cpu: float
    status: int
    lines: int
    stderr: str


def available() -> dict[str, str | None]:
    """Path of each tool, or None when it is not installed."""
    return {"ipmitool": shutil.which("ipmitool"), "ipmi-sensors": shutil.which("ipmi-sensors")}


def ipmitool_command(bmc: Bmc) -> list[str]:
    """``ipmitool -I lanplus -C 3 ... -E sdr elist`` for ``bmc`` (password from IPMI_PASSWORD)."""
    address = ["-H", "127.0.0.1", "-p", str(bmc.port)]
    return ["ipmitool", "-I", "lanplus", "-C", "3", *address, "-U", USER, "-E", "sdr", "elist"]


def ipmi_sensors_command(bmc: Bmc, cache_dir: Path) -> list[str]:
    """``ipmi-sensors`` over LAN_2_0 with its SDR cache in ``cache_dir``."""
    return [
        "ipmi-sensors",
        "-D",
        "LAN_2_0",
        "-W",
        "opensesspriv",
        "-h",
        f"127.0.0.1:{bmc.port}",
        "-u",
        USER,
        "-p",
        PASSWORD,
        "--sdr-cache-directory",
        str(cache_dir),
    ]


def run_tool(command: list[str], *, env: dict[str, str] | None = None, timeout: float = TOOL_TIMEOUT) -> ToolRun:
    """Run ``command`` once and measure it (wall s, CPU s, peak RSS KiB); killed after ``timeout`` s."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.send_signal(signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(REAP_POLL)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = sum(1 for line in out.read().decode(errors="replace").splitlines() if line.strip())
        stderr = err.read().decode(errors="replace")[-500:]
    return ToolRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        status=process.returncode,
        lines=lines,
        stderr=stderr,
    )


def peak_rss_kib(command: list[str], *, env: dict[str, str] | None = None) -> int | None:
    """Peak RSS (KiB) of one run of ``command`` under GNU time; None without /usr/bin/time or on failure."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as report:
        run = run_tool([GNU_TIME, "-f", "%M", "-o", report.name, *command], env=env)
        if run.status != 0:
            return None
        try:
            return int(report.read().strip().splitlines()[-1])
        except ValueError, IndexError:
            return None


def ipmitool_env() -> dict[str, str]:
    """Environment with the BMC password in IPMI_PASSWORD (``ipmitool -E``)."""
    return {**os.environ, "IPMI_PASSWORD": PASSWORD}


def freeipmi_env(cache_dir: Path) -> dict[str, str]:
    """Environment whose HOME is ``cache_dir``, so FreeIPMI keeps nothing in the user's home."""
    return {**os.environ, "HOME": str(cache_dir)}
