"""The inbox text search (``q``): the same matches on SQLite and PostgreSQL (run this file with DATABASE_URL
set to see the PostgreSQL side), the query forms that let PostgreSQL use its trigram indexes, and
migration 0009 that makes them."""
from __future__ import annotations

import importlib.util
import logging

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.dialects import postgresql

from engine import task_queries
from engine.migrate import downgrade, upgrade
from engine.service import TaskFilters
from tests.conftest import ON_POSTGRES
from tests.ui_support import DISPATCHER, SUPERVISOR, start_for_customers

CUSTOMERS = (("13912345671", "李四"), ("13912345672", "张三"), ("13912345673", "张三丰"),
             ("13912345674", "Li Lei"), ("13912345675", "王_五"), ("13912345676", "赵%六"))


@pytest.fixture
def numbers(engine, clock) -> list[str]:  # noqa: ANN001
    """One case per customer above, in that order; their numbers end in 000001 … 000006."""
    return start_for_customers(engine, clock, CUSTOMERS)


def found(engine, q: str, who=SUPERVISOR) -> list[str]:  # noqa: ANN001
    page = engine.list_tasks(who, TaskFilters(q=q, sort="age"))
    assert page["total"] == len(page["items"]) and page["total_exact"]
    return [task["customer_name"] for task in page["items"]]


@pytest.mark.parametrize(("q", "names"), [
    ("13912345672", ["张三"]),  # a whole phone number
    ("2345", [name for _, name in CUSTOMERS]),  # part of every phone
    ("李", ["李四"]),  # one character: no trigram
    ("张三", ["张三", "张三丰"]),  # two characters: no trigram
    ("张三丰", ["张三丰"]),  # three: a trigram
    ("li", ["Li Lei"]),  # ASCII case is ignored, short …
    ("LEI", ["Li Lei"]),  # … and long
    ("_", ["王_五"]),  # LIKE's wildcards match themselves only
    ("%", ["赵%六"]),
    ("王_", ["王_五"]),
    ("\\", []),
    ("Lei\\", []),  # written into PostgreSQL's SQL: quotes and backslashes stay text
    ("Lei'); --", []),
    ("99999", []),
])
def test_search_matches_number_phone_and_name(engine, numbers, q: str, names: list[str]) -> None:  # noqa: ANN001
    assert found(engine, q) == names


def test_search_by_whole_and_partial_complaint_number(engine, numbers) -> None:  # noqa: ANN001
    assert found(engine, numbers[2]) == ["张三丰"]
    assert found(engine, numbers[2].lower()) == ["张三丰"]
    assert found(engine, numbers[4][-4:]) == ["王_五"]  # …0005: no phone holds it
    assert found(engine, numbers[0][:-1]) == [name for _, name in CUSTOMERS]
    assert found(engine, numbers[0], DISPATCHER) == ["李四"]  # within what the viewer may see


def pg_sql(condition) -> str:  # noqa: ANN001
    return str(condition.compile(dialect=postgresql.dialect()))


def test_postgresql_query_forms() -> None:
    """A query with a trigram is a LIKE the trigram indexes serve (ILIKE only when it has case to ignore);
    one without is a strpos no index serves, so it walks the role's queue as before the indexes, unless it
    is one or two characters with one outside ASCII (李, 张三): then only names can hold it, and migration
    0010's index of name pieces serves it (tests/test_inbox_short_name_search.py)."""
    assert pg_sql(task_queries.text_search("1380013", "postgresql")).count(" LIKE ") == 3
    assert pg_sql(task_queries.text_search("TS2026", "postgresql")).count(" ILIKE ") == 3
    for short in ("1-2", "a_b", "%", "li"):
        sql = pg_sql(task_queries.text_search(short, "postgresql"))
        assert "LIKE" not in sql and sql.count("strpos(") == 3, short
    assert "lower(" in pg_sql(task_queries.text_search("li", "postgresql"))
    assert "lower(" not in pg_sql(task_queries.text_search("1-2", "postgresql"))
    for short in ("李", "张三"):
        sql = pg_sql(task_queries.text_search(short, "postgresql"))
        assert "complaintflow_grams(human_tasks.customer_name) @>" in sql, short
        assert "phone" not in sql and "complaint_number" not in sql, short
    assert pg_sql(task_queries.text_search("TS2026", "sqlite")).count(" LIKE ") == 3


