"""The inbox text search for one or two characters outside ASCII (李, 张伟): on PostgreSQL migration 0010's
GIN index over complaintflow_grams(customer_name) answers it, with exactly the LIKE semantics (the query
anywhere in the name); SQLite keeps LIKE. Run this file with DATABASE_URL set to see the PostgreSQL side."""
from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from engine import task_queries
from engine.migrate import downgrade, upgrade
from engine.models import HumanTask
from engine.service import TaskFilters
from tests.conftest import ON_POSTGRES
from tests.ui_support import SUPERVISOR, start_for_customers

# Names holding 李 first (a surname), inside and last (a given-name character); 张伟 whole, inside and
# reversed; a name with a letter outside ASCII in both cases.
CUSTOMERS = (("13912345671", "李四"), ("13912345672", "王李明"), ("13912345673", "欧阳李"),
             ("13912345674", "张伟"), ("13912345675", "小张伟"), ("13912345676", "伟张"),
             ("13912345677", "Émile Zoé"), ("13912345678", "赵%六"))
ALL = [name for _, name in CUSTOMERS]
GRAMS_INDEX = "ix_human_tasks_customer_name_grams"


@pytest.fixture
def customers(engine, clock) -> list[str]:  # noqa: ANN001
    """One case per customer above, in that order."""
    return start_for_customers(engine, clock, CUSTOMERS)


def found(engine, q: str) -> list[str]:  # noqa: ANN001
    page = engine.list_tasks(SUPERVISOR, TaskFilters(q=q, sort="age"))
    assert page["total"] == len(page["items"]) and page["total_exact"]
    return [task["customer_name"] for task in page["items"]]


@pytest.mark.parametrize(("q", "names"), [
    ("李", ["李四", "王李明", "欧阳李"]),  # a surname, also a given-name character: anywhere in the name
    ("张伟", ["张伟", "小张伟"]),  # two characters, in this order only
    ("伟", ["张伟", "小张伟", "伟张"]),
    ("伟张", ["伟张"]),
    ("欧阳", ["欧阳李"]),
    ("钱", []),  # nothing holds it
    ("钱多", []),
    ("李伟", []),  # both characters are there, never next to each other
    ("É", ["Émile Zoé"]),  # a letter outside ASCII, as written
    ("oé", ["Émile Zoé"]),  # one ASCII letter, one not
    ("%六", ["赵%六"]),  # LIKE's wildcard matches itself only
    ("13", ALL),  # short ASCII queries still search the phone …
    ("TS", ALL),  # … and the complaint number, ASCII case ignored
    ("ts", ALL),
    ("E", ["Émile Zoé"]),  # an ASCII letter: case ignored
])
def test_short_queries_find_the_query_anywhere(engine, customers, q: str, names: list[str]) -> None:  # noqa: ANN001
    assert found(engine, q) == names


def test_part_of_a_complaint_number_still_matches(engine, customers) -> None:  # noqa: ANN001
    assert found(engine, customers[3][-2:]) == ["张伟"]  # …04: no phone ends so; two ASCII characters


@pytest.mark.postgres_only
def test_other_letters_are_folded_as_ilike_folds_them(engine, customers) -> None:  # noqa: ANN001
    """PostgreSQL's ILIKE (and lower()) folds É to é; so does the index of name pieces (SQLite's LIKE does not)."""
    assert found(engine, "é") == ["Émile Zoé"]
    assert found(engine, "ZOÉ") == ["Émile Zoé"]  # three characters: the trigram path, folded alike
    assert found(engine, "Oé") == ["Émile Zoé"]


