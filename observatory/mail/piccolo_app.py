"""Piccolo app of e-mail; its migrations live in the top-level ``migrations/mail``."""

from piccolo.conf.apps import AppConfig

from observatory.mail.tables import ALL_TABLES
from observatory.settings import PROJECT_DIR

APP_CONFIG = AppConfig(
    app_name="mail",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "mail"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
