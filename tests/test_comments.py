"""engine.comments: notes on a case, oldest first, with author names; empty or long text refused."""
from __future__ import annotations

import pytest

from engine import comments, users
from engine.errors import NotFound, ValidationFailed
from tests.ui_support import COMPLAINT


@pytest.fixture
def number(engine, fast_hashing) -> str:  # noqa: ANN001
    users.seed_demo_users(engine.db, only=["dispatcher", "network"])
    return engine.start_complaint(COMPLAINT, "intake")["number"]


def test_comments_are_listed_oldest_first_with_display_names(engine, number: str, clock) -> None:  # noqa: ANN001
    with engine.db.write() as session:
        first = comments.add_comment(session, number, "dispatcher", "  请网络部尽快核查  ")
    clock.advance(60)
    with engine.db.write() as session:
        comments.add_comment(session, number, "network", "已安排现场测试")
    with engine.db.read() as session:
        listed = comments.list_comments(session, number)
    assert [c["body"] for c in listed] == ["请网络部尽快核查", "已安排现场测试"]
    assert listed[0]["author_name"] == "派单员" and listed[1]["author"] == "network"
    assert listed[0]["id"] == first["id"] and listed[0]["created_at"] < listed[1]["created_at"]


def test_a_comment_is_on_the_case_timeline(engine, number: str) -> None:  # noqa: ANN001
    with engine.db.write() as session:
        comments.add_comment(session, number, "dispatcher", "备注")
    from engine.viewer import SYSTEM

    events = [e["type"] for e in engine.get_case(number, SYSTEM)["timeline"]]
    assert events[-1] == "comment_added"


@pytest.mark.parametrize("body", ["", "   ", None, 5, "长" * (comments.MAX_LENGTH + 1)])
def test_empty_or_too_long_comments_are_refused_and_nothing_is_stored(engine, number: str, body) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as caught, engine.db.write() as session:
        comments.add_comment(session, number, "dispatcher", body)
    assert "body" in caught.value.fields
    with engine.db.read() as session:
        assert comments.list_comments(session, number) == []


def test_comments_on_an_unknown_case_are_not_found(engine) -> None:  # noqa: ANN001
    with pytest.raises(NotFound), engine.db.write() as session:
        comments.add_comment(session, "TS20260302999999", "dispatcher", "x")
    with pytest.raises(NotFound), engine.db.read() as session:
        comments.list_comments(session, "TS20260302999999")
