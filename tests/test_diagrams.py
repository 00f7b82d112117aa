"""engine.diagrams: the BPMN files a case runs (its version's, with called processes) and the highlights."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import diagrams
from engine.errors import NotFound
from engine.service import UploadedFile
from engine.viewer import SYSTEM
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT, DISPATCHER

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:cf="http://complaintflow.org/schema/bpmn" targetNamespace="http://complaintflow.org/tests"')
PARENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs_parent">
  <bpmn:process id="parent_flow" name="主流程" isExecutable="true">
    <bpmn:startEvent id="P_start"><bpmn:outgoing>P1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="P_call" name="调用子流程" calledElement="child_flow">
      <bpmn:incoming>P1</bpmn:incoming><bpmn:outgoing>P2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="P_end"><bpmn:incoming>P2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="P1" sourceRef="P_start" targetRef="P_call" />
    <bpmn:sequenceFlow id="P2" sourceRef="P_call" targetRef="P_end" />
  </bpmn:process>
</bpmn:definitions>"""
CHILD = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Defs_child">
  <bpmn:process id="child_flow" name="子流程" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="Lane_d" cf:role="dispatcher"><bpmn:flowNodeRef>C_task</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="C_start"><bpmn:outgoing>C1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="C_task" name="子任务"><bpmn:incoming>C1</bpmn:incoming><bpmn:outgoing>C2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="C_end"><bpmn:incoming>C2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="C1" sourceRef="C_start" targetRef="C_task" />
    <bpmn:sequenceFlow id="C2" sourceRef="C_task" targetRef="C_end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_the_diagram_is_the_deployed_file_of_the_cases_version(engine) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    original = (BASIC_DIR / "processes" / "complaint_intake.bpmn").read_text(encoding="utf-8")
    changed = original.replace('name="审核派发"', 'name="审核并派发"')
    engine.deploy([UploadedFile("complaint_intake.bpmn", changed.encode())], "owner")
    with engine.db.read() as session:
        diagram = diagrams.case_diagram(session, number)
    assert diagram["xml"] == original and diagram["version"] == 1
    assert diagram["process_id"] == "complaint_intake" and diagram["filename"] == "complaint_intake.bpmn"
    assert [d["filename"] for d in diagram["diagrams"]] == ["complaint_intake.bpmn"]
    assert "Task_dispatch" in diagram["diagrams"][0]["element_ids"]
    assert diagrams.element_names(diagram)["Task_dispatch"] == "审核派发"
    newer = engine.start_complaint({**COMPLAINT, "phone": "13900000000"}, "intake")["number"]
    with engine.db.read() as session:
        assert "审核并派发" in diagrams.case_diagram(session, newer)["xml"]
        with pytest.raises(NotFound):
            diagrams.case_diagram(session, "TS20260302999999")


def test_called_processes_come_with_the_diagram_and_mark_their_call_activity(engine) -> None:  # noqa: ANN001
    engine.deploy([UploadedFile("parent.bpmn", PARENT.encode()), UploadedFile("child.bpmn", CHILD.encode())], "owner")
    number = engine.start("parent_flow", {}, "intake")["number"]
    with engine.db.read() as session:
        diagram = diagrams.case_diagram(session, number)
    assert [d["filename"] for d in diagram["diagrams"]] == ["parent.bpmn", "child.bpmn"]
    assert diagram["diagrams"][0]["calls"] == {"P_call": "child_flow"}
    assert diagram["diagrams"][1]["names"] == {"child_flow": "子流程"}
    case = engine.get_case(number, SYSTEM)
    marks = diagrams.with_calls(diagrams.highlights(case), diagram)
    assert marks["active"] == ["C_task", "P_call"] and "P_start" in marks["completed"]
    assert "P_call" not in marks["completed"]


def test_highlights_follow_the_timeline(engine, clock) -> None:  # noqa: ANN001
    number = engine.start_complaint({**COMPLAINT, "svip": True}, "intake")["number"]
    case = engine.get_case(number, SYSTEM)
    marks = diagrams.highlights(case)
    assert marks["active"] == ["Task_dispatch"] and marks["overdue"] == []
    assert {"StartEvent_received", "Task_register"} <= set(marks["completed"])
    clock.advance(25 * 3600)  # the SVIP limit is 24 h
    marks = diagrams.highlights(engine.get_case(number, SYSTEM))
    assert marks["overdue"] == ["Task_dispatch"]
    task = engine.get_case(number, SYSTEM)["tasks"][0]
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "请核查"})
    marks = diagrams.highlights(engine.get_case(number, SYSTEM))
    assert marks["active"] == ["Task_handle"] and "Task_dispatch" in marks["completed"]


def test_highlights_without_the_case_task_list_use_the_ready_events() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    late = (now - timedelta(hours=1)).isoformat()
    case = {"status": "running", "tasks": [], "timeline": [
        {"type": "task_completed", "bpmn_id": "A", "task_id": "1", "data": {}},
        {"type": "task_ready", "bpmn_id": "B", "task_id": "2", "data": {"due_at": late}},
        {"type": "task_ready", "bpmn_id": "A", "task_id": "3", "data": {"due_at": None}},
        {"type": "task_ready", "bpmn_id": "C", "task_id": "4", "data": {}},
        {"type": "task_cancelled", "bpmn_id": "C", "task_id": "4", "data": {}},
        {"type": "timer_fired", "bpmn_id": "T", "task_id": None, "data": {}},
    ]}
    marks = diagrams.highlights(case, now)
    assert marks == {"completed": ["T"], "active": ["A", "B"], "overdue": ["B"]}
    assert diagrams.highlights({**case, "status": "completed"}, now)["active"] == []
