"""Full-text search: Italian analysis, ranking, facets, consistency of the index with the database."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import make_settings
from helpers import CHIERI, PATTI, card_slugs, database_count, refresh_index, run_in_app, soup
from rapidfuzz.distance import OSA
from whoosh.query import Phrase

from observatory.app import create_app
from observatory.catalogue import services
from observatory.catalogue.checks import References
from observatory.catalogue.editing import save_process, withdraw_process
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Process
from observatory.catalogue.validation import validate_process
from observatory.database import write_transaction
from observatory.search.analysis import STOP_WORDS, italian_analyzer
from observatory.search.index import WRITER_OPTIONS, SearchIndex, write_documents
from observatory.search.query import SearchRequest, parse_text, run_search
from observatory.search.typos import Deletions, allowed_edits
from observatory.text import fold

pytestmark = pytest.mark.anyio


async def search_api(client, **params) -> dict:
    response = await client.get("/api/v1/processi", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def slugs(result: dict) -> list[str]:
    return [item["slug"] for item in result["items"]]


# --- Italian analysis ------------------------------------------------------------------------


def test_one_pass_analyzer_gives_the_tokens_of_whooshs_filter_chain():
    from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
    from whoosh.lang import stemmer_for_language
    from whoosh.support.charset import accent_map

    chain = (
        RegexTokenizer(r"\w+")
        | LowercaseFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | StemFilter(stemfn=stemmer_for_language("it"), lang=None, ignore=None)
        | CharsetFilter(accent_map)
    )
    text = (
        "Il Bilancio partecipativo della Città di Bologna: l'amministrazione condivisa, CUP J12F17000 è già"
    )
    for options in ({}, {"positions": True}, {"positions": True, "removestops": False}, {"chars": True}):
        expected = [
            (t.text, t.pos if "positions" in options else None, t.stopped) for t in chain(text, **options)
        ]
        got = [
            (t.text, t.pos if "positions" in options else None, t.stopped)
            for t in italian_analyzer()(text, **options)
        ]
        assert got == expected, options
    positions = italian_analyzer().word_positions(text)
    assert positions == {
        word: [t.pos for t in chain(text, positions=True) if t.text == word]
        for word in {t.text for t in chain(text)}
    }


def test_analyzer_folds_accents_drops_elisions_and_stems_italian_words():
    def terms(text):
        return [token.text for token in italian_analyzer()(text)]

    assert terms("città") == terms("citta") == terms("CITTÀ")
    assert terms("l'amministrazione dell'ente un'iniziativa") == terms("amministrazione ente iniziativa")
    assert len(set(terms("partecipazione partecipativo partecipati"))) == 1
    assert terms("il progetto del 2017 con CUP J41B12000010007") == terms("progetto 2017 cup j41b12000010007")


async def test_query_without_accent_finds_titles_with_the_accent(reader):
    result = await search_api(reader, q="citta")
    titles = [item["title"].casefold() for item in result["items"]]
    assert result["total"] > 0
    assert any("città" in title for title in titles)


async def test_elided_query_finds_shared_administration_first(reader):
    result = await search_api(reader, q="l'amministrazione condivisa")
    assert slugs(result)[0] == PATTI


async def test_stemming_matches_other_forms_of_the_word(reader):
    plural = await search_api(reader, q="patti di collaborazione")
    singular = await search_api(reader, q="patto collaborazione")
    assert PATTI in slugs(plural) and PATTI in slugs(singular)


async def test_phrase_query_needs_the_words_together(reader):
    phrase = await search_api(reader, q='"amministrazione condivisa"', per_pagina=100)
    loose = await search_api(reader, q="amministrazione condivisa", per_pagina=100)
    assert PATTI in slugs(phrase)
    assert phrase["total"] <= loose["total"]
    for item in phrase["items"]:
        detail = (await reader.get(f"/api/v1/processi/{item['slug']}")).json()
        text = " ".join(
            str(detail[key] or "") for key in ("title", "summary", "description", "goals")
        ).casefold()
        assert "amministrazione condivisa" in text


async def test_title_match_ranks_above_body_matches(reader):
    result = await search_api(reader, q="opencoesione")
    assert result["total"] > 10  # the word is in many reports' bodies
    assert "opencoesione" in result["items"][0]["title"].casefold()


async def test_comune_name_finds_processes_tagged_with_it(reader):
    result = await search_api(reader, q="Chieri")
    assert PATTI in slugs(result)
    assert "Chieri" not in result["items"][0]["title"]  # found through its territory, not its title


async def test_a_misspelt_word_finds_the_processes_of_the_word_meant_and_says_so(reader):
    result = await search_api(reader, q="cagliri")
    assert result["fuzzy"] == ["cagliari"] and result["corrected_from"] is None
    assert result["total"] > 0 and await _all_slugs(reader, q="cagliri") <= await _all_slugs(
        reader, q="cagliari"
    )
    assert all("cagliari" in str(item).casefold() for item in result["items"][:3])
    page = soup(await reader.get("/processi", params={"q": "cagliri"}))
    assert "Risultati anche per: cagliari" in [p.get_text() for p in page.select("p.notice")]


@pytest.mark.parametrize(
    "word, typed",
    [
        ("amianto", "amainto"),  # two letters swapped, in a rare word
        ("amianto", "amiano"),  # one dropped
        ("amianto", "ammianto"),  # one doubled
        ("amianto", "amiamto"),  # one wrong
        ("scuola", "scoula"),  # the same in a common word
        ("scuola", "scula"),
        ("scuola", "scuolla"),
        ("scuola", "scuoka"),
        ("partecipazione", "partceipaziome"),  # two typos in a word of 9 letters or more
    ],
)
async def test_a_typo_of_each_kind_finds_the_process_in_the_top_3(reader, word, typed):
    meant = await search_api(reader, q=word)
    found = await search_api(reader, q=typed)
    assert slugs(meant)[0] in slugs(found)[:3]
    assert word in found["fuzzy"]


async def test_the_last_word_also_matches_as_the_beginning_of_a_word(reader):
    typing = await search_api(reader, q="bilancio parteci")
    assert "bilancio-partecipativo-bologna-2017" in slugs(typing)[:5]
    assert any(word.startswith("partecip") for word in typing["fuzzy"])
    other_order = await search_api(reader, q="parteci bilancio")  # not the last word: typos only
    assert not any(word.startswith("partecip") for word in other_order["fuzzy"])
    assert "bilancio" in (await search_api(reader, q="bilan"))["fuzzy"]
    assert (await search_api(reader, q="bi"))["fuzzy"] == []  # too short to complete


async def test_an_exact_match_ranks_above_the_matches_within_a_typo(client):
    run_in_app(client, _publish, "Consulta dei giovani di Cagliri")  # a typo that a record really has
    refresh_index(client)
    result = await search_api(client, q="cagliri")
    assert slugs(result)[0] == "consulta-dei-giovani-di-cagliri"
    assert result["fuzzy"] == ["cagliari"]
    meant = await search_api(client, q="cagliari", per_pagina=100)
    exactly = (await search_api(client, q='"cagliari"'))["total"]  # quoted: matched as typed
    assert slugs(meant).index("consulta-dei-giovani-di-cagliri") >= exactly  # after every exact match


async def test_a_word_too_short_for_typos_is_corrected_when_it_finds_nothing(reader):
    result = await search_api(reader, q="orzi")  # four letters: matched exactly only
    assert result["corrected_from"] == "orzi" and result["query"] != "orzi"
    assert result["total"] == (await search_api(reader, q=result["query"]))["total"] > 0


async def test_a_word_typed_without_its_accent_finds_the_accented_word(reader):
    accented = await _all_slugs(reader, q="qualità")
    assert accented and await _all_slugs(reader, q="qualita") == accented  # qualità is stemmed "qual"
    assert (await search_api(reader, q="qualita"))["fuzzy"] == []  # an exact match, not a typo


async def test_typographic_and_straight_apostrophes_find_the_same_processes(reader):
    for typographic, straight in (("l’amministrazione", "l'amministrazione"), ("dell’ente", "dell'ente")):
        curly = await search_api(reader, q=typographic, per_pagina=100)
        assert curly["total"] > 0
        assert slugs(curly) == slugs(await search_api(reader, q=straight, per_pagina=100))
        assert slugs(curly) == slugs(await search_api(reader, q=typographic.split("’")[1], per_pagina=100))


async def test_a_compound_written_joined_hyphenated_or_apart_finds_the_three(client):
    titles = {
        "Percorso di coprogettazione del parco Dora",
        "Laboratorio di co-progettazione della piazza Dora",
        "Tavolo di co progettazione del lungofiume Dora",
    }
    for title in titles:
        run_in_app(client, _publish, title)
    refresh_index(client)
    for typed in ("coprogettazione", "co-progettazione", "co progettazione", "Co-Progettazione Dora"):
        result = await search_api(client, q=typed)
        assert {item["title"] for item in result["items"][:3]} == titles, typed


async def test_a_compound_place_name_is_found_by_any_of_its_parts(client):
    titles = {  # the place is only in the process's territories, not in its title
        "C035033": "Consulta dei quartieri Alfa",  # Reggio nell'Emilia
        "C052006": "Consulta dei quartieri Beta",  # Castelnuovo Berardenga
        "C021008": "Consulta dei quartieri Gamma",  # Bolzano, in the province of Bolzano/Bozen
    }
    for code, title in titles.items():
        run_in_app(client, _publish, title, territories=[code])
    refresh_index(client)
    for typed, code in (
        ("Reggio Emilia", "C035033"),
        ("reggio nell’emilia", "C035033"),
        ("Berardenga", "C052006"),
        ("castelnuovo berardenga", "C052006"),
        ("Bozen", "C021008"),
        ("Bolzano Bozen", "C021008"),
    ):
        result = await search_api(client, q=typed, per_pagina=100)
        assert titles[code] in [item["title"] for item in result["items"]], typed


async def test_a_cup_code_or_a_year_finds_exactly_its_processes(client):
    for title, cup in (
        ("Parco della Pellerina", "J41B12000010007"),
        ("Parco del Valentino", "J41B12000010008"),
    ):
        run_in_app(client, _publish, title, funding={"cup": cup})
    refresh_index(client)
    for typed in ("J41B12000010007", "j41b12000010007"):
        result = await search_api(client, q=typed)
        assert [item["title"] for item in result["items"]] == ["Parco della Pellerina"]
        assert result["fuzzy"] == [] and result["suggestion"] is None
    assert (await search_api(client, q="J41B12000010009"))["total"] == 0  # one digit off: no typo
    year = await search_api(client, q="2019", per_pagina=100)
    assert year["total"] > 0 and year["fuzzy"] == []
    assert year["total"] == (await search_api(client, q='"2019"'))["total"]  # as typed: no 2018, 20190…
    assert (await search_api(client, q="201"))["fuzzy"] == []  # a number being typed is not completed


async def test_a_rare_misspelt_word_gets_a_suggestion_that_finds_more(client):
    run_in_app(client, _publish, "Orto condiviso di Rma")  # a typo a record has: "rma" finds one process
    refresh_index(client)
    result = await search_api(client, q="rma")
    assert result["total"] == 1 and result["suggestion"] == "roma"
    assert (await search_api(client, q="roma"))["total"] > 3
    page = soup(await client.get("/processi", params={"q": "rma"}))
    assert page.select_one("p.notice a[href='?q=roma']").get_text() == "roma"


@pytest.mark.parametrize(
    "typed",
    ["amiantoo", "partecipazzione", "bilancoi", "rma", "orzi", "cagliri", "biblioteka", "xqzw", "qqqqqq"],
)
async def test_a_suggestion_or_correction_always_finds_processes(reader, typed):
    result = await search_api(reader, q=typed)
    for proposed in (result["suggestion"], result["corrected_from"] and result["query"]):
        if proposed:
            assert (await search_api(reader, q=proposed))["total"] > 0, proposed
    if result["total"] == 0:
        assert result["suggestion"] is None


async def test_results_page_highlights_the_matched_words_and_escapes_the_rest(reader):
    response = await reader.get("/processi", params={"q": "amministrazione condivisa"})
    page = soup(response)
    marks = page.select(".snippet mark")

    def matched(word: str) -> bool:  # the same stem, or within two typos (words of 9 letters or more)
        stems = {token.text for token in italian_analyzer()(word)}
        folded = fold(word)
        return bool(stems & {"amministr", "condivis"}) or any(
            OSA.distance(folded, typed) <= 2 for typed in ("amministrazione", "condivisa")
        )

    assert marks and all(matched(mark.get_text()) for mark in marks)
    assert any(mark.get_text().casefold().startswith("condivis") for mark in marks)
    assert (
        page.select_one("#risultati")
        .get_text()
        .startswith(str((await search_api(reader, q="amministrazione condivisa"))["total"]))
    )


async def test_empty_result_page_helps_the_reader(reader):
    response = await reader.get("/processi", params={"q": "zzzqqqxxx", "tipo": "monitoraggio-civico"})
    page = soup(response)
    assert response.status_code == 200
    assert "Nessun processo corrisponde" in page.select_one(".empty").get_text()
    assert page.select_one(".empty a[href='/processi']") is not None


async def _all_slugs(client, **params) -> set[str]:
    found, page = set(), 1
    while True:
        result = await search_api(client, per_pagina=100, pagina=page, **params)
        found |= set(slugs(result))
        if page * 100 >= result["total"]:
            return found
        page += 1


async def test_words_never_in_one_process_find_those_with_most_of_them(reader):
    words = ['"orti"', '"bari"', '"asl"']  # quoted: matched as typed, without typos or completions
    assert (await search_api(reader, q="bilancio partecipativo bologna"))["partial"] is False
    having = {word: await _all_slugs(reader, q=word) for word in words}
    assert not set.intersection(*having.values())  # no process has all three
    result = await search_api(reader, q=" ".join(words), per_pagina=100)
    assert result["partial"] is True
    assert result["total"] == len(set.union(*having.values()))

    def count(slug: str) -> int:
        return sum(slug in having[word] for word in words)

    counts = [count(slug) for slug in slugs(result)]
    assert counts == sorted(counts, reverse=True)  # most words first
    assert counts[0] == max(map(count, set.union(*having.values()))) == 2
    page = soup(await reader.get("/processi", params={"q": " ".join(words)}))
    notice = page.select_one("p.notice[role=status]").get_text()
    assert notice == "Nessun processo contiene tutte le parole: ecco quelli che ne contengono di più."
    assert card_slugs(page)[0] == slugs(result)[0]


async def test_a_filter_applies_to_the_processes_with_most_of_the_words(reader):
    words = '"orti" "bari" "asl"'
    unfiltered = await _all_slugs(reader, q=words)
    filtered = await search_api(reader, q=words, territorio="R16", per_pagina=100)
    assert filtered["partial"] is True and 0 < filtered["total"] < len(unfiltered)
    assert set(slugs(filtered)) <= unfiltered & await _all_slugs(reader, territorio="R16")


# --- facets ----------------------------------------------------------------------------------


async def test_facet_counts_match_database_counts_for_every_value(reader):
    result = await search_api(reader)
    for facet in ("ambito", "tipo", "tematica", "fonte", "stato"):
        for option in result["facets"][facet]:
            in_database = run_in_app(reader, database_count, facet, option["value"])
            assert option["count"] == in_database, (facet, option)


async def test_region_counts_include_provinces_and_comuni_and_match_the_database(reader):
    result = await search_api(reader)
    regions = {o["value"]: o["count"] for o in result["facets"]["territorio"]}
    assert regions["R01"] >= 1
    for code, count in regions.items():
        assert count == run_in_app(reader, database_count, "territorio", code), code
    piemonte = await search_api(reader, territorio="R01")
    assert PATTI in [i["slug"] for i in (await search_api(reader, territorio="R01", per_pagina=100))["items"]]
    provinces = {o["value"] for o in piemonte["facets"]["territorio"]}
    assert "P201" in provinces  # a chosen region shows its provinces
    torino = await search_api(reader, territorio="P201")
    assert CHIERI in {o["value"] for o in torino["facets"]["territorio"]}  # and a province its comuni


async def test_process_with_four_decision_holders_counts_once_under_each(reader):
    result = await search_api(reader, q="amministrazione condivisa piemonte")
    holders = {o["value"]: o["count"] for o in result["facets"]["titolare"]}
    for slug in ("comune-di-chieri", "comune-di-collegno", "comune-di-condove", "comune-di-torino"):
        assert holders.get(slug) == 1, slug


async def test_values_of_one_facet_combine_with_or_and_facets_with_and(reader):
    culture = (await search_api(reader, ambito="cultura-istruzione"))["total"]
    environment = (await search_api(reader, ambito="ambiente"))["total"]
    either = await search_api(reader, ambito=["cultura-istruzione", "ambiente"])
    assert either["total"] == culture + environment
    both = await search_api(reader, ambito=["cultura-istruzione", "ambiente"], territorio="R15")
    campania = (await search_api(reader, territorio="R15"))["total"]
    assert both["total"] <= min(either["total"], campania)
    # the chosen facet still shows the counts of its other values (multi-select facets)
    themes = {o["value"]: o["count"] for o in either["facets"]["ambito"]}
    assert themes["cultura-istruzione"] == culture and "salute" not in themes or themes


async def test_filtering_happens_before_pagination(reader):
    first = await search_api(reader, tipo="monitoraggio-civico", per_pagina=50, pagina=1)
    second = await search_api(reader, tipo="monitoraggio-civico", per_pagina=50, pagina=2)
    in_database = run_in_app(reader, database_count, "tipo", "monitoraggio-civico")
    assert first["total"] == second["total"] == in_database > 100
    assert not set(slugs(first)) & set(slugs(second))
    assert len(first["items"]) == 50


async def test_year_facet_counts_by_decade_and_year(reader):
    result = await search_api(reader, tipo="monitoraggio-civico")
    decades = result["years"]["decades"]
    assert sum(decades.values()) == sum(result["years"]["years"].values())
    assert decades["2010"] == sum(n for y, n in result["years"]["years"].items() if 2010 <= int(y) <= 2019)


async def test_api_and_page_agree_on_search_results(reader):
    params = {"q": "museo", "ambito": "cultura-istruzione", "ordine": "rilevanza"}
    page = soup(await reader.get("/processi", params=params))
    api = await search_api(reader, **params)
    assert int(page.select_one("#risultati").get_text().split()[0]) == api["total"]
    cards = [a["href"].removeprefix("/processi/") for a in page.select("article.card .card-title a")]
    assert cards == slugs(api)


async def test_similar_processes_are_shown_on_a_process_page(reader):
    page = soup(await reader.get(f"/processi/{PATTI}"))
    similar = page.select("section.similar article.card")
    assert similar and PATTI not in [a["href"] for a in page.select("section.similar a")]


# --- the index follows the database ----------------------------------------------------------


async def _process_id(slug: str) -> int:
    return (await Process.select(Process.id).where(Process.slug == slug).first())["id"]


async def _publish(title: str, **extra) -> int:
    refs = await References.load()
    values = validate_process({"title": title, "territories": [CHIERI], **extra}, refs)
    async with write_transaction():
        process_id, _ = await save_process(values, refs)
        return process_id


async def test_new_process_is_found_right_after_it_is_saved(client):
    run_in_app(client, _publish, "Laboratorio di quartiere sul verde urbano di Chieri")
    refresh_index(client)
    result = await search_api(client, q="laboratorio verde urbano")
    assert result["items"][0]["title"] == "Laboratorio di quartiere sul verde urbano di Chieri"


async def test_withdrawn_process_leaves_the_search(client):
    process_id = run_in_app(client, _process_id, PATTI)
    run_in_app(client, withdraw_process, process_id, "Scheda duplicata")
    refresh_index(client)
    assert PATTI not in slugs(await search_api(client, q="amministrazione condivisa"))


async def test_result_cards_and_facet_labels_follow_edits_of_the_process(client):
    process_id = run_in_app(client, _process_id, PATTI)

    async def retitle() -> None:
        refs = await References.load()
        detail = await services.process_detail(process_id)
        record = to_record(detail) | {"title": "Patti di collaborazione nei comuni piemontesi"}
        record["theme"] = "ambiente"
        async with write_transaction():
            await save_process(validate_process(record, refs), refs, existing=detail)

    before = await search_api(client)
    run_in_app(client, retitle)
    refresh_index(client)
    found = await search_api(client, q="patti collaborazione piemontesi")
    assert found["items"][0]["slug"] == PATTI
    assert found["items"][0]["title"] == "Patti di collaborazione nei comuni piemontesi"
    assert found["items"][0]["theme"]["slug"] == "ambiente"
    page = soup(await client.get("/processi", params={"q": "patti collaborazione piemontesi"}))
    assert page.select_one(".card-title a").get_text() == "Patti di collaborazione nei comuni piemontesi"
    # the index now holds two segments and a deletion: counts still agree with the database
    after = await search_api(client)
    assert after["total"] == before["total"]
    for facet in ("ambito", "titolare", "territorio"):
        for option in after["facets"][facet]:
            assert option["count"] == run_in_app(client, database_count, facet, option["value"]), option


async def test_index_written_by_an_older_version_is_rebuilt_at_start_up(demo_db_url, tmp_path):
    settings = make_settings(demo_db_url, tmp_path)
    search_index = SearchIndex(settings.index_dir)
    old = search_index.current_generation()
    (settings.index_dir / old / "FORMAT").write_text("1\n")
    assert search_index.is_outdated(old)
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=create_app(settings)) as restarted:
        assert PATTI in slugs(await search_api(restarted, q="amministrazione condivisa"))
    assert search_index.current_generation() != old
    assert not search_index.is_outdated(search_index.current_generation())


async def test_change_left_out_of_the_index_by_a_crash_is_applied_at_start_up(demo_db_url, tmp_path):
    settings = make_settings(demo_db_url, tmp_path)
    app = create_app(settings)

    async def crash_after_commit() -> int:
        # what save_process does, minus the index write that a crash would prevent
        process_id = await _publish("Bilancio partecipativo di Zorbelia")
        return process_id

    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as first:
        run_in_app(first, crash_after_commit)
        assert (await search_api(first, q="zorbelia"))["total"] == 0  # not yet applied
    async with AsyncTestClient(app=create_app(settings)) as restarted:  # start-up drains the outbox
        assert slugs(await search_api(restarted, q="zorbelia")) == ["bilancio-partecipativo-di-zorbelia"]


def test_reindex_swaps_generations_while_searches_keep_answering(cli, demo_db_url, tmp_path):
    search_index = SearchIndex(tmp_path / "index")  # the index copied beside the demo database
    request = SearchRequest(text="museo")
    total = run_search(search_index, request).total
    before = search_index.current_generation()
    result = cli(demo_db_url, "reindex")
    assert result.exit_code == 0, result.output
    assert "761 processi" in result.output
    assert search_index.current_generation() != before
    assert run_search(search_index, request).total == total  # the open searcher moves over


def test_concurrent_index_writers_lose_no_update(tmp_path):
    search_index = SearchIndex(tmp_path / "index")
    search_index.folder.mkdir()
    name, ix = search_index.new_generation()
    ix.close()
    search_index.publish_generation(name)
    errors = []

    def writer(start: int):
        try:
            for n in range(start, start + 20):
                _, ix = search_index.live()
                write_documents(ix, [_document(n)])
                ix.close()
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    searcher, arrays = search_index.searcher()
    assert int(arrays.live.sum()) == 60


def test_posting_columns_give_the_postings_and_scores_whoosh_gives(tmp_path):
    """Common terms are read from the segments' posting columns: the same documents, weights and
    scores as Whoosh's own blocks, over several segments with deletions."""
    search_index = SearchIndex(tmp_path / "index")
    search_index.folder.mkdir()
    name, ix = search_index.new_generation()
    write_documents(ix, [_document(n, body=f"scuola {'scuola ' * (n % 3)}comune") for n in range(300)])
    write_documents(ix, [_document(n, body="scuola pubblica") for n in range(300, 420)], deleted=[5, 6])
    ix.close()
    search_index.publish_generation(name)
    searcher, arrays = search_index.searcher()
    scorer = arrays.scorer
    assert [columns is not None for columns in scorer._columns] == [True] * len(scorer._columns)
    assert any(columns.postings("body", "scuol") is not None for columns in scorer._columns)
    query = parse_text(searcher.schema, "scuola processo")
    mask, scores = scorer.evaluate(query)
    found = {int(arrays.pid[d]) for d in np.flatnonzero(mask & arrays.live)}
    assert found == set(range(420)) - {5, 6}
    scorer._columns = [None] * len(scorer._columns)  # Whoosh's blocks alone
    scorer._postings.clear()
    whoosh_mask, whoosh_scores = scorer.evaluate(query)
    assert (whoosh_mask == mask).all()
    assert np.allclose(whoosh_scores, scores)
    assert len(np.unique(scores[mask & arrays.live].round(4))) >= 3  # term frequency and length count


