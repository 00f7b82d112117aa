"""engine.case_access and engine.directory: who may open a case; the user directory the UI reads."""
from __future__ import annotations

import pytest

from engine import case_access, directory, users
from engine.errors import Forbidden, NotFound
from engine.viewer import SYSTEM
from tests.ui_support import BILLING, COMPLAINT, DISPATCHER, INTAKE, NETWORK, SUPERVISOR, viewer


@pytest.fixture
def number(engine) -> str:  # noqa: ANN001
    return engine.start_complaint(COMPLAINT, "intake")["number"]


def may(engine, who, number: str) -> bool:  # noqa: ANN001
    with engine.db.read() as session:
        return case_access.may_view_case(session, who, number)


def test_desks_that_work_across_cases_may_open_any(engine, number: str) -> None:  # noqa: ANN001
    for who in (INTAKE, DISPATCHER, SUPERVISOR, viewer("e", "escalation"), viewer("a", "appeals")):
        assert may(engine, who, number)
    assert not may(engine, viewer("o", "owner"), number)


def test_a_department_may_open_a_case_once_a_task_is_theirs(engine, number: str) -> None:  # noqa: ANN001
    assert not may(engine, NETWORK, number)
    task = engine.get_case(number, SYSTEM)["tasks"][0]
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "请核查"})
    assert may(engine, NETWORK, number) and not may(engine, BILLING, number)
    handle = engine.get_case(number, SYSTEM)["tasks"][0]
    engine.complete(handle["id"], NETWORK, {"resolution": "已处理", "resolved": True})
    assert may(engine, NETWORK, number)  # still, after the task is done
    with engine.db.read() as session, pytest.raises(Forbidden):
        case_access.require_case_access(session, BILLING, number)


def test_someone_who_acted_on_the_case_may_open_it(engine, number: str, fast_hashing) -> None:  # noqa: ANN001
    from engine import comments

    users.seed_demo_users(engine.db, only=["billing"])
    with engine.db.write() as session:
        comments.add_comment(session, number, "billing", "计费侧已核实")
    assert may(engine, BILLING, number)


def test_unknown_case(engine) -> None:  # noqa: ANN001
    with engine.db.read() as session, pytest.raises(NotFound):
        case_access.may_view_case(session, SUPERVISOR, "TS20260302999999")


def test_directory(db, fast_hashing) -> None:  # noqa: ANN001
    users.seed_demo_users(db, only=["network", "billing", "dispatcher"])
    with db.write() as session:
        users.create_user(session, "gone", "demo", ["dept:network"])
        session.flush()
        from sqlalchemy import update

        from engine.models import User

        session.execute(update(User).where(User.username == "gone").values(active=False))
    assert directory.active_viewer(db, "network") == NETWORK
    assert directory.active_viewer(db, "gone") is None
    assert directory.active_viewer(db, "nobody") is None and directory.active_viewer(db, "") is None
    with db.read() as session:
        assert directory.display_names(session, ["network", None, "nobody"]) == {"network": "网络部处理员"}
        assert directory.display_names(session, []) == {}
        assert [u["username"] for u in directory.users_with_role(session, "dept:network")] == ["network"]
        assert [u["username"] for u in directory.users_with_role(session, None)] == ["billing", "dispatcher",
                                                                                      "network"]
