#!/usr/bin/env python3
"""Build ``bologna.json``: the editions of Bologna's participatory budget, in the import format.

Usage::

    python scripts/demo/build_bologna.py [SRC.csv] [OUT.json]

Source: the dataset «Bilancio partecipativo» of the Comune di Bologna's open-data portal
(https://opendata.comune.bologna.it/explore/dataset/bilancio-partecipativo/), every project of every
edition (2017, 2018, 2019/20, 2023), as copied in ``sources/bologna_bilancio_partecipativo/`` (see its
SOURCE.md). Licence CC BY 4.0; attribution "Comune di Bologna – Open Data, dataset 'Bilancio
partecipativo', CC BY 4.0".

Mapping: each edition becomes one process of kind ``bilancio-partecipativo`` held by the Comune di
Bologna, and each row of the source one of its ``projects`` (title, description with the beneficiaries
and the source's state note, quartiere, place, Geo Point, amount, state from «Attuazione», link). Some
projects take several rows of the source, one per place: they stay one row each, and the counts of the
summary are of distinct projects. An edition is ``in_corso`` while one of its projects is a winner not
yet carried out (vincitore, in corso di realizzazione), ``concluso`` otherwise. Standard library only;
the output is deterministic.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import common

SOURCE = common.SOURCES / "bologna_bilancio_partecipativo" / "bilancio-partecipativo.csv"
OUTPUT = common.DEMO / "bologna.json"
#: The day of the copy (commit 28512b89 of bfry07/Bologna, 2024-06-19): the records' timestamps.
SNAPSHOT = date(2024, 6, 19)
DATASET_URL = "https://opendata.comune.bologna.it/explore/dataset/bilancio-partecipativo/"
SOURCE_LICENCE = (
    f"Comune di Bologna – Open Data, dataset 'Bilancio partecipativo' ({DATASET_URL}), "
    f"CC BY 4.0 ({common.CC_BY_4_URL})."
)
REPORTED_BY = "Comune di Bologna – Open Data"

BOLOGNA = common.comune("Bologna", "C037006")

#: The six quartieri of Bologna by folded spelling of the source -> official name.
QUARTIERI = {
    "borgo panigale reno": "Borgo Panigale-Reno",
    "navile": "Navile",
    "porto saragozza": "Porto-Saragozza",
    "san donato san vitale": "San Donato-San Vitale",
    "santo stefano": "Santo Stefano",
    "savena": "Savena",
}
#: «Attuazione» -> state of the project.
PROJECT_STATES = {
    "candidato al voto": "ammesso",
    "vincitore": "vincitore",
    "in corso di realizzazione": "in_realizzazione",
    "realizzato": "realizzato",
}
#: Project states of a winner, and those of a winner not carried out yet (the edition is in progress).
WINNERS = ("vincitore", "in_realizzazione", "realizzato")
UNFINISHED = ("vincitore", "in_realizzazione")
#: How the summary and the results name each state, in the plural.
STATE_WORDS = {
    "ammesso": ("candidato al voto", "candidati al voto"),
    "vincitore": ("vincitore", "vincitori"),
    "in_realizzazione": ("in corso di realizzazione", "in corso di realizzazione"),
    "realizzato": ("realizzato", "realizzati"),
}


def quartiere(value: str) -> str:
    name = QUARTIERI.get(common.fold(value))
    if name is None:
        raise SystemExit(f"unknown quartiere {value!r}")
    return name


def geo_point(value: str) -> tuple[float | None, float | None]:
    """«Geo Point» is "latitude, longitude" (for a line or several points, a point on them)."""
    if not value.strip():
        return None, None
    latitude, longitude = (common.coordinate(part) for part in value.split(","))
    if not (44.3 < latitude < 44.7 and 11.1 < longitude < 11.6):
        raise SystemExit(f"Geo Point {value!r} is not in Bologna")
    return latitude, longitude


def project_description(row: dict[str, str], state: str) -> str | None:
    """«Descrizione», then «Beneficiari: …» and the source's «Stato» when it says more than the state."""
    paragraphs = [common.clean(row["Descrizione"])]
    beneficiary = common.clean(row["Beneficiario"])
    if beneficiary:
        paragraphs.append(f"Beneficiari: {beneficiary}")
    note = common.one_line(row["Stato"])
    if note and not (common.fold(note) == "finito" and state == "realizzato"):
        paragraphs.append(f"Stato nella fonte: {note}" + ("" if note[-1] in ".!?" else "."))
    return "\n\n".join(p for p in paragraphs if p) or None


def project(row: dict[str, str]) -> dict:
    attuazione = common.fold(row["Attuazione"])
    if attuazione not in PROJECT_STATES:
        raise SystemExit(f"unknown «Attuazione» {row['Attuazione']!r}")
    state = PROJECT_STATES[attuazione]
    latitude, longitude = geo_point(row["Geo Point"])
    return common.project(
        title=common.one_line(row["Progetto"]),
        description=project_description(row, state),
        district=quartiere(row["Quartiere"]),
        address=common.one_line(row["Luogo"]),
        latitude=latitude,
        longitude=longitude,
        amount=common.amount(row["Importo"]),
        state=state,
        votes=None,
        link=common.web_address(row["Link"]),
    )


def distinct(projects: list[dict]) -> list[dict]:
    """One row per project: the source has a row per point of a project's shape; the first one."""
    seen: dict[str, dict] = {}
    for row in projects:
        seen.setdefault(common.fold(row["title"]), row)
    return list(seen.values())


def counted(states: Counter, keys: tuple[str, ...]) -> str:
    return ", ".join(
        f"{states[key]} {STATE_WORDS[key][0 if states[key] == 1 else 1]}" for key in keys if states[key]
    )


