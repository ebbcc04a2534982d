"""End to end in a real browser: a municipality submits a process, an editor asks for a change, the
municipality follows the link of the e-mail it receives and amends it, the editor approves it, a visitor
finds it by searching (Debian's Chromium driven by Playwright: see browsing.py; the e-mail goes through
a real SMTP server: smtp_server.py)."""

from __future__ import annotations

from browsing import PASSWORD, TIMEOUT_MS

pytest_plugins = ["browsing", "smtp_server"]

TITLE = "Giardino condiviso vortiquello di Chieri"
MUNICIPALITY = "lucia.bianchi@comune.chieri.example"
REQUEST = "Indicate anche l'anno in cui il patto si è concluso."


def test_a_municipality_submits_amends_on_request_an_editor_approves_and_a_visitor_finds_it(
    server, browser, smtp
):
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
    municipality.fill("#campo-email", MUNICIPALITY)
    municipality.check("#campo-privacy")
    municipality.get_by_role("button", name="Invia la segnalazione").click()
    if municipality.locator("#duplicati").count():  # likely duplicates: it is a different process
        municipality.get_by_role("button", name="Invia comunque").first.click()
    expect(municipality.locator("h1")).to_have_text("Segnalazione ricevuta")
    expect(municipality.locator(".state")).to_have_text("In attesa")
    expect(municipality.locator(".notice.success")).to_contain_text("Riceverai un'e-mail")
    assert refused == []
    (receipt,) = smtp.inbox.wait_for(MUNICIPALITY)
    assert receipt.links()[0] == municipality.url.removesuffix("?inviata=1")

    # an editor logs in, finds it in the queue and asks for a change
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
    review = editor.url
    editor.fill("#campo-messaggio", REQUEST)
    editor.get_by_role("button", name="Chiedi modifiche").click()
    expect(editor.locator(".notice.success")).to_contain_text("Richiesta di modifiche inviata")

    # the municipality receives the e-mail, follows its link in a new browser and amends
    _, request = smtp.inbox.wait_for(MUNICIPALITY, 2)
    assert request.subject == f"Modifiche richieste per la tua segnalazione «{TITLE}»"
    assert REQUEST in request.text
    reader = browser.new_context().new_page()
    reader.set_default_timeout(TIMEOUT_MS)
    reader.goto(request.links()[0])
    expect(reader.locator(".state")).to_have_text("Modifiche richieste")
    expect(reader.locator(".editor-message")).to_contain_text(REQUEST)
    reader.fill("#campo-end-year", "2024")
    reader.get_by_role("button", name="Invia le modifiche").click()
    expect(reader.locator("h1")).to_have_text("Modifiche ricevute")
    expect(reader.locator(".state")).to_have_text("In attesa")

    # the editor approves the amended submission
    editor.goto(review)
    expect(editor.locator(".state")).to_have_text("In attesa")
    editor.get_by_role("button", name="Approva e pubblica").click()
    expect(editor.locator(".notice.success")).to_contain_text("Segnalazione approvata")
    expect(editor.locator(".state")).to_have_text("Approvata")
    _, _, approved = smtp.inbox.wait_for(MUNICIPALITY, 3)
    assert approved.subject == f"Segnalazione approvata: «{TITLE}»"
    reader.goto(approved.links()[0])
    expect(reader.locator("h1")).to_have_text(TITLE)
    expect(reader.locator("body")).to_contain_text("2024")

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
