"""JSON-lines control channel: a local TCP socket on 127.0.0.1 or a unix socket.

Each request is one line of JSON ``{"id": 1, "cmd": "set_load", "args": {"percent": 80}}`` (arguments may
also be given at top level); each answer one line ``{"id": 1, "ok": true, "result": ...}`` or
``{"id": 1, "ok": false, "error": "..."}``. ``cmd`` names a public method of
:class:`bmcsim.simulator.Controller`; ``{"cmd": "help"}`` lists them.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import socket
from typing import Any

from .simulator import LOOPBACK, Controller, RequestRecord

MAX_LINE = 1 << 20


def parse_address(address: str) -> tuple[int, Any]:
    """(address family, bind/connect address) for "127.0.0.1:PORT", ":PORT" or a unix socket path.

    Only the loopback address is accepted for TCP.
    """
    if "/" in address or address.endswith(".sock"):
        return socket.AF_UNIX, address
    host, _, port = address.rpartition(":")
    if host not in ("", LOOPBACK, "localhost"):
        raise ValueError(f"control address must be on {LOOPBACK}, got {address!r}")
    return socket.AF_INET, (LOOPBACK, int(port))


def _commands(controller: Controller) -> dict[str, Any]:
    return {
        name: getattr(controller, name)
        for name in dir(controller)
        if not name.startswith("_") and callable(getattr(controller, name))
    }


def _encode(value: Any) -> Any:
    if isinstance(value, RequestRecord):
        return value.to_dict()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_encode(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def execute(controller: Controller, request: dict[str, Any]) -> dict[str, Any]:
    """Run one decoded request against ``controller`` and build the answer object."""
    rid = request.get("id")
    cmd = request.get("cmd")
    commands = _commands(controller)
    if cmd == "help":
        docs = {name: (inspect.getdoc(fn) or "").split("\n")[0] for name, fn in commands.items()}
        return {"id": rid, "ok": True, "result": docs}
    if cmd not in commands:
        return {"id": rid, "ok": False, "error": f"unknown cmd {cmd!r}"}
    args = dict(request.get("args") or {})
    args.update({k: v for k, v in request.items() if k not in ("id", "cmd", "args")})
    try:
        result = commands[cmd](**args)
    except Exception as err:  # noqa: BLE001 - report any failure to the client
        return {"id": rid, "ok": False, "error": f"{type(err).__name__}: {err}"}
    return {"id": rid, "ok": True, "result": _encode(result)}


class ControlServer:
    """Listening control socket served from the simulator's thread (non-blocking accept and reads)."""

    def __init__(self, controller: Controller, address: str) -> None:
        """Bind ``address`` (see :func:`parse_address`)."""
        self.controller = controller
        family, bind = parse_address(address)
        self.family = family
        self.path = bind if family == socket.AF_UNIX else None
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(bind)
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.clients: dict[socket.socket, bytearray] = {}

    @property
    def address(self) -> str:
        """Return "127.0.0.1:PORT" or the unix socket path actually bound."""
        if self.path:
            return str(self.path)
        host, port = self.listener.getsockname()[:2]
        return f"{host}:{port}"

    def readers(self) -> list[socket.socket]:
        """Sockets to watch for input."""
        return [self.listener, *self.clients]

    def on_readable(self, sock: socket.socket) -> None:
        """Accept a client or read and answer its complete lines."""
        if sock is self.listener:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                conn, _ = self.listener.accept()
                conn.setblocking(False)
                self.clients[conn] = bytearray()
            return
        buf = self.clients.get(sock)
        if buf is None:
            return
        try:
            chunk = sock.recv(65536)
        except BlockingIOError, InterruptedError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(sock)
            return
        buf += chunk
        if len(buf) > MAX_LINE:
            self._drop(sock)
            return
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            if line.strip():
                self._answer(sock, line)

    def _answer(self, sock: socket.socket, line: bytes) -> None:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
            answer = execute(self.controller, request)
        except ValueError as err:
            answer = {"id": None, "ok": False, "error": f"bad request: {err}"}
        data = (json.dumps(answer) + "\n").encode()
        try:
            sock.settimeout(5.0)
            sock.sendall(data)
            sock.setblocking(False)
        except OSError:
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        self.clients.pop(sock, None)
        with contextlib.suppress(OSError):
            sock.close()

    def close(self) -> None:
        """Close the listener and every client; remove the unix socket file."""
        for sock in list(self.clients):
            self._drop(sock)
        with contextlib.suppress(OSError):
            self.listener.close()
        if self.path:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


class ControlClient:
    """Blocking client for the control channel.

    Use ``client.call("set_load", percent=80)`` or
    ``client.set_load(percent=80)``; :meth:`request_log` returns :class:`RequestRecord` objects.
    """

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        """Connect to ``address`` ("127.0.0.1:PORT" or a unix socket path)."""
        family, target = parse_address(address)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(target)
        self._buf = bytearray()
        self._id = 0

    def call(self, command: str, /, **args: Any) -> Any:
        """Send one command and return its result; raises RuntimeError with the server's error text."""
        self._id += 1
        self.sock.sendall((json.dumps({"id": self._id, "cmd": command, "args": args}) + "\n").encode())
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("control channel closed")
            self._buf += chunk
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf[:] = rest
        answer = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(answer.get("error"))
        return answer.get("result")

    def request_log(self, **args: Any) -> list[RequestRecord]:
        """Like :meth:`bmcsim.simulator.Controller.request_log`."""
        return [RequestRecord.from_dict(x) for x in self.call("request_log", **args)]

    def __getattr__(self, name: str) -> Any:
        """Any other Controller method by name, keyword arguments only."""
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda **args: self.call(name, **args)

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> ControlClient:
        """Context manager support."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on exit."""
        self.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m bmcsim.control ADDRESS COMMAND [JSON-ARGS]``: send one command, print the JSON result."""
    import argparse  # noqa: PLC0415
    import sys  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bmcsim.control", description="Send one control command")
    parser.add_argument("address", help="127.0.0.1:PORT or a unix socket path")
    parser.add_argument("command", help="Controller method, e.g. state, set_load, tick, request_log")
    parser.add_argument("args", nargs="?", default="{}", help="JSON object of arguments, e.g. '{\"percent\": 80}'")
    ns = parser.parse_args(argv)
    with ControlClient(ns.address) as client:
        try:
            result = client.call(ns.command, **json.loads(ns.args))
        except RuntimeError as err:
            sys.stderr.write(f"error: {err}\n")
            return 1
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
