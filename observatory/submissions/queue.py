"""The moderation queue: submissions to decide, oldest first, each with what an editor needs to
choose which to open first (likely duplicates, whether its submitter amended it)."""

from __future__ import annotations

from observatory.search.index import SearchIndex
from observatory.submissions import services
from observatory.submissions.amendments import amended_submissions, last_amended
from observatory.submissions.duplicates import pending_duplicates
from observatory.submissions.moderation import proposed_record
from observatory.submissions.tables import Submission
from observatory.web import Page


async def queue(
    state: str | None,
    kind: str | None,
    page: int,
    page_size: int,
    search_index: SearchIndex | None = None,
    amended: bool = False,
) -> Page:
    """Submissions in ``state`` (every state when None) and of ``kind`` (every kind when None),
    only those their submitters amended when ``amended``, oldest first. Each with when its
    submitter last amended it (``amended_at``), the other open submissions it likely duplicates
    (``pending_duplicates``) and, when ``search_index`` is given, the count of published processes it likely
    duplicates (``duplicates``)."""
    select = Submission.select(
        Submission.id,
        Submission.kind,
        Submission.state,
        Submission.data,
        Submission.submitter_name,
        Submission.submitter_body,
        Submission.channel,
        Submission.created_at,
        Submission.updated_at,
        Submission.process,
        Submission.process.slug.as_alias("process_slug"),
        Submission.process.title.as_alias("process_title"),
    )
    count = Submission.count()
    conditions = [
        column == value for column, value in ((Submission.state, state), (Submission.kind, kind)) if value
    ]
    if amended:
        conditions.append(Submission.id.is_in(amended_submissions()))
    if conditions:
        select, count = select.where(*conditions), count.where(*conditions)
    total = await count
    rows = (
        await select.order_by(Submission.created_at)
        .order_by(Submission.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
        .output(load_json=True)
    )
    ids = [row["id"] for row in rows]
    amended_at, twins = await last_amended(ids), await pending_duplicates(ids)
    items = []
    for row in map(services.labelled, rows):
        record = proposed_record(row)
        duplicates = None
        if search_index is not None:
            found = await services.likely_duplicates(search_index, record, exclude_process_id=row["process"])
            duplicates = len(found)
        items.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "kind_label": row["kind_label"],
                "state": row["state"],
                "state_label": row["state_label"],
                "title": record.get("title") or "senza titolo",
                "submitter_name": row["submitter_name"],
                "submitter_body": row["submitter_body"],
                "channel": row["channel"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
                "amended_at": amended_at.get(row["id"]),
                "process_slug": row["process_slug"],
                "process_title": row["process_title"],
                "duplicates": duplicates,
                "pending_duplicates": twins.get(row["id"], []),
            }
        )
    return Page(items=items, total=total, page=page, page_size=page_size)
