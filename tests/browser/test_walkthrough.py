"""A new user's first steps, in a real browser: the demo of scripts/develop walked with headless Chromium.

Starts what ``scripts/develop`` starts (a simulated Supermicro BMC from bmcsim, and Home Assistant with this
working tree's integration, onboarded), then, as a user would in Chromium: logs in, adds the integration
through *Add integration* with a wrong and then the right password, opens the device page, a sensor's
more-info dialog, the options flow, and downloads the diagnostics. It checks what the user must see: the
brand icon and logo load, the form's errors are the translated ones, the entities show values with units,
and the diagnostics hold no secret.

Runs when Debian's ``chromium`` and ``chromium-driver`` are installed (``scripts/setup`` installs them),
else it is skipped. Screenshots go to the test's temporary folder; with ``ZEPHYR_UPDATE_SCREENSHOTS=1``
they replace the ones in ``docs/screenshots/`` that the README shows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.page import CHROMEDRIVER, CHROMIUM, Page

ROOT = Path(__file__).parent.parent.parent
STRINGS = json.loads((ROOT / "custom_components" / "zephyr_ipmi" / "strings.json").read_text(encoding="utf-8"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
DEV_USERNAME = "browser-test"
DEV_PASSWORD = "Walk-Through-42"
BMC_USERNAME = "ha-monitor"
BMC_PASSWORD = "Quiet-Fans-2026"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Debian's chromium and chromium-driver are not installed (scripts/setup installs them)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("hass_frontend") is None, reason="home-assistant-frontend is not installed"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """The demo's pieces from scripts/develop: a bmcsim BMC and an onboarded Home Assistant (no entry yet)."""

    def __init__(self, config_dir: Path) -> None:
        """Prepare (not start) both, on free ports of 127.0.0.1."""
        scripts = str(ROOT / "scripts")
        if scripts not in sys.path:
            sys.path.insert(0, scripts)
        from develop_bmc import BmcsimBmc
        from develop_ha import HomeAssistant

        self.bmc = BmcsimBmc(0, username=BMC_USERNAME, password=BMC_PASSWORD, profile="supermicro-x11")
        self.ha = HomeAssistant(config_dir, _free_port(), config_dir.parent / "hass-console.log")

    def start(self) -> None:
        """Start the BMC and Home Assistant, onboard, and remove what onboarding adds besides."""
        self.bmc.start()
        self.bmc.vary(0.0)
        self.ha.write_config(keep=True)
        self.ha.start()
        self.ha.wait_until_up(180)
        self.ha.onboard(DEV_USERNAME, DEV_PASSWORD)
        self.ha.confirm_http_config()
        # Onboarding starts a few integrations' flows (Radio Browser, Google Translate); their entries appear
        # over the next seconds and would clutter the screenshots.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.ha.remove_onboarding_extras()
            entries = self.api("GET", "/api/config/config_entries/entry")
            if not {entry["domain"] for entry in entries} & {"radio_browser", "google_translate", "shopping_list"}:
                break
            time.sleep(1)

    def stop(self) -> None:
        """Stop Home Assistant, then the BMC."""
        self.ha.stop()
        self.bmc.stop()

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call Home Assistant's REST API as the onboarded user."""
        from develop_ha import expect, http

        return expect(http(method, f"{self.ha.base}{path}", body=body, token=self.ha.token), f"{method} {path}")


@pytest.fixture
def demo(tmp_path: Path, socket_enabled: None) -> Iterator[Demo]:
    """The running demo; stopped after the test."""
    demo = Demo(tmp_path / "config")
    try:
        demo.start()
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def page(demo: Demo, tmp_path: Path) -> Iterator[Page]:
    """Chromium on the demo's Home Assistant."""
    (tmp_path / "downloads").mkdir()
    page = Page(demo.ha.base, tmp_path / "chromium-profile", tmp_path / "downloads")
    try:
        yield page
    finally:
        page.close()


