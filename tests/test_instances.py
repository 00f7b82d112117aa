"""Engine operations on a deployed complaint process, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from engine.errors import Conflict, Forbidden, NotFound, ProcessFault, ValidationFailed
from engine.models import AuditEvent, HumanTask, ProcessInstance, Timer
from engine.service import TaskFilters
from engine.viewer import Viewer
from tests.conftest import deploy_test_model

DISPATCHER = Viewer("dispatcher", frozenset({"dispatcher"}))
DISPATCHER_2 = Viewer("dispatcher2", frozenset({"dispatcher"}))
NETWORK = Viewer("network", frozenset({"dept:network"}))
BILLING = Viewer("billing", frozenset({"dept:billing"}))
SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))

COMPLAINT = {
    "phone": "13800138000", "customer_name": "张三", "star_level": 2, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "手机上网很慢", "request": "尽快修复",
}


def start(engine, **overrides):  # noqa: ANN001, ANN003, ANN201
    return engine.start_complaint({**COMPLAINT, **overrides}, "intake")


def only_task(engine, viewer):  # noqa: ANN001, ANN201
    items = engine.list_tasks(viewer, TaskFilters())["items"]
    assert len(items) == 1, items
    return items[0]


def test_start_creates_numbered_case_with_dispatch_task(engine, clock):  # noqa: ANN001
    case = start(engine)
    assert case["number"] == "TS20260302000001"
    assert case["status"] == "running"
    assert start(engine)["number"] == "TS20260302000002"
    task = engine.list_tasks(DISPATCHER, TaskFilters(q="TS20260302000001"))["items"][0]
    assert task["role"] == "dispatcher" and task["name"] == "审核派发"
    # Ordinary customer: 48 natural hours from receipt.
    assert task["due_at"] == "2026-03-04T01:00:00+00:00"
    assert task["tier"] == "standard" and task["category"] == "mobile_data" and task["city"] == "北京"
    assert case["sla"] == [{"name": "closure", "policy": "closure_48h", "basis": None,
                            "due_at": "2026-03-04T01:00:00+00:00", "remind_at": None, "breached": False,
                            "paused": False, "met_at": None}]
    types = [e["type"] for e in case["timeline"]]
    assert types[:1] == ["case_started"] and "task_ready" in types


def test_high_star_gets_24h_and_goes_first(engine):  # noqa: ANN001
    start(engine)
    start(engine, star_level=5, phone="13900139000")
    items = engine.list_tasks(DISPATCHER, TaskFilters(sort="priority"))["items"]
    assert [i["tier"] for i in items] == ["high", "standard"]
    assert items[0]["due_at"] == "2026-03-03T01:00:00+00:00"
    assert engine.list_tasks(DISPATCHER, TaskFilters(sort="due"))["items"][0]["tier"] == "high"


def test_invalid_complaint_names_each_field(engine, db):  # noqa: ANN001
    with pytest.raises(ValidationFailed) as err:
        start(engine, star_level=9, channel="fax", phone="x")
    assert set(err.value.fields) == {"star_level", "channel", "phone"}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_complete_walks_the_case_to_the_end(engine):  # noqa: ANN001
    number = start(engine)["number"]
    task = only_task(engine, DISPATCHER)
    result = engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"})
    assert result["case"]["status"] == "running"
    handle = only_task(engine, NETWORK)
    assert handle["role"] == "dept:network"
    assert engine.list_tasks(DISPATCHER, TaskFilters())["total"] == 0
    case = engine.complete(handle["id"], NETWORK, {"resolution": "已优化基站", "resolved": True})["case"]
    assert case["status"] == "completed" and case["tasks"] == [] and case["timers"] == []
    completed = [e for e in case["timeline"] if e["type"] == "task_completed" and e["actor"] != "engine"]
    assert [(e["actor"], e["bpmn_id"]) for e in completed] == [("dispatcher", "Task_dispatch"),
                                                                ("network", "Task_handle")]
    assert completed[0]["data"]["form_data"]["department"] == "network"
    assert engine.get_case(number, SUPERVISOR)["data"]["resolution"] == "已优化基站"


def test_form_errors_are_per_field_and_change_nothing(engine, db):  # noqa: ANN001
    start(engine)
    task = only_task(engine, DISPATCHER)
    with db.read() as session:
        before = session.scalar(select(ProcessInstance.version))
    with pytest.raises(ValidationFailed) as err:
        engine.complete(task["id"], DISPATCHER, {"department": "moon", "extra": 1})
    assert "department" in err.value.fields and "dispatch_note" in err.value.fields
    with db.read() as session:
        assert session.scalar(select(ProcessInstance.version)) == before
    assert only_task(engine, DISPATCHER)["id"] == task["id"]


def test_completing_twice_is_a_conflict(engine):  # noqa: ANN001
    start(engine)
    task = only_task(engine, DISPATCHER)
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    with pytest.raises(Conflict):
        engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    with pytest.raises(NotFound):
        engine.complete("00000000-0000-0000-0000-000000000000", DISPATCHER, {})


def test_other_department_cannot_see_or_complete(engine):  # noqa: ANN001
    start(engine)
    task = only_task(engine, DISPATCHER)
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    handle = only_task(engine, NETWORK)
    assert engine.list_tasks(BILLING, TaskFilters())["total"] == 0
    with pytest.raises(Forbidden):
        engine.get_task(handle["id"], BILLING)
    with pytest.raises(Forbidden):
        engine.complete(handle["id"], BILLING, {"resolution": "x", "resolved": True})


def test_claim_release_reassign(engine, db):  # noqa: ANN001
    from engine.users import create_user

    with db.write() as session:
        create_user(session, "dispatcher2", "pw-123456", ["dispatcher"])
    start(engine)
    task = only_task(engine, DISPATCHER)
    assert engine.claim(task["id"], DISPATCHER)["assignee"] == "dispatcher"
    assert engine.claim(task["id"], DISPATCHER)["assignee"] == "dispatcher"  # idempotent for the holder
    with pytest.raises(Conflict):
        engine.claim(task["id"], DISPATCHER_2)
    with pytest.raises(Conflict):
        engine.complete(task["id"], DISPATCHER_2, {"department": "network", "dispatch_note": "x"})
    with pytest.raises(Conflict):
        engine.release(task["id"], DISPATCHER_2)
    assert engine.release(task["id"], DISPATCHER)["assignee"] is None
    with pytest.raises(Forbidden):
        engine.reassign(task["id"], DISPATCHER, "dispatcher2")
    assert engine.reassign(task["id"], SUPERVISOR, "dispatcher2")["assignee"] == "dispatcher2"
    with pytest.raises(ValidationFailed):
        engine.reassign(task["id"], SUPERVISOR, "nobody")
    assert engine.list_tasks(DISPATCHER_2, TaskFilters(assignee="me"))["total"] == 1
    types = [e["type"] for e in engine.get_case(task["complaint_number"], SUPERVISOR)["timeline"]]
    assert types.count("task_claimed") == 2 and "task_released" in types and "task_reassigned" in types


def test_reminder_then_escalation_timers_fire_on_the_clock(engine, clock):  # noqa: ANN001
    number = start(engine)["number"]
    case = engine.get_case(number, SUPERVISOR)
    assert [t["due_at"] for t in case["timers"]] == ["2026-03-03T13:00:00+00:00", "2026-03-04T01:00:00+00:00"]
    assert engine.fire_due_timers() == 0
    clock.set(datetime(2026, 3, 3, 13, 0, 1, tzinfo=UTC))  # 75% of 48 h
    assert engine.fire_due_timers() == 1
    case = engine.get_case(number, SUPERVISOR)
    assert case["data"].get("reminded") is True and "escalated" not in case["data"]
    assert len(case["timers"]) == 1
    clock.set(datetime(2026, 3, 4, 1, 0, 1, tzinfo=UTC))
    assert engine.fire_due_timers() == 1
    case = engine.get_case(number, SUPERVISOR)
    assert case["data"].get("escalated") is True and case["timers"] == []
    assert case["sla"][0]["breached"] is True
    assert only_task(engine, DISPATCHER)["overdue"] is True
    fired = [e["bpmn_id"] for e in case["timeline"] if e["type"] == "timer_fired"]
    assert fired == ["Timer_dispatch_remind", "Timer_dispatch_escalate"]
    assert engine.list_tasks(DISPATCHER, TaskFilters(overdue=True))["total"] == 1


def test_timers_due_while_down_fire_on_start_up(engine, clock, db, settings):  # noqa: ANN001
    from engine.scheduler import drain_due_timers
    from engine.service import ComplaintEngine

    numbers = [start(engine, phone=f"1380013800{i}")["number"] for i in range(3)]
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))  # nothing ran for a week
    restarted = ComplaintEngine(db, settings)
    assert drain_due_timers(restarted) == 3  # one firing per case runs both due timers
    for number in numbers:
        data = restarted.get_case(number, SUPERVISOR)["data"]
        assert data["reminded"] is True and data["escalated"] is True
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == 0


def test_crash_between_claim_and_commit_loses_no_timer(engine, clock, db):  # noqa: ANN001
    number = start(engine)["number"]
    clock.set(datetime(2026, 3, 3, 13, 0, 1, tzinfo=UTC))

    def crash(_timer) -> None:  # noqa: ANN001
        raise RuntimeError("worker died")

    engine.timers.before_commit = crash
    assert engine.fire_due_timers() == 0
    with db.read() as session:
        timer = session.scalars(select(Timer).order_by(Timer.due_at)).first()
        assert timer.bpmn_id == "Timer_dispatch_remind" and timer.attempts == 1
    assert "reminded" not in engine.get_case(number, SUPERVISOR)["data"]
    engine.timers.before_commit = None
    clock.set(datetime(2026, 3, 3, 13, 1, tzinfo=UTC))  # past the retry delay
    assert engine.fire_due_timers() == 1
    assert engine.fire_due_timers() == 0
    case = engine.get_case(number, SUPERVISOR)
    assert case["data"]["reminded"] is True
    assert [e["type"] for e in case["timeline"]].count("timer_fired") == 1


def test_two_concurrent_completions_exactly_one_wins(engine, db):  # noqa: ANN001
    number = start(engine)["number"]
    task = only_task(engine, DISPATCHER)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        try:
            engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    case = engine.get_case(number, SUPERVISOR)
    assert [t["bpmn_id"] for t in case["tasks"]] == ["Task_handle"]
    completed = [e for e in case["timeline"] if e["type"] == "task_completed" and e["actor"] == "dispatcher"]
    assert len(completed) == 1


def test_suspend_resume_cancel(engine, clock, db):  # noqa: ANN001
    number = start(engine)["number"]
    task = only_task(engine, DISPATCHER)
    with pytest.raises(Forbidden):
        engine.suspend(number, DISPATCHER)
    assert engine.suspend(number, SUPERVISOR)["status"] == "suspended"
    with pytest.raises(Conflict):
        engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    assert engine.fire_due_timers() == 0  # a suspended case's timers wait
    with pytest.raises(Conflict):
        engine.suspend(number, SUPERVISOR)
    assert engine.resume(number, SUPERVISOR)["status"] == "running"
    assert engine.fire_due_timers() == 1
    case = engine.cancel(number, SUPERVISOR, "重复工单")
    assert case["status"] == "cancelled" and case["tasks"] == [] and case["timers"] == []
    with pytest.raises(Conflict):
        engine.resume(number, SUPERVISOR)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 0


def test_messages_start_and_correlate(engine):  # noqa: ANN001
    deploy_test_model(engine, "message_flow.bpmn")
    started = engine.send_message("appeal_received", None, {"regulator_ticket": "GX-1"}, "appeals")
    assert started["started"] is True and started["number"].startswith("CF")
    case = engine.get_case(started["number"], SUPERVISOR)
    assert case["data"]["appeal"] == {"regulator_ticket": "GX-1"} and case["tasks"] == []
    with pytest.raises(NotFound):
        engine.send_message("customer_info", "NO-SUCH-CASE", {}, "appeals")
    with pytest.raises(NotFound):
        engine.send_message("unknown_message", None, {}, "appeals")
    delivered = engine.send_message("customer_info", started["number"], {"docs": 2}, "appeals")
    assert delivered == {"number": started["number"], "started": False}
    case = engine.get_case(started["number"], SUPERVISOR)
    assert case["data"]["info"] == {"docs": 2}
    assert [t["bpmn_id"] for t in case["tasks"]] == ["Review"]
    assert [e["type"] for e in case["timeline"]].count("message_received") == 2
    review = only_task(engine, Viewer("appeals", frozenset({"appeals"})))
    assert review["kind"] == "manual"


def test_model_fault_is_recorded_and_case_recoverable(engine, clock, db):  # noqa: ANN001
    deploy_test_model(engine, "failing_script.bpmn")
    number = engine.start("failing_script", {"divisor": 0}, "intake")["number"]
    with db.read() as session:
        before = session.scalar(select(ProcessInstance.state_json).where(ProcessInstance.business_key == number))
    clock.advance(3601)
    assert engine.fire_due_timers() == 0
    case = engine.get_case(number, SUPERVISOR)
    assert case["status"] == "running" and "ZeroDivisionError" in case["last_error"]
    assert any(e["type"] == "error" for e in case["timeline"])
    with db.read() as session:
        state, = session.execute(select(ProcessInstance.state_json).where(
            ProcessInstance.business_key == number)).one()
        assert state == before
        assert session.scalar(select(Timer.attempts)) == 1


def test_starting_an_undeployed_process_is_not_found(engine):  # noqa: ANN001
    with pytest.raises(NotFound):
        engine.start("no_such_process", {}, "intake")


def _fail_start(engine):  # noqa: ANN001, ANN202
    from engine.service import UploadedFile

    bpmn = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
        'targetNamespace="t"><bpmn:process id="boom_now" isExecutable="true">'
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="Boom"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>'
        '<bpmn:script>x = undefined_name + 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="F1" sourceRef="StartEvent" targetRef="Boom"/>'
        '<bpmn:sequenceFlow id="F2" sourceRef="Boom" targetRef="EndEvent"/></bpmn:process></bpmn:definitions>'
    )
    engine.deploy([UploadedFile("boom_now.bpmn", bpmn.encode())], "owner")
    return engine.start("boom_now", {}, "intake")


def test_new_case_rolled_back_on_fault_leaves_no_instance(engine, db):  # noqa: ANN001
    with pytest.raises(ProcessFault):
        _fail_start(engine)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        errors = session.scalars(select(AuditEvent).where(AuditEvent.type == "error")).all()
        assert len(errors) == 1 and "undefined_name" in errors[0].data["message"]


def test_audit_log_refuses_update_and_delete(engine, db):  # noqa: ANN001
    start(engine)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            with db.write() as session:
                session.execute(text(statement))


def test_a_lost_update_is_caught_by_the_version_check(engine, monkeypatch):  # noqa: ANN001
    """Even if the row lock were missing, a save over a newer version is a 409 and changes nothing."""
    from sqlalchemy import update

    start(engine)
    task = only_task(engine, DISPATCHER)
    real_load = engine.runner.load

    def load_then_someone_else_saves(session, instance):  # noqa: ANN001, ANN202
        loaded = real_load(session, instance)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                        .values(version=ProcessInstance.version + 1)
                        .execution_options(synchronize_session=False))
        return loaded

    monkeypatch.setattr(engine.runner, "load", load_then_someone_else_saves)
    with pytest.raises(Conflict, match="changed by someone else"):
        engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    monkeypatch.undo()
    assert only_task(engine, DISPATCHER)["id"] == task["id"]


def test_form_data_replaces_lists_and_a_terminate_end_ends_the_case(engine):  # noqa: ANN001
    deploy_test_model(engine, "terminate_flow.bpmn")
    case = engine.start("terminate_flow", {"departments": ["billing", "network"]}, "x")
    pick = [t for t in case["tasks"] if t["bpmn_id"] == "Pick"][0]
    done = engine.complete(pick["id"], SUPERVISOR, {"departments": ["channel"]})["case"]
    assert done["data"]["departments"] == ["channel"]
    assert done["status"] == "completed" and done["tasks"] == []


@pytest.mark.parametrize("outcome", ["message", "timer"])
def test_event_based_gateway_waits_for_message_or_timer(engine, clock, outcome):  # noqa: ANN001
    deploy_test_model(engine, "event_gateway.bpmn")
    number = engine.start("event_gateway", {}, "x")["number"]
    case = engine.get_case(number, SUPERVISOR)
    assert [t["bpmn_id"] for t in case["timers"]] == ["Wait"]  # the gateway waits for both
    assert case["timers"][0]["due_at"] == "2026-03-04T01:00:00+00:00"
    if outcome == "message":
        engine.send_message("customer_info_received", number, {"docs": 1}, "x")
    else:
        clock.advance(48 * 3600 + 1)
        assert engine.fire_due_timers() == 1
    case = engine.get_case(number, SUPERVISOR)
    assert case["status"] == "completed" and case["timers"] == []
    ended = [e["bpmn_id"] for e in case["timeline"] if e["type"] == "task_completed"]
    assert ("EndInfo" in ended) == (outcome == "message") and ("EndTimeout" in ended) == (outcome == "timer")


def test_a_department_reads_only_cases_routed_to_it(engine):  # noqa: ANN001
    number = start(engine)["number"]
    with pytest.raises(Forbidden):
        engine.get_case(number, NETWORK)
    with pytest.raises(Forbidden):  # an unknown number too: case numbers are sequential, so no hint of which exist
        engine.get_case("TS20990101000001", NETWORK)
    assert engine.get_case(number, DISPATCHER)["number"] == number  # the desks read every case
    task = only_task(engine, DISPATCHER)
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    assert engine.get_case(number, NETWORK)["number"] == number
    assert engine.complete(only_task(engine, NETWORK)["id"], NETWORK,
                           {"resolution": "done", "resolved": True})["case"]["status"] == "completed"
    assert engine.get_case(number, NETWORK)["status"] == "completed"  # still readable: it was theirs
    with pytest.raises(Forbidden):
        engine.get_case(number, BILLING)
