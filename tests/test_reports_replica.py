"""Reports read from a read replica (COMPLAINTFLOW_REPORTS_DATABASE_URL) when one is set.

Two SQLite files stand for the primary and its replica: the replica is the known month
(tests/reports_support.py) less the newest complaint, as if it had not replayed it yet, so every
figure that counts that complaint tells which database a report read.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select

from engine import report_settings, reports, users
from engine.case_facts import COMPLAINT, CaseFact
from engine.db import Database
from tests.conftest import ON_POSTGRES, POSTGRES_URL
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
    assert answer["source"] == {"database": "replica", "data_as_of": None}
    cases = client.get(f"/api/v1/reports/cases?{QUERY}&figure=repeat&part=total", headers=headers).get_json()
    assert cases["total"] == complaints(replica) and cases["source"]["database"] == "replica"
    csv = client.get(f"/api/v1/reports/cases?{QUERY}&figure=repeat&part=total&format=csv", headers=headers)
    assert csv.data.decode("utf-8-sig").count("\n") == complaints(replica) + 2  # title, header, the cases

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
    assert answer["source"] == {"database": "primary", "data_as_of": None}
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
    monkeypatch.setattr(reports, "data_source", lambda db, replica: {"database": "replica", "data_as_of": replayed})
    page = Session(app, "supervisor").get(f"/reports/standards?{QUERY}").get_data(as_text=True)
    assert f'data-as-of="{replayed}"' in page and "数据截至 2026-04-01 07:58" in page
    state(app).reports_replica.dispose()


@pytest.mark.postgres_only
def test_a_postgresql_primary_named_as_replica_has_no_replay_time() -> None:
    database = Database(POSTGRES_URL)
    try:
        # pg_last_xact_replay_timestamp() is null on a primary: the lag is then unknown, not zero.
        assert reports.data_source(database, replica=True) == {"database": "replica", "data_as_of": None}
        assert reports.data_source(database, replica=False) == {"database": "primary", "data_as_of": None}
    finally:
        database.dispose()
