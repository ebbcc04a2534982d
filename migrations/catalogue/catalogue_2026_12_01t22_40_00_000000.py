"""The outbox of the search index keeps no global "applied" mark any more: every index keeps its
own position, and a row carries the id of the transaction that wrote it.

The table is made anew (SQLite cannot drop an indexed column). Its old rows need no keeping: the
index format changed with it, so every index is rebuilt from the tables at its next start.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-01T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Outbox positions kept by each index"


class _Raw(Table, tablename="index_change"):
    pass


async def _drop_old_outbox():
    _Raw._meta.db = engine_finder()  # the database being migrated, not the one of the first import
    await _Raw.raw("DROP TABLE IF EXISTS index_change")


def _index_column(name: str, column_class, **params):
    return {
        "table_class_name": "IndexChange",
        "tablename": "index_change",
        "column_name": name,
        "db_column_name": name,
        "column_class_name": column_class.__name__,
        "column_class": column_class,
        "params": {
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
            **params,
        },
        "schema": None,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)
    manager.add_raw(_drop_old_outbox)
    manager.add_table(class_name="IndexChange", tablename="index_change", schema=None, columns=None)
    manager.add_column(**_index_column("process_id", BigInt, default=0))
    manager.add_column(**_index_column("txid", BigInt, default=None, null=True))
    manager.add_column(**_index_column("created_at", Timestamptz, default=TimestamptzNow()))
    return manager
