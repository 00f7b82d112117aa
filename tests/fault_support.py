"""Helpers of tests/test_faults.py: a private PostgreSQL cluster, a case consistency checker, SQLite faults.

The cluster is our own (initdb into a temporary folder, a free port, trust auth), so a test can stop,
restart or make read-only a database without touching the machine's shared PostgreSQL.
"""
from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import event, select
from sqlalchemy import exc as sa_exc

from engine.case_sync import case_data, open_human_tasks, waiting_messages, waiting_timers
from engine.db import Database
from engine.models import CaseClock, HumanTask, MessageWait, ProcessInstance, Timer
from tests.http_support import free_port

# -- a private PostgreSQL cluster ---------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or where initdb is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivateCluster:
    """A PostgreSQL cluster of one test module: start, stop, restart, and databases named ``faults_*``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        # Not under pytest's tmp_path: that is private to root, and the server runs as ``postgres``.
        self.root = Path(tempfile.mkdtemp(prefix="complaintflow-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as_postgres, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}\n{self.server_log()}")

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=120")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.is_running():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def server_log(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={database}",
                             autocommit=True) as connection:
            connection.execute(sql)

    def create_database(self, name: str) -> str:
        assert name.startswith("faults_")
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)


# -- is every case's index in step with its workflow? ----------------------------------------------------


def case_inconsistencies(engine) -> list[str]:  # noqa: ANN001
    """Re-derive each case's human_tasks, timers, message waits and case_clocks from its saved workflow
    state (as engine.case_sync does) and list every row that differs: [] when all are consistent."""
    problems: list[str] = []
    with engine.db.read() as session:
        for instance in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)):
            number = instance.business_key
            workflow, _ = engine.runner.load(session, instance)
            running = instance.status == "running"
            tasks = set(session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance.id)))
            wanted_tasks = {str(t.id) for t in open_human_tasks(workflow)} if running else set()
            if tasks != wanted_tasks:
                problems.append(f"{number}: human_tasks {sorted(tasks)} but the state has {sorted(wanted_tasks)}")
            timers = {t.task_id: t.due_at for t in session.scalars(select(Timer).where(
                Timer.instance_id == instance.id))}
            wanted_timers = {k: due for k, (_, due) in waiting_timers(workflow).items()} if running else {}
            if {k: _utc(v) for k, v in timers.items()} != wanted_timers:
                problems.append(f"{number}: timers {timers} but the state has {wanted_timers}")
            waits = set(session.scalars(select(MessageWait.name).where(MessageWait.instance_id == instance.id)))
            wanted_waits = waiting_messages(workflow) if running else set()
            if waits != wanted_waits:
                problems.append(f"{number}: message waits {waits} but the state has {wanted_waits}")
            clocks = {c.name: _utc(c.due_at) for c in session.scalars(select(CaseClock).where(
                CaseClock.instance_id == instance.id))}
            sla = case_data(workflow).get("sla_clocks") or {}
            wanted_clocks = {name: _utc_text(entry.get("due_at")) for name, entry in sla.items()
                             if isinstance(entry, dict) and entry.get("due_at")}
            if clocks != wanted_clocks:
                problems.append(f"{number}: case_clocks {clocks} but the state has {wanted_clocks}")
            if bool(workflow.completed) != (instance.status == "completed") and instance.status != "cancelled":
                problems.append(f"{number}: status {instance.status} but the workflow completed={workflow.completed}")
    return problems


def _utc(moment):  # noqa: ANN001, ANN202
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_text(value: str):  # noqa: ANN202
    from datetime import datetime

    return _utc(datetime.fromisoformat(value))


# -- SQLite faults -----------------------------------------------------------------------------------------


@contextmanager
def sqlite_pragma_on_every_connection(db: Database, pragma: str) -> Iterator[None]:
    """Run ``PRAGMA …`` on each new connection of ``db`` (both of its engines) while inside; the pools are
    emptied on the way in and out, so every connection used inside has it and none after."""
    engines = {id(e): e for e in (db.engine, db._write_engine)}.values()

    def on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        cursor.close()

    for engine in engines:
        event.listen(engine, "connect", on_connect)
        engine.dispose()
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "connect", on_connect)
            engine.dispose()


@contextmanager
def sqlite_disk_full(db: Database) -> Iterator[None]:
    """The SQLite file of ``db`` may not grow (``max_page_count`` at its size on every connection) and its
    free pages are used up by a filler table: what a full disk looks like to SQLite (SQLITE_FULL)."""
    path = db.engine.url.database
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("CREATE TABLE IF NOT EXISTS faults_filler (x BLOB)")  # its root page, while there is room
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        raw.execute(f"PRAGMA max_page_count = {pages}")
        for size in (4000, 1000, 200, 50, 10):
            try:
                while True:
                    raw.execute("INSERT INTO faults_filler VALUES (randomblob(?))", (size,))
            except sqlite3.OperationalError as error:
                assert error.sqlite_errorcode & 0xFF == 13, error  # SQLITE_FULL
        with sqlite_pragma_on_every_connection(db, f"PRAGMA max_page_count = {pages}"):
            yield
    finally:
        raw.execute("DROP TABLE IF EXISTS faults_filler")
        raw.close()


def wait_until(condition, seconds: float, step: float = 0.2) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def database_down(monkeypatch, db: Database) -> None:  # noqa: ANN001 - pytest's MonkeyPatch
    """Every new connection of ``db`` (both engines) is refused, as PostgreSQL's are while it is down."""
    refused = psycopg.OperationalError("connection failed: Connection refused")

    def down(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise sa_exc.DBAPIError.instance("SELECT 1", {}, refused, psycopg.Error)

    for engine in {db.engine, db._write_engine}:
        monkeypatch.setattr(engine, "connect", down)
