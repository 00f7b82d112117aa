"""Parallel branches meeting at a join (engine.spiff_join): each brings only what it changed.

A branch forks with a copy of the case data. A reminder (催办) branch or a parallel branch that ends
with that copy must not undo what the main flow changed meanwhile, whichever arrives last; what the
branch itself recorded (reminded_at, its result) must survive; and the joined data shares no nested
dict with any other task.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import spiff_join
from engine.models import ProcessInstance
from engine.scripting import RestrictedScriptEngine, ScriptContext
from engine.viewer import SYSTEM, Viewer
from engine.workflow_state import spec_from_json, spec_to_json
from tests.conftest import MODELS_DIR, deploy_test_model
from tests.reports_support import Driver, at, product_engine

SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def loaded_spec(name: str, process_id: str) -> tuple:
    """The model as the engine runs it: parsed, stored as spec JSON and loaded back."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODELS_DIR / name))
    return spec_from_json(spec_to_json(parser.get_spec(process_id), parser.get_subprocess_specs(process_id)))


def run_inline(xml: str, process_id: str) -> BpmnWorkflow:
    """Run an inline model with no user tasks to its end, on specs loaded back from spec JSON."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    spec, subprocesses = spec_from_json(spec_to_json(parser.get_spec(process_id),
                                                     parser.get_subprocess_specs(process_id)))
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine(ScriptContext(now=lambda: NOW)))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow


def run_parallel() -> BpmnWorkflow:
    spec, subprocesses = loaded_spec("branch_join_parallel.bpmn", "branch_join_parallel")
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine(ScriptContext(now=lambda: NOW)))
    workflow.do_engine_steps()
    [slow] = workflow.get_tasks(state=TaskState.READY, manual=True)
    slow.set_data(note="slow note")
    slow.run()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow


def task_of(workflow: BpmnWorkflow, bpmn_id: str):  # noqa: ANN201
    [task] = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == bpmn_id]
    return task


def nested_objects(data: dict) -> set[int]:
    found = set()
    for value in data.values():
        if isinstance(value, dict | list):
            found.add(id(value))
            if isinstance(value, dict):
                found |= nested_objects(value)
    return found


def test_a_branch_arriving_last_with_a_stale_copy_does_not_undo_the_other_branch() -> None:
    workflow = run_parallel()
    # Quick closed the clock and the status first; Slow arrived last, still holding the data from the fork.
    # Each value is the one its last change gave it: Slow's reply (later) and Quick's closure and status.
    assert task_of(workflow, "After").data["seen"] == {
        "closure": "quick", "reply": "slow", "status": "closed", "results": ["done", "slow note"]}
    assert "obsolete" not in workflow.data  # deleted by Quick; Slow's stale copy does not bring it back
    assert workflow.data["clocks"] == {"closure": {"met_at": "quick"}, "reply": {"met_at": "slow"}}


def test_the_join_leaves_the_branches_data_alone_and_shares_none_of_it() -> None:
    workflow = run_parallel()
    assert task_of(workflow, "Quick").data["clocks"] == {"closure": {"met_at": "quick"}, "reply": {"met_at": "quick"}}
    assert task_of(workflow, "SlowDone").data["clocks"] == {"closure": {"met_at": None}, "reply": {"met_at": "slow"}}
    join = task_of(workflow, "Join")
    others = set()
    for task in workflow.get_tasks():
        if task is not join:
            others |= nested_objects(task.data)
    assert nested_objects(join.data) and not nested_objects(join.data) & others


INCLUSIVE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="inclusive" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>counts = {"a": 0, "b": 0}</bpmn:script></bpmn:scriptTask>
    <bpmn:inclusiveGateway id="fork"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:inclusiveGateway>
    <bpmn:scriptTask id="a"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>counts = {"a": 1, "b": counts["b"]}</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="b"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>counts = {"a": counts["a"], "b": 2}</bpmn:script></bpmn:scriptTask>
    <bpmn:inclusiveGateway id="join"><bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming>
      <bpmn:outgoing>f7</bpmn:outgoing></bpmn:inclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init" />
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="fork" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="a"><bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="b"><bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_an_inclusive_gateway_joins_the_changes_of_every_branch_that_ran() -> None:
    workflow = run_inline(INCLUSIVE, "inclusive")
    assert type(workflow.spec.task_specs["join"]) is spiff_join.InclusiveGateway
    # Both conditions hold, so both branches ran; each set its own count in a copy of the same dict.
    assert workflow.data["counts"] == {"a": 1, "b": 2}


LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>n = {"a": 0, "b": 0}
rounds = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f9</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:outgoing>f5</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:scriptTask id="a"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>n = {"a": n["a"] + 1, "b": n["b"]}</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="b"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing>
      <bpmn:script>n = {"a": n["a"], "b": n["b"] + 10}</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f6</bpmn:incoming><bpmn:incoming>f7</bpmn:incoming>
      <bpmn:outgoing>f8</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:scriptTask id="count"><bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f10</bpmn:outgoing>
      <bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f11"><bpmn:incoming>f10</bpmn:incoming>
      <bpmn:outgoing>f9</bpmn:outgoing><bpmn:outgoing>f11</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f11</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init" />
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="merge" />
    <bpmn:sequenceFlow id="f3" sourceRef="merge" targetRef="fork" />
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="a" />
    <bpmn:sequenceFlow id="f5" sourceRef="fork" targetRef="b" />
    <bpmn:sequenceFlow id="f6" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="b" targetRef="join" />
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="count" />
    <bpmn:sequenceFlow id="f10" sourceRef="count" targetRef="again" />
    <bpmn:sequenceFlow id="f9" sourceRef="again" targetRef="merge">
      <bpmn:conditionExpression>rounds &lt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f11" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_parallel_gateway_in_a_loop_joins_each_round_once() -> None:
    workflow = run_inline(LOOP, "loop")
    # Each round's join counts each branch once; the earlier round's branches are not merged again.
    assert workflow.data == {"n": {"a": 3, "b": 30}, "rounds": 3}


def test_specs_stored_before_the_fix_load_with_the_new_joins_and_keep_their_typenames() -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODELS_DIR / "branch_join_parallel.bpmn"))
    spec, subprocesses = parser.get_spec("branch_join_parallel"), parser.get_subprocess_specs("branch_join_parallel")
    plain = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)  # as process_definitions.spec_json was written before
    old_json = json.dumps({"spec": plain.convert(spec), "subprocess_specs": {}})
    loaded, _ = spec_from_json(old_json)
    assert type(loaded.task_specs["Join"]) is spiff_join.ParallelGateway
    assert type(loaded.task_specs["branch_join_parallel.EndJoin"]) is spiff_join._EndJoin
    again = json.loads(spec_to_json(loaded, subprocesses))["spec"]["task_specs"]
    assert (again["Join"]["typename"], again["branch_join_parallel.EndJoin"]["typename"]) == (
        "ParallelGateway", "_EndJoin")


def test_a_reminder_ending_before_the_main_flow_keeps_the_main_flows_clocks_and_its_own_note(engine, clock) -> None:  # noqa: ANN001, E501
    deploy_test_model(engine, "branch_join_reminder.bpmn")
    number = engine.start("branch_join_reminder", {"remind_at": "2026-03-02T02:00:00+00:00"}, "x")["number"]
    clock.advance(3601)
    assert engine.fire_due_timers() == 1  # the reminder branch runs and ends, with the data from before Handle
    clock.advance(600)
    [handle] = engine.get_case(number, SUPERVISOR)["tasks"]
    case = engine.complete(handle["id"], SUPERVISOR, {})["case"]
    assert case["status"] == "completed"
    # Check runs after the subprocess's end join: it sees the main flow's clock and status and the reminder's note.
    assert case["data"]["seen"] == {"closure_met_at": "2026-03-02T02:10:01+00:00", "status": "closed",
                                    "reminded_at": "2026-03-02T02:00:01+00:00"}


def workflow_data(engine, number: str) -> dict:  # noqa: ANN001
    """The data the case's workflow ended with (not the case view's replay of each step)."""
    with engine.db.read() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        workflow, _ = engine.runner.load(session, instance)
        return workflow.data


def test_a_dispatch_reminder_survives_the_end_of_dispatch_with_the_met_clocks(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    number = driver.start("2026-03-03 09:00", "13800000002", svip=True)  # closure 24 h, reminder at 03:00
    driver.first_contact("2026-03-03 09:10", number, solved=False)
    driver.audit("2026-03-03 10:00", number, "billing")
    driver.handle("2026-03-04 08:00", number, "billing")  # the reminder fires first, then the department handles
    driver.review("2026-03-04 08:30", number)
    driver.reply("2026-03-04 09:00", number)
    assert driver.callback("2026-03-04 10:00", number, "满意")["status"] == "completed"
    data = workflow_data(driver.engine, number)
    assert (data["reminded_at"], data["reminded_clock"]) == (at("2026-03-04 08:00").astimezone(UTC).isoformat(),
                                                             "closure")
    assert {name: c["met_at"] is not None for name, c in data["sla_clocks"].items()} == {
        "closure": True, "reply": True, "resolve": True, "statutory": True}


def test_an_appeal_escalation_ending_last_keeps_the_outcome_and_the_met_clock(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    number = driver.appeal("2026-03-02 09:00", "13900000001", "GXB-2026-0100")  # deadline in 5 days
    driver.do("2026-03-02 09:10", number, "Task_appeal_register", {"linked_numbers": [], "register_note": "已登记"})
    # Past the 75% reminder and the deadline: both timer branches fork with the data from before the handling.
    driver.do("2026-03-07 10:00", number, "Task_appeal_preprocess", {"quick_settled": True, "preprocess_note": "核实"})
    driver.do("2026-03-07 10:00", number, "Task_appeal_outcome", {"outcome": "和解", "outcome_note": "已说明"})
    driver.do("2026-03-07 10:00", number, "Task_appeal_report", {"report_text": "和解"})
    assert driver.engine.get_case(number, SYSTEM)["status"] == "running"  # the escalation desk's task is open
    case = driver.do("2026-03-07 11:00", number, "Task_appeal_escalate", {"escalation_note": "已说明超期原因"})
    assert case["status"] == "completed"
    data = workflow_data(driver.engine, number)
    reported = at("2026-03-07 10:00").astimezone(UTC).isoformat()
    assert (data["outcome"], data["reported_at"]) == ("和解", reported)
    assert data["sla_clocks"]["appeal"]["met_at"] == reported
    assert (data["deadline_missed"], data["escalation_note"]) == (True, "已说明超期原因")
    assert data["reminded_at"] == at("2026-03-07 10:00").astimezone(UTC).isoformat()


def test_an_upgrade_press_ending_last_keeps_the_handling_and_the_met_clocks(db, database_url, clock) -> None:  # noqa: ANN001
    driver = Driver(product_engine(db, database_url))
    original = driver.start("2026-03-02 09:00", "13800000003", channel="10015")  # upgraded at once
    [number] = driver.engine.get_case(original, SYSTEM)["links"]["derived"]
    driver.do("2026-03-02 09:30", number, "Task_upgrade_contact", {"contacted": True, "contact_note": "已联系"})
    driver.do("2026-03-02 10:00", number, "Task_upgrade_coordinate", {"department": "network",
                                                                      "supervision_note": "尽快处理"})
    # The press at 75% of the 48 h closure opens the supervisor's task; the department handles after it.
    driver.when("2026-03-03 21:30")
    assert driver.engine.fire_due_timers() == 1
    driver.do("2026-03-03 22:00", number, "Task_upgrade_handle",
              {"findings": "基站故障", "resolution": "已修复", "resolved": True})
    driver.do("2026-03-03 22:10", number, "Task_upgrade_review", {"review_approved": True, "review_note": "同意"})
    driver.do("2026-03-03 22:20", number, "Task_upgrade_callback", {"satisfaction": "满意", "callback_note": "已回访"})
    driver.do("2026-03-03 22:30", number, "Task_upgrade_root_cause",
              {"root_cause_category": "network", "root_cause": "基站故障", "improvement": "巡检"})
    case = driver.do("2026-03-03 23:00", number, "Task_upgrade_press", {"press_note": "已电话催办"})
    assert case["status"] == "completed"
    data = workflow_data(driver.engine, number)
    assert (data["findings"], data["root_cause"], data["press_note"]) == ("基站故障", "基站故障", "已电话催办")
    assert data["archived_at"] == at("2026-03-03 22:30").astimezone(UTC).isoformat()
    assert {name: c["met_at"] for name, c in data["sla_clocks"].items()} == {
        "closure": at("2026-03-03 22:10").astimezone(UTC).isoformat(),
        "statutory": at("2026-03-03 22:10").astimezone(UTC).isoformat()}
