"""Process versions: what is deployed, what changed between two versions, and moving running cases.

A deploy makes a new version of every process whose content changed; running cases
stay on the version they started on. This module lists the versions, shows one
version's files, compares two versions element by element, and moves cases that
the owner picks onto another version.

The comparison joins three views of a version: SpiffWorkflow's task specs
(``SpecDiff``: which elements were added, removed, or changed in what attribute),
our task meta (lane role, form, due and priority expressions, which SpiffWorkflow
does not see), and the sequence flows of the deployed BPMN XML (flows are not task
specs). A version embeds the specs of the processes it calls, so each called
process that differs is compared too.

Moving a case uses SpiffWorkflow's ``diff_workflow`` / ``migrate_workflow`` on the
case's workflow and each of its subworkflows. SpiffWorkflow resets every ready
and waiting task while doing so; we put back what that reset throws away (the
item a multi-instance task works on, a timer's due time when its definition did
not change), refuse a case when a task it is at, or has passed, no longer exists,
and prove the result saves and loads before anything is written.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .case_sync import CaseSync
from .errors import Conflict, NotFound, ValidationFailed
from .instances import CaseRunner
from .models import Deployment, DeploymentFile, HumanTask, ProcessDefinition, ProcessInstance
from .workflow_state import make_registry, spec_from_json, state_from_bytes, state_to_bytes
from .xmlsafe import UnsafeXml, XmlLimits, parse_xml

log = logging.getLogger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
OPEN_STATUSES = ("running", "suspended")
# Our task meta keys a process owner changes in the diagram (see definitions.ModelBuilder._task_meta).
META_KEYS = ("name", "kind", "role", "role_expression", "form", "due", "priority")
# A preview loads and dry-runs every case; beyond this many it says the list was cut.
PREVIEW_LIMIT = 500
# SpiffWorkflow's converter registry (with our join classes), used to compare task specs attribute by attribute.
_REGISTRY = make_registry()
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


class MigrationBlocked(Conflict):
    """A case that cannot move to the version asked for; ``reasons`` say why, one dict each."""

    def __init__(self, number: str, reasons: list[dict]) -> None:
        super().__init__(f"case {number} cannot move: " + "; ".join(r["message"] for r in reasons))
        self.reasons = reasons


# --- reading versions -----------------------------------------------------------------------------------


def definition(session: Session, process_id: str, version: int) -> ProcessDefinition:
    found = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id,
                                                           ProcessDefinition.version == version))
    if found is None:
        if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == process_id)) is None:
            raise NotFound(f"process {process_id} is not deployed")
        raise NotFound(f"process {process_id} has no version {version}")
    return found


_calls_lock = threading.Lock()
_calls_cache: dict[str, list[str]] = {}


def called_processes(row: ProcessDefinition) -> list[str]:
    """The process ids a version embeds (its call activities, followed transitively)."""
    with _calls_lock:
        cached = _calls_cache.get(row.content_hash)
    if cached is None:
        # The hash covers every file the spec was built from, so it keys the spec's content.
        cached = sorted(json.loads(row.spec_json).get("subprocess_specs", {}))
        with _calls_lock:
            _calls_cache[row.content_hash] = cached
    return cached


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _instance_counts(session: Session) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
                           .group_by(ProcessInstance.definition_id, ProcessInstance.status))
    for definition_id, status, count in rows:
        counts.setdefault(definition_id, {})[status] = count
    return counts


def _known_processes(session: Session) -> set[str]:
    return set(session.scalars(select(ProcessDefinition.process_id).distinct()))


def _version_row(row: ProcessDefinition, source: str, counts: dict[str, int], known: set[str]) -> dict:
    """One version as listed; ``calls`` names only deployed processes (not embedded sub-processes)."""
    return {
        "version": row.version, "name": row.name, "deployed_by": row.deployed_by,
        "deployed_at": _iso(row.deployed_at), "source": source, "deployment_id": row.deployment_id,
        "content_hash": row.content_hash, "bpmn_filename": row.bpmn_filename,
        "running": counts.get("running", 0), "suspended": counts.get("suspended", 0),
        "completed": counts.get("completed", 0), "cancelled": counts.get("cancelled", 0),
        "calls": [pid for pid in called_processes(row) if pid in known],
        "start_messages": list(row.start_messages or []),
    }


def processes(session: Session) -> list[dict]:
    """Every deployed process with its versions (newest first), instance counts and who calls it."""
    counts = _instance_counts(session)
    sources = dict(session.execute(select(Deployment.id, Deployment.source)).all())
    rows = list(session.scalars(select(ProcessDefinition)
                                .order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())))
    known = {row.process_id for row in rows}
    callers: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        for called in called_processes(row):
            callers.setdefault(called, {}).setdefault(row.process_id, []).append(row.version)
    result: dict[str, dict] = {}
    for row in rows:
        entry = result.get(row.process_id)
        if entry is None:  # rows come newest first: the first one names the process
            entry = result[row.process_id] = {
                "process_id": row.process_id, "name": row.name, "latest_version": row.version,
                "running": 0, "suspended": 0, "completed": 0,
                "calls": [pid for pid in called_processes(row) if pid in known],
                "called_by": [{"process_id": pid, "versions": sorted(versions)}
                              for pid, versions in sorted(callers.get(row.process_id, {}).items())],
                "versions": [],
            }
        version = _version_row(row, sources.get(row.deployment_id, ""), counts.get(row.id, {}), known)
        for key in ("running", "suspended", "completed"):
            entry[key] += version[key]
        entry["versions"].append(version)
    return list(result.values())


def process(session: Session, process_id: str) -> dict:
    for entry in processes(session):
        if entry["process_id"] == process_id:
            return entry
    raise NotFound(f"process {process_id} is not deployed")


# --- the deployed BPMN files of a version -----------------------------------------------------------------


def _parse(xml: str) -> etree._Element | None:
    content = xml.encode("utf-8")
    try:
        return parse_xml(content, XmlLimits(max(len(content) + 1, XmlLimits().max_bytes)))
    except UnsafeXml:
        return None  # stored files were checked at deploy; an unreadable one just shows nothing


def _outline(root: etree._Element | None) -> dict[str, dict]:
    """Each process and embedded sub-process of a file: id -> {name, kind, elements: id -> (type, name),
    order: [ids], flows: id -> attributes, calls: call activity id -> called process}.

    A sub-process's contents belong to it, not to the process around it (SpiffWorkflow gives each its own spec).
    """
    result: dict[str, dict] = {}
    if root is None:
        return result
    containers = [*root.iter(f"{{{BPMN_NS}}}process"), *root.iter(f"{{{BPMN_NS}}}subProcess")]
    for container in containers:
        elements: dict[str, tuple[str, str | None]] = {}
        flows: dict[str, dict] = {}
        calls: dict[str, str] = {}
        stack = list(container)
        while stack:
            element = stack.pop(0)
            if not isinstance(element.tag, str):
                continue
            kind = etree.QName(element).localname
            if kind != "subProcess":
                stack.extend(element)
            if not element.get("id"):
                continue
            elements[element.get("id")] = (kind, element.get("name"))
            if kind == "sequenceFlow":
                condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
                flows[element.get("id")] = {
                    "sourceRef": element.get("sourceRef"), "targetRef": element.get("targetRef"),
                    "name": element.get("name"),
                    "conditionExpression": (condition.text or "").strip() if condition is not None else None,
                }
            elif kind == "callActivity" and element.get("calledElement"):
                calls[element.get("id")] = element.get("calledElement")
        result[container.get("id")] = {"name": container.get("name") or container.get("id"),
                                       "kind": etree.QName(container).localname, "elements": elements,
                                       "order": list(elements), "flows": flows, "calls": calls}
    return result


class _Files:
    """The BPMN files of one deployment, parsed once, with the file that defines each process."""

    def __init__(self, session: Session, deployment_id: int) -> None:
        self.xml: dict[str, str] = dict(session.execute(
            select(DeploymentFile.filename, DeploymentFile.content)
            .where(DeploymentFile.deployment_id == deployment_id, DeploymentFile.kind == "bpmn")
            .order_by(DeploymentFile.filename)).all())
        self.outlines = {name: _outline(_parse(text)) for name, text in self.xml.items()}
        self.file_of = {pid: name for name, outline in self.outlines.items() for pid in outline}

    def process(self, process_id: str) -> dict:
        name = self.file_of.get(process_id)
        return self.outlines[name][process_id] if name else {"name": process_id, "kind": "process", "elements": {},
                                                              "order": [], "flows": {}, "calls": {}}

    def diagrams(self, row: ProcessDefinition) -> list[dict]:
        """The version's own file first, then the files of the processes it calls, breadth first."""
        order: list[str] = []
        queue = [row.bpmn_filename] + [self.file_of[p] for p in called_processes(row) if p in self.file_of]
        while queue:
            name = queue.pop(0)
            if name in order or name not in self.xml:
                continue
            order.append(name)
            for outline in self.outlines[name].values():
                queue.extend(self.file_of[c] for c in outline["calls"].values() if c in self.file_of)
        return [{"filename": name, "xml": self.xml[name],
                 "processes": [pid for pid, o in self.outlines[name].items() if o["kind"] == "process"],
                 "names": {pid: o["name"] for pid, o in self.outlines[name].items()},
                 "element_ids": [e for o in self.outlines[name].values() for e in o["order"]]}
                for name in order]