def test_phrases_found_from_positions_are_those_whooshs_phrase_matcher_finds(tmp_path):
    """Phrases are matched in numpy from the positions kept in the posting columns (common terms) or
    read from Whoosh's blocks (rare ones), over several segments with deletions."""
    search_index = SearchIndex(tmp_path / "index")
    search_index.folder.mkdir()
    name, ix = search_index.new_generation()
    words = "piano zona parco urbano verde scuola comune di della bilancio partecipativo".split()
    texts = [" ".join(words[(n * k) % len(words)] for k in range(1, 30)) for n in range(400)]
    write_documents(ix, [_document(n, body=texts[n]) for n in range(300)])
    write_documents(ix, [_document(n, body=texts[n]) for n in range(300, 400)], deleted=[5, 6])
    ix.close()
    search_index.publish_generation(name)
    searcher, arrays = search_index.searcher()
    phrases = [f'"{a} {b}"' for a in words for b in words] + ['"parco urbano verde"', '"piano di zona"']
    found_some = 0
    for phrase in phrases:
        for node in getattr(parse_text(searcher.schema, phrase), "subqueries", []):
            if not isinstance(node, Phrase):  # stop words in it: one word left, or none
                continue
            mask, _ = arrays.scorer.evaluate(node)
            whoosh_mask, _ = arrays.scorer._phrase_by_whoosh(node)
            assert (mask & arrays.live == whoosh_mask & arrays.live).all(), (phrase, node.fieldname)
            found_some += bool((mask & arrays.live).any())
    assert found_some > 20


