"""Reports read from a read replica (COMPLAINTFLOW_REPORTS_DATABASE_URL) when one is set.

Two SQLite files stand for the primary and its replica: the replica is the known month
(tests/reports_support.py) less the newest complaint, as if it had not replayed it yet, so every
figure that counts that complaint tells which database a report read.
"""
from __future__ import annotations

import io
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import delete, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from engine import report_settings, reports, users
from engine.case_facts import COMPLAINT, CaseFact
from engine.db import Database, faults_as_engine_errors
from engine.errors import DatabaseUnavailable
from tests.conftest import ON_POSTGRES, POSTGRES_URL
from tests.http_support import free_port
from tests.reports_support import csv_blocks
from tests.test_ui_pages import Session
from webapp import state

pytest_plugins = ["tests.web_fixtures", "tests.reports_fixtures"]

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
QUERY = "from=2026-03-01&to=2026-03-31"
on_sqlite = pytest.mark.skipif(ON_POSTGRES, reason="two SQLite files stand for the primary and its replica")


class Viewer:
    username = "supervisor"

    def has_role(self, *roles: str) -> bool:
        return "supervisor" in roles


def complaints(db: Database) -> int:
    return reports.case_list(db, Viewer(), {"figure": "repeat", "part": "total", **MARCH})["total"]


@pytest.fixture
def replica(month_file, month, tmp_path: Path):  # noqa: ANN001, ANN201
    """A copy of the month without its newest complaint."""
    path = tmp_path / "replica.db"
    shutil.copyfile(month_file[0], path)
    database = Database(f"sqlite:///{path}")
    with database.write() as session:
        newest = session.scalar(select(CaseFact.number).where(CaseFact.process_id == COMPLAINT)
                                .order_by(CaseFact.received_at.desc()).limit(1))
        session.execute(delete(CaseFact).where(CaseFact.number == newest))
    yield database
    database.dispose()


@pytest.fixture
def replica_app(replica: Database, make_app: Callable[..., Flask]):  # noqa: ANN201
    app = make_app(reports_database_url=replica.url)
    yield app
    state(app).reports_replica.dispose()


@on_sqlite
def test_reports_read_the_replica_when_one_is_set(replica_app: Flask, replica: Database, month,  # noqa: ANN001
                                                  headers_for) -> None:
    assert complaints(replica) == complaints(month.db) - 1  # the two databases differ
    client, headers = replica_app.test_client(), headers_for("supervisor")
    answer = client.get(f"/api/v1/reports/service-quality?{QUERY}", headers=headers).get_json()
    repeat = next(f for f in answer["figures"] if f["id"] == "repeat")
    assert repeat["denominator"] == complaints(replica)
    # SQLite cannot say how far a replica trails: no time, and the page says the figures may lag.
    assert answer["source"] == {"database": "replica", "data_as_of": None, "fallback": False}
    cases = client.get(f"/api/v1/reports/cases?{QUERY}&figure=repeat&part=total", headers=headers).get_json()
    assert cases["total"] == complaints(replica) and cases["source"]["database"] == "replica"
    csv = client.get(f"/api/v1/reports/cases?{QUERY}&figure=repeat&part=total&format=csv", headers=headers)
    about, listed = csv_blocks(csv.data)
    assert len(listed) == complaints(replica) + 2  # title, header, the cases
    # The file says where its data came from: the replica, which cannot tell how far it trails.
    assert ["数据来源", "只读副本"] in about and ["数据截至", "未知：只读副本的数据可能滞后于实时数据"] in about
    book = load_workbook(io.BytesIO(client.get(f"/api/v1/reports/standards?{QUERY}&format=xlsx", headers=headers).data))
    assert ["数据来源", "只读副本"] in [[c.value for c in row] for row in book.active]

    session = Session(replica_app, "supervisor")
    listing = session.get(f"/reports/cases?{QUERY}&figure=repeat&part=total").get_data(as_text=True)
    assert re.search(rf'id="case-total">{complaints(replica)}\D', listing) and 'data-source="replica"' in listing
    page = session.get(f"/reports?{QUERY}").get_data(as_text=True)
    assert "数据可能滞后于实时数据" in page  # "figures may lag the live data"


@on_sqlite
def test_reports_read_the_primary_when_no_replica_is_set(replica: Database, month, make_app,  # noqa: ANN001
                                                         headers_for) -> None:
    app = make_app()
    client, headers = app.test_client(), headers_for("supervisor")
    answer = client.get(f"/api/v1/reports/service-quality?{QUERY}", headers=headers).get_json()
    repeat = next(f for f in answer["figures"] if f["id"] == "repeat")
    assert repeat["denominator"] == complaints(month.db) != complaints(replica)
    assert answer["source"] == {"database": "primary", "data_as_of": None, "fallback": False}
    page = Session(app, "supervisor").get(f"/reports?{QUERY}").get_data(as_text=True)
    assert 'data-source="replica"' not in page


