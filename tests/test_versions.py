"""Process versions (engine.versions through ComplaintEngine): listing, one version, diff, migration preview
and moving running complaint cases onto a new version of complaint_dispatch.

Runs on the product's processes/: a complaint case is a complaint_intake instance with complaint_dispatch
inside it, so changing complaint_dispatch.bpmn makes new versions of complaint_intake and customer_appeal
too. The changed diagram (a 复核 step before 答复客户) is built in tests/versions_support.py.
"""
from __future__ import annotations

import json

import pytest
from lxml import etree
from sqlalchemy import select

from engine import holidays
from engine.config import Settings
from engine.errors import NotFound, ValidationFailed
from engine.models import AuditEvent, HumanTask, ProcessInstance
from engine.service import ComplaintEngine, UploadedFile
from tests.conftest import BASIC_DIR, make_settings
from tests.ui_support import COMPLAINT, DISPATCHER
from tests.versions_support import (
    APPROVED,
    HANDLED,
    NS,
    RECHECK_FORM,
    RECHECKED,
    REPLIED,
    SATISFIED,
    SUPERVISOR,
    Cases,
    deploy_original,
    deploy_recheck,
)

# -- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture
def product(db, database_url: str, clock) -> ComplaintEngine:  # noqa: ANN001
    """An engine with holidays 2025-2026 and processes/ deployed (every process at v1)."""
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    settings: Settings = make_settings(database_url)
    engine = ComplaintEngine(db, settings)
    engine.deploy_directory("owner")
    return engine


@pytest.fixture
def cases(product: ComplaintEngine) -> Cases:
    return Cases(product)


def versions_of(engine: ComplaintEngine) -> dict[str, list[int]]:
    return {p["process_id"]: [v["version"] for v in p["versions"]] for p in engine.list_processes()}


def migrated_events(engine: ComplaintEngine, number: str) -> list[dict]:
    with engine.db.read() as session:
        return [e.data for e in session.scalars(select(AuditEvent).where(
            AuditEvent.business_key == number, AuditEvent.type == "case_migrated"))]


def ids(elements: list[dict]) -> set[str]:
    return {e["id"] for e in elements}


def section(diff: dict, process_id: str) -> dict:
    return next(p for p in diff["processes"] if p["process_id"] == process_id)


# -- versions ---------------------------------------------------------------------------------------------------


def test_a_changed_dispatch_makes_new_versions_of_it_and_its_callers(product: ComplaintEngine,
                                                                     cases: Cases) -> None:
    old = cases.at_audit()
    result = deploy_recheck(product)
    created = {d["process_id"]: (d["version"], d["created"]) for d in result["definitions"]}
    assert created == {"complaint_dispatch": (2, True), "complaint_intake": (2, True),
                       "customer_appeal": (2, True), "upgraded_complaint": (1, False)}
    new = cases.start()
    assert cases.case(old)["version"] == 1 and cases.case(new)["version"] == 2

    listed = {p["process_id"]: p for p in product.list_processes()}
    assert versions_of(product)["complaint_intake"] == [2, 1]  # newest first
    intake = listed["complaint_intake"]
    assert intake["latest_version"] == 2 and intake["running"] == 2
    assert [(v["version"], v["running"], v["deployed_by"], v["source"]) for v in intake["versions"]] == [
        (2, 1, "owner", "editor"), (1, 1, "owner", "processes/")]
    assert intake["calls"] == ["complaint_dispatch"]
    dispatch = listed["complaint_dispatch"]
    assert dispatch["called_by"] == [{"process_id": "complaint_intake", "versions": [1, 2]},
                                     {"process_id": "customer_appeal", "versions": [1, 2]}]
    assert dispatch["running"] == 0  # cases run it inside complaint_intake
    assert "SubProcess_appeal_handle" not in listed["customer_appeal"]["calls"]  # embedded, not a process


