"""Account lifecycle: versions, two-factor secrets and the last step used on each account; when a
session was last seen, its browser and whether its second factor is pending; password reset links,
recovery codes and the office's account policy."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, db_column_name="id")


ID = "2026-12-07T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Account lifecycle, two-factor login, reset links"

OWNER = {
    "references": StaffUser,
    "on_delete": OnDelete.cascade,
    "on_update": OnUpdate.cascade,
    "target_column": None,
    "null": True,
    "unique": False,
}
NEW_COLUMNS = {
    ("StaffUser", "staff_user"): (
        ("version", Integer, {"default": 1, "null": False, "unique": False}),
        ("totp_secret", Varchar, {"length": 64, "default": None, "null": True, "unique": False}),
        ("totp_pending_secret", Varchar, {"length": 64, "default": None, "null": True, "unique": False}),
        ("totp_last_step", Integer, {"default": None, "null": True, "unique": False}),
    ),
    ("StaffSession", "staff_session"): (
        ("last_seen_at", Timestamptz, {"default": None, "null": True, "unique": False}),
        ("user_agent", Varchar, {"length": 200, "default": "", "null": False, "unique": False}),
        ("second_factor_pending", Boolean, {"default": False, "null": False, "unique": False}),
    ),
    ("PasswordReset", "password_reset"): (
        ("token_hash", Varchar, {"length": 64, "default": "", "null": False, "unique": True}),
        ("user", ForeignKey, OWNER),
        ("created_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False}),
        ("expires_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False}),
        ("used_at", Timestamptz, {"default": None, "null": True, "unique": False}),
        ("replaced_at", Timestamptz, {"default": None, "null": True, "unique": False}),
    ),
    ("RecoveryCode", "recovery_code"): (
        ("user", ForeignKey, OWNER),
        ("code_hash", Varchar, {"length": 64, "default": "", "null": False, "unique": False}),
        ("used_at", Timestamptz, {"default": None, "null": True, "unique": False}),
    ),
    ("AccountPolicy", "account_policy"): (
        ("require_two_factor", Boolean, {"default": False, "null": False, "unique": False}),
        ("version", Integer, {"default": 1, "null": False, "unique": False}),
        ("changed_at", Timestamptz, {"default": TimestamptzNow(), "null": False, "unique": False}),
        ("changed_by", Varchar, {"length": 120, "default": "", "null": False, "unique": False}),
    ),
}
NEW_TABLES = ("PasswordReset", "RecoveryCode", "AccountPolicy")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)
    for (class_name, tablename), columns in NEW_COLUMNS.items():
        if class_name in NEW_TABLES:
            manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
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
