"""Synonyms and abbreviations through the real app: the shipped list, the admins' pages
(/redazione/sinonimi) with their audit, versions and validation, every instance applying the groups
without a rebuild; and what the search finds with them (search/query.py expands the queries)."""

from __future__ import annotations

import asyncio
import time
from functools import cache

import pytest
from conftest import app_client
from helpers import (
    audit_entries,
    demo_processes,
    form_token,
    form_values,
    login_as,
    rows,
    run_in_app,
    soup,
)

from observatory.accounts.tables import AuditEntry
from observatory.curation.synonyms import (
    MAX_EXPRESSIONS,
    create_group,
    delete_group,
    load_shipped_synonyms,
    read_shipped,
)
from observatory.curation.tables import SynonymGroup
from observatory.search.synonyms import MAX_WORDS, stems_of

pytestmark = pytest.mark.anyio

LIST = "/redazione/sinonimi"
BICI = ["bici", "bicicletta"]


async def _post(client, path: str, data: dict | None = None, token: bool = True):
    fields = {"_csrf_token": await form_token(client)} if token else {}
    return await client.post(path, data={**fields, **(data or {})}, follow_redirects=False)


def _stored(client) -> list[dict]:
    return rows(client, SynonymGroup)


def _row(client, **where) -> dict | None:
    return next((r for r in _stored(client) if all(r[k] == v for k, v in where.items())), None)


def _applied(client) -> list[list[str]]:
    """The groups this instance's searches apply."""
    return client.app.state.search_index.synonyms.groups


def _synonym_audit(client) -> list[dict]:
    return rows(client, AuditEntry, AuditEntry.action.like("sinonimi.%"))


async def _add(client, expressions: list[str], note: str = ""):
    return await _post(client, LIST, {"espressioni": "\n".join(expressions), "nota": note})


# --- who may -----------------------------------------------------------------------------------------


async def test_only_admins_open_or_post_the_synonym_pages(client):
    pnrr = _row(client, shipped_key="pnrr")
    pages = [LIST, f"{LIST}/{pnrr['id']}/modifica", f"{LIST}/{pnrr['id']}/elimina"]
    posts = {
        LIST: {"espressioni": "\n".join(BICI)},
        f"{LIST}/{pnrr['id']}/modifica": {"espressioni": "PNRR\nrecovery fund", "versione": "1"},
        f"{LIST}/{pnrr['id']}/elimina": {"versione": "1"},
    }
    before = _stored(client)

    for path in pages:  # anonymous: sent to the login page
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/redazione/accesso")
    for path, data in posts.items():
        response = await _post(client, path, data)
        assert response.status_code == 303 and response.headers["location"] == "/redazione/accesso"

    await login_as(client, "redattore")
    for path in pages:
        assert (await client.get(path)).status_code == 403
    for path, data in posts.items():
        assert (await _post(client, path, data)).status_code == 403
    assert not soup(await client.get("/redazione")).select(f'nav.staff-bar a[href="{LIST}"]')

    assert _stored(client) == before and _synonym_audit(client) == []
    await login_as(client, "amministratore")
    page = soup(await client.get("/redazione"))
    assert page.select_one(f'nav.staff-bar a[href="{LIST}"]').get_text() == "Sinonimi"


async def test_a_post_without_its_csrf_token_changes_nothing(client):
    await login_as(client, "amministratore")
    pnrr = _row(client, shipped_key="pnrr")
    before = _stored(client)
    for path, data in {
        LIST: {"espressioni": "\n".join(BICI)},
        f"{LIST}/{pnrr['id']}/modifica": {"espressioni": "PNRR\nrecovery fund", "versione": "1"},
        f"{LIST}/{pnrr['id']}/elimina": {"versione": "1"},
    }.items():
        assert (await _post(client, path, data, token=False)).status_code == 403
    assert _stored(client) == before and _synonym_audit(client) == []


# --- adding, editing, deleting ---------------------------------------------------------------------------


