"""A revision keeps the reason the editor gave for the change ("Motivo della modifica")."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T14:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The reason of each revision"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="redazione", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ProcessRevision",
        tablename="process_revision",
        column_name="reason",
        db_column_name="reason",
        column_class_name="Text",
        column_class=Text,
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
