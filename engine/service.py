"""The engine's front door: every operation the web app and the CLI may call.

The web layer calls these methods and never touches SpiffWorkflow objects.
Each method raises an ``engine.errors.EngineError`` subclass for a problem the
caller can fix; its ``status`` says which HTTP status it means. A failure of the
model or of ours while running a case rolls the whole operation back, is
logged with the case number, and leaves an ``error`` event on the case.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from jsonschema import Draft202012Validator
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import (
    audit,
    camunda_import,
    case_access,
    clock,
    definitions,
    desk,
    repeats,
    sla,
    sla_policies,
    task_queries,
    workspace,
)
from . import versions as model_versions
from .case_sync import case_data, find_task, waiting_message
from .complaints import COMPLAINT_PROCESS, NUMBER_PREFIXES, next_number, validate_complaint
from .config import Settings
from .connectors import CaseScriptEngine, Connectors
from .db import Database
from .errors import (
    BadRequest,
    Conflict,
    EngineError,
    Forbidden,
    ModelInvalid,
    NotFound,
    ProcessFault,
    ValidationFailed,
)
from .holidays import CalendarCache
from .instances import CaseRunner
from .models import HumanTask, MessageWait, ProcessDefinition, ProcessInstance, SmsMessage, Timer
from .scripting import ScriptContext, script_failure
from .task_queries import SORTS, TaskFilters
from .timers import TimerFirer
from .viewer import SYSTEM, Viewer
from .xmlsafe import XmlLimits

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes


DESK_ROLES = ("escalation", "supervisor")
# What start_complaint and complete reply with: the whole case, or its summary (see ComplaintEngine).
VIEWS = ("full", "summary")

class ComplaintEngine:
    """Shape of the results (all JSON-ready dicts, datetimes as ISO strings with offset):

    task: {id, name, bpmn_id, kind, role, assignee, due_at, overdue, priority, created_at,
           complaint_number, tier, category, business_line, region, city, phone, customer_name,
           process_id, form_name}  (+ ``form``: the JSON Schema, and ``data`` in get_task)
    case: {number, process_id, version, status, created_at, updated_at, ended_at, last_error,
           data, sla: [{name, policy, due_at, breached, paused}], tasks: [task], timeline: [event]}
    case summary (``view="summary"`` of start_complaint and complete): {number, process_id, status,
           tasks: [task]}: what a client needs for its next step, without the data, timeline, timers
           and SMS of the full case (those cost queries and JSON on every step).
    event: {id, at, type, actor, task_id, bpmn_id, data}
    """

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = clock.now) -> None:
        self.db = db
        self.settings = settings
        self.now = now
        self.calendars = CalendarCache()
        self.runner = CaseRunner(self._script_engine)
        self.timers = TimerFirer(db, self.runner, self._record_fault)
        clock.install_into_spiff()

    def _script_engine(self, session: Session, instance: ProcessInstance) -> CaseScriptEngine:
        # Loaded here, outside any script's time limit, so a script never waits on the database.
        calendar = self.calendars.get(self.db, session)  # checked in the operation's own transaction
        overrides = sla_policies.lookup(session)
        context = ScriptContext(now=clock.now, calendar=lambda: calendar,
                                sla_lookup=lambda policy: overrides.get(policy, {}))
        connectors = Connectors(session, instance, self._start_linked)
        return CaseScriptEngine(connectors, context=context, time_limit=self.settings.script_time_limit_seconds)

    # -- definitions -------------------------------------------------------------------

    def validate(self, files: list[UploadedFile]) -> list[dict]:
        models = definitions.to_model_files(((f.filename, f.content) for f in files), self.settings.max_model_bytes)
        with self.db.read() as session:
            forms = definitions.known_forms(session, None)
        return self._builder(forms).build(models).findings  # errors, then warnings (severity)

    def deploy(self, files: list[UploadedFile], actor: str, source: str = "upload") -> dict:
        models = definitions.to_model_files(((f.filename, f.content) for f in files), self.settings.max_model_bytes)
        with self.db.write() as session:
            forms = definitions.known_forms(session, None)
            built = self._builder(forms).build(models)
            if built.problems:
                raise ModelInvalid(f"{len(built.problems)} problem(s) in the model", built.problems)
            result = definitions.store(session, built, models, actor, source)
            audit.record(session, "deployed", actor, data=result)
            return {**result, "warnings": built.warnings}

    def validate_changes(self, changes: list[UploadedFile]) -> list[dict]:
        """Problems of the working set (every deployed file, newest content) with ``changes`` applied."""
        with self.db.read() as session:
            files = workspace.with_changes(session, [(f.filename, f.content) for f in changes])
        return self.validate([UploadedFile(n, c) for n, c in files])

    def deploy_changes(self, changes: list[UploadedFile], actor: str, source: str = "editor") -> dict:
        """Deploy the working set with ``changes`` applied: new versions of what they change, nothing else."""
        with self.db.read() as session:
            files = workspace.with_changes(session, [(f.filename, f.content) for f in changes])
        return self.deploy([UploadedFile(n, c) for n, c in files], actor, source=source)

    def current_files(self) -> dict[str, tuple[str, str]]:
        """filename -> (kind, text): the newest deployed content of every model file."""
        with self.db.read() as session:
            return workspace.current_files(session)

    def deploy_directory(self, actor: str) -> dict:
        files = definitions.directory_files(self.settings.processes_dir, self.settings.forms_dir)
        return self.deploy([UploadedFile(n, c) for n, c in files], actor, source="processes/")

    def _builder(self, forms: dict[str, bytes]) -> definitions.ModelBuilder:
        return definitions.ModelBuilder(forms, XmlLimits(self.settings.max_model_bytes))

    def list_definitions(self) -> list[dict]:
        with self.db.read() as session:
            counts = definitions.instance_counts(session)
            rows = session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.process_id,
                                                                       ProcessDefinition.version))
            return [
                {"id": d.id, "process_id": d.process_id, "version": d.version, "name": d.name,
                 "content_hash": d.content_hash, "deployed_by": d.deployed_by,
                 "deployed_at": d.deployed_at.isoformat(), "instances": counts.get(d.id, 0),
                 "start_messages": d.start_messages}
                for d in rows
            ]

    # -- import ---------------------------------------------------------------------------

    def import_models(self, files: list[UploadedFile], actor: str, role_map: dict[str, str] | None = None,
                      deploy: bool = False) -> dict:
        """Diagrams from Camunda Modeler or bpmn.io: convert (engine.camunda_import), check them with the
        working set, and deploy them when asked and nothing blocks. Nothing is stored unless deployed.

        Returns {report, problems, deployed (the deploy result or None), files: [{filename, content}]}.
        """
        with self.db.read() as session:
            forms = definitions.known_forms(session, None)
            processes = session.scalars(select(ProcessDefinition.process_id).distinct()).all()
        conversion = camunda_import.convert(
            [(f.filename, f.content) for f in files], role_map, known_forms=forms, known_processes=processes,
            limits=XmlLimits(self.settings.max_model_bytes))
        converted = [UploadedFile(name, content) for name, content in conversion.files]
        problems = list(conversion.problems)
        deployed = None
        if not any(definitions.classify(f.filename) == "bpmn" for f in converted):
            problems.append(definitions.problem(None, None, None, "no BPMN diagram could be imported"))
        elif deploy and not problems:
            try:
                deployed = self.deploy_changes(converted, actor, source="import")
            except ModelInvalid as exc:
                problems = exc.problems
        else:
            problems += self.validate_changes(converted)
        return {
            "report": conversion.report,
            "problems": camunda_import.locate(problems, conversion.files),
            "deployed": deployed,
            "files": [{"filename": name, "content": content.decode("utf-8", "replace")}
                      for name, content in conversion.files],
        }

    # -- starting cases ------------------------------------------------------------------

    def start_complaint(self, data: dict, actor: str, view: str = "full") -> dict:
        _check_view(view)
        clean = validate_complaint(data)
        return self._guarded(None, lambda: self._start_viewed(COMPLAINT_PROCESS, clean, actor, None,
                                                              find_repeats=True, view=view))

    def start(self, process_id: str, data: dict, actor: str, business_key: str | None = None) -> dict:
        return self._guarded(business_key, lambda: self._start_viewed(process_id, data, actor, business_key))

    def _start_viewed(self, process_id: str, data: dict, actor: str, business_key: str | None,
                      find_repeats: bool = False, view: str = "full") -> dict:
        """Start a case and return its view, built in the same transaction from the workflow just run."""
        with self.db.write() as session:
            if find_repeats:
                data = self._with_repeats(session, data)
            instance, workflow, definition, open_rows = self._start_case(session, process_id, data, actor,
                                                                         business_key)
            if view == "summary":
                return self._case_summary(session, instance, definition, SYSTEM, open_rows)
            return self._case_view(session, instance, workflow, definition, SYSTEM)

    def _start(self, process_id: str, data: dict, actor: str, business_key: str | None,
               message: tuple[str, dict] | None = None) -> str:
        with self.db.write() as session:
            return self._start_in_session(session, process_id, data, actor, business_key, message)

    @staticmethod
    def _with_repeats(session: Session, data: dict) -> dict:
        earlier = repeats.earlier_cases(session, data.get("phone"), data.get("category"), clock.now())
        return {**data, "repeat_of": [c["number"] for c in earlier], "repeat_count": len(earlier)}

    def _start_in_session(self, session: Session, process_id: str, data: dict, actor: str,
                          business_key: str | None, message: tuple[str, dict] | None = None,
                          original: ProcessInstance | None = None) -> str:
        instance, _, _, _ = self._start_case(session, process_id, data, actor, business_key, message, original)
        return instance.business_key

    def _start_case(self, session: Session, process_id: str, data: dict, actor: str, business_key: str | None,
                    message: tuple[str, dict] | None = None, original: ProcessInstance | None = None,
                    ) -> tuple[ProcessInstance, BpmnWorkflow, ProcessDefinition, list[HumanTask]]:
        definition = definitions.latest_definition(session, process_id)
        if definition is None:
            raise NotFound(f"process {process_id} is not deployed")
        now = clock.now()
        number = business_key or next_number(session, NUMBER_PREFIXES.get(process_id, "CF"), now)
        if session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == number)):
            raise Conflict(f"case {number} already exists")
        instance = ProcessInstance(
            definition_id=definition.id, business_key=number, status="running", state_json=b"", summary={},
            started_by=actor, created_at=now, updated_at=now, version=1,
            original_key=original.business_key if original is not None else None,
        )
        session.add(instance)
        session.flush()
        start_data = {**data, "complaint_number": number}
        if original is not None:
            start_data["original_number"] = original.business_key
        workflow = self.runner.new_workflow(session, instance, definition)
        workflow.task_tree.data.update(start_data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(start_data)
        audit.record(session, "case_started", actor, instance_id=instance.id, business_key=number,
                     data={"process_id": process_id, "version": definition.version,
                           "original": instance.original_key})
        if message is not None:
            _keep_only_message_start(workflow, message[0])
        self.runner.run_engine(session, instance, workflow, actor)
        if message is not None:
            self._deliver(session, instance, workflow, message[0], message[1], actor)
        open_rows = self.runner.save(session, instance, workflow, definition, actor)
        return instance, workflow, definition, open_rows

    def _start_linked(self, session: Session, process_id: str, data: dict, actor: str,
                      original: ProcessInstance) -> str:
        """A case started by another case's ``case.start`` connector, in that case's transaction."""
        return self._start_in_session(session, process_id, data, actor, None, original=original)

    def find_cases(self, phone: str, category: str | None = None) -> list[dict]:
        """The customer's cases that make a new complaint a repeat: open, or closed within 30 days."""
        with self.db.read() as session:
            if category is None:
                return repeats.cases_of_phone(session, phone)
            return repeats.earlier_cases(session, phone, category, clock.now())

    # -- reading cases -------------------------------------------------------------------

    def get_case(self, number: str, viewer: Viewer) -> dict:
        """The case, for a viewer who may open it (see engine.case_access); 403 otherwise."""
        with self.db.read() as session:
            case_access.require_case_access(session, viewer, number)
            instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
            workflow, definition = self.runner.load(session, instance)
            return self._case_view(session, instance, workflow, definition, viewer)

    def _case_view(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
                   definition: ProcessDefinition, viewer: Viewer) -> dict:
        """What get_case returns, from a workflow in hand: after an operation, the one it just ran and saved
        (flushed, same transaction), so the reply costs no second load of the state."""
        data = case_data(workflow)
        visible = self._visible_tasks(session, instance, definition, viewer)
        return {
            "number": instance.business_key,
            "process_id": definition.process_id,
            "version": definition.version,
            "status": instance.status,
            "created_at": instance.created_at.isoformat(),
            "updated_at": instance.updated_at.isoformat(),
            "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
            "last_error": instance.last_error,
            "data": _json_safe(data),
            "sla": self._sla(data),
            "tasks": visible,
            "timers": [{"bpmn_id": t.bpmn_id, "due_at": t.due_at.isoformat()} for t in session.scalars(
                select(Timer).where(Timer.instance_id == instance.id).order_by(Timer.due_at))],
            "timeline": audit.timeline(session, instance.id),
            "sms": _sms_of(session, instance.id),
            "links": repeats.links(session, instance),
        }

    def _case_summary(self, session: Session, instance: ProcessInstance, definition: ProcessDefinition,
                      viewer: Viewer, open_rows: list[HumanTask]) -> dict:
        """The short reply of an operation: the case's number and status and the open tasks ``viewer`` sees
        (the same tasks as the full view's), from ``open_rows``, the rows the save just left open."""
        return {
            "number": instance.business_key,
            "process_id": definition.process_id,
            "status": instance.status,
            "tasks": self._visible_tasks(session, instance, definition, viewer, open_rows),
        }

    def _visible_tasks(self, session: Session, instance: ProcessInstance, definition: ProcessDefinition,
                       viewer: Viewer, rows: list[HumanTask] | None = None) -> list[dict]:
        tasks = rows if rows is not None else session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at, HumanTask.id))
        return [self._task_dict(t, definition.process_id) for t in tasks
                if viewer.may_see_task(t.role, t.assignee) or viewer.has_role("escalation", "intake")]

    def _sla(self, data: dict) -> list[dict]:
        """The case's SLA clocks as the process keeps them in ``sla_clocks`` (see engine.sla)."""
        clocks = data.get("sla_clocks")
        now = clock.now()
        result = []
        for name, entry in sorted(clocks.items()) if isinstance(clocks, dict) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("due_at"), str):
                continue
            result.append({"name": name, "policy": entry.get("policy"), "basis": entry.get("basis"),
                           "due_at": entry["due_at"], "remind_at": entry.get("remind_at"),
                           "breached": sla.breached(entry, now), "paused": bool(entry.get("paused")),
                           "met_at": entry.get("met_at")})
        return result

    # -- the inbox -------------------------------------------------------------------------

    def list_tasks(self, viewer: Viewer, filters: TaskFilters) -> dict:
        if filters.sort not in SORTS:
            raise BadRequest(f"sort must be one of {', '.join(SORTS)}", fields={"sort": filters.sort})
        if filters.page < 1 or not 1 <= filters.page_size <= 200:
            raise BadRequest("page starts at 1 and page_size is 1-200", fields={"page": str(filters.page)})
        return task_queries.page(self.db, viewer, filters, "all", self.settings.inbox_count_budget_ms)

    def _task_dict(self, task: HumanTask, process_id: str) -> dict:
        return task_queries.task_dict(task, process_id, clock.now())

    def get_task(self, task_id: str, viewer: Viewer) -> dict:
        with self.db.read() as session:
            task = session.get(HumanTask, task_id)
            if task is None:
                if audit.task_was_completed(session, task_id):
                    raise Conflict(f"task {task_id} is already completed")
                raise NotFound(f"task {task_id} not found")
            self._require_visible(task, viewer)
            instance = session.get(ProcessInstance, task.instance_id)
            workflow, definition = self.runner.load(session, instance)
            result = self._task_dict(task, definition.process_id)
            result["form"] = self._form(definition, task.form)
            spiff_task = find_task(workflow, task_id)
            result["data"] = _json_safe(spiff_task.data) if spiff_task is not None else {}
            return result

    def _form(self, definition: ProcessDefinition, name: str | None) -> dict | None:
        if not name:
            return None
        text = definition.task_meta.get("forms", {}).get(name)
        return json.loads(text) if text else None

    def _require_visible(self, task: HumanTask, viewer: Viewer) -> None:
        if not viewer.may_see_task(task.role, task.assignee):
            raise Forbidden(f"task {task.id} belongs to role {task.role}")

    # -- task operations ---------------------------------------------------------------------

    def _locked_task(self, session: Session, task_id: str, viewer: Viewer,
                     ) -> tuple[HumanTask, ProcessInstance, list[HumanTask]]:
        """The task, its case locked, and every human_tasks row of the case (read after the lock, so fresh:
        save() keeps them in step without reading them again)."""
        instance = self.runner.lock_for_task(session, task_id)
        if instance is None:
            if audit.task_was_completed(session, task_id):
                raise Conflict(f"task {task_id} is already completed")
            raise NotFound(f"task {task_id} not found")
        rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .execution_options(populate_existing=True)))
        task = next((row for row in rows if row.id == task_id), None)
        if task is None:  # completed while we waited for the lock
            raise Conflict(f"task {task_id} is already completed")
        self._require_visible(task, viewer)
        return task, instance, rows

    def claim(self, task_id: str, viewer: Viewer) -> dict:
        return self._assign(task_id, viewer, "claim")

    def release(self, task_id: str, viewer: Viewer) -> dict:
        return self._assign(task_id, viewer, "release")

    def reassign(self, task_id: str, viewer: Viewer, assignee: str | None) -> dict:
        if not viewer.has_role("supervisor"):
            raise Forbidden("only a supervisor may reassign tasks")
        return self._assign(task_id, viewer, "reassign", assignee)

    def _assign(self, task_id: str, viewer: Viewer, action: str, assignee: str | None = None) -> dict:
        with self.db.write() as session:
            task, instance, _ = self._locked_task(session, task_id, viewer)
            self.runner.require_running(instance)
            holder = task.assignee
            if action == "claim":
                if holder not in (None, viewer.username):
                    raise Conflict(f"task {task_id} is held by {holder}")
                task.assignee = viewer.username
            elif action == "release":
                if holder not in (None, viewer.username) and not viewer.has_role("supervisor"):
                    raise Conflict(f"task {task_id} is held by {holder}")
                task.assignee = None
            else:
                if assignee is not None:
                    _require_user(session, assignee)
                task.assignee = assignee
            audit.record(session, f"task_{action}ed" if action != "release" else "task_released",
                         viewer.username, instance_id=instance.id, business_key=instance.business_key,
                         task_id=task_id, bpmn_id=task.bpmn_id, data={"from": holder, "to": task.assignee})
            definition = session.get(ProcessDefinition, instance.definition_id)
            session.flush()
            return self._task_dict(task, definition.process_id)

    def complete(self, task_id: str, viewer: Viewer, data: dict, view: str = "full") -> dict:
        """Complete a task; the reply holds the case after the step, whole or as its summary (``view``)."""
        _check_view(view)
        if not isinstance(data, dict):
            raise ValidationFailed("data must be a JSON object", fields={"data": "expected an object"})

        def operation() -> tuple[str, dict | None]:
            with self.db.write() as session:
                task, instance, rows = self._locked_task(session, task_id, viewer)
                self.runner.require_running(instance)
                if task.assignee not in (None, viewer.username) and not viewer.has_role("supervisor"):
                    raise Conflict(f"task {task_id} is held by {task.assignee}")
                workflow, definition = self.runner.load(session, instance)
                _check_form(self._form(definition, task.form), data)
                spiff_task = find_task(workflow, task_id)
                if spiff_task is None or spiff_task.state != TaskState.READY:
                    raise Conflict(f"task {task_id} is no longer open")
                # A form's fields replace what the case held (SpiffWorkflow would deep-merge lists).
                variable = getattr(spiff_task.task_spec, "variable", None)
                spiff_task.set_data(**({variable: data} if variable else data))
                spiff_task.run()
                audit.record(session, "task_completed", viewer.username, instance_id=instance.id,
                             business_key=instance.business_key, task_id=task_id, bpmn_id=task.bpmn_id,
                             data={"name": task.name, "role": task.role, "form_data": data})
                self.runner.run_engine(session, instance, workflow, viewer.username)
                open_rows = self.runner.save(session, instance, workflow, definition, viewer.username,
                                             task_rows=rows)
                number = instance.business_key
                # The reply is built here, from the workflow just run; a viewer who may no longer open the
                # case (checked without failing the completion) gets get_case's answer after the commit.
                if not _may_view(session, viewer, number):
                    return number, None
                if view == "summary":
                    return number, self._case_summary(session, instance, definition, viewer, open_rows)
                return number, self._case_view(session, instance, workflow, definition, viewer)

        number, case = self._guarded(lambda: self._number_of_task(task_id), operation)
        return {"task_id": task_id, "case": case if case is not None else self.get_case(number, viewer)}

    def _number_of_task(self, task_id: str) -> str | None:
        with self.db.read() as session:
            return session.scalar(select(HumanTask.complaint_number).where(HumanTask.id == task_id))

    # -- messages ---------------------------------------------------------------------------

    def send_message(self, name: str, correlation: str | None, payload: dict, actor: str) -> dict:
        if not isinstance(payload, dict):
            raise ValidationFailed("payload must be a JSON object", fields={"payload": "expected an object"})
        with self.db.read() as session:
            instance_id = None
            if correlation:
                instance_id = session.scalar(select(MessageWait.instance_id).where(
                    MessageWait.name == name, MessageWait.correlation == correlation).limit(1))
            starters = [d for d in session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.version.desc()))
                        if name in (d.start_messages or [])]
        if instance_id is not None:
            number = self._guarded(correlation, lambda: self._deliver_to(instance_id, name, payload, actor))
            return {"number": number, "started": False}
        if starters:
            process_id = starters[0].process_id
            number = self._guarded(None, lambda: self._start(process_id, {}, actor, None, (name, payload)))
            return {"number": number, "started": True}
        raise NotFound(f"no case waits for message {name!r} with correlation {correlation!r}, "
                       f"and no process starts with it")

    def _deliver_to(self, instance_id: int, name: str, payload: dict, actor: str) -> str:
        with self.db.write() as session:
            instance = self.runner.lock(session, instance_id)
            self.runner.require_running(instance)
            workflow, definition = self.runner.load(session, instance)
            self._deliver(session, instance, workflow, name, payload, actor)
            self.runner.save(session, instance, workflow, definition, actor)
            return instance.business_key

    def _deliver(self, session: Session, instance: ProcessInstance, workflow, name: str, payload: dict,
                 actor: str) -> None:  # noqa: ANN001
        waiting = [(t, waiting_message(t, name)) for t in workflow.event_manager.tasks.values()]
        waiting = [(t, event) for t, event in waiting if event is not None]
        if not waiting:
            raise NotFound(f"case {instance.business_key} is not waiting for message {name!r}")
        task, event = waiting[0]
        workflow.send_event(BpmnEvent(event, payload))
        audit.record(session, "message_received", actor, instance_id=instance.id,
                     business_key=instance.business_key, bpmn_id=task.task_spec.bpmn_id,
                     data={"name": name, "payload": payload})
        self.runner.run_engine(session, instance, workflow, actor)

    # -- case control ---------------------------------------------------------------------------

    def suspend(self, number: str, viewer: Viewer) -> dict:
        return self._set_status(number, viewer, "suspend", ("running",), "suspended")

    def resume(self, number: str, viewer: Viewer) -> dict:
        return self._set_status(number, viewer, "resume", ("suspended",), "running")

    def cancel(self, number: str, viewer: Viewer, reason: str = "") -> dict:
        return self._set_status(number, viewer, "cancel", ("running", "suspended"), "cancelled", reason)

    def _set_status(self, number: str, viewer: Viewer, action: str, allowed: tuple[str, ...], status: str,
                    reason: str = "") -> dict:
        if not viewer.has_role("supervisor"):
            raise Forbidden(f"only a supervisor may {action} a case")
        with self.db.write() as session:
            instance = self.runner.lock_by_number(session, number)
            if instance.status not in allowed:
                raise Conflict(f"case {number} is {instance.status}; cannot {action}")
            workflow, definition = self.runner.load(session, instance)
            instance.status = status
            if status == "cancelled":
                workflow.cancel()
                instance.ended_at = clock.now()
            audit.record(session, f"case_{action}ed" if action != "cancel" else "case_cancelled",
                         viewer.username, instance_id=instance.id, business_key=number, data={"reason": reason})
            self.runner.save(session, instance, workflow, definition, viewer.username)
        return self.get_case(number, viewer)

    # -- escalation desk ----------------------------------------------------------------------

    def desk(self, viewer: Viewer) -> dict:
        """Overdue and at-risk cases with counts by department, city and category, and breach rates."""
        self._require_desk(viewer)
        now = clock.now()
        with self.db.read() as session:
            cases = desk.cases_needing_attention(session, now)
            rates = {period: desk.breach_rates(session, now, period) for period in desk.PERIODS}
        return {"now": now.isoformat(), "cases": cases,
                "groups": {by: desk.group_counts(cases, by) for by in desk.GROUPS}, "breach_rates": rates}

    def desk_csv(self, viewer: Viewer) -> str:
        self._require_desk(viewer)
        with self.db.read() as session:
            return desk.cases_csv(desk.cases_needing_attention(session, clock.now()))

    def _require_desk(self, viewer: Viewer) -> None:
        if not viewer.has_role(*DESK_ROLES):
            raise Forbidden("the escalation desk is for the escalation desk and supervisors")

    # -- timers -------------------------------------------------------------------------------

    def fire_due_timers(self, limit: int = 200) -> int:
        return self.timers.fire_due(limit)

    # -- versions and migration -----------------------------------------------------------------

    def list_processes(self) -> list[dict]:
        """Every deployed process with its versions, instance counts and callers (engine.versions)."""
        with self.db.read() as session:
            return model_versions.processes(session)

    def process_versions(self, process_id: str) -> dict:
        with self.db.read() as session:
            return model_versions.process(session, process_id)

    def process_version(self, process_id: str, version: int) -> dict:
        with self.db.read() as session:
            return model_versions.version_detail(session, process_id, version)

    def diff_versions(self, process_id: str, from_version: int, to_version: int) -> dict:
        with self.db.read() as session:
            return model_versions.diff(session, process_id, from_version, to_version, self.runner.spec_for)

    def migration_preview(self, process_id: str, to_version: int, from_version: int | None = None) -> dict:
        with self.db.read() as session:
            return model_versions.migration_preview(session, self.runner, process_id, to_version, from_version)

    def migrate_cases(self, process_id: str, to_version: int, numbers: list[str], actor: str) -> dict:
        """Move each case onto ``to_version`` in its own transaction; one that cannot move is reported, not fatal."""
        if not numbers or not all(isinstance(n, str) and n for n in numbers):
            raise ValidationFailed("name at least one case number", fields={"cases": "a list of case numbers"})
        if len(set(numbers)) > model_versions.PREVIEW_LIMIT:
            raise ValidationFailed(f"at most {model_versions.PREVIEW_LIMIT} cases at a time",
                                   fields={"cases": f"at most {model_versions.PREVIEW_LIMIT}"})
        with self.db.read() as session:
            target_id = model_versions.definition(session, process_id, to_version).id
        results = []
        for number in dict.fromkeys(numbers):  # each once, in the order given
            try:
                with self.db.write() as session:
                    results.append(model_versions.migrate_case(session, self.runner, number, target_id, actor))
            except model_versions.MigrationBlocked as exc:
                results.append({"number": number, "migrated": False, "reasons": exc.reasons})
            except EngineError as exc:
                results.append({"number": number, "migrated": False,
                                "reasons": [{"code": exc.code, "message": exc.message}]})
            except StaleDataError:
                results.append({"number": number, "migrated": False, "reasons": [
                    {"code": "conflict", "message": "the case was changed meanwhile; try again"}]})
            except Exception as exc:  # noqa: BLE001 - rolled back; the other cases still move
                log.exception("case %s: migration to %s v%s failed", number, process_id, to_version)
                results.append({"number": number, "migrated": False, "reasons": [
                    {"code": "migration_failed", "message": f"the move failed and was rolled back "
                                                            f"({type(exc).__name__}: {exc})"}]})
        return {"process_id": process_id, "to_version": to_version, "results": results,
                "migrated": sum(1 for r in results if r["migrated"]),
                "failed": sum(1 for r in results if not r["migrated"])}

    # -- faults --------------------------------------------------------------------------------

    def _guarded(self, number: str | Callable[[], str | None] | None, operation: Callable[[], T]) -> T:
        """Run an operation; turn a model or engine failure into a logged, recorded ProcessFault.

        ``number`` names the case in the error; a callable is asked only when something failed.
        """
        try:
            return operation()
        except EngineError:
            raise
        except StaleDataError:
            number = number() if callable(number) else number
            raise Conflict(f"case {number} was changed by someone else; reload and try again") from None
        except Exception as exc:  # noqa: BLE001 - every fault of the model or of ours is recorded
            number = number() if callable(number) else number
            stopped = script_failure(exc)  # a script the sandbox stopped: the model's fault, 422
            if stopped is not None:
                log.warning("case %s: %s", number or "(new)", stopped.message)
                self._record_fault(number, None, stopped)
                raise stopped from exc
            log.exception("case %s: operation failed", number or "(new)")
            self._record_fault(number, None, exc)
            raise ProcessFault(
                f"case {number or '(new)'}: the process failed ({type(exc).__name__}: {exc}); "
                f"nothing was changed and the case can be retried") from exc

    def _record_fault(self, number: str | None, instance_id: int | None, exc: BaseException) -> None:
        try:
            with self.db.write() as session:
                instance = None
                if instance_id is not None:
                    instance = self.runner.lock(session, instance_id)
                elif number:
                    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
                message = f"{type(exc).__name__}: {exc}"[:2000]
                if instance is not None:
                    instance.last_error = message
                audit.record(session, "error", "engine", instance_id=instance.id if instance else None,
                             business_key=number or (instance.business_key if instance else None),
                             data={"message": message})
        except Exception:  # noqa: BLE001 - never hide the original fault
            log.exception("case %s: could not record the fault", number)


