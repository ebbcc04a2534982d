"""Piccolo app of the catalogue; its migrations live in the top-level ``migrations/catalogue``."""

from piccolo.conf.apps import AppConfig

from observatory.catalogue.tables import ALL_TABLES
from observatory.settings import PROJECT_DIR

APP_CONFIG = AppConfig(
    app_name="catalogue",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "catalogue"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
