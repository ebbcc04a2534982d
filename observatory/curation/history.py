"""The public history of a process: its published versions and what changed in each, in the
fields the public may see.

Revisions hold whole records, the editors' fields too; only the public fields
(``fields.PUBLIC_FIELDS``) are compared and shown, so nothing the editorial office keeps to itself
(notes, the reporting source, the source reference) reaches a reader. Versions that changed none of
them (a withdrawal, an edit of the editors' notes) are left out.
"""

from __future__ import annotations

from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.curation.revisions import revision_diff, value_labels
from observatory.curation.tables import ProcessRevision


async def public_history(process_id: int) -> list[dict]:
    """The published versions of a process, newest first: ``at`` (when it was published),
    ``first`` (the oldest one recorded) and ``changes`` (from the version before, public fields
    only, as revision_diff gives them). Empty when no version was recorded."""
    rows = (
        await ProcessRevision.select(ProcessRevision.at, ProcessRevision.data)
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number)
        .output(load_json=True)
    )
    public = [{name: row["data"].get(name) for name in PUBLIC_FIELDS} for row in rows]
    labels = await value_labels(*public)
    versions = []
    for row, record, older in zip(rows, public, [None, *public], strict=False):
        changes = revision_diff(older, record, labels, names=PUBLIC_FIELDS) if older is not None else []
        if older is None or changes:
            versions.append({"at": row["at"], "first": older is None, "changes": changes})
    return versions[::-1]
