"""Messages to the editors from the contact form: sender, subject, text, the keyed hash of the
sender's address for the rate limit, and who handled each one when."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Contact messages"


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


COLUMNS = (
    ("sender_name", Varchar, {"length": 200, "default": "", "null": False, "index": False}),
    ("sender_email", Varchar, {"length": 254, "default": "", "null": False, "index": False}),
    ("subject", Varchar, {"length": 200, "default": "", "null": False, "index": False}),
    ("body", Text, {"default": "", "null": False, "index": False}),
    ("address_hash", Varchar, {"length": 64, "default": "", "null": False, "index": True}),
    ("privacy_accepted_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "index": False}),
    ("created_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "index": True}),
    ("handled_at", Timestamptz, {"default": None, "null": True, "index": True}),
    (
        "handled_by",
        ForeignKey,
        {
            "references": StaffUser,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "index": False,
        },
    ),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="contact", description=DESCRIPTION)
    manager.add_table(class_name="ContactMessage", tablename="contact_message", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="ContactMessage",
            tablename="contact_message",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                **params,
                "unique": False,
                "primary_key": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