def _keep_only_message_start(workflow, name: str) -> None:  # noqa: ANN001
    """A case started by message ``name`` starts there, not at a plain start event beside it.

    With several start events SpiffWorkflow runs Start and a StartEventSplit first; the start
    events that do not catch this message are then cancelled before anything else runs.
    """
    for spec_name in ("Start", "StartEventSplit"):
        task = workflow.get_next_task(state=TaskState.READY, spec_name=spec_name)
        if task is not None:
            task.run()
    for task in workflow.get_tasks():
        event = getattr(task.task_spec, "event_definition", None)
        is_start = isinstance(task.task_spec, StartEvent)
        if is_start and not task.has_state(TaskState.FINISHED_MASK) and not (
                isinstance(event, MessageEventDefinition) and event.name == name):
            task.cancel()


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise BadRequest(f"view must be one of {', '.join(VIEWS)}", fields={"view": str(view)[:40]})


def _may_view(session: Session, viewer: Viewer, number: str) -> bool:
    """case_access.may_view_case, without its query for the desks that may open every case."""
    if viewer.sees_all_queues or viewer.has_role(*case_access.CASE_READER_ROLES):
        return True
    return case_access.may_view_case(session, viewer, number)


def _check_form(schema: dict | None, data: dict) -> None:
    if schema is None:
        return
    errors: dict[str, str] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "data"
            errors.setdefault(missing, "required")
        else:
            path = ".".join(str(p) for p in error.absolute_path) or "data"
            errors.setdefault(path, error.message)
    if errors:
        raise ValidationFailed("the form has invalid fields", fields=errors)


def _sms_of(session: Session, instance_id: int) -> list[dict]:
    messages = session.scalars(select(SmsMessage).where(SmsMessage.instance_id == instance_id).order_by(SmsMessage.id))
    return [{"phone": m.phone, "template": m.template, "text": m.text, "status": m.status,
             "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None}
            for m in messages]


def _require_user(session: Session, username: str) -> None:
    from .models import User

    if session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
        raise ValidationFailed(f"no active user {username}", fields={"assignee": "unknown user"})


def _json_safe(data: dict) -> dict:
    return json.loads(json.dumps(data, default=str))


__all__ = ["ComplaintEngine", "TaskFilters", "UploadedFile"]
