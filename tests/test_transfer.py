"""The observatory command: import validation and its all-or-nothing rule, CSV, organisations,
export round trip, reference data and the demo command."""

import asyncio
import csv
import itertools
import json

import pytest
from helpers import CHIERI, PATTI, record, write_import

from observatory import database
from observatory.catalogue.tables import Territory
from observatory.cli import main

_exports = itertools.count()


def _export(cli, db_url: str, directory) -> dict:
    path = directory / f"export-{next(_exports)}.json"
    result = cli(db_url, "export", str(path))
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))


def _import_ok(cli, db_url: str, path, *options: str):
    result = cli(db_url, "import", str(path), *options)
    assert result.exit_code == 0, result.output
    return result


def _by_slug(exported: dict) -> dict[str, dict]:
    return {p["slug"]: p for p in exported["processes"]}


# --- validation: every rule is reported with its record number and field -------------------------

RULES = {
    "title-missing": ({"title": None, "summary": "senza titolo"}, "record 2 (senza titolo): title: "),
    "start-year-out-of-range": ({"start_year": 1850}, "record 2 (Secondo): start_year: "),
    "end-year-out-of-range": ({"end_year": 2101}, "record 2 (Secondo): end_year: "),
    "end-before-start": ({"start_year": 2020, "end_year": 2019}, "record 2 (Secondo): end_year: "),
    "ongoing-with-end-year": (
        {"start_year": 2020, "end_year": 2021, "ongoing": True},
        "record 2 (Secondo): end_year: ",
    ),
    "negative-amount": (
        {"funding": {"total_investment": "-10.00"}},
        "record 2 (Secondo): funding.total_investment: ",
    ),
    "three-decimals": (
        {"funding": {"total_investment": "1234.567"}},
        "record 2 (Secondo): funding.total_investment: ",
    ),
    # "10.123" may be 10,123 € or (Italian thousands) 10.123 €: the documented dot form "900579.61" makes
    # it a decimal point, so this is three decimals; an ambiguous amount must never be read 1000 times bigger
    "three-decimals-short": (
        {"funding": {"total_investment": "10.123"}},
        "record 2 (Secondo): funding.total_investment: ",
    ),
    "three-decimals-in-phase": (
        {"funding": {"phases": [{"label": "I Fase", "investment": 1.005}]}},
        "record 2 (Secondo): funding.phases.1.investment: ",
    ),
    "javascript-url": (
        {"links": [{"label": "x", "url": "javascript:alert(1)"}]},
        "record 2 (Secondo): links.1.url: «javascript:alert(1)»",
    ),
    "bad-cup": ({"funding": {"cup": "J41B1200"}}, "record 2 (Secondo): funding.cup: «J41B1200»"),
    "unknown-vocabulary-term": (
        {"theme": "astrologia"},
        "record 2 (Secondo): theme: valore sconosciuto «astrologia»",
    ),
    "unknown-territory": ({"territories": ["Atlantide"]}, "record 2 (Secondo): territories.1: "),
    "ambiguous-territory": ({"territories": ["Samone"]}, "record 2 (Secondo): territories.1: «Samone»"),
    "unknown-field": ({"colore": "rosso"}, "record 2 (Secondo): colore: campo sconosciuto"),
    "bad-date": (
        {"phases": [{"title": "Avvio", "start_date": "31/02/2020"}]},
        "record 2 (Secondo): phases.1.start_date: «31/02/2020»",
    ),
    "title-too-long": ({"title": "x" * 301}, "record 2 (" + "x" * 60 + "): title: "),
}


@pytest.mark.parametrize("fields, expected", RULES.values(), ids=RULES.keys())
def test_import_reports_each_invalid_record_with_number_and_field(
    cli, empty_db_url, tmp_path, fields, expected
):
    second = {"title": "Secondo", **fields}
    if second["title"] is None:
        del second["title"]
    path = write_import(tmp_path, [record(slug="primo", title="Primo"), second])
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert expected in result.output
    assert "record 1 " not in result.output
    assert "nulla è stato scritto" in result.output


def test_unknown_vocabulary_term_message_names_the_allowed_values(cli, empty_db_url, tmp_path):
    path = write_import(tmp_path, [record(theme="astrologia", kind="Sagra")])
    output = cli(empty_db_url, "import", str(path)).output
    theme_line = next(line for line in output.splitlines() if "theme:" in line)
    assert "Ambito di intervento" in theme_line
    assert "ambiente" in theme_line and "assetto-istituzionale" in theme_line and "salute" in theme_line
    kind_line = next(line for line in output.splitlines() if "kind:" in line)
    assert "«Sagra»" in kind_line and "patto-di-collaborazione" in kind_line


