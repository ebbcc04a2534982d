"""The Litestar application: ``create_app(settings)`` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
import gc
import logging

from jinja2 import Environment
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from observatory import __version__, apidocs, database, i18n, text, web
from observatory.accounts.account_controllers import StaffAccountPages
from observatory.accounts.controllers import AccountPages
from observatory.accounts.guards import (
    LoginRequired,
    StaffMiddleware,
    login_required_response,
    staff_in_template,
)
from observatory.accounts.profile_controllers import ProfilePages, TwoFactorPages
from observatory.accounts.tables import ROLES
from observatory.audit.controllers import AuditPages
from observatory.catalogue import fields, geography, searching
from observatory.catalogue.controllers import CatalogueApi, CataloguePages, HealthApi
from observatory.catalogue.indexing import keep_index_current, open_index
from observatory.catalogue.reference import keep_english_labels_current, load_english_labels
from observatory.catalogue.tables import LICENCE_URLS
from observatory.contact.controllers import ContactPages, MessagePages
from observatory.contact.retention import keep_purging
from observatory.contact.site_controllers import SitePages
from observatory.curation.controllers import CurationPages
from observatory.curation.history_controllers import ProcessHistoryPages
from observatory.curation.reference_controllers import ReferencePages
from observatory.curation.synonym_controllers import SynonymPages
from observatory.curation.synonyms import apply_synonyms, keep_synonyms_current
from observatory.hardening import AddressHygieneMiddleware, hardened
from observatory.mail.sender import keep_sending
from observatory.opendata.bulk import BulkArchives
from observatory.opendata.controllers import OpenDataPages
from observatory.opendata.dcat_controllers import DcatCatalogue
from observatory.opendata.feed_controllers import FeedPages
from observatory.opendata.freshness import ConditionalGetMiddleware
from observatory.opendata.structured import json_ld
from observatory.resend import refused_post_response
from observatory.search.index import IndexUnavailable, SearchIndex
from observatory.settings import PROJECT_DIR, Settings
from observatory.statistics.controllers import StatisticsPages
from observatory.submissions.controllers import SubmissionApi, SubmissionPages
from observatory.submissions.digest import keep_digests
from observatory.submissions.digest_controllers import NotificationPages
from observatory.submissions.moderation_controllers import ModerationApi, ModerationPages

logger = logging.getLogger("observatory")
#: Posts that carry no browser cookie (bodies sending from their own systems) skip the CSRF check.
CSRF_EXEMPT = ["^/api/v1/segnalazioni$"]


def _configure_templates(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters.update(
        euro=text.euro,
        euro_short=text.euro_short,
        whole=text.whole,
        date_in_words=text.date_in_words,
        datetime_in_words=text.datetime_in_words,
        years=text.years,
        replace_years=web.replace_years,
    )
    env.filters["json_ld"] = json_ld
    env.filters["term"] = i18n.term_label
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        language=i18n.current_language,
        url=i18n.url,
        alternates=i18n.alternates,
        language_names=i18n.LANGUAGE_NAMES,
        version=__version__,
        current_staff=staff_in_template,
        staff_roles=ROLES,
        labels=i18n.ByLanguage({i18n.ITALIAN: fields.PATH_LABELS, i18n.ENGLISH: fields.PATH_LABELS_EN}),
        choices=fields.PATH_CHOICES,
        licence_urls=LICENCE_URLS,
        canonical_query=web.canonical_query,
    )


def create_app(settings: Settings) -> Litestar:
    """Build the application for ``settings`` (database, templates, routes, error pages).

    What start-up loads and keeps (the index's arrays, the maps, the templates, the libraries) is
    moved out of the garbage collector's reach once loaded (``gc.freeze``, undone at shutdown): a
    full collection over it paused a request for about 100 ms at 100,000 processes. Those objects
    are still freed when nothing refers to them.
    """
    engine = database.configure(settings.database_url)
    https = settings.base_url.startswith("https://")
    search_index = SearchIndex(settings.index_dir)
    background: list[asyncio.Task] = []

    async def open_database(app: Litestar) -> None:
        geography.prepare(on_ready=gc.freeze)
        await database.start(engine)
        await load_english_labels()
        try:
            await open_index(search_index)  # rebuilt when it cannot be served; pending changes applied
            searching.prepare_suggestions(search_index)  # not at the first keystroke: 2 s at 100,000
        except Exception:  # pages that need no index must still be served; the repair retries
            logger.exception("The search index could not be opened: searches answer 503 until it is repaired")
        background.append(asyncio.create_task(keep_index_current(search_index, settings.index_poll)))
        await apply_synonyms(search_index)  # kept in the database: every instance reloads them
        background.append(asyncio.create_task(keep_synonyms_current(search_index, settings.index_poll)))
        background.append(asyncio.create_task(keep_english_labels_current(settings.index_poll)))
        # e-mail leaves from the outbox, never from a request: a server that is down fails no page
        background.append(asyncio.create_task(keep_sending(settings)))
        background.append(asyncio.create_task(keep_digests(settings)))
        background.append(asyncio.create_task(keep_purging(settings)))  # personal data past retention
        gc.freeze()

    async def close_database(app: Litestar) -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        search_index.close()
        await database.stop(engine)
        gc.unfreeze()

    app = Litestar(
        route_handlers=[
            CataloguePages,
            CatalogueApi,
            HealthApi,
            SubmissionPages,
            SubmissionApi,
            AccountPages,
            StaffAccountPages,
            ProfilePages,
            TwoFactorPages,
            AuditPages,
            ModerationPages,
            ModerationApi,
            NotificationPages,
            CurationPages,
            ReferencePages,
            ProcessHistoryPages,
            SynonymPages,
            FeedPages,
            OpenDataPages,
            DcatCatalogue,
            StatisticsPages,
            ContactPages,
            MessagePages,
            SitePages,
            create_static_files_router(
                path="/static", directories=[PROJECT_DIR / "static"], include_in_schema=False
            ),
        ],
        template_config=TemplateConfig(
            directory=PROJECT_DIR / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=_configure_templates,
        ),
        openapi_config=OpenAPIConfig(
            title="Osservatorio API",
            version=__version__,
            description="Catalogo aperto dei processi partecipativi e di amministrazione condivisa.",
            path="/schema",
            render_plugins=apidocs.render_plugins(),  # the viewer's files from /static, none from a CDN
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="osservatorio_csrf",
            cookie_httponly=True,
            cookie_samesite="lax",
            cookie_secure=https,
            exclude=CSRF_EXEMPT,
        ),
        cors_config=CORSConfig(allow_origins=["*"], allow_methods=["GET"], allow_credentials=False),
        exception_handlers={
            LoginRequired: login_required_response,
            IndexUnavailable: web.unavailable_response,
            Exception: refused_post_response,
        },
        middleware=[AddressHygieneMiddleware(), StaffMiddleware(), ConditionalGetMiddleware()],
        on_startup=[open_database],
        on_shutdown=[close_database],
        debug=settings.debug,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.state.settings = settings
    app.state.search_index = search_index
    # the dated archives of the whole catalogue: derived files, like the index, of this instance alone
    app.state.bulk_archives = BulkArchives(
        settings.index_dir.with_name(settings.index_dir.name + "-downloads")
    )
    app.asgi_handler = hardened(i18n.by_language(app.asgi_handler), https)
    return app


def create_app_from_env() -> Litestar:
    """Factory for uvicorn: settings from the environment."""
    return create_app(Settings.from_env())
