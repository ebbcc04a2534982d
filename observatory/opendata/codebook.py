"""What the open-data files say of themselves: the codebook of the process table, the vocabularies as
tables, and the Frictionless Data Package descriptor. All of it derives from the columns
(opendata/columns.py, themselves from the field declaration) and from the editors' vocabularies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from observatory.catalogue import fields as f
from observatory.catalogue.exports import csv_lines
from observatory.catalogue.standard import SCHEMA_PATH
from observatory.catalogue.tables import LICENCE_URLS, LICENCES
from observatory.opendata.columns import BOOLEAN, DATETIME, SEPARATOR, Column, cell_text, process_columns

#: Headings of the codebook, in order.
CODEBOOK_HEADINGS = (
    "column",
    "label",
    "label_en",
    "type",
    "type_label",
    "can_be_empty",
    "many_values",
    "description",
    "vocabulary",
    "values",
)
#: Headings of the vocabularies table.
VOCABULARY_HEADINGS = ("vocabulary", "vocabulary_label", "value", "label", "description", "position")
#: The licences of the published records, as Data Package licences.
PACKAGE_LICENCES = [
    {"name": code, "path": LICENCE_URLS[code].removesuffix("deed.it"), "title": title}
    for code, title in LICENCES.items()
]
PACKAGE_NAME = "osservatorio-processi"
#: How the CSV files write a flag (columns.cell_text), as a Table Schema boolean field says it.
FLAG_VALUES = {"trueValues": ["true"], "falseValues": ["false"]}


def allowed_values(column: Column, vocabularies: Mapping[str, list[dict]]) -> list[tuple[str, str]]:
    """(value, label) of every value the column admits, when it has a closed list."""
    if column.vocabulary:
        return [(term["slug"], term["label"]) for term in vocabularies.get(column.vocabulary, [])]
    if column.choices:
        return list(column.choices.items())
    return []


def codebook(vocabularies: Mapping[str, list[dict]], base_url: str = "") -> list[dict]:
    """One entry per column of the process table, in order, with every allowed value and its label."""
    entries = []
    for column in process_columns(base_url):
        values = allowed_values(column, vocabularies)
        entries.append(
            {
                "column": column.name,
                "label": column.label,
                "label_en": column.label_en,
                "type": column.type,
                "type_label": column.type_label,
                "can_be_empty": not column.required,
                "many_values": column.many,
                "description": column.description,
                "vocabulary": _vocabulary_name(column),
                "values": SEPARATOR.join(f"{value} = {label}" for value, label in values),
                "allowed": values,
            }
        )
    return entries


def _vocabulary_name(column: Column) -> str:
    if column.vocabulary:
        return column.vocabulary
    return column.name if column.choices else ""


def closed_lists(vocabularies: Mapping[str, list[dict]]) -> dict[str, dict]:
    """Every closed list of values: the editors' vocabularies and the fixed choices, by name."""
    lists = {
        name: {
            "label": f.VOCABULARIES[name],
            "kind": "vocabolario della redazione",
            "values": [
                {"value": t["slug"], "label": t["label"], "description": t.get("description") or ""}
                for t in terms
            ],
        }
        for name, terms in vocabularies.items()
        if name in f.VOCABULARIES
    }
    for path, choices in f.PATH_CHOICES.items():
        lists[path] = {
            "label": f.PATH_LABELS[path],
            "kind": "elenco fisso",
            "values": [
                {"value": value, "label": label, "description": ""} for value, label in choices.items()
            ],
        }
    return lists


def vocabulary_rows(vocabularies: Mapping[str, list[dict]]) -> list[dict]:
    """The closed lists as one table: a row per allowed value."""
    return [
        {
            "vocabulary": name,
            "vocabulary_label": listed["label"],
            "value": value["value"],
            "label": value["label"],
            "description": value["description"],
            "position": position,
        }
        for name, listed in closed_lists(vocabularies).items()
        for position, value in enumerate(listed["values"], start=1)
    ]


def csv_text(rows: Iterable[Mapping], headings: Iterable[str]) -> str:
    """Rows as CSV in the downloads' dialect (BOM, comma, CRLF); lists and flags as cells say them."""
    headings = tuple(headings)
    return "".join(csv_lines(({h: cell_text(row[h]) for h in headings} for row in rows), headings))


def _table_field(column: Column, vocabularies: Mapping[str, list[dict]]) -> dict:
    described = {
        "name": column.name,
        "title": column.label,
        "description": f"{column.description} / {column.label_en}".strip(" /"),
        "type": column.type,
    }
    if column.type == BOOLEAN:
        described |= FLAG_VALUES
    if column.type == DATETIME:
        described["format"] = "%Y-%m-%dT%H:%M:%SZ"
    constraints: dict = {}
    if column.required:
        constraints["required"] = True
    values = allowed_values(column, vocabularies)
    if values and not column.many:
        constraints["enum"] = [value for value, _ in values]
    if constraints:
        described["constraints"] = constraints
    return described


def table_schema(vocabularies: Mapping[str, list[dict]]) -> dict:
    """The Frictionless Table Schema of the process CSV."""
    return {
        "fields": [_table_field(column, vocabularies) for column in process_columns()],
        "missingValues": [""],
        "primaryKey": ["slug"],
    }


def csv_resource(path: str, vocabularies: Mapping[str, list[dict]]) -> dict:
    """The Data Package resource of a process CSV at ``path``."""
    return {
        "name": "processi",
        "title": "Processi partecipativi e di amministrazione condivisa",
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "quoteChar": '"', "header": True},
        "schema": table_schema(vocabularies),
    }


def data_package(
    base_url: str, vocabularies: Mapping[str, list[dict]], csv_path: str, modified: str, extra: list[dict]
) -> dict:
    """The Data Package descriptor of the catalogue: the process CSV at ``csv_path``, then ``extra``."""
    return {
        "profile": "data-package",
        "name": PACKAGE_NAME,
        "title": "Osservatorio dei processi partecipativi e dell'amministrazione condivisa",
        "description": (
            "Tutti i processi pubblicati dall'Osservatorio, una riga per processo. Il significato di ogni "
            f"colonna è nel codebook ({base_url}/dati/codebook); il formato dei record JSON è lo "
            f"standard {base_url}{SCHEMA_PATH}. Ogni record indica la sua licenza e la sua attribuzione."
        ),
        "homepage": f"{base_url}/dati",
        "version": "1.0.0",
        "created": modified,
        "keywords": ["processi partecipativi", "amministrazione condivisa", "partecipazione", "Italia"],
        "licenses": PACKAGE_LICENCES,
        "sources": [{"title": "Osservatorio dei processi partecipativi", "path": f"{base_url}/"}],
        "resources": [csv_resource(csv_path, vocabularies), *extra],
    }


def json_text(data) -> str:
    """``data`` as the open-data files write JSON: UTF-8 text, indented."""
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
