"""Fixtures for the report tests (use with ``pytest_plugins = ["tests.reports_fixtures"]``).

- ``month_file``: on SQLite, the known month of tests/reports_support.py built once per module.
- ``month``: that month in the test's own database (a copy of the file; built afresh on PostgreSQL),
  with the test clock at ``AS_OF``: ``month.db``, ``month.engine``, ``month.n`` (case name -> number).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine import clock as clock_module
from engine.db import Database
from engine.service import ComplaintEngine
from tests.conftest import ON_POSTGRES, make_settings
from tests.reports_support import AS_OF, fill_month


@pytest.fixture(scope="module")
def month_file(_migrated_template: str, tmp_path_factory) -> tuple[Path, dict] | None:  # noqa: ANN001
    """On SQLite the month is built once per module and each test gets a copy of the file."""
    if ON_POSTGRES:
        return None
    path = tmp_path_factory.mktemp("month") / "month.db"
    shutil.copyfile(_migrated_template, path)
    url = f"sqlite:///{path}"
    database = Database(url)
    previous = clock_module.set_clock(clock_module.TestClock(AS_OF))
    try:
        _engine, numbers = fill_month(database, url)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        clock_module.set_clock(previous)
        database.dispose()
    return path, numbers


@pytest.fixture
def month(month_file, database_url: str, clock) -> Iterator[SimpleNamespace]:  # noqa: ANN001
    if month_file is None:
        db = Database(database_url)
        engine, numbers = fill_month(db, database_url)
    else:
        shutil.copyfile(month_file[0], database_url.removeprefix("sqlite:///"))
        clock.set(AS_OF)
        db = Database(database_url)
        engine, numbers = ComplaintEngine(db, make_settings(database_url)), month_file[1]
    yield SimpleNamespace(db=db, engine=engine, n=numbers)
    db.dispose()