def version_detail(session: Session, process_id: str, version: int) -> dict:
    """One version: its metadata, the BPMN XML it runs (own file and called files), task meta and files."""
    row = definition(session, process_id, version)
    files = _Files(session, row.deployment_id)
    deployment = session.get(Deployment, row.deployment_id)
    counts = _instance_counts(session).get(row.id, {})
    listed = session.execute(
        select(DeploymentFile.filename, DeploymentFile.kind, DeploymentFile.content_hash,
               func.length(DeploymentFile.content))
        .where(DeploymentFile.deployment_id == row.deployment_id).order_by(DeploymentFile.filename))
    meta = row.task_meta or {}
    return {
        "process_id": row.process_id,
        **_version_row(row, deployment.source if deployment else "", counts, _known_processes(session)),
        "xml": files.xml.get(row.bpmn_filename),
        "diagrams": files.diagrams(row),
        "tasks": meta.get("tasks", {}),
        "forms": sorted(meta.get("forms", {})),
        "files": [{"filename": name, "kind": kind, "content_hash": digest, "size": size}
                  for name, kind, digest, size in listed],
    }


# --- comparing two versions ----------------------------------------------------------------------------------


def _by_element(spec) -> dict[str, list]:  # noqa: ANN001
    """Task specs grouped by BPMN element id; SpiffWorkflow's own specs (Start, End, *.EndJoin...) have none."""
    grouped: dict[str, list] = {}
    for task_spec in spec.task_specs.values():
        if getattr(task_spec, "bpmn_id", None):
            grouped.setdefault(task_spec.bpmn_id, []).append(task_spec)
    return grouped


