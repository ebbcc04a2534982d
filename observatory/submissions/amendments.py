"""Amendments by submitters: what each one replaced, what it changed, and the status line that
tells an editor where a submission stands and how it got there.

The submitter's amendment (moderation.amend) keeps the data it replaces as a SubmissionVersion,
so the review compares the versions exactly, field by field, with the labels of the field
declarations, as corrections are compared with the published process.
"""

from __future__ import annotations

import datetime

from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.curation.revisions import revision_diff, value_labels
from observatory.i18n import N_, _
from observatory.submissions.services import NOTE_FIELD
from observatory.submissions.tables import SubmissionVersion
from observatory.text import datetime_in_words

#: How the status line says each decision, before its date and who took it.
DECIDED = {
    "modifiche_richieste": N_("chieste"),
    "approvata": "",
    "respinta": "",
    "duplicato": N_("segnata"),
}


async def keep_replaced(row: dict) -> None:
    """Keep what the submission ``row`` (as it was before an amendment) proposed. Call inside the
    amendment's transaction."""
    await SubmissionVersion.insert(
        SubmissionVersion(
            submission=row["id"],
            version=row["version"],
            data=row["data"],
            state=row["state"],
            replaced_at=datetime.datetime.now(datetime.UTC),
        )
    )


def amended_submissions():
    """A subquery of the ids of the submissions their submitters amended (for ``is_in``)."""
    return SubmissionVersion.select(SubmissionVersion.submission)


async def last_amended(submission_ids: list[int]) -> dict[int, datetime.datetime]:
    """When each of ``submission_ids`` was last amended by its submitter (those never amended left out)."""
    if not submission_ids:
        return {}
    rows = await SubmissionVersion.select(SubmissionVersion.submission, SubmissionVersion.replaced_at).where(
        SubmissionVersion.submission.is_in(submission_ids)
    )
    last: dict[int, datetime.datetime] = {}
    for row in rows:
        last[row["submission"]] = max(row["replaced_at"], last.get(row["submission"], row["replaced_at"]))
    return last


def _note_change(old: dict, new: dict) -> list[dict]:
    """The change of a correction's note, shaped as revision_diff's items."""
    before, after = old.get("note"), new.get("note")
    if (before or None) == (after or None):
        return []
    lines = [before] if before else [], [after] if after else []
    return [
        {
            "field": "note",
            "label": NOTE_FIELD.label,
            "before": lines[0],
            "after": lines[1],
            "added": [],
            "removed": [],
            "is_list": False,
        }
    ]


async def amendments(row: dict) -> list[dict]:
    """The submitter's amendments of the submission ``row``, newest first: ``at`` (when),
    ``number`` (1 for the first), ``after_request`` (whether editors had asked for changes) and
    ``changes`` (what it changed in the proposed process, field by field as revision_diff gives
    them, and in the note of a correction)."""
    versions = (
        await SubmissionVersion.select()
        .where(SubmissionVersion.submission == row["id"])
        .order_by(SubmissionVersion.version)
        .output(load_json=True)
    )
    datas = [v["data"] for v in versions] + [row["data"]]
    labels = await value_labels(*[data.get("process") or {} for data in datas])
    found = []
    for number, (version, old, new) in enumerate(zip(versions, datas, datas[1:], strict=False), start=1):
        changes = revision_diff(
            old.get("process") or {}, new.get("process") or {}, labels, names=PUBLIC_FIELDS
        )
        found.append(
            {
                "number": number,
                "at": version["replaced_at"],
                "after_request": version["state"] == "modifiche_richieste",
                "changes": changes + _note_change(old, new),
            }
        )
    return found[::-1]


def status_line(row: dict, decided_by: str | None, amended: list[dict]) -> str | None:
    """How the submission ``row`` got to its state, for the status line after the state's name:
    the last decision's date and who took it (``decided_by``), and for a waiting one the last
    amendment by its submitter (``amended``, see :func:`amendments`) and the request it answered;
    None for a submission waiting since it was sent."""
    state, decided_at = row["state"], row["decided_at"]
    if state in DECIDED:
        when = _("il %(when)s") % {"when": datetime_in_words(decided_at)} if decided_at else ""
        by = " " + _("da %(name)s") % {"name": decided_by} if decided_by else ""
        line = " ".join(part for part in (_(DECIDED[state]), when) if part) + by
        if state == "modifiche_richieste":
            line += _(": si attendono le modifiche di chi l'ha inviata")
        return line or None
    if not amended:
        return None
    line = _("modificata dal segnalante il %(when)s") % {"when": datetime_in_words(amended[0]["at"])}
    if decided_at and any(a["after_request"] for a in amended):
        asked = {"when": datetime_in_words(decided_at), "name": decided_by}
        if decided_by:
            line += _(", dopo la richiesta di modifiche del %(when)s di %(name)s") % asked
        else:
            line += _(", dopo la richiesta di modifiche del %(when)s") % asked
    return line