def test_version_detail_has_the_bpmn_of_that_version_and_its_called_files(product: ComplaintEngine) -> None:
    deploy_recheck(product)
    old, new = product.process_version("complaint_intake", 1), product.process_version("complaint_intake", 2)
    assert [d["filename"] for d in new["diagrams"]] == ["complaint_intake.bpmn", "complaint_dispatch.bpmn"]
    assert new["xml"] == new["diagrams"][0]["xml"] and 'id="complaint_intake"' in new["xml"]
    assert "Task_dispatch_recheck" in new["diagrams"][1]["xml"]
    assert "Task_dispatch_recheck" not in old["diagrams"][1]["xml"]
    assert new["tasks"]["Task_dispatch_recheck"]["role"] == "supervisor"
    assert new["tasks"]["Task_dispatch_recheck"]["form"] == "recheck.json"
    assert "recheck.json" in new["forms"]
    assert {"complaint_dispatch.bpmn", "recheck.json", "sla_policy.dmn"} <= {f["filename"] for f in new["files"]}
    with pytest.raises(NotFound, match="no version 9"):
        product.process_version("complaint_intake", 9)
    with pytest.raises(NotFound, match="not deployed"):
        product.process_versions("no_such_process")


# -- diff ---------------------------------------------------------------------------------------------------------


def test_diff_lists_the_added_task_and_the_changed_flows(product: ComplaintEngine) -> None:
    deploy_recheck(product)
    diff = product.diff_versions("complaint_intake", 1, 2)
    main = section(diff, "complaint_intake")
    assert (main["kind"], main["status"], main["added"], main["removed"], main["changed"]) == (
        "main", "unchanged", [], [], [])
    called = section(diff, "complaint_dispatch")
    assert (called["kind"], called["status"]) == ("called", "changed")
    added = {e["id"]: e for e in called["added"]}
    assert set(added) == {"Task_dispatch_recheck", "Flow_dispatch_rechecked"}
    assert (added["Task_dispatch_recheck"]["type"], added["Task_dispatch_recheck"]["name"]) == ("userTask", "复核")
    assert added["Flow_dispatch_rechecked"]["type"] == "sequenceFlow"
    assert called["removed"] == []
    changed = {e["id"]: e["attributes"] for e in called["changed"]}
    assert changed == {"Task_dispatch_review_met": ["outputs"], "Task_dispatch_reply": ["inputs"],
                       "Flow_dispatch_to_reply": ["targetRef"]}
    assert diff["summary"] == {"added": 2, "removed": 0, "changed": 3}
    assert set(diff["markers"]["to"]["added"]) == {"Task_dispatch_recheck", "Flow_dispatch_rechecked"}
    # complaint_dispatch's own history says the same, as its main process
    own = section(product.diff_versions("complaint_dispatch", 1, 2), "complaint_dispatch")
    assert own["kind"] == "main" and ids(own["added"]) == {"Task_dispatch_recheck", "Flow_dispatch_rechecked"}
    # and the way back is the mirror image
    back = section(product.diff_versions("complaint_dispatch", 2, 1), "complaint_dispatch")
    assert ids(back["removed"]) == {"Task_dispatch_recheck", "Flow_dispatch_rechecked"} and back["added"] == []


def test_diff_shows_a_lane_role_and_a_form_change_as_changed(product: ComplaintEngine) -> None:
    deploy_recheck(product)                                   # v2: 复核 by the supervisor
    deploy_recheck(product, lane="Lane_dispatch_dispatcher")  # v3: 复核 by the dispatcher
    moved = section(product.diff_versions("complaint_dispatch", 2, 3), "complaint_dispatch")
    assert moved["added"] == [] and moved["removed"] == []
    assert [(e["id"], e["attributes"]) for e in moved["changed"]] == [("Task_dispatch_recheck", ["lane", "role"])]
    form = {**RECHECK_FORM, "required": ["recheck_ok", "recheck_note"]}
    deploy_recheck(product, lane="Lane_dispatch_dispatcher", form=form)  # v4: only the form's schema
    refined = section(product.diff_versions("complaint_dispatch", 3, 4), "complaint_dispatch")
    assert [(e["id"], e["attributes"]) for e in refined["changed"]] == [("Task_dispatch_recheck", ["form_schema"])]