@pytest.mark.postgres_only
def test_the_index_condition_means_what_strpos_of_lower_means(engine, customers) -> None:  # noqa: ANN001
    """For every one- and two-character piece of every name, and a few that are in none, the condition the
    search writes selects the same tasks as strpos(lower(customer_name), lower(q)) > 0 (ILIKE '%q%')."""
    queries = {name[i:i + size] for name in ALL for size in (1, 2) for i in range(len(name) - size + 1)}
    queries = {q for q in queries if not q.isascii()} | {"钱", "钱多", "李伟", "é", "ÉM", "Zé", "%六"}
    with engine.db.read() as session:
        for q in sorted(queries):
            condition = task_queries.text_search(q, "postgresql")
            assert "complaintflow_grams" in str(condition), q
            searched = set(session.scalars(select(HumanTask.customer_name).where(condition)))
            reference = set(session.scalars(select(HumanTask.customer_name).where(
                func.strpos(func.lower(HumanTask.customer_name), func.lower(q)) > 0)))
            assert searched == reference, q


@pytest.mark.postgres_only
def test_grams_function(db) -> None:  # noqa: ANN001
    """complaintflow_grams: the distinct one- and two-character substrings of lower(value), NULL-safe."""
    with db.engine.connect() as connection:
        grams = lambda value: connection.scalar(text("SELECT complaintflow_grams(:v)"), {"v": value})  # noqa: E731
        assert sorted(grams("张伟张")) == sorted(["张", "伟", "张伟", "伟张"])
        assert sorted(grams("ÉA")) == sorted(["é", "a", "éa"])
        assert grams("") == []
        assert grams(None) is None
        volatility = connection.scalar(text("SELECT provolatile FROM pg_proc WHERE proname = 'complaintflow_grams'"))
        assert volatility == "i"  # IMMUTABLE: an index expression must be


@pytest.mark.postgres_only
def test_a_two_character_name_query_uses_the_index_of_name_pieces(engine, customers) -> None:  # noqa: ANN001
    """EXPLAIN of the search over a few hundred tasks: a bitmap scan of the GIN index over the name pieces,
    not a walk of every task; if the query's expression stopped matching the index's, this fails."""
    with engine.db.engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO human_tasks (id, instance_id, bpmn_id, name, kind, role, assignee, form, due_at, priority,
                                     created_at, complaint_number, tier, category, business_line, region, city,
                                     phone, customer_name)
            SELECT 'bulk-' || i, instance_id, bpmn_id, name, kind, role, assignee, form, due_at, priority,
                   created_at, complaint_number, tier, category, business_line, region, city,
                   '139' || lpad(i::text, 8, '0'), chr(19968 + i % 97) || chr(20100 + i % 89) || chr(20200 + i)
            FROM (SELECT * FROM human_tasks LIMIT 1) AS task, generate_series(1, 400) AS i"""))
        connection.execute(text("ANALYZE human_tasks"))
    for q in ("张伟", "李"):
        statement = select(HumanTask.id).where(task_queries.text_search(q, "postgresql"))
        with engine.db.engine.begin() as connection:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + sql).scalars())
        assert f"Bitmap Index Scan on {GRAMS_INDEX}" in plan, plan
        assert "'{" + q + "}'::text[]" in plan, plan  # the planner saw the value (element statistics)
    assert found(engine, "张伟") == ["张伟", "小张伟"]


@pytest.mark.postgres_only
def test_migration_0010_downgrades_and_upgrades(db) -> None:  # noqa: ANN001
    def state() -> tuple[bool, bool]:
        with db.engine.connect() as connection:
            function = connection.scalar(text("SELECT count(*) FROM pg_proc WHERE proname = 'complaintflow_grams'"))
        return GRAMS_INDEX in {ix["name"] for ix in inspect(db.engine).get_indexes("human_tasks")}, bool(function)

    assert state() == (True, True)
    try:
        downgrade(db, "0009")
        assert state() == (False, False)
    finally:
        upgrade(db)
    assert state() == (True, True)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite only")
def test_sqlite_keeps_like(db) -> None:  # noqa: ANN001
    """Migration 0010 makes nothing on SQLite, and the search there stays a LIKE over the three columns."""
    assert GRAMS_INDEX not in {ix["name"] for ix in inspect(db.engine).get_indexes("human_tasks")}
    sql = str(task_queries.text_search("张伟", "sqlite").compile())
    assert sql.count(" LIKE ") == 3 and "grams" not in sql
