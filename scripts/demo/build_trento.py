#!/usr/bin/env python3
"""Build ``trento.json``: the patti di collaborazione of the Comune di Trento, in the import format.

Usage::

    python scripts/demo/build_trento.py [SRC.csv] [OUT.json]

Source: the Comune di Trento's map layer of patti di collaborazione (beni comuni), file ``patti.csv``
(91 points of 90 patti), as copied in ``sources/trento_patti/`` (see its SOURCE.md). Treated as CC BY
4.0; attribution "Comune di Trento".

Mapping: each «id» becomes one process of kind ``patto-di-collaborazione`` held by the Comune di Trento:
title from «descr» (apostrophes written for accents restored: «citta'» -> «città»; the source's title is
kept in ``original_title`` when it changes), the point reprojected from UTM zone 32N (EPSG:32632) to
WGS84 with pyproj, the Comune's page of the pact as a link. A pact with two points (id 71) takes the
first; the description names the second. Every point must fall near Trento, or the script stops. The
source has no state, dates or partners: they stay empty. Needs pyproj; the output is deterministic.
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path

import common
from pyproj import Transformer

SOURCE = common.SOURCES / "trento_patti" / "patti.csv"
OUTPUT = common.DEMO / "trento.json"
#: The day of the copy (commit b280ece1 of Stefans-code/RoverFamily, 2026-05-21).
SNAPSHOT = date(2026, 5, 21)
SOURCE_LICENCE = (
    "Comune di Trento, elenco dei patti di collaborazione per i beni comuni, "
    f"CC BY 4.0 ({common.CC_BY_4_URL})."
)
REPORTED_BY = "Comune di Trento"

TRENTO = common.comune("Trento", "C022205")
#: Where every point must fall: a box around the comune of Trento.
LATITUDES, LONGITUDES = (45.9, 46.2), (10.9, 11.3)
#: The Comune's pages of proposals not (yet) listed among the patti.
PROPOSAL_PATH = "/Proposte-di-collaborazione/"

_POINT = re.compile(r"POINT\s*\(\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s*\)")
#: A vowel with an apostrophe for its accent at the end of a word of three letters or more
#: ("citta'", "piu'", "Martedi'"): short words keep theirs ("po'", "di'").
_ACCENT = re.compile(r"(?<=[^\W\d_]{2})([aiouAIOU])'(?=$|[\s,.;:!?)\"»-])")
_GRAVE = {"a": "à", "i": "ì", "o": "ò", "u": "ù", "A": "À", "I": "Ì", "O": "Ò", "U": "Ù"}
#: The verb written "e'".
_IS = re.compile(r"(?<![^\W\d_])([eE])'(?=\s)")

NUMBERS = {2: "due", 3: "tre", 4: "quattro"}

_TO_WGS84 = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)


def accents(text: str) -> str:
    """Accents written as apostrophes restored where there is no doubt: «citta'» -> «città», «e'» ->
    «è». Words ending in «e'» («Dematte'», «Sale'») are left as written."""
    text = _ACCENT.sub(lambda match: _GRAVE[match.group(1)], text)
    return _IS.sub(lambda match: "è" if match.group(1) == "e" else "È", text)


def point(row: dict[str, str]) -> tuple[float, float]:
    """(latitude, longitude) in WGS84 of the row's UTM 32N point; stops if it is not near Trento."""
    match = _POINT.fullmatch(row["wkb_geometry"].strip())
    if not match:
        raise SystemExit(f"id {row['id']}: not a WKT point: {row['wkb_geometry']!r}")
    easting, northing = float(match.group(1)), float(match.group(2))
    longitude, latitude = _TO_WGS84.transform(easting, northing)
    latitude, longitude = common.coordinate(latitude), common.coordinate(longitude)
    if not (LATITUDES[0] < latitude < LATITUDES[1] and LONGITUDES[0] < longitude < LONGITUDES[1]):
        raise SystemExit(f"id {row['id']}: point {latitude}, {longitude} is not near Trento")
    return latitude, longitude


def title(row: dict[str, str]) -> tuple[str, str | None]:
    """The title to show, and the source's when they differ (beyond spaces)."""
    written = common.one_line(row["descr"])
    if not written:
        raise SystemExit(f"id {row['id']}: no title")
    shown = accents(common.unquote(written))
    return shown, (written if shown != written else None)


def process(number: int, rows: list[dict[str, str]], slugs: set[str]) -> dict:
    first = rows[0]
    shown, original = title(first)
    if any(common.one_line(row["descr"]) != common.one_line(first["descr"]) for row in rows):
        raise SystemExit(f"id {number}: points with different titles")
    latitude, longitude = point(first)
    others = [point(row) for row in rows[1:]]
    link = common.web_address(first["link"])
    proposal = link is not None and PROPOSAL_PATH in link
    summary = (
        "Patto di collaborazione per la cura di un bene comune, nell'elenco dei patti del Comune di Trento."
    )
    if proposal:
        summary += " Sul sito del Comune la scheda è tra le proposte di collaborazione dei cittadini."
    description = None
    if others:
        places = "; ".join(f"{lat}, {lon}" for lat, lon in others)
        description = (
            f"Il patto riguarda {NUMBERS.get(len(rows), len(rows))} luoghi. "
            "Il punto della scheda è il primo; "
            f"{'l’altro è' if len(others) == 1 else 'gli altri sono'} alle coordinate {places} (WGS84)."
        )
    label = (
        "Scheda della proposta sul sito del Comune di Trento"
        if proposal
        else "Scheda del patto sul sito del Comune di Trento"
    )
    moment = common.timestamp(SNAPSHOT)
    return common.record(
        slug=common.unique_slug(common.slugify(shown), slugs, str(number)),
        title=shown,
        kind="patto-di-collaborazione",
        summary=summary,
        description=description,
        decision_holders=[TRENTO["name"]],
        territories=[TRENTO["territory"]],
        latitude=latitude,
        longitude=longitude,
        topics=["cittadinanza-attiva-beni-comuni"],
        methods=["patti-collaborazione"],
        links=[{"label": label, "url": link}] if link else [],
        reported_by=REPORTED_BY,
        source_licence=SOURCE_LICENCE,
        source_ref=f"trento-patti:{number}",
        original_title=original,
        licence=common.CC_BY_4,
        created_at=moment,
        updated_at=moment,
        published_at=moment,
    )


def build(source: Path) -> dict:
    by_id: dict[int, list[dict[str, str]]] = {}
    for row in common.read_csv(source, delimiter=";"):
        if not row["id"].strip().isdigit():
            raise SystemExit(f"not an id: {row['id']!r}")
        by_id.setdefault(int(row["id"]), []).append(row)
    slugs: set[str] = set()
    processes = [process(number, by_id[number], slugs) for number in sorted(by_id)]
    return common.document([TRENTO], processes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE, help="patti.csv")
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="the JSON file to write")
    args = parser.parse_args(argv)
    data = build(args.source)
    common.write_json(args.output, data)
    print(f"{args.output}: {len(data['processes'])} processes")


if __name__ == "__main__":
    main()
