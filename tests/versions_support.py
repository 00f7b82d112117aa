"""Shared bits for the process-version tests: a changed complaint_dispatch.bpmn and a case driver.

``with_recheck()`` is processes/complaint_dispatch.bpmn with a 复核 (recheck) user task, bound to a new
form, between 办结计时 (Task_dispatch_review_met) and 答复客户 (Task_dispatch_reply); it is built here
with lxml so the product's diagram stays untouched. ``Cases`` drives complaints through the engine as
the supervisor (who sees every queue).
"""
from __future__ import annotations

import json

from lxml import etree

from engine.config import PROJECT_ROOT
from engine.service import ComplaintEngine, UploadedFile
from engine.viewer import Viewer
from tests.ui_support import COMPLAINT

DISPATCH = PROJECT_ROOT / "processes" / "complaint_dispatch.bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
RECHECK_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "复核", "type": "object",
    "required": ["recheck_ok"],
    "properties": {"recheck_ok": {"type": "boolean", "title": "复核通过"},
                   "recheck_note": {"type": "string", "title": "复核意见", "maxLength": 500}},
    "additionalProperties": False,
}
SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))

UNSOLVED = {"first_contact_solved": False}
HANDLED = {"handle_action": "handled", "handle_note": "已核查处理完毕", "problem_solved": True}
APPROVED = {"approved": True, "review_note": "处理到位"}
RECHECKED = {"recheck_ok": True, "recheck_note": "复核无误"}
REPLIED = {"reply_content": "基站已扩容，网络恢复正常", "reply_method": "电话"}
SATISFIED = {"satisfaction": "满意", "resolved": True, "callback_note": "电话回访"}


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def with_recheck(lane: str = "Lane_dispatch_supervisor") -> bytes:
    """complaint_dispatch.bpmn with 复核 (Task_dispatch_recheck, form recheck.json) in ``lane``."""
    root = etree.fromstring(DISPATCH.read_bytes())
    process = root.find("bpmn:process", NS)
    to_reply = process.find("bpmn:sequenceFlow[@id='Flow_dispatch_to_reply']", NS)
    to_reply.set("targetRef", "Task_dispatch_recheck")
    reply = process.find("bpmn:userTask[@id='Task_dispatch_reply']", NS)
    reply.find("bpmn:incoming", NS).text = "Flow_dispatch_rechecked"
    task = etree.Element(_q("bpmn", "userTask"), id="Task_dispatch_recheck", name="复核")
    properties = etree.SubElement(etree.SubElement(task, _q("bpmn", "extensionElements")),
                                  _q("spiffworkflow", "properties"))
    etree.SubElement(properties, _q("spiffworkflow", "property"), name="formJsonSchemaFilename",
                     value="recheck.json")
    etree.SubElement(task, _q("bpmn", "incoming")).text = "Flow_dispatch_to_reply"
    etree.SubElement(task, _q("bpmn", "outgoing")).text = "Flow_dispatch_rechecked"
    reply.addprevious(task)
    to_reply.addnext(etree.Element(_q("bpmn", "sequenceFlow"), id="Flow_dispatch_rechecked",
                                   sourceRef="Task_dispatch_recheck", targetRef="Task_dispatch_reply"))
    etree.SubElement(process.find(f".//bpmn:lane[@id='{lane}']", NS), _q("bpmn", "flowNodeRef")).text = \
        "Task_dispatch_recheck"
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    shape = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id="Task_dispatch_recheck_di",
                             bpmnElement="Task_dispatch_recheck")
    etree.SubElement(shape, _q("dc", "Bounds"), x="2900", y="700", width="100", height="80")
    edge = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id="Flow_dispatch_rechecked_di",
                            bpmnElement="Flow_dispatch_rechecked")
    etree.SubElement(edge, _q("di", "waypoint"), x="3000", y="740")
    etree.SubElement(edge, _q("di", "waypoint"), x="3040", y="1075")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def deploy_recheck(engine: ComplaintEngine, lane: str = "Lane_dispatch_supervisor",
                   form: dict | None = None) -> dict:
    """Deploy the working set with 复核 added, as the process owner does from the editor."""
    files = [UploadedFile("complaint_dispatch.bpmn", with_recheck(lane)),
             UploadedFile("recheck.json", json.dumps(form or RECHECK_FORM, ensure_ascii=False).encode())]
    return engine.deploy_changes(files, "owner")


def deploy_original(engine: ComplaintEngine) -> dict:
    """Deploy processes/complaint_dispatch.bpmn again: a new version without 复核."""
    return engine.deploy_changes([UploadedFile("complaint_dispatch.bpmn", DISPATCH.read_bytes())], "owner")


class Cases:
    """Start complaints and work their tasks through the engine; each new case gets its own phone."""

    def __init__(self, engine: ComplaintEngine) -> None:
        self.engine = engine
        self.phones = iter(f"1380013{n:04d}" for n in range(1, 10_000))

    def start(self) -> str:
        return self.engine.start_complaint({**COMPLAINT, "phone": next(self.phones)}, "intake")["number"]

    def case(self, number: str) -> dict:
        return self.engine.get_case(number, SUPERVISOR)

    def tasks(self, number: str) -> list[dict]:
        return self.case(number)["tasks"]

    def open(self, number: str) -> list[tuple[str, str]]:
        return sorted((t["bpmn_id"], t["role"]) for t in self.tasks(number))

    def complete(self, number: str, bpmn_id: str, data: dict) -> dict:
        task = next(t for t in self.tasks(number) if t["bpmn_id"] == bpmn_id)
        return self.engine.complete(task["id"], SUPERVISOR, data)["case"]

    def at_audit(self) -> str:
        """A complaint first contact could not solve: it waits for 审核派发."""
        number = self.start()
        self.complete(number, "Task_intake_first_contact", UNSOLVED)
        return number

    def at_handle(self, *departments: str) -> str:
        """Dispatched to ``departments`` (parallel 核查处理 tasks, one per department)."""
        number = self.at_audit()
        self.complete(number, "Task_dispatch_audit", {"departments": list(departments or ("network",)),
                                                       "dispatch_note": "请核查处理"})
        return number

    def at_review(self) -> str:
        number = self.at_handle("network")
        self.complete(number, "Task_dispatch_handle", HANDLED)
        return number

    def timeline(self, number: str) -> list[tuple[str, str | None]]:
        return [(e["type"], e["bpmn_id"]) for e in self.case(number)["timeline"]]
