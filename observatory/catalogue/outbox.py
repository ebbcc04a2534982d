"""The outbox of the search index: every change of a process notes it (an IndexChange row) in the
same transaction, and every index keeps its own Position in the outbox, so any number of
instances, each with its own index folder, apply every change.

Why a position is more than a row id: ids are taken when rows are written, not when they commit.
On SQLite one writer at a time holds the database, so rows commit in id order and "every change
up to id N" is exact. On PostgreSQL a transaction that took id 100 can commit after one that took
101 (sequences ignore transactions), and a reader that has seen 101 would never see 100 if it
only asked for ids above 101. So each row also keeps the id of the transaction that wrote it, and
a position remembers the oldest transaction still running when it was taken (the ``xmin`` of a
snapshot, its *horizon*): changes of that transaction or of later ones are read again until the
horizon passes them, and those already applied are listed in ``seen`` so they are not applied
twice. Tracking commit order this way is exact at any transaction length; re-reading a trailing
window of ids or of time would not be.

Rows older than KEEP_CHANGES are pruned; an index whose position is older than that is rebuilt
instead of brought up to date.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

from piccolo.engine.sqlite import SQLiteEngine

from observatory.catalogue.tables import IndexChange
from observatory.database import configured, write_transaction

#: How long changes stay in the outbox.
KEEP_CHANGES = datetime.timedelta(days=7)
#: An index that has not moved for this long may need pruned changes: it is rebuilt.
STALE_AFTER = KEEP_CHANGES - datetime.timedelta(hours=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _postgres() -> bool:
    return not isinstance(configured(), SQLiteEngine)


@dataclass(frozen=True)
class Position:
    """Where an index stands in the outbox: every change up to ``change`` is applied, except, on
    PostgreSQL, those of transactions from ``horizon`` on that are not in ``seen``."""

    #: The highest change id applied.
    change: int = 0
    #: The oldest transaction that was running when the position was taken (PostgreSQL).
    horizon: int | None = None
    #: (change id, transaction id) of changes applied from transactions at or past the horizon.
    seen: tuple[tuple[int, int], ...] = field(default=())
    #: When the position was last moved.
    at: datetime.datetime = field(default_factory=_now)

    def to_json(self) -> dict:
        return {
            "change": self.change,
            "horizon": self.horizon,
            "seen": [list(pair) for pair in self.seen],
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Position:
        return cls(
            change=int(data["change"]),
            horizon=data.get("horizon"),
            seen=tuple((int(change), int(txid)) for change, txid in data.get("seen", [])),
            at=datetime.datetime.fromisoformat(data["at"]),
        )

    def stale(self) -> bool:
        """Whether changes this index still needs may have been pruned."""
        return self.at < _now() - STALE_AFTER


async def record_change(process_id: int) -> None:
    """Note that a process's index entries are stale (call inside the writing transaction)."""
    if _postgres():
        await IndexChange.raw(
            "INSERT INTO index_change (process_id, txid, created_at) "
            "VALUES ({}, pg_current_xact_id()::text::bigint, now())",
            process_id,
        )
    else:
        await IndexChange.insert(IndexChange(process_id=process_id, created_at=_now()))


async def horizon() -> int | None:
    """The oldest transaction still running (PostgreSQL), None on SQLite: take it before reading."""
    if not _postgres():
        return None
    rows = await IndexChange.raw("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
    return rows[0]["xmin"]


async def latest() -> int:
    """The id of the latest change (0 when there is none)."""
    row = await IndexChange.select(IndexChange.id).order_by(IndexChange.id, ascending=False).first()
    return row["id"] if row else 0


async def start() -> Position:
    """The position of an index about to be filled from the tables as they are now."""
    oldest_running = await horizon()  # first: a transaction older than it is visible to what follows
    return Position(change=await latest(), horizon=oldest_running)


def _pending(position: Position):
    condition = IndexChange.id > position.change
    if position.horizon is not None:
        condition = condition | (IndexChange.txid >= position.horizon)
        if position.seen:
            condition = condition & IndexChange.id.not_in([change for change, _ in position.seen])
    return condition


async def pending(position: Position, limit: int) -> list[dict]:
    """The next changes an index at ``position`` has not applied, by id."""
    return (
        await IndexChange.select(IndexChange.id, IndexChange.process_id, IndexChange.txid)
        .where(_pending(position))
        .order_by(IndexChange.id)
        .limit(limit)
    )


def advance(position: Position, applied: list[dict], oldest_running: int | None) -> Position:
    """The position after applying ``applied`` (rows of :func:`pending`), read after taking
    ``oldest_running`` with :func:`horizon`."""
    change = max([position.change, *(row["id"] for row in applied)])
    seen: tuple[tuple[int, int], ...] = ()
    if oldest_running is not None:
        pairs = [*position.seen, *((row["id"], row["txid"]) for row in applied if row["txid"] is not None)]
        seen = tuple(sorted({(c, t) for c, t in pairs if t >= oldest_running and c <= change}))
    return replace(position, change=change, horizon=oldest_running, seen=seen, at=_now())


async def backlog(position: Position) -> tuple[int, datetime.datetime | None]:
    """How many changes an index at ``position`` has not applied, and when the oldest was written."""
    waiting = _pending(position)
    count = await IndexChange.count().where(waiting)
    oldest = (
        await IndexChange.select(IndexChange.created_at)
        .where(waiting)
        .order_by(IndexChange.created_at)
        .first()
    )
    return count, oldest["created_at"] if oldest else None


async def prune() -> None:
    """Forget the changes older than KEEP_CHANGES, but the latest: SQLite gives a new row the
    highest id plus one, so an empty table would start its ids again below every position."""
    async with write_transaction():
        await IndexChange.delete().where(
            IndexChange.created_at < _now() - KEEP_CHANGES, IndexChange.id < await latest()
        )
