"""Keep the index tables in step with a workflow's state, in the same transaction.

After every operation the open user/manual tasks, the waiting timers and the
waiting messages of the case are compared with their rows; rows are added and
removed to match, and each new or finished task is written to the audit log.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import audit, clock
from .models import CaseClock, HumanTask, MessageWait, ProcessInstance, Timer
from .users import is_valid_role

log = logging.getLogger(__name__)

CASE_FIELDS = ("category", "business_line", "region", "city", "phone", "customer_name")


def tier_of(data: dict[str, Any]) -> str:
    """SVIP first, then high-star (4★ and up), then everyone else."""
    if data.get("svip") is True:
        return "svip"
    star = data.get("star_level")
    if isinstance(star, int) and star >= 4:
        return "high"
    return "standard"


TIER_PRIORITY = {"svip": 30, "high": 20, "standard": 10}


def all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError):
        return None


def case_data(workflow: BpmnWorkflow) -> dict:
    """The case's data as one dict: each finished task's own changes, applied in the order they happened.

    Parallel branches each carry a copy of the data; replaying only what each task changed keeps
    one branch's stale copy from overwriting another branch's newer value.
    """
    merged = dict(workflow.task_tree.data)
    finished = [t for t in all_tasks(workflow) if t.state == TaskState.COMPLETED and t.parent is not None]
    for task in sorted(finished, key=lambda t: t.last_state_change):
        parent_data = task.parent.data
        for key, value in task.data.items():
            if key not in parent_data or parent_data[key] != value:
                merged[key] = value
    return merged


def open_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [t for t in all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual]


def event_definitions(task: Task) -> list:
    """What a waiting task listens for; an event-based gateway or multiple event listens for several."""
    event = getattr(task.task_spec, "event_definition", None)
    if isinstance(event, MultipleEventDefinition):
        return list(event.event_definitions)
    return [event] if event is not None else []


def waiting_message(task: Task, name: str) -> MessageEventDefinition | None:
    for event in event_definitions(task):
        if isinstance(event, MessageEventDefinition) and event.name == name:
            return event
    return None


def timer_due(task: Task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if any(isinstance(e, CycleTimerEventDefinition) for e in event_definitions(task)):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        value = value["next"]
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[Task, datetime]]:
    found = {}
    for task in workflow.event_manager.tasks.values():
        has_timer = any(isinstance(e, TimerEventDefinition) for e in event_definitions(task))
        if has_timer and task.state == TaskState.WAITING:
            due = timer_due(task)
            if due is not None:
                found[str(task.id)] = (task, due.astimezone(UTC))
    return found


def waiting_messages(workflow: BpmnWorkflow) -> set[str]:
    names = set()
    for task in workflow.event_manager.tasks.values():
        if task.state == TaskState.WAITING:
            names.update(e.name for e in event_definitions(task) if isinstance(e, MessageEventDefinition))
    return names


def boundary_deadline(task: Task) -> datetime | None:
    """A task's deadline, when the diagram gives none: the latest timer on its boundary."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    dues = []
    for sibling in parent.children:
        if sibling is not task and any(isinstance(e, TimerEventDefinition) for e in event_definitions(sibling)):
            due = timer_due(sibling)
            if due is not None:
                dues.append(due.astimezone(UTC))
    return max(dues) if dues else None


