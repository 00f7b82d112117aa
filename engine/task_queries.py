"""Queries over the open-task index (``human_tasks``): who sees what, filters, sort orders, one page.

Shared by the JSON API (``ComplaintEngine.list_tasks``) and the web inbox (``engine.inbox``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from . import clock
from .db import Database
from .models import HumanTask, ProcessDefinition, ProcessInstance
from .viewer import Viewer

SCOPES = ("inbox", "mine", "unclaimed", "all")


@dataclass(frozen=True)
class TaskFilters:
    role: str | None = None
    assignee: str | None = None  # a user name, or "me"
    overdue: bool | None = None
    due_within_hours: float | None = None
    q: str | None = None  # text over complaint number, phone and customer name
    category: str | None = None
    business_line: str | None = None
    region: str | None = None
    city: str | None = None
    tier: str | None = None
    sort: str = "due"  # due | priority | age
    page: int = 1
    page_size: int = 50


SORTS = {
    "due": (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(), HumanTask.created_at),
    "priority": (HumanTask.priority.desc(), HumanTask.due_at.is_(None), HumanTask.due_at),
    "age": (HumanTask.created_at, HumanTask.id),
}


def visibility(viewer: Viewer) -> list:
    if viewer.sees_all_queues:
        return []
    return [or_(HumanTask.role.in_(sorted(viewer.roles)), HumanTask.assignee == viewer.username)]


def scope_condition(viewer: Viewer, scope: str) -> list:
    if scope == "inbox":
        return [or_(HumanTask.assignee == viewer.username, HumanTask.assignee.is_(None))]
    if scope == "mine":
        return [HumanTask.assignee == viewer.username]
    if scope == "unclaimed":
        return [HumanTask.assignee.is_(None)]
    if scope == "all":
        return []
    raise ValueError(f"scope must be one of {', '.join(SCOPES)}")


def filter_conditions(viewer: Viewer, filters: TaskFilters, now: datetime) -> list:
    conditions = []
    if filters.role:
        conditions.append(HumanTask.role == filters.role)
    if filters.assignee:
        conditions.append(HumanTask.assignee == (viewer.username if filters.assignee == "me" else filters.assignee))
    if filters.overdue is True:
        conditions.append(HumanTask.due_at < now)
    elif filters.overdue is False:
        conditions.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now))
    if filters.due_within_hours is not None:
        conditions.append(HumanTask.due_at <= now + timedelta(hours=filters.due_within_hours))
    for name in ("category", "business_line", "region", "city", "tier"):
        value = getattr(filters, name)
        if value:
            conditions.append(getattr(HumanTask, name) == value)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(HumanTask.complaint_number.like(pattern, escape="\\"),
                              HumanTask.phone.like(pattern, escape="\\"),
                              HumanTask.customer_name.like(pattern, escape="\\")))
    return conditions


def task_dict(task: HumanTask, process_id: str, now: datetime) -> dict:
    return {
        "id": task.id, "name": task.name, "bpmn_id": task.bpmn_id, "kind": task.kind, "role": task.role,
        "assignee": task.assignee, "due_at": task.due_at.isoformat() if task.due_at else None,
        "overdue": bool(task.due_at and task.due_at < now), "priority": task.priority,
        "created_at": task.created_at.isoformat(), "complaint_number": task.complaint_number,
        "tier": task.tier, "category": task.category, "business_line": task.business_line,
        "region": task.region, "city": task.city, "phone": task.phone, "customer_name": task.customer_name,
        "process_id": process_id, "form_name": task.form,
    }


def page(db: Database, viewer: Viewer, filters: TaskFilters, scope: str = "all") -> dict:
    """One page of the scope's tasks: ``{items, total}``, items shaped as ``list_tasks`` gives them."""
    if filters.sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    now = clock.now()
    conditions = visibility(viewer) + scope_condition(viewer, scope) + filter_conditions(viewer, filters, now)
    query = (select(HumanTask, ProcessDefinition.process_id)
             .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id))
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(HumanTask).where(*conditions))
        rows = session.execute(query.where(*conditions).order_by(*SORTS[filters.sort])
                               .limit(filters.page_size).offset((filters.page - 1) * filters.page_size))
        return {"items": [task_dict(t, pid, now) for t, pid in rows], "total": total or 0}