async def test_a_group_is_added_edited_and_deleted_audited_and_applied_at_once(client):
    admin = await login_as(client, "amministratore")
    search_index = client.app.state.search_index
    generation = search_index.current_generation()
    page = soup(await client.get(LIST))
    shown = [row.td.get_text(strip=True) for row in page.select("table.synonyms tbody tr")]
    assert "PNRR = piano nazionale di ripresa e resilienza = recovery plan" in shown
    assert BICI not in _applied(client)

    added = await _add(client, ["  bici ", "", "bicicletta"], "Abbreviazione comune")
    assert added.status_code == 303 and added.headers["location"] == f"{LIST}?fatto=aggiunto"
    assert BICI in _applied(client)  # this instance applies it before the editor's page comes back
    group = _row(client, expressions=BICI)
    assert (group["note"], group["shipped_key"], group["version"]) == ("Abbreviazione comune", None, 1)
    assert group["changed_by"] == admin["display_name"]
    listed = soup(await client.get(added.headers["location"]))
    assert "Gruppo di sinonimi aggiunto" in listed.select_one(".notice").get_text()
    row = listed.select_one(f"#gruppo-{group['id']}")
    assert row.td.get_text(strip=True) == "bici = bicicletta" and "Redazione" in row.get_text()

    filtered = soup(await client.get(LIST, params={"q": "BICICL"}))
    assert [r["id"] for r in filtered.select("table.synonyms tbody tr")] == [f"gruppo-{group['id']}"]
    by_note = soup(await client.get(LIST, params={"q": "abbreviazione comune"}))
    assert len(by_note.select("table.synonyms tbody tr")) == 1
    none = soup(await client.get(LIST, params={"q": "quinquefoglio"}))
    assert not none.select("table.synonyms") and "Nessun gruppo contiene «quinquefoglio»" in none.get_text()

    form = form_values(soup(await client.get(f"{LIST}/{group['id']}/modifica")), "form.stacked")
    assert (form["espressioni"], form["nota"], form["versione"]) == (
        "bici\nbicicletta",
        "Abbreviazione comune",
        "1",
    )
    edited = await _post(
        client, f"{LIST}/{group['id']}/modifica", form | {"espressioni": "bici\nbicicletta\nvelocipede"}
    )
    assert edited.status_code == 303 and edited.headers["location"] == f"{LIST}?fatto=modificato"
    assert _row(client, id=group["id"])["version"] == 2
    assert [*BICI, "velocipede"] in _applied(client) and BICI not in _applied(client)

    confirm = soup(await client.get(f"{LIST}/{group['id']}/elimina"))
    assert confirm.h1.get_text() == "Elimina «bici = bicicletta = velocipede»"
    deleted = await _post(client, f"{LIST}/{group['id']}/elimina", form_values(confirm, "main form"))
    assert deleted.status_code == 303 and deleted.headers["location"] == f"{LIST}?fatto=eliminato"
    assert _row(client, id=group["id"]) is None
    assert all("velocipede" not in group for group in _applied(client))
    assert (await client.get(f"{LIST}/{group['id']}/modifica")).status_code == 404

    entries = _synonym_audit(client)
    assert [e["action"] for e in entries] == ["sinonimi.crea", "sinonimi.modifica", "sinonimi.elimina"]
    assert {e["actor"] for e in entries} == {admin["id"]}
    assert entries[0]["after"] == {"expressions": BICI, "note": "Abbreviazione comune", "version": 1}
    assert entries[1]["before"]["expressions"] == BICI
    assert entries[1]["after"]["expressions"] == [*BICI, "velocipede"] and entries[1]["after"]["version"] == 2
    assert entries[2]["before"]["expressions"] == [*BICI, "velocipede"] and entries[2]["after"] is None
    assert search_index.current_generation() == generation  # no rebuild


REFUSED = [
    (["PNRR"], "almeno due espressioni diverse"),
    (["beni comuni", "Bene Comune"], "sono la stessa espressione"),
    (["PNRR", "di la e"], "solo parole che la ricerca ignora"),
    (["PNRR", "p" * 201], "troppo lunga: 201 caratteri, al massimo 200"),
    (
        [
            "PRUSST",
            "programma di riqualificazione urbana e di sviluppo sostenibile del territorio comunale "
            "e metropolitano della regione",
        ],
        f"al massimo {MAX_WORDS}",
    ),
    (["PNRR", "piano\x1b[2J nazionale"], "caratteri di controllo"),
    ([f"abc{letter}x" for letter in "abcdefghijklmnopqrstu"], f"al massimo {MAX_EXPRESSIONS} espressioni"),
]


@pytest.mark.parametrize(("expressions", "message"), REFUSED)
async def test_a_refused_group_comes_back_with_what_was_typed_and_the_error_beside_it(
    client, expressions, message
):
    await login_as(client, "amministratore")
    before = _stored(client)
    typed = "\n".join(expressions)
    response = await _post(client, LIST, {"espressioni": typed, "nota": "Una nota da non perdere"})
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one(".error-summary a[href='#campo-espressioni']")
    assert message in page.select_one("#errore-espressioni").get_text()
    area = page.select_one("textarea#campo-espressioni")
    assert area["aria-invalid"] == "true" and "errore-espressioni" in area["aria-describedby"]
    assert form_values(page, "form.stacked")["espressioni"] == typed
    assert page.select_one("textarea#campo-nota").get_text() == "Una nota da non perdere"
    assert _stored(client) == before and _synonym_audit(client) == []


