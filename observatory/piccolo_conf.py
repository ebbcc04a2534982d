"""Piccolo's configuration module.

Piccolo's migration machinery looks the engine up here (``engine_finder``); the engine itself is
chosen at run time by :func:`observatory.database.configure`, never at import time.
"""

from piccolo.conf.apps import AppRegistry

#: Set by ``observatory.database.configure``; ``None`` until a database is configured.
DB = None

APP_REGISTRY = AppRegistry(
    apps=[
        "observatory.catalogue.piccolo_app",
        "observatory.accounts.piccolo_app",
        "observatory.submissions.piccolo_app",
        "observatory.curation.piccolo_app",
        "observatory.mail.piccolo_app",
        "observatory.contact.piccolo_app",
    ]
)