def test_diff_names_no_engine_internals_and_needs_two_versions(product: ComplaintEngine) -> None:
    deploy_recheck(product)
    diff = product.diff_versions("complaint_dispatch", 1, 2)
    every = [e["id"] for p in diff["processes"] for key in ("added", "removed", "changed") for e in p[key]]
    assert not [i for i in every if i in ("Start", "End", "Root") or "." in i or "[" in i]
    with pytest.raises(ValidationFailed) as raised:
        product.diff_versions("complaint_dispatch", 2, 2)
    assert raised.value.fields == {"to": "must differ from from"}
    with pytest.raises(NotFound):
        product.diff_versions("complaint_dispatch", 1, 7)


# -- preview ----------------------------------------------------------------------------------------------------


def test_preview_says_which_cases_can_move_and_why_others_cannot(product: ComplaintEngine, cases: Cases) -> None:
    waiting = cases.at_audit()  # v1, at 审核派发
    paused = cases.at_audit()
    product.suspend(paused, SUPERVISOR)
    deploy_recheck(product)  # v2 adds 复核
    at_recheck, past_recheck, before_recheck = cases.at_review(), cases.at_review(), cases.at_audit()  # on v2
    for number in (at_recheck, past_recheck):
        cases.complete(number, "Task_dispatch_review", APPROVED)
    cases.complete(past_recheck, "Task_dispatch_recheck", RECHECKED)
    deploy_original(product)  # v3 takes 复核 out again

    preview = product.migration_preview("complaint_intake", 3)
    found = {c["number"]: c for c in preview["cases"]}
    assert set(found) == {waiting, paused, at_recheck, past_recheck, before_recheck}
    assert preview["total"] == 5 and not preview["truncated"]
    assert preview["summary"] == {"movable": 2, "blocked": 3}
    assert found[waiting]["can_move"] and found[before_recheck]["can_move"]
    assert [(w["bpmn_id"], w["name"], w["process_id"]) for w in found[waiting]["waiting_at"]] == [
        ("Task_dispatch_audit", "审核派发", "complaint_dispatch")]

    blocked = found[at_recheck]
    assert not blocked["can_move"] and found[at_recheck]["version"] == 2
    assert [(r["code"], r["element_id"], r["element_name"]) for r in blocked["reasons"]] == [
        ("waits_at_removed", "Task_dispatch_recheck", "复核")]
    assert "waits at 复核 (Task_dispatch_recheck), which v3 removed" in blocked["reasons"][0]["message"]
    assert [w["bpmn_id"] for w in blocked["waiting_at"]] == ["Task_dispatch_recheck"]
    assert [r["code"] for r in found[past_recheck]["reasons"]] == ["passed_removed"]
    assert [r["code"] for r in found[paused]["reasons"]] == ["suspended"]
    assert found[paused]["status"] == "suspended"

    only_v2 = product.migration_preview("complaint_intake", 3, from_version=2)
    assert {c["number"] for c in only_v2["cases"]} == {at_recheck, past_recheck, before_recheck}
    with pytest.raises(ValidationFailed):
        product.migration_preview("complaint_intake", 3, from_version=3)
    # a preview changes nothing
    assert cases.case(waiting)["version"] == 1 and migrated_events(product, waiting) == []


# -- migration ----------------------------------------------------------------------------------------------------


