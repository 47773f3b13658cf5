"""Alert delivery latency: from the ``zephyr_ipmi_alert`` bus event to the message arriving at the service.

Run from the repository root::

    .venv/bin/python -m bench.delivery                 # 200 alerts, one every 20 ms, one slow channel
    .venv/bin/python -m bench.delivery --alerts 20     # a quick run

Inside a real Home Assistant core (``async_test_home_assistant`` on HA's own event loop), the integration is
loaded with a *Notification channels* entry holding one channel per service (Slack, Discord, Microsoft Teams,
Telegram) and one more Slack channel whose server answers only after ``--slow`` seconds. A BMC entry (never
set up: no BMC is contacted) routes every alert to all five. A local HTTP server on 127.0.0.1 plays the
services and notes when each message arrives. Alerts are fired on the bus at a steady pace, as the health
alerts fire them; the latency of an alert on a channel is the time from its event to its message at the
server. The slow channel shows that one channel's delays do not reach the others.

Prints a table and, with ``--json``, one JSON line instead: per channel the count and latency summary (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: import from the repository root instead
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from aiohttp import web

from bench.zephyr import summarize

PATHS = {
    "slack": "/slack/services/T0BENCH/B0BENCH/bench",
    "discord": "/discord/api/webhooks/1/bench",
    "teams": "/teams/workflows/bench/triggers/manual/paths/invoke",
    "telegram": "/bot1:bench/sendMessage",
    "slow slack": "/slow/services/T0BENCH/B0BENCH/slow",
}
#: How long (s) the run waits for the last messages after the last alert, beyond the slow channel's delays.
DRAIN_LIMIT = 120.0
_ALERT_NUMBER = re.compile(r"bench alert (\d+)\b")


class Sink:
    """The services' stand-in: notes when each alert's message arrives at each channel's path."""

    def __init__(self, slow: float) -> None:
        """Answer every path at once, except the slow channel's, which answers after ``slow`` s."""
        self.slow = slow
        self.arrivals: dict[str, dict[int, float]] = defaultdict(dict)
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        text = await request.text()
        if match := _ALERT_NUMBER.search(text):
            self.arrivals[request.path].setdefault(int(match.group(1)), arrived)
        if request.path == PATHS["slow slack"]:
            await asyncio.sleep(self.slow)
        if request.path.startswith("/bot"):
            return web.json_response({"ok": True, "result": {"message_id": 1}})
        return web.Response(text="ok")

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        """The full URL of ``path``."""
        return f"http://127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    """A free TCP port of 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(alerts: int, interval: float, slow: float) -> dict[str, Any]:
    """Fire ``alerts`` alerts ``interval`` s apart and return each channel's latency summary (ms)."""
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.config_entries import ConfigSubentryData  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.zephyr_ipmi.const import DOMAIN, EVENT_ALERT  # noqa: PLC0415
    from custom_components.zephyr_ipmi.credentials import async_encrypt_secret  # noqa: PLC0415

    sink = Sink(slow)
    await sink.start()
    fired: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="zephyr-bench-delivery-") as config_dir:
            async with async_test_home_assistant(config_dir=config_dir) as hass:
                try:
                    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
                    # notify needs repairs, which needs http: keep its server on loopback, on a free port.
                    http = {"server_host": ["127.0.0.1"], "server_port": _free_port()}
                    if not await async_setup_component(hass, "http", {"http": http}):
                        raise RuntimeError("cannot set up http")
                    if not await async_setup_component(hass, DOMAIN, {}):
                        raise RuntimeError("cannot set up the integration")
                    channels = [
                        ("slack", "Slack", {"url": sink.url(PATHS["slack"])}),
                        ("discord", "Discord", {"url": sink.url(PATHS["discord"])}),
                        ("teams", "Teams", {"url": sink.url(PATHS["teams"])}),
                        ("telegram", "Telegram", {"token": "1:bench", "chat_id": "42", "api_url": sink.url("")}),
                        ("slack", "Slow Slack", {"url": sink.url(PATHS["slow slack"])}),
                    ]
                    subentries = []
                    for kind, title, data in channels:
                        secret_key = "token" if kind == "telegram" else "url"
                        stored = {**data, secret_key: await async_encrypt_secret(hass, data[secret_key])}
                        subentries.append(
                            ConfigSubentryData(subentry_type=kind, title=title, unique_id=title, data=stored)
                        )
                    entry = MockConfigEntry(
                        domain=DOMAIN,
                        title="Notification channels",
                        unique_id="notification_channels",
                        subentries_data=subentries,
                    )
                    entry.add_to_hass(hass)
                    if not await hass.config_entries.async_setup(entry.entry_id):
                        raise RuntimeError("the channels did not load")
                    targets = ["notify.slack", "notify.discord", "notify.teams", "notify.telegram", "notify.slow_slack"]
                    route = {"kinds": [], "min_severity": "info", "targets": targets, "persistent_notification": False}
                    bmc = MockConfigEntry(
                        domain=DOMAIN,
                        title="bench server",
                        unique_id="bench-bmc",
                        data={"host": "127.0.0.1", "port": 9},
                        subentries_data=[
                            ConfigSubentryData(subentry_type="alert_route", title="All", unique_id=None, data=route)
                        ],
                    )
                    bmc.add_to_hass(hass)  # never set up: its routes are read, no BMC is contacted
                    await hass.async_block_till_done()

                    for number in range(alerts):
                        fired[number] = time.perf_counter()
                        hass.bus.async_fire(
                            EVENT_ALERT,
                            {
                                "kind": "threshold_crossed",
                                "severity": "critical",
                                "recovered": False,
                                "entry_id": bmc.entry_id,
                                "server": "bench server",
                                "sensor": "CPU Temp",
                                "reading": "96 °C",
                                "message": f"bench alert {number} of the delivery benchmark.",
                                "time": "2026-12-03T14:05:12+00:00",
                                "started": None,
                                "incident_id": f"bench-{number}",
                            },
                        )
                        await asyncio.sleep(interval)
                    deadline = time.perf_counter() + DRAIN_LIMIT + alerts * slow
                    while time.perf_counter() < deadline and any(
                        len(sink.arrivals[path]) < alerts for path in PATHS.values()
                    ):
                        await asyncio.sleep(0.05)
                finally:
                    await hass.async_stop(force=True)
    finally:
        await sink.stop()
    return {
        "alerts": alerts,
        "interval_s": interval,
        "slow_s": slow,
        "channels": {
            name: {
                "delivered": len(sink.arrivals[path]),
                "latency_ms": summarize(
                    [(arrived - fired[number]) * 1000 for number, arrived in sink.arrivals[path].items()]
                ),
            }
            for name, path in PATHS.items()
        },
    }


def run(alerts: int, interval: float, slow: float) -> dict[str, Any]:
    """Run ``measure`` on Home Assistant's own event loop."""
    from homeassistant.runner import create_event_loop  # noqa: PLC0415

    loop = create_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(measure(alerts, interval, slow))
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between two alerts")
    parser.add_argument("--slow", type=float, default=0.5, help="seconds the slow channel's server waits")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    result = run(args.alerts, args.interval, args.slow)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return 0
    print(f"{args.alerts} alerts, one every {args.interval * 1000:.0f} ms; slow channel waits {args.slow:g} s")
    print(f"{'channel':<12} {'delivered':>9} {'median ms':>10} {'p95 ms':>9} {'max ms':>9}")
    for name, channel in result["channels"].items():
        latency = channel["latency_ms"]
        print(
            f"{name:<12} {channel['delivered']:>9} {latency['median']:>10.1f} "
            f"{latency['p95']:>9.1f} {latency['max']:>9.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