def test_ambiguous_territory_message_gives_the_codes_to_choose_from(cli, empty_db_url, tmp_path):
    path = write_import(tmp_path, [record(territories=["Castro"])])
    output = cli(empty_db_url, "import", str(path)).output
    assert "C016065" in output and "C075096" in output


def test_import_reports_every_problem_of_a_record_at_once(cli, empty_db_url, tmp_path):
    bad = record(
        title="Tanti errori", start_year=1800, theme="astrologia", territories=["Atlantide"], colore=1
    )
    output = cli(empty_db_url, "import", str(write_import(tmp_path, [bad]))).output
    for field in ("start_year", "theme", "territories.1", "colore"):
        assert f"record 1 (Tanti errori): {field}: " in output


def test_duplicate_slug_in_one_file_is_refused(cli, empty_db_url, tmp_path):
    path = write_import(tmp_path, [record(slug="stesso", title="Uno"), record(slug="stesso", title="Due")])
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert "record 2 (Due): slug: " in result.output and "record 1" in result.output
    assert _export(cli, empty_db_url, tmp_path)["processes"] == []


def test_import_accepts_the_documented_amount_and_date_formats(cli, empty_db_url, tmp_path):
    records = [
        record(slug="stringa", funding={"total_investment": "900579.61"}),
        record(slug="numero", funding={"total_investment": 900579.61}),
        record(slug="italiano", funding={"total_investment": "900.579,61", "cup": "j41b12000010007"}),
        record(
            slug="date", phases=[{"title": "Avvio", "start_date": "08/10/2012", "end_date": "2015-12-31"}]
        ),
    ]
    _import_ok(cli, empty_db_url, write_import(tmp_path, records))
    exported = _by_slug(_export(cli, empty_db_url, tmp_path))
    for slug in ("stringa", "numero", "italiano"):
        assert exported[slug]["funding"]["total_investment"] == "900579.61", slug
    assert exported["italiano"]["funding"]["cup"] == "J41B12000010007"
    phase = exported["date"]["phases"][0]
    assert (phase["start_date"], phase["end_date"]) == ("2012-10-08", "2015-12-31")


def test_unknown_values_are_stored_as_null_not_empty_strings(cli, empty_db_url, tmp_path):
    _import_ok(cli, empty_db_url, write_import(tmp_path, [record(slug="vuoto", summary="   ", goals="")]))
    process = _by_slug(_export(cli, empty_db_url, tmp_path))["vuoto"]
    assert process["summary"] is None and process["goals"] is None and process["description"] is None


# --- all or nothing, --skip-invalid, --dry-run ----------------------------------------------------


def test_one_invalid_record_means_nothing_is_written(cli, empty_db_url, tmp_path):
    path = write_import(
        tmp_path, [record(slug="valido", title="Valido"), record(title="Non valido", start_year=1)]
    )
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert "record 2 (Non valido): start_year: " in result.output
    exported = _export(cli, empty_db_url, tmp_path)
    assert exported["processes"] == [] and exported["organisations"] == []
    fixed = write_import(tmp_path, [record(slug="valido", title="Valido")], name="fixed.json")
    assert "1 processi creati" in _import_ok(cli, empty_db_url, fixed).output


def test_one_invalid_record_in_a_demo_catalogue_changes_nothing(cli, demo_db_url, tmp_path):
    before = (tmp_path / "before.json", tmp_path / "after.json")
    cli(demo_db_url, "export", str(before[0]))
    update = {"slug": PATTI, "title": "Titolo cambiato"}
    path = write_import(tmp_path, [update, record(title="Rotto", end_year=3000)])
    assert cli(demo_db_url, "import", str(path)).exit_code != 0
    cli(demo_db_url, "export", str(before[1]))
    assert before[0].read_bytes() == before[1].read_bytes()


def test_skip_invalid_writes_the_valid_records_and_lists_the_others(cli, empty_db_url, tmp_path):
    path = write_import(
        tmp_path,
        [
            record(slug="valido", title="Valido"),
            record(title="Non valido", start_year=1),
            record(slug="altro"),
        ],
    )
    result = _import_ok(cli, empty_db_url, path, "--skip-invalid")
    assert "record 2 (Non valido): start_year: " in result.output
    assert "2 processi creati" in result.output and "1 record scartati" in result.output
    assert set(_by_slug(_export(cli, empty_db_url, tmp_path))) == {"valido", "altro"}


