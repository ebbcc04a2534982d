"""Piccolo app of submissions; its migrations live in the top-level ``migrations/submissions``."""

from piccolo.conf.apps import AppConfig

from observatory.settings import PROJECT_DIR
from observatory.submissions.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="submissions",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "submissions"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=["observatory.catalogue.piccolo_app", "observatory.accounts.piccolo_app"],
    commands=[],
)
