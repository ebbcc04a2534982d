"""The site's basics in a real browser (Debian's Chromium, see browsing.py): no page asks for a file
that is missing, a process page prints as a clean record, and the contact form is filled in and sent
with the keyboard alone, its message reaching the editors by e-mail (smtp_server.py)."""

from __future__ import annotations

from browsing import TIMEOUT_MS
from helpers import PATTI

pytest_plugins = ["browsing", "smtp_server"]

PAGES = ("/", "/processi", f"/processi/{PATTI}", "/contatti", "/accessibilita", "/privacy", "/note-legali")
#: What a printed page leaves out.
NOT_PRINTED = (".site-header", ".site-header nav", ".skip-link", ".breadcrumbs", ".site-footer .footer-links")
#: The editorial office's address where contact messages go (OBSERVATORY_PUBLISHER_EMAIL's default).
EDITORS = "redazione@example.org"


def _display(page, selector: str) -> str:
    return page.eval_on_selector(selector, "element => getComputedStyle(element).display")


def test_every_file_loads_a_process_prints_clean_and_the_contact_form_works_by_keyboard(
    server, browser, smtp
):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for path in PAGES:
        assert page.goto(server + path).status == 200, path
        for icon in page.eval_on_selector_all("link[rel~=icon]", "links => links.map(l => l.href)"):
            assert page.request.get(icon).status == 200, icon
    assert failed == []

    page.goto(server + f"/processi/{PATTI}")
    assert _display(page, ".print-address") == "none"  # on screen the address bar says it
    page.emulate_media(media="print")
    assert _display(page, ".site-header") == _display(page, ".site-footer .footer-links") == "none"
    for selector in NOT_PRINTED:
        assert not page.locator(selector).first.is_visible(), selector
    assert page.locator("main h1").is_visible() and page.locator("main section").first.is_visible()
    address = page.locator(".print-address")
    assert address.is_visible() and address.inner_text() == page.get_attribute("link[rel=canonical]", "href")
    outside = page.locator("main a[href^='http']").first
    after = outside.evaluate("a => getComputedStyle(a, '::after').content")
    assert outside.get_attribute("href") in after
    assert page.pdf(format="A4")[:4] == b"%PDF"

    # the contact form, on a phone, with the keyboard alone
    page = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "/contatti")
    outlines = []
    for _ in range(40):  # from the top of the page to the first box of the form
        page.keyboard.press("Tab")
        outlines.append(page.evaluate("getComputedStyle(document.activeElement).outlineStyle"))
        if page.evaluate("document.activeElement.id") == "campo-nome":
            break
    assert page.evaluate("document.activeElement.id") == "campo-nome"
    assert "none" not in outlines  # focus is always visible
    for text in (
        "Lucia Bianchi",
        "lucia.bianchi@example.org",
        "Un errore nella mappa",
        "La mappa del Piemonte è vuota.",
    ):
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/privacy#contatti"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "campo-privacy"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Invia il messaggio"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Messaggio inviato")
    (mail,) = smtp.inbox.wait_for(EDITORS)
    assert mail.subject == "Messaggio dal sito: Un errore nella mappa"
    assert "La mappa del Piemonte è vuota." in mail.text
