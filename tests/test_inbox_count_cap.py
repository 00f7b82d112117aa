"""The inbox counts up to a cap and says "N+" beyond it (API ``total_exact``, UI "3+"), on PostgreSQL
within a time budget past which it answers the planner's estimate (``total_estimated``, UI "约 4,500"),
and its per-part paging (one index walk per role, one for tasks held outside them) pages as one sorted list."""
from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy import text as sql

from engine import holidays, task_queries, users
from engine.config import Settings
from engine.models import HumanTask
from engine.service import TaskFilters
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT, DISPATCHER, NETWORK, SUPERVISOR
from webapp import state
from webapp.ui import inbox as inbox_ui

pytest_plugins = ["tests.web_fixtures"]

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def inbox_app(make_app: Callable[..., Flask], clock) -> Flask:  # noqa: ANN001
    """Five dispatcher tasks an hour apart, then one of them dispatched on to the network department."""
    app = make_app(processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    db, engine = state(app).db, state(app).engine
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db, only=["dispatcher", "network", "supervisor"])
    engine.deploy_directory("owner")
    for n in range(6):
        engine.start_complaint({**COMPLAINT, "phone": f"1380000000{n}", "svip": n == 2}, "intake")
        clock.advance(3600)
    first = engine.list_tasks(DISPATCHER, TaskFilters(sort="age", page_size=1))["items"][0]
    engine.complete(first["id"], DISPATCHER, {"department": "network", "dispatch_note": "请核查"})
    return app


def signed_in(app: Flask, username: str):  # noqa: ANN201
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert response.status_code == 302
    return client


def test_the_total_stops_at_the_cap_and_says_it_is_not_exact(inbox_app: Flask, monkeypatch) -> None:  # noqa: ANN001
    engine = state(inbox_app).engine
    assert engine.list_tasks(DISPATCHER, TaskFilters())["total"] == 5
    monkeypatch.setattr(task_queries, "COUNT_CAP", 3)
    result = engine.list_tasks(DISPATCHER, TaskFilters(page_size=2))
    assert (result["total"], result["total_exact"], len(result["items"])) == (3, False, 2)
    monkeypatch.setattr(task_queries, "COUNT_CAP", 5)
    exactly_the_cap = engine.list_tasks(DISPATCHER, TaskFilters())
    assert (exactly_the_cap["total"], exactly_the_cap["total_exact"]) == (5, True)
    network = engine.list_tasks(NETWORK, TaskFilters())
    assert (network["total"], network["total_exact"]) == (1, True)


def test_the_api_reports_total_exact(inbox_app: Flask, headers_for, monkeypatch) -> None:  # noqa: ANN001
    client = inbox_app.test_client()
    body = client.get("/api/v1/tasks", headers=headers_for("dispatcher")).get_json()
    assert (body["total"], body["total_exact"]) == (5, True)
    monkeypatch.setattr(task_queries, "COUNT_CAP", 3)
    body = client.get("/api/v1/tasks", headers=headers_for("supervisor")).get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (3, False, 6)


def test_the_ui_shows_a_capped_count_with_a_plus(inbox_app: Flask, monkeypatch) -> None:  # noqa: ANN001
    client = signed_in(inbox_app, "dispatcher")
    page = client.get("/inbox").get_data(as_text=True)
    assert "共 5 项" in page and 'id="count-inbox">5<' in page
    monkeypatch.setattr(task_queries, "COUNT_CAP", 3)
    monkeypatch.setattr(task_queries, "SCOPE_COUNT_CAP", 3)
    page = client.get("/inbox").get_data(as_text=True)
    assert "共 3+ 项" in page and 'id="count-inbox">3+<' in page and 'id="count-mine">0<' in page
    rows = client.get("/inbox/rows").get_data(as_text=True)
    assert "共 3+ 项" in rows and 'id="count-all" hx-swap-oob="true">3+<' in rows


def test_scope_counts_are_capped_each(inbox_app: Flask, clock, monkeypatch) -> None:  # noqa: ANN001
    db = state(inbox_app).db
    clock.advance(30 * 3600)  # the SVIP case (24 h) is overdue, the others (48 h) not yet
    counts = task_queries.scope_counts(db, DISPATCHER)
    assert (counts["inbox"], counts["inbox_exact"], counts["inbox_overdue"]) == (5, True, 1)
    monkeypatch.setattr(task_queries, "SCOPE_COUNT_CAP", 4)
    assert task_queries.scope_counts(db, DISPATCHER)["inbox_exact"] is False
    counts = task_queries.scope_counts(db, DISPATCHER, cap=2)
    assert (counts["inbox"], counts["inbox_exact"]) == (2, False)
    assert (counts["inbox_overdue"], counts["inbox_overdue_exact"]) == (1, True)
    assert (counts["mine"], counts["mine_exact"]) == (0, True)