def _owner_of(task_spec, ids: Iterable[str]) -> str | None:  # noqa: ANN001
    """The element an internal spec belongs to: ``Task_x.BoundaryEventSplit`` belongs to ``Task_x``."""
    prefix = task_spec.name.rsplit(".", 1)[0] if "." in task_spec.name else None
    return prefix if prefix in set(ids) else None


def _compare(old, new) -> list[str]:  # noqa: ANN001
    first, second = _REGISTRY.convert(old), _REGISTRY.convert(new)
    if first.get("typename") != second.get("typename"):
        return ["typename"]
    return [key for key, value in first.items() if second.get(key) != value]


def _element(element_id: str, outline: dict, specs: list, process_id: str) -> dict:
    kind, name = outline["elements"].get(element_id, (None, None))
    if kind is None and specs:
        kind = type(specs[-1]).__name__
    if not name:
        name = next((s.bpmn_name for s in specs if getattr(s, "bpmn_name", None)), None)
    return {"id": element_id, "type": kind, "name": name, "process_id": process_id}


def _process_changes(process_id: str, old_spec, new_spec, old_outline: dict, new_outline: dict,  # noqa: ANN001
                     old_meta: dict, new_meta: dict) -> dict:
    """Elements added, removed and changed (with the attributes that changed) between two specs of a process."""
    spec_diff = SpecDiff(_REGISTRY, old_spec, new_spec)
    old_ids, new_ids = _by_element(old_spec), _by_element(new_spec)
    changed: dict[str, set[str]] = {}
    renamed: dict[str, str] = {}
    for old_task, new_task in spec_diff.alignment.items():
        if old_task is None or new_task is None:
            continue
        attributes = set(spec_diff.comparisons.get(old_task) or ()) - {"name"}
        owner = old_task.bpmn_id or _owner_of(old_task, old_ids)
        if owner is None:
            continue
        if old_task.bpmn_id and new_task.bpmn_id and new_task.bpmn_id != old_task.bpmn_id:
            renamed[old_task.bpmn_id] = new_task.bpmn_id
            attributes.add("id")
        if attributes:
            changed.setdefault(owner, set()).update(attributes)
    # Specs SpecDiff did not reach from the start event (it walks outputs): compare those with the same name.
    for element_id in set(old_ids) & set(new_ids):
        for old_task in old_ids[element_id]:
            new_task = new_spec.task_specs.get(old_task.name)
            if old_task not in spec_diff.alignment and new_task is not None:
                attributes = set(_compare(old_task, new_task)) - {"name"}
                if attributes:
                    changed.setdefault(element_id, set()).update(attributes)
    # Our own meta: a lane's role, the form, due and priority expressions, the form's schema.
    old_tasks, new_tasks = old_meta.get("tasks", {}), new_meta.get("tasks", {})
    for element_id in set(old_ids) & set(new_ids) & set(old_tasks) & set(new_tasks):
        before, after = old_tasks[element_id], new_tasks[element_id]
        keys = {key for key in META_KEYS if before.get(key) != after.get(key)}
        form = after.get("form")
        if form and form == before.get("form") and \
                old_meta.get("forms", {}).get(form) != new_meta.get("forms", {}).get(form):
            keys.add("form_schema")
        if keys:
            changed.setdefault(element_id, set()).update(keys)

    added_ids = set(new_ids) - set(old_ids) - set(renamed.values())
    removed_ids = set(old_ids) - set(new_ids) - set(renamed)
    result = {
        "added": [_element(i, new_outline, new_ids[i], process_id) for i in added_ids],
        "removed": [_element(i, old_outline, old_ids[i], process_id) for i in removed_ids],
        "changed": [],
    }
    for element_id, attributes in changed.items():
        if element_id in removed_ids:
            continue
        entry = _element(element_id, new_outline if element_id not in renamed else old_outline,
                         old_ids.get(element_id, []), process_id)
        entry["attributes"] = sorted(attributes)
        if element_id in renamed:
            entry["new_id"] = renamed[element_id]
        result["changed"].append(entry)
    _flow_changes(process_id, old_outline, new_outline, result)
    for key, outline in (("added", new_outline), ("removed", old_outline), ("changed", old_outline)):
        order = {element_id: index for index, element_id in enumerate(outline["order"])}
        result[key].sort(key=lambda e: (order.get(e["id"], len(order)), e["id"]))
    return result