async def test_an_edit_refused_keeps_the_typing_and_the_version_it_was_opened_on(client):
    await login_as(client, "amministratore")
    pnrr = _row(client, shipped_key="pnrr")
    response = await _post(
        client,
        f"{LIST}/{pnrr['id']}/modifica",
        {"espressioni": "PNRR\nPNRR", "nota": "nota\x07", "versione": "1"},
    )
    assert response.status_code == 400
    page = soup(response)
    assert "sono la stessa espressione" in page.select_one("#errore-espressioni").get_text()
    assert "caratteri di controllo" in page.select_one("#errore-nota").get_text()
    assert form_values(page, "form.stacked")["espressioni"] == "PNRR\nPNRR"
    assert form_values(page, "form.stacked")["versione"] == "1"
    assert _row(client, shipped_key="pnrr") == pnrr


async def test_a_save_or_a_delete_from_a_page_opened_before_another_change_is_refused(client):
    await login_as(client, "amministratore")
    group = _row(client, shipped_key="odv")
    path = f"{LIST}/{group['id']}/modifica"
    first = form_values(soup(await client.get(path)), "form.stacked")
    second = dict(first)
    confirm = form_values(soup(await client.get(f"{LIST}/{group['id']}/elimina")), "main form")

    saved = await _post(client, path, first | {"espressioni": "ODV\norganizzazione di volontariato\nOdV ETS"})
    assert saved.status_code == 303
    refused = await _post(client, path, second | {"espressioni": "ODV\nvolontariato organizzato"})
    assert refused.status_code == 409
    page = soup(refused)
    message = page.select_one(".alert").get_text(" ", strip=True)
    assert "ha cambiato questo gruppo: nulla è stato salvato" in message
    assert "«ODV = organizzazione di volontariato = OdV ETS»" in message
    kept = form_values(page, "form.stacked")
    assert kept["espressioni"] == "ODV\nvolontariato organizzato" and kept["versione"] == "2"
    assert _row(client, id=group["id"])["expressions"] == ["ODV", "organizzazione di volontariato", "OdV ETS"]

    gone = await _post(client, f"{LIST}/{group['id']}/elimina", confirm)
    assert (
        gone.status_code == 409 and "ha cambiato questo gruppo" in soup(gone).select_one(".alert").get_text()
    )
    assert _row(client, id=group["id"])["deleted"] is False

    # saving again, having seen the other change, is a choice: it saves
    assert (await _post(client, path, kept)).status_code == 303
    assert _row(client, id=group["id"])["expressions"] == ["ODV", "volontariato organizzato"]
    assert [e["action"] for e in _synonym_audit(client)] == ["sinonimi.modifica", "sinonimi.modifica"]


async def test_an_edit_of_a_group_deleted_meanwhile_offers_the_typing_as_a_new_group(client):
    await login_as(client, "amministratore")
    group = _row(client, shipped_key="gal")
    path = f"{LIST}/{group['id']}/modifica"
    form = form_values(soup(await client.get(path)), "form.stacked")
    confirm = form_values(soup(await client.get(f"{LIST}/{group['id']}/elimina")), "main form")
    assert (await _post(client, f"{LIST}/{group['id']}/elimina", confirm)).status_code == 303
    refused = await _post(client, path, form | {"espressioni": "GAL\ngruppi di azione locale\nLEADER"})
    assert refused.status_code == 409
    page = soup(refused)
    assert "non esiste più" in page.select_one(".alert").get_text()
    assert page.select_one("form.stacked")["action"] == LIST
    assert form_values(page, "form.stacked")["espressioni"] == "GAL\ngruppi di azione locale\nLEADER"


# --- the shipped list, and every instance --------------------------------------------------------------


async def test_the_shipped_list_is_loaded_and_a_group_the_editors_changed_or_deleted_stays_so(client):
    shipped = read_shipped()
    stored = {r["shipped_key"]: r for r in _stored(client) if r["shipped_key"]}
    assert {key: (r["expressions"], r["note"]) for key, r in stored.items()} == shipped
    assert all(expressions in _applied(client) for expressions, _ in shipped.values())  # at start-up
    firsts = [expressions[0] for expressions, _ in shipped.values()]
    for abbreviation in ("PNRR", "FESR", "FSE", "FSC", "ASL", "PON", "POR", "APS", "ETS", "ODV", "SNAI"):
        assert abbreviation in firsts
    for abbreviation in ("FEASR", "PSR", "GAL", "PUMS", "UE", "PA", "beni comuni"):
        assert abbreviation in firsts
    assert firsts.count("ATS") == 3  # one group per meaning

    await login_as(client, "amministratore")
    pnrr, fesr = stored["pnrr"], stored["fesr"]
    confirm = form_values(soup(await client.get(f"{LIST}/{pnrr['id']}/elimina")), "main form")
    assert (await _post(client, f"{LIST}/{pnrr['id']}/elimina", confirm)).status_code == 303
    form = form_values(soup(await client.get(f"{LIST}/{fesr['id']}/modifica")), "form.stacked")
    edited = form | {"espressioni": "FESR\nfondo europeo di sviluppo regionale\nERDF"}
    assert (await _post(client, f"{LIST}/{fesr['id']}/modifica", edited)).status_code == 303

    assert run_in_app(client, load_shipped_synonyms) == 0
    assert _row(client, shipped_key="pnrr")["deleted"] is True
    assert _row(client, shipped_key="fesr")["expressions"] == [
        "FESR",
        "fondo europeo di sviluppo regionale",
        "ERDF",
    ]
    assert len(_stored(client)) == len(shipped)
    assert "PNRR" not in soup(await client.get(LIST)).select_one("table.synonyms").get_text()
    assert all("PNRR" not in group for group in _applied(client))
    assert (await client.get(f"{LIST}/{pnrr['id']}/modifica")).status_code == 404
    assert [e["action"] for e in audit_entries(client, "sinonimi.elimina")] == ["sinonimi.elimina"]


