"""Audit entries for people, in the page's language: the action's name, the time in Italy, the
object by its current name with a link (or, once it is gone, by the last name the entry itself
knew), and the fields that changed by their labels, with coded values by name."""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from observatory.accounts.tables import StaffUser
from observatory.audit.names import action_name, field_label, object_kind, value_name
from observatory.audit.services import AuditFilters, every_entry
from observatory.catalogue.fields import BY_NAME, TERMS
from observatory.catalogue.records import empty
from observatory.catalogue.tables import Organisation, Process, Term
from observatory.curation.revisions import UNCOMPARED, value_labels, value_lines
from observatory.curation.tables import SynonymGroup
from observatory.i18n import ITALIAN, _, in_language
from observatory.submissions.tables import Submission
from observatory.text import ITALIAN_TIME, datetime_in_words

#: Where an entry links its object while it exists, by object type ("{}": its id, a
#: term's vocabulary, an account's number); these objects are looked up, so one not found is gone.
OBJECT_PAGES = {
    "processo": "/redazione/processi/{}/versioni",
    "segnalazione": "/redazione/segnalazioni/{}",
    "ente": "/enti/{}",
    "termine": "/redazione/vocabolari#vocabolario-{}",
    "gruppo di sinonimi": "/redazione/sinonimi/{}/modifica",
    "utente": "/redazione/account/{}",
}
#: Keys of an object's data that hold its name, in the order they are looked for.
_NAME_KEYS = ("title", "label", "name", "display_name", "expressions")
#: Keys of an object's data that hold another object whose name names it (a submission's process,
#: the organisation that remains after a merge).
_NAMED_BY = ("process", "target")