@on_sqlite
def test_report_settings_are_written_to_the_primary(replica_app: Flask, replica: Database, month,  # noqa: ANN001
                                                    headers_for) -> None:
    client = replica_app.test_client()
    answer = client.put("/api/v1/reports/settings", json={"customer_count": 7_000_000}, headers=headers_for("admin"))
    assert answer.status_code == 200
    settings = client.get("/api/v1/reports/settings", headers=headers_for("admin")).get_json()
    assert settings["customer_count"] == 7_000_000
    with month.db.read() as session:
        assert report_settings.customer_count(session) == 7_000_000
    with replica.read() as session:
        assert report_settings.customer_count(session) != 7_000_000  # replication's job, not ours


def test_the_data_time_of_a_replica_is_shown_when_postgresql_knows_it(make_app, month, monkeypatch) -> None:  # noqa: ANN001
    app = make_app(reports_database_url=month.db.url)
    users.seed_demo_users(state(app).db, only=["supervisor"])
    replayed = "2026-03-31T23:58:00+00:00"
    monkeypatch.setattr(reports, "data_source", lambda db, replica: {"database": "replica", "data_as_of": replayed,
                                                                     "fallback": False})
    session = Session(app, "supervisor")
    page = session.get(f"/reports/standards?{QUERY}").get_data(as_text=True)
    assert f'data-as-of="{replayed}"' in page and "数据截至 2026-04-01 07:58" in page
    about = csv_blocks(session.get(f"/reports/export?report=standards&format=csv&{QUERY}").data)[0]
    assert ["数据来源", "只读副本"] in about and ["数据截至", "2026-04-01 07:58"] in about
    state(app).reports_replica.dispose()


@pytest.mark.postgres_only
def test_a_postgresql_primary_named_as_replica_has_no_replay_time() -> None:
    database = Database(POSTGRES_URL)
    try:
        # pg_last_xact_replay_timestamp() is null on a primary: the lag is then unknown, not zero.
        assert reports.data_source(database, replica=True) == {"database": "replica", "data_as_of": None,
                                                               "fallback": False}
        assert reports.data_source(database, replica=False) == {"database": "primary", "data_as_of": None,
                                                                "fallback": False}
    finally:
        database.dispose()


# -- a replica that cannot be reached: the primary stands in, and says so -------------------------------------------

FALLBACK = {"database": "primary", "data_as_of": None, "fallback": True, "reason": "replica unavailable"}
FALLBACK_FILE_NOTE = "主库（只读副本不可用，改读主库）"


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "engine.reports" and "replica unavailable" in r.getMessage()]


@pytest.fixture
def down_replica_app(month, make_app: Callable[..., Flask]):  # noqa: ANN001, ANN201
    """The app (over the known month) with a reports replica on a port where nothing listens: no standby needed."""
    app = make_app(reports_database_url=f"postgresql+psycopg://complaintflow@127.0.0.1:{free_port()}/complaintflow"
                                        "?connect_timeout=5")
    users.seed_demo_users(state(app).db, only=["supervisor"])
    yield app
    state(app).reports_replica.dispose()


