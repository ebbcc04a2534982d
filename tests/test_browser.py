"""End to end in a real browser: a municipality submits a process, an editor approves it, a visitor
finds it by searching.

Debian's Chromium (``/usr/bin/chromium``, ``apt-get install chromium``) is driven by Playwright for
Python; no browser is downloaded. Without it the test is skipped, unless
OBSERVATORY_TEST_BROWSER=required (as in .ci/run), which makes a missing browser an error.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_REQUIRED = os.environ.get("OBSERVATORY_TEST_BROWSER", "") == "required"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "una password per il browser"
TITLE = "Giardino condiviso vortiquello di Chieri"
TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start-up:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the server did not answer at {url} within {seconds} s")


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; the test is skipped without it (an error when it is required)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run the browser test"
        if BROWSER_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def server(chromium, demo_db_url, tmp_path):
    """`observatory serve` on a free port over a copy of the demo catalogue, with an editor created
    by `observatory create-staff`; yields the base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": demo_db_url,
        "OBSERVATORY_INDEX_DIR": str(tmp_path / "index"),
        "OBSERVATORY_SECRET_KEY": "browser-test-secret",
        "OBSERVATORY_BASE_URL": base_url,
        "OBSERVATORY_STAFF_PASSWORD": PASSWORD,
    }
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "observatory",
            "create-staff",
            "rita",
            "--name",
            "Rita Redattrice",
            "--role",
            "redattore",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "observatory", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_up(base_url + "/", process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser(chromium):
    """Headless Chromium driven by Playwright (start it after the server: Playwright's sync API keeps
    an event loop running in this thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def test_a_municipality_submits_an_editor_approves_and_a_visitor_finds_it(server, browser):
    from playwright.sync_api import expect

    # a municipality fills the public form; the suggestions script runs under the strict CSP
    municipality = browser.new_page()
    municipality.set_default_timeout(TIMEOUT_MS)
    refused: list[str] = []
    municipality.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    municipality.goto(server + "/segnala")
    municipality.fill("#campo-title", TITLE)
    municipality.fill("#campo-summary", "Un giardino curato dai residenti con un patto di collaborazione.")
    municipality.locator("#campo-territories").press_sequentially("Chier")
    expect(
        municipality.locator("#campo-territories-suggerimenti li", has_text="Chieri").first
    ).to_be_visible()
    municipality.fill("#campo-decision-holders", "Comune di Chieri")
    municipality.fill("#campo-territories", "Chieri (TO)")
    municipality.fill("#campo-start-year", "2023")
    municipality.fill("#campo-nome", "Lucia Bianchi")
    municipality.fill("#campo-ente", "Comune di Chieri")
    municipality.fill("#campo-email", "lucia.bianchi@comune.chieri.example")
    municipality.check("#campo-privacy")
    municipality.get_by_role("button", name="Invia la segnalazione").click()
    if municipality.locator("#duplicati").count():  # likely duplicates: it is a different process
        municipality.get_by_role("button", name="Invia comunque").first.click()
    expect(municipality.locator("h1")).to_have_text("Segnalazione ricevuta")
    expect(municipality.locator(".state")).to_have_text("In attesa")
    assert refused == []

    # an editor logs in, finds it in the queue and approves it
    editor = browser.new_context().new_page()
    editor.set_default_timeout(TIMEOUT_MS)
    editor.goto(server + "/redazione")
    expect(editor).to_have_url(f"{server}/redazione/accesso?dopo=%2Fredazione")
    editor.fill("#username", "rita")
    editor.fill("#password", PASSWORD)
    editor.get_by_role("button", name="Entra").click()
    expect(editor).to_have_url(f"{server}/redazione")
    editor.get_by_role("link", name=TITLE).click()
    expect(editor.locator("h1")).to_contain_text(TITLE)
    editor.get_by_role("button", name="Approva e pubblica").click()
    expect(editor.locator(".notice.success")).to_contain_text("Segnalazione approvata")
    expect(editor.locator(".state")).to_have_text("Approvata")

    # a visitor searches and finds it
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT_MS)
    visitor.goto(server + "/processi")
    visitor.fill("input[name=q]", "vortiquello")
    visitor.locator("input[name=q]").press("Enter")
    card = visitor.locator("article.card .card-title a", has_text=TITLE)
    expect(card).to_have_count(1)
    card.click()
    expect(visitor.locator("h1")).to_have_text(TITLE)
    expect(visitor.locator("body")).to_contain_text("Comune di Chieri")
    expect(visitor.locator("body")).not_to_contain_text("lucia.bianchi@comune.chieri.example")
