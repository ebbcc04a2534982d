"""The columns of a process table (CSV, Excel), derived from the field declaration, with their codebook.

One row per process. Every field of ``fields.FIELDS`` gives one or more columns, in record order:
its value as the import format writes it (a term by slug, a territory by code) and, for terms,
choices and territories, a second column with the labels. Many-valued cells are joined with
:data:`SEPARATOR`; rows of a field (phases, projects, links) give the column of their main part
(titles, addresses); organisations give one column per role. Column names are stable: a new field
adds columns, none is renamed or reordered.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from observatory.catalogue import fields as f
from observatory.catalogue.tables import LICENCE_URLS, LICENCES

#: What joins the values of a many-valued cell.
SEPARATOR = " | "
#: Who is credited for records written by the editorial office.
EDITORIAL_ATTRIBUTION = "Redazione dell'Osservatorio"
#: The CSV column of each role of an organisation other than decision holder.
ROLE_COLUMNS = {
    "promotore": "promoters",
    "partner": "partners",
    "finanziatore": "funders",
    "beneficiario": "beneficiaries",
    "attuatore": "implementers",
}

# Column types, as Frictionless Table Schema names them.
STRING, INTEGER, NUMBER, BOOLEAN, DATE, DATETIME = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "datetime",
)
_TYPES = {
    f.YEAR: INTEGER,
    f.COUNT: INTEGER,
    f.FLAG: BOOLEAN,
    f.AMOUNT: NUMBER,
    f.LATITUDE: NUMBER,
    f.LONGITUDE: NUMBER,
    f.DATE: DATE,
    f.TIMESTAMP: DATETIME,
}
_TYPE_LABELS = {
    STRING: "testo",
    INTEGER: "numero intero",
    NUMBER: "numero decimale (punto come separatore)",
    BOOLEAN: "true o false",
    DATE: "data AAAA-MM-GG",
    DATETIME: "data e ora ISO 8601 in UTC (AAAA-MM-GGThh:mm:ssZ)",
}


@dataclass(frozen=True)
class Column:
    """One column of the process table."""

    name: str
    label: str
    label_en: str
    #: Table Schema type of each value.
    type: str
    #: What it holds, in Italian.
    description: str
    #: Reads the column's value (a Python value, a list for a many-valued cell) from a process detail.
    read: Callable[[Mapping[str, Any]], Any]
    #: Whether it holds several values joined with SEPARATOR.
    many: bool = False
    #: Whether every published process has a value.
    required: bool = False
    #: The vocabulary its values come from (a key of fields.VOCABULARIES), if any.
    vocabulary: str | None = None
    #: The allowed values of a choice, with their labels.
    choices: Mapping[str, str] | None = None

    @property
    def type_label(self) -> str:
        return _TYPE_LABELS[self.type] + (
            f", più valori separati da «{SEPARATOR.strip()}»" if self.many else ""
        )


def _value(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda detail: detail.get(name)


def _key(name: str, key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda detail: (detail.get(name) or {}).get(key)


def _keys(name: str, key: str, role: str | None = None) -> Callable[[Mapping[str, Any]], list]:
    def read(detail: Mapping[str, Any]) -> list:
        items = detail.get(name) or []
        return [item[key] for item in items if role is None or item.get("role") == role]

    return read


def _group_part(name: str, part: f.Field) -> Callable[[Mapping[str, Any]], Any]:
    main = (part.shorthand or next(p.name for p in part.parts if p.required)) if part.many else None

    def read(detail: Mapping[str, Any]) -> Any:
        group = detail.get(name) or {}
        if part.many:
            return [row[main] for row in group.get(part.name) or []]
        return group.get(part.name)

    return read


def _attribution(detail: Mapping[str, Any]) -> str:
    return detail.get("source_licence") or EDITORIAL_ATTRIBUTION


def _text_column(declared: f.Field, description: str, read: Callable, **more: Any) -> Column:
    """The text column named after the field itself."""
    return Column(declared.name, declared.label, declared.label_en, STRING, description, read, **more)


def _companion(
    declared: f.Field, suffix: str, what: tuple[str, str], description: str, read: Callable, name: str = ""
) -> Column:
    """The column beside a field's own that holds another side of its values (labels, identifiers)."""
    many = declared.type in (f.TERMS, f.NAMES, f.TERRITORIES)
    return Column(
        name or f"{declared.name}_{suffix}",
        f"{declared.label} ({what[0]})",
        f"{declared.label_en} ({what[1]})",
        STRING,
        description,
        read,
        many=many,
    )


