"""The Alembic migrations (migrations/) and the SQLAlchemy models (engine/) describe the same schema.

The ``db`` fixture's database is made by the migrations through engine.migrate.upgrade (conftest: a copy of
the migrated SQLite template, or the PostgreSQL schema when DATABASE_URL points there). Alembic's autogenerate
compares it with the models' metadata: a table, column, type, nullability, server default, index, unique
constraint or foreign key that one side has and the other does not fails the test, naming it. Run this file
with DATABASE_URL set to check the PostgreSQL side.

A difference that is meant to be there goes into ALLOWED below, with its reason; an entry that no longer
shows up fails the test too, so the list stays exact. What autogenerate cannot see (an index's sort order on
SQLite, an index's method, operator classes and storage options on PostgreSQL, an expression index on
SQLite) the last three tests check.
"""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, Table, inspect

import engine as engine_package
from engine.models import Base
from tests.conftest import ON_POSTGRES

# The inbox search's trigram GIN indexes (models: .ddl_if(dialect="postgresql"); migration 0009).
TRIGRAM_INDEXES = ("ix_human_tasks_complaint_number_trgm", "ix_human_tasks_phone_trgm",
                   "ix_human_tasks_customer_name_trgm")
# The inbox's index of name pieces, an expression index over a SQL function (models: ddl_if PostgreSQL;
# migration 0010). Autogenerate compares its expression on PostgreSQL and skips it on SQLite, with a warning.
GRAMS_INDEX = "ix_human_tasks_customer_name_grams"
# The inbox's page-order indexes with ``priority DESC`` (migration 0008).
DESCENDING_INDEXES = ("ix_human_tasks_priority_due", "ix_human_tasks_role_priority_due")

# (dialect, kind, table, name) -> why the migrated database and the models may differ there.
ALLOWED: dict[tuple[str, str, str, str], str] = {
    # Alembic's comparison does not read ddl_if: on SQLite the models "have" the three PostgreSQL-only
    # trigram indexes, which migration 0009 rightly makes on PostgreSQL only (they need pg_trgm).
    **{("sqlite", "add_index", "human_tasks", name): "PostgreSQL-only trigram index (migration 0009)"
       for name in TRIGRAM_INDEXES},
    # SQLAlchemy's SQLite reflection drops an index column's DESC, so autogenerate sees the models'
    # text("priority DESC") and the database's plain "priority" as two different indexes of one name and
    # reports the name removed and added. test_sqlite_index_sort_order_matches_the_models checks them.
    **{("sqlite", kind, "human_tasks", name): "SQLite reflection loses DESC; checked by PRAGMA index_xinfo"
       for name in DESCENDING_INDEXES for kind in ("add_index", "remove_index")},
}


def model_metadata() -> MetaData:
    """Base.metadata with every model registered: the models live in several engine modules
    (models, comments, saved_filters, case_facts, report_settings, ...), so import them all."""
    for module in pkgutil.iter_modules(engine_package.__path__):
        importlib.import_module(f"{engine_package.__name__}.{module.name}")
    return Base.metadata


def describe(diff: tuple | list) -> tuple[tuple[str, str, str], str]:
    """One autogenerate difference as (kind, table, name) and a line for the failure message."""
    if isinstance(diff, list):  # modify_type / modify_nullable / modify_default of one column
        kind, _schema, table, column = diff[0][:4]
        changes = "; ".join(f"{d[0]} {d[5]!r} -> {d[6]!r}" for d in diff)
        return (kind, table, column), f"{table}.{column}: {changes} (database -> models)"
    kind, *rest = diff
    if kind in ("add_column", "remove_column"):
        _schema, table, column = rest
        assert isinstance(column, Column)
        return (kind, table, column.name), f"{kind} {table}.{column.name} {column.type}"
    obj = rest[0]
    if isinstance(obj, Table):
        return (kind, obj.name, obj.name), f"{kind} {obj.name}"
    table = obj.table.name
    if isinstance(obj, Index):
        parts = [str(e) for e in obj.expressions]
        name = obj.name or ",".join(parts)
        return (kind, table, name), f"{kind} {name} on {table} ({', '.join(parts)}, unique={bool(obj.unique)})"
    columns = ",".join(c.name for c in obj.columns)  # a unique constraint or a foreign key
    name = obj.name or columns
    return (kind, table, name), f"{kind} {type(obj).__name__} {name} on {table} ({columns})"


