"""The body of ``scripts/develop``: a simulated BMC plus Home Assistant with Zephyr IPMI, ready to look at.

1. Starts a simulated BMC on 127.0.0.1 (``scripts/develop_bmc.py``) whose readings drift over time.
2. Writes a throwaway Home Assistant configuration in ``.develop/config`` with the integration of the
   working tree linked into ``custom_components/``, and starts ``hass`` bound to 127.0.0.1.
3. Once Home Assistant answers: completes onboarding through its REST API (a local dev user), confirms the
   127.0.0.1-only HTTP settings, adds the Zephyr IPMI entry for the simulated BMC through the config-flow
   REST API and sets a short poll interval through the options flow.
4. Prints the URL and the login, keeps the BMC's readings moving, starts Home Assistant again when it asks
   for a restart, and on Ctrl-C (or SIGTERM) stops Home Assistant and the BMC. Every wait is bounded.

Run it through ``scripts/develop`` (which first runs ``scripts/setup``); ``scripts/develop --help`` lists
the options. Uses the standard library, plus aiohttp (a Home Assistant dependency) for websocket calls,
and runs with the venv's interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from develop_bmc import BACKENDS, DEFAULT_BACKEND, ROOT_DIR, DemoBmc, make_bmc

DOMAIN = "zephyr_ipmi"
DEV_NAME = "Developer"
DEV_USERNAME = "dev"
DEV_PASSWORD = "zephyr-dev"  # noqa: S105 - loopback-only demo login, printed on the console
DEVELOP_DIR = ROOT_DIR / ".develop"
VARY_EVERY = 5.0  # seconds between two changes of the simulated readings
HA_STOP_TIMEOUT = 60.0
# Onboarding's core-config step starts these integrations' flows; the demo removes their entries again
# (Radio Browser, for one, retries forever without internet access).
ONBOARDING_EXTRAS = ("google_translate", "met", "radio_browser", "shopping_list")

CONFIGURATION_YAML = """\
# Written by scripts/develop; recreated on each run unless --keep is given.
# Only what the demo needs: default_config pulls integrations that do not build everywhere.
homeassistant:
  name: Zephyr IPMI demo
  unit_system: metric
  # Without a country Home Assistant raises a "country not configured" repair on every fresh demo.
  country: DE

frontend:
config:
api:
history:
logbook:
energy:

logger:
  default: warning
  logs:
    custom_components.{domain}: debug
{http}"""
# Home Assistant takes http: from YAML once, as a "pending" configuration that reverts (with a restart) unless
# it is confirmed within 5 minutes; scripts/develop confirms it and then drops this block from the file.
HTTP_YAML = """
http:
  server_host: 127.0.0.1
  server_port: {port}
