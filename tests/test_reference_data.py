"""The data processes refer to, curated by admins through the real app: deleting a vocabulary
term (a confirmation first; the processes using it moved to another term in the same transaction,
search facets following), and merging organisations named by name (a choice among the ones a name
fits, suggestions as one types)."""

from __future__ import annotations

import pytest
from browsing import PASSWORD, TIMEOUT_MS, launched, wcag_violations
from browsing import serving as serving_site
from helpers import (
    PATTI,
    audit_entries,
    form_token,
    form_values,
    login_as,
    process_row,
    rows,
    run_in_app,
    soup,
)

from observatory.catalogue.tables import Organisation, Process, ProcessOrganisation, ProcessTerm, Term
from observatory.curation.tables import ProcessRevision

pytestmark = pytest.mark.anyio
pytest_plugins = ["browsing"]


async def _post(client, path: str, data: dict | None = None):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


def _term(client, vocabulary: str, slug: str) -> dict | None:
    return run_in_app(
        client, lambda: Term.select().where(Term.vocabulary == vocabulary, Term.slug == slug).first()
    )


async def _facet_counts(client, facet: str, **params) -> dict[str, int]:
    """How many published processes the search counts for each value of ``facet``."""
    response = await client.get("/api/v1/processi", params={"per_pagina": "1", **params})
    assert response.status_code == 200
    return {option["value"]: option["count"] for option in response.json()["facets"][facet]}


def _tagged(client, term_id: int) -> set[int]:
    return set(
        run_in_app(
            client,
            lambda: (
                ProcessTerm.select(ProcessTerm.process)
                .where(ProcessTerm.term == term_id)
                .output(as_list=True)
            ),
        )
    )


# --- deleting a term ------------------------------------------------------------------------------


