#!/usr/bin/env python3
"""Build ``palermo.json``: the proposals of patti di collaborazione of the Comune di Palermo.

Usage::

    python scripts/demo/build_palermo.py [SRC.csv] [OUT.json]

Source: ``dati/monit_patti_pa.csv`` of the dashboard «Monitoraggio Patti di Collaborazione»
(github.com/PalermoHub/Dashboard-Monitoraggio, Comune di Palermo · Ufficio Rigenerazione Urbana, data
reworked by gbvitrano), as copied in ``sources/palermo_patti/`` (see its SOURCE.md). Licence CC BY 4.0;
attribution "Patti di collaborazione – Comune di Palermo, rielaborazione gbvitrano / PalermoHub, CC BY
4.0".

Mapping: each row (one proposal, «Id» 001-073) becomes one process of kind ``patto-di-collaborazione``
held by the Comune di Palermo: title from «Titolo proposta», promoter from «Rappresentante» (never for a
«Persona fisica»: no private person is named), kind of the promoter from «Proponente», quartiere and
circoscrizione, address, point, theme and topics from «Ambiti di azione», state from «Stato di
avanzamento» (see STATES), results from «Nota per attività conclusive», the pact's PDF as a link. The
source has no dates: years stay empty. Standard library only; the output is deterministic.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import common

SOURCE = common.SOURCES / "palermo_patti" / "monit_patti_pa.csv"
OUTPUT = common.DEMO / "palermo.json"
#: The day of the copy (commit 0a90536a of PalermoHub/Dashboard-Monitoraggio, 2026-06-12).
SNAPSHOT = date(2026, 6, 12)
DASHBOARD_URL = "https://palermohub.github.io/Dashboard-Monitoraggio/"
SOURCE_LICENCE = (
    f"Patti di collaborazione – Comune di Palermo, rielaborazione gbvitrano / PalermoHub ({DASHBOARD_URL}), "
    f"CC BY 4.0 ({common.CC_BY_4_URL})."
)
REPORTED_BY = (
    "Comune di Palermo – Ufficio Rigenerazione Urbana, dashboard di monitoraggio dei patti (PalermoHub)"
)
CREDITS = "Raccolta e rielaborazione dei dati: gbvitrano (PalermoHub)."

PALERMO = common.comune("Palermo", "C082053")

#: «Stato di avanzamento» (folded) -> state of the process.
STATES = {
    "istruttoria in corso": "in_progetto",
    "in attesa di integrazione": "in_progetto",
    "patto stipulato": "in_corso",
    "archiviata": "concluso",
    "respinta": "concluso",
}
#: «Proponente» (folded) -> kind of the promoter's organisation, and how the summary names it.
#: ``None``: a private person, who is never named.
PROPONENTI = {
    "associazione": ("associazione", "un'associazione"),
    "societa": ("impresa", "una società"),
    "gruppo informale": ("gruppo_informale", "un gruppo informale"),
    "comitato civico": ("gruppo_informale", "un comitato civico"),
    "istituto": ("scuola", "un istituto scolastico"),
    "persona fisica": (None, "un cittadino"),
    "": ("altro", None),
}
#: Words of a name (folded) that say the kind of organisation better than «Proponente» does.
COMPANY_FORMS = {"srl", "s r l", "spa", "s p a", "s a", "snc", "s n c", "sas", "s a s"}
ASSOCIATION_FORMS = {"aps", "odv", "ets", "onlus"}
SCHOOL_WORDS = ("liceo ", "istituto ", "i m s ")
#: Names of the same organisation that differ by more than case and punctuation (folded -> name).
ALIASES = {"associazione comunale silpa": "SILPA Associazione Comunale Palermo"}

#: «Ambiti di azione» (folded) -> (theme, topics).
_COMMONS = "cittadinanza-attiva-beni-comuni"
_URBAN = ("territorio-urbanistica", ["rigenerazione-urbana", _COMMONS])
_CULTURE = ("cultura-istruzione", ["cultura-turismo", "rigenerazione-urbana", _COMMONS])
AMBITI = {
    "cura di aree pedonali e collocazione di arredi": _URBAN,
    "pedonalizzazione di aree urbane con collocazione di arredi": _URBAN,
    "cura di spazi verdi e arredi": ("ambiente", ["tutela-ambiente", _COMMONS]),
    "riqualificazione immobili comunali per attivita socio culturali": _CULTURE,
    "riqualificazione di spazi urbani per attivita socio culturali": _CULTURE,
    "riqualificazione di spazi urbani per attivita sportive": _URBAN,
    "azioni immateriali": (None, [_COMMONS]),
    "": (None, [_COMMONS]),
}
ROMAN = {"I", "II", "III", "IV", "V", "VI", "VII", "VIII"}


def proponente(row: dict[str, str]) -> tuple[str | None, str | None]:
    key = common.fold(row["Proponente"])
    if key not in PROPONENTI:
        raise SystemExit(f"{row['Id']}: unknown «Proponente» {row['Proponente']!r}")
    return PROPONENTI[key]


def organisation_kind(name: str, kind: str) -> str:
    """The kind said by the name's legal form (s.r.l., APS...) or school word, else ``kind``."""
    folded = f" {common.fold(name)} "
    if any(f" {form} " in folded for form in COMPANY_FORMS):
        return "impresa"
    if folded.lstrip().startswith(SCHOOL_WORDS):
        return "scuola"
    if any(f" {form} " in folded for form in ASSOCIATION_FORMS) or folded.lstrip().startswith(
        "associazione "
    ):
        return "associazione"
    return kind