def test_dry_run_validates_but_writes_nothing(cli, empty_db_url, tmp_path):
    path = write_import(tmp_path, [record(slug="valido", decision_holders=["Comune di Chieri"])])
    result = _import_ok(cli, empty_db_url, path, "--dry-run")
    assert "nulla è stato scritto" in result.output
    exported = _export(cli, empty_db_url, tmp_path)
    assert exported["processes"] == [] and exported["organisations"] == []
    invalid = write_import(tmp_path, [record(start_year=1)], name="invalid.json")
    result = cli(empty_db_url, "import", str(invalid), "--dry-run")
    assert result.exit_code != 0 and "record 1 (Processo di prova): start_year: " in result.output


def test_malformed_json_is_refused_with_its_line(cli, empty_db_url, tmp_path):
    path = tmp_path / "rotto.json"
    path.write_text('{"processes": [\n  {"title": "x",}\n]}', encoding="utf-8")
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert "riga 2" in result.output


def test_file_of_another_format_is_refused(cli, empty_db_url, tmp_path):
    path = tmp_path / "altro.json"
    path.write_text(json.dumps({"format": "altro", "version": 1, "processes": []}), encoding="utf-8")
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert "osservatorio/processi" in result.output


# --- CSV ---------------------------------------------------------------------------------------

CSV_ROW = {
    "slug": "orti-urbani",
    "title": "Orti urbani condivisi",
    "kind": "Patto di collaborazione",
    "theme": "ambiente",
    "topics": "energia|istruzione",
    "methods": "laboratori",
    "decision_holders": "Comune di Chieri|Comune di Torino",
    "promoters": "Associazione Orti",
    "partners": "Legambiente|Slow Food",
    "funders": "Compagnia di San Paolo",
    "beneficiaries": "Scuola Media Chieri",
    "implementers": "Cooperativa Verde",
    "territories": "C001078|Torino",
    "start_year": "2021",
    "end_year": "",
    "ongoing": "true",
    "state": "in_corso",
    "phases": "Avvio|Laboratori|Restituzione",
    "programme": "POR FESR",
    "fund": "FESR",
    "total_investment": "1.234,50",
    "cofinancing": "234.5",
    "beneficiary": "Comune di Chieri",
    "cup": "J41B12000010007",
    "links": "Sito del progetto https://example.org/orti|https://example.org/altro",
}


