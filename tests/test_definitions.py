"""Deploying models: versions, hashes, hostile XML and problems with file, element and line."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import BadRequest, ModelInvalid, PayloadTooLarge
from engine.models import Deployment, ProcessDefinition
from engine.service import ComplaintEngine, UploadedFile
from engine.viewer import Viewer

ROOT = Path(__file__).resolve().parent.parent
BASIC = Path(__file__).resolve().parent / "models" / "basic"
INTAKE = (BASIC / "processes" / "complaint_intake.bpmn").read_bytes()
SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))


@pytest.fixture
def bare_engine(db, settings, clock):  # noqa: ANN001, ANN201
    from engine import holidays

    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2026])
    return ComplaintEngine(db, settings)


def stored(db) -> tuple[int, int]:  # noqa: ANN001
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Deployment)),
                session.scalar(select(func.count()).select_from(ProcessDefinition)))


def test_redeploy_same_content_keeps_version_and_change_makes_v2(bare_engine, db):  # noqa: ANN001
    first = bare_engine.deploy_directory("owner")
    assert first["definitions"] == [{"process_id": "complaint_intake", "version": 1, "name": "投诉受理",
                                     "created": True}]
    again = bare_engine.deploy_directory("owner")
    assert again["definitions"][0]["version"] == 1 and again["definitions"][0]["created"] is False
    old_case = bare_engine.start_complaint(_complaint(), "intake")["number"]
    changed = INTAKE.replace("审核派发".encode(), "审核并派发".encode())
    v2 = bare_engine.deploy([UploadedFile("complaint_intake.bpmn", changed)], "owner")
    assert v2["definitions"][0]["version"] == 2
    new_case = bare_engine.start_complaint(_complaint(), "intake")["number"]
    assert bare_engine.get_case(old_case, SUPERVISOR)["version"] == 1
    assert bare_engine.get_case(new_case, SUPERVISOR)["version"] == 2
    listed = {(d["version"], d["instances"]) for d in bare_engine.list_definitions()}
    assert listed == {(1, 1), (2, 1)}
    with db.read() as session:
        hashes = session.scalars(select(ProcessDefinition.content_hash)).all()
        assert len(set(hashes)) == 2 and all(len(h) == 64 for h in hashes)


def test_changing_a_referenced_form_makes_a_new_version(bare_engine):  # noqa: ANN001
    bare_engine.deploy_directory("owner")
    form = (BASIC / "forms" / "dispatch.json").read_text().replace("派单说明", "派单备注")
    result = bare_engine.deploy([UploadedFile("complaint_intake.bpmn", INTAKE),
                                 UploadedFile("dispatch.json", form.encode())], "owner")
    assert result["definitions"][0]["version"] == 2


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
<bpmn:process id="p" name="&xxe;" isExecutable="true"/></bpmn:definitions>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
<bpmn:process id="p" name="&lol3;" isExecutable="true"/></bpmn:definitions>"""


@pytest.mark.parametrize("content", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_xml_is_refused_and_nothing_stored(bare_engine, db, content):  # noqa: ANN001
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("evil.bpmn", content)], "owner")
    assert err.value.status == 422
    assert err.value.problems[0]["file"] == "evil.bpmn"
    assert "DOCTYPE" in err.value.problems[0]["message"]
    assert stored(db) == (0, 0)


def test_oversized_model_is_413(bare_engine, db):  # noqa: ANN001
    big = INTAKE.replace(b"</bpmn:definitions>", b"<!--" + b"x" * (3 * 1024 * 1024) + b"--></bpmn:definitions>")
    with pytest.raises(PayloadTooLarge):
        bare_engine.deploy([UploadedFile("big.bpmn", big)], "owner")
    assert stored(db) == (0, 0)


def test_deeply_nested_xml_is_refused(bare_engine):  # noqa: ANN001
    deep = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("deep.bpmn", deep)], "owner")
    assert err.value.problems[0]["file"] == "deep.bpmn"


def test_malformed_xml_reports_the_line(bare_engine):  # noqa: ANN001
    broken = INTAKE.replace(b"</bpmn:userTask>", b"</bpmn:usertask>", 1)
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("broken.bpmn", broken)], "owner")
    problem = err.value.problems[0]
    assert problem["file"] == "broken.bpmn" and problem["line"] == 53


