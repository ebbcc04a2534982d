"""What a submission proposed before each amendment by its submitter, so that editors see exactly
what the amendment changed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Submission versions replaced by amendments"


class Submission(Table, tablename="submission", schema=None):
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
    (
        "submission",
        ForeignKey,
        {
            "references": Submission,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "unique": False,
            "index": True,
        },
    ),
    ("version", Integer, {"default": 0, "null": False, "unique": False, "index": False}),
    ("data", JSON, {"default": "{}", "null": False, "unique": False, "index": False}),
    ("state", Varchar, {"length": 24, "default": "", "null": False, "unique": False, "index": False}),
    (
        "replaced_at",
        Timestamptz,
        {"default": TimestamptzNow(), "null": False, "unique": False, "index": False},
    ),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="submissions", description=DESCRIPTION)
    manager.add_table(
        class_name="SubmissionVersion", tablename="submission_version", schema=None, columns=None
    )
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="SubmissionVersion",
            tablename="submission_version",
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