def test_the_typo_dictionary_written_with_a_segment_holds_every_word_of_its_processes(tmp_path):
    search_index = SearchIndex(tmp_path / "index")
    search_index.folder.mkdir()
    name, ix = search_index.new_generation()
    texts = ("amianto scuola partecipazione Qualità", "bilancio co-progettazione 2019 J41B12000010007")
    write_documents(ix, [_document(n, body=texts[n % 2], spell="Scuola") for n in range(4)])
    write_documents(ix, [_document(n, body="biblioteca civica", spell="") for n in range(4, 6)])
    ix.writer(**WRITER_OPTIONS).commit(optimize=True)  # one segment: the merged one gathers the words again
    ix.close()
    search_index.publish_generation(name)
    searcher, _ = search_index.searcher()
    [(leaf, _)] = searcher.reader().leaf_readers()
    written = Deletions.of(leaf)
    expected = {"amianto", "scuola", "partecipazione", "qualità", "bilancio", "coprogettazione"}
    expected |= {"progettazione", "processo", "biblioteca", "civica"}  # titles are "Processo n"
    assert set(written.words) == expected  # accents kept; numbers, codes and stop words left out
    built = Deletions.build(dict.fromkeys(expected, 1))
    for typed in ("amainto", "scoula", "partceipaziome", "bilanco", "qualta", "bibliotecca"):
        assert written.close_words(typed, allowed_edits(typed)) == built.close_words(
            typed, allowed_edits(typed)
        )
        assert written.close_words(typed, allowed_edits(typed))
    assert written.same_words("qualita") == ["qualità"]
    documents = dict(zip(written.words, written.counts.tolist(), strict=True))
    assert documents["scuola"] == 4 and documents["amianto"] == 2  # each counted once a document