def schema_differences(db) -> dict[tuple[str, str, str], str]:  # noqa: ANN001
    metadata = model_metadata()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": True})
        diffs = compare_metadata(context, metadata)
    return dict(describe(diff) for diff in diffs)


def model_index(name: str) -> Index:
    return next(index for table in model_metadata().tables.values() for index in table.indexes
                if index.name == name)


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")  # see below
def test_a_migrated_database_matches_the_models(db) -> None:  # noqa: ANN001
    dialect = db.engine.dialect.name
    found = schema_differences(db)
    allowed = {key[1:]: why for key, why in ALLOWED.items() if key[0] == dialect}
    drift = sorted(line for key, line in found.items() if key not in allowed)
    assert drift == [], ("the migrations and the models disagree (a change to the models needs a new "
                         "migration):\n" + "\n".join(drift))
    stale = sorted(f"{key}: {why}" for key, why in allowed.items() if key not in found)
    assert stale == [], "ALLOWED lists differences that are gone; remove them:\n" + "\n".join(stale)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's own catalogue; PostgreSQL's sort order autogenerate compares")
def test_sqlite_index_sort_order_matches_the_models(db) -> None:  # noqa: ANN001
    """The allow-listed DESC indexes, compared column by column with their sort order."""
    with db.engine.connect() as connection:
        for name in DESCENDING_INDEXES:
            # index_xinfo rows: seqno, cid, name, desc, collation, key (0 for the rowid tail)
            rows = connection.exec_driver_sql(f'PRAGMA index_xinfo("{name}")').all()
            migrated = [row[2] + (" DESC" if row[3] else "") for row in rows if row[5]]
            index = model_index(name)
            modelled = [e.name if isinstance(e, Column) else str(e) for e in index.expressions]
            assert (index.table.name, migrated) == ("human_tasks", modelled), name


@pytest.mark.postgres_only
def test_postgres_index_methods_and_options_match_the_models(db) -> None:  # noqa: ANN001
    """Autogenerate compares an index's columns, not its method (gin), operator classes or WITH options."""
    options = ("postgresql_using", "postgresql_ops", "postgresql_with")
    checked = 0
    for table in model_metadata().tables.values():
        reflected = {ix["name"]: ix["dialect_options"] for ix in inspect(db.engine).get_indexes(table.name)}
        for index in table.indexes:
            wanted = {key: value for key, value in index.dialect_kwargs.items() if key in options and value}
            have = {key: value for key, value in reflected.get(index.name, {}).items() if key in options and value}
            assert have == wanted, index.name
            checked += bool(wanted)
    assert checked == len(TRIGRAM_INDEXES) + 1  # and GRAMS_INDEX


@pytest.mark.skipif(ON_POSTGRES, reason="autogenerate compares PostgreSQL's expression indexes")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_sqlite_has_no_postgresql_only_expression_index(db) -> None:  # noqa: ANN001
    """SQLite cannot reflect an expression index, so autogenerate skips the models' GRAMS_INDEX there: check
    that it is the only one skipped and that the migrations rightly did not make it."""
    expression_indexes = [index.name for table in model_metadata().tables.values() for index in table.indexes
                          if not any(isinstance(e, Column) for e in index.expressions)]
    assert expression_indexes == [GRAMS_INDEX]
    assert model_index(GRAMS_INDEX).dialect_options["postgresql"]["using"] == "gin"
    with db.engine.connect() as connection:
        assert GRAMS_INDEX not in {ix["name"] for ix in inspect(connection).get_indexes("human_tasks")}
