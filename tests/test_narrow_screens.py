"""Every main page reflows in Chromium at 320, 390 and 1280 px (WCAG 1.4.10): nothing scrolls sideways,
public or in the editorial office; on a phone the search results come first; ticking a filter applies it.

One browser for the module, one context per width, every page visited in it.
"""

from __future__ import annotations

import pytest
from browsing import PASSWORD, TIMEOUT_MS, launched, serving

pytest_plugins = ["browsing"]

ADMIN = (("ada", "Ada Amministratrice", "amministratore"),)
PUBLIC = (
    "/",
    "/processi",
    "/processi?q=bilancio+partecipativo&ambito=ambiente&territorio=R08",
    "/processi/opencoesione",  # the funding-phase table
    "/processi/patti-per-l-amministrazione-condivisa-in-piemonte",
    "/territori",
    "/territori/R01",
    "/territori/C001272",
    "/enti",
    "/enti/comune-di-torino",
    "/statistiche",
    "/mappa",
    "/dati",
    "/segnala",
    "/schema",
    "/una-pagina-che-non-esiste",
)
STAFF = (
    "/redazione",
    "/redazione?stato=tutte",
    "/redazione/processi",
    "/redazione/vocabolari",
    "/redazione/account",
    "/redazione/registro",
    "/redazione/sinonimi",
    "/redazione/notifiche",
)
#: Pages reached by the first link matching a selector: a review, an edit form, versions, an account.
FOLLOWED = (
    ("/redazione", "a[href^='/redazione/segnalazioni/']"),
    ("/redazione/processi", "a[href$='/modifica']"),
    ("/redazione/processi", "a[href$='/versioni']"),
    ("/redazione/account", "table.accounts tbody a"),
)
#: The widest elements named when a page overflows, and what the check measures.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.checkVisibility())
    .slice(-3).map(el => el.outerHTML.slice(0, 120));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


@pytest.fixture(scope="module")
def site(chromium, backend, tmp_path_factory):
    """One server for the module over a copy of the demo catalogue, with an administrator."""
    index_dir = tmp_path_factory.mktemp("narrow") / "index"
    with serving(backend.clone("demo", index_dir), index_dir, ADMIN) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def module_browser(site, chromium):
    with launched(chromium) as browser:
        yield browser


def _log_in(page, site: str) -> None:
    page.goto(site + "/redazione/accesso")
    page.fill("#username", "ada")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Entra").click()
    page.wait_for_url(site + "/redazione")


def _submit_by_api(page, site: str) -> None:
    """A submission waiting in the queue, so that a review page exists."""
    body = {
        "processo": {
            "title": "Orti condivisi con un nome lunghissimo: https://www.comune.example/orti-condivisi"
        },
        "segnalante": {"nome": "Lucia Bianchi", "ente": "Comune di Chieri", "email": "lucia@comune.example"},
        "privacy_accettata": True,
    }
    assert page.request.post(site + "/api/v1/segnalazioni", data=body).status == 201


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_no_page_scrolls_sideways(module_browser, site, width):
    context = module_browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _submit_by_api(page, site)
    _log_in(page, site)
    followed = []
    for path, selector in FOLLOWED:
        page.goto(site + path)
        followed.append(page.locator(selector).first.get_attribute("href"))
    overflowing = []
    for path in (*PUBLIC, *STAFF, *followed):
        response = page.goto(site + path)
        assert response.status == (404 if "non-esiste" in path else 200), path
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > found["width"]:
            overflowing.append(f"{path}: {found['scroll']} px in {found['width']}: {found['wide']}")
    context.close()
    assert not overflowing, f"pages wider than {width} px:\n" + "\n".join(overflowing)


def test_on_a_phone_the_results_heading_is_above_the_fold(module_browser, site):
    page = module_browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(TIMEOUT_MS)
    for path in ("/processi", "/processi?ambito=ambiente&tipo=patto-di-collaborazione"):
        page.goto(site + path)
        heading = page.locator("#risultati").bounding_box()
        assert heading["y"] + heading["height"] <= 844, f"{path}: the results heading ends at {heading}"
        assert not page.locator("details.filters-disclosure").evaluate("d => d.open")
    page.locator("details.filters-disclosure > summary").click()
    assert page.locator("#f-ambito-1").is_visible()
    page.close()


def test_ticking_a_filter_applies_it_and_keeps_the_focus_on_it(module_browser, site):
    page = module_browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(site + "/processi?q=bilancio")
    assert page.locator("details.filters-disclosure").evaluate("d => d.open")
    box = page.locator("form[data-facets] input[name='ambito']").first
    value = box.get_attribute("value")
    with page.expect_navigation():
        box.check()
    assert page.url == f"{site}/processi?q=bilancio&ambito={value}"  # nothing empty or default
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == ["ambito", value]
    assert page.locator("ul.chips a[href='?q=bilancio']").count() == 1
    page.close()
