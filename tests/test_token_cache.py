"""Bearer tokens are checked against the database at most once per COMPLAINTFLOW_TOKEN_CACHE_SECONDS per process.

What the cache may and may not get wrong: a token revoked elsewhere or a deactivated user keeps
working for at most the cache's time; signing out works at once; an expired token never works.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, update

from engine import clock as clock_module
from engine import users
from engine.config import Settings
from engine.models import User
from webapp import state
from webapp.auth import TOKEN_CACHE_SECONDS, TokenCache, token_cache

pytest_plugins = ["tests.web_fixtures"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticking(app: Flask) -> FakeMonotonic:
    """The app's token cache on a monotonic clock the test moves."""
    fake = FakeMonotonic()
    app.extensions["complaintflow_tokens"] = TokenCache(monotonic=fake)
    return fake


def me(app: Flask, token: str) -> int:
    return app.test_client().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_fresh_token_check_runs_no_sql(app: Flask, ticking: FakeMonotonic,
                                         token_for: Callable[[str], str]) -> None:
    token = token_for("intake")
    assert me(app, token) == 200
    statements: list[str] = []
    engine = state(app).db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert me(app, token) == 200
        assert statements == []
        ticking.now += TOKEN_CACHE_SECONDS + 0.1  # stale: checked again
        assert me(app, token) == 200
        assert statements, "a stale entry must be checked against the database"
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_a_deactivated_user_is_out_within_the_cache_time(app: Flask, ticking: FakeMonotonic,
                                                         token_for: Callable[[str], str]) -> None:
    token = token_for("dispatcher")
    assert me(app, token) == 200
    with state(app).db.write() as session:
        session.execute(update(User).where(User.username == "dispatcher").values(active=False))
    ticking.now += TOKEN_CACHE_SECONDS - 1
    assert me(app, token) == 200  # the documented window
    ticking.now += 1.1
    assert me(app, token) == 401


def test_a_token_revoked_by_another_process_stops_within_the_cache_time(
        app: Flask, ticking: FakeMonotonic, token_for: Callable[[str], str]) -> None:
    token = token_for("intake")
    assert me(app, token) == 200
    assert users.revoke_token(state(app).db, token) is True  # as another worker would
    ticking.now += TOKEN_CACHE_SECONDS + 0.1
    assert me(app, token) == 401


def test_signing_out_forgets_the_token_at_once(app: Flask, ticking: FakeMonotonic,
                                               token_for: Callable[[str], str]) -> None:
    token = token_for("intake")
    headers = {"Authorization": f"Bearer {token}"}
    assert me(app, token) == 200
    assert app.test_client().delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert me(app, token) == 401  # no time has passed on the cache's clock


def test_an_expired_token_is_refused_even_while_cached(app: Flask, ticking: FakeMonotonic,
                                                       clock: clock_module.TestClock,
                                                       token_for: Callable[[str], str]) -> None:
    token = token_for("intake")
    assert me(app, token) == 200
    clock.advance(timedelta(hours=state(app).settings.token_ttl_hours, seconds=1).total_seconds())
    assert me(app, token) == 401


def test_each_app_has_a_cache_of_its_own(make_app: Callable[..., Flask]) -> None:
    first, second = make_app(), make_app()
    assert token_cache(first) is not token_cache(second)


# -- the setting: COMPLAINTFLOW_TOKEN_CACHE_SECONDS ---------------------------------------------------------


def test_the_cache_time_is_a_setting_with_a_default_of_five_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPLAINTFLOW_TOKEN_CACHE_SECONDS", raising=False)
    assert Settings.from_env().token_cache_seconds == TOKEN_CACHE_SECONDS == 5.0
    for raw, seconds in (("30", 30.0), ("2.5", 2.5), (" 0 ", 0.0), ("", 5.0)):
        monkeypatch.setenv("COMPLAINTFLOW_TOKEN_CACHE_SECONDS", raw)
        assert Settings.from_env().token_cache_seconds == seconds, raw


@pytest.mark.parametrize("raw", ["-1", "five", "5s", "nan", "inf"])
def test_a_bad_cache_time_stops_the_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("COMPLAINTFLOW_TOKEN_CACHE_SECONDS", raw)
    with pytest.raises(ValueError, match="COMPLAINTFLOW_TOKEN_CACHE_SECONDS must be"):
        Settings.from_env()


def test_the_app_caches_tokens_for_the_time_its_settings_give(make_app: Callable[..., Flask]) -> None:
    assert token_cache(make_app()).ttl == TOKEN_CACHE_SECONDS
    assert token_cache(make_app(token_cache_seconds=30.0)).ttl == 30.0


def test_a_cache_time_of_zero_checks_every_call(make_app: Callable[..., Flask],
                                               token_for: Callable[[str], str]) -> None:
    app = make_app(token_cache_seconds=0)
    token = token_for("dispatcher")
    statements: list[str] = []
    engine = state(app).db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(2):
            statements.clear()
            assert me(app, token) == 200
            assert statements, "with the cache off every call checks its token"
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert token_cache(app)._entries == {}  # nothing kept
    with state(app).db.write() as session:
        session.execute(update(User).where(User.username == "dispatcher").values(active=False))
    assert me(app, token) == 401  # at once: no window