def test_missing_form_and_roleless_lane_are_pinned_to_elements(bare_engine, db):  # noqa: ANN001
    bad = INTAKE.replace(b'value="handle.json"', b'value="nowhere.json"').replace(
        b'cf:role="dept:network"', b'cf:role="Network Team"')
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", bad)], "owner")
    problems = {(p["element_id"], p["line"], p["rule"], p["severity"]) for p in err.value.problems}
    assert ("Task_handle", 82, "form-missing", "error") in problems
    assert ("Lane_network", 28, "lane-role", "error") in problems
    messages = " ".join(p["message"] for p in err.value.problems)
    assert "nowhere.json" in messages and "Network Team" in messages
    assert stored(db) == (0, 0)


def test_dangerous_script_is_rejected_before_anything_runs(bare_engine, db):  # noqa: ANN001
    evil = INTAKE.replace(b"received_at = now()", b"import os\nreceived_at = now()")
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", evil)], "owner")
    assert err.value.problems[0]["element_id"] == "Task_register"
    assert err.value.problems[0]["line"] == 35
    assert err.value.problems[0]["rule"] == "script"
    dunder = INTAKE.replace(b"received_at = now()", b"received_at = now().__class__")
    with pytest.raises(ModelInvalid):
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", dunder)], "owner")
    assert stored(db) == (0, 0)


def test_xsd_violation_names_the_element(bare_engine):  # noqa: ANN001
    bad = INTAKE.replace(b'<bpmn:sequenceFlow id="Flow_4" sourceRef="Task_handle"',
                         b'<bpmn:sequenceFlow id="Flow_4" bogus="1" sourceRef="Task_handle"')
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", bad)], "owner")
    assert err.value.problems[0]["line"] is not None


@pytest.mark.parametrize("name", ["../evil.bpmn", "a/b.bpmn", "..", "x.exe", ""])
def test_bad_file_names_are_refused(bare_engine, name):  # noqa: ANN001
    with pytest.raises(BadRequest):
        bare_engine.deploy([UploadedFile(name, INTAKE)], "owner")


def test_invalid_form_json_is_a_problem(bare_engine):  # noqa: ANN001
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", INTAKE),
                            UploadedFile("dispatch.json", b'{"type": 12}')], "owner")
    assert err.value.problems[0]["file"] == "dispatch.json"


def _complaint() -> dict:
    return {"phone": "13800138000", "customer_name": "李四", "star_level": 1, "svip": False, "channel": "app",
            "business_line": "mobile", "category": "billing", "region": "urban", "city": "上海",
            "description": "多扣费", "request": "退费"}


def test_reserved_element_ids_are_a_problem(bare_engine):  # noqa: ANN001
    clash = INTAKE.replace(b'id="StartEvent_received"', b'id="Start"').replace(
        b'sourceRef="StartEvent_received"', b'sourceRef="Start"')
    with pytest.raises(ModelInvalid) as err:
        bare_engine.deploy([UploadedFile("complaint_intake.bpmn", clash)], "owner")
    assert any(p["element_id"] == "Start" and "reserved" in p["message"] for p in err.value.problems)


OTHER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:cf="http://complaintflow.org/schema/bpmn"
    id="D_other" targetNamespace="t">
  <bpmn:process id="other_process" isExecutable="true">
    <bpmn:laneSet id="LS_other"><bpmn:lane id="Lane_other" cf:role="appeals">
      <bpmn:flowNodeRef>Task_dispatch</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_other"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:manualTask id="Task_dispatch" name="Same id"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing></bpmn:manualTask>
    <bpmn:endEvent id="EndEvent_other"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_other" targetRef="Task_dispatch" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_dispatch" targetRef="EndEvent_other" />
  </bpmn:process>
</bpmn:definitions>"""


def test_lane_roles_are_read_per_file(bare_engine):  # noqa: ANN001
    bare_engine.deploy_directory("owner")  # the forms
    bare_engine.deploy([UploadedFile("complaint_intake.bpmn", INTAKE), UploadedFile("other.bpmn", OTHER)], "owner")
    other = bare_engine.start("other_process", {}, "x")
    intake = bare_engine.start_complaint(_complaint(), "intake")
    assert [(t["bpmn_id"], t["role"]) for t in other["tasks"]] == [("Task_dispatch", "appeals")]
    assert [(t["bpmn_id"], t["role"]) for t in intake["tasks"]] == [("Task_dispatch", "dispatcher")]
