"""Shared fixtures: a migrated database per test (SQLite file or PostgreSQL) and a test clock.

Set DATABASE_URL to a postgresql+psycopg URL to run the suite on PostgreSQL;
otherwise every test gets its own SQLite file copied from a migrated template.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from engine import clock as clock_module
from engine.config import Settings
from engine.db import Database
from engine.migrate import upgrade

pytest_plugins = ["tests.web_fixtures"]

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith("postgresql")


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    skip_pg = pytest.mark.skip(reason="needs DATABASE_URL pointing at PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip_pg)


def reset_postgres_schema(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    database.dispose()


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> str:  # noqa: ANN001
    if ON_POSTGRES:
        reset_postgres_schema(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return str(path)


def empty_postgres_tables(database: Database) -> None:
    # Every table the migrations made, not only those whose model module happens to be imported.
    names = [n for n in inspect(database.engine).get_table_names() if n != "alembic_version"]
    tables = ", ".join(names)
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


@pytest.fixture
def database_url(_migrated_template: str, tmp_path: Path) -> str:
    if ON_POSTGRES:
        database = Database(POSTGRES_URL)
        empty_postgres_tables(database)
        database.dispose()
        return POSTGRES_URL
    target = tmp_path / "complaintflow.db"
    shutil.copyfile(_migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Iterator[clock_module.TestClock]:
    test_clock = clock_module.TestClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # Mon 09:00 Shanghai
    previous = clock_module.set_clock(test_clock)
    clock_module.install_into_spiff()
    yield test_clock
    clock_module.set_clock(previous)


MODELS_DIR = Path(__file__).parent / "models"
# A small complaint process the engine tests rely on, independent of the product's processes/.
BASIC_DIR = MODELS_DIR / "basic"


def make_settings(database_url: str, **overrides) -> Settings:  # noqa: ANN003
    return Settings(database_url=database_url, **overrides)


@pytest.fixture
def settings(database_url: str):  # noqa: ANN201
    return make_settings(database_url, processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")


@pytest.fixture
def engine(db: Database, settings, clock):  # noqa: ANN001, ANN201
    """A ComplaintEngine on a fresh database with holidays 2025-2026 and the basic test process deployed."""
    from engine import holidays
    from engine.service import ComplaintEngine

    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    complaint_engine = ComplaintEngine(db, settings)
    complaint_engine.deploy_directory("owner")
    return complaint_engine


def deploy_test_model(engine, *names: str) -> dict:  # noqa: ANN001
    from engine.service import UploadedFile

    files = [UploadedFile(name, (MODELS_DIR / name).read_bytes()) for name in names]
    return engine.deploy(files, "owner")
