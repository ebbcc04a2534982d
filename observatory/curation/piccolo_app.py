"""Piccolo app of curation; its migrations live in the top-level ``migrations/redazione``.

The app keeps the name it was created with, "redazione": databases record their applied
migrations under it.
"""

from piccolo.conf.apps import AppConfig

from observatory.curation.tables import ALL_TABLES
from observatory.settings import PROJECT_DIR

APP_CONFIG = AppConfig(
    app_name="redazione",
    migrations_folder_path=str(PROJECT_DIR / "migrations" / "redazione"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=["observatory.submissions.piccolo_app"],
    commands=[],
)
