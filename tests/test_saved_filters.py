"""engine.saved_filters: own filters, sharing with a role, replacing by name, deleting."""
from __future__ import annotations

import pytest

from engine import saved_filters, users
from engine.errors import Forbidden, NotFound, ValidationFailed
from tests.ui_support import BILLING, DISPATCHER, NETWORK, SUPERVISOR, viewer


@pytest.fixture
def db(db, fast_hashing):  # noqa: ANN001, ANN201
    users.seed_demo_users(db, only=["dispatcher", "network", "billing", "supervisor"])
    with db.write() as session:
        users.create_user(session, "network2", "demo", ["dept:network"])
    return db


def save(db, who, name, query, role=None) -> dict:  # noqa: ANN001
    with db.write() as session:
        return saved_filters.save_filter(session, who, name, query, role)


def listed(db, who) -> list[dict]:  # noqa: ANN001
    with db.read() as session:
        return saved_filters.list_filters(session, who)


def test_a_user_sees_own_filters_and_those_shared_with_their_roles(db) -> None:  # noqa: ANN001
    save(db, NETWORK, "超时的", {"overdue": "true", "scope": "inbox"})
    save(db, NETWORK, "SVIP", {"tier": "svip"}, role="dept:network")
    save(db, DISPATCHER, "宽带", {"business_line": "broadband"})
    colleague = viewer("network2", "dept:network")
    assert [(f["name"], f["mine"]) for f in listed(db, NETWORK)] == [("SVIP", True), ("超时的", True)]
    assert [(f["name"], f["owner"], f["mine"]) for f in listed(db, colleague)] == [("SVIP", "network", False)]
    assert [f["name"] for f in listed(db, BILLING)] == []
    assert listed(db, NETWORK)[1]["query"] == {"overdue": "true", "scope": "inbox"}


def test_saving_under_the_same_name_replaces_the_filter(db) -> None:  # noqa: ANN001
    first = save(db, DISPATCHER, "我的", {"q": "张"})
    second = save(db, DISPATCHER, " 我的 ", {"q": "李", "category": ""}, role="dispatcher")
    assert first["id"] == second["id"]
    assert listed(db, DISPATCHER) == [{**second, "query": {"q": "李"}}]


def test_sharing_is_limited_to_own_roles_except_for_supervisors(db) -> None:  # noqa: ANN001
    with pytest.raises(Forbidden):
        save(db, NETWORK, "给计费", {"q": "x"}, role="dept:billing")
    shared = save(db, SUPERVISOR, "给计费", {"q": "x"}, role="dept:billing")
    assert [f["id"] for f in listed(db, BILLING)] == [shared["id"]]


@pytest.mark.parametrize(("name", "query", "role", "field"), [
    ("", {"q": "x"}, None, "name"),
    ("x" * 65, {"q": "x"}, None, "name"),
    ("ok", {"nonsense": "1"}, None, "nonsense"),
    ("ok", {"q": "x" * 101}, None, "q"),
    ("ok", {"q": 5}, None, "q"),
    ("ok", {"q": "x"}, "not a role", "shared_role"),
])
def test_bad_filters_are_refused(db, name, query, role, field) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as caught:
        save(db, SUPERVISOR, name, query, role)
    assert field in caught.value.fields
    assert listed(db, SUPERVISOR) == []


def test_only_the_owner_or_a_supervisor_deletes(db) -> None:  # noqa: ANN001
    shared = save(db, NETWORK, "共享", {"q": "x"}, role="dept:network")
    private = save(db, NETWORK, "私有", {"q": "y"})
    with pytest.raises(Forbidden), db.write() as session:
        saved_filters.delete_filter(session, viewer("network2", "dept:network"), shared["id"])
    with pytest.raises(NotFound), db.write() as session:  # someone else's private filter does not exist for them
        saved_filters.delete_filter(session, BILLING, private["id"])
    with db.write() as session:
        saved_filters.delete_filter(session, NETWORK, private["id"])
        saved_filters.delete_filter(session, SUPERVISOR, shared["id"])
    assert listed(db, NETWORK) == []
    with pytest.raises(NotFound), db.write() as session:
        saved_filters.delete_filter(session, NETWORK, private["id"])


def test_get_filter_finds_only_visible_ones(db) -> None:  # noqa: ANN001
    mine = save(db, NETWORK, "a", {"q": "x"})
    with db.read() as session:
        assert saved_filters.get_filter(session, NETWORK, mine["id"])["name"] == "a"
        with pytest.raises(NotFound):
            saved_filters.get_filter(session, BILLING, mine["id"])
