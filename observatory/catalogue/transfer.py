"""Import and export of the catalogue as files (JSON, and CSV for imports)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observatory.catalogue import fields, services
from observatory.catalogue.checks import FieldError, References, ValidationFailed
from observatory.catalogue.editing import add_organisation_names, resolve_organisation, save_process
from observatory.catalogue.records import to_record
from observatory.catalogue.standard import record_validator, schema_errors
from observatory.catalogue.tables import Organisation, OrganisationName, Process, ProcessOrganisation
from observatory.catalogue.validation import validate_organisation, validate_process
from observatory.database import write_transaction
from observatory.text import fold

FORMAT_NAME = "osservatorio/processi"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 200 * 1024 * 1024
EXPORT_BATCH = 500
#: Called in the import's transaction for each process written: its id, its record as now stored,
#: and its record before the import (None for a new process). Curation passes one that records
#: the version (catalogue cannot reach the revisions).
VersionRecorder = Callable[[int, dict, dict | None], Awaitable[Any]]
#: CSV columns that hold several values separated by "|" (phases by their titles).
CSV_LIST_COLUMNS = tuple(
    d.name for d in fields.FIELDS if d.many and d.type != fields.ROLES and d.name != "links"
)
#: CSV columns of organisations in a role other than decision holder, "|"-separated names.
CSV_ROLE_COLUMNS = {
    "promoters": "promotore",
    "partners": "partner",
    "funders": "finanziatore",
    "beneficiaries": "beneficiario",
    "implementers": "attuatore",
}
#: CSV columns of the funding's single values.
CSV_FUNDING_COLUMNS = tuple(p.name for p in fields.BY_NAME["funding"].parts if not p.many)


class ImportFileError(ValueError):
    """The file cannot be read as an import file at all."""


@dataclass
class RecordProblem:
    """Every problem of one record, numbered from 1 in file order."""

    number: int
    label: str
    errors: list[FieldError]

    def lines(self) -> list[str]:
        return [f"record {self.number} ({self.label}): {error}" for error in self.errors]


@dataclass
class ImportReport:
    """What an import did, or would have done."""

    created: int = 0
    updated: int = 0
    organisations: int = 0
    problems: list[RecordProblem] = field(default_factory=list)
    written: bool = False


def read_import_file(path: Path) -> tuple[list[dict], list[Any]]:
    """Organisation declarations and process records of a JSON, JSON Lines or CSV import file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{path}: file troppo grande (al massimo {MAX_FILE_BYTES // 2**20} MB).")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [], _records_from_csv(text)
    if path.suffix.lower() == ".jsonl":
        return [], _records_from_json_lines(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path}: JSON non valido alla riga {exc.lineno}, colonna {exc.colno}: {exc.msg}."
        ) from None
    if isinstance(data, list):
        return [], data
    if not isinstance(data, dict) or not isinstance(data.get("processes"), list):
        raise ImportFileError(f"{path}: atteso un oggetto con l'elenco «processes» (formato {FORMAT_NAME}).")
    if (
        data.get("format", FORMAT_NAME) != FORMAT_NAME
        or data.get("version", FORMAT_VERSION) != FORMAT_VERSION
    ):
        raise ImportFileError(
            f"{path}: formato non supportato; atteso {FORMAT_NAME} versione {FORMAT_VERSION}."
        )
    organisations = data.get("organisations") or []
    if not isinstance(organisations, list):
        raise ImportFileError(f"{path}: «organisations» deve essere un elenco.")
    return organisations, data["processes"]


def _records_from_json_lines(path: Path, text: str) -> list[Any]:
    """JSON Lines: one record a line; blank lines are skipped."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path}: JSON non valido alla riga {number}, colonna {exc.colno}: {exc.msg}."
            ) from None
    return records


def _records_from_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    records = []
    for row in reader:
        record: dict[str, Any] = {}
        funding: dict[str, Any] = {}
        organisations = []
        for column, value in row.items():
            if column is None:
                record["_colonne_in_piu"] = value  # more cells than headers: reported as unknown field
                continue
            value = (value or "").strip()
            if column in CSV_ROLE_COLUMNS:
                organisations += [
                    {"name": n.strip(), "role": CSV_ROLE_COLUMNS[column]}
                    for n in value.split("|")
                    if n.strip()
                ]
            elif column in CSV_FUNDING_COLUMNS:
                if value:
                    funding[column] = value
            elif column == "links":
                record["links"] = [_csv_link(part) for part in value.split("|") if part.strip()]
            elif column in CSV_LIST_COLUMNS:
                record[column] = [part.strip() for part in value.split("|") if part.strip()]
            else:
                record[column] = value or None
        if organisations:
            record["organisations"] = organisations
        if funding:
            record["funding"] = funding
        records.append(record)
    return records


def _csv_link(part: str) -> dict:
    label, _, url = part.rpartition(" http")
    if not label:
        return {"url": part.strip()}
    return {"label": label.strip(), "url": "http" + url.strip()}


def _record_label(record: Any) -> str:
    if isinstance(record, dict) and isinstance(record.get("title"), str) and record["title"].strip():
        return record["title"].strip()[:60]
    return "senza titolo"


async def import_records(
    organisations: list[Any],
    records: list[Any],
    skip_invalid: bool = False,
    dry_run: bool = False,
    against_schema: bool = False,
    record_version: VersionRecorder | None = None,
) -> ImportReport:
    """Validate every record first; then write all of them (or, with skip_invalid, the valid ones).

    With ``against_schema`` (JSON files) a record must first validate against the published JSON
    Schema (catalogue/standard.py). Nothing is written when a record is invalid and skip_invalid is
    off: the import is all or nothing, in one transaction. ``record_version`` is called for each
    process written, in that transaction.
    """
    refs = await References.load()
    validator = record_validator(refs.terms) if against_schema else None
    report = ImportReport()
    declarations = []
    for number, data in enumerate(organisations, start=1):
        try:
            declarations.append(validate_organisation(data, refs))
        except ValidationFailed as failed:
            label = data.get("name", "senza nome") if isinstance(data, dict) else "senza nome"
            report.problems.append(RecordProblem(number, f"organisations, {label}", failed.errors))
    if report.problems:  # declarations are shared by many records: they must all be right
        return report
    for declaration in declarations:
        for name in [declaration["name"], *declaration["alt_names"]]:
            refs.declared_organisations[fold(name)] = declaration
    valid: list[dict] = []
    slugs: dict[str, int] = {}
    for number, data in enumerate(records, start=1):
        try:
            values = validate_process(data, refs)
            problems = []
        except ValidationFailed as failed:
            problems = failed.errors
        if validator is not None and not validator.is_valid(data):
            detailed: dict[str, str] = {}
            for error in problems:
                detailed.setdefault(error.field, error.message)
            departures = schema_errors(data, validator, detailed)
            problems = departures + [e for e in problems if e.field not in {d.field for d in departures}]
        if problems:
            report.problems.append(RecordProblem(number, _record_label(data), problems))
            continue
        if values.get("slug") in slugs:
            report.problems.append(
                RecordProblem(
                    number,
                    _record_label(data),
                    [FieldError("slug", f"ripete lo slug del record {slugs[values['slug']]}.")],
                )
            )
            continue
        if values.get("slug"):
            slugs[values["slug"]] = number
        valid.append(values)
    if (report.problems and not skip_invalid) or dry_run:
        return report
    async with write_transaction():
        before = await Organisation.count()
        for declaration in declarations:
            organisation_id = await resolve_organisation(declaration["name"], refs)
            await add_organisation_names(organisation_id, declaration["alt_names"], refs)
        for values in valid:
            existing = await _existing_process(values)
            replaced = None
            if existing is not None and record_version is not None:
                replaced = to_record(await services.process_detail(existing["id"]))
            process_id, stored = await save_process(values, refs, existing)
            if record_version is not None:
                await record_version(process_id, stored, replaced)
            if existing is None:
                report.created += 1
            else:
                report.updated += 1
        report.organisations = await Organisation.count() - before
    report.written = True
    return report


async def _existing_process(values: dict) -> dict | None:
    """The process a record updates: same slug, else same source reference."""
    columns = (Process.id, Process.slug, Process.created_at, Process.published_at)
    for column, value in ((Process.slug, values["slug"]), (Process.source_ref, values["source_ref"])):
        if value:
            row = await Process.select(*columns).where(column == value).first()
            if row:
                return row
    return None


async def import_file(
    path: Path,
    skip_invalid: bool = False,
    dry_run: bool = False,
    record_version: VersionRecorder | None = None,
) -> ImportReport:
    """Import a JSON or CSV file in the documented format (see :func:`import_records`)."""
    organisations, records = read_import_file(path)
    return await import_records(
        organisations,
        records,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        against_schema=path.suffix.lower() != ".csv",
        record_version=record_version,
    )


# --- export ----------------------------------------------------------------------------------


async def export_catalogue() -> dict:
    """The whole published catalogue in the import format, sorted so that equal data gives equal files."""
    rows = await Process.select(Process.id, Process.slug).where(services.published())
    rows.sort(key=lambda row: row["slug"])  # in Python: database collations differ
    processes = []
    for start in range(0, len(rows), EXPORT_BATCH):
        batch = [row["id"] for row in rows[start : start + EXPORT_BATCH]]
        processes.extend(to_record(detail) for detail in await services.process_details(batch))
    used = ProcessOrganisation.select(ProcessOrganisation.organisation).where(
        ProcessOrganisation.process.is_in(Process.select(Process.id).where(services.published()))
    )
    organisations = await Organisation.select(
        Organisation.id,
        Organisation.slug,
        Organisation.name,
        Organisation.kind,
        Organisation.territory,
        Organisation.description,
        Organisation.website,
    ).where(Organisation.id.is_in(used))
    organisations.sort(key=lambda row: row["slug"])
    names: dict[int, list[str]] = {}
    for row in await OrganisationName.select(OrganisationName.organisation, OrganisationName.name):
        names.setdefault(row["organisation"], []).append(row["name"])
    for alt_names in names.values():
        alt_names.sort()
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "organisations": [
            {
                "slug": o["slug"],
                "name": o["name"],
                "kind": o["kind"],
                "territory": o["territory"],
                "alt_names": [n for n in names.get(o["id"], []) if n != o["name"]],
                "description": o["description"],
                "website": o["website"],
            }
            for o in organisations
        ],
        "processes": processes,
    }


async def export_file(path: Path) -> int:
    """Write the published catalogue to ``path`` as JSON; return how many processes it holds."""
    data = await export_catalogue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(data["processes"])
