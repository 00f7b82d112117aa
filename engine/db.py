"""Database connections and transactions.

``Database.write()`` is the one way an operation changes state: one transaction,
committed on success, rolled back on any exception. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue for the lock
instead of failing half-way; on PostgreSQL rows are locked with
``SELECT ... FOR UPDATE``.

A driver error that means the database itself failed (no connection, read-only,
disk full) leaves ``read()`` and ``write()`` as an ``engine.errors.DatabaseFault``
(``database_fault`` says which), so callers tell it apart from a bug; any other
error passes unchanged.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from .errors import DatabaseFault, DatabaseReadOnly, DatabaseUnavailable, StorageFull

# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
PG_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default_transaction_read_only
PG_DISK_FULL = "53100"  # disk_full
PG_UNAVAILABLE = {
    "57P01",  # admin_shutdown: "terminating connection due to administrator command"
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up or shutting down
    "53300",  # too_many_connections
}
PG_CONNECTION_CLASS = "08"  # connection_exception and its subclasses
# SQLite primary result codes (the low byte of the extended code).
SQLITE_BUSY, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 5, 8, 10, 13, 14


def database_fault(error: BaseException) -> DatabaseFault | None:
    """The DatabaseFault a driver or pool error means, or None when the database is not at fault.

    None (a constraint, a syntax error, a missing table: a bug or the caller's conflict) lets the
    error go on as it is. The driver's own text, which may name hosts and ports, goes to
    ``detail`` for the log, never into the message a client sees.
    """
    if isinstance(error, DatabaseFault):
        return error
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no free connection within pool_timeout
        return DatabaseUnavailable("the database is busy: no connection came free in time; try again shortly",
                                   detail=str(error).splitlines()[0])
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    original = error.orig
    detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
    sqlstate = getattr(original, "sqlstate", None)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if sqlite_code is not None:
        sqlite_code &= 0xFF
    if sqlstate == PG_READ_ONLY or sqlite_code == SQLITE_READONLY:
        return DatabaseReadOnly("the database is read-only (SQLSTATE 25006) and takes no changes now: nothing "
                                "was changed; reading still works", detail=detail)
    if sqlstate == PG_DISK_FULL or sqlite_code == SQLITE_FULL:
        return StorageFull("the database's storage is full (database or disk is full): nothing was changed; "
                           "reading still works", detail=detail)
    if sqlite_code in (SQLITE_BUSY, SQLITE_IOERR, SQLITE_CANTOPEN):
        return DatabaseUnavailable("the database cannot be used right now: nothing was changed; try again shortly",
                                   detail=detail)
    if sqlite_code is not None:
        return None
    lost = (error.connection_invalidated or sqlstate in PG_UNAVAILABLE
            or (sqlstate or "").startswith(PG_CONNECTION_CLASS)
            # psycopg's own connection failures (refused, closed, reset) carry no SQLSTATE.
            or (sqlstate is None and _from_psycopg(original)
                and isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError))))
    if lost:
        return DatabaseUnavailable("the database does not answer: try again shortly", detail=detail)
    return None


def _from_psycopg(original: BaseException) -> bool:
    return type(original).__module__.split(".", 1)[0] == "psycopg"


@contextmanager
def faults_as_engine_errors() -> Iterator[None]:
    """Raise a DatabaseFault in place of a driver error that means the database failed."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
        fault = database_fault(error)
        if fault is None:
            raise
        raise fault from error


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(begin)

    return engine


def _pool_no_read_only_sessions(engine: Engine) -> None:
    """Close, rather than pool, a connection opened while the database was read-only.

    A PostgreSQL session keeps the default_transaction_read_only it started with (and one opened on a
    standby stays read-only after its promotion): pooled, it would refuse writes long after the database
    takes them again. The server reports both settings at connect (PostgreSQL 14 and later), so this
    costs no query; such connections then serve one checkout each while the database is read-only.
    """

    @event.listens_for(engine, "connect")
    def _note(dbapi_connection, record) -> None:  # noqa: ANN001
        status = getattr(getattr(dbapi_connection, "info", None), "parameter_status", None)
        if status is not None:
            record.info["read_only"] = "on" in (status("default_transaction_read_only"), status("in_hot_standby"))

    @event.listens_for(engine, "checkin")
    def _drop(_dbapi_connection, record) -> None:  # noqa: ANN001
        if record.info.get("read_only"):
            record.invalidate()


class Database:
    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 20, pre_ping: bool = True) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, "BEGIN")
            self._write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
        else:
            # pre_ping: a pooled connection a database restart has cut is replaced before use, so the first
            # request after the restart succeeds (without it, that request answers 503 and SQLAlchemy then
            # drops the whole pool); see docs/DEPLOY.md "When the database fails".
            self.engine = create_engine(url, pool_pre_ping=pre_ping, pool_size=pool_size,
                                        max_overflow=max_overflow)
            self._write_engine = self.engine
            _pool_no_read_only_sessions(self.engine)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        with faults_as_engine_errors(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with faults_as_engine_errors(), self._read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()
