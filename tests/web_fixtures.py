"""Fixtures for the web tests: apps built with create_app, clients and bearer tokens.

Use from a test module with ``pytest_plugins = ["tests.web_fixtures"]``.

- ``fast_hashing``: cheap Argon2 parameters, so seeding users does not dominate the run.
- ``make_app(test_clock=False, **settings)``: a Flask app on the test's database.
- ``app`` / ``client``: the app without the test clock, and its test client.
- ``clock_app`` / ``clock_client``: the app with the test clock endpoint.
- ``token_for(username)``: a bearer token; seeds the demo user of that name first.
- ``headers_for(username)``: ``{"Authorization": "Bearer ..."}`` for that user.
- ``make_user(username, roles)``: an extra user (password ``demo``).

Every app is built while the ``clock`` fixture's TestClock is installed, so tests
control time and a test-clock app moves that same clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from engine import clock as clock_module
from engine import users
from engine.config import Settings
from engine.db import Database
from webapp import create_app, state

DEMO_NAMES = {demo.username for demo in users.DEMO_USERS}


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(users, "password_hasher", hasher)
    return hasher


@pytest.fixture
def make_app(
    database_url: str, clock: clock_module.TestClock, fast_hashing: PasswordHasher
) -> Iterator[Callable[..., Flask]]:
    built: list[Flask] = []
    previous = clock_module.get_clock()

    def build(test_clock: bool = False, **overrides: object) -> Flask:
        overrides.setdefault("database_url", database_url)
        settings = Settings(test_clock=test_clock, **overrides)  # type: ignore[arg-type]
        app = create_app(settings)
        app.config["TESTING"] = True
        built.append(app)
        return app

    yield build
    for app in built:
        state(app).db.dispose()
    clock_module.set_clock(previous)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(test_clock=False)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def clock_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(test_clock=True)


@pytest.fixture
def clock_client(clock_app: Flask) -> FlaskClient:
    return clock_app.test_client()


def _db_of(request: pytest.FixtureRequest) -> Database:
    # Whichever app the test uses: both point at the same database.
    for name in ("app", "clock_app"):
        if name in request.fixturenames:
            return state(request.getfixturevalue(name)).db
    return state(request.getfixturevalue("app")).db


@pytest.fixture
def token_for(request: pytest.FixtureRequest, fast_hashing: PasswordHasher) -> Callable[[str], str]:
    def issue(username: str) -> str:
        db = _db_of(request)
        if username in DEMO_NAMES:
            users.seed_demo_users(db, only=[username])
        return users.issue_token(db, username, ttl_hours=12)

    return issue


@pytest.fixture
def headers_for(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    def headers(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(username)}"}

    return headers


@pytest.fixture
def make_user(request: pytest.FixtureRequest, fast_hashing: PasswordHasher) -> Callable[..., str]:
    def create(username: str, roles: list[str], password: str = "demo") -> str:
        with _db_of(request).write() as session:
            users.create_user(session, username, password, roles)
        return username

    return create


@pytest.fixture
def deployed(app: Flask) -> dict:
    """Holidays for 2025-2026 and everything in processes/ deployed into ``app``'s database."""
    from engine import holidays

    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    return state(app).engine.deploy_directory("owner")


@pytest.fixture
def live_app(make_app: Callable[..., Flask]) -> Flask:
    """The app as `make run` has it (calendar, demo users, every process in processes/), with the test clock."""
    from engine import holidays

    app = make_app(test_clock=True)
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    state(app).engine.deploy_directory("owner")
    return app