def _document(n: int, body: str = "", spell: str | None = None) -> dict:
    facets = {
        "single": {"tipo": None},
        "many": {"territorio": []},
        "labels": {},
        "parents": {},
        "start_year": 2020,
        "end_year": None,
        "ongoing": True,
        "investment": None,
        "updated": float(n),
        "title_key": f"p{n}",
    }
    return {
        "pid": str(n),
        "title": f"Processo {n}",
        "about": "",
        "body": body,
        "spell": body if spell is None else spell,
        "facets": facets,
        "card": {"slug": f"p{n}", "title": f"Processo {n}"},
        "start_year": 2020,
    }


def test_search_command_prints_the_top_hits(cli, demo_db_url):
    result = cli(demo_db_url, "search", "amministrazione condivisa", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert PATTI in result.output
    filtered = cli(demo_db_url, "search", "", "--filter", "territorio=XX")
    assert filtered.exit_code != 0 and "Territorio" in filtered.output


async def test_an_empty_catalogue_serves_search_and_its_first_process_is_found(empty_client):
    page = await empty_client.get("/processi", params={"q": "bilancio"})
    assert page.status_code == 200
    assert (await search_api(empty_client, q="bilancio"))["total"] == 0
    run_in_app(empty_client, _publish, "Bilancio partecipativo di Chieri")
    refresh_index(empty_client)
    assert slugs(await search_api(empty_client, q="bilancio")) == ["bilancio-partecipativo-di-chieri"]