def _flow_changes(process_id: str, old_outline: dict, new_outline: dict, result: dict) -> None:
    """Sequence flows are not task specs: compare them in the XML (source, target, name, condition)."""
    old_flows, new_flows = old_outline["flows"], new_outline["flows"]
    for flow_id in new_flows.keys() - old_flows.keys():
        result["added"].append({"id": flow_id, "type": "sequenceFlow", "name": new_flows[flow_id]["name"],
                                "process_id": process_id})
    for flow_id in old_flows.keys() - new_flows.keys():
        result["removed"].append({"id": flow_id, "type": "sequenceFlow", "name": old_flows[flow_id]["name"],
                                  "process_id": process_id})
    for flow_id in old_flows.keys() & new_flows.keys():
        attributes = [k for k, v in old_flows[flow_id].items() if new_flows[flow_id].get(k) != v]
        if attributes:
            result["changed"].append({"id": flow_id, "type": "sequenceFlow", "name": new_flows[flow_id]["name"],
                                      "process_id": process_id, "attributes": attributes})


def diff(session: Session, process_id: str, from_version: int, to_version: int,
         specs: Callable[[ProcessDefinition], tuple[Any, dict]] | None = None) -> dict:
    """What changed from one version of a process to another: per process (its own and each called one)."""
    if from_version == to_version:
        raise ValidationFailed("compare two different versions", fields={"to": "must differ from from"})
    old_row = definition(session, process_id, from_version)
    new_row = definition(session, process_id, to_version)
    load = specs or (lambda row: spec_from_json(row.spec_json))
    old_spec, old_subs = load(old_row)
    new_spec, new_subs = load(new_row)
    old_files, new_files = _Files(session, old_row.deployment_id), _Files(session, new_row.deployment_id)
    old_meta, new_meta = old_row.task_meta or {}, new_row.task_meta or {}
    entries = []
    pairs = [(process_id, old_spec, new_spec, "main")]
    for pid in sorted(set(old_subs) | set(new_subs)):
        embedded = "subProcess" in (old_files.process(pid)["kind"], new_files.process(pid)["kind"])
        pairs.append((pid, old_subs.get(pid), new_subs.get(pid), "subprocess" if embedded else "called"))
    for pid, old, new, kind in pairs:
        if old is None or new is None:
            present = new if old is None else old
            entries.append({"process_id": pid, "name": present.description or pid, "kind": kind,
                            "status": "added" if old is None else "removed", "added": [], "removed": [],
                            "changed": []})
            continue
        changes = _process_changes(pid, old, new, old_files.process(pid), new_files.process(pid), old_meta, new_meta)
        status = "changed" if any(changes.values()) else "unchanged"
        if status == "unchanged" and kind != "main":
            continue
        entries.append({"process_id": pid, "name": new.description or pid, "kind": kind, "status": status,
                        **changes})
    markers = {"from": {"removed": [], "changed": []}, "to": {"added": [], "changed": []}}
    for entry in entries:
        markers["from"]["removed"] += [e["id"] for e in entry["removed"]]
        markers["from"]["changed"] += [e["id"] for e in entry["changed"]]
        markers["to"]["added"] += [e["id"] for e in entry["added"]]
        markers["to"]["changed"] += [e.get("new_id", e["id"]) for e in entry["changed"]]
    return {
        "process_id": process_id, "from_version": from_version, "to_version": to_version,
        "processes": entries,
        "summary": {key: sum(len(e[key]) for e in entries) for key in ("added", "removed", "changed")},
        "markers": markers,
    }


