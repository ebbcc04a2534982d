"""Typed shapes of the editors' API (msgspec structs, shown in the OpenAPI schema)."""

from __future__ import annotations

import datetime

import msgspec


class QueueItemOut(msgspec.Struct):
    """A submission in the moderation queue. The submitter's name and body are for staff only."""

    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    title: str
    submitter_name: str
    submitter_body: str
    channel: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: For a correction (or once approved): the process it concerns.
    process_slug: str | None
    #: How many published processes it likely duplicates.
    duplicates: int | None
    review_url: str


class QueuePageOut(msgspec.Struct):
    """One page of the moderation queue, oldest first."""

    items: list[QueueItemOut]
    total: int
    page: int
    page_size: int
