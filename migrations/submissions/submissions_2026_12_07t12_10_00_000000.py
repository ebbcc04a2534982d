"""E-mail to submitters and editors: the salt each submission's tracking token is derived from (so
every message can carry the private link), and the staff members who receive the daily digest."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T12:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Token salts and digest subscriptions"


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


def _params(**params):
    return {
        "primary_key": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **params,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="submissions", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Submission",
        tablename="submission",
        column_name="token_salt",
        db_column_name="token_salt",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=32, default=None, null=True, unique=False),
        schema=None,
    )
    manager.add_table(
        class_name="DigestSubscription", tablename="digest_subscription", schema=None, columns=None
    )
    manager.add_column(
        table_class_name="DigestSubscription",
        tablename="digest_subscription",
        column_name="staff",
        db_column_name="staff",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(
            references=StaffUser,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
            null=True,
            unique=True,
        ),
        schema=None,
    )
    manager.add_column(
        table_class_name="DigestSubscription",
        tablename="digest_subscription",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(default=TimestamptzNow(), null=False, unique=False),
        schema=None,
    )
    return manager