# --- moving running cases ------------------------------------------------------------------------------------


def _label(task_spec) -> str:  # noqa: ANN001
    name = getattr(task_spec, "bpmn_name", None)
    element = getattr(task_spec, "bpmn_id", None) or task_spec.name
    return f"{name} ({element})" if name else element


def _reason(code: str, message: str, task_spec=None, process_id: str | None = None) -> dict:  # noqa: ANN001
    return {"code": code, "message": message,
            "element_id": (getattr(task_spec, "bpmn_id", None) or task_spec.name) if task_spec is not None else None,
            "element_name": getattr(task_spec, "bpmn_name", None) if task_spec is not None else None,
            "process_id": process_id}


def _where(process_id: str, main_process: str) -> str:
    return "" if process_id == main_process else f"its called process {process_id} "


def _removed_reasons(workflow_diff: WorkflowDiff, process_id: str, main_process: str, label: str) -> list[dict]:
    reasons, seen = [], set()
    for task in workflow_diff.removed:
        spec = task.task_spec
        if not getattr(spec, "bpmn_id", None):
            continue  # SpiffWorkflow's own split/join specs go with the element they belong to
        if task.has_state(_ACTIVE):
            code, text = "waits_at_removed", f"{_where(process_id, main_process)}waits at {_label(spec)}, which " \
                                             f"{label} removed"
        elif task.has_state(_FINISHED):
            code, text = "passed_removed", f"{_where(process_id, main_process)}has passed {_label(spec)}, which " \
                                           f"{label} removed; its history there would be lost"
        else:
            continue  # predicted steps are re-planned by the move (checked again afterwards)
        if (code, spec.bpmn_id) not in seen:
            seen.add((code, spec.bpmn_id))
            reasons.append(_reason(code, text, spec, process_id))
    return reasons


