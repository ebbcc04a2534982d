"""The version history of published processes, and the differences between two records.

Every change of a published process stores the whole record as a new ProcessRevision. Labels,
vocabularies and which lists are unordered come from the field declarations (catalogue/fields.py).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.catalogue import fields as f
from observatory.catalogue import transfer
from observatory.catalogue.records import empty
from observatory.catalogue.tables import Process, Term, Territory
from observatory.curation.tables import ProcessRevision

#: The name revisions and audit entries carry when no staff member acted (imports, the first version).
SYSTEM_NAME = "Osservatorio"
#: Fields that change with every save: left out of differences.
UNCOMPARED = ("updated_at",)


def actor_name(staff: dict | None) -> str:
    """The name revisions carry for ``staff`` (the system's name when nobody acted)."""
    return staff["display_name"] if staff else SYSTEM_NAME


# --- showing records ---------------------------------------------------------------------------


def _row_text(declared: f.Field, row: Any) -> str:
    """One row of a list field as one line: "Titolo (2017-01-10 – 2017-03-01): descrizione",
    "Comune di Torino (Promotore)"."""
    if not isinstance(row, dict):
        return str(row)
    if declared.type == f.ROLES:
        role = (declared.part("role").choices or {}).get(row.get("role"), row.get("role"))
        return f"{row.get('name')} ({role})"
    head, *rest = [p for p in declared.parts if p.type != f.DATE]
    dates = " – ".join(str(row[p.name]) for p in declared.parts if p.type == f.DATE and row.get(p.name))
    details = [str(row[p.name]) for p in rest if not empty(row.get(p.name))]
    text = str(row.get(head.name) or "")
    if dates:
        text += f" ({dates})"
    return f"{text}: {' · '.join(details)}" if details else text


def value_lines(name: str, value: Any, labels: dict | None = None) -> list[str]:
    """A record value as lines of text, vocabulary terms and territories by name when ``labels`` knows
    them (see :func:`value_labels`). An empty value gives no line."""
    labels = labels or {}
    if empty(value):
        return []
    declared = f.BY_NAME.get(name)
    if isinstance(value, bool):
        return ["sì" if value else "no"]
    if declared is not None and declared.type == f.CHOICE:
        return [(declared.choices or {}).get(value, value)]
    if declared is not None and declared.type == f.GROUP and isinstance(value, dict):
        lines = [f"{p.label}: {value[p.name]}" for p in declared.parts if not p.many and value.get(p.name)]
        for part in (p for p in declared.parts if p.many):
            lines += [f"{part.item_label}: {_row_text(part, row)}" for row in value.get(part.name) or []]
        return lines
    items = value if isinstance(value, list) else [value]
    return [
        labels.get((name, item), item) if isinstance(item, str) else _row_text(declared, item)
        for item in items
    ]


async def value_labels(*records: dict) -> dict[tuple[str, str], str]:
    """Readable names of the vocabulary terms and territories ``records`` refer to."""
    labels: dict[tuple[str, str], str] = {}
    terms = {(row["vocabulary"], row["slug"]): row["label"] for row in await Term.select()}
    codes = set()
    for record in records:
        for name, vocabulary in f.VOCABULARY_OF.items():
            values = record.get(name)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str) and (vocabulary, value) in terms:
                    labels[(name, value)] = terms[(vocabulary, value)]
        codes.update(c for c in record.get("territories") or [] if isinstance(c, str))
    if codes:
        for row in await Territory.select(Territory.code, Territory.name).where(
            Territory.code.is_in(list(codes))
        ):
            labels[("territories", row["code"])] = f"{row['name']} ({row['code']})"
    return labels


def record_rows(record: dict, labels: dict | None = None, names: Iterable[str] | None = None) -> list[dict]:
    """The filled fields of a record, in record order: [{"field", "label", "lines"}]."""
    rows = []
    for name in names or f.LABELS:
        lines = value_lines(name, record.get(name), labels)
        if lines:
            rows.append({"field": name, "label": f.LABELS.get(name, name), "lines": lines})
    return rows


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def revision_diff(
    a: dict, b: dict, labels: dict | None = None, names: Iterable[str] | None = None
) -> list[dict]:
    """What changed from record ``a`` to record ``b``, field by field (top-level keys).

    Each item: field, label, before and after (lines of text) and, for lists, added and removed
    (the items only one side has). Empty values (None, "", []) count as equal; terms of several
    values are compared as sets (forms list them in vocabulary order).
    """
    changes = []
    for name in names or [k for k in f.LABELS if k not in UNCOMPARED]:
        old, new = a.get(name), b.get(name)
        if (empty(old) and empty(new)) or _canonical(old) == _canonical(new):
            continue
        unordered = f.BY_NAME[name].type == f.TERMS if name in f.BY_NAME else False
        if unordered and sorted(map(_canonical, old or [])) == sorted(map(_canonical, new or [])):
            continue
        change = {
            "field": name,
            "label": f.LABELS.get(name, name),
            "before": value_lines(name, old, labels),
            "after": value_lines(name, new, labels),
            "added": [],
            "removed": [],
            "is_list": isinstance(old, list) or isinstance(new, list),
        }
        if change["is_list"]:
            old_items, new_items = old or [], new or []
            old_keys = {_canonical(i) for i in old_items}
            new_keys = {_canonical(i) for i in new_items}
            change["added"] = value_lines(
                name, [i for i in new_items if _canonical(i) not in old_keys], labels
            )
            change["removed"] = value_lines(
                name, [i for i in old_items if _canonical(i) not in new_keys], labels
            )
        changes.append(change)
    return changes