def summary(label: str, projects: list[dict]) -> str:
    unique = distinct(projects)
    states = Counter(row["state"] for row in unique)
    winners = [row for row in unique if row["state"] in WINNERS]
    text = f"Edizione {label} del bilancio partecipativo del Comune di Bologna: {len(unique)} progetti"
    kinds = [key for key in WINNERS if states[key]]
    if len(kinds) > 1:
        text += f", di cui {len(winners)} vincitori ({counted(states, WINNERS)})"
    elif kinds and kinds[0] != "vincitore":
        text += f", di cui {len(winners)} vincitori, tutti {STATE_WORDS[kinds[0]][1]}"
    elif kinds:
        text += f", di cui {len(winners)} vincitori"
    amounts = [Decimal(row["amount"]) for row in winners if row["amount"]]
    if winners and len(amounts) == len(winners):
        text += f", per un importo complessivo di {common.euro(sum(amounts))} euro"
    elif winners and not amounts:
        text += "; la fonte non indica gli importi"
    return text + "."


def description(label: str, projects: list[dict]) -> str:
    unique = distinct(projects)
    states = Counter(row["state"] for row in unique)
    districts = Counter(row["district"] for row in unique)
    by_district = ", ".join(f"{name} {districts[name]}" for name in sorted(districts))
    paragraphs = [
        f"I progetti dell'edizione {label} del bilancio partecipativo del Comune di Bologna, come li elenca "
        f"il dataset «Bilancio partecipativo» del portale open data del Comune: {len(unique)} progetti "
        f"candidati al voto dei cittadini nei sei quartieri della città ({by_district}).",
        "Nella fonte "
        + ", ".join(
            f"{states[key]} {'è indicato' if states[key] == 1 else 'sono indicati'} "
            f"come «{STATE_WORDS[key][0]}»"
            for key in ("ammesso", *WINNERS)
            if states[key]
        )
        + ".",
    ]
    amounts = sorted(Decimal(row["amount"]) for row in unique if row["amount"])
    if not amounts:
        paragraphs.append("La fonte non indica gli importi dei progetti.")
    elif len(amounts) == len(unique):
        paragraphs.append(
            f"Gli importi dei progetti vanno da {common.euro(amounts[0])} a {common.euro(amounts[-1])} euro."
        )
    if len(projects) > len(unique):
        several = sum(1 for row in unique if sum(p["title"] == row["title"] for p in projects) > 1)
        subject = "1 progetto compare" if several == 1 else f"{several} progetti compaiono"
        paragraphs.append(
            f"{subject} nella fonte su più righe, una per punto della mappa ({len(projects)} righe in "
            "tutto): qui ogni progetto compare una volta sola, con il punto della sua prima riga."
        )
    return "\n\n".join(paragraphs)


def results(projects: list[dict]) -> str | None:
    """The winners, one a line: title, quartiere, state and amount."""
    lines = []
    for row in distinct(projects):
        if row["state"] in WINNERS:
            words = [row["district"], STATE_WORDS[row["state"]][0]]
            if row["amount"]:
                words.append(f"{common.euro(Decimal(row['amount']))} euro")
            lines.append(f"- {row['title']} ({', '.join(words)})")
    return "Progetti vincitori:\n" + "\n".join(lines) if lines else None


def edition(label: str, rows: list[dict[str, str]]) -> dict:
    numbered = sorted(
        enumerate(rows), key=lambda item: (quartiere(item[1]["Quartiere"]), item[1]["Progetto"], item[0])
    )
    projects = [project(row) for _, row in numbered]
    start = int(label[:4])
    key = label.replace("/", "-")
    unfinished = any(row["state"] in UNFINISHED for row in projects)
    moment = common.timestamp(SNAPSHOT)
    return common.record(
        slug=f"bilancio-partecipativo-bologna-{key}",
        title=f"Bilancio partecipativo di Bologna {label}",
        kind="bilancio-partecipativo",
        summary=summary(label, projects),
        description=description(label, projects),
        decision_holders=[BOLOGNA["name"]],
        territories=[BOLOGNA["territory"]],
        theme="assetto-istituzionale",
        topics=["bilancio-comunale", "cittadinanza-attiva-beni-comuni"],
        start_year=start,
        end_year=None,
        ongoing=unfinished,
        state="in_corso" if unfinished else "concluso",
        results=results(projects),
        projects=distinct(projects),
        participation_level="co-decisione",
        links=[
            {
                "label": "Dataset «Bilancio partecipativo» sul portale open data del Comune di Bologna",
                "url": DATASET_URL,
            }
        ],
        reported_by=REPORTED_BY,
        source_licence=SOURCE_LICENCE,
        source_ref=f"bologna-bp:{key}",
        licence=common.CC_BY_4,
        created_at=moment,
        updated_at=moment,
        published_at=moment,
    )


def build(source: Path) -> dict:
    rows = common.read_csv(source, delimiter=";")
    editions: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        label = common.one_line(row["Edizione bilancio partecipativo"])
        if not label or not label[:4].isdigit():
            raise SystemExit(f"edition {label!r} does not start with a year")
        editions.setdefault(label, []).append(row)
    processes = [edition(label, editions[label]) for label in sorted(editions)]
    return common.document([BOLOGNA], processes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE, help="bilancio-partecipativo.csv")
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="the JSON file to write")
    args = parser.parse_args(argv)
    data = build(args.source)
    common.write_json(args.output, data)
    projects = sum(len(process["projects"]) for process in data["processes"])
    print(f"{args.output}: {len(data['processes'])} processes, {projects} projects")


if __name__ == "__main__":
    main()
