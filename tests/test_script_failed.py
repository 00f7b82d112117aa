"""A script the sandbox stops or refuses while a case runs is the model's fault: ScriptFailed (422)
naming the BPMN element and the file, logged with the case, recorded, and nothing changed.
Any other failure stays a ProcessFault (500). The HTTP side: tests/test_hostile_input.py."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from engine import definitions
from engine.errors import ProcessFault, ScriptFailed
from engine.models import AuditEvent, ProcessInstance
from engine.scripting import script_failure
from engine.service import ComplaintEngine, UploadedFile

FILE = "scripted.bpmn"


def _model(script: str) -> bytes:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
        'targetNamespace="t"><bpmn:process id="scripted" isExecutable="true">'
        '<bpmn:startEvent id="StartEvent"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="Task_compute"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>'
        f'<bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="EndEvent"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="F1" sourceRef="StartEvent" targetRef="Task_compute"/>'
        '<bpmn:sequenceFlow id="F2" sourceRef="Task_compute" targetRef="EndEvent"/></bpmn:process>'
        '</bpmn:definitions>').encode()


@pytest.fixture
def quick(engine: ComplaintEngine) -> ComplaintEngine:  # noqa: ANN001
    """The engine with a short script time limit."""
    return ComplaintEngine(engine.db, replace(engine.settings, script_time_limit_seconds=0.2))


def _start(engine: ComplaintEngine, script: str) -> None:
    engine.deploy([UploadedFile(FILE, _model(script))], "owner")
    engine.start("scripted", {}, "intake")


def _nothing_stored_but_the_fault(engine: ComplaintEngine, words: str) -> None:
    with engine.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        errors = session.scalars(select(AuditEvent).where(AuditEvent.type == "error")).all()
    assert [e.data["message"] for e in errors if words in e.data["message"]], [e.data for e in errors]


def test_a_script_past_its_time_limit_is_a_422_naming_element_and_file(quick: ComplaintEngine, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.WARNING), pytest.raises(ScriptFailed) as raised:
        _start(quick, "while True:\n    pass")
    error = raised.value
    assert (error.status, error.code) == (422, "script_failed")
    assert error.message.startswith(f"script of Task_compute in {FILE} ran past its 0.2 s time limit and was stopped")
    assert error.to_dict()["element_id"] == "Task_compute" and error.to_dict()["file"] == FILE
    assert any("case (new)" in r.getMessage() and "Task_compute" in r.getMessage() for r in caplog.records)
    _nothing_stored_but_the_fault(quick, "time limit")


@pytest.mark.parametrize("script", ['joined = str.join(",", ["a", "b"])', "import os\nos.getcwd()"])
def test_a_script_refused_by_the_sandbox_at_run_time_is_a_422(engine: ComplaintEngine, script: str,  # noqa: ANN001
                                                              monkeypatch) -> None:
    # The deploy check refuses an import; a case on a version deployed before a rule existed would still run it.
    monkeypatch.setattr(definitions, "validate_workflow_spec", lambda *_args: [])
    with pytest.raises(ScriptFailed) as raised:
        _start(engine, script)
    assert raised.value.message.startswith(f"script of Task_compute in {FILE} was refused by the sandbox"), \
        raised.value.message
    _nothing_stored_but_the_fault(engine, "refused by the sandbox")


def test_other_failures_stay_process_faults(engine: ComplaintEngine) -> None:  # noqa: ANN001
    with pytest.raises(ProcessFault) as raised:
        _start(engine, "result = 1 / 0")
    assert raised.value.status == 500 and "ZeroDivisionError" in raised.value.message
    assert script_failure(RuntimeError("a bug of ours")) is None