"""
CONTROL_DOMAINS = ("select", "fan", "switch", "button")
"""Platforms of the fan and power control entities, in the order the summary lists them."""
RESTART_EXIT_CODE = 100  # hass exits with it when asked to restart (Settings > Restart)
STATE_FILE = ".zephyr-develop.json"  # in the config dir: the port it was made for


class StopRequestedError(Exception):
    """SIGTERM or SIGHUP arrived: stop like on Ctrl-C."""


class DevelopError(Exception):
    """Something the user must look at; the message says what."""


def say(message: str = "") -> None:
    """Print a line of progress at once."""
    sys.stdout.write(f"[develop] {message}\n" if message else "\n")
    sys.stdout.flush()


# --- HTTP ---------------------------------------------------------------------------------------------------


def http(
    method: str,
    url: str,
    *,
    body: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """One HTTP request; returns (status, JSON body or text). Connection errors raise OSError."""
    headers: dict[str, str] = {}
    data: bytes | None = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - loopback URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def expect(result: tuple[int, Any], what: str, *statuses: int) -> Any:
    """Return the body of a response with an expected status, else raise DevelopError."""
    status, payload = result
    if status not in (statuses or (200,)):
        raise DevelopError(f"{what} failed: HTTP {status}: {str(payload)[:500]}")
    return payload


# --- processes ----------------------------------------------------------------------------------------------


try:  # resolved here, not in the forked child
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except OSError, AttributeError:
    _PRCTL = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when this script dies, even by SIGKILL (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def port_is_free(port: int) -> bool:
    """Return whether nothing listens on 127.0.0.1:port (TCP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Home Assistant binds: connections of a previous run in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stop_process(proc: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    """SIGTERM a process group started with start_new_session, SIGKILL it after ``timeout`` s."""
    if proc.poll() is None:
        say(f"stopping {name} (at most {timeout:.0f} s)")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Anything the process group left behind goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- voice libraries ----------------------------------------------------------------------------------------

PLACEHOLDER_MODULES = {"pymicro_vad": "MicroVad", "pyspeex_noise": "AudioProcessor"}


def voice_placeholders(target: Path) -> Path | None:
    """Return a folder of import-only stand-ins for assist_pipeline's audio libraries, when they are needed.

    Home Assistant's frontend asks for all service descriptions when it loads; building them imports
    ``assist_satellite`` and so ``assist_pipeline``, which imports ``pymicro_vad`` and ``pyspeex_noise``. Both
    are C++ extensions that pip builds from source when no wheel fits, which needs the interpreter's headers
    (``Python.h``). Where neither the packages nor the headers are present, the frontend would stay on
    "Loading..."; stand-ins (module plus package metadata of the pinned version) on the ``hass`` process's
    PYTHONPATH let it load. Voice features do not work with them; nothing else uses these libraries.
    """
    missing = [name for name in PLACEHOLDER_MODULES if importlib.util.find_spec(name) is None]
    if not missing or (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return None
    spec = importlib.util.find_spec("homeassistant")
    if spec is None or not spec.submodule_search_locations:
        return None
    manifest = Path(spec.submodule_search_locations[0]) / "components" / "assist_pipeline" / "manifest.json"
    pins = dict(req.split("==", 1) for req in json.loads(manifest.read_text())["requirements"] if "==" in req)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for module in missing:
        dist = module.replace("_", "-")
        version = pins.get(dist, "0")
        (target / f"{module}.py").write_text(
            f'"""Import-only stand-in for {dist} written by scripts/develop (see scripts/develop_ha.py)."""\n\n\n'
            f"class {PLACEHOLDER_MODULES[module]}:\n"
            '    """Not available in this development environment."""\n\n'
            "    def __init__(self, *args: object, **kwargs: object) -> None:\n"
            '        """Refuse: the real library is not installed."""\n'
            f'        raise RuntimeError("{dist} is not installed in this development environment")\n'
        )
        info = target / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("scripts/develop\n")
    return target


# --- Home Assistant -----------------------------------------------------------------------------------------


class HomeAssistant:
    """One ``hass`` process on 127.0.0.1 and the REST calls the demo needs."""

    def __init__(self, config_dir: Path, port: int, console_log: Path) -> None:
        """Prepare (not start) Home Assistant on ``port`` with ``config_dir``."""
        self.config_dir = config_dir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.client_id = f"{self.base}/"
        self.console_log = console_log
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def write_config(self, *, keep: bool) -> None:
        """Create the configuration directory and link the working tree's integration into it."""
        if self.config_dir.exists() and not keep:
            if DEVELOP_DIR not in self.config_dir.resolve().parents:
                raise DevelopError(f"refusing to delete {self.config_dir}: not under {DEVELOP_DIR}; use --keep")
            shutil.rmtree(self.config_dir)
        custom = self.config_dir / "custom_components"
        custom.mkdir(parents=True, exist_ok=True)
        link = custom / DOMAIN
        if link.is_symlink() or link.exists():
            if not link.is_symlink():
                raise DevelopError(f"{link} exists and is not a symlink; remove it or drop --keep")
            link.unlink()
        link.symlink_to(ROOT_DIR / "custom_components" / DOMAIN, target_is_directory=True)
        state = self.config_dir / STATE_FILE
        if keep and state.exists():
            port = json.loads(state.read_text()).get("port")
            if port != self.port:
                raise DevelopError(
                    f"the kept configuration serves on port {port} (Home Assistant stores it); "
                    f"use --port {port}, or drop --keep"
                )
            return
        self.write_configuration_yaml(with_http=True)
        state.write_text(json.dumps({"port": self.port}) + "\n")

    def write_configuration_yaml(self, *, with_http: bool) -> None:
        """Write configuration.yaml, with the http: block only until HA has stored it."""
        http_block = HTTP_YAML.format(port=self.port) if with_http else ""
        (self.config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML.format(domain=DOMAIN, http=http_block))

    def start(self) -> None:
        """Start ``hass`` in its own session; its console output goes to ``console_log``."""
        hass = Path(sys.prefix) / "bin" / "hass"
        if not hass.exists():
            raise DevelopError(f"{hass} is missing; run scripts/setup")
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if (shims := voice_placeholders(DEVELOP_DIR / "voice-placeholders")) is not None:
            if self.proc is None:  # say it once, not on every restart
                say(f"voice libraries cannot be built here (no Python.h); stand-ins in {shims.relative_to(ROOT_DIR)}")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(shims), env.get("PYTHONPATH"))))
        with self.console_log.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own venv's hass
                [str(hass), "-c", str(self.config_dir), "--log-no-color"],
                stdin=subprocess.DEVNULL,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config_dir,
                start_new_session=True,  # Ctrl-C reaches this script only; it stops HA in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run yet
            )

    def check_running(self, *, restart_timeout: float | None = None) -> None:
        """Raise DevelopError when hass has exited; start it again when it exited to restart and that is allowed."""
        if self.proc is None or self.proc.poll() is None:
            return
        if self.proc.returncode == RESTART_EXIT_CODE and restart_timeout is not None:
            say("Home Assistant asked for a restart; starting it again")
            self.start()
            self.wait_until_up(restart_timeout)
            say(f"Home Assistant is back at {self.base}")
            return
        raise DevelopError(
            f"Home Assistant exited with status {self.proc.returncode}; last lines of {self.console_log}:\n"
            + tail(self.console_log)
        )

    def wait_until_up(self, timeout: float) -> None:
        """Wait until the frontend is served (its dependencies api, auth, config, onboarding are set up)."""
        start = time.monotonic()
        next_note = start + 30
        while True:
            self.check_running()
            with contextlib.suppress(OSError):
                if http("GET", f"{self.base}/", timeout=5)[0] == 200:
                    return
            now = time.monotonic()
            if now - start > timeout:
                raise DevelopError(
                    f"Home Assistant did not answer on {self.base} within {timeout:.0f} s "
                    f"(see {self.console_log}; raise --ha-timeout on a slow first run)"
                )
            if now >= next_note:
                say(f"still waiting for Home Assistant ({now - start:.0f} s; the first run installs its frontend)")
                next_note = now + 30
            time.sleep(1)

    # -- onboarding and login ---------------------------------------------------------------------------

    def _exchange_code(self, code: str) -> None:
        payload = expect(
            http(
                "POST",
                f"{self.base}/auth/token",
                form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            ),
            "token exchange",
        )
        self.token = payload["access_token"]

    def _login(self, username: str, password: str) -> None:
        """Log in through the login flow (when onboarding was done by an earlier run)."""
        flow = expect(
            http(
                "POST",
                f"{self.base}/auth/login_flow",
                body={
                    "client_id": self.client_id,
                    "handler": ["homeassistant", None],
                    "redirect_uri": f"{self.base}/?auth_callback=1",
                },
            ),
            "login flow",
        )
        result = expect(
            http(
                "POST",
                f"{self.base}/auth/login_flow/{flow['flow_id']}",
                body={"client_id": self.client_id, "username": username, "password": password},
            ),
            "login",
        )
        if result.get("type") != "create_entry":
            raise DevelopError(
                f"login as {username!r} failed ({result.get('errors')}); the kept configuration has another "
                "user: run without --keep for a fresh one"
            )
        self._exchange_code(result["result"])

    def onboard(self, username: str, password: str) -> None:
        """Finish onboarding (user, core config, analytics, integration) or log in when it is done."""
        status, steps = http("GET", f"{self.base}/api/onboarding")
        done = {step["step"] for step in steps if step["done"]} if status == 200 else None
        if done is None or "user" in done:
            # No onboarding views (404): an earlier run finished onboarding.
            self._login(username, password)
        else:
            payload = expect(
                http(
                    "POST",
                    f"{self.base}/api/onboarding/users",
                    body={
                        "client_id": self.client_id,
                        "name": DEV_NAME,
                        "username": username,
                        "password": password,
                        "language": "en",
                    },
                ),
                "onboarding: create user",
            )
            self._exchange_code(payload["auth_code"])
        if done is None:
            return
        for step in ("core_config", "analytics"):
            if step not in done:
                expect(http("POST", f"{self.base}/api/onboarding/{step}", body={}, token=self.token), step)
        if "integration" not in done:
            expect(
                http(
                    "POST",
                    f"{self.base}/api/onboarding/integration",
                    body={"client_id": self.client_id, "redirect_uri": f"{self.base}/?auth_callback=1"},
                    token=self.token,
                ),
                "onboarding: integration step",
            )

    # -- config entries ---------------------------------------------------------------------------------

    def entries(self) -> list[dict[str, Any]]:
        """Return the integration's config entries."""
        return list(
            expect(
                http("GET", f"{self.base}/api/config/config_entries/entry?domain={DOMAIN}", token=self.token),
                "list config entries",
            )
        )

    def remove_entries(self) -> None:
        """Remove the integration's entries left by an earlier run (they point at an older BMC)."""
        for entry in self.entries():
            expect(
                http("DELETE", f"{self.base}/api/config/config_entries/entry/{entry['entry_id']}", token=self.token),
                "remove an old entry",
            )

    def remove_onboarding_extras(self) -> list[str]:
        """Remove the entries onboarding added (best effort); returns their titles."""
        status, entries = http("GET", f"{self.base}/api/config/config_entries/entry", token=self.token)
        removed = []
        for entry in entries if status == 200 else []:
            if entry["domain"] in ONBOARDING_EXTRAS:
                url = f"{self.base}/api/config/config_entries/entry/{entry['entry_id']}"
                if http("DELETE", url, token=self.token, timeout=60)[0] == 200:
                    removed.append(entry["title"])
        return removed

    def add_entry(self, bmc: DemoBmc) -> dict[str, Any]:
        """Run the config flow's user step with the simulated BMC; returns the created entry."""
        flow = expect(
            http(
                "POST",
                f"{self.base}/api/config/config_entries/flow",
                body={"handler": DOMAIN, "show_advanced_options": False},
                token=self.token,
            ),
            "start the config flow",
        )
        if flow.get("type") == "menu":
            # Until the notification channels are set up, the flow first asks what to add.
            flow = expect(
                http(
                    "POST",
                    f"{self.base}/api/config/config_entries/flow/{flow['flow_id']}",
                    body={"next_step_id": "bmc"},
                    token=self.token,
                ),
                "choose to add a BMC",
            )
        if flow.get("type") != "form" or flow.get("step_id") != "user":
            raise DevelopError(f"the config flow did not ask for the BMC: {flow}")
        # Bounded: the flow logs in to the BMC once (pyghmi gives up after about 30 s).
        result = expect(
            http(
                "POST",
                f"{self.base}/api/config/config_entries/flow/{flow['flow_id']}",
                body={"host": bmc.host, "port": bmc.port, "username": bmc.username, "password": bmc.password},
                token=self.token,
                timeout=90,
            ),
            "config flow user step",
        )
        if result.get("type") != "create_entry":
            raise DevelopError(f"the config flow did not create an entry: {result}")
        return dict(result["result"])

    def set_scan_interval(self, entry_id: str, seconds: int) -> None:
        """Run the options flow to poll every ``seconds`` s (the entry reloads)."""
        flow = expect(
            http(
                "POST",
                f"{self.base}/api/config/config_entries/options/flow",
                body={"handler": entry_id},
                token=self.token,
            ),
            "start the options flow",
        )
        if flow.get("type") == "menu":  # the options open on a menu: polling, alerts, ...
            flow = expect(
                http(
                    "POST",
                    f"{self.base}/api/config/config_entries/options/flow/{flow['flow_id']}",
                    body={"next_step_id": "polling"},
                    token=self.token,
                ),
                "open the polling options",
            )
        expect(
            http(
                "POST",
                f"{self.base}/api/config/config_entries/options/flow/{flow['flow_id']}",
                body={"scan_interval": seconds},
                token=self.token,
                timeout=90,
            ),
            "options flow",
        )

    def template(self, template: str) -> str:
        """Render a template (REST API)."""
        return str(
            expect(
                http("POST", f"{self.base}/api/template", body={"template": template}, token=self.token),
                "render a template",
            )
        ).strip()

    def wait_for_sensors(self, entry_id: str, timeout: float) -> tuple[list[dict[str, Any]], str]:
        """Wait until the entry's entities have numeric states; returns those states and the device id."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_running()
            listed = self.template(f"{{{{ integration_entities('{DOMAIN}') | join(',') }}}}")
            entity_ids = set(filter(None, listed.split(",")))
            states = expect(http("GET", f"{self.base}/api/states", token=self.token), "read states")
            ours = [state for state in states if state["entity_id"] in entity_ids]
            numeric = [state for state in ours if _is_number(state["state"])]
            entry = next((e for e in self.entries() if e["entry_id"] == entry_id), {})
            if numeric and entry.get("state") == "loaded":
                device_id = self.template(f"{{{{ device_id('{numeric[0]['entity_id']}') }}}}")
                return ours, device_id
            if time.monotonic() > deadline:
                raise DevelopError(
                    f"no Zephyr IPMI sensor state within {timeout:.0f} s (entry state: {entry.get('state')}, "
                    f"reason: {entry.get('reason')}); see {self.config_dir / 'home-assistant.log'}"
                )
            time.sleep(2)

    def websocket(self, *commands: dict[str, Any]) -> list[Any]:
        """Send websocket API commands in order (bounded: 60 s); returns their results, raises on an error."""
        return asyncio.run(asyncio.wait_for(self._async_websocket(commands), timeout=60))

    async def _async_websocket(self, commands: tuple[dict[str, Any], ...]) -> list[Any]:
        import aiohttp  # noqa: PLC0415 - a Home Assistant dependency, present in the venv

        results = []
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{self.base}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (reply := await ws.receive_json()).get("type") != "auth_ok":
                raise DevelopError(f"websocket login failed: {reply}")
            for number, command in enumerate(commands, start=1):
                await ws.send_json({"id": number, **command})
                while (reply := await ws.receive_json()).get("id") != number:
                    pass
                if not reply.get("success"):
                    raise DevelopError(f"websocket command {command['type']} failed: {reply.get('error')}")
                results.append(reply.get("result"))
        return results

    def confirm_http_config(self) -> None:
        """Confirm the HTTP settings taken from YAML (127.0.0.1:port), then drop them from configuration.yaml.

        Unconfirmed, Home Assistant would revert to its defaults (all interfaces) after 5 minutes and restart.
        """
        config = self.websocket({"type": "http/config"})[0]
        if config.get("pending") is not None and config.get("active_config_type") == "pending":
            self.websocket(
                {"type": "http/config/promote"},
                {"type": "repairs/ignore_issue", "domain": "http", "issue_id": "deprecated_yaml", "ignore": True},
            )
        self.write_configuration_yaml(with_http=False)

    def long_lived_token(self, path: Path) -> None:
        """Create a long-lived access token (30 days) for curl and write it to ``path`` (mode 0600)."""
        name = "scripts/develop"
        # A kept configuration has the token of an earlier run under the same (unique) name: replace it.
        for old in self.websocket({"type": "auth/refresh_tokens"})[0]:
            if old.get("client_name") == name:
                self.websocket({"type": "auth/delete_refresh_token", "refresh_token_id": old["id"]})
        token = self.websocket({"type": "auth/long_lived_access_token", "client_name": name, "lifespan": 30})[0]
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(f"{token}\n")

    def stop(self) -> None:
        """Stop hass (SIGTERM, then SIGKILL after HA_STOP_TIMEOUT)."""
        if self.proc is not None:
            stop_process(self.proc, "Home Assistant", HA_STOP_TIMEOUT)
            self.proc = None


def describe_control(state: dict[str, Any]) -> str:
    """One line for a control entity: a fan's state and percentage, a select's option, nothing for a button."""
    domain = state["entity_id"].split(".")[0]
    if domain == "button":
        return "" if state["state"] != "unavailable" else "unavailable"
    if domain == "fan" and (percentage := state["attributes"].get("percentage")) is not None:
        return f"{state['state']} at {percentage} %"
    return str(state["state"])


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line of scripts/develop."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description=(
            "Start a simulated BMC on 127.0.0.1 and Home Assistant with Zephyr IPMI from this working tree, "
            "onboarded and with the BMC added. Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--no-ha", action="store_true", help="only run the simulated BMC (to add it to another HA)")
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's HTTP port on 127.0.0.1 (8123)")
    parser.add_argument(
        "--bmc",
        choices=sorted(BACKENDS),
        default=os.environ.get("ZEPHYR_DEVELOP_BMC", DEFAULT_BACKEND),
        help=f"which simulator serves the BMC (default {DEFAULT_BACKEND}; env ZEPHYR_DEVELOP_BMC)",
    )
    parser.add_argument("--profile", help="bmcsim only: server profile (python -m bmcsim --list-profiles)")
    parser.add_argument(
        "--load",
        type=float,
        help="bmcsim only: hold the host CPU load at this percent (change it with bmcsim.control); default wanders",
    )
    parser.add_argument(
        "--bmc-port", type=int, default=6230, help="UDP port of the simulated BMC (6230; 0 = any free port)"
    )
    parser.add_argument("--scan-interval", type=int, default=10, help="poll interval set on the entry, s (10)")
    parser.add_argument(
        "--config", type=Path, default=DEVELOP_DIR / "config", help="Home Assistant config dir (.develop/config)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse the config dir of an earlier run (history, dev user) instead of recreating it",
    )
    parser.add_argument(
        "--ha-timeout", type=float, default=900, help="seconds to wait for Home Assistant to answer (900)"
    )
    args = parser.parse_args(argv)
    if not 10 <= args.scan_interval <= 3600:
        parser.error("--scan-interval must be between 10 and 3600")
    if args.load is not None and not 0 <= args.load <= 100:
        parser.error("--load must be between 0 and 100")
    return args


def start_bmc(args: argparse.Namespace) -> DemoBmc:
    """Start the simulated BMC, on another port when the requested one is taken."""
    bmc = make_bmc(args.bmc, args.bmc_port, profile=args.profile, load=args.load)
    try:
        bmc.start()
    except (OSError, RuntimeError) as err:
        bmc.stop()
        if not args.bmc_port:
            raise DevelopError(f"the simulated BMC did not start: {err}") from err
        say(
            f"the simulated BMC did not start on UDP port {args.bmc_port} ({str(err).splitlines()[0]}); "
            "trying a free port"
        )
        bmc = make_bmc(args.bmc, 0, profile=args.profile, load=args.load)
        try:
            bmc.start()
        except (OSError, RuntimeError) as err2:
            bmc.stop()
            raise DevelopError(f"the simulated BMC did not start: {err2}") from err2
    return bmc


def say_load_control(bmc: DemoBmc) -> None:
    """Print how to change the simulated host's CPU load (bmcsim's control channel), when there is one."""
    control = getattr(bmc, "control", None)
    if control is None:
        return
    load: float | None = getattr(bmc, "held_load", None)
    say(f"Load      .venv/bin/python -m bmcsim.control {control} set_load '{{\"percent\": 80}}'")
    if load is None:
        say("          (start with --load 5 to hold the load where you put it; otherwise it wanders)")
    else:
        say(f"          (held at {load:g} % until you set it)")


def run_bmc_only(bmc: DemoBmc, started: float) -> None:
    """--no-ha: print where the BMC answers, then keep its readings moving until stopped."""
    say()
    say(f"Simulated BMC ({bmc.label}) is running:")
    say(f"  host      {bmc.host}")
    say(f"  port      {bmc.port}  (UDP)")
    say(f"  username  {bmc.username}")
    say(f"  password  {bmc.password}")
    say("Add it in Home Assistant: Settings > Devices & services > Add integration > Zephyr IPMI.")
    say(f"Try it: ipmitool -I lanplus -C 3 -H {bmc.host} -p {bmc.port} -U {bmc.username} -P '{bmc.password}' sdr")
    say_load_control(bmc)
    say("Press Ctrl-C to stop it.")
    while True:
        time.sleep(VARY_EVERY)
        bmc.vary(time.monotonic() - started)


def run_with_ha(args: argparse.Namespace, bmc: DemoBmc, started: float, ha: HomeAssistant) -> None:
    """Start HA, onboard, add the entry, print the summary, then keep the readings moving while HA runs."""
    ha.write_config(keep=args.keep)
    say(f"starting Home Assistant on {ha.base} (config {ha.config_dir}, console log {ha.console_log})")
    ha.start()
    ha.wait_until_up(args.ha_timeout)
    say(f"Home Assistant answers after {time.monotonic() - started:.0f} s; onboarding and signing in")
    ha.onboard(DEV_USERNAME, DEV_PASSWORD)
    ha.confirm_http_config()
    ha.remove_entries()
    say(f"adding the Zephyr IPMI entry for {bmc.host}:{bmc.port}")
    entry = ha.add_entry(bmc)
    ha.set_scan_interval(entry["entry_id"], args.scan_interval)
    states, device_id = ha.wait_for_sensors(entry["entry_id"], timeout=120)
    token_file = DEVELOP_DIR / "token"
    ha.long_lived_token(token_file)
    if removed := ha.remove_onboarding_extras():
        say(f"removed the entries onboarding adds by default: {', '.join(removed)}")

    say()
    say(f"Zephyr IPMI entry {entry['title']!r}: {len(states)} entities, polled every {args.scan_interval} s")
    sensors = sorted((s for s in states if s["entity_id"].startswith("sensor.")), key=lambda s: s["entity_id"])
    for state in sensors[:6]:
        unit = state["attributes"].get("unit_of_measurement", "")
        say(f"  {state['entity_id']:45} {state['state']} {unit}".rstrip())
    controls = [s for s in states if s["entity_id"].split(".")[0] in CONTROL_DOMAINS]
    if controls:
        say("Fan and power control (change a zone's percentage and watch the fan sensors follow):")
        for state in sorted(
            controls, key=lambda s: (CONTROL_DOMAINS.index(s["entity_id"].split(".")[0]), s["entity_id"])
        ):
            say(f"  {state['entity_id']:45} {describe_control(state)}".rstrip())
    if (others := len(states) - min(len(sensors), 6) - len(controls)) > 0:
        say(f"  ... and {others} more")
    if fans := bmc.fans():
        say(f"BMC fans  {fans}")
    say()
    say(f"Open      {ha.base}/config/devices/device/{device_id}")
    say(f"Login     username {DEV_USERNAME}   password {DEV_PASSWORD}   (local dev user, 127.0.0.1 only)")
    say(f"BMC       {bmc.label} at {bmc.host}:{bmc.port}, user {bmc.username}, password {bmc.password}")
    say(f'REST      curl -H "Authorization: Bearer $(cat {token_file.relative_to(ROOT_DIR)})" {ha.base}/api/states')
    say(f"Logs      {ha.config_dir / 'home-assistant.log'}")
    say_load_control(bmc)
    say("Stop      Ctrl-C stops Home Assistant and the simulated BMC.")
    while True:
        time.sleep(VARY_EVERY)
        ha.check_running(restart_timeout=args.ha_timeout)
        bmc.vary(time.monotonic() - started)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequestedError


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _raise_stop)
    # A shell without job control starts background jobs with SIGINT ignored; Ctrl-C and kill -INT must stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # respect nohup
        signal.signal(signal.SIGHUP, _raise_stop)
    bmc: DemoBmc | None = None
    ha: HomeAssistant | None = None
    status = 0
    try:
        if not args.no_ha and not port_is_free(args.port):
            raise DevelopError(f"127.0.0.1:{args.port} is in use (another Home Assistant?); pick --port")
        bmc = start_bmc(args)
        bmc.vary(0.0)
        say(f"simulated BMC ({bmc.label}) answers on {bmc.host}:{bmc.port}")
        if args.no_ha:
            run_bmc_only(bmc, started)
        else:
            ha = HomeAssistant(args.config.resolve(), args.port, DEVELOP_DIR / "hass-console.log")
            run_with_ha(args, bmc, started, ha)
    except KeyboardInterrupt, StopRequestedError:
        say()
        say("stopping")
    except DevelopError as err:
        say(f"error: {err}")
        status = 1
    finally:
        # A second Ctrl-C must not cut the clean-up short; every step below is bounded.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if ha is not None:
            ha.stop()
            if bmc is not None and (fans := bmc.fans()):
                # Zephyr hands the fans back when Home Assistant stops: this shows the BMC's own mode again.
                say(f"after Home Assistant stopped, the BMC runs: {fans}")
        if bmc is not None:
            say("stopping the simulated BMC")
            bmc.stop()
        say("stopped; nothing left running")
    return status


if __name__ == "__main__":
    sys.exit(main())
