"""The inbox counts up to a cap and says "N+" beyond it (API ``total_exact``, UI "3+"), and its
per-part paging (one index walk per role, one for tasks held outside them) pages as one sorted list."""
from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from engine import holidays, task_queries, users
from engine.service import TaskFilters
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT, DISPATCHER, NETWORK, SUPERVISOR
from webapp import state

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