def _check(workflow: BpmnWorkflow, target_spec, target_subs: dict, label: str):  # noqa: ANN001, ANN202
    """Reasons the case cannot move (none: it can), and SpiffWorkflow's diffs to move it with."""
    main = workflow.spec.name
    top_diff, sub_diffs = diff_workflow(_REGISTRY, workflow, target_spec, target_subs)
    reasons = _removed_reasons(top_diff, main, main, label)
    for sp_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if sub_diff is None:
            if sub.completed:
                reasons.append(_reason("called_process_dropped", f"its finished called process {sub.spec.name} is "
                                       f"not part of {label}; its history would be lost", None, sub.spec.name))
            else:
                reasons.append(_reason("called_process_removed", f"its called process {sub.spec.name} is running, "
                                       f"and {label} no longer calls it", None, sub.spec.name))
            continue
        reasons.extend(_removed_reasons(sub_diff, sub.spec.name, main, label))
    return reasons, (top_diff, sub_diffs)


def _workflows(workflow: BpmnWorkflow) -> list:
    return [workflow, *workflow.subprocesses.values()]


def _apply(workflow: BpmnWorkflow, diffs, target_spec, target_subs: dict) -> None:  # noqa: ANN001
    """SpiffWorkflow's migration, then give back what its reset of ready and waiting tasks dropped.

    ``migrate_workflow`` resets each ready or waiting task: the task keeps its id, but its data is
    copied afresh from its parent and its internal data is cleared. That loses the item a
    multi-instance task works on (e.g. its ``department``) and restarts timers. A task that comes
    back in the same state gets its data and internal data back; a timer whose definition changed
    keeps the due time the new definition gave it.
    """
    top_diff, sub_diffs = diffs
    changed = {task.id for d in [top_diff, *sub_diffs.values()] if d is not None for task in d.changed}
    saved = {}
    for flow in _workflows(workflow):
        for task in flow.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True):
            saved[task.id] = (task.state, task.data, dict(task.internal_data))
    migrate_workflow(top_diff, workflow, target_spec)
    for sp_id, sub in list(workflow.subprocesses.items()):
        migrate_workflow(sub_diffs[sp_id], sub, target_subs[sub.spec.name])
    workflow.subprocess_specs = target_subs
    for flow in _workflows(workflow):
        for task_id, (state, data, internal) in saved.items():
            task = flow.tasks.get(task_id)
            if task is None or task.state != state:
                continue
            fresh = task.internal_data
            task.internal_data = internal
            if task_id in changed and "event_value" in fresh:
                task.internal_data["event_value"] = fresh["event_value"]
            task.data = data


