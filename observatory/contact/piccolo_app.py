"""Piccolo app of the contact form; its migrations live in the top-level ``migrations/contact``."""

from piccolo.conf.apps import AppConfig

from observatory.contact.tables import ALL_TABLES
from observatory.settings import PROJECT_DIR

APP_CONFIG = AppConfig(
    app_name="contact",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "contact"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=["observatory.accounts.piccolo_app"],
    commands=[],
)
