"""Append-only case history. Rows are only ever inserted; the database refuses changes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent


def record(session: Session, type: str, actor: str, *, instance_id: int | None = None,
           business_key: str | None = None, task_id: str | None = None, bpmn_id: str | None = None,
           data: dict[str, Any] | None = None) -> None:
    session.add(AuditEvent(at=clock.now(), type=type, actor=actor, instance_id=instance_id,
                           business_key=business_key, task_id=task_id, bpmn_id=bpmn_id, data=data or {}))


def timeline(session: Session, instance_id: int) -> list[dict]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))
    return [
        {"id": e.id, "at": e.at.isoformat(), "type": e.type, "actor": e.actor, "task_id": e.task_id,
         "bpmn_id": e.bpmn_id, "data": e.data}
        for e in rows
    ]


def task_was_completed(session: Session, task_id: str) -> bool:
    return session.scalar(
        select(AuditEvent.id).where(AuditEvent.task_id == task_id, AuditEvent.type == "task_completed").limit(1)
    ) is not None