def test_the_page_parts_carry_keys_not_whole_rows() -> None:
    """Each visible part hands on ids and sort keys; the whole row is read once, for the page's tasks
    (nested subqueries of the whole row made a small inbox's look-up three times dearer in Python)."""
    parts = task_queries.visible_parts(DISPATCHER)
    sql = str(task_queries.page_query(parts, [], TaskFilters()).compile())
    assert sql.count("customer_name") == 1 and len(parts) == 2


def test_a_page_holding_every_match_needs_no_count(engine, numbers) -> None:  # noqa: ANN001
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine.db.engine, "before_cursor_execute", listen)
    try:
        assert len(engine.list_tasks(SUPERVISOR, TaskFilters(q=numbers[1]))["items"]) == 1
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "count(" not in selects[0]
        statements.clear()
        page = engine.list_tasks(SUPERVISOR, TaskFilters(page_size=2, page=3))
        assert (len(page["items"]), page["total"], page["total_exact"]) == (2, 6, True)
        assert any("count(" in s for s in statements)  # a full page: the rest is counted
        past_the_end = engine.list_tasks(SUPERVISOR, TaskFilters(page_size=2, page=9))
        assert (past_the_end["items"], past_the_end["total"]) == ([], 6)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", listen)


def test_a_short_last_page_past_the_cap_says_not_exact(engine, numbers, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(task_queries, "COUNT_CAP", 4)
    page = engine.list_tasks(SUPERVISOR, TaskFilters(page_size=4, page=2))
    assert (len(page["items"]), page["total"], page["total_exact"]) == (2, 4, False)


# -- migration 0009 ---------------------------------------------------------------------------------------

TRIGRAM_INDEXES = {"ix_human_tasks_complaint_number_trgm", "ix_human_tasks_phone_trgm",
                   "ix_human_tasks_customer_name_trgm"}


def human_task_indexes(db) -> set[str]:  # noqa: ANN001
    return {index["name"] for index in inspect(db.engine).get_indexes("human_tasks")}


def test_migration_0009_downgrades_and_upgrades(db) -> None:  # noqa: ANN001
    expected = TRIGRAM_INDEXES if ON_POSTGRES else set()
    assert human_task_indexes(db) & TRIGRAM_INDEXES == expected
    try:
        downgrade(db, "0008")
        assert not human_task_indexes(db) & TRIGRAM_INDEXES
    finally:
        upgrade(db)
    assert human_task_indexes(db) & TRIGRAM_INDEXES == expected


def migration_0009():  # noqa: ANN201
    from engine.config import PROJECT_ROOT

    path = next((PROJECT_ROOT / "migrations" / "versions").glob("0009_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres_only
def test_an_extension_the_role_may_not_create_is_logged_not_raised(db, caplog) -> None:  # noqa: ANN001
    """Where pg_trgm cannot be created the migration goes on without the indexes (the search still works)."""
    with db.engine.begin() as connection, caplog.at_level(logging.WARNING):
        assert migration_0009().extension_ready(connection, "complaintflow_search_no_such_extension") is False
        assert connection.scalar(text("SELECT 1")) == 1  # the transaction is still usable
    assert "complaintflow_search_no_such_extension" in caplog.text and "only slower" in caplog.text


@pytest.mark.postgres_only
def test_a_search_is_planned_for_its_own_pattern(engine, numbers) -> None:  # noqa: ANN001
    """psycopg prepares a statement run five times; a generic plan, made without the pattern, must not
    serve "139" (every task) and a whole phone number (one task) alike: the pattern is in the SQL."""
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine.db.engine, "before_cursor_execute", listen)
    try:
        found(engine, "13912345672")
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", listen)
    assert any("LIKE '%%13912345672%%'" in statement for statement in statements)  # %% is psycopg's %
