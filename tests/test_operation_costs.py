"""What one operation costs: the reply comes from the workflow the operation ran, in its own transaction.

Starting or completing used to load the case a second time (and open more transactions) to build
the reply; these tests pin down that it does not, and that the reply is still exactly what
get_case answers afterwards. The SQL statement counts below pin down the rest of docs/PERFORMANCE.md's
"Where the time goes": the short reply (``view="summary"``), one statement to lock a task's case,
the case's task rows read once, one calendar check, and index rows written only when they change.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, inspect, select

from engine.case_facts import CaseFact
from engine.case_sync import case_data, clock_rows, waiting_timers
from engine.errors import BadRequest
from engine.models import CaseClock, HumanTask, ProcessInstance, Timer
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


# -- SQL statements per operation ---------------------------------------------------------------------


@contextmanager
def statements(engine):  # noqa: ANN001, ANN201
    """The SQL statements run on the engine's database while the block runs (both SQLite engines)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    targets = {id(e): e for e in (engine.db.engine, engine.db._write_engine)}.values()
    for target in targets:
        event.listen(target, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", note)


def touching(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if re.search(rf"\b{table}\b", s)]


def test_summary_replies_hold_the_number_status_and_the_full_views_tasks(engine) -> None:  # noqa: ANN001
    started = engine.start_complaint(COMPLAINT, "intake", view="summary")
    assert set(started) == {"number", "process_id", "status", "tasks"}
    number = started["number"]
    full = engine.get_case(number, Viewer("system", frozenset({"supervisor"})))
    assert started["status"] == full["status"] == "running"
    assert started["tasks"] == full["tasks"] and started["tasks"]
    task = only_task(engine, DISPATCHER)
    reply = engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"},
                            view="summary")
    assert reply["task_id"] == task["id"]
    assert reply["case"] == {key: value for key, value in engine.get_case(number, DISPATCHER).items()
                             if key in ("number", "process_id", "status", "tasks")}


def test_an_unknown_view_is_refused_before_anything_runs(engine) -> None:  # noqa: ANN001
    with pytest.raises(BadRequest) as raised:
        engine.start_complaint(COMPLAINT, "intake", view="everything")
    assert raised.value.fields == {"view": "everything"}
    with engine.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_a_summary_completion_reads_no_timeline_timers_or_sms_and_runs_few_statements(engine) -> None:  # noqa: ANN001
    engine.start_complaint(COMPLAINT, "intake")
    task = only_task(engine, DISPATCHER)
    with statements(engine) as seen:
        engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"},
                        view="summary")
    assert not touching(seen, "sms_outbox")
    # The only read of the audit trail is case_facts' stage times (its type/task/bpmn/at columns).
    assert all("audit_events.data" not in s for s in seen if s.startswith("SELECT"))
    # Locked with its task in one statement, the case's task rows read once, the calendar checked with one.
    assert len([s for s in touching(seen, "human_tasks") if s.startswith("SELECT")]) == 2
    assert len(touching(seen, "calendar_days")) == 1
    # SQLite's BEGIN IMMEDIATE and the 15 statements of the step (PostgreSQL: the same 15, the lock with
    # FOR UPDATE). It was 31 on PostgreSQL with the token check, before summaries and the skips of save().
    assert len(seen) <= 16, "\n".join(seen)


def test_saving_an_unchanged_case_writes_only_its_state(engine) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    with engine.db.write() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        workflow, definition = engine.runner.load(session, instance)
        with statements(engine) as seen:
            engine.runner.save(session, instance, workflow, definition, "test")
    writes = [s for s in seen if not s.startswith("SELECT")]
    # At most UPDATE process_instances (none here: under the frozen test clock the state is the same bytes).
    assert all(s.startswith("UPDATE process_instances") for s in writes), writes
    assert not touching(seen, "case_clocks") and not touching(seen, "timers") and not touching(seen, "message_waits")
    assert not [s for s in touching(seen, "case_facts") if not s.startswith("SELECT")]


def test_indexes_still_follow_a_change_after_a_load(engine) -> None:  # noqa: ANN001
    """The skip above must not hide a real change: a step that opens a task, moves timers and clocks."""
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task = only_task(engine, DISPATCHER)
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"})
    with engine.db.read() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        workflow, _ = engine.runner.load(session, instance)
        wanted_timers = {task_id: due for task_id, (_, due) in waiting_timers(workflow).items()}
        rows = {t.task_id: t.due_at for t in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
        assert rows == wanted_timers
        clocks = {c.name: c.due_at
                  for c in session.scalars(select(CaseClock).where(CaseClock.instance_id == instance.id))}
        assert clocks == {name: values["due_at"] for name, values in clock_rows(case_data(workflow)).items()}
        assert {t.id for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))} == {
            only_task(engine, NETWORK)["id"]}


def test_case_facts_are_updated_in_one_statement_and_keep_their_time_when_unchanged(engine, clock) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]

    def save(change: dict) -> list[str]:
        with engine.db.write() as session:
            instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
            workflow, definition = engine.runner.load(session, instance)
            workflow.task_tree.data.update(change)
            with statements(engine) as seen:
                engine.runner.save(session, instance, workflow, definition, "test")
        return [s for s in touching(seen, "case_facts") if s.startswith("UPDATE")]

    def stamped() -> tuple:
        with engine.db.read() as session:
            instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
            fact = session.get(CaseFact, instance.id)
            return fact.satisfaction, fact.updated_at

    clock.advance(600)
    # Two columns change: one UPDATE (the stage-time query used to flush the first change on its own).
    assert len(save({"satisfaction": "满意", "city": "上海"})) == 1
    satisfaction, changed_at = stamped()
    assert satisfaction == "满意" and changed_at == clock.now()
    clock.advance(600)
    assert save({}) == []
    assert stamped() == (satisfaction, changed_at)


# -- the short reply over HTTP ---------------------------------------------------------------------------


def test_the_api_gives_the_summary_on_request_and_names_a_bad_view(client, headers_for, deployed) -> None:  # noqa: ANN001
    from tests.test_api_contract import COMPLAINT as API_COMPLAINT
    from tests.test_api_contract import first_task

    intake = headers_for("intake")
    response = client.post("/api/v1/complaints?view=summary", json=API_COMPLAINT, headers=intake)
    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert set(summary) == {"number", "process_id", "status", "tasks"}
    assert response.headers["Location"].endswith(summary["number"])
    task = first_task(client, headers_for, summary["number"])
    response = client.post(f"/api/v1/tasks/{task['id']}/complete?view=summary",
                           json={"data": {"first_contact_solved": False}}, headers=intake)
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()["case"]) == {"number", "process_id", "status", "tasks"}
    response = client.post("/api/v1/complaints?view=short", json=API_COMPLAINT, headers=intake)
    assert response.status_code == 400 and response.get_json()["error"]["fields"] == {"view": "short"}


def test_the_openapi_document_describes_the_summary(client) -> None:  # noqa: ANN001
    document = client.get("/api/v1/openapi.json").get_json()
    assert "CaseSummary" in document["components"]["schemas"]
    for path, method in (("/api/v1/complaints", "post"), ("/api/v1/tasks/{task_id}/complete", "post")):
        names = [p.get("name") for p in document["paths"][path][method]["parameters"]]
        assert "view" in names, (path, names)
