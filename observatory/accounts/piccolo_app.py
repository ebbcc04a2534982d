"""Piccolo app of staff accounts; its migrations live in the top-level ``migrations/accounts``."""

from piccolo.conf.apps import AppConfig

from observatory.accounts.tables import ALL_TABLES
from observatory.settings import PROJECT_DIR

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "accounts"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
