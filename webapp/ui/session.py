"""Signing in and out of the web UI, the language switch, and the ``login_required`` guard."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import directory, users
from engine.errors import TooManyRequests
from engine.viewer import Viewer

from ..auth import client_address
from . import ui
from .i18n import LANGUAGES, SESSION_KEY

P = ParamSpec("P")
R = TypeVar("R")

USER_KEY = "user"


def _db():  # noqa: ANN202
    from webapp import state

    return state(current_app).db


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else sends the user to the inbox."""
    if not target:
        return url_for("ui.inbox_page")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("ui.inbox_page")
    return target


def current_viewer() -> Viewer | None:
    """The signed-in user of this request, or None; an unknown or deactivated user is signed out."""
    if "ui_viewer" in g:
        return g.ui_viewer
    username = session.get(USER_KEY)
    viewer = directory.active_viewer(_db(), username) if isinstance(username, str) else None
    if viewer is None and username is not None:
        session.pop(USER_KEY, None)
    g.ui_viewer = viewer
    return viewer


def viewer() -> Viewer:
    """The signed-in user (inside a ``login_required`` view)."""
    found = current_viewer()
    assert found is not None, "use inside a login_required view"
    return found


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if current_viewer() is None:
            if request.headers.get("HX-Request"):
                response = current_app.response_class(status=401)
                response.headers["HX-Redirect"] = url_for("ui.login")
                return response  # type: ignore[return-value]
            return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))  # type: ignore[return-value]
        return view(*args, **kwargs)

    return wrapped


@ui.get("/login")
def login() -> object:
    if current_viewer() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""), username="", error=None)


@ui.post("/login")
def login_submit() -> object:
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    target = request.form.get("next") or ""
    try:
        found = users.sign_in(_db(), username, password, client_address()) if username and password else None
    except TooManyRequests as refused:
        error = _("Too many failed sign-ins. Try again in %(minutes)s minutes.",
                  minutes=max(1, round(refused.retry_after / 60)))
        page = render_template("login.html", next=target, username=username, error=error)
        return page, 429, {"Retry-After": str(refused.retry_after)}
    if found is None:
        error = _("Wrong user name or password.")
        return render_template("login.html", next=target, username=username, error=error), 401
    language = session.get(SESSION_KEY)
    session.clear()  # a new session on every sign-in
    if language in LANGUAGES:
        session[SESSION_KEY] = language
    session[USER_KEY] = found.username
    session.permanent = True
    return redirect(safe_next(target))


@ui.post("/logout")
def logout() -> object:
    language = session.get(SESSION_KEY)
    session.clear()
    if language in LANGUAGES:
        session[SESSION_KEY] = language
    flash(_("You have signed out."), "info")
    return redirect(url_for("ui.login"))


@ui.post("/language")
def set_language() -> object:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
    return redirect(safe_next(request.form.get("next")))


@ui.get("/")
def home() -> object:
    return redirect(url_for("ui.inbox_page"))
