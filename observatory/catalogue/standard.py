"""The published data standard: a JSON Schema (draft 2020-12) of a process record, version 1.

Generated from the field declaration (``fields.FIELDS``) and the vocabularies as they are now, so the
schema, the import and the exports cannot disagree: ``observatory import`` checks every JSON record
against it (:func:`schema_errors`) before the finer checks of validation.py, and every record an
export writes validates against it. The schema describes the record as the exports write it; where
the import reads more than that (a row given as its title alone, a territory by its exact ISTAT
name, an amount as a JSON number) the schema says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from observatory.catalogue import fields as f
from observatory.catalogue.checks import CUP_PATTERN, SLUG_PATTERN, FieldError
from observatory.catalogue.places import ITALY_LATITUDES, ITALY_LONGITUDES
from observatory.catalogue.validation import MIN_TITLE

SCHEMA_PATH = "/dati/schema/processo-v1.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: An amount: euro with at most two decimals as the exports write them ("900579.61"), or in the
#: Italian form the import also reads ("900.579,61").
AMOUNT_PATTERN = (
    r"^([0-9]{1,13}(\.[0-9]{1,2})?|[0-9]{1,3}(\.[0-9]{3})*,[0-9]{1,2}|[0-9]{1,3}(\.[0-9]{3}){2,})$"
)
#: A day as the exports write it (2012-10-08), or as the import also reads it (08/10/2012).
DATE_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4})$"
TERRITORY_CODE_PATTERN = r"^(IT|R[0-9]{2}|P[0-9]{3}|C[0-9]{6})$"
_TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)

#: What each type holds, in Italian and in English.
_TYPE_TEXTS = {
    f.TEXT: ("Testo.", "Text."),
    f.SLUG: ("Lettere minuscole, cifre e trattini.", "Lower-case letters, digits and hyphens."),
    f.YEAR: (f"Un anno tra {f.MIN_YEAR} e {f.MAX_YEAR}.", f"A year from {f.MIN_YEAR} to {f.MAX_YEAR}."),
    f.COUNT: ("Un numero intero non negativo.", "A whole number, zero or more."),
    f.FLAG: ("Sì (true) o no (false).", "Yes (true) or no (false)."),
    f.CHOICE: ("Uno dei valori elencati.", "One of the listed values."),
    f.TERM: ("L'identificativo di un termine del vocabolario.", "The identifier of a vocabulary term."),
    f.TERMS: ("Identificativi di termini del vocabolario.", "Identifiers of vocabulary terms."),
    f.NAMES: (
        "Nomi di enti: un ente già nel catalogo è riconosciuto dal nome o da uno dei suoi altri nomi, "
        "gli altri sono creati.",
        "Names of organisations: one already in the catalogue is recognised by its name or another of its "
        "names, the others are created.",
    ),
    f.TERRITORIES: (
        "Territori per codice ISTAT: IT (Italia), R e 2 cifre (regione), P e 3 cifre (provincia o unità "
        "sovracomunale), C e 6 cifre (comune, codice ISTAT alfanumerico). All'importazione vale anche il "
        "nome esatto ISTAT, se non è ambiguo.",
        "Territories by ISTAT code: IT (Italy), R and 2 digits (region), P and 3 digits (province), C and 6 "
        "digits (comune). An import also takes the exact ISTAT name, when it is not ambiguous.",
    ),
    f.ROWS: ("Un elenco di elementi.", "A list of items."),
    f.ROLES: ("Enti con il loro ruolo.", "Organisations with their role."),
    f.GROUP: ("Un insieme di campi, o null.", "A set of fields, or null."),
    f.AMOUNT: (
        'Euro con al massimo due decimali, come testo con il punto decimale ("900579.61"); '
        "all'importazione vale anche un numero JSON.",
        'Euro with at most two decimals, as text with a decimal point ("900579.61"); an import also takes '
        "a JSON number.",
    ),
    f.DATE: (
        "Un giorno, AAAA-MM-GG (all'importazione anche GG/MM/AAAA).",
        "A day, YYYY-MM-DD (an import also takes DD/MM/YYYY).",
    ),
    f.URL: ("Un indirizzo web http o https.", "An http or https web address."),
    f.CUP: (
        "Codice Unico di Progetto: 15 caratteri.",
        "Codice Unico di Progetto (Italian project code): 15 characters.",
    ),
    f.TIMESTAMP: ("Data e ora ISO 8601.", "An ISO 8601 date and time."),
    f.LATITUDE: (
        "Gradi decimali nord (WGS84), in Italia; all'importazione anche come testo.",
        "Decimal degrees north (WGS84), in Italy; an import also takes them as text.",
    ),
    f.LONGITUDE: (
        "Gradi decimali est (WGS84), in Italia; all'importazione anche come testo.",
        "Decimal degrees east (WGS84), in Italy; an import also takes them as text.",
    ),
}


def _nullable(schema: dict) -> dict:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return schema | {"type": [*kinds, "null"]}


def _annotated(declared: f.Field, schema: dict) -> dict:
    italian, english = _TYPE_TEXTS[declared.type]
    help_text = f" {declared.help}" if declared.help else ""
    return {
        "title": f"{declared.label} / {declared.label_en}",
        "description": f"{italian}{help_text} / {english}",
        **schema,
    }


def _value_schema(declared: f.Field, terms: Mapping[str, list[str]]) -> dict:
    """The schema of one value of a field or part (without its annotations)."""
    kind = declared.type
    if kind == f.TEXT:
        schema: dict[str, Any] = {"type": "string"}
        if declared.limit:
            schema["maxLength"] = declared.limit
        if declared.name == "title" and declared.required:
            schema["minLength"] = MIN_TITLE
        return schema
    if kind == f.SLUG:
        return {"type": "string", "pattern": SLUG_PATTERN.pattern, "maxLength": declared.limit or 160}
    if kind in (f.YEAR, f.COUNT):
        low, high = (f.MIN_YEAR, f.MAX_YEAR) if kind == f.YEAR else (0, f.MAX_COUNT)
        return {"type": "integer", "minimum": low, "maximum": high}
    if kind == f.FLAG:
        return {"type": "boolean"}
    if kind == f.CHOICE:
        return {"enum": list(declared.choices or {}), "x-labels": dict(declared.choices or {})}
    if kind in (f.TERM, f.TERMS):
        term = {
            "type": "string",
            "enum": terms.get(declared.vocabulary, []),
            "x-vocabulary": declared.vocabulary,
        }
        return term if kind == f.TERM else {"type": "array", "items": term, "maxItems": f.MAX_ITEMS}
    if kind == f.NAMES:
        name = {"type": "string", "minLength": 1, "maxLength": declared.limit or f.MAX_NAME}
        return {"type": "array", "items": name, "maxItems": f.MAX_ITEMS}
    if kind == f.TERRITORIES:
        code = {"type": "string", "minLength": 1, "examples": ["IT", "R01", "P201", "C001272"]}
        return {"type": "array", "items": code, "maxItems": f.MAX_ITEMS}
    if kind == f.AMOUNT:
        return {
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN},
                {"type": "number", "minimum": 0, "exclusiveMaximum": 10**13},
            ]
        }
    if kind == f.DATE:
        return {"type": "string", "pattern": DATE_PATTERN}
    if kind == f.URL:
        return {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "maxLength": declared.limit or f.MAX_URL,
        }
    if kind == f.CUP:
        return {"type": "string", "pattern": CUP_PATTERN.pattern.replace("A-Z", "A-Za-z"), "maxLength": 15}
    if kind == f.TIMESTAMP:
        return {"type": "string", "format": "date-time", "pattern": _TIMESTAMP_PATTERN}
    if kind in (f.LATITUDE, f.LONGITUDE):
        low, high = ITALY_LATITUDES if kind == f.LATITUDE else ITALY_LONGITUDES
        return {
            "anyOf": [
                {"type": "number", "minimum": low, "maximum": high},
                {"type": "string", "pattern": r"^[0-9]{1,2}([.,][0-9]+)?$"},
            ]
        }
    parts = {
        "type": "object",
        "properties": {part.name: _field_schema(part, terms) for part in declared.parts},
        "required": [part.name for part in declared.parts if part.required and not part.generated],
        "additionalProperties": False,
    }
    if kind == f.GROUP:
        return parts
    row: dict[str, Any] = parts
    if declared.shorthand:
        shorthand = {
            "type": "string",
            "minLength": 1,
            "description": f"Solo «{declared.shorthand}» / only «{declared.shorthand}».",
        }
        row = {"anyOf": [parts, shorthand]}
    return {"type": "array", "items": row, "maxItems": declared.limit or f.MAX_ITEMS}


def _field_schema(declared: f.Field, terms: Mapping[str, list[str]]) -> dict:
    schema = _value_schema(declared, terms)
    if declared.required:
        return _annotated(declared, schema)
    if "anyOf" in schema:
        return _annotated(declared, {"anyOf": [*schema["anyOf"], {"type": "null"}]})
    if "enum" in schema:
        schema = schema | {"enum": [*schema["enum"], None]}
    return _annotated(declared, _nullable(schema) if "type" in schema else schema)


def record_schema(terms: Mapping[str, Iterable[str]], base_url: str = "") -> dict:
    """The JSON Schema of a process record, with the terms of each vocabulary (slugs) as enums."""
    listed = {vocabulary: list(slugs) for vocabulary, slugs in terms.items()}
    return {
        "$schema": DRAFT,
        "$id": f"{base_url}{SCHEMA_PATH}",
        "title": "Processo partecipativo o di amministrazione condivisa / Participatory process (v1)",
        "description": (
            "Un record del formato osservatorio/processi, versione 1: ciò che le esportazioni scrivono e "
            "che «observatory import» legge. Solo il titolo è obbligatorio; un campo assente o null è "
            "sconosciuto. Gli enti sono indicati per nome (la loro pagina è /enti/<slug>), i territori per "
            "codice ISTAT. / A record of the osservatorio/processi format, version 1: what the exports "
            "write and «observatory import» reads. Only the title is required; a field left out or null is "
            "unknown. Organisations are given by name, territories by ISTAT code."
        ),
        "type": "object",
        "properties": {declared.name: _field_schema(declared, listed) for declared in f.FIELDS},
        "required": [declared.name for declared in f.FIELDS if declared.required],
        "additionalProperties": False,
    }


@lru_cache(maxsize=8)
def _validator(key: tuple[tuple[str, tuple[str, ...]], ...]) -> Draft202012Validator:
    return Draft202012Validator(record_schema(dict(key)))


def record_validator(terms: Mapping[str, Iterable[str]]) -> Draft202012Validator:
    """A validator of records against the schema for these vocabularies (kept while they stay the same)."""
    return _validator(tuple(sorted((vocabulary, tuple(slugs)) for vocabulary, slugs in terms.items())))


def _dotted(error: ValidationError) -> str:
    """The record path of an error as validation.py writes it: fields by name, rows from 1."""
    parts = [str(p + 1) if isinstance(p, int) else p for p in error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(extra[0] if extra else "")
    elif error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        parts.append(missing[0] if missing else "")
    return ".".join(parts) or "record"


_MESSAGES = {
    "type": "deve essere di tipo {}",
    "enum": "valore non ammesso",
    "maxLength": "troppo lungo: al massimo {} caratteri",
    "minLength": "troppo corto: almeno {} caratteri",
    "pattern": "non ha la forma richiesta",
    "minimum": "deve essere almeno {}",
    "maximum": "deve essere al massimo {}",
    "exclusiveMaximum": "deve essere minore di {}",
    "maxItems": "troppi elementi: al massimo {}",
    "required": "manca un campo obbligatorio",
    "additionalProperties": "campo sconosciuto",
    "anyOf": "non ha nessuna delle forme ammesse",
}


def _message(error: ValidationError) -> str:
    value = error.validator_value
    if error.validator == "type" and isinstance(value, list):
        value = " o ".join(value)
    template = _MESSAGES.get(str(error.validator))
    return template.format(value) if template else error.message


def schema_errors(
    record: Any, validator: Draft202012Validator, detailed: Mapping[str, str]
) -> list[FieldError]:
    """The record's departures from the schema, each on its record path with the schema's path;
    ``detailed`` gives, by path, validation.py's fuller message where it has one."""
    errors = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        path = _dotted(error)
        where = "/".join(str(p) for p in error.absolute_schema_path)
        if path in detailed:
            message = detailed[path].rstrip(".")
        else:
            shown = "" if isinstance(error.instance, dict | list) else f" ({error.instance!r:.80})"
            message = _message(error) + shown
        errors.append(FieldError(path, f"{message} [schema: #/{where}]."))
    return errors
