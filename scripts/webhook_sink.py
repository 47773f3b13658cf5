"""A local stand-in for Slack, Discord, Microsoft Teams and Telegram that prints what Zephyr sends it.

Run ``.venv/bin/python scripts/webhook_sink.py`` (port 8765, or ``--port N``), then add a channel in Home
Assistant with one of the URLs it prints. It listens on 127.0.0.1 only and answers as each service does
(Slack ``ok``, Discord and Teams an empty success, Telegram ``{"ok": true}``). Stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from aiohttp import web

TELEGRAM_TOKEN = "123456:local-sink-token"  # noqa: S105 - a made-up token the sink accepts


def build_app(out: TextIO = sys.stdout) -> web.Application:
    """Return the sink's application: every POST is printed as JSON with its path, and acknowledged."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        print(f"--- {request.path}", json.dumps(body, indent=2, ensure_ascii=False), sep="\n", file=out, flush=True)
        if request.path.startswith("/bot"):
            return web.json_response({"ok": True, "result": {"message_id": 1}})
        if request.path.startswith("/slack"):
            return web.Response(text="ok")
        return web.Response(status=202 if request.path.startswith("/teams") else 204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    return app


def main() -> None:
    """Print the channel URLs and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    base = f"http://127.0.0.1:{port}"
    print(  # noqa: T201
        f"Slack webhook URL:    {base}/slack/services/T000/B000/local\n"
        f"Discord webhook URL:  {base}/discord/api/webhooks/1/local\n"
        f"Teams Workflows URL:  {base}/teams/workflows/local/triggers/manual/paths/invoke\n"
        f"Telegram: bot token {TELEGRAM_TOKEN}, chat id 42, Bot API URL {base}\n",
        flush=True,
    )
    web.run_app(build_app(), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
