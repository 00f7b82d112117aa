"""Bearer-token authentication for the API.

``@require_roles()`` lets in any user with a valid token; ``@require_roles("owner")``
only users holding one of the named roles. No or a bad token is 401 (with a
``WWW-Authenticate: Bearer`` header), a valid token without the role is 403.

A token's user and roles are remembered for ``COMPLAINTFLOW_TOKEN_CACHE_SECONDS`` (default
``TOKEN_CACHE_SECONDS``; 0 turns the cache off) in each process (``TokenCache``), which spares
every API call a transaction of its own. Within that time a token revoked by another process, a
deactivated user or changed roles still count as they were; signing out
(``DELETE /api/v1/auth/token``) forgets the token in its own process at once, and a token's expiry
is checked on every call.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from flask import current_app, g, request

from engine import clock, users
from engine.errors import Forbidden, Unauthorized
from engine.viewer import Viewer

from . import state

P = ParamSpec("P")
R = TypeVar("R")

# How long a process trusts a token check by default (setting COMPLAINTFLOW_TOKEN_CACHE_SECONDS): a revoked
# token or a deactivated user stops working within this many seconds on every process (at once on the
# process that revoked the token).
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_EXTENSION = "complaintflow_tokens"


class TokenCache:
    """Viewers of recently checked tokens, by token digest, each for ``ttl`` seconds of ``monotonic``.

    ``ttl`` 0 keeps nothing: every call checks its token against the database."""

    def __init__(self, ttl: float = TOKEN_CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.monotonic = monotonic
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, datetime, Viewer]] = {}
        self._lock = threading.Lock()

    def viewer(self, db, token: str) -> Viewer | None:  # noqa: ANN001 - an engine.db.Database
        """The token's viewer, from the cache while fresh, else from the database (then cached)."""
        key = users.token_digest(token)
        entry = self._entries.get(key)
        if entry is not None and self.monotonic() < entry[0]:
            _, expires_at, viewer = entry
            # Expiry is the token's own rule, not the cache's: checked on every call.
            return viewer if clock.now() < expires_at else None
        viewer = users.viewer_for_token(db, token)
        expires = users.token_expiry(db, token) if viewer is not None else None
        if viewer is None or expires is None:
            self.forget(token)
            return None
        if self.ttl <= 0:
            return viewer
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # simplest bound: tokens are re-checked on their next call
            self._entries[key] = (self.monotonic() + self.ttl, datetime.fromisoformat(expires), viewer)
        return viewer

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(users.token_digest(token), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def token_cache(app) -> TokenCache:  # noqa: ANN001 - a Flask app
    """The app's token cache (one per app, so each test app starts empty), trusting a check for the app's
    ``token_cache_seconds`` (COMPLAINTFLOW_TOKEN_CACHE_SECONDS)."""
    cache = app.extensions.get(TOKEN_CACHE_EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(TOKEN_CACHE_EXTENSION, TokenCache(state(app).settings.token_cache_seconds))
    return cache


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
    viewer = token_cache(current_app).viewer(state(current_app).db, token)
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
