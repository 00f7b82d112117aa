"""engine.inbox: the web inbox's scopes and counts, and parity with ComplaintEngine.list_tasks."""
from __future__ import annotations

import pytest

from engine import inbox, users
from engine.service import TaskFilters
from tests.ui_support import COMPLAINT, DISPATCHER, NETWORK, SUPERVISOR, viewer


@pytest.fixture
def cases(engine, clock, fast_hashing) -> list[str]:  # noqa: ANN001
    """Four dispatcher tasks (one claimed by dispatcher, one by a colleague) and one network task."""
    users.seed_demo_users(engine.db, only=["dispatcher", "network", "supervisor"])
    with engine.db.write() as session:
        users.create_user(session, "dispatcher2", "demo", ["dispatcher"])
    numbers = []
    for phone, name, star, svip, category in (("13800000001", "张三", 3, False, "mobile_data"),
                                              ("13800000002", "李四", 5, False, "billing"),
                                              ("13800000003", "王五", 0, True, "mobile_data"),
                                              ("13800000004", "赵六", 1, False, "broadband_repair")):
        numbers.append(engine.start_complaint({**COMPLAINT, "phone": phone, "customer_name": name, "star_level": star,
                                               "svip": svip, "category": category}, "intake")["number"])
        clock.advance(3600)
    tasks = {t["complaint_number"]: t for t in engine.list_tasks(SUPERVISOR, TaskFilters())["items"]}
    engine.claim(tasks[numbers[0]]["id"], DISPATCHER)
    engine.claim(tasks[numbers[1]]["id"], viewer("dispatcher2", "dispatcher"))
    engine.complete(tasks[numbers[3]]["id"], DISPATCHER, {"department": "network", "dispatch_note": "请核查"})
    return numbers


def numbers_of(page: dict) -> list[str]:
    return [t["complaint_number"] for t in page["items"]]


def test_scopes(engine, cases: list[str]) -> None:  # noqa: ANN001
    def scope(who, name) -> list[str]:  # noqa: ANN001
        return sorted(numbers_of(inbox.page(engine, who, TaskFilters(), name)))

    assert scope(DISPATCHER, "mine") == [cases[0]]
    assert scope(DISPATCHER, "unclaimed") == [cases[2]]
    assert scope(DISPATCHER, "inbox") == sorted([cases[0], cases[2]])
    assert scope(DISPATCHER, "all") == sorted(cases[:3])
    assert scope(NETWORK, "inbox") == [cases[3]]
    assert scope(SUPERVISOR, "unclaimed") == sorted([cases[2], cases[3]])
    assert scope(SUPERVISOR, "all") == sorted(cases)


def test_counts_per_scope_with_overdue(engine, cases: list[str], clock) -> None:  # noqa: ANN001
    counts = inbox.counts(engine, DISPATCHER)
    assert {k: counts[k] for k in inbox.SCOPES} == {"inbox": 2, "mine": 1, "unclaimed": 1, "all": 3}
    assert counts["all_overdue"] == 0
    clock.advance(30 * 3600)  # the SVIP case (24 h) is overdue, the others (48 h) not yet
    counts = inbox.counts(engine, DISPATCHER)
    assert counts["unclaimed_overdue"] == 1 and counts["inbox_overdue"] == 1 and counts["mine_overdue"] == 0
    assert inbox.counts(engine, SUPERVISOR)["all"] == 4


@pytest.mark.parametrize("filters", [
    TaskFilters(), TaskFilters(sort="priority"), TaskFilters(sort="age"), TaskFilters(q="李"),
    TaskFilters(q="13800000003"), TaskFilters(category="mobile_data"), TaskFilters(tier="svip"),
    TaskFilters(overdue=True), TaskFilters(overdue=False), TaskFilters(due_within_hours=30),
    TaskFilters(assignee="me"), TaskFilters(role="dispatcher"), TaskFilters(page=2, page_size=1),
    TaskFilters(business_line="mobile", region="urban", city="北京"),
])
@pytest.mark.parametrize("who", [DISPATCHER, NETWORK, SUPERVISOR], ids=["dispatcher", "network", "supervisor"])
def test_the_all_scope_answers_as_list_tasks(engine, cases, filters: TaskFilters, who, clock) -> None:  # noqa: ANN001
    clock.advance(26 * 3600)
    assert inbox.page(engine, who, filters, "all") == engine.list_tasks(who, filters)


def test_unknown_scope_or_sort_is_refused(engine) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        inbox.page(engine, DISPATCHER, TaskFilters(), "everything")
    with pytest.raises(ValueError):
        inbox.page(engine, DISPATCHER, TaskFilters(sort="random"), "all")