def promoter(row: dict[str, str], names: dict[str, str], written: dict[str, set[str]]) -> str | None:
    """The promoter's name, or ``None`` for a private person or when none is given. ``names`` keeps the
    first spelling of each (folded) name, ``written`` every spelling of each name kept."""
    kind, _ = proponente(row)
    given = common.one_line(row["Rappresentante"])
    if kind is None or not given:
        return None
    name = names.setdefault(
        common.fold(ALIASES.get(common.fold(given), given)), ALIASES.get(common.fold(given), given)
    )
    written.setdefault(name, set()).add(given)
    return name


def circoscrizioni(rows: list[dict[str, str]]) -> dict[str, str]:
    """The circoscrizione of each quartiere (folded), the one most rows give it: two rows put a quartiere
    in another circoscrizione than the rest of the file do."""
    seen: dict[str, Counter] = {}
    for row in rows:
        number = row["Circoscrizione"].strip()
        if number and number not in ROMAN:
            raise SystemExit(f"{row['Id']}: unknown circoscrizione {number!r}")
        seen.setdefault(common.fold(row["Quartiere"]), Counter())[number] += 1
    chosen = {}
    for quartiere, counts in seen.items():
        (best, n), *others = counts.most_common()
        if others and others[0][1] == n:
            raise SystemExit(f"quartiere {quartiere!r}: no circoscrizione given by most rows: {counts}")
        chosen[quartiere] = best
    for row in rows:
        best = chosen[common.fold(row["Quartiere"])]
        if row["Circoscrizione"].strip() != best:
            print(
                f"{row['Id']}: {row['Quartiere']} in circoscrizione {row['Circoscrizione']} in the source, "
                f"{best} in the other rows: {best} is used",
                file=sys.stderr,
            )
    return chosen


def district(row: dict[str, str], chosen: dict[str, str]) -> str | None:
    quartiere = common.one_line(row["Quartiere"])
    number = chosen[common.fold(row["Quartiere"])]
    if quartiere and number:
        return f"{quartiere} (Circoscrizione {number})"
    return quartiere or (f"Circoscrizione {number}" if number else None)


def title(row: dict[str, str]) -> tuple[str, str | None]:
    """The title to show, and the source's when they differ (beyond spaces)."""
    written = common.one_line(row["Titolo proposta"])
    if not written:
        raise SystemExit(f"{row['Id']}: no title")
    shown = common.tidy_punctuation(common.unquote(written))
    if shown.endswith(".") and not shown.endswith(".."):
        shown = shown[:-1]
    if common.all_capitals(shown):
        shown = common.sentence_case(shown)
    return shown, (written if shown != written else None)


def point(row: dict[str, str]) -> tuple[float | None, float | None]:
    latitude, longitude = common.coordinate(row["Lat."]), common.coordinate(row["Long."])
    if latitude is None or longitude is None:
        return None, None
    if not (38.0 < latitude < 38.3 and 13.2 < longitude < 13.5):
        raise SystemExit(f"{row['Id']}: point {latitude}, {longitude} is not in Palermo")
    return latitude, longitude


def summary(row: dict[str, str], name: str | None) -> str:
    kind, words = proponente(row)
    if kind is None:
        who = "Proposta di un cittadino"
    elif name and organisation_kind(name, kind) != kind:
        who = f"Proposta di {name}"  # the name says another kind than «Proponente»
    elif words and name:
        who = f"Proposta di {words} ({name})"
    elif name:
        who = f"Proposta di {name}"
    else:
        who = f"Proposta di {words}" if words else "Proposta"
    state = common.one_line(row["Stato di avanzamento"])
    return f"{who} per un patto di collaborazione con il Comune di Palermo. Stato nella fonte: {state}."


