"""Downloads of the catalogue: the projects of the processes of a search, one CSV row per project.

CSV as open-data portals expect it: UTF-8 with a BOM (spreadsheets then read accents right),
comma-separated, money as plain decimals (``136000.00``), unknown values as empty cells, columns in
the stable order of :data:`PROJECT_COLUMNS`. Every row carries its process's licence and attribution.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from observatory.catalogue import fields
from observatory.catalogue.services import cents_to_decimal
from observatory.catalogue.tables import LICENCES, Project

_PARTS = fields.BY_NAME["projects"].parts
#: The columns of the projects CSV, in order: the process, the project's parts, its licence.
PROJECT_COLUMNS = (
    "process_slug",
    "process_title",
    "position",
    *(part.name for part in _PARTS),
    "state_label",
    "licence",
    "attribution",
)
_EDITORIAL_ATTRIBUTION = "Redazione dell'Osservatorio"


async def project_rows(process_ids: list[int]) -> list[dict]:
    """The projects of those published processes, in the order of ``process_ids``, then as entered."""
    order = {process_id: i for i, process_id in enumerate(process_ids)}
    rows = await Project.select(
        Project.process.as_alias("process_id"),
        Project.process.slug.as_alias("process_slug"),
        Project.process.title.as_alias("process_title"),
        Project.process.licence.as_alias("licence"),
        Project.process.source_licence.as_alias("attribution"),
        Project.position,
        *(getattr(Project, part.stored_in) for part in _PARTS),
    ).where(Project.process.publication == "published")
    chosen = [row for row in rows if row["process_id"] in order]
    chosen.sort(key=lambda row: (order[row["process_id"]], row["position"]))
    states = fields.BY_PATH["projects.state"].choices or {}
    for row in chosen:
        row["position"] += 1
        row["amount"] = cents_to_decimal(row.pop("amount_cents"))
        row["state_label"] = states.get(row["state"])
        row["attribution"] = row["attribution"] or _EDITORIAL_ATTRIBUTION
        row["licence"] = LICENCES.get(row["licence"], row["licence"])
    return chosen


def csv_lines(rows: Iterable[dict], columns: tuple[str, ...] = PROJECT_COLUMNS) -> Iterator[str]:
    """The CSV text of ``rows``, a line at a time: a BOM and the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if row.get(column) is None else row[column] for column in columns])
        yield buffer.getvalue()
