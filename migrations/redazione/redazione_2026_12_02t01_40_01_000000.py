"""A revision notes the version of the process it is, so that a change made against an older
version can be merged with the ones made since (three ways: that version, the saved one, the new)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T01:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "The process version of each revision"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="redazione", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ProcessRevision",
        tablename="process_revision",
        column_name="version",
        db_column_name="version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