async def test_deleting_a_term_needs_its_confirmation_page(client):
    await login_as(client, "amministratore")
    created = await _post(
        client, "/redazione/vocabolari", {"vocabolario": "metodo", "etichetta": "Passeggiate"}
    )
    assert created.status_code == 303
    term = _term(client, "metodo", "passeggiate")
    vocabularies = soup(await client.get("/redazione/vocabolari"))
    link = vocabularies.find("a", href=f"/redazione/vocabolari/{term['id']}/elimina")
    assert link.get_text(" ", strip=True) == "Elimina… «Passeggiate»"
    assert not vocabularies.select(f"form[action='/redazione/vocabolari/{term['id']}/elimina']")

    # a post without the confirmation (a single click, a forged form) only shows the confirmation
    unconfirmed = await _post(client, f"/redazione/vocabolari/{term['id']}/elimina")
    assert unconfirmed.status_code == 200
    assert _term(client, "metodo", "passeggiate") is not None
    page = soup(unconfirmed)
    assert page.h1.get_text(strip=True) == "Elimina il termine «Passeggiate»"
    assert "Nessun processo usa questo termine" in page.get_text()
    confirmation = form_values(page, f"form[action='/redazione/vocabolari/{term['id']}/elimina']")
    assert confirmation["conferma"] == "1" and "sostituto" not in confirmation
    assert soup(await client.get(f"/redazione/vocabolari/{term['id']}/elimina")).h1 == page.h1

    deleted = await client.post(
        f"/redazione/vocabolari/{term['id']}/elimina", data=confirmation, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/redazione/vocabolari?fatto=termine-eliminato"
    assert _term(client, "metodo", "passeggiate") is None
    entry = audit_entries(client, "termine.elimina")[-1]
    assert entry["before"]["slug"] == "passeggiate" and entry["after"] is None
    gone = await client.get(f"/redazione/vocabolari/{term['id']}/elimina")
    assert gone.status_code == 409 and "Il termine non esiste" in gone.text


async def test_a_term_in_use_is_deleted_only_by_moving_every_process_to_another_term(client):
    old, new = _term(client, "ambito", "assetto-istituzionale"), _term(client, "ambito", "ambiente")
    using = run_in_app(
        client, lambda: Process.select(Process.id, Process.version).where(Process.theme == old["id"])
    )
    had_new = run_in_app(client, lambda: Process.count().where(Process.theme == new["id"]))
    counts = await _facet_counts(client, "ambito")
    assert counts["assetto-istituzionale"] > 1 and counts["ambiente"] > 1
    assert process_row(client, PATTI)["theme"] == old["id"]
    await login_as(client, "amministratore")
    path = f"/redazione/vocabolari/{old['id']}/elimina"

    page = soup(await client.get(path))
    assert f"è usato da {len(using)} processi" in page.get_text()
    options = {o.get_text(strip=True): o["value"] for o in page.select("select[name=sostituto] option")}
    assert options["Ambiente"] == str(new["id"]) and "Assetto istituzionale" not in options

    # confirmed without choosing a term, or with a term of another vocabulary: refused, nothing moves
    for chosen in ("", str(_term(client, "tipo", "processo-partecipativo")["id"]), str(old["id"]), "x"):
        refused = await _post(client, path, {"conferma": "1", "sostituto": chosen})
        assert refused.status_code == 400, chosen
        refusal = soup(refused)
        assert refusal.select_one("#errore-sostituto").get_text(strip=True)
        assert refusal.select_one("#campo-sostituto")["aria-invalid"] == "true"
        assert _term(client, "ambito", "assetto-istituzionale") is not None
    assert run_in_app(client, lambda: Process.count().where(Process.theme == old["id"])) == len(using)

    moved = await _post(client, path, {"conferma": "1", "sostituto": str(new["id"])})
    assert moved.status_code == 303
    assert moved.headers["location"] == "/redazione/vocabolari?fatto=termine-sostituito"
    assert _term(client, "ambito", "assetto-istituzionale") is None
    now = run_in_app(client, lambda: Process.count().where(Process.theme == new["id"]))
    assert now == had_new + len(using)
    moved_ids = [p["id"] for p in using]
    versions = {
        row["id"]: row["version"]
        for row in run_in_app(
            client, lambda: Process.select(Process.id, Process.version).where(Process.id.is_in(moved_ids))
        )
    }
    assert all(versions[p["id"]] == p["version"] + 1 for p in using)  # open edit forms see the change

    after = await _facet_counts(client, "ambito")
    assert "assetto-istituzionale" not in after
    assert after["ambiente"] == counts["ambiente"] + counts["assetto-istituzionale"]
    assert (await client.get(f"/api/v1/processi/{PATTI}")).json()["theme"]["slug"] == "ambiente"

    patti = process_row(client, PATTI)
    history = soup(await client.get(f"/redazione/processi/{patti['id']}/versioni"))
    latest = history.select_one("section.revision")
    assert "sostituito con «Ambiente»" in latest.get_text()
    changed = {row.th.get_text(strip=True): row for row in latest.select("table.diff tbody tr")}
    assert list(changed) == ["Ambito di intervento"]
    assert [td.get_text(strip=True) for td in changed["Ambito di intervento"].find_all("td")] == [
        "assetto-istituzionale",  # a deleted term has no label any more: its slug is shown
        "Ambiente",
    ]
    revisions = rows(client, ProcessRevision, ProcessRevision.summary.like("%sostituito con%"))
    assert {r["process"] for r in revisions} == {p["id"] for p in using}
    entry = audit_entries(client, "termine.elimina")[-1]
    assert entry["after"] == {"replaced_by": "ambiente", "processes": sorted(p["id"] for p in using)}
    assert f"{len(using)} processi passati a «Ambiente»" in entry["summary"]
    log = soup(await client.get("/redazione/registro", params={"azione": "termine.elimina"}))
    labels = {
        row.th.get_text(strip=True): row for row in log.select_one("article.audit-entry").select("tbody tr")
    }
    assert labels["Processi passati al termine"].select_one(".after").get_text(strip=True) == "ambiente"
    assert "Processi spostati" in labels


async def test_moving_the_processes_of_a_tag_keeps_one_tag_where_both_were(client):
    terms = run_in_app(client, lambda: Term.select().where(Term.vocabulary == "tematica"))
    tagged = {term["slug"]: _tagged(client, term["id"]) for term in terms}
    # two topics some process has both of
    old_slug, new_slug = next(
        (a, b) for a in tagged for b in tagged if a != b and tagged[a] & tagged[b] and tagged[a] - tagged[b]
    )
    old, new = _term(client, "tematica", old_slug), _term(client, "tematica", new_slug)
    both = tagged[old_slug] & tagged[new_slug]
    published = set(
        run_in_app(
            client,
            lambda: Process.select(Process.id).where(Process.publication == "published").output(as_list=True),
        )
    )
    await login_as(client, "amministratore")
    moved = await _post(
        client, f"/redazione/vocabolari/{old['id']}/elimina", {"conferma": "1", "sostituto": str(new["id"])}
    )
    assert moved.status_code == 303
    assert _tagged(client, new["id"]) == tagged[old_slug] | tagged[new_slug]
    for process_id in both:
        links = run_in_app(
            client,
            lambda process_id=process_id: ProcessTerm.count().where(
                ProcessTerm.process == process_id, ProcessTerm.term == new["id"]
            ),
        )
        assert links == 1
    counts = await _facet_counts(client, "tematica")
    assert old_slug not in counts
    assert counts[new_slug] == len((tagged[old_slug] | tagged[new_slug]) & published)


# --- merging organisations -------------------------------------------------------------------------


async def test_merging_by_a_name_several_organisations_have_offers_them_to_choose(client):
    await login_as(client, "amministratore")
    form = soup(await client.get("/redazione/enti/unisci"))
    assert form.find("script", src="/static/js/suggest.js").has_attr("defer")
    assert {i["name"]: i["data-suggest"] for i in form.select("input[data-suggest]")} == {
        "da": "enti",
        "in": "enti",
    }

    response = await _post(client, "/redazione/enti/unisci", {"da": "Torino", "in": "Comune di Chieri"})
    assert response.status_code == 200
    page = soup(response)
    choices = page.select_one("fieldset#campo-da")
    assert "quale ente intendi con «Torino»" in choices.legend.get_text()
    radios = {radio["value"]: radio for radio in choices.select("input[type=radio][name=da]")}
    assert "comune-di-torino" in radios and len(radios) > 1
    torino = choices.find("label", attrs={"for": radios["comune-di-torino"]["id"]}).get_text(" ", strip=True)
    listed = (await client.get("/api/v1/enti", params={"q": "Comune di Torino"})).json()["items"]
    count = next(o for o in listed if o["slug"] == "comune-di-torino")["process_count"]
    assert "Comune di Torino" in torino and "comune-di-torino" in torino
    assert "Torino" in torino.split("·")[1] and f"{count} processi pubblicati" in torino
    assert page.find("input", attrs={"name": "in"})["value"] == "Comune di Chieri"  # kept as typed
    assert run_in_app(client, lambda: Organisation.exists().where(Organisation.slug == "comune-di-chieri"))

    # the choice made: the confirmation of what the merge moves
    chosen = form_values(page, "form[action='/redazione/enti/unisci']")
    chosen["da"] = "comune-di-torino"
    confirm = await client.post("/redazione/enti/unisci", data=chosen, follow_redirects=False)
    assert confirm.status_code == 200
    plan = soup(confirm).select_one("#conferma").find_parent("section")
    assert plan.find("p").get_text() == "«Comune di Torino» sarà unito a «Comune di Chieri» ed eliminato."
    assert form_values(plan, "form")["da"] == "comune-di-torino"
    assert form_values(plan, "form")["in"] == "comune-di-chieri"


async def test_merging_with_an_unknown_name_or_into_itself_is_refused_keeping_what_was_typed(client):
    links = run_in_app(client, lambda: ProcessOrganisation.count())
    await login_as(client, "amministratore")
    unknown = await _post(
        client, "/redazione/enti/unisci", {"da": "Ente Inesistente Zqx", "in": "comune-di-torino"}
    )
    assert unknown.status_code == 400
    page = soup(unknown)
    assert (
        "Nessun ente ha indirizzo o nome «Ente Inesistente Zqx»" in page.select_one("#errore-da").get_text()
    )
    assert page.find("input", attrs={"name": "da"})["value"] == "Ente Inesistente Zqx"
    assert page.find("input", attrs={"name": "in"})["value"] == "comune-di-torino"

    for data in (
        {"da": "Comune di Torino", "in": "comune-di-torino"},
        {"da": "comune-di-torino", "in": "comune-di-torino", "conferma": "1"},
    ):
        itself = await _post(client, "/redazione/enti/unisci", data)
        assert itself.status_code == 400
        assert "non si può unire a sé stesso" in soup(itself).select_one("#errore-in").get_text()
    control = await _post(
        client, "/redazione/enti/unisci", {"da": "Comune\x07 di Torino", "in": "Comune di Chieri"}
    )
    assert (
        control.status_code == 400
        and "caratteri di controllo" in soup(control).select_one("#errore-da").get_text()
    )
    assert run_in_app(client, lambda: Organisation.exists().where(Organisation.slug == "comune-di-torino"))
    assert run_in_app(client, lambda: ProcessOrganisation.count()) == links
    assert audit_entries(client, "ente.unisci") == []


async def test_an_editor_cannot_merge_or_delete_terms(client):
    await login_as(client, "redattore")
    term = _term(client, "ambito", "ambiente")
    assert (await client.get("/redazione/enti/unisci")).status_code == 403
    assert (await client.get(f"/redazione/vocabolari/{term['id']}/elimina")).status_code == 403
    refused = await _post(client, f"/redazione/vocabolari/{term['id']}/elimina", {"conferma": "1"})
    assert refused.status_code == 403 and _term(client, "ambito", "ambiente") is not None
    client.cookies.clear()
    assert (await client.get("/redazione/enti/unisci", follow_redirects=False)).status_code in (302, 303, 401)


def test_an_admin_picks_the_organisations_to_merge_from_suggestions(chromium, backend, tmp_path):
    from playwright.sync_api import expect

    index_dir = tmp_path / "index"
    staff = (("ada", "Ada Amministratrice", "amministratore"),)
    with (
        serving_site(backend.clone("demo", index_dir), index_dir, staff) as site,
        launched(chromium) as browser,
    ):
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(site + "/redazione/accesso?dopo=/redazione/enti/unisci")
        page.fill("#username", "ada")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Entra").click()
        expect(page.locator("h1")).to_have_text("Unisci due enti")
        page.locator("#campo-da").press_sequentially("Comune di Tori")
        suggestion = page.locator("#campo-da-suggerimenti li", has_text="Comune di Torino").first
        expect(suggestion).to_be_visible()
        suggestion.click()
        expect(page.locator("#campo-da")).to_have_value("Comune di Torino")
        page.fill("#campo-in", "Torino")  # several organisations: the page offers them
        page.get_by_role("button", name="Controlla").click()
        expect(page.locator("fieldset#campo-in legend")).to_contain_text("quale ente intendi con «Torino»")
        assert wcag_violations(page) == []
        page.locator("fieldset#campo-in label", has_text="Città metropolitana di Torino").first.click()
        page.get_by_role("button", name="Controlla").click()
        expect(page.locator("#conferma")).to_be_visible()
        expect(page.locator("section.notice")).to_contain_text("«Comune di Torino» sarà unito")
