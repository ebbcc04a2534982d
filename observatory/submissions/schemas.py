"""Typed shapes of the submissions API (msgspec structs, shown in the OpenAPI schema)."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec


class SubmitterIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who sends the submission. Kept private: never published, exported or shown in the API."""

    nome: str | None = None
    ente: str | None = None
    email: str | None = None


class SubmissionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new process (or, with ``correzione_di``, a correction of a published one) to moderate.

    ``processo`` is a record in the import format (see the README): only the public fields, slug,
    reporting source, editors' notes and timestamps excluded. ``nota`` says what is corrected and why.
    """

    segnalante: SubmitterIn | None = None
    privacy_accettata: bool = False
    processo: dict[str, Any] | None = None
    correzione_di: str | None = None
    nota: str | None = None


class DuplicateOut(msgspec.Struct):
    """A published process that may be the one submitted, and why."""

    slug: str
    titolo: str
    anni: str
    titolari: list[str]
    territori: list[str]
    motivi: list[str]
    url: str


class SubmissionCreatedOut(msgspec.Struct):
    """A stored submission: its state and the private token that opens it (shown only once)."""

    stato: str
    stato_etichetta: str
    token: str
    indirizzo_privato: str
    duplicati_probabili: list[DuplicateOut]


class SubmissionStateOut(msgspec.Struct):
    """Where a submission stands, for whoever holds its token."""

    stato: str
    stato_etichetta: str
    tipo: str
    messaggio_redazione: str | None
    processo: dict[str, Any]
    nota: str | None
    scheda: str | None
    creata: datetime.datetime
    aggiornata: datetime.datetime


class PendingDuplicateOut(msgspec.Struct):
    """Another open submission that likely proposes the same process, and why."""

    id: int
    title: str
    kind_label: str
    state: str
    reasons: list[str]


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
    #: When its submitter last amended it (None when never).
    amended_at: datetime.datetime | None
    #: How many published processes it likely duplicates.
    duplicates: int | None
    #: The other open submissions it likely duplicates.
    pending_duplicates: list[PendingDuplicateOut]
    review_url: str


class QueuePageOut(msgspec.Struct):
    """One page of the moderation queue, oldest first."""

    items: list[QueueItemOut]
    total: int
    page: int
    page_size: int