def test_an_unreachable_replica_is_stood_in_for_by_the_primary(down_replica_app: Flask, month, headers_for,  # noqa: ANN001
                                                               caplog: pytest.LogCaptureFixture) -> None:
    client, headers = down_replica_app.test_client(), headers_for("supervisor")
    caplog.set_level(logging.INFO)
    answer = client.get(f"/api/v1/reports/service-quality?{QUERY}", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    repeat = next(f for f in answer.get_json()["figures"] if f["id"] == "repeat")
    assert repeat["denominator"] == complaints(month.db)  # read from the primary
    assert answer.get_json()["source"] == FALLBACK
    # One warning line per report that fell back, no traceback, nothing logged as an error.
    (warning,) = fallback_warnings(caplog)
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert "service_quality read from the primary" in warning.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    cases = client.get(f"/api/v1/reports/cases?{QUERY}&figure=repeat&part=total", headers=headers).get_json()
    assert cases["total"] == complaints(month.db) and cases["source"] == FALLBACK
    assert len(fallback_warnings(caplog)) == 2

    # The files say so too.
    csv = client.get(f"/api/v1/reports/standards?{QUERY}&format=csv", headers=headers)
    assert csv.status_code == 200 and ["数据来源", FALLBACK_FILE_NOTE] in csv_blocks(csv.data)[0]
    xlsx = client.get("/api/v1/reports/appeals/monthly?month=2026-03&format=xlsx", headers=headers)
    about = load_workbook(io.BytesIO(xlsx.data)).active
    assert ["数据来源", FALLBACK_FILE_NOTE] in [[c.value for c in row] for row in about]

    # And the pages' "data as of" line.
    session = Session(down_replica_app, "supervisor")
    for path in (f"/reports?{QUERY}", f"/reports/standards?{QUERY}", "/reports/appeals?month=2026-03",
                 f"/reports/cases?{QUERY}&figure=repeat&part=total"):
        page = session.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert 'data-fallback="replica unavailable"' in html and "报表只读副本不可用" in html, path
        assert 'data-source="replica"' not in html, path
    exported = session.get(f"/reports/export?report=cases&format=csv&figure=closure&part=total&{QUERY}")
    assert ["数据来源", FALLBACK_FILE_NOTE] in csv_blocks(exported.data)[0]


@pytest.mark.postgres_only
def test_a_replica_database_that_does_not_exist_is_stood_in_for(month, make_app, headers_for,  # noqa: ANN001
                                                                caplog: pytest.LogCaptureFixture) -> None:
    missing = make_url(POSTGRES_URL).set(database="complaintflow_no_such_replica")
    app = make_app(reports_database_url=missing.render_as_string(hide_password=False))
    try:
        answer = app.test_client().get(f"/api/v1/reports/standards?{QUERY}", headers=headers_for("supervisor"))
        assert answer.status_code == 200 and answer.get_json()["source"] == FALLBACK
        assert len(fallback_warnings(caplog)) == 1
    finally:
        state(app).reports_replica.dispose()


def test_a_query_error_on_the_replica_is_not_masked(month, make_app, headers_for, tmp_path: Path,  # noqa: ANN001
                                                    caplog: pytest.LogCaptureFixture) -> None:
    # The replica answers, but the query fails (here: no tables at all): that is a fault to see, not to hide.
    app = make_app(reports_database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        answer = app.test_client().get(f"/api/v1/reports/service-quality?{QUERY}", headers=headers_for("supervisor"))
        assert answer.status_code == 500 and answer.get_json()["error"]["code"] == "internal_error"
        assert fallback_warnings(caplog) == []
    finally:
        state(app).reports_replica.dispose()


class Recording:
    """A report that records which database it was read from, failing there as told."""

    def __init__(self, fails_on: Database | None = None, error: Exception | None = None) -> None:
        self.asked: list[Database] = []
        self.fails_on, self.error = fails_on, error
        self.__name__ = "recording"

    def __call__(self, db: Database, _viewer: object, _args: object) -> dict:
        self.asked.append(db)
        if db is self.fails_on:
            with faults_as_engine_errors():  # as Database.read() sorts a driver's error
                raise self.error  # type: ignore[misc]
        return {"report": "recording"}


def _driver_error(kind: type[sa_exc.DBAPIError], sqlstate: str | None) -> sa_exc.DBAPIError:
    original = Exception("the driver's message")
    original.sqlstate = sqlstate  # type: ignore[attr-defined]
    return kind("SELECT 1", {}, original)


def test_only_unavailability_falls_back(month, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    primary, replica = month.db, Database(f"sqlite:///{tmp_path / 'replica.db'}")
    try:
        # A connection the server cut (SQLSTATE class 08), a standby still starting up (57P03): unavailable.
        for sqlstate in ("08006", "57P03"):
            build = Recording(replica, _driver_error(sa_exc.OperationalError, sqlstate))
            report = reports.read(build, primary, replica, Viewer(), {})
            assert report["source"] == FALLBACK and build.asked == [replica, primary], sqlstate
        # Busy or failing, not down: a pool with no free connection in time, a statement cancelled by its
        # time limit (57014) or by replay (40001), a query error. Each goes on as it is; the primary is not asked.
        for error, raised in ((sa_exc.TimeoutError("QueuePool limit of size 10 reached"), DatabaseUnavailable),
                              (_driver_error(sa_exc.OperationalError, "57014"), sa_exc.OperationalError),
                              (_driver_error(sa_exc.OperationalError, "40001"), sa_exc.OperationalError),
                              (_driver_error(sa_exc.ProgrammingError, "42P01"), sa_exc.ProgrammingError)):
            build = Recording(replica, error)
            with pytest.raises(raised):
                reports.read(build, primary, replica, Viewer(), {})
            assert build.asked == [replica], error
        assert len(fallback_warnings(caplog)) == 2
        # A replica that answers, however slowly, is read; no replica: the primary.
        build = Recording()
        assert reports.read(build, primary, replica, Viewer(), {})["source"]["database"] == "replica"
        assert reports.read(build, primary, None, Viewer(), {})["source"] == {"database": "primary",
                                                                               "data_as_of": None, "fallback": False}
        assert build.asked == [replica, primary]
    finally:
        replica.dispose()


@pytest.mark.postgres_only
def test_a_replica_query_cancelled_by_its_time_limit_is_not_masked(month) -> None:  # noqa: ANN001
    slow_url = make_url(POSTGRES_URL).update_query_dict({"options": "-c statement_timeout=100"})
    replica = Database(slow_url.render_as_string(hide_password=False))
    asked: list[Database] = []

    def slow(db: Database, _viewer: object, _args: object) -> dict:
        asked.append(db)
        with db.read() as session:
            session.execute(text("SELECT pg_sleep(2)"))
        return {"report": "slow"}

    try:
        with pytest.raises(sa_exc.OperationalError, match="statement timeout"):
            reports.read(slow, month.db, replica, Viewer(), {})
        assert asked == [replica]
    finally:
        replica.dispose()