#: The screenshots the README shows.
README_SCREENSHOTS = {
    "add-integration.png",
    "config-flow-error.png",
    "device.png",
    "device-controls.png",
    "options.png",
}


def _shot(page: Page, tmp_path: Path, name: str, element: WebElement | None = None) -> None:
    """Save the window (or only ``element``) in the test's folder, and for the README when asked to."""
    paths = [tmp_path / "screenshots" / name]
    if name in README_SCREENSHOTS and os.environ.get("ZEPHYR_UPDATE_SCREENSHOTS") == "1":
        paths.append(SCREENSHOTS / name)
    for path in paths:
        if element is None:
            page.screenshot(path)
        else:
            page.element_screenshot(element, path)


def test_new_user_walkthrough(demo: Demo, page: Page, tmp_path: Path) -> None:
    """Log in, add the BMC (wrong, then right password), device, more-info, options, diagnostics."""
    started = time.monotonic()

    # Log in as the user onboarding created.
    page.open("/")
    page.fill(page.input(name="username"), DEV_USERNAME)
    page.fill(page.input(name="password"), DEV_PASSWORD)
    page.button("Log in")
    page.find("home-assistant-main")

    # Settings > Devices & services > Add integration > search "Zephyr": the brand icon shows in the list.
    page.open("/config/integrations/dashboard")
    page.button("Add integration")
    page.fill(page.input(placeholder="Search for a brand name"), "Zephyr")
    item = page.find("button", "Zephyr IPMI", visible=True)[0]
    src, width = page.wait_for_image("/api/brands/integration/zephyr_ipmi/icon")
    assert width in (256, 512), src  # icon.png or icon@2x.png, as the screen's pixel ratio asks
    _shot(page, tmp_path, "add-integration.png")
    page.click(item)

    # Until the notification channels are set up, the flow first asks what to add.
    page.click(page.find("ha-list-item", STRINGS["config"]["step"]["add"]["menu_options"]["bmc"], visible=True)[0])

    # The form: the BMC's address and a wrong password first.
    page.fill(page.input(name="host"), demo.bmc.host)
    page.fill(page.input(kind="number"), str(demo.bmc.port))
    page.fill(page.input(name="username"), BMC_USERNAME)
    page.fill(page.input(name="password"), "not-the-password")
    page.button("Submit")
    alert = page.find("ha-alert", STRINGS["config"]["error"]["invalid_auth"], visible=True)
    assert alert, page.text()
    _shot(page, tmp_path, "config-flow-error.png")

    page.fill(page.input(name="password"), BMC_PASSWORD)
    page.button("Submit")
    shown = page.wait_for_text("Skip and finish", timeout=60)
    assert "SYS-5019S-M" in shown  # the model from the BMC's FRU names the new device
    page.button("Skip and finish")
    (entry,) = [e for e in demo.api("GET", "/api/config/config_entries/entry") if e["domain"] == "zephyr_ipmi"]
    assert entry["state"] == "loaded"
    assert entry["title"] == "Supermicro SYS-5019S-M"

    # The integration's page shows the brand icon (a 2x screen would get icon@2x.png).
    page.open("/config/integrations/integration/zephyr_ipmi")
    src, width = page.wait_for_image("/api/brands/integration/zephyr_ipmi/icon")
    assert width in (256, 512), src
    page.wait_for_text("1 device")
    _shot(page, tmp_path, "integration.png")

    # The device page: every sensor with its value and unit, and the integration's logo.
    entities = demo.api("POST", "/api/template", {"template": "{{ integration_entities('zephyr_ipmi') | join(',') }}"})
    entity_ids = str(entities).split(",")
    device_id = demo.api("POST", "/api/template", {"template": f"{{{{ device_id('{entity_ids[0]}') }}}}"})
    page.open(f"/config/devices/device/{device_id}")
    shown = page.wait_for_text("CPU Temp")
    src, width = page.wait_for_image("/api/brands/integration/zephyr_ipmi/logo")
    assert width > 0, src
    for label, unit in (("CPU Temp", "°C"), ("FAN1", "rpm"), ("12V", "V"), ("Power", "W"), ("Energy", "kWh")):
        assert re.search(rf"{re.escape(label)} [\d.,]+ {re.escape(unit)}\b", shown), (label, unit, shown)
    assert "Firmware:" in shown
    assert "Chassis power On" in shown
    # The link to the BMC's web interface (the device's configuration URL). Its label ("Visit") is the frontend's
    # own text, which it sometimes renders empty when its translations arrive after the device page was built; the
    # link itself is what matters.
    url = f"https://{demo.bmc.host}"
    link = demo.api("POST", "/api/template", {"template": f"{{{{ device_attr('{device_id}', 'configuration_url') }}}}"})
    assert link == url, link
    assert page.find(f'a[href="{url}"]', visible=True), page.text()
    page.driver.set_window_size(1280, 1400)  # every sensor in one picture
    _shot(page, tmp_path, "device.png")
    page.driver.set_window_size(1280, 800)

    # Its controls (the simulated X11 has fan control): the fan mode, the zone fans, automatic fan control.
    names = STRINGS["entity"]
    shown = page.wait_for_text(names["select"]["fan_mode"]["name"])
    for name in (
        names["select"]["fan_mode"]["name"],
        names["fan"]["zone_cpu"]["name"],
        names["fan"]["zone_peripheral"]["name"],
        names["switch"]["automatic_fan_control"]["name"],
        names["button"]["power_on"]["name"],
    ):
        assert name in shown, (name, shown)
    cards = page.find("ha-device-entities-card")
    (controls,) = [card for card in cards if page.script("return arguments[0].header", card) == "Controls"]
    _shot(page, tmp_path, "device-controls.png", controls)

    # A sensor's more-info dialog: its value in °C.
    (cpu,) = [entity_id for entity_id in entity_ids if entity_id.endswith("_cpu_temp")]
    page.show_more_info(cpu)
    page.find("ha-more-info-dialog")
    shown = page.wait_for_text("Last changed")
    assert re.search(r"Details CPU Temp .*\d+ °C History", shown), shown
    _shot(page, tmp_path, "more-info.png")
    # Close it as a user does: the frontend keeps open dialogs in the browser history.
    page.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.wait_for_gone("Last changed")

    # Options: 5 s is refused with whole numbers in the message, 60 s is saved.
    page.open("/config/integrations/integration/zephyr_ipmi")
    page.button("Configure")
    polling = STRINGS["options"]["step"]["init"]["menu_options"]["polling"]
    page.click(page.find("ha-list-item", polling, visible=True)[0])
    interval = page.input(kind="number")
    assert interval.get_attribute("value") == "300"
    page.fill(interval, "5")
    page.button("Submit")
    message = STRINGS["options"]["error"]["scan_interval_out_of_range"].format(min=10, max=3600)
    shown = page.wait_for_text(message)
    assert "10.0" not in shown
    assert "3600.0" not in shown
    _shot(page, tmp_path, "options.png")
    page.fill(page.input(kind="number"), "60")
    page.button("Submit")
    page.wait_for_text("Finish")
    page.button("Finish")

    # Download diagnostics from the entry's menu: a JSON file with the readings and no secret in it.
    page.click(page.find("ha-dropdown-item, ha-md-menu-item, mwc-list-item", "Download diagnostics")[0])
    downloads = tmp_path / "downloads"
    deadline = time.monotonic() + 30
    while not (files := list(downloads.glob("*.json"))) and time.monotonic() < deadline:
        time.sleep(0.25)
    (diagnostics_file,) = files
    text = diagnostics_file.read_text(encoding="utf-8")
    diagnostics = json.loads(text)
    assert diagnostics["data"]
    assert "CPU Temp" in text
    for secret in (BMC_PASSWORD, BMC_USERNAME, DEV_PASSWORD):
        assert secret not in text

    assert time.monotonic() - started < 120
