"""Every submission carries a version, raised by each amendment and decision: the editor's
"edit and approve" form carries it, and a submission amended since is not approved over."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T05:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Submission versions"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="submissions", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Submission",
        tablename="submission",
        column_name="version",
        db_column_name="version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 1,
            "null": False,
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
