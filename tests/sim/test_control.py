"""The command line, the JSON-lines control channel and simulated time."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bmcsim import ControlClient, Simulator
from bmcsim.control import parse_address

from .conftest import ROOT, ipmitool

pytestmark = pytest.mark.peer

Factory = Callable[..., Simulator]


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.usefixtures("socket_enabled")
def test_cli_with_control_socket(tmp_path: Path) -> None:
    """``python -m bmcsim`` serves a profile; ``python -m bmcsim.control`` drives it over a unix socket
    (a separate process: the test process itself may not connect unix sockets under pytest-socket)."""
    control = tmp_path / "bmc.sock"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bmcsim",
            "--profile",
            "dell-idrac8",
            "--port",
            "0",
            "--user",
            "root",
            "--password",
            "calvin",
            "--control",
            str(control),
            "--speed",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["host"] == "127.0.0.1"
        assert ready["control"] == str(control)
        port = ready["port"]

        def control_cmd(command: str, args: dict[str, object] | None = None) -> object:
            out = run_cli("-m", "bmcsim.control", str(control), command, json.dumps(args or {}))
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout)

        assert control_cmd("set_load", {"percent": 90}) == 90
        assert control_cmd("tick", {"seconds": 60}) == 60
        state = control_cmd("state")
        assert isinstance(state, dict)
        assert state["profile"] == "dell-idrac8"
        assert state["port"] == port
        cpu = control_cmd("sensor", {"name": "0x0e"})
        assert isinstance(cpu, dict)
        assert cpu["value"] > 60
        out = subprocess.run(
            [
                "ipmitool",
                "-I",
                "lanplus",
                "-C",
                "3",
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "root",
                "-P",
                "calvin",
                "raw",
                "0x30",
                "0x30",
                "0x01",
                "0x00",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        log = control_cmd("request_log", {"netfn": 0x30})
        assert isinstance(log, list)
        assert [(r["cmd"], r["data"], r["cc"]) for r in log] == [(0x30, "0100", 0)]
        bad = run_cli("-m", "bmcsim.control", str(control), "no_such_command")
        assert bad.returncode == 1
        assert "unknown cmd" in bad.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
    assert not control.exists()


def test_tcp_control_channel_in_process(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("supermicro-x11", control="127.0.0.1:0")
    address = sim.control_server.address
    assert address.startswith("127.0.0.1:")
    with ControlClient(address) as client:
        client.set_fault(latency_ms=5, session_limit=4)
        assert client.state()["faults"]["latency_ms"] == 5
        client.set_completion_code(netfn=0x04, cmd=0x2D, code=0xC0, count=1)
        bad = ipmitool(sim, "raw", "0x04", "0x2d", "0x01", check=False)
        assert "rsp=0xc0" in bad.stderr
        entries = client.call("request_log", netfn=4, cmd=0x2D)
        assert entries[-1]["cc"] == 0xC0
        assert entries[-1]["data"] == "01"
        assert entries[-1]["response"] == ""
        cleared = client.clear_faults()
        assert cleared["latency_ms"] == 0
        assert cleared["cc_overrides"] == []
        assert client.call("sensor", name="FAN1")["value"] == sim.control.sensor("FAN1")["value"]
        assert client.tick(seconds=10) == 10
        with pytest.raises(RuntimeError, match="unknown cmd"):
            client.call("no_such_command")
        with pytest.raises(RuntimeError, match="unknown fault"):
            client.set_fault(bogus=1)
        assert "tick" in client.call("help")


def test_control_refuses_non_loopback_addresses() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        parse_address("0.0.0.0:7000")
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        parse_address("192.0.2.1:7000")
    assert parse_address("127.0.0.1:7000")[1] == ("127.0.0.1", 7000)


def test_simulator_binds_loopback_only(bmc_sim: Simulator) -> None:
    assert bmc_sim.sock is not None
    assert bmc_sim.sock.getsockname()[0] == "127.0.0.1"


def test_speed_factor(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic", speed=100.0)
    deadline = time.monotonic() + 5
    while sim.control.state()["sim_time"] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.control.state()["sim_time"] >= 20
    sim.control.set_speed(0)
    frozen = sim.control.state()["sim_time"]
    time.sleep(0.2)
    assert sim.control.state()["sim_time"] == frozen
    assert sim.control.tick(1.2) == pytest.approx(frozen + 1.5)  # whole 0.5 s steps


def test_simulator_stops_cleanly(bmc_sim_factory: Factory) -> None:
    sim = bmc_sim_factory("generic")
    port = sim.port
    sim.stop()
    sim.stop()  # idempotent
    assert sim.sock is None
    with Simulator("generic", port=port, speed=0) as again:  # the port is free again
        assert again.port == port