@pytest.mark.parametrize("sort", task_queries.SORTS)
@pytest.mark.parametrize("who", [DISPATCHER, SUPERVISOR, NETWORK], ids=["dispatcher", "supervisor", "network"])
def test_pages_of_the_parts_make_one_sorted_list(inbox_app: Flask, sort: str, who) -> None:  # noqa: ANN001
    engine = state(inbox_app).engine
    # The dispatcher also holds a network task: a part of its own beside the dispatcher role's.
    network_task = engine.list_tasks(NETWORK, TaskFilters())["items"][0]
    engine.reassign(network_task["id"], SUPERVISOR, "dispatcher")
    everything = engine.list_tasks(who, TaskFilters(sort=sort, page_size=200))["items"]
    paged = [task for number in range(1, len(everything) + 2)
             for task in engine.list_tasks(who, TaskFilters(sort=sort, page=number, page_size=1))["items"]]
    assert paged == everything
    key = {"due": lambda t: (t["due_at"], -t["priority"], t["created_at"], t["id"]),
           "priority": lambda t: (-t["priority"], t["due_at"], t["id"]),
           "age": lambda t: (t["created_at"], t["id"])}[sort]
    assert everything == sorted(everything, key=key)
    if who is DISPATCHER:
        assert network_task["id"] in {t["id"] for t in everything} and len(everything) == 6


# --- the count's time budget (COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS) ---------------------------------


