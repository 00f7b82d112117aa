"""How much time a task has left, counted the way its limit is counted.

A task's deadline (``due_at``) usually comes from one of the case's SLA clocks
(``sla_clocks`` in the case data, see engine.sla). When one of them has the same
due time, its ``basis`` says how to count what is left (working days, business
hours or plain time) and its ``remind_at`` when the reminder (催办) falls due.
Without a matching clock the time is plain time and the reminder falls at 75% of
the way from the task's start (or the clock's) to its deadline, as DESIGN.md's
default reminder does.

``deadline`` is a pure function; ``TaskClocks`` finds the clocks of many tasks at
once from the ``case_clocks`` table (one query, no workflow state loaded: the inbox
page stays fast with 100,000 open cases, see docs/PERFORMANCE.md).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from .errors import HolidayDataMissing
from .models import CaseClock, ProcessInstance
from .sla import REMIND_SHARE

log = logging.getLogger(__name__)

WORKING_BASES = ("working_days", "business_hours")


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def matching_clock(clocks: dict, due_at: datetime | None) -> dict | None:
    """The SLA clock whose due time is the task's deadline (to the second), if any."""
    if due_at is None or not isinstance(clocks, dict):
        return None
    for name, entry in sorted(clocks.items()):
        if not isinstance(entry, dict):
            continue
        due = parse_time(entry.get("due_at"))
        if due is not None and abs((due - due_at).total_seconds()) < 1:
            return {**entry, "name": entry.get("name") or name}
    return None


def deadline(due_at: datetime | None, started_at: datetime, now: datetime, clock: dict | None = None,
             calendar: object | None = None) -> dict:
    """The state of a deadline at ``now``.

    Returns ``{state, basis, remaining, remind_at, clock}``: ``state`` is ``none`` (no deadline),
    ``ok``, ``warn`` (past the reminder) or ``overdue``; ``basis`` is how ``remaining`` is counted:
    ``working_days`` (days, a float), ``business_hours`` (seconds inside working windows) or
    ``hours`` (plain seconds). ``remaining`` is negative when overdue.
    """
    if due_at is None:
        return {"state": "none", "basis": None, "remaining": None, "remind_at": None, "clock": None}
    basis = (clock or {}).get("basis")
    start = parse_time((clock or {}).get("started_at")) or started_at
    remind_at = parse_time((clock or {}).get("remind_at"))
    if remind_at is None:
        remind_at = start + (due_at - start) * REMIND_SHARE if due_at > start else due_at
    if now >= due_at:
        state = "overdue"
    elif now >= remind_at:
        state = "warn"
    else:
        state = "ok"
    remaining: float = (due_at - now).total_seconds()
    counted = "hours"
    if basis in WORKING_BASES and calendar is not None:
        try:
            if basis == "working_days":
                remaining = calendar.working_days_between(now, due_at)  # type: ignore[attr-defined]
            else:
                remaining = calendar.working_time_between(now, due_at)  # type: ignore[attr-defined]
            counted = basis
        except (HolidayDataMissing, ValueError):
            log.info("no holiday data to count working time up to %s; showing plain time", due_at)
    return {"state": state, "basis": counted, "remaining": remaining, "remind_at": remind_at.isoformat(),
            "clock": (clock or {}).get("name")}


class TaskClocks:
    """The SLA clocks of many cases, read from ``case_clocks`` in one query (no workflow state is loaded).

    ``case_clocks`` holds each case's clocks, copied out of the case data on every save
    (engine.case_sync), so it says what ``sla_clocks`` in the case data says.
    """

    def __init__(self, engine) -> None:  # noqa: ANN001 - a ComplaintEngine
        self.engine = engine

    def clocks_of(self, numbers: set[str]) -> dict[str, dict]:
        """Case number -> its clocks as in ``sla_clocks`` (name -> entry; empty when it keeps none)."""
        if not numbers:
            return {}
        result: dict[str, dict] = {number: {} for number in numbers}
        with self.engine.db.read() as session:
            rows = session.execute(select(ProcessInstance.business_key, CaseClock)
                                   .join(CaseClock, CaseClock.instance_id == ProcessInstance.id)
                                   .where(ProcessInstance.business_key.in_(sorted(numbers)))).all()
        for number, row in rows:
            result[number][row.name] = {
                "name": row.name, "policy": row.policy, "basis": row.basis,
                "started_at": row.started_at.isoformat() if row.started_at else None,
                "due_at": row.due_at.isoformat(), "remind_at": row.remind_at.isoformat() if row.remind_at else None,
                "met_at": row.met_at.isoformat() if row.met_at else None, "paused": row.paused,
            }
        return result

    def annotate(self, tasks: list[dict], now: datetime) -> list[dict]:
        """Each task with ``deadline`` (see ``deadline``) added."""
        clocks = self.clocks_of({t["complaint_number"] for t in tasks if t.get("due_at")})
        try:
            calendar = self.engine.calendars.get(self.engine.db)
        except Exception:  # noqa: BLE001
            log.exception("could not load the working calendar")
            calendar = None
        annotated = []
        for task in tasks:
            due = parse_time(task.get("due_at"))
            started = parse_time(task.get("created_at")) or now - timedelta(seconds=1)
            clock = matching_clock(clocks.get(task["complaint_number"], {}), due)
            annotated.append({**task, "deadline": deadline(due, started, now, clock, calendar)})
        return annotated