def test_a_moved_case_keeps_its_tasks_and_timers_and_then_passes_the_new_step(product: ComplaintEngine,
                                                                              cases: Cases) -> None:
    moving = cases.at_handle("network", "billing")  # two parallel department tasks
    staying = cases.at_handle("network")
    before = cases.case(moving)
    deploy_recheck(product)

    result = product.migrate_cases("complaint_intake", 2, [moving], "owner")
    assert (result["migrated"], result["failed"]) == (1, 0)
    assert result["results"][0] | {"waiting_at": None} == {
        "number": moving, "migrated": True, "from_version": 1, "to_version": 2, "reasons": [],
        "tasks_updated": [], "waiting_at": None}
    after = cases.case(moving)
    assert after["version"] == 2 and cases.case(staying)["version"] == 1
    # the same open tasks (ids, the department each works for, deadlines) and the same timers
    def shape(case: dict) -> list:  # noqa: E306
        return sorted((t["id"], t["bpmn_id"], t["role"], t["due_at"]) for t in case["tasks"])
    assert shape(after) == shape(before)
    assert sorted(map(json.dumps, after["timers"])) == sorted(map(json.dumps, before["timers"]))
    events = migrated_events(product, moving)
    assert len(events) == 1
    assert events[0] | {"from_definition_id": 0, "to_definition_id": 0} == {
        "process_id": "complaint_intake", "from_version": 1, "to_version": 2, "tasks_updated": [],
        "from_definition_id": 0, "to_definition_id": 0}
    assert [e["actor"] for e in after["timeline"] if e["type"] == "case_migrated"] == ["owner"]

    # its departments' work is merged as before, then it passes 复核 on its way to the end
    cases.complete(moving, "Task_dispatch_handle", HANDLED)
    case = cases.complete(moving, "Task_dispatch_handle", HANDLED)
    assert sorted(r["department"] for r in case["data"]["handled_results"]) == ["billing", "network"]
    cases.complete(moving, "Task_dispatch_review", APPROVED)
    assert cases.open(moving) == [("Task_dispatch_recheck", "supervisor")]
    recheck = cases.tasks(moving)[0]
    assert recheck["name"] == "复核" and product.get_task(recheck["id"], SUPERVISOR)["form"] == RECHECK_FORM
    cases.complete(moving, "Task_dispatch_recheck", RECHECKED)
    cases.complete(moving, "Task_dispatch_reply", REPLIED)
    done = cases.complete(moving, "Task_dispatch_callback", SATISFIED)
    assert done["status"] == "completed"
    assert ("task_completed", "Task_dispatch_recheck") in cases.timeline(moving)

    # the case left on v1 goes from 结果审核 straight to 答复客户
    cases.complete(staying, "Task_dispatch_handle", HANDLED)
    cases.complete(staying, "Task_dispatch_review", APPROVED)
    assert cases.open(staying) == [("Task_dispatch_reply", "intake")]


def test_migration_re_checks_each_case_and_reports_the_ones_that_cannot_move(product: ComplaintEngine,
                                                                             cases: Cases) -> None:
    deploy_recheck(product)
    at_recheck = cases.at_review()
    cases.complete(at_recheck, "Task_dispatch_review", APPROVED)
    ready = cases.at_audit()
    paused = cases.at_audit()
    product.suspend(paused, SUPERVISOR)
    appeal_free = cases.at_audit()
    deploy_original(product)  # v3 without 复核
    state_before = _state(product, at_recheck)

    result = product.migrate_cases("complaint_intake", 3, [at_recheck, ready, paused, "TS00000000000000",
                                                           ready], "owner")
    by_number = {r["number"]: r for r in result["results"]}
    assert list(by_number) == [at_recheck, ready, paused, "TS00000000000000"]  # each once, in order
    assert by_number[ready]["migrated"] and by_number[ready]["to_version"] == 3
    assert [r["code"] for r in by_number[at_recheck]["reasons"]] == ["waits_at_removed"]
    assert [r["code"] for r in by_number[paused]["reasons"]] == ["suspended"]
    assert [r["code"] for r in by_number["TS00000000000000"]["reasons"]] == ["not_found"]
    assert (result["migrated"], result["failed"]) == (1, 3)
    assert _state(product, at_recheck) == state_before and migrated_events(product, at_recheck) == []

    again = product.migrate_cases("complaint_intake", 3, [ready], "owner")["results"][0]
    assert [r["code"] for r in again["reasons"]] == ["same_version"]
    other = product.migrate_cases("customer_appeal", 2, [appeal_free], "owner")["results"][0]
    assert [r["code"] for r in other["reasons"]] == ["other_process"]
    with pytest.raises(NotFound):
        product.migrate_cases("complaint_intake", 9, [ready], "owner")
    with pytest.raises(ValidationFailed) as raised:
        product.migrate_cases("complaint_intake", 3, [], "owner")
    assert raised.value.fields == {"cases": "a list of case numbers"}


def _state(engine: ComplaintEngine, number: str) -> tuple:
    with engine.db.read() as session:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
        rows = sorted((t.id, t.role, t.assignee) for t in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id)))
        return instance.definition_id, instance.version, instance.state_json, rows


