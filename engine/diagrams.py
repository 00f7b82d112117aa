"""A case's BPMN diagrams: the deployed files its process version runs, and what to highlight.

``case_diagram`` returns the BPMN XML exactly as deployed for the version the case
runs on (not the newest version): first the file of the case's own process, then
the files of the processes it calls (call activities, followed transitively), each
with the element ids it draws and the call activities it holds.

``highlights`` reads a case (as ``ComplaintEngine.get_case`` returns it) and says
which elements are done, which wait for people now and which of those are past
their deadline; ``with_calls`` also marks a call activity while work inside the
process it calls is open.
"""
from __future__ import annotations

from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .errors import NotFound
from .models import DeploymentFile, ProcessDefinition, ProcessInstance
from .xmlsafe import UnsafeXml, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Timeline events after which a task is no longer open.
_CLOSING = {"task_completed", "task_cancelled"}


def _outline(filename: str, xml: str) -> dict:
    """The processes a BPMN file defines, the element ids in them and its call activities."""
    try:
        root = parse_xml(xml.encode("utf-8"))
    except UnsafeXml:
        return {"filename": filename, "processes": [], "names": {}, "element_ids": [], "element_names": {},
                "calls": {}}
    processes, names, element_ids, element_names, calls = [], {}, [], {}, {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        process_id = process.get("id")
        processes.append(process_id)
        names[process_id] = process.get("name") or process_id
        for element in process.iter():
            if not isinstance(element.tag, str) or not element.get("id"):
                continue
            element_ids.append(element.get("id"))
            if element.get("name"):
                element_names[element.get("id")] = element.get("name")
            if etree.QName(element).localname == "callActivity" and element.get("calledElement"):
                calls[element.get("id")] = element.get("calledElement")
    return {"filename": filename, "processes": processes, "names": names, "element_ids": element_ids,
            "element_names": element_names, "calls": calls}


def case_diagram(session: Session, number: str) -> dict:
    """``{number, process_id, version, filename, xml, diagrams: [{filename, xml, processes, names,
    element_ids, element_names, calls}]}`` for case ``number`` (``filename``/``xml``: its own process's
    file; ``names``: process id -> name; ``element_names``: element id -> name); NotFound when unknown."""
    definition = session.scalar(
        select(ProcessDefinition)
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.business_key == number)
    )
    if definition is None:
        raise NotFound(f"case {number} not found")
    files = dict(session.execute(select(DeploymentFile.filename, DeploymentFile.content).where(
        DeploymentFile.deployment_id == definition.deployment_id, DeploymentFile.kind == "bpmn")).all())
    if definition.bpmn_filename not in files:
        raise NotFound(f"the diagram {definition.bpmn_filename} of case {number} is not stored")
    outlines = {name: _outline(name, text) for name, text in files.items()}
    by_process = {pid: name for name, outline in outlines.items() for pid in outline["processes"]}
    order, queue = [], [definition.bpmn_filename]
    while queue:  # the case's own file, then every file it calls into, breadth first
        name = queue.pop(0)
        if name in order:
            continue
        order.append(name)
        for called in outlines[name]["calls"].values():
            if called in by_process and by_process[called] not in order:
                queue.append(by_process[called])
    diagrams = [{**outlines[name], "xml": files[name]} for name in order]
    return {"number": number, "process_id": definition.process_id, "version": definition.version,
            "filename": definition.bpmn_filename, "xml": files[definition.bpmn_filename], "diagrams": diagrams}


def _before(value: str | None, now: datetime) -> bool:
    if not value:
        return False
    try:
        return datetime.fromisoformat(value) < now
    except ValueError:
        return False


def highlights(case: dict, now: datetime | None = None) -> dict[str, list[str]]:
    """Element ids to mark on the case's diagram: ``completed``, ``active`` and ``overdue``.

    Worked out from the timeline, so it covers every task of the case whoever looks:
    a task is active from its ``task_ready`` event until it is completed or cancelled,
    and overdue when it is active and its due time has passed. An element that ran
    before and is open again (a loop) counts as active, not completed.
    """
    now = now or clock.now()
    completed: set[str] = set()
    open_tasks: dict[str, tuple[str, str | None]] = {}
    for event in case.get("timeline", []):
        bpmn_id, task_id, kind = event.get("bpmn_id"), event.get("task_id"), event.get("type")
        if kind == "task_ready" and task_id and bpmn_id:
            open_tasks[task_id] = (bpmn_id, (event.get("data") or {}).get("due_at"))
        elif kind in _CLOSING and task_id:
            open_tasks.pop(task_id, None)
        if kind in ("task_completed", "timer_fired", "message_received") and bpmn_id:
            completed.add(bpmn_id)
    # The case's own task list is authoritative for the tasks it shows (due times may have moved).
    listed = {t["id"]: t for t in case.get("tasks", [])}
    active: set[str] = set()
    overdue: set[str] = set()
    for task_id, (bpmn_id, due_at) in open_tasks.items():
        active.add(bpmn_id)
        task = listed.get(task_id)
        if task["overdue"] if task is not None else _before(due_at, now):
            overdue.add(bpmn_id)
    for task in listed.values():
        active.add(task["bpmn_id"])
        if task.get("overdue"):
            overdue.add(task["bpmn_id"])
    if case.get("status") in ("completed", "cancelled"):
        active, overdue = set(), set()
    return {"completed": sorted(completed - active), "active": sorted(active), "overdue": sorted(overdue)}


def with_calls(marks: dict[str, list[str]], diagram: dict) -> dict[str, list[str]]:
    """``marks`` plus each call activity whose called process (in any of the diagrams) has open work."""
    elements = {pid: set(d["element_ids"]) for d in diagram["diagrams"] for pid in d["processes"]}
    result = {key: set(values) for key, values in marks.items()}
    changed = True
    while changed:  # calls nested in calls: repeat until nothing new is marked
        changed = False
        for d in diagram["diagrams"]:
            for call_id, called in d["calls"].items():
                inside = elements.get(called, set())
                for key in ("active", "overdue"):
                    if call_id not in result[key] and inside & result[key]:
                        result[key].add(call_id)
                        changed = True
    result["completed"] -= result["active"]
    return {key: sorted(values) for key, values in result.items()}


def element_names(diagram: dict) -> dict[str, str]:
    """Element id -> name over all of a case's diagrams (for naming timeline events)."""
    names: dict[str, str] = {}
    for d in diagram["diagrams"]:
        names.update(d["element_names"])
    return names
