#!/usr/bin/env python3
"""Build the site's icons from ``static/favicon.svg``: ``favicon.ico`` and ``apple-touch-icon.png``.

Usage::

    python scripts/icons/build_icons.py

Browsers that take an SVG icon use ``favicon.svg`` itself. The others ask for ``/favicon.ico``:
it holds the drawing at 16, 32 and 48 px, each as a PNG (an ICO may hold PNG images, which every
browser since Internet Explorer 9 reads). iOS takes ``apple-touch-icon.png``, 180 px, opaque (it
rounds the corners itself), so it is drawn on the icon's own blue.

Debian's Chromium (``/usr/bin/chromium``, driven by Playwright as in the browser tests) draws the
SVG, so the PNGs look as browsers show the SVG; the ICO container is written here with ``struct``.
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "static" / "favicon.svg"
ICO = ROOT / "static" / "favicon.ico"
TOUCH = ROOT / "static" / "apple-touch-icon.png"
CHROMIUM = Path("/usr/bin/chromium")
ICO_SIZES = (16, 32, 48)
TOUCH_SIZE = 180
#: The icon's background colour, under the apple-touch icon's corners.
BLUE = "#0d2b45"


def _page(svg: str, size: int, background: str) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return (
        f'<html><body style="margin:0;background:{background}">'
        f'<img src="data:image/svg+xml;base64,{data}" width="{size}" height="{size}" style="display:block">'
        "</body></html>"
    )


def render(svg: str, sizes: tuple[int, ...], background: str = "transparent") -> dict[int, bytes]:
    """The SVG drawn by Chromium at each of ``sizes`` px, as PNG bytes (transparent around it
    unless ``background`` is a colour)."""
    from playwright.sync_api import sync_playwright

    drawn = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for size in sizes:
                page = browser.new_page(viewport={"width": size, "height": size}, device_scale_factor=1)
                page.set_content(_page(svg, size, background))
                drawn[size] = page.screenshot(
                    clip={"x": 0, "y": 0, "width": size, "height": size},
                    omit_background=background == "transparent",
                )
                page.close()
        finally:
            browser.close()
    return drawn


def ico(images: dict[int, bytes]) -> bytes:
    """An ICO file holding each PNG of ``images`` (by its size in px, at most 256)."""
    header = struct.pack("<HHH", 0, 1, len(images))  # reserved, type 1 (icon), how many images
    offset = len(header) + 16 * len(images)
    entries, data = b"", b""
    for size, png in sorted(images.items()):
        # width, height (0 means 256), no palette, reserved, 1 plane, 32 bits a pixel, bytes, offset
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + entries + data


def main() -> None:
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    svg = SOURCE.read_text(encoding="utf-8")
    ICO.write_bytes(ico(render(svg, ICO_SIZES)))
    TOUCH.write_bytes(render(svg, (TOUCH_SIZE,), background=BLUE)[TOUCH_SIZE])
    print(f"{ICO.relative_to(ROOT)} ({', '.join(map(str, ICO_SIZES))} px), {TOUCH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
