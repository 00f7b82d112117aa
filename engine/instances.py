"""Running cases: load a locked instance, run the engine, save state and indexes together.

Every operation here runs inside one ``Database.write()`` transaction that the
caller opened. ``lock`` takes the instance row lock (``FOR UPDATE`` on
PostgreSQL; SQLite's write transaction already holds the database lock) and the
mapper's version column turns a lost update into ``StaleDataError``.

``load`` notes what the case's index rows (SLA clocks, timers, message waits) hold, as derived
from the state it loaded: every save writes them from the state in the same transaction, so they
match it. ``save`` leaves an index alone when the case's values for it did not change, which
spares most operations a query or a delete per index.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from . import audit, case_facts, clock
from .case_sync import (
    CaseSync,
    case_data,
    clear_indexes,
    clock_rows,
    sync_clocks,
    tier_of,
    waiting_messages,
    waiting_timers,
)
from .errors import Conflict, NotFound
from .models import HumanTask, ProcessDefinition, ProcessInstance
from .workflow_state import SpecCache, state_from_bytes, state_to_bytes

SUMMARY_FIELDS = ("phone", "customer_name", "category", "business_line", "region", "city", "channel",
                  "star_level", "svip")


# session.info key: instance id -> IndexSnapshot of the state loaded in that session.
LOADED_INDEXES = "complaintflow_loaded_indexes"


@dataclass(frozen=True)
class IndexSnapshot:
    """What a case's index rows hold when its state is loaded (they were written from that state)."""

    definition_id: int
    clocks: dict[str, dict]
    timers: dict[str, datetime]
    messages: frozenset[str]


def index_snapshot(definition_id: int, workflow: BpmnWorkflow, data: dict) -> IndexSnapshot:
    return IndexSnapshot(definition_id, clock_rows(data),
                         {task_id: due for task_id, (_, due) in waiting_timers(workflow).items()},
                         frozenset(waiting_messages(workflow)))


class CaseRunner:
    """Loads, runs and saves workflows; shared by every operation of one engine."""

    def __init__(self, script_engine_factory: Callable[[], Any], spec_cache: SpecCache | None = None) -> None:
        self.make_script_engine = script_engine_factory
        self.specs = spec_cache or SpecCache()

    # -- loading ---------------------------------------------------------------------

    def lock(self, session: Session, instance_id: int, skip_locked: bool = False) -> ProcessInstance | None:
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        query = query.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
        return session.scalars(query).first()

    def lock_for_task(self, session: Session, task_id: str) -> ProcessInstance | None:
        """The instance of human task ``task_id``, locked, in one statement; None when there is no such task."""
        owner = select(HumanTask.instance_id).where(HumanTask.id == task_id).scalar_subquery()
        query = select(ProcessInstance).where(ProcessInstance.id == owner).with_for_update()
        return session.scalars(query.execution_options(populate_existing=True)).first()

    def lock_by_number(self, session: Session, number: str) -> ProcessInstance:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == number))
        if instance_id is None:
            raise NotFound(f"case {number} not found")
        instance = self.lock(session, instance_id)
        assert instance is not None
        return instance

    def definition(self, session: Session, instance: ProcessInstance) -> ProcessDefinition:
        # spec_json (100 KB and more) is read only when the spec cache misses, not on every operation.
        return session.get(ProcessDefinition, instance.definition_id, options=[defer(ProcessDefinition.spec_json)])

    def spec_for(self, definition: ProcessDefinition) -> tuple[Any, dict]:
        return self.specs.get(definition.id, lambda: definition.spec_json)

    def load(self, session: Session, instance: ProcessInstance) -> tuple[BpmnWorkflow, ProcessDefinition]:
        definition = self.definition(session, instance)
        spec, subprocess_specs = self.spec_for(definition)
        engine = self.make_script_engine(session, instance)
        workflow = state_from_bytes(instance.state_json, spec, subprocess_specs, engine)
        session.info.setdefault(LOADED_INDEXES, {})[instance.id] = index_snapshot(
            definition.id, workflow, case_data(workflow))
        return workflow, definition

    def new_workflow(self, session: Session, instance: ProcessInstance, definition: ProcessDefinition) -> BpmnWorkflow:
        spec, subprocess_specs = self.spec_for(definition)
        return BpmnWorkflow(spec, subprocess_specs, script_engine=self.make_script_engine(session, instance))

    # -- running -----------------------------------------------------------------------

    def run_engine(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, actor: str) -> None:
        """Run every automatic step; write each named element the engine completed to the audit log."""

        def completed(task: Task) -> None:
            spec = task.task_spec
            if getattr(spec, "bpmn_id", None):
                audit.record(session, "task_completed", "engine", instance_id=instance.id,
                             business_key=instance.business_key, task_id=str(task.id), bpmn_id=spec.bpmn_id,
                             data={"name": spec.bpmn_name or spec.bpmn_id, "type": type(spec).__name__})

        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=completed)
        # Events no element of this case caught (e.g. a terminate end, an unanswered signal): record and drop
        # them, so they do not pile up in the saved state.
        for event in workflow.get_events():
            definition = event.event_definition
            audit.record(session, "event_thrown", "engine", instance_id=instance.id,
                         business_key=instance.business_key,
                         data={"event": type(definition).__name__, "name": getattr(definition, "name", None)})

    def save(self, session: Session, instance: ProcessInstance, workflow: BpmnWorkflow,
             definition: ProcessDefinition, actor: str, task_rows: list[HumanTask] | None = None,
             ) -> list[HumanTask]:
        """Store the state and bring every index in step; returns the case's open human_tasks rows, oldest
        first. ``task_rows``: the case's rows when the caller read them (fresh) in this transaction, so they
        are not read again."""
        now = clock.now()
        loaded = session.info.get(LOADED_INDEXES, {}).pop(instance.id, None)
        if loaded is not None and loaded.definition_id != definition.id:
            loaded = None  # moved to another version (engine.versions): check every index
        instance.state_json = state_to_bytes(workflow)
        instance.updated_at = now
        data = case_data(workflow)
        instance.summary = summary_of(data)
        instance.phone = _text(data.get("phone"), 32)
        instance.category = _text(data.get("category"), 64)
        if workflow.completed and instance.status == "running":
            instance.status = "completed"
            instance.ended_at = now
            audit.record(session, "case_completed", actor, instance_id=instance.id,
                         business_key=instance.business_key)
        session.flush()
        clocks = clock_rows(data)
        if loaded is None or clocks != loaded.clocks:
            sync_clocks(session, instance.id, clocks)
        case_facts.sync(session, instance, definition.process_id, data)  # the reporting row (reports)
        open_rows: list[HumanTask] = []
        if instance.status in ("completed", "cancelled"):
            clear_indexes(session, instance.id)
        else:
            evaluate = workflow.script_engine.evaluate
            sync = CaseSync(session, instance, definition.task_meta, evaluate)
            open_rows = sync.run(workflow, actor, task_rows=task_rows,
                                 timers=loaded.timers if loaded is not None else None,
                                 messages=loaded.messages if loaded is not None else None)
        session.flush()
        return sorted(open_rows, key=lambda row: (row.created_at, row.id))  # the order _visible_tasks reads

    def require_running(self, instance: ProcessInstance) -> None:
        if instance.status != "running":
            raise Conflict(f"case {instance.business_key} is {instance.status}")


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def summary_of(data: dict) -> dict:
    summary = {name: data.get(name) for name in SUMMARY_FIELDS if name in data}
    summary["tier"] = tier_of(data)
    return summary
