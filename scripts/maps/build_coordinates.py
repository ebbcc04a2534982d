#!/usr/bin/env python3
"""Build ``observatory/data/territori/comuni_coordinate.csv``: where each comune lies, and its population.

Usage::

    python scripts/maps/build_coordinates.py [SRC.csv] [OUT.csv]

Source: ``comuni_ita_2026.csv`` (one row per comune: ``codice_istat``, ``popolazione``, ``lat``, ``lng``
and more), from Wikidata (CC0), packaged under the MIT licence. Output: the columns
``codice,lat,lng,popolazione``, where ``codice`` is our territory code ("C" + the 6-digit ISTAT code,
``C001272``), rows sorted by code, latitude and longitude rounded to 4 decimals. It says on standard error
how many comuni of the shipped ISTAT list have no coordinates. Standard library only; the output is
deterministic.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "territori" / "comuni_ita_2026.csv"
OUTPUT = ROOT / "observatory" / "data" / "territori" / "comuni_coordinate.csv"
ISTAT = ROOT / "observatory" / "data" / "territori" / "istat_elenco_comuni_italiani_2024-12.csv"
#: Italy's extent in degrees: a point outside is an error in the source.
LATITUDES, LONGITUDES = (35.0, 47.5), (6.0, 19.0)


def coordinates(source: Path) -> list[tuple[str, str, str, str]]:
    """(code, latitude, longitude, population) of every comune of ``source``, sorted by code."""
    rows = {}
    with source.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code, latitude, longitude = row["codice_istat"], float(row["lat"]), float(row["lng"])
            if not re.fullmatch(r"\d{6}", code) or "C" + code in rows:
                sys.exit(f"{source}:{line}: code {code!r} is not 6 digits or comes twice")
            if not (LATITUDES[0] <= latitude <= LATITUDES[1] and LONGITUDES[0] <= longitude <= LONGITUDES[1]):
                sys.exit(f"{source}:{line}: {latitude}, {longitude} is not in Italy")
            rows["C" + code] = (f"{latitude:.4f}", f"{longitude:.4f}", str(int(row["popolazione"])))
    return [(code, *rows[code]) for code in sorted(rows)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE, help="comuni_ita_2026.csv")
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="the CSV file to write")
    args = parser.parse_args(argv)
    rows = coordinates(args.source)
    with args.output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["codice", "lat", "lng", "popolazione"])
        writer.writerows(rows)
    with ISTAT.open(encoding="utf-8", newline="") as handle:
        listed = {"C" + row["Codice Comune formato alfanumerico"] for row in csv.DictReader(handle)}
    missing = sorted(listed - {row[0] for row in rows})
    print(
        f"{len(rows)} comuni written; {len(missing)} of the ISTAT list without coordinates", file=sys.stderr
    )
    for code in missing:
        print(f"  {code}", file=sys.stderr)


if __name__ == "__main__":
    main()
