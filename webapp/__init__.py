"""The Flask app factory: settings, database, engine and one blueprint per area."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import Flask

from engine import clock as clock_module
from engine.config import Settings
from engine.db import Database
from engine.service import ComplaintEngine

log = logging.getLogger(__name__)

EXTENSION = "complaintflow"


@dataclass
class AppState:
    """What the blueprints need, kept in ``app.extensions["complaintflow"]``."""

    settings: Settings
    db: Database
    engine: ComplaintEngine
    # The TestClock behind POST /api/v1/admin/clock; None unless settings.test_clock.
    test_clock: clock_module.TestClock | None = None
    # The read replica of COMPLAINTFLOW_REPORTS_DATABASE_URL; None: reports read the primary.
    reports_replica: Database | None = None

    def __getitem__(self, name: str) -> object:
        """Also readable as a mapping: ``app.extensions["complaintflow"]["engine"]``."""
        if name not in {"settings", "db", "engine", "test_clock"}:
            raise KeyError(name)
        return getattr(self, name)


def create_app(settings: Settings | None = None, engine: ComplaintEngine | None = None) -> Flask:
    settings = settings or (engine.settings if engine is not None else Settings.from_env())
    db = engine.db if engine is not None else Database(settings.database_url)
    engine = engine or ComplaintEngine(db, settings)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        # Werkzeug answers 413 for any request body larger than this.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable
    app.json.sort_keys = False  # type: ignore[attr-defined]

    test_clock = _install_test_clock() if settings.test_clock else None
    reports_replica = None
    if settings.reports_database_url:
        reports_replica = Database(settings.reports_database_url, pool_size=settings.db_pool_size,
                                   max_overflow=settings.db_max_overflow)
    app.extensions[EXTENSION] = AppState(settings=settings, db=db, engine=engine, test_clock=test_clock,
                                         reports_replica=reports_replica)

    from .api import api, clock_api, health
    from .api_import import api_import
    from .api_reports import api_reports
    from .api_versions import api_versions
    from .db_faults import register_database_faults
    from .errors import register_error_handlers
    from .openapi import openapi
    from .request_text import refuse_broken_text

    register_error_handlers(app)
    register_database_faults(app)  # 503/507 when the database is down, read-only or full
    # First of the before_request functions: ahead of the UI's CSRF check, which parses the form.
    app.before_request(refuse_broken_text)
    app.register_blueprint(health)
    app.register_blueprint(openapi)
    app.register_blueprint(api)
    for blueprint in (api_versions, api_import, api_reports):
        app.register_blueprint(blueprint)
    if test_clock is not None:
        app.register_blueprint(clock_api)

    from .ui import init_ui

    # The web UI (session sign-in, CSRF on every form); the bearer-token API is exempt from CSRF.
    init_ui(app, exempt=(api, clock_api, api_versions, api_import, api_reports))
    return app


def _install_test_clock() -> clock_module.TestClock:
    """Make a TestClock the process-wide clock (reusing one already installed)."""
    current = clock_module.get_clock()
    if isinstance(current, clock_module.TestClock):
        test_clock = current
    else:
        test_clock = clock_module.TestClock()
        clock_module.set_clock(test_clock)
    clock_module.install_into_spiff()
    log.warning("test clock enabled: POST /api/v1/admin/clock moves time; never use this in production")
    return test_clock


def state(app: Flask) -> AppState:
    return app.extensions[EXTENSION]