@pytest.fixture
def slow_count(monkeypatch):  # noqa: ANN001, ANN201
    """Every inbox count first sleeps a second in the database, in the count's own transaction: under a
    budget shorter than that, PostgreSQL cancels it as it would a count of 270,000 tasks. Records the
    statement_timeout each count ran under."""
    real = task_queries.capped_count
    timeouts: list[str] = []

    def sleeping(session, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        timeouts.append(session.scalar(sql("SELECT current_setting('statement_timeout')")))
        session.execute(sql("SELECT pg_sleep(1)"))
        return real(session, *args, **kwargs)

    monkeypatch.setattr(task_queries, "capped_count", sleeping)
    return timeouts


def timeout_now(session) -> str:  # noqa: ANN001
    return session.scalar(sql("SELECT current_setting('statement_timeout')"))


def test_the_count_budget_is_a_setting_refused_with_its_name_when_bad(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS", raising=False)
    assert Settings.from_env().inbox_count_budget_ms == Settings().inbox_count_budget_ms == 100
    monkeypatch.setenv("COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS", "0")
    assert Settings.from_env().inbox_count_budget_ms == 0
    monkeypatch.setenv("COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS", " 40 ")
    assert Settings.from_env().inbox_count_budget_ms == 40
    for bad in ("-1", "1.5", "fast", "150ms"):
        monkeypatch.setenv("COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS", bad)
        with pytest.raises(ValueError, match="COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS must be"):
            Settings.from_env()


def test_a_count_in_time_is_exact_and_never_estimated(inbox_app: Flask, headers_for, monkeypatch) -> None:  # noqa: ANN001
    engine = state(inbox_app).engine
    assert engine.settings.inbox_count_budget_ms == 100
    for page_size in (2, 50):  # a count, and a page that holds the last match (no count)
        result = engine.list_tasks(DISPATCHER, TaskFilters(page_size=page_size))
        assert (result["total"], result["total_exact"], result["total_estimated"]) == (5, True, False)
    monkeypatch.setattr(task_queries, "COUNT_CAP", 3)
    body = inbox_app.test_client().get("/api/v1/tasks?page_size=2", headers=headers_for("dispatcher")).get_json()
    assert (body["total"], body["total_exact"], body["total_estimated"]) == (3, False, False)


def test_sqlite_has_no_budget(inbox_app: Flask, monkeypatch) -> None:  # noqa: ANN001
    """SQLite deployments are small: the count is never cut short, however slow."""
    if state(inbox_app).db.is_postgres:
        pytest.skip("SQLite only")
    real, calls = task_queries.capped_count, []
    monkeypatch.setattr(task_queries, "capped_count", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = task_queries.page(state(inbox_app).db, DISPATCHER, TaskFilters(page_size=2), count_budget_ms=1)
    assert (result["total"], result["total_exact"], result["total_estimated"], calls) == (5, True, False, [1])


@pytest.mark.postgres_only
def test_a_count_past_its_budget_answers_the_planners_estimate(inbox_app: Flask, headers_for,  # noqa: ANN001
                                                               slow_count, monkeypatch) -> None:  # noqa: ANN001
    client = inbox_app.test_client()
    started = time.monotonic()
    response = client.get("/api/v1/tasks?page_size=2", headers=headers_for("dispatcher"))
    assert time.monotonic() - started < 1, "the count was not cancelled at its budget"
    assert response.status_code == 200
    body = response.get_json()
    assert (body["total_exact"], body["total_estimated"], len(body["items"])) == (False, True, 2)
    assert 2 <= body["total"] <= task_queries.COUNT_CAP  # at least the tasks the page shows
    assert slow_count == ["100ms"]
    # The next request (the same pooled connection) runs under no budget: its count is not cut short.
    slow_count.clear()
    engine = state(inbox_app).engine
    monkeypatch.setattr(engine, "settings", dataclasses.replace(engine.settings, inbox_count_budget_ms=0))
    body = client.get("/api/v1/tasks?page_size=2", headers=headers_for("dispatcher")).get_json()
    assert (body["total"], body["total_exact"], body["total_estimated"]) == (5, True, False)
    assert slow_count == ["0"]


@pytest.mark.postgres_only
def test_the_transaction_goes_on_after_a_cancelled_count_with_its_timeout_as_before(inbox_app: Flask,  # noqa: ANN001
                                                                                     slow_count) -> None:  # noqa: ANN001
    parts = task_queries.visible_parts(DISPATCHER)
    with state(inbox_app).db.read() as session:
        before = timeout_now(session)
        assert task_queries.budgeted_count(session, parts, [], 50, known=3)[1:] == (False, True)
        assert timeout_now(session) == before
        session.execute(sql("SET LOCAL statement_timeout = '7s'"))
        total, exact, estimated = task_queries.budgeted_count(session, parts, [], 50, known=3)
        assert (exact, estimated) == (False, True) and 3 <= total <= task_queries.COUNT_CAP
        assert slow_count == ["50ms", "50ms"]
        assert timeout_now(session) == "7s"
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 6  # the transaction still works
        assert task_queries.estimated_count(session, parts, [], known=task_queries.COUNT_CAP + 50) == \
            task_queries.COUNT_CAP


@pytest.mark.postgres_only
def test_an_estimate_of_the_cap_or_more_reads_as_the_cap(inbox_app: Flask, slow_count) -> None:  # noqa: ANN001
    """A cancelled count whose estimate reaches the cap says "10,000+", as a count that reached it does."""
    parts = task_queries.visible_parts(DISPATCHER)
    with state(inbox_app).db.read() as session:
        assert task_queries.budgeted_count(session, parts, [], 50, known=task_queries.COUNT_CAP + 50) == \
            (task_queries.COUNT_CAP, False, False)


@pytest.mark.postgres_only
def test_a_count_in_time_does_not_leave_its_budget_behind(inbox_app: Flask) -> None:  # noqa: ANN001
    """SET LOCAL outlives the savepoint it was set in: the budget must be taken back after the count."""
    parts = task_queries.visible_parts(DISPATCHER)
    with state(inbox_app).db.read() as session:
        session.execute(sql("SET LOCAL statement_timeout = '7s'"))
        assert task_queries.budgeted_count(session, parts, [], 500, known=3) == (5, True, False)
        assert timeout_now(session) == "7s"
        session.execute(sql("SELECT pg_sleep(0.6)"))  # longer than the budget, shorter than 7 s
    with state(inbox_app).db.read() as session:
        before = timeout_now(session)
        assert task_queries.budgeted_count(session, parts, [], 500, known=3) == (5, True, False)
        assert timeout_now(session) == before


def test_two_significant_figures() -> None:
    assert [task_queries.two_figures(n) for n in (0, 7, 99, 100, 155, 4_505, 4_550, 9_960, 272_697)] == \
        [0, 7, 99, 100, 160, 4_500, 4_600, 10_000, 270_000]


def test_the_ui_shows_an_estimated_total_as_about(inbox_app: Flask, monkeypatch) -> None:  # noqa: ANN001
    """An estimated total reads "约 4,500" (about); the pager offers Next while pages are full."""
    monkeypatch.setattr(inbox_ui, "PAGE_SIZE", 2)
    monkeypatch.setattr(task_queries, "budgeted_count", lambda *a, **k: (4_500, False, True))
    client = signed_in(inbox_app, "dispatcher")
    page = client.get("/inbox").get_data(as_text=True)
    assert "共 约 4,500 项" in page and "1 / 约 2,250" in page and "page=2" in page
    assert "共 约 4,500 项" in client.get("/inbox/rows").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    client.post("/language", data={"lang": "en", "csrf_token": token})
    page = client.get("/inbox").get_data(as_text=True)
    assert "about 4,500 tasks" in page and "1 / about 2,250" in page
