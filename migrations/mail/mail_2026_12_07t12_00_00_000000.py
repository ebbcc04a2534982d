"""The outbox of e-mail: each message with its delivery state (attempts, next attempt, the lease of
the sender delivering it, sent or given up, the last error)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Mail outbox"

COLUMNS = (
    ("recipient", Varchar, {"length": 254, "default": "", "null": False, "unique": False, "index": False}),
    ("subject", Varchar, {"length": 300, "default": "", "null": False, "unique": False, "index": False}),
    ("text", Text, {"default": "", "null": False, "unique": False, "index": False}),
    ("html", Text, {"default": "", "null": False, "unique": False, "index": False}),
    ("kind", Varchar, {"length": 40, "default": "", "null": False, "unique": False, "index": True}),
    ("reference", Varchar, {"length": 160, "default": "", "null": False, "unique": False, "index": False}),
    ("once_key", Varchar, {"length": 200, "default": None, "null": True, "unique": True, "index": False}),
    ("created_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False, "index": True}),
    ("attempts", Integer, {"default": 0, "null": False, "unique": False, "index": False}),
    ("next_attempt_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False, "index": True}),
    ("claimed_until", Timestamptz, {"default": None, "null": True, "unique": False, "index": False}),
    ("sent_at", Timestamptz, {"default": None, "null": True, "unique": False, "index": True}),
    ("failed_at", Timestamptz, {"default": None, "null": True, "unique": False, "index": False}),
    ("last_error", Text, {"default": None, "null": True, "unique": False, "index": False}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mail", description=DESCRIPTION)
    manager.add_table(class_name="MailMessage", tablename="mail_message", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="MailMessage",
            tablename="mail_message",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                **params,
                "primary_key": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
