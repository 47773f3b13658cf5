"""Driving Home Assistant's frontend with Selenium: headless Debian Chromium, queries through shadow roots.

Home Assistant's frontend is built of web components, each with its own shadow DOM, so CSS selectors from the
document do not reach most elements. ``Page.find`` walks every open shadow root in the browser instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# No network beyond 127.0.0.1, nothing the browser would fetch or update by itself, a profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--lang=en-US",
)
_DEEP_QUERY = """
const [selector, text] = arguments;
const found = [];
const labelled = (element) => (element.getAttribute('label') || element.label || '') === text;
const walk = (root) => {
  for (const element of root.querySelectorAll(selector)) {
    if (text === null || (element.textContent || '').includes(text) || labelled(element)) {
      found.push(element);
    }
  }
  for (const element of root.querySelectorAll('*')) {
    if (element.shadowRoot) walk(element.shadowRoot);
  }
};
walk(document);
return found;
"""
_VISIBLE_TEXT = """
const parts = [];
const walk = (root) => {
  for (const node of root.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) parts.push(node.textContent);
    else if (node.nodeType === Node.ELEMENT_NODE && !['SCRIPT', 'STYLE', 'TEMPLATE'].includes(node.tagName)) {
      if (node.shadowRoot) walk(node.shadowRoot);
      walk(node);
    }
  }
};
walk(document.body);
return parts.join(' ').replace(/\\s+/g, ' ');
"""


class Page:
    """One headless Chromium on Home Assistant at ``base`` (http://127.0.0.1:port)."""

    def __init__(self, base: str, profile_dir: Path, download_dir: Path) -> None:
        """Start Chromium through Debian's chromedriver with a fresh profile; downloads go to ``download_dir``."""
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}"):
            options.add_argument(flag)
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
        )
        self.base = base
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)

    def close(self) -> None:
        """Quit Chromium and its driver."""
        self.driver.quit()

    def open(self, path: str) -> None:
        """Load ``path`` of Home Assistant."""
        self.driver.get(f"{self.base}{path}")

    def find(
        self, selector: str, text: str | None = None, *, timeout: float = 30.0, visible: bool = False
    ) -> list[WebElement]:
        """Wait for elements matching ``selector`` (in any shadow root) whose text contains ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found: list[WebElement] = self.driver.execute_script(_DEEP_QUERY, selector, text)
                if visible:
                    found = [element for element in found if element.is_displayed()]
                if found:
                    return found
            except StaleElementReferenceException:
                pass  # the frontend re-rendered between the query and the check
            if time.monotonic() > deadline:
                raise AssertionError(f"no {selector!r} with text {text!r} after {timeout:.0f} s:\n{self.text()}")
            time.sleep(0.25)

    def click(self, element: WebElement) -> None:
        """Click as the element's own handler sees it (no overlay or animation in the way)."""
        self.driver.execute_script("arguments[0].click()", element)

    def button(self, text: str, *, timeout: float = 30.0) -> None:
        """Click the button labelled ``text``."""
        self.click(self.find("ha-button, ha-icon-button, button", text, timeout=timeout)[-1])

    def fill(self, element: WebElement, value: str) -> None:
        """Replace a text box's content by typing ``value``, again if an animation swallowed keys."""
        for _ in range(5):
            element.send_keys(Keys.CONTROL, "a")
            element.send_keys(value)
            if element.get_attribute("value") == value:
                return
            time.sleep(0.3)
        raise AssertionError(f"could not type {value!r}: the box holds {element.get_attribute('value')!r}")

    def input(self, *, name: str | None = None, kind: str | None = None, placeholder: str | None = None) -> WebElement:
        """The visible <input> with that name, type or placeholder."""

        def matches(element: WebElement) -> bool:
            return all(
                wanted is None or element.get_attribute(attribute) == wanted
                for attribute, wanted in (("name", name), ("type", kind), ("placeholder", placeholder))
            )

        deadline = time.monotonic() + 30
        while True:
            try:
                found = [element for element in self.find("input", visible=True) if matches(element)]
            except StaleElementReferenceException:
                found = []
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no input named {name!r} of type {kind!r}:\n{self.text()}")
            time.sleep(0.25)

    def text(self) -> str:
        """All text the page shows, shadow DOM included, whitespace collapsed."""
        return str(self.driver.execute_script(_VISIBLE_TEXT))

    def wait_for_text(self, text: str, timeout: float = 30.0) -> str:
        """Wait until the page shows ``text``; return the page's text."""
        deadline = time.monotonic() + timeout
        while text not in (shown := self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not shown after {timeout:.0f} s:\n{shown}")
            time.sleep(0.25)
        return shown

    def wait_for_gone(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the page no longer shows ``text``."""
        deadline = time.monotonic() + timeout
        while text in (shown := self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} still shown after {timeout:.0f} s:\n{shown}")
            time.sleep(0.25)

    def loaded_images(self, src_part: str) -> list[tuple[str, int]]:
        """(src, natural width) of the images whose src contains ``src_part``; width 0 means it did not load."""
        images: list[WebElement] = self.driver.execute_script(_DEEP_QUERY, "img", None)
        natural_width = "return arguments[0].naturalWidth"
        return [
            (str(image.get_attribute("src")), int(self.driver.execute_script(natural_width, image)))
            for image in images
            if src_part in (image.get_attribute("src") or "")
        ]

    def wait_for_image(self, src_part: str, timeout: float = 30.0) -> tuple[str, int]:
        """Wait until an image whose src contains ``src_part`` has loaded; return (src, natural width)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                loaded = [(src, width) for src, width in self.loaded_images(src_part) if width > 0]
            except StaleElementReferenceException:
                loaded = []
            if loaded:
                return loaded[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no loaded image {src_part!r}: {self.loaded_images(src_part)}")
            time.sleep(0.25)

    def screenshot(self, path: Path) -> None:
        """Save what the browser shows as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))

    def element_screenshot(self, element: WebElement, path: Path) -> None:
        """Save what one element shows (scrolled into view) as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.screenshot(str(path))

    def show_more_info(self, entity_id: str) -> None:
        """Open an entity's more-info dialog, as a click on the entity does (the frontend's own event)."""
        self.driver.execute_script(
            "document.querySelector('home-assistant').dispatchEvent(new CustomEvent('hass-more-info',"
            " {detail: {entityId: arguments[0]}, bubbles: true, composed: true}))",
            entity_id,
        )

    def script(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page."""
        return self.driver.execute_script(source, *args)
