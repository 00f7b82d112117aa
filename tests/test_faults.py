"""Faults (issue #7): a gunicorn worker killed under load, PostgreSQL restarted under load, a read-only
database and a full disk. Each ends with every case consistent and the same request succeeding.

These tests bring their own databases: SQLite files, and a private PostgreSQL cluster (tests/fault_support.py)
that they may stop, restart and make read-only without touching the machine's shared PostgreSQL. So they do
not depend on DATABASE_URL and run once per CI run, in its SQLite pass (skipped in the PostgreSQL pass).
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from engine import holidays, users
from engine.config import Settings
from engine.db import Database, database_fault
from engine.errors import DatabaseReadOnly, DatabaseUnavailable, StorageFull
from engine.migrate import upgrade
from engine.models import AuditEvent, HumanTask, ProcessInstance, Timer
from engine.service import ComplaintEngine
from tests.conftest import BASIC_DIR, ON_POSTGRES, deploy_test_model
from tests.fault_support import (
    PrivateCluster,
    case_inconsistencies,
    database_down,
    postgres_bin,
    sqlite_disk_full,
    sqlite_pragma_on_every_connection,
    wait_until,
)
from tests.http_support import http_get
from webapp import create_app, state

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.skipif(
    ON_POSTGRES, reason="brings its own SQLite files and PostgreSQL cluster: runs once per CI run, in the SQLite pass")

COMPLAINT = {
    "phone": "18612345678", "customer_name": "张三", "star_level": 3, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "家中4G信号差", "request": "尽快解决",
}
DISPATCH = {"data": {"department": "network", "dispatch_note": "派往网络部"}}
# 2,000 characters that do not compress: the audit row and the saved state each need new pages.
LONG_DISPATCH = {"data": {"department": "network",
                          "dispatch_note": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))}}


def snapshot(db: Database, number: str) -> dict:
    """What a completion changes: the case row, its open tasks, timers and audit events."""
    with db.read() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        return {
            "state": instance.state_json, "status": instance.status, "updated_at": instance.updated_at,
            "tasks": sorted(session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance.id))),
            "timers": sorted(session.scalars(select(Timer.task_id).where(Timer.instance_id == instance.id))),
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.instance_id == instance.id)),
        }


def dispatch_task(db: Database, number: str) -> str:
    with db.read() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.complaint_number == number,
                                                          HumanTask.bpmn_id == "Task_dispatch"))


# -- the mapping of driver errors to faults ------------------------------------------------------------


def _wrapped(original: Exception) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy hands it over."""
    return sa_exc.DBAPIError.instance("UPDATE process_instances SET ...", {}, original, psycopg.Error)


def test_driver_errors_map_to_database_faults() -> None:
    read_only = database_fault(_wrapped(psycopg.errors.ReadOnlySqlTransaction(
        "cannot execute UPDATE in a read-only transaction")))
    assert isinstance(read_only, DatabaseReadOnly) and read_only.status == 503
    assert read_only.code == "database_read_only" and "read-only" in read_only.message and "25006" in read_only.message

    disk_full = database_fault(_wrapped(psycopg.errors.DiskFull("could not extend file: No space left on device")))
    assert isinstance(disk_full, StorageFull) and (disk_full.status, disk_full.code) == (507, "storage_full")
    assert "No space left" in disk_full.detail and "No space" not in disk_full.message  # driver words: log only

    for lost in (psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
                 psycopg.errors.CannotConnectNow("the database system is starting up"),
                 psycopg.OperationalError("connection failed: connection to server at \"10.0.0.5\", port 5432 "
                                          "failed: Connection refused"),
                 psycopg.InterfaceError("the connection is closed")):
        fault = database_fault(_wrapped(lost))
        assert isinstance(fault, DatabaseUnavailable), lost
        assert (fault.status, fault.code) == (503, "database_unavailable") and "10.0.0.5" not in fault.message

    full = sqlite3.connect(":memory:")
    full.execute("CREATE TABLE t (x)")
    full.execute("PRAGMA max_page_count = 1")
    with pytest.raises(sqlite3.OperationalError) as raised:
        full.execute("INSERT INTO t VALUES (randomblob(100000))")
    assert isinstance(database_fault(sa_exc.DBAPIError.instance("INSERT", {}, raised.value, sqlite3.Error)),
                      StorageFull)

    # Not the database's fault: a constraint, a missing table, a bug. These stay what they are.
    assert database_fault(_wrapped(psycopg.errors.UniqueViolation("duplicate key"))) is None
    assert database_fault(_wrapped(psycopg.errors.UndefinedTable("relation \"x\" does not exist"))) is None
    missing = sqlite3.OperationalError("no such table: x")
    assert database_fault(sa_exc.DBAPIError.instance("SELECT", {}, missing, sqlite3.Error)) is None
    assert database_fault(ValueError("x")) is None


