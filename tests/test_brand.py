"""The brand images: sizes and transparency per home-assistant/brands, renders of their SVGs, served by HA."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from PIL import Image, ImageChops
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

ROOT = Path(__file__).parent.parent
BRAND = ROOT / "custom_components" / "zephyr_ipmi" / "brand"
ART = ROOT / "art" / "brand"
# home-assistant/brands README, "Image specification": icons 256x256 (hDPI 512x512); logos 128-256 px on their
# shortest side (hDPI 256-512), landscape preferred. Dark variants follow the same rules.
ICONS = {"icon.png": 256, "icon@2x.png": 512}
LOGOS = {"logo.png": (128, 256), "logo@2x.png": (256, 512)}


@pytest.mark.parametrize("theme", ["", "dark_"])
def test_brand_image_sizes(theme: str) -> None:
    """Every image HA can serve for a custom integration is there, a transparent PNG of the required size."""
    for name, side in ICONS.items():
        image = Image.open(BRAND / f"{theme}{name}")
        assert (image.format, image.size, image.mode) == ("PNG", (side, side), "RGBA")
        assert image.getpixel((0, 0))[3] == 0  # transparent corner, no painted background
    for name, (low, high) in LOGOS.items():
        image = Image.open(BRAND / f"{theme}{name}")
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        width, height = image.size
        assert width > height
        assert low <= height <= high
        assert height == high  # the largest allowed size is the preferred one
    # The @2x images are the same drawings at twice the size.
    assert Image.open(BRAND / f"{theme}logo@2x.png").size == tuple(
        2 * side for side in Image.open(BRAND / f"{theme}logo.png").size
    )


def test_brand_folder_holds_only_servable_images() -> None:
    """HACS copies the whole integration folder to users: nothing but the 8 images HA serves."""
    expected = {f"{theme}{name}" for theme in ("", "dark_") for name in (*ICONS, *LOGOS)}
    assert {path.name for path in BRAND.iterdir()} == expected


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert (Debian librsvg2-bin) is missing")
@pytest.mark.parametrize(
    ("png", "svg", "size_args"),
    [
        ("icon.png", "icon.svg", ["-w", "256", "-h", "256"]),
        ("dark_icon@2x.png", "dark_icon.svg", ["-w", "512", "-h", "512"]),
        ("logo.png", "logo.svg", ["-h", "256"]),
        ("dark_logo@2x.png", "dark_logo.svg", ["-h", "512"]),
    ],
)
def test_brand_images_are_renders_of_their_svgs(png: str, svg: str, size_args: list[str]) -> None:
    """A changed SVG without scripts/render_brand run afterwards shows here (anti-aliasing may differ a little)."""
    rendered = subprocess.run(
        ["rsvg-convert", *size_args, str(ART / svg)], check=True, capture_output=True, timeout=60
    ).stdout
    fresh = Image.open(io.BytesIO(rendered)).convert("RGBA")
    committed = Image.open(BRAND / png).convert("RGBA")
    assert fresh.size == committed.size
    difference = ImageChops.difference(fresh, committed).convert("L")
    histogram = difference.histogram()
    differing = sum(histogram[16:])  # pixels that differ by more than 16 of 255 in some channel
    assert differing <= fresh.size[0] * fresh.size[1] // 200


async def test_home_assistant_serves_the_brand_images(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """The brands component of HA >= 2026.3 serves /api/brands/integration/zephyr_ipmi/* from brand/."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for name in ("icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "dark_icon.png", "dark_logo@2x.png"):
        response = await client.get(f"/api/brands/integration/zephyr_ipmi/{name}")
        assert response.status == 200, name
        assert response.content_type == "image/png"
        assert await response.read() == (BRAND / name).read_bytes()
