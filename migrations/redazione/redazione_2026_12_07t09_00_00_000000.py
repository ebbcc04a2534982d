"""The groups of synonyms and abbreviations the search applies: shipped ones (with their key, and
a flag when the editors deleted them) and those the editors add, each with a version."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Synonym groups"

COLUMNS = (
    ("expressions", JSON, {"default": "[]", "null": False, "unique": False}),
    ("note", Text, {"default": "", "null": False, "unique": False}),
    ("shipped_key", Varchar, {"length": 60, "default": None, "null": True, "unique": True}),
    ("deleted", Boolean, {"default": False, "null": False, "unique": False}),
    ("version", Integer, {"default": 1, "null": False, "unique": False}),
    ("changed_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False}),
    ("changed_by", Varchar, {"length": 120, "default": "", "null": False, "unique": False}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="redazione", description=DESCRIPTION)
    manager.add_table(class_name="SynonymGroup", tablename="synonym_group", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="SynonymGroup",
            tablename="synonym_group",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                **params,
                "primary_key": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
