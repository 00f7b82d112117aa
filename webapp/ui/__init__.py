"""The web UI: role inboxes, task forms, case pages and intake, server-rendered with Jinja and htmx.

``init_ui(app)`` sets the session cookie, CSRF protection for every form POST
(the bearer-token API is exempt: it never reads the session), Flask-Babel
(Simplified Chinese by default, English on request), security headers and the
``ui`` blueprint. Pages sign in with a session cookie; the roles behind it are
read afresh on every request, so a deactivated user is out at once.

Settings read from the environment:
- ``COMPLAINTFLOW_SECURE_COOKIES=1``: send the session cookie only over HTTPS
  (turn on behind TLS).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response
from flask_wtf.csrf import CSRFProtect

from engine import comments as _comments  # noqa: F401 - registers the tables with the metadata
from engine import saved_filters as _saved_filters  # noqa: F401
from engine.task_clocks import TaskClocks

ui = Blueprint("ui", __name__)
csrf = CSRFProtect()

UI_EXTENSION = "complaintflow_ui"


@dataclass
class UiState:
    task_clocks: TaskClocks
    extra: dict = field(default_factory=dict)


# Scripts only from our own static files (htmx, bpmn-js, app.js); bpmn-js sets inline styles on its SVG.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


@ui.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def init_ui(app: Flask, exempt: tuple[Blueprint, ...] = ()) -> None:
    from webapp import state

    app.config.update(
        SESSION_COOKIE_NAME="complaintflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_flag("COMPLAINTFLOW_SECURE_COOKIES"),
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # A handler keeps a page open all day: the token lives as long as the session does.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
    )
    csrf.init_app(app)
    for blueprint in exempt:
        csrf.exempt(blueprint)

    from .i18n import init_i18n

    init_i18n(app)
    app.extensions[UI_EXTENSION] = UiState(task_clocks=TaskClocks(state(app).engine))

    from . import (  # noqa: F401 - the views register on ``ui``
        admin,
        cases,
        desk,
        errors,
        inbox,
        model_import,
        modeler,
        models,
        reports,
        session,
        tasks,
    )
    from .templating import init_templating

    init_templating(app)
    app.register_blueprint(ui)


def ui_state(app: Flask) -> UiState:
    return app.extensions[UI_EXTENSION]
