"""Alert delivery as a new user sets it up, in a real browser: the demo of scripts/develop, the README's local
webhook sink, the notification channels entry, a Slack channel tested before it is saved, *Send test alert*.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys

from tests.browser.page import Page
from tests.browser.test_walkthrough import (  # noqa: F401 - shared fixtures and marks
    DEV_PASSWORD,
    DEV_USERNAME,
    ROOT,
    STRINGS,
    Demo,
    _free_port,
    demo,
    page,
    pytestmark,
)


class Sink:
    """``scripts/webhook_sink.py`` running as the README says, its output collected."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._file = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "webhook_sink.py"), "--port", str(port)],
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, text: str, count: int = 1, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (out := self.output()).count(text) >= count:
                return out
            time.sleep(0.25)
        raise AssertionError(f"{text!r} x{count} not in the sink's output:\n{self.output()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._file.close()


@pytest.fixture
def sink(tmp_path: Path, socket_enabled: None) -> Iterator[Sink]:
    started = Sink(_free_port(), tmp_path / "sink.log")
    try:
        started.wait_for("Slack webhook URL")
        yield started
    finally:
        started.stop()


def test_slack_channel_walkthrough(demo: Demo, page: Page, sink: Sink, tmp_path: Path) -> None:  # noqa: F811
    """Set up the channels, add a Slack channel pointing at the sink, and send a test alert."""
    page.open("/")
    page.input(name="username").send_keys(DEV_USERNAME)
    page.input(name="password").send_keys(DEV_PASSWORD)
    page.button("Log in")
    page.find("home-assistant-main")

    # Add integration > Zephyr IPMI > Set up notification channels.
    page.open("/config/integrations/dashboard")
    page.button("Add integration")
    search = page.input(placeholder="Search for a brand name")
    time.sleep(0.5)
    search.send_keys("Zephyr")
    page.click(page.find("button", "Zephyr IPMI", visible=True)[0])
    menu = STRINGS["config"]["step"]["add"]
    page.wait_for_text(menu["title"])
    page.screenshot(tmp_path / "screenshots" / "add-menu.png")
    page.click(page.find("ha-list-item", menu["menu_options"]["notification_channels"], visible=True)[0])
    page.wait_for_text("Notification channels")
    page.button("Finish")
    (entry,) = [e for e in demo.api("GET", "/api/config/config_entries/entry") if e["domain"] == "zephyr_ipmi"]
    assert entry["title"] == "Notification channels"
    assert entry["state"] == "loaded"

    # On the entry: Add Slack channel, name and webhook URL; the test alert reaches the sink before saving.
    page.open("/config/integrations/integration/zephyr_ipmi")
    slack = STRINGS["config_subentries"]["slack"]
    page.button(slack["initiate_flow"]["user"])
    page.wait_for_text(slack["step"]["user"]["title"])
    time.sleep(0.5)  # the dialog's opening animation drops keys typed before it ends
    name = page.input(name="name")  # prefilled with "Slack"
    name.send_keys(Keys.END, Keys.BACKSPACE * len("Slack"), "Ops")
    page.fill(page.input(name="url"), f"http://127.0.0.1:{sink.port}/slack/services/T000/B000/local")
    page.screenshot(tmp_path / "screenshots" / "slack-channel.png")
    page.button("Submit")
    out = sink.wait_for("--- /slack/services/T000/B000/local")
    assert "Test alert" in out
    page.wait_for_text("Ops")
    page.screenshot(tmp_path / "screenshots" / "slack-created.png")

    # The channel is set up at once (the entry reloads): its entities appear; Send test alert posts again.
    deadline = time.monotonic() + 30
    while True:
        entities = str(
            demo.api(
                "POST", "/api/template", {"template": "{{ integration_entities('zephyr_ipmi') | sort | join(',') }}"}
            )
        )
        if "button." in entities or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert entities.split(",") == ["binary_sensor.ops_delivery_problem", "button.ops_send_test_alert", "notify.ops"]
    demo.api("POST", "/api/services/button/press", {"entity_id": "button.ops_send_test_alert"})
    sink.wait_for("--- /slack/services/T000/B000/local", count=2)
    assert demo.api("GET", "/api/states/binary_sensor.ops_delivery_problem")["state"] == "off"
    demo.api("POST", "/api/services/notify/send_message", {"entity_id": "notify.ops", "message": "Hello from HA"})
    assert '"text": "Hello from HA"' in sink.wait_for("Hello from HA")
