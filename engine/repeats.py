"""Repeat complaints and links between cases.

A complaint repeats an earlier case with the same phone number and category that
is still open, or was closed within the last REPEAT_WINDOW.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .models import ProcessDefinition, ProcessInstance

REPEAT_WINDOW = timedelta(days=30)
OPEN = ("running", "suspended")


def _case(instance: ProcessInstance, process_id: str) -> dict:
    return {"number": instance.business_key, "process_id": process_id, "status": instance.status,
            "category": instance.category, "created_at": instance.created_at.isoformat(),
            "ended_at": instance.ended_at.isoformat() if instance.ended_at else None}


def _query(session: Session, *conditions) -> list[dict]:  # noqa: ANN002
    rows = session.execute(
        select(ProcessInstance, ProcessDefinition.process_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(*conditions).order_by(ProcessInstance.created_at, ProcessInstance.id).limit(200))
    return [_case(instance, process_id) for instance, process_id in rows]


def earlier_cases(session: Session, phone: str | None, category: str | None, now: datetime) -> list[dict]:
    if not phone or not category:
        return []
    return _query(session, ProcessInstance.phone == phone, ProcessInstance.category == category,
                  or_(ProcessInstance.status.in_(OPEN), ProcessInstance.ended_at >= now - REPEAT_WINDOW))


def cases_of_phone(session: Session, phone: str) -> list[dict]:
    return _query(session, ProcessInstance.phone == phone)


def links(session: Session, instance: ProcessInstance) -> dict:
    """The case this one was started from, and the cases started from it."""
    return {"original": instance.original_key,
            "derived": [c["number"] for c in _query(session, ProcessInstance.original_key == instance.business_key)]}
