"""The browser tests' shared parts: Debian's Chromium driven by Playwright, and the real server.

Debian's Chromium (``/usr/bin/chromium``, ``apt-get install chromium``) is driven by Playwright for
Python; no browser is downloaded. Without it the browser tests are skipped, unless
OBSERVATORY_TEST_BROWSER=required (as in .ci/run), which makes a missing browser an error.

A test module uses the fixtures by naming this module: ``pytest_plugins = ["browsing"]``; it imports
this module before pytest does, so pytest cannot rewrite its asserts: PYTEST_DONT_REWRITE says it need not.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
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
TIMEOUT_MS = 30_000
#: axe-core, vendored (see its README), and the rules it checks: WCAG 2.1 A and AA.
AXE = Path(__file__).parent / "data" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOWN_TARGETS = 3


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


def _create_staff(env: dict[str, str], username: str, name: str, role: str) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "observatory", "create-staff", username, "--name", name, "--role", role],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr


@contextmanager
def serving(
    db_url: str, index_dir: Path, staff: tuple[tuple[str, str, str], ...], env: dict[str, str] | None = None
):
    """`observatory serve` on a free port over ``db_url`` (with ``env`` on top of its environment) until
    the block ends, with the ``staff`` (username, name, role) created by `observatory create-staff`, all
    with PASSWORD; yields the base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": db_url,
        "OBSERVATORY_INDEX_DIR": str(index_dir),
        "OBSERVATORY_SECRET_KEY": "browser-test-secret",
        "OBSERVATORY_BASE_URL": base_url,
        "OBSERVATORY_STAFF_PASSWORD": PASSWORD,
        **(env or {}),
    }
    for username, name, role in staff:
        _create_staff(env, username, name, role)
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


@contextmanager
def launched(chromium: Path):
    """Headless Chromium driven by Playwright until the block ends (start it after the server:
    Playwright's sync API keeps an event loop running in this thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def wcag_violations(page) -> list[str]:
    """axe's WCAG 2.1 A and AA violations on ``page`` as it is now, each as its id, impact, help and
    first targets. axe runs through ``page.evaluate``, which the pages' Content Security Policy
    does not govern: the page is checked exactly as it is served."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG,
    )
    found = []
    for violation in results["violations"]:
        nodes = violation["nodes"]
        found.append(
            f"{violation['id']} ({violation['impact']}, {len(nodes)} elements): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        found += [f"    {' '.join(node['target'])}: {node['html'][:300]}" for node in nodes[:SHOWN_TARGETS]]
    return found


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; the test is skipped without it (an error when it is required)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run the browser test"
        if BROWSER_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def server(chromium, demo_db_url, tmp_path, smtp):
    """`observatory serve` on a free port over a copy of the demo catalogue, with the editor "rita",
    sending e-mail through the test SMTP server ``smtp`` (smtp_server.py); yields the base URL."""
    mail = {
        "OBSERVATORY_SMTP_HOST": "127.0.0.1",
        "OBSERVATORY_SMTP_PORT": str(smtp.port),
        "OBSERVATORY_SMTP_TLS": "none",
        "OBSERVATORY_MAIL_FROM": "Osservatorio <redazione@osservatorio.example>",
        "OBSERVATORY_MAIL_POLL": "0.2",
    }
    staff = (("rita", "Rita Redattrice", "redattore"),)
    with serving(demo_db_url, tmp_path / "index", staff, mail) as base_url:
        yield base_url


@pytest.fixture
def browser(chromium):
    """Headless Chromium driven by Playwright (ask for it after ``server``)."""
    with launched(chromium) as browser:
        yield browser