def _verify(workflow: BpmnWorkflow, label: str) -> list[dict]:
    """After the move every task must run on the new specs, and the state must save and load."""
    reasons = []
    for flow in _workflows(workflow):
        for task in flow.tasks.values():
            spec = task.task_spec
            if flow.spec.task_specs.get(spec.name) is spec:
                continue
            verb = "would still reach" if not task.has_state(_ACTIVE | _FINISHED) else "is at"
            reasons.append(_reason("reaches_removed", f"{_where(flow.spec.name, workflow.spec.name)}{verb} "
                                   f"{_label(spec)}, which {label} removed", spec, flow.spec.name))
    if reasons:
        return _unique(reasons)
    try:
        state_from_bytes(state_to_bytes(workflow), workflow.spec, workflow.subprocess_specs, workflow.script_engine)
    except Exception as exc:  # noqa: BLE001 - any failure here means the moved case could not be loaded again
        reasons.append(_reason("migration_failed", f"the moved case would not load again ({type(exc).__name__}: "
                               f"{exc})"))
    return reasons


def _unique(reasons: list[dict]) -> list[dict]:
    seen, result = set(), []
    for reason in reasons:
        key = (reason["code"], reason["element_id"], reason["process_id"])
        if key not in seen:
            seen.add(key)
            result.append(reason)
    return result


def waiting_at(workflow: BpmnWorkflow) -> list[dict]:
    """Where the case waits now: open user/manual tasks and waiting catch events (not boundary timers)."""
    found = []
    for flow in _workflows(workflow):
        for task in flow.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True):
            spec = task.task_spec
            if not getattr(spec, "bpmn_id", None):
                continue
            human = task.state == TaskState.READY and spec.manual
            event = task.state == TaskState.WAITING and isinstance(spec, CatchingEvent) \
                and not isinstance(spec, BoundaryEvent)
            if human or event:
                found.append({"id": str(task.id), "bpmn_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id,
                              "process_id": flow.spec.name, "state": "ready" if human else "waiting"})
    return found


def _version_label(row: ProcessDefinition) -> str:
    return f"v{row.version}"


def migration_preview(session: Session, runner: CaseRunner, process_id: str, to_version: int,
                      from_version: int | None = None) -> dict:
    """For each open case on another version of the process: can it move to ``to_version``, and if not why."""
    target = definition(session, process_id, to_version)
    if from_version is not None:
        if from_version == to_version:
            raise ValidationFailed("the cases are on that version already", fields={"from": "must differ from to"})
        sources = [definition(session, process_id, from_version)]
    else:
        sources = list(session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id, ProcessDefinition.version < to_version)))
    versions = {row.id: row.version for row in sources}
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.definition_id.in_(versions), ProcessInstance.status.in_(OPEN_STATUSES))) or 0
    instances = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.definition_id.in_(versions), ProcessInstance.status.in_(OPEN_STATUSES))
        .order_by(ProcessInstance.created_at, ProcessInstance.id).limit(PREVIEW_LIMIT))
    target_spec, target_subs = runner.spec_for(target)
    cases = []
    for instance in instances:
        entry = {"number": instance.business_key, "version": versions[instance.definition_id],
                 "status": instance.status, "created_at": _iso(instance.created_at),
                 "updated_at": _iso(instance.updated_at), "waiting_at": [], "can_move": False, "reasons": []}
        try:
            workflow, _ = runner.load(session, instance)
            entry["waiting_at"] = waiting_at(workflow)
            entry["reasons"] = _dry_run(instance, workflow, target_spec, target_subs, _version_label(target))
        except Exception as exc:  # noqa: BLE001 - one unreadable case must not hide the others
            log.exception("case %s: migration preview failed", instance.business_key)
            entry["reasons"] = [_reason("migration_failed", f"the case cannot be checked ({type(exc).__name__}: "
                                        f"{exc})")]
        entry["can_move"] = not entry["reasons"]
        cases.append(entry)
    return {
        "process_id": process_id, "to_version": to_version, "from_version": from_version,
        "target": {"version": target.version, "name": target.name, "deployed_at": _iso(target.deployed_at),
                   "deployed_by": target.deployed_by},
        "cases": cases, "total": total, "truncated": total > len(cases),
        "summary": {"movable": sum(1 for c in cases if c["can_move"]),
                    "blocked": sum(1 for c in cases if not c["can_move"])},
    }


