"""End to end in a real browser: a municipality submits a process, an editor approves it, a visitor
finds it by searching (Debian's Chromium driven by Playwright: see browsing.py)."""

from __future__ import annotations

from browsing import PASSWORD, TIMEOUT_MS

pytest_plugins = ["browsing"]

TITLE = "Giardino condiviso vortiquello di Chieri"


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