def test_postgres_disk_full_during_a_completion_answers_507_and_changes_nothing(
        app, engine, db, headers_for, monkeypatch, caplog) -> None:  # noqa: ANN001
    """We cannot fill a disk here: a constructed SQLSTATE 53100 raised at the completion's flush."""
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task_id = dispatch_task(db, number)
    before = snapshot(db, number)
    headers = headers_for("dispatcher")
    from sqlalchemy.orm import Session

    real_flush = Session.flush

    def full_disk(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if any(isinstance(o, AuditEvent) for o in self.new):
            raise sa_exc.DBAPIError.instance("INSERT INTO audit_events", {}, psycopg.errors.DiskFull(
                "could not extend file \"base/16384/16403\": No space left on device"), psycopg.Error)
        return real_flush(self, *args, **kwargs)

    monkeypatch.setattr(Session, "flush", full_disk)
    with caplog.at_level(logging.WARNING):
        response = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers)
    assert response.status_code == 507, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "storage_full"
    assert "full" in response.get_json()["error"]["message"]
    assert response.headers["Retry-After"]
    monkeypatch.setattr(Session, "flush", real_flush)
    assert snapshot(db, number) == before
    line = next(r for r in caplog.records if r.name == "webapp.db_faults")
    assert number in line.getMessage() and line.exc_info is None

    again = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert snapshot(db, number)["tasks"] == ["Task_handle"]


# -- SQLite: a full disk and a read-only database ----------------------------------------------------------


class WaitingDispatch(NamedTuple):
    """A complaint just started, waiting at its dispatch task, as a dispatcher's API client sees it."""

    number: str
    task_id: str
    headers: dict[str, str]
    before: dict  # snapshot() of the case before the test does anything
    client: FlaskClient


@pytest.fixture
def waiting_dispatch(app, engine, db, headers_for) -> WaitingDispatch:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task_id = dispatch_task(db, number)
    headers = headers_for("dispatcher")
    return WaitingDispatch(number, task_id, headers, snapshot(db, number), app.test_client())


def test_sqlite_full_disk_answers_507_keeps_reads_and_the_case_then_completes(
        app, db, waiting_dispatch, caplog) -> None:  # noqa: ANN001
    number, task_id, headers, before, client = waiting_dispatch
    app_db = state(app).db

    with sqlite_disk_full(app_db), caplog.at_level(logging.WARNING):
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json=LONG_DISPATCH, headers=headers)
        assert response.status_code == 507, response.get_data(as_text=True)
        error = response.get_json()["error"]
        assert error["code"] == "storage_full" and "database or disk is full" in error["message"]
        assert int(response.headers["Retry-After"]) > 0
        # Reading goes on.
        assert client.get(f"/api/v1/complaints/{number}", headers=headers).status_code == 200
    assert snapshot(db, number) == before
    lines = [r for r in caplog.records if r.name == "webapp.db_faults"]
    assert lines and number in lines[0].getMessage() and "storage_full" in lines[0].getMessage()
    assert all(r.exc_info is None for r in lines)

    again = client.post(f"/api/v1/tasks/{task_id}/complete", json=LONG_DISPATCH, headers=headers)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert snapshot(db, number)["tasks"] == ["Task_handle"]
    assert case_inconsistencies(state(app).engine) == []