def test_a_migration_that_fails_half_way_is_rolled_back_and_the_others_still_move(
        product: ComplaintEngine, cases: Cases, monkeypatch: pytest.MonkeyPatch) -> None:
    failing, fine = cases.at_audit(), cases.at_audit()
    deploy_recheck(product)
    before = _state(product, failing)
    save = product.runner.save

    def save_then_fail(session, instance, workflow, definition, actor):  # noqa: ANN001, ANN202
        save(session, instance, workflow, definition, actor)  # everything written and flushed ...
        if instance.business_key == failing:
            raise RuntimeError("disk full")  # ... then the transaction fails

    monkeypatch.setattr(product.runner, "save", save_then_fail)
    result = product.migrate_cases("complaint_intake", 2, [failing, fine], "owner")
    outcome = {r["number"]: r for r in result["results"]}
    assert not outcome[failing]["migrated"]
    assert outcome[failing]["reasons"][0]["code"] == "migration_failed"
    assert "disk full" in outcome[failing]["reasons"][0]["message"]
    assert outcome[fine]["migrated"]
    assert _state(product, failing) == before and migrated_events(product, failing) == []
    assert cases.case(failing)["version"] == 1 and cases.case(fine)["version"] == 2
    monkeypatch.undo()
    cases.complete(failing, "Task_dispatch_audit", {"departments": ["network"], "dispatch_note": "继续"})
    assert cases.open(failing) == [("Task_dispatch_handle", "dept:network")]  # the case still works


def test_a_task_whose_lane_role_changed_goes_to_the_new_role(product: ComplaintEngine, cases: Cases) -> None:
    deploy_recheck(product)
    number = cases.at_review()
    cases.complete(number, "Task_dispatch_review", APPROVED)
    task = cases.tasks(number)[0]
    product.claim(task["id"], SUPERVISOR)
    deploy_recheck(product, lane="Lane_dispatch_dispatcher")  # v3: 复核 by the dispatcher

    result = product.migrate_cases("complaint_intake", 3, [number], "owner")["results"][0]
    assert result["migrated"]
    assert result["tasks_updated"] == [{"task_id": task["id"], "bpmn_id": "Task_dispatch_recheck",
                                        "fields": ["role", "assignee"]}]
    moved = cases.tasks(number)[0]
    assert (moved["id"], moved["role"], moved["assignee"]) == (task["id"], "dispatcher", None)
    assert migrated_events(product, number)[0]["tasks_updated"] == result["tasks_updated"]


def test_cases_moved_back_to_an_older_version(product: ComplaintEngine, cases: Cases) -> None:
    deploy_recheck(product)
    number = cases.at_audit()  # on v2
    preview = product.migration_preview("complaint_intake", 1, from_version=2)
    assert [(c["number"], c["can_move"]) for c in preview["cases"]] == [(number, True)]
    assert product.migrate_cases("complaint_intake", 1, [number], "owner")["migrated"] == 1
    assert cases.case(number)["version"] == 1


def test_deploying_only_unchanged_files_moves_nothing(product: ComplaintEngine, cases: Cases) -> None:
    number = cases.at_audit()
    product.deploy_changes([UploadedFile("complaint_intake.bpmn",
                                         product.current_files()["complaint_intake.bpmn"][1].encode())], "owner")
    assert versions_of(product)["complaint_intake"] == [1]
    assert product.migration_preview("complaint_intake", 1)["cases"] == []
    assert cases.case(number)["version"] == 1


# -- the small test process: a removed top-level task, timers kept across a move ---------------------------------