def _columns_of(declared: f.Field) -> list[Column]:
    """The columns one field gives."""
    name, kind, help_text = declared.name, declared.type, declared.help
    if name == "licence":
        licence = _text_column(
            declared,
            "Identificatore SPDX della licenza del record.",
            _value(name),
            required=True,
            choices=LICENCES,
        )
        url = Column(
            "licence_url",
            "Testo della licenza",
            "Licence text",
            STRING,
            "Indirizzo del testo della licenza.",
            lambda d: LICENCE_URLS.get(d.get("licence")),
        )
        return [licence, url]
    if name == "source_licence":
        attribution = "Chi citare riusando il record, e la licenza della sua fonte."
        return [
            Column(
                "attribution", "Attribuzione", "Attribution", STRING, attribution, _attribution, required=True
            )
        ]
    label, labels = ("etichetta", "label"), ("etichette", "labels")
    if kind == f.CHOICE:
        return [
            _text_column(declared, help_text, _value(name), choices=declared.choices),
            _companion(
                declared, "label", label, f"L'etichetta del valore di «{name}».", _value(f"{name}_label")
            ),
        ]
    if kind == f.TERM:
        described = (
            f"Termine del vocabolario «{declared.vocabulary}», per identificativo. {help_text}".strip()
        )
        return [
            _text_column(declared, described, _key(name, "slug"), vocabulary=declared.vocabulary),
            _companion(
                declared, "label", label, f"L'etichetta del termine di «{name}».", _key(name, "label")
            ),
        ]
    if kind == f.TERMS:
        described = f"I termini del vocabolario «{declared.vocabulary}», per identificativo."
        same_order = f"Le etichette dei termini di «{name}», nello stesso ordine."
        return [
            _text_column(declared, described, _keys(name, "slug"), many=True, vocabulary=declared.vocabulary),
            _companion(declared, "labels", labels, same_order, _keys(name, "label")),
        ]
    if kind == f.NAMES:
        pages = "Gli identificativi degli enti (la loro pagina è /enti/<identificativo>)."
        return [
            _text_column(declared, "I nomi degli enti.", _keys(name, "name"), many=True),
            _companion(declared, "ids", ("identificativi", "identifiers"), pages, _keys(name, "slug")),
        ]
    if kind == f.ROLES:
        return [
            Column(
                column,
                f.OTHER_ROLES[role],
                column.capitalize(),
                STRING,
                f"I nomi degli enti con il ruolo «{f.OTHER_ROLES[role]}».",
                _keys(name, "name", role),
                many=True,
            )
            for role, column in ROLE_COLUMNS.items()
        ]
    if kind == f.TERRITORIES:
        codes = (
            "I codici ISTAT dei territori: IT (Italia), R01–R20 (regioni), P + 3 cifre (province e "
            "unità sovracomunali), C + 6 cifre (comuni)."
        )
        names = "I nomi ISTAT dei territori, nello stesso ordine."
        return [
            _text_column(declared, codes, _keys(name, "code"), many=True),
            _companion(declared, "", ("nomi", "names"), names, _keys(name, "name"), name="territory_names"),
        ]
    if kind == f.ROWS:
        main = declared.shorthand or next(p.name for p in declared.parts if p.required)
        described = f"{declared.part(main).label} di ogni elemento; il resto è nei file JSON."
        return [_text_column(declared, described, _keys(name, main), many=True)]
    if kind == f.GROUP:
        return [
            Column(
                f"{name}_{part.name}",
                f"{declared.label}: {part.label}",
                f"{declared.label_en}: {part.label_en}",
                _TYPES.get(part.type, STRING),
                part.help,
                _group_part(name, part),
                many=part.many,
            )
            for part in declared.parts
        ]
    plain_type = _TYPES.get(kind, STRING)
    required = declared.required or declared.generated
    return [
        Column(
            name, declared.label, declared.label_en, plain_type, help_text, _value(name), required=required
        )
    ]


def _process_url(base_url: str) -> Column:
    return Column(
        "url",
        "Pagina del processo",
        "Process page",
        STRING,
        "L'indirizzo della scheda pubblica.",
        lambda detail: f"{base_url}/processi/{detail['slug']}",
        required=True,
    )


def process_columns(base_url: str = "") -> tuple[Column, ...]:
    """Every column of the process table, in order; ``url`` is absolute under ``base_url``."""
    columns: list[Column] = []
    for declared in f.FIELDS:
        columns += _columns_of(declared)
        if declared.name == "slug":
            columns.append(_process_url(base_url))
    return tuple(columns)


#: The column names, in order.
COLUMN_NAMES = tuple(column.name for column in process_columns())


def row_values(columns: tuple[Column, ...], detail: Mapping[str, Any]) -> list[Any]:
    """The typed values of one process's row."""
    return [column.read(detail) for column in columns]


def cell_text(value: Any) -> str:
    """A value as a CSV cell: empty when unknown, decimals with a point, ISO dates, ``|``-joined lists."""
    kind = type(value)
    if kind is str:  # most cells: checked first, since a download writes millions of them
        return value
    if value is None:
        return ""
    if kind is list:
        return SEPARATOR.join(map(cell_text, value))
    if kind is bool:
        return "true" if value else "false"
    if kind is Decimal:
        return f"{value:f}"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