def local_time(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` in Italian local time."""
    if moment.tzinfo is None:  # SQLite may hand back UTC without saying so
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(ITALIAN_TIME)


def _name_in(data: Any) -> str | None:
    """The name an object's data carries, if any ("" is none)."""
    if not isinstance(data, dict):
        return None
    for key in _NAME_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if key == "expressions" and isinstance(value, list) and value:
            return " = ".join(str(item) for item in value)
    for key in _NAMED_BY:
        if name := _name_in(data.get(key)):
            return name
    return None


async def _existing(rows: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """The objects of ``rows`` that still exist, by (object type, id): their current name, and the
    key their page is found by (OBJECT_PAGES)."""
    wanted: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        wanted[row["object_type"]].add(row["object_id"])
    found: dict[tuple[str, str], tuple[str, str]] = {}
    numbers = {kind: [int(i) for i in ids if i.isdigit() and len(i) < 12] for kind, ids in wanted.items()}
    if numbers.get("processo"):
        processes = Process.select(Process.id, Process.title)
        for row in await processes.where(Process.id.is_in(numbers["processo"])):
            found[("processo", str(row["id"]))] = (row["title"], str(row["id"]))
    if numbers.get("segnalazione"):
        submissions = Submission.select(Submission.id, Submission.data).output(load_json=True)
        for row in await submissions.where(Submission.id.is_in(numbers["segnalazione"])):
            name = _name_in(row["data"]) or f"n. {row['id']}"
            found[("segnalazione", str(row["id"]))] = (name, str(row["id"]))
    if numbers.get("gruppo di sinonimi"):
        groups = SynonymGroup.select(SynonymGroup.id, SynonymGroup.expressions).output(load_json=True)
        chosen = groups.where(
            SynonymGroup.id.is_in(numbers["gruppo di sinonimi"]), SynonymGroup.deleted.eq(False)
        )
        for row in await chosen:
            name = _name_in(row) or f"n. {row['id']}"
            found[("gruppo di sinonimi", str(row["id"]))] = (name, str(row["id"]))
    if wanted.get("ente"):
        organisations = Organisation.select(Organisation.slug, Organisation.name)
        for row in await organisations.where(Organisation.slug.is_in(sorted(wanted["ente"]))):
            found[("ente", row["slug"])] = (row["name"], row["slug"])
    keys = {tuple(key.split("/", 1)) for key in wanted.get("termine", ()) if "/" in key}
    if keys:  # "vocabulary/slug": the page is the vocabulary's part of the vocabularies page
        terms = Term.select(Term.vocabulary, Term.slug, Term.label)
        for row in await terms.where(Term.slug.is_in(sorted(slug for _, slug in keys))):
            if (row["vocabulary"], row["slug"]) in keys:
                found[("termine", f"{row['vocabulary']}/{row['slug']}")] = (row["label"], row["vocabulary"])
    if wanted.get("utente"):  # named by user name, or by number
        users = StaffUser.select(StaffUser.id, StaffUser.username, StaffUser.display_name)
        named = users.where(
            StaffUser.username.is_in(sorted(wanted["utente"])) | StaffUser.id.is_in(numbers["utente"] or [0])
        )
        for row in await named:
            for key in (row["username"], str(row["id"])):
                if key in wanted["utente"]:
                    found[("utente", key)] = (row["display_name"], str(row["id"]))
    return found


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """An object's data as fields by dotted path; a nested object (a dict) is walked into, a list
    or a plain value is one field."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "valore": value}


def _record_field(object_type: str, path: str) -> str | None:
    """The process field a path is, when it is one (a process's own, or a submission's process's)."""
    if object_type == "processo" and path in BY_NAME:
        return path
    if object_type == "segnalazione" and path.startswith("process.") and path[8:] in BY_NAME:
        return path[8:]
    return None


def _records(row: dict) -> list[dict]:
    """The process records in an entry's data (a process's, or a submission's process)."""
    found = []
    for data in (row["before"], row["after"]):
        if isinstance(data, dict) and row["object_type"] == "segnalazione":
            data = data.get("process")
        if isinstance(data, dict) and row["object_type"] in ("processo", "segnalazione"):
            found.append(data)
    return found


def _shown(object_type: str, path: str, value: Any, labels: dict | None = None) -> str:
    """A value of an object's data for people: "—" when empty, sì/no, a coded value by name, the
    lines of a process field (terms and territories by name when ``labels`` has them, see
    ``curation.revisions.value_labels``), a list one item a line."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    record_field = _record_field(object_type, path)
    if record_field is not None:
        return "\n".join(value_lines(record_field, value, labels)) or "—"
    value = value_name(object_type, path, value)
    if isinstance(value, bool):
        return _("sì") if value else _("no")
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return "\n".join(str(item) for item in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _differs(record_field: str | None, old: Any, new: Any) -> bool:
    """Whether two values of a field differ; for a process field as in its versions: empty values
    alike, terms as sets (forms list them in vocabulary order), the time of the last change left
    out (every save changes it)."""
    if record_field is None:
        return old != new
    if record_field in UNCOMPARED or (empty(old) and empty(new)):
        return False
    if BY_NAME[record_field].type == TERMS and isinstance(old, list) and isinstance(new, list):
        return sorted(map(str, old)) != sorted(map(str, new))
    return old != new


def changes(object_type: str, before: Any, after: Any, labels: dict | None = None) -> list[dict]:
    """The fields that differ between the data before and after, in the order of the data:
    ``{"field", "label", "before", "after"}``, values as :func:`_shown` gives them."""
    old = _flatten(before) if before is not None else {}
    new = _flatten(after) if after is not None else {}
    paths = list(old) + [path for path in new if path not in old]
    return [
        {
            "field": path,
            "label": field_label(object_type, path),
            "before": _shown(object_type, path, old.get(path), labels),
            "after": _shown(object_type, path, new.get(path), labels),
        }
        for path in paths
        if _differs(_record_field(object_type, path), old.get(path), new.get(path))
    ]


async def readable(rows: list[dict]) -> list[dict]:
    """Audit rows for people, in the current language: each with ``action_name``, ``at_text``
    (Italian time, in words of the page's language), ``kind``, ``name`` (current, else the last
    the entry knew, else None), ``link`` (while the object exists), ``gone`` (it no longer
    exists) and ``changes``."""
    existing = await _existing(rows)
    records = [record for row in rows for record in _records(row)]
    labels = await value_labels(*records) if records else {}
    entries = []
    for row in rows:
        key = (row["object_type"], row["object_id"])
        name, page = existing.get(key, (None, None))
        pattern = OBJECT_PAGES.get(row["object_type"])
        name = name or _name_in(row["after"]) or _name_in(row["before"])
        entries.append(
            {
                **row,
                "action_name": action_name(row["action"]),
                "at_local": local_time(row["at"]),
                "at_text": datetime_in_words(row["at"]),
                "kind": object_kind(row["object_type"]),
                "name": name,
                "gone": page is None and row["object_type"] in OBJECT_PAGES,
                "link": pattern.format(page) if pattern and page is not None else None,
                "changes": changes(row["object_type"], row["before"], row["after"], labels),
            }
        )
    return entries


# --- the CSV export --------------------------------------------------------------------------------

#: The columns of the CSV export, in order.
CSV_COLUMNS = (
    "Data e ora (ora italiana)",
    "Persona",
    "Azione",
    "Codice dell'azione",
    "Oggetto",
    "Nome dell'oggetto",
    "Identificativo dell'oggetto",
    "Collegamento",
    "Riepilogo",
    "Modifiche",
)
#: What a spreadsheet would read as the start of a formula (text sent by the public is in the log).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_cells(entry: dict, base_url: str) -> list[str]:
    """One readable entry (see :func:`readable`) as the cells of a CSV row, in CSV_COLUMNS order;
    each change on a line of its own: "Titolo: prima → dopo"."""
    changed = "\n".join(f"{c['label']}: {c['before']} → {c['after']}" for c in entry["changes"])
    cells = [
        f"{entry['at_local']:%Y-%m-%d %H:%M:%S}",
        entry["actor_name"],
        entry["action_name"],
        entry["action"],
        entry["kind"],
        entry["name"] or "",
        entry["object_id"],
        f"{base_url}{entry['link']}" if entry["link"] else "",
        entry["summary"],
        changed,
    ]
    return [_cell(cell) for cell in cells]


async def csv_text(filters: AuditFilters, base_url: str) -> AsyncIterator[str]:
    """The CSV of every entry ``filters`` find, newest first: UTF-8 text starting with a BOM (so
    that spreadsheets read accents right), comma-separated, lines ending in CRLF, the header
    first; written a batch of entries at a time. In Italian whatever the page's language: it is a
    record, kept and compared over time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    async for rows in every_entry(filters):
        buffer.seek(0)
        buffer.truncate()
        italian = in_language(ITALIAN)
        try:
            readable_rows = await readable(rows)
        finally:
            italian.var.reset(italian)
        for entry in readable_rows:
            writer.writerow(csv_cells(entry, base_url))
        yield buffer.getvalue()