# --- merging --------------------------------------------------------------------------------------


@dataclass
class Merge:
    """A change made against an older version, merged with what was saved since."""

    #: The record to show: the new change, with the saved version's values where only it changed.
    record: dict
    #: The fields both changed, each as in revision_diff (``before`` saved, ``after`` the new one).
    conflicts: list[dict]
    #: Labels of the fields taken from the saved version.
    taken: list[str]


async def merge(base: dict | None, saved: dict, mine: dict) -> Merge:
    """Merge ``mine``, a change of the version ``base``, with ``saved``, the version saved since:
    a field only one side changed takes that side's value, a field both changed is a conflict.
    Without ``base`` (no revision kept it) every field where the two differ is a conflict."""
    theirs = {c["field"] for c in revision_diff(base, saved)} if base is not None else None
    ours = {c["field"] for c in revision_diff(base, mine)} if base is not None else None
    record = dict(mine)
    taken = []
    if theirs is not None and ours is not None:
        for name in sorted(theirs - ours, key=list(f.LABELS).index):
            record[name] = saved.get(name)
            taken.append(f.path_label(name))
    labels = await value_labels(saved, record)
    both = (theirs & ours) if theirs is not None and ours is not None else None
    conflicts = [c for c in revision_diff(saved, record, labels) if both is None or c["field"] in both]
    return Merge(record, conflicts, taken)


# --- the history ---------------------------------------------------------------------------------


async def record_revision(
    process_id: int,
    staff: dict | None,
    summary: str,
    record: dict,
    submission_id: int | None = None,
    before: dict | None = None,
    reason: str | None = None,
) -> int:
    """Store ``record``, the state of a process after a change, as its next revision (with the
    editor's ``reason`` for it, when given); return its number.

    ``before`` is the record as it was before this change: when the process has no revision yet
    (it was imported, say), it is stored first as version 1, so the change can be seen and undone.
    Call inside the transaction of the change.
    """
    last = (
        await ProcessRevision.select(ProcessRevision.number)
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number, ascending=False)
        .first()
    )
    number = last["number"] + 1 if last else 1
    version = await Process.select(Process.version).where(Process.id == process_id).first()
    version = version["version"] if version else None
    revisions = []
    if number == 1 and before is not None:
        revisions.append(
            ProcessRevision(
                process=process_id,
                number=1,
                at=datetime.datetime.fromisoformat(before["updated_at"]),
                actor=None,
                actor_name=SYSTEM_NAME,
                summary="Versione precedente alle modifiche della redazione",
                data=before,
                version=version - 1 if version else None,
            )
        )
        number = 2
    revisions.append(
        ProcessRevision(
            process=process_id,
            number=number,
            at=datetime.datetime.now(datetime.UTC),
            actor=staff["id"] if staff else None,
            actor_name=actor_name(staff),
            submission=submission_id,
            summary=summary,
            data=record,
            version=version,
            reason=reason,
        )
    )
    await ProcessRevision.insert(*revisions)
    return number


async def record_imported(process_id: int, record: dict, before: dict | None) -> None:
    """Store a process an import just wrote as its next version (a transfer.VersionRecorder): a new
    process gets its version 1 at once; one updated that had no version keeps ``before`` as version 1."""
    summary = "Importato" if before is None else "Aggiornato da un'importazione"
    await record_revision(process_id, None, summary, record, before=before)


async def import_file(path: Path, skip_invalid: bool = False, dry_run: bool = False) -> transfer.ImportReport:
    """Import a file in the documented format (transfer.import_file), recording every process it
    writes as a new version."""
    return await transfer.import_file(path, skip_invalid, dry_run, record_version=record_imported)


async def list_revisions(process_id: int) -> list[dict]:
    """Revisions of a process, newest first, each with its differences from the one before
    (``changes``) and readable labels of the values."""
    rows = (
        await ProcessRevision.select()
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number, ascending=False)
        .output(load_json=True)
    )
    labels = await value_labels(*[row["data"] for row in rows])
    for row, older in zip(rows, [*rows[1:], None], strict=False):
        row["changes"] = revision_diff(older["data"], row["data"], labels) if older else []
        row["first"] = older is None
    return rows


async def record_at_version(process_id: int, version: int) -> dict | None:
    """The record of a process as it was at ``version`` (Process.version), when a revision kept it."""
    row = (
        await ProcessRevision.select(ProcessRevision.data)
        .where(ProcessRevision.process == process_id, ProcessRevision.version == version)
        .output(load_json=True)
        .first()
    )
    return row["data"] if row else None


async def find_revision(process_id: int, number: int) -> dict | None:
    """Version ``number`` of a process, with its record as a dict, or None."""
    return (
        await ProcessRevision.select()
        .where(ProcessRevision.process == process_id, ProcessRevision.number == number)
        .output(load_json=True)
        .first()
    )