class CaseSync:
    def __init__(self, session: Session, instance: ProcessInstance, task_meta: dict, evaluate) -> None:  # noqa: ANN001
        self.session = session
        self.instance = instance
        self.meta = task_meta.get("tasks", {})
        self.evaluate = evaluate  # (task, expression) -> value, restricted

    def run(self, workflow: BpmnWorkflow, actor: str, task_rows: list[HumanTask] | None = None,
            timers: dict[str, datetime] | None = None, messages: frozenset[str] | None = None) -> list[HumanTask]:
        """Returns the case's open human_tasks rows. ``task_rows``: the case's rows, when the caller holds
        them fresh. ``timers`` and ``messages``: what the timers and message_waits rows hold
        (engine.instances.IndexSnapshot), when known; an index whose rows already match is not touched."""
        open_rows = self._sync_human_tasks(workflow, actor, task_rows)
        waiting = waiting_timers(workflow)
        if timers is None:
            self._sync_timers(waiting)
        elif {task_id: due for task_id, (_, due) in waiting.items()} != timers:
            self._change_timers(waiting, timers)
        names = waiting_messages(workflow)
        if messages is None or names != messages:
            self._sync_messages(names)
        return open_rows

    # -- human tasks -----------------------------------------------------------------

    def _sync_human_tasks(self, workflow: BpmnWorkflow, actor: str,
                          task_rows: list[HumanTask] | None) -> list[HumanTask]:
        if task_rows is None:
            task_rows = list(self.session.scalars(select(HumanTask).where(HumanTask.instance_id == self.instance.id)))
        rows = {r.id: r for r in task_rows}
        ready = {str(t.id): t for t in open_human_tasks(workflow)}
        open_rows = [row for task_id, row in rows.items() if task_id in ready]
        for task_id, row in rows.items():
            if task_id not in ready:
                task = find_task(workflow, task_id)
                if task is None or task.state != TaskState.COMPLETED:
                    audit.record(self.session, "task_cancelled", actor, instance_id=self.instance.id,
                                 business_key=self.instance.business_key, task_id=task_id, bpmn_id=row.bpmn_id)
                self.session.delete(row)
        for task_id, task in ready.items():
            if task_id not in rows:
                row = self._new_row(task)
                self.session.add(row)
                open_rows.append(row)
                audit.record(self.session, "task_ready", actor, instance_id=self.instance.id,
                             business_key=self.instance.business_key, task_id=task_id, bpmn_id=row.bpmn_id,
                             data={"name": row.name, "role": row.role,
                                   "due_at": row.due_at.isoformat() if row.due_at else None})
        return open_rows

    def _new_row(self, task: Task) -> HumanTask:
        spec = task.task_spec
        meta = self.meta.get(spec.bpmn_id, {})
        data = task.data
        tier = tier_of(data)
        return HumanTask(
            id=str(task.id),
            instance_id=self.instance.id,
            bpmn_id=spec.bpmn_id,
            name=meta.get("name") or spec.bpmn_name or spec.bpmn_id,
            kind=meta.get("kind", "user"),
            role=self._role(task, meta),
            form=meta.get("form"),
            due_at=self._due(task, meta),
            priority=self._priority(task, meta, tier),
            created_at=clock.now(),
            complaint_number=self.instance.business_key,
            tier=tier,
            **{name: _short(data.get(name)) for name in CASE_FIELDS},
        )

    def _role(self, task: Task, meta: dict) -> str | None:
        """The lane's role, unless the diagram computes it from the case (e.g. "dept:" + department)."""
        if meta.get("role_expression"):
            role = self.evaluate(task, meta["role_expression"])
            if not isinstance(role, str) or not is_valid_role(role):
                raise ValueError(f"roleExpression of {task.task_spec.bpmn_id} gave {role!r}, not a role code")
            return role
        return meta.get("role")

    def _due(self, task: Task, meta: dict) -> datetime | None:
        if meta.get("due"):
            value = self.evaluate(task, meta["due"])
            return TimerEventDefinition.get_datetime(value).astimezone(UTC)
        return boundary_deadline(task)

    def _priority(self, task: Task, meta: dict, tier: str) -> int:
        if meta.get("priority"):
            return int(self.evaluate(task, meta["priority"]))
        return TIER_PRIORITY[tier]

    # -- timers and messages -------------------------------------------------------------

    def _sync_timers(self, waiting: dict[str, tuple[Task, datetime]]) -> None:
        rows = {r.task_id: r for r in self.session.scalars(
            select(Timer).where(Timer.instance_id == self.instance.id))}
        for task_id, row in rows.items():
            if task_id not in waiting:
                self.session.delete(row)
            elif waiting[task_id][1] != row.due_at:
                row.due_at = waiting[task_id][1]
        for task_id, (task, due) in waiting.items():
            if task_id not in rows:
                self.session.add(Timer(instance_id=self.instance.id, task_id=task_id,
                                       bpmn_id=task.task_spec.bpmn_id or task.task_spec.name,
                                       due_at=due, attempts=0))

    def _change_timers(self, waiting: dict[str, tuple[Task, datetime]], rows: dict[str, datetime]) -> None:
        """Like _sync_timers, when the rows are known (task id -> due time): no query to read them."""
        gone = sorted(task_id for task_id in rows if task_id not in waiting)
        if gone:
            self.session.execute(delete(Timer).where(Timer.instance_id == self.instance.id,
                                                     Timer.task_id.in_(gone)))
        for task_id, (task, due) in waiting.items():
            if task_id not in rows:
                self.session.add(Timer(instance_id=self.instance.id, task_id=task_id,
                                       bpmn_id=task.task_spec.bpmn_id or task.task_spec.name,
                                       due_at=due, attempts=0))
            elif rows[task_id] != due:
                self.session.execute(update(Timer).where(Timer.instance_id == self.instance.id,
                                                         Timer.task_id == task_id).values(due_at=due))

    def _sync_messages(self, names: set[str]) -> None:
        self.session.execute(delete(MessageWait).where(MessageWait.instance_id == self.instance.id))
        for name in sorted(names):
            self.session.add(MessageWait(instance_id=self.instance.id, name=name,
                                         correlation=self.instance.business_key))


def clock_rows(data: dict) -> dict[str, dict]:
    """name -> column values: the ``case_clocks`` rows the case data's ``sla_clocks`` make."""
    clocks = data.get("sla_clocks")
    wanted = {}
    for name, entry in (clocks.items() if isinstance(clocks, dict) else []):
        due = _when(entry.get("due_at")) if isinstance(entry, dict) else None
        if due is None or not isinstance(name, str):
            continue
        wanted[name[:32]] = {
            "policy": str(entry.get("policy") or name)[:64], "basis": _short(entry.get("basis")),
            "started_at": _when(entry.get("started_at")), "due_at": due, "remind_at": _when(entry.get("remind_at")),
            "met_at": _when(entry.get("met_at")), "paused": bool(entry.get("paused")),
        }
    return wanted


def sync_clocks(session: Session, instance_id: int, wanted: dict[str, dict]) -> None:
    """Make ``case_clocks`` hold ``wanted`` (clock_rows of the case data; also for finished cases: reports
    read them). Unchanged rows are not written."""
    rows = {r.name: r for r in session.scalars(select(CaseClock).where(CaseClock.instance_id == instance_id))}
    for name, row in rows.items():
        if name not in wanted:
            session.delete(row)
    for name, values in wanted.items():
        row = rows.get(name) or CaseClock(instance_id=instance_id, name=name)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def clear_indexes(session: Session, instance_id: int) -> None:
    """A finished or cancelled case has no open tasks, timers or message waits."""
    for table in (HumanTask, Timer, MessageWait):
        session.execute(delete(table).where(table.instance_id == instance_id))


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:128]