def test_sqlite_read_only_answers_503_database_read_only_and_reads_still_work(
        app, db, waiting_dispatch, caplog) -> None:  # noqa: ANN001
    number, task_id, headers, before, client = waiting_dispatch

    with sqlite_pragma_on_every_connection(state(app).db, "PRAGMA query_only = 1"), caplog.at_level(logging.WARNING):
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers)
        assert response.status_code == 503, response.get_data(as_text=True)
        error = response.get_json()["error"]
        assert error["code"] == "database_read_only" and "read-only" in error["message"]
        assert response.headers["Retry-After"]
        assert client.get(f"/api/v1/complaints/{number}", headers=headers).status_code == 200
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert snapshot(db, number) == before
    assert any(number in r.getMessage() for r in caplog.records if r.name == "webapp.db_faults")

    assert client.post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers).status_code == 200


def test_pages_get_a_plain_html_503_when_the_database_is_down(app, engine, db, monkeypatch) -> None:  # noqa: ANN001
    """The page must not need the database itself: no signed-in user, no layout that reads either."""
    users.seed_demo_users(db, only=["dispatcher"])
    client = app.test_client()
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"csrf_token": token, "username": "dispatcher",
                                       "password": "demo"}).status_code == 302
    database_down(monkeypatch, state(app).db)
    response = client.get("/inbox")
    assert response.status_code == 503
    assert response.mimetype == "text/html" and response.headers["Retry-After"]
    body = response.get_data(as_text=True)
    assert body.startswith("<!doctype html>") and "503" in body and "csrf" not in body
    api = client.get("/api/v1/tasks", headers={"Authorization": "Bearer x"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "database_unavailable"


# -- PostgreSQL: a private cluster that tests may stop, restart and make read-only ---------------------------

SERVE_ENV = {"COMPLAINTFLOW_SECRET_KEY": "faults-test-key", "COMPLAINTFLOW_DB_POOL_SIZE": "5",
             "COMPLAINTFLOW_DB_MAX_OVERFLOW": "5", "COMPLAINTFLOW_PROCESSES_DIR": str(BASIC_DIR / "processes"),
             "COMPLAINTFLOW_FORMS_DIR": str(BASIC_DIR / "forms")}


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's initdb is not installed: the fault tests need a private cluster")
    private = PrivateCluster(bin_dir)
    try:
        private.init()
        private.start()
        yield private
    finally:
        private.destroy()


def prepared(url: str) -> ComplaintEngine:
    """A migrated database with the basic test process deployed, on the real clock (the servers' clock)."""
    database = Database(url, pool_size=4, max_overflow=4)
    upgrade(database)
    year = datetime.now(UTC).year
    with database.write() as session:
        holidays.seed_from_chinesecalendar(session, [year - 1, year])
    engine = ComplaintEngine(database, Settings(database_url=url, processes_dir=BASIC_DIR / "processes",
                                                forms_dir=BASIC_DIR / "forms"))
    engine.deploy_directory("owner")
    return engine


def start_cases(engine: ComplaintEngine, count: int) -> dict[str, str]:
    """``count`` complaints waiting for dispatch: {task id: case number}."""
    tasks = {}
    for i in range(count):
        number = engine.start_complaint({**COMPLAINT, "phone": f"139{i:08d}"}, "intake")["number"]
        tasks[dispatch_task(engine.db, number)] = number
    return tasks


def complete_over_http(port: int, token: str, task_id: str) -> int | str:
    """The status of POST /tasks/{id}/complete, or the name of the connection error."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", f"/api/v1/tasks/{task_id}/complete", body=json.dumps(DISPATCH),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status == 503:
            assert json.loads(body)["error"]["code"] == "database_unavailable", body
            assert response.getheader("Retry-After"), body
        return response.status
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    finally:
        conn.close()


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def dispatch_done(db: Database, task_id: str, number: str) -> bool:
    """The completion is wholly there: the task row gone, its audit event, and the next task open."""
    with db.read() as session:
        gone = session.get(HumanTask, task_id) is None
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.type == "task_completed", AuditEvent.task_id == task_id, AuditEvent.actor == "dispatcher"))
        moved_on = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.complaint_number == number, HumanTask.bpmn_id == "Task_handle"))
    return gone and audited == 1 and moved_on == 1


@pytest.mark.slow
def test_kill_9_a_worker_during_500_completions(cluster, tmp_path) -> None:  # noqa: ANN001
    from tests.test_serve_workers import start_serve, stop, wait_healthy

    url = cluster.create_database("faults_kill")
    engine = prepared(url)
    db = engine.db
    tasks = start_cases(engine, 500)
    users.seed_demo_users(db, only=["dispatcher"])
    token = users.issue_token(db, "dispatcher", ttl_hours=1)

    server, port, log = start_serve(url, tmp_path, "--workers", "2", "--threads", "4", **SERVE_ENV)
    try:
        wait_healthy(server, port, log)
        assert wait_until(lambda: len(worker_pids(server.pid)) == 2, 30)
        victim = min(worker_pids(server.pid))
        answers: dict[str, int | str] = {}
        answered = threading.Semaphore(0)

        def complete(task_id: str) -> None:
            answers[task_id] = complete_over_http(port, token, task_id)
            answered.release()

        with ThreadPoolExecutor(max_workers=16) as pool:
            for task_id in tasks:
                pool.submit(complete, task_id)
            for _ in range(60):  # well under way, with requests in flight in both workers
                answered.acquire()
            os.kill(victim, signal.SIGKILL)
        statuses = {a for a in answers.values()}
        lost = [t for t, a in answers.items() if not isinstance(a, int)]
        assert statuses <= {200} | {a for a in statuses if isinstance(a, str)}, statuses  # no 4xx/5xx
        assert lost, "the kill cut no request short: it came too late"

        # gunicorn starts a new worker in place of the killed one.
        assert wait_until(lambda: len(worker_pids(server.pid)) == 2 and victim not in worker_pids(server.pid), 60)
        wait_healthy(server, port, log)

        # Every 2xx is wholly persisted; every case, done or not, is consistent (timers included) before retries.
        for task_id, answer in answers.items():
            if answer == 200:
                assert dispatch_done(db, task_id, tasks[task_id]), tasks[task_id]
        assert case_inconsistencies(engine) == []
        with db.read() as session:
            still_open = set(session.scalars(select(HumanTask.id).where(HumanTask.bpmn_id == "Task_dispatch")))
            timers = session.execute(select(Timer.instance_id, func.count()).group_by(Timer.instance_id)).all()
        assert still_open <= set(lost)  # the 2xx ones are done; a cut one may or may not have committed
        assert len(timers) == len(still_open) and {n for _, n in timers} <= {2}  # an open dispatch keeps both timers

        # A request cut short can be sent again: done now, or 409/404 because it had committed.
        retried = {task_id: complete_over_http(port, token, task_id) for task_id in lost}
        assert set(retried.values()) <= {200, 404, 409}, retried
        for task_id in lost:
            assert (retried[task_id] == 200) == (task_id in still_open), (task_id, retried[task_id])
        for task_id, number in tasks.items():
            assert dispatch_done(db, task_id, number), number
        assert case_inconsistencies(engine) == []
        print(f"\n500 completions, one worker killed: {sum(a == 200 for a in answers.values())} answered 200, "
              f"{len(lost)} cut short ({len(lost) - len(still_open)} of them had committed)")
    finally:
        stop(server)
        db.dispose()


def fired_timers(db: Database) -> list[datetime]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent.at).where(AuditEvent.type == "timer_fired")))


@pytest.mark.slow
def test_postgres_restart_under_load_503_then_recovers_and_due_timers_fire(cluster, tmp_path) -> None:  # noqa: ANN001
    from tests.test_serve_workers import CLI, ROOT, cli_env, start_serve, stop, wait_healthy

    url = cluster.create_database("faults_restart")
    engine = prepared(url)
    db = engine.db
    deploy_test_model(engine, "timer_wait.bpmn")
    tasks = start_cases(engine, 120)
    users.seed_demo_users(db, only=["dispatcher"])
    token = users.issue_token(db, "dispatcher", ttl_hours=1)

    server, port, log = start_serve(url, tmp_path, "--workers", "2", "--threads", "4", "--no-scheduler", **SERVE_ENV)
    worker_log = tmp_path / "worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen([*CLI, "worker"], env=cli_env(url, tmp_path, **SERVE_ENV), cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    answers: dict[str, list[int | str]] = {t: [] for t in tasks}
    pending = list(tasks)
    stop_load = threading.Event()

    def load() -> None:
        # Each client completes its tasks one by one and sends a 503 or cut request again, as a client should.
        while not stop_load.is_set():
            try:
                task_id = pending.pop()
            except IndexError:
                return
            while not stop_load.is_set():
                answer = complete_over_http(port, token, task_id)
                answers[task_id].append(answer)
                if answer in (200, 404, 409):
                    break
                time.sleep(0.2)

    try:
        wait_healthy(server, port, log)
        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(1.0)  # under load
        # A timer that falls due while the database is down.
        engine.start("timer_wait", {"fire_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()}, "test")
        cluster.stop("fast")  # "terminating connection due to administrator command" to every session
        down_since = time.monotonic()
        time.sleep(4)
        assert fired_timers_while_down_are_none(cluster)
        outage = complete_over_http(port, token, next(iter(tasks)))
        assert outage == 503
        status, body = http_get(port, "/healthz", timeout=30)
        assert status == 503 and json.loads(body)["error"]["code"] == "database_unavailable"
        cluster.start()
        restarted = datetime.now(UTC)
        # No restart of the app: requests succeed again (pre-ping replaces the cut pooled connections).
        assert wait_until(lambda: http_get(port, "/healthz", timeout=30)[0] == 200, 15)
        recovered_after = time.monotonic() - down_since
        for client in clients:
            client.join(120)
        assert not any(client.is_alive() for client in clients)

        # The worker outlived the outage and fired the timer that fell due during it.
        assert wait_until(lambda: fired_timers(db) != [], 30), worker_log.read_text()
        assert worker.poll() is None
        assert min(fired_timers(db)).replace(tzinfo=UTC) >= restarted - timedelta(seconds=1)
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(Timer).where(Timer.attempts > 0)) == 0

        # 503 during the outage; every task done once in the end; every case consistent.
        seen = {a for all_answers in answers.values() for a in all_answers}
        assert 503 in seen and not {a for a in seen if isinstance(a, int) and a >= 500 and a != 503}, seen
        for task_id, number in tasks.items():
            assert answers[task_id][-1] in (200, 404, 409), answers[task_id]
            assert dispatch_done(db, task_id, number), number
        assert case_inconsistencies(engine) == []

        # The outage is logged in a line per request, without tracebacks.
        served = log.read_text()
        assert "database_unavailable on POST /api/v1/tasks/" in served
        # (healthz still logs its own traceback; nothing else may)
        assert tracebacks_except_after(served, "health check: the database does not answer") == 0, served
        assert "Traceback" not in worker_log.read_text(), worker_log.read_text()
        print(f"\nPostgreSQL down {recovered_after:.1f}s (4 s stopped); answers seen: "
              f"{sorted(map(str, seen))}; 503s: {sum(a.count(503) for a in answers.values())}")
    finally:
        stop_load.set()
        if not cluster.is_running():
            cluster.start()
        stop(server)
        stop(worker)
        db.dispose()


def tracebacks_except_after(log_text: str, marker: str) -> int:
    """Tracebacks in a log, leaving out those of log records whose first line holds ``marker``."""
    count, allowed = 0, False
    for line in log_text.splitlines():
        if line[:1].isdigit() or line.startswith(("[", "127.0.0.1")):  # a new record (timestamped or access)
            allowed = marker in line
        elif line.startswith("Traceback") and not allowed:
            count += 1
    return count


def fired_timers_while_down_are_none(cluster: PrivateCluster) -> bool:
    """The database is really down (nothing can have fired meanwhile)."""
    try:
        psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", connect_timeout=2)
    except psycopg.OperationalError:
        return True
    return False


def test_postgres_read_only_answers_503_reads_work_and_writes_resume(cluster, monkeypatch, caplog) -> None:  # noqa: ANN001
    url = cluster.create_database("faults_readonly")
    engine = prepared(url)
    db = engine.db
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task_id = dispatch_task(db, number)
    users.seed_demo_users(db, only=["dispatcher"])
    headers = {"Authorization": f"Bearer {users.issue_token(db, 'dispatcher', ttl_hours=1)}"}
    app = create_app(Settings(database_url=url))
    client = app.test_client()
    try:
        assert client.get(f"/api/v1/complaints/{number}", headers=headers).status_code == 200  # the pool is warm
        before = snapshot(db, number)
        # As after a fail-over to a standby: the database is read-only and its sessions start anew.
        cluster.admin("ALTER DATABASE faults_readonly SET default_transaction_read_only = on")
        cluster.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'faults_readonly'")
        with caplog.at_level(logging.WARNING):
            response = client.post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers)
            assert response.status_code == 503, response.get_data(as_text=True)
            error = response.get_json()["error"]
            assert error["code"] == "database_read_only" and "read-only" in error["message"]
            assert "25006" in error["message"] and response.headers["Retry-After"]
            assert client.get(f"/api/v1/complaints/{number}", headers=headers).status_code == 200
            assert client.get("/api/v1/tasks", headers=headers).status_code == 200
        lines = [r.getMessage() for r in caplog.records if r.name == "webapp.db_faults"]
        assert lines and number in lines[0] and "database_read_only" in lines[0]
        assert all(r.exc_info is None for r in caplog.records if r.name == "webapp.db_faults")
        db.dispose()
        assert snapshot(db, number) == before

        # Writable again (the connections the app holds were opened read-only): the same request succeeds.
        cluster.admin("ALTER DATABASE faults_readonly RESET default_transaction_read_only")
        again = client.post(f"/api/v1/tasks/{task_id}/complete", json=DISPATCH, headers=headers)
        assert again.status_code == 200, again.get_data(as_text=True)
        assert dispatch_done(db, task_id, number)
        assert case_inconsistencies(engine) == []
    finally:
        state(app).db.dispose()
        db.dispose()


def test_a_database_outage_costs_a_timer_no_attempt_and_the_scheduler_logs_one_line(
        engine, clock, db, monkeypatch, caplog) -> None:  # noqa: ANN001
    from engine.scheduler import drain_due_timers

    deploy_test_model(engine, "timer_wait.bpmn")
    engine.start("timer_wait", {"fire_at": (clock.now() + timedelta(minutes=1)).isoformat()}, "test")
    clock.advance(120)

    def down(*_args) -> bool:  # noqa: ANN002
        raise DatabaseUnavailable("the database does not answer: try again shortly", detail="Connection refused")

    monkeypatch.setattr(engine.timers, "fire_one", down)
    with caplog.at_level(logging.INFO):
        assert drain_due_timers(engine) == 0
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in lines] == [
        "timers: database_unavailable (Connection refused); trying again next round"]
    assert lines[0].exc_info is None
    with db.read() as session:
        timer = session.scalars(select(Timer)).one()
        assert (timer.attempts, timer.retry_at) == (0, None)  # due as before: fires on the next round
    monkeypatch.undo()
    assert drain_due_timers(engine) == 1