def _write_csv(path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_import_reads_lists_roles_funding_and_links(cli, empty_db_url, tmp_path):
    path = tmp_path / "processi.csv"
    _write_csv(path, [CSV_ROW])
    result = _import_ok(cli, empty_db_url, path)
    assert "1 processi creati" in result.output
    process = _by_slug(_export(cli, empty_db_url, tmp_path))["orti-urbani"]
    assert process["kind"] == "patto-di-collaborazione"
    assert process["topics"] == ["energia", "istruzione"]
    assert process["methods"] == ["laboratori"]
    assert process["decision_holders"] == ["Comune di Chieri", "Comune di Torino"]
    assert process["organisations"] == [
        {"name": "Associazione Orti", "role": "promotore"},
        {"name": "Legambiente", "role": "partner"},
        {"name": "Slow Food", "role": "partner"},
        {"name": "Compagnia di San Paolo", "role": "finanziatore"},
        {"name": "Scuola Media Chieri", "role": "beneficiario"},
        {"name": "Cooperativa Verde", "role": "attuatore"},
    ]
    assert process["territories"] == [CHIERI, "C001272"]
    assert (process["start_year"], process["end_year"], process["ongoing"]) == (2021, None, True)
    assert process["state"] == "in_corso"
    assert [phase["title"] for phase in process["phases"]] == ["Avvio", "Laboratori", "Restituzione"]
    assert process["funding"] == {
        "programme": "POR FESR",
        "fund": "FESR",
        "total_investment": "1234.50",
        "cofinancing": "234.50",
        "beneficiary": "Comune di Chieri",
        "cup": "J41B12000010007",
        "phases": [],
    }
    assert process["links"] == [
        {"label": "Sito del progetto", "url": "https://example.org/orti"},
        {"label": "example.org", "url": "https://example.org/altro"},
    ]


def test_csv_import_reports_problems_with_row_numbers(cli, empty_db_url, tmp_path):
    path = tmp_path / "processi.csv"
    path.write_text("title,start_year\nPrimo,2020\nSecondo,1700\n", encoding="utf-8")
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert "record 2 (Secondo): start_year: " in result.output


# --- organisations -----------------------------------------------------------------------------


def test_organisations_are_matched_by_alternative_name_ignoring_case_and_accents(cli, empty_db_url, tmp_path):
    organisations = [
        {
            "name": "Comune di Torino",
            "kind": "comune",
            "territory": "C001272",
            "alt_names": ["Città di Torino"],
        }
    ]
    processes = [
        record(slug="uno", decision_holders=["Città di Torino"]),
        record(slug="due", decision_holders=["COMUNE DI TORINO"]),
        record(
            slug="tre",
            decision_holders=["citta di torino"],
            organisations=[{"name": "Comune di Torino.", "role": "partner"}],
        ),
    ]
    _import_ok(cli, empty_db_url, write_import(tmp_path, processes, organisations))
    exported = _export(cli, empty_db_url, tmp_path)
    assert [(o["name"], o["alt_names"], o["territory"]) for o in exported["organisations"]] == [
        ("Comune di Torino", ["Città di Torino"], "C001272")
    ]
    by_slug = _by_slug(exported)
    for slug in ("uno", "due", "tre"):
        assert by_slug[slug]["decision_holders"] == ["Comune di Torino"]
    assert by_slug["tre"]["organisations"] == [{"name": "Comune di Torino", "role": "partner"}]


def test_alternative_name_matches_an_organisation_already_in_the_catalogue(cli, demo_db_url, tmp_path):
    before = {o["slug"] for o in _export(cli, demo_db_url, tmp_path)["organisations"]}
    path = write_import(tmp_path, [record(slug="nuovo", decision_holders=["Città di Torino"])])
    assert "0 enti nuovi" in _import_ok(cli, demo_db_url, path).output
    exported = _export(cli, demo_db_url, tmp_path)
    assert _by_slug(exported)["nuovo"]["decision_holders"] == ["Comune di Torino"]
    assert {o["slug"] for o in exported["organisations"]} == before


def test_new_comune_organisation_is_linked_to_its_comune(cli, empty_db_url, tmp_path):
    path = write_import(
        tmp_path, [record(slug="uno", decision_holders=["Comune di Chieri", "Fondazione Esempio"])]
    )
    _import_ok(cli, empty_db_url, path)
    organisations = {o["name"]: o for o in _export(cli, empty_db_url, tmp_path)["organisations"]}
    assert organisations["Comune di Chieri"]["kind"] == "comune"
    assert organisations["Comune di Chieri"]["territory"] == CHIERI
    assert organisations["Comune di Chieri"]["slug"] == "comune-di-chieri"
    assert organisations["Fondazione Esempio"]["kind"] == "fondazione"
    assert organisations["Fondazione Esempio"]["territory"] is None


def test_new_comune_with_an_ambiguous_name_gets_no_territory(cli, empty_db_url, tmp_path):
    _import_ok(cli, empty_db_url, write_import(tmp_path, [record(decision_holders=["Comune di Samone"])]))
    (organisation,) = _export(cli, empty_db_url, tmp_path)["organisations"]
    assert (organisation["kind"], organisation["territory"]) == ("comune", None)


# --- export, round trip, re-import --------------------------------------------------------------


def test_export_of_the_demo_catalogue_holds_every_process_sorted(cli, demo_db_url, tmp_path):
    exported = _export(cli, demo_db_url, tmp_path)
    assert (exported["format"], exported["version"]) == ("osservatorio/processi", 1)
    slugs = [p["slug"] for p in exported["processes"]]
    assert len(slugs) == 761 and slugs == sorted(slugs)
    assert [o["slug"] for o in exported["organisations"]] == sorted(
        o["slug"] for o in exported["organisations"]
    )
    opencoesione = _by_slug(exported)["opencoesione"]
    assert opencoesione["funding"]["phases"][0]["investment"] == "900579.61"


def test_export_then_import_into_an_empty_catalogue_gives_the_same_file(cli, backend, demo_db_url, tmp_path):
    # a second database of the same backend (both db fixtures would put their index in tmp_path/index)
    empty_db_url = backend.clone("empty", tmp_path / "index-empty")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert cli(demo_db_url, "export", str(first)).exit_code == 0
    result = _import_ok(cli, empty_db_url, first)
    assert "761 processi creati" in result.output
    assert cli(empty_db_url, "export", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_importing_the_same_file_again_updates_without_duplicates(cli, empty_db_url, tmp_path):
    organisations = [{"name": "Comune di Torino", "alt_names": ["Città di Torino"]}]
    processes = [
        record(slug="uno", decision_holders=["Comune di Torino"], territories=["C001272"]),
        record(
            title="Senza slug ma con riferimento", source_ref="fonte:1", decision_holders=["Città di Torino"]
        ),
    ]
    path = write_import(tmp_path, processes, organisations)
    assert "2 processi creati, 0 aggiornati, 1 enti nuovi" in _import_ok(cli, empty_db_url, path).output
    first = _export(cli, empty_db_url, tmp_path)
    assert "0 processi creati, 2 aggiornati, 0 enti nuovi" in _import_ok(cli, empty_db_url, path).output
    second = _export(cli, empty_db_url, tmp_path)
    assert [p["slug"] for p in second["processes"]] == [p["slug"] for p in first["processes"]]
    assert second["organisations"] == first["organisations"]


def test_reimport_replaces_the_fields_of_the_process(cli, demo_db_url, tmp_path):
    patti = _by_slug(_export(cli, demo_db_url, tmp_path))[PATTI]
    changed = {**patti, "title": "Patti in Piemonte", "territories": [CHIERI], "phases": [], "topics": []}
    result = _import_ok(cli, demo_db_url, write_import(tmp_path, [changed]))
    assert "0 processi creati, 1 aggiornati" in result.output
    after = _by_slug(_export(cli, demo_db_url, tmp_path))
    assert len(after) == 761
    assert after[PATTI]["title"] == "Patti in Piemonte"
    assert after[PATTI]["territories"] == [CHIERI]
    assert after[PATTI]["phases"] == [] and after[PATTI]["topics"] == []
    assert after[PATTI]["created_at"] == patti["created_at"]


# --- reference data and the demo command -------------------------------------------------------


def _territory_count(db_url: str) -> int:
    async def count() -> int:
        engine = database.configure(db_url)
        await database.start(engine)
        try:
            return await Territory.count()
        finally:
            await database.stop(engine)

    return asyncio.run(count())


def test_load_territories_prints_the_istat_counts_and_is_idempotent(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'nuovo.db'}"
    migrated = cli(url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "termini di vocabolario aggiunti: 63" in migrated.output
    first = cli(url, "load-territories")
    assert first.exit_code == 0, first.output
    assert "20 regioni, 107 province e città metropolitane, 7896 comuni (8024 in tutto)" in first.output
    assert _territory_count(url) == 8024
    second = cli(url, "load-territories")
    assert second.exit_code == 0 and second.output == first.output
    assert _territory_count(url) == 8024
    assert "termini di vocabolario aggiunti: 0" in cli(url, "migrate").output


def test_load_territories_on_a_loaded_database_adds_nothing(cli, empty_db_url):
    result = cli(empty_db_url, "load-territories")
    assert result.exit_code == 0
    assert "7896 comuni" in result.output
    assert _territory_count(empty_db_url) == 8024


def test_demo_refuses_to_load_into_a_catalogue_that_has_processes(cli, demo_db_url, tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    cli(demo_db_url, "export", str(before))
    result = cli(demo_db_url, "demo")
    assert result.exit_code == 0, result.output
    assert "--force" in result.output and "non caricati" in result.output
    cli(demo_db_url, "export", str(after))
    assert before.read_bytes() == after.read_bytes()


def test_demo_loads_into_an_empty_catalogue_and_force_reloads(cli, empty_db_url, tmp_path):
    result = cli(empty_db_url, "demo")
    assert result.exit_code == 0, result.output
    assert "761 processi creati, 0 aggiornati" in result.output
    assert len(_export(cli, empty_db_url, tmp_path)["processes"]) == 761
    forced = cli(empty_db_url, "demo", "--force")
    assert forced.exit_code == 0, forced.output
    assert "0 processi creati, 761 aggiornati" in forced.output
    assert len(_export(cli, empty_db_url, tmp_path)["processes"]) == 761


@pytest.mark.parametrize(
    "command", [[], *[[name] for name in sorted(main.commands)]], ids=lambda c: " ".join(c) or "main"
)
def test_every_command_answers_help(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Usage:" in result.output
