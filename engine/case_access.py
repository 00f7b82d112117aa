"""Who may open a case (its page, diagram and comments).

The desks that work across cases (intake, dispatch, escalation, appeals and
supervisors) may open any case. Anyone else, such as a department handler, may
open a case only when a task of the case is or was in one of their roles, or
when they acted on it themselves.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Forbidden, NotFound
from .models import AuditEvent, HumanTask, ProcessInstance
from .viewer import Viewer

CASE_READER_ROLES = frozenset({"intake", "dispatcher", "escalation", "appeals", "supervisor"})
_TASK_EVENTS = ("task_ready", "task_completed")


def case_roles(session: Session, instance_id: int) -> set[str]:
    """Every role a task of the case is or was given to."""
    roles = {r for r in session.scalars(select(HumanTask.role).where(HumanTask.instance_id == instance_id)) if r}
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.instance_id == instance_id,
                                                              AuditEvent.type.in_(_TASK_EVENTS))):
        role = (data or {}).get("role")
        if isinstance(role, str):
            roles.add(role)
    return roles


def may_view_case(session: Session, viewer: Viewer, number: str) -> bool:
    """True when ``viewer`` may open case ``number``; NotFound when there is no such case.

    Only a viewer who may open every case learns that a number does not exist: case numbers are
    sequential, so anyone else gets False (403) for an unknown number, as for another's case.
    """
    reads_all = viewer.sees_all_queues or viewer.has_role(*CASE_READER_ROLES)
    instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == number))
    if instance_id is None:
        if not reads_all:
            return False
        raise NotFound(f"case {number} not found")
    if reads_all:
        return True
    if viewer.roles & case_roles(session, instance_id):
        return True
    acted = session.scalar(select(AuditEvent.id).where(AuditEvent.instance_id == instance_id,
                                                       AuditEvent.actor == viewer.username).limit(1))
    return acted is not None


def require_case_access(session: Session, viewer: Viewer, number: str) -> None:
    if not may_view_case(session, viewer, number):
        raise Forbidden(f"case {number} is not handled by any of your roles")
