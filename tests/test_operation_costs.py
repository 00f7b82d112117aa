"""What one operation costs: the reply comes from the workflow the operation ran, in its own transaction.

Starting or completing used to load the case a second time (and open more transactions) to build
the reply; these tests pin down that it does not, and that the reply is still exactly what
get_case answers afterwards.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import inspect, select

from engine.models import ProcessInstance
from engine.viewer import Viewer
from tests.test_instances import COMPLAINT, DISPATCHER, NETWORK, only_task

INTAKE = Viewer("intake", frozenset({"intake"}))


@contextmanager
def counting(engine, monkeypatch):  # noqa: ANN001, ANN201
    """Counts workflow loads and read / write transactions while the block runs."""
    counts = {"load": 0, "read": 0, "write": 0}
    for owner, name in ((engine.runner, "load"), (engine.db, "read"), (engine.db, "write")):
        original = getattr(owner, name)

        def counted(*args, _original=original, _name=name, **kwargs):  # noqa: ANN002, ANN003, ANN202
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    yield counts
    monkeypatch.undo()


def test_start_replies_from_its_own_transaction(engine, monkeypatch) -> None:  # noqa: ANN001
    with counting(engine, monkeypatch) as counts:
        case = engine.start_complaint(COMPLAINT, "intake")
    assert counts == {"load": 0, "read": 0, "write": 1}
    assert case == engine.get_case(case["number"], Viewer("system", frozenset({"supervisor"})))


def test_complete_loads_the_case_once_and_replies_what_get_case_says(engine, monkeypatch) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task = only_task(engine, DISPATCHER)
    with counting(engine, monkeypatch) as counts:
        reply = engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"})
    # One write transaction, one load; the calendar check runs inside it too.
    assert counts == {"load": 1, "read": 0, "write": 1}
    assert reply["case"] == engine.get_case(number, DISPATCHER)
    # The next user's view of the same case: tasks filtered for them, case finished by their step.
    handle = only_task(engine, NETWORK)
    reply = engine.complete(handle["id"], NETWORK, {"resolution": "已优化基站", "resolved": True})
    assert reply["case"] == engine.get_case(number, NETWORK)


def test_operations_leave_the_spec_text_unread(engine) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    with engine.db.read() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        definition = engine.runner.definition(session, instance)
        # The parsed spec is cached per version, so its 100 KB of JSON is not fetched per operation.
        assert "spec_json" in inspect(definition).unloaded
        engine.runner.load(session, instance)
        assert "spec_json" in inspect(definition).unloaded