def basic_variant(remind: str | None = None, without_handle: bool = False) -> bytes:
    """tests/models/basic's complaint_intake with its reminder as a duration timer (``remind``, e.g. PT2H)
    and/or without 核查处理 (审核派发 then goes straight to 办结)."""
    root = etree.fromstring((BASIC_DIR / "processes" / "complaint_intake.bpmn").read_bytes())
    process = root.find("bpmn:process", NS)
    if remind:
        timer = process.find("bpmn:boundaryEvent[@id='Timer_dispatch_remind']/bpmn:timerEventDefinition", NS)
        for child in list(timer):
            timer.remove(child)
        etree.SubElement(timer, f"{{{NS['bpmn']}}}timeDuration").text = f'"{remind}"'
    if without_handle:
        process.find("bpmn:sequenceFlow[@id='Flow_3']", NS).set("targetRef", "EndEvent_closed")
        end = process.find("bpmn:endEvent[@id='EndEvent_closed']", NS)
        end.find("bpmn:incoming", NS).text = "Flow_3"
        for path in ("bpmn:userTask[@id='Task_handle']", "bpmn:sequenceFlow[@id='Flow_4']",
                     ".//bpmn:flowNodeRef[.='Task_handle']"):
            found = process.find(path, NS)
            found.getparent().remove(found)
        for element in root.iterfind(".//bpmndi:BPMNPlane/*", NS):
            if element.get("bpmnElement") in ("Task_handle", "Flow_4"):
                element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_case_at_a_removed_task_stays_and_a_moved_one_keeps_its_timer(engine: ComplaintEngine, clock) -> None:  # noqa: ANN001
    engine.deploy([UploadedFile("complaint_intake.bpmn", basic_variant(remind="PT2H"))], "owner")  # v2
    at_dispatch = engine.start_complaint(COMPLAINT, "intake")["number"]  # 09:00: reminder due 11:00
    at_handle = engine.start_complaint({**COMPLAINT, "phone": "13900139000"}, "intake")["number"]
    task = engine.get_case(at_handle, SUPERVISOR)["tasks"][0]
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"})
    timers = engine.get_case(at_dispatch, SUPERVISOR)["timers"]
    remind = next(t["due_at"] for t in timers if t["bpmn_id"] == "Timer_dispatch_remind")
    assert remind == "2026-03-02T03:00:00+00:00"
    clock.advance(3600)  # 10:00
    engine.deploy([UploadedFile("complaint_intake.bpmn", basic_variant(remind="PT2H", without_handle=True))],
                  "owner")  # v3

    preview = {c["number"]: c for c in engine.migration_preview("complaint_intake", 3, from_version=2)["cases"]}
    assert preview[at_dispatch]["can_move"]
    assert [r["message"] for r in preview[at_handle]["reasons"]] == [
        "waits at 核查处理 (Task_handle), which v3 removed"]

    result = engine.migrate_cases("complaint_intake", 3, [at_dispatch, at_handle], "owner")
    assert [r["migrated"] for r in result["results"]] == [True, False]
    assert engine.get_case(at_dispatch, SUPERVISOR)["timers"] == timers  # not restarted at 10:00
    assert engine.get_case(at_handle, SUPERVISOR)["version"] == 2
    # v3 ends the case after 审核派发
    task = engine.get_case(at_dispatch, SUPERVISOR)["tasks"][0]
    done = engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "网络问题"})["case"]
    assert done["status"] == "completed"


def test_a_timer_whose_definition_changed_is_due_by_the_new_definition(engine: ComplaintEngine,
                                                                        clock) -> None:  # noqa: ANN001
    engine.deploy([UploadedFile("complaint_intake.bpmn", basic_variant(remind="PT2H"))], "owner")  # v2
    number = engine.start_complaint(COMPLAINT, "intake")["number"]  # 09:00
    clock.advance(3600)  # 10:00
    engine.deploy([UploadedFile("complaint_intake.bpmn", basic_variant(remind="PT4H"))], "owner")  # v3
    changed = section(engine.diff_versions("complaint_intake", 2, 3), "complaint_intake")["changed"]
    assert [(e["id"], e["type"]) for e in changed] == [("Timer_dispatch_remind", "boundaryEvent")]
    assert engine.migrate_cases("complaint_intake", 3, [number], "owner")["migrated"] == 1
    timers = {t["bpmn_id"]: t["due_at"] for t in engine.get_case(number, SUPERVISOR)["timers"]}
    assert timers["Timer_dispatch_remind"] == "2026-03-02T06:00:00+00:00"  # 10:00 + 4h, when it moved