def test_migrate_adds_the_shipped_groups_once_and_the_command_lists_them(cli, blank_db_url):
    first = cli(blank_db_url, "migrate")
    assert first.exit_code == 0, first.output
    assert f"gruppi di sinonimi aggiunti: {len(read_shipped())}." in first.output
    assert "gruppi di sinonimi aggiunti: 0." in cli(blank_db_url, "migrate").output
    listed = cli(blank_db_url, "synonyms", "ats")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "ATS = agenzia di tutela della salute",
        "ATS = ambito territoriale sociale",
        "ATS = associazione temporanea di scopo",
        "3 gruppi di sinonimi.",
    ]


async def _until(condition, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not applied in time"
        await asyncio.sleep(0.05)


async def test_every_instance_applies_a_change_made_elsewhere_at_start_up_and_within_the_poll(
    demo_db_url, tmp_path
):
    """Another instance shares only the database: a change it commits reaches this one's searches
    when this one starts, and while it runs within OBSERVATORY_INDEX_POLL seconds."""
    async with app_client(demo_db_url, tmp_path) as first:  # applies changes hourly: not in this test
        group = run_in_app(first, create_group, BICI, "", None)  # no search index: as another instance
        assert BICI not in _applied(first)
    async with app_client(demo_db_url, tmp_path, poll=0.2) as second:
        assert BICI in _applied(second)
        run_in_app(second, delete_group, group["id"], group["version"], None)
        await _until(lambda: BICI not in _applied(second))


# --- what the search finds with them (query expansion, search/query.py) --------------------------------


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


@cache
def _demo_stems() -> dict[str, list[tuple[str, ...]]]:
    """Each demo process's texts, as the index's words."""
    return {p["slug"]: [stems_of(text) for text in _strings(p)] for p in demo_processes()}


def _writes(slug: str, expression: str) -> bool:
    """Whether the demo process ``slug`` writes ``expression``: its words in a row, as indexed."""
    wanted = stems_of(expression)
    return any(
        stems[i : i + len(wanted)] == wanted for stems in _demo_stems()[slug] for i in range(len(stems))
    )


#: (what is searched, a demo process that writes only the other expression of its group, that one)
EXPANSIONS = [
    ("PUMS", "bike-sharing-napoli", "piano urbano della mobilità sostenibile"),
    ("ETS", "bilancio-partecipativo-bologna-2019-20", "enti del terzo settore"),
    ("organizzazione di volontariato", "una-fontana-che-sboccia", "ODV"),
    ("bicicletta", "bilancio-partecipativo-bologna-2017", "bici"),
]


@pytest.mark.parametrize(("searched", "slug", "written"), EXPANSIONS)
def test_the_expansion_examples_are_what_the_demo_catalogue_writes(searched, slug, written):
    assert _writes(slug, written) and not _writes(slug, searched)


async def _found(client, q: str) -> list[str]:
    response = await client.get("/api/v1/processi", params={"q": q, "per_pagina": "100"})
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


async def test_an_abbreviation_finds_the_processes_that_spell_it_out(reader):
    for searched, slug, _ in EXPANSIONS[:2]:
        assert slug in await _found(reader, searched), searched


async def test_a_name_spelled_out_finds_the_processes_that_write_its_abbreviation(reader):
    searched, slug, _ = EXPANSIONS[2]
    assert slug in await _found(reader, searched)


async def test_a_group_added_through_the_page_works_at_the_next_search_without_a_rebuild(client):
    searched, slug, _ = EXPANSIONS[3]
    generation = client.app.state.search_index.current_generation()
    assert slug not in await _found(client, searched)
    await login_as(client, "amministratore")
    assert (await _add(client, BICI)).status_code == 303
    assert slug in await _found(client, searched)
    assert client.app.state.search_index.current_generation() == generation