def description(row: dict[str, str], place: str | None, same_title: list[str]) -> str:
    paragraphs = [f"Proposta n. {row['Id']} dell'elenco dei patti di collaborazione del Comune di Palermo."]
    upl = common.one_line(row["UPL"])
    where = []
    if place:
        where.append(place)
    if upl:
        where.append(f"unità di primo livello (UPL) «{upl}»")
    if where:
        paragraphs.append(f"Luogo: {', '.join(where)}.")
    ambito = common.one_line(row["Ambiti di azione"])
    if ambito:
        paragraphs.append(f"Ambito di azione: {ambito}.")
    if same_title:
        numbers = ", ".join(f"n. {number}" for number in same_title)
        paragraphs.append(f"Nella fonte c'è un'altra proposta con lo stesso titolo: {numbers}.")
    return "\n\n".join(paragraphs)


def results(row: dict[str, str]) -> str | None:
    note = common.tidy_punctuation(common.clean(row["Nota per attività conclusive"]))
    if note and common.fold(note) == common.fold(row["Stato di avanzamento"]):
        return None  # it only repeats the state
    return note


def process(
    row: dict[str, str],
    names: tuple[dict[str, str], dict[str, set[str]]],
    chosen: dict[str, str],
    same_title: list[str],
    slugs: set[str],
) -> dict:
    state_key = common.fold(row["Stato di avanzamento"])
    if state_key not in STATES:
        raise SystemExit(f"{row['Id']}: unknown «Stato di avanzamento» {row['Stato di avanzamento']!r}")
    state = STATES[state_key]
    ambito = common.fold(row["Ambiti di azione"])
    if ambito not in AMBITI:
        raise SystemExit(f"{row['Id']}: unknown «Ambiti di azione» {row['Ambiti di azione']!r}")
    theme, topics = AMBITI[ambito]
    shown, original = title(row)
    name = promoter(row, *names)
    place = common.tidy_punctuation(common.one_line(row["Indirizzo"]))
    place = place.rstrip(" ,;.") or None if place else None
    latitude, longitude = point(row)
    pdf = common.web_address(row["Scarica il Patto"])
    moment = common.timestamp(SNAPSHOT)
    return common.record(
        slug=common.unique_slug(common.slugify(shown), slugs, row["Id"]),
        title=shown,
        kind="patto-di-collaborazione",
        summary=summary(row, name),
        description=description(row, place, same_title),
        decision_holders=[PALERMO["name"]],
        organisations=[{"name": name, "role": "promotore"}] if name else [],
        territories=[PALERMO["territory"]],
        district=district(row, chosen),
        address=place,
        latitude=latitude,
        longitude=longitude,
        theme=theme,
        topics=list(topics),
        ongoing=state != "concluso",
        state=state,
        results=results(row),
        methods=["patti-collaborazione"],
        links=[{"label": "Testo del patto", "url": pdf}] if pdf else [],
        reported_by=REPORTED_BY,
        credits=CREDITS,
        source_licence=SOURCE_LICENCE,
        source_ref=f"palermo-patti:{row['Id']}",
        original_title=original,
        licence=common.CC_BY_4,
        created_at=moment,
        updated_at=moment,
        published_at=moment,
    )


def build(source: Path) -> dict:
    rows = sorted(common.read_csv(source), key=lambda row: row["Id"])
    ids = [row["Id"] for row in rows]
    if len(set(ids)) != len(ids) or not all(i.isdigit() for i in ids):
        raise SystemExit("«Id» is not a unique number")
    chosen = circoscrizioni(rows)
    by_title: dict[str, list[str]] = {}
    for row in rows:
        by_title.setdefault(common.fold(title(row)[0]), []).append(row["Id"])
    names: tuple[dict[str, str], dict[str, set[str]]] = ({}, {})
    kinds: dict[str, set[str]] = {}
    slugs: set[str] = set()
    processes = []
    for row in rows:
        others = [i for i in by_title[common.fold(title(row)[0])] if i != row["Id"]]
        record = process(row, names, chosen, others, slugs)
        processes.append(record)
        for involved in record["organisations"]:
            kind = organisation_kind(involved["name"], proponente(row)[0] or "altro")
            kinds.setdefault(involved["name"], set()).add(kind)
    organisations = [PALERMO]
    for name, found in sorted(kinds.items()):
        if len(found) > 1:
            raise SystemExit(f"{name}: several kinds {sorted(found)}")
        alt_names = {given for given in names[1][name] if common.fold(given) != common.fold(name)}
        organisations.append(common.organisation(name, found.pop(), alt_names=alt_names))
    return common.document(organisations, processes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE, help="monit_patti_pa.csv")
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="the JSON file to write")
    args = parser.parse_args(argv)
    data = build(args.source)
    common.write_json(args.output, data)
    print(f"{args.output}: {len(data['processes'])} processes, {len(data['organisations'])} organisations")


if __name__ == "__main__":
    main()
