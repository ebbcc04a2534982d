"""How long the submission forms are: page height and Tab stops before the send button, at 1280 px.

Builds the demo catalogue in a temporary SQLite file (with the ``observatory`` command), serves it
and opens, in Debian's Chromium through Playwright, the empty form ``/segnala`` and the correction
form of a published process. For each it prints the height of the page in CSS pixels, how many
times Tab must be pressed from the top of the page to reach the send button, and (correction form)
how many to reach «Cosa correggi e perché».

    .venv/bin/python bench/submission_form.py [--slug opencoesione-...]

It prints figures; it is not a test. Without /usr/bin/chromium it says so and exits with 0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browsing import CHROMIUM, launched, serving  # noqa: E402

OBSERVATORY = str(Path(sys.executable).with_name("observatory"))
WIDTH = 1280
MOST_TABS = 2_000


def _tabs_until(page, selector: str) -> int | None:
    """Tab presses from the top of the page until ``selector`` has the focus (None: never)."""
    page.evaluate("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
    target = page.locator(selector).first.element_handle()
    for pressed in range(1, MOST_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("element => document.activeElement === element", target):
            return pressed
    return None


def measure(page, url: str, send: str, first: str | None = None) -> dict[str, int | None]:
    page.goto(url)
    figures = {
        "altezza (px)": page.evaluate("document.documentElement.scrollHeight"),
        "Tab fino a «Invia»": _tabs_until(page, send),
    }
    if first:
        figures["Tab fino a «Cosa correggi»"] = _tabs_until(page, first)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default="patti-per-l-amministrazione-condivisa-in-piemonte")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: nothing measured")
        return
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database_url = f"sqlite:///{workdir / 'bench.db'}"
        env = {
            **os.environ,
            "OBSERVATORY_DATABASE_URL": database_url,
            "OBSERVATORY_INDEX_DIR": str(workdir / "index"),
        }
        subprocess.run([OBSERVATORY, "demo"], env=env, check=True, capture_output=True)
        with serving(database_url, workdir / "index", ()) as site, launched(CHROMIUM) as browser:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            pages = {
                "/segnala": measure(page, site + "/segnala", "#modulo-segnalazione .actions button"),
                f"/processi/{args.slug}/correzione": measure(
                    page,
                    f"{site}/processi/{args.slug}/correzione",
                    "#modulo-segnalazione .actions button",
                    "#campo-nota",
                ),
            }
    for path, figures in pages.items():
        print(f"{path} a {WIDTH} px: " + ", ".join(f"{name} {value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
