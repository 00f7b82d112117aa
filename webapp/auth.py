"""Bearer-token authentication for the API.

``@require_roles()`` lets in any user with a valid token; ``@require_roles("owner")``
only users holding one of the named roles. No or a bad token is 401 (with a
``WWW-Authenticate: Bearer`` header), a valid token without the role is 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import current_app, g, request

from engine import users
from engine.errors import Forbidden, Unauthorized
from engine.viewer import Viewer

from . import state

P = ParamSpec("P")
R = TypeVar("R")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> Viewer:
    token = bearer_token()
    if token is None:
        raise Unauthorized("authentication required: send Authorization: Bearer <token>")
    viewer = users.viewer_for_token(state(current_app).db, token)
    if viewer is None:
        raise Unauthorized("invalid or expired token")
    g.viewer = viewer
    g.token = token
    return viewer


def require_roles(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view: authenticate, then require one of ``roles`` (any role when none given)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            viewer = authenticate_request()
            if roles and not viewer.has_role(*roles):
                raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]  # read by the API docs test
        return wrapped

    return decorate


def current_viewer() -> Viewer:
    """The authenticated viewer of this request (inside a ``require_roles`` view)."""
    viewer = g.get("viewer")
    if viewer is None:
        raise Unauthorized("authentication required")
    return viewer


def client_address() -> str:
    """The address sign-in limits count per. Behind a reverse proxy this is the proxy's own address
    unless the app is wrapped in werkzeug's ProxyFix (docs/DEPLOY.md), so set that up there."""
    return (request.remote_addr or "unknown")[:64]