def _dry_run(instance: ProcessInstance, workflow: BpmnWorkflow, target_spec, target_subs: dict,  # noqa: ANN001
             label: str) -> list[dict]:
    """Reasons the case cannot move, found by moving the loaded workflow in memory (never saved)."""
    reasons = []
    if instance.status == "suspended":
        reasons.append(_reason("suspended", "the case is suspended; resume it first"))
    found, diffs = _check(workflow, target_spec, target_subs, label)
    reasons.extend(found)
    if not found:
        _apply(workflow, diffs, target_spec, target_subs)
        reasons.extend(_verify(workflow, label))
    return reasons


def migrate_case(session: Session, runner: CaseRunner, number: str, target_id: int, actor: str) -> dict:
    """Move case ``number`` onto version ``target_id``, in the caller's write transaction.

    Raises ``MigrationBlocked`` (nothing changed) when the case cannot move; the caller rolls the
    transaction back on any exception, so a failure half-way leaves the case as it was.
    """
    instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == number))
    if instance_id is None:
        raise NotFound(f"case {number} not found")
    instance = runner.lock(session, instance_id)
    current = runner.definition(session, instance)
    target = session.get(ProcessDefinition, target_id)
    label = _version_label(target)
    if current.process_id != target.process_id:
        raise MigrationBlocked(number, [_reason("other_process", f"the case runs process {current.process_id}, "
                                                f"not {target.process_id}")])
    if current.id == target.id:
        raise MigrationBlocked(number, [_reason("same_version", f"the case is on {label} already")])
    if instance.status != "running":
        message = "the case is suspended; resume it first" if instance.status == "suspended" \
            else f"the case is {instance.status}"
        raise MigrationBlocked(number, [_reason(instance.status if instance.status == "suspended" else "closed",
                                                message)])
    workflow, _ = runner.load(session, instance)
    target_spec, target_subs = runner.spec_for(target)
    reasons, diffs = _check(workflow, target_spec, target_subs, label)
    if reasons:
        raise MigrationBlocked(number, reasons)
    _apply(workflow, diffs, target_spec, target_subs)
    reasons = _verify(workflow, label)
    if reasons:
        raise MigrationBlocked(number, reasons)
    instance.definition_id = target.id
    updated = _refresh_open_tasks(session, instance, workflow, target)
    audit.record(session, "case_migrated", actor, instance_id=instance.id, business_key=number,
                 data={"process_id": target.process_id, "from_version": current.version,
                       "to_version": target.version, "from_definition_id": current.id,
                       "to_definition_id": target.id, "tasks_updated": updated})
    runner.run_engine(session, instance, workflow, actor)
    runner.save(session, instance, workflow, target, actor)
    return {"number": number, "migrated": True, "from_version": current.version, "to_version": target.version,
            "reasons": [], "tasks_updated": updated, "waiting_at": waiting_at(workflow)}


def _refresh_open_tasks(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
                        target: ProcessDefinition) -> list[dict]:
    """Inbox rows of tasks that stay open take the new version's role, form, deadline and priority.

    A task whose role changed is released: whoever held it may not have the new role.
    """
    sync = CaseSync(session, instance, target.task_meta or {}, workflow.script_engine.evaluate)
    tasks = {str(t.id): t for flow in _workflows(workflow) for t in flow.tasks.values()}
    updated = []
    for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)):
        task = tasks.get(row.id)
        if task is None or task.state != TaskState.READY:
            continue  # save() cancels rows of tasks that are gone
        fresh = sync._new_row(task)  # the same rules that made the row, under the new version's meta
        fields = [name for name in ("name", "kind", "role", "form", "due_at", "priority")
                  if getattr(row, name) != getattr(fresh, name)]
        for name in fields:
            setattr(row, name, getattr(fresh, name))
        if "role" in fields and row.assignee is not None:
            row.assignee = None
            fields.append("assignee")
        if fields:
            updated.append({"task_id": row.id, "bpmn_id": row.bpmn_id, "fields": fields})
    return updated
