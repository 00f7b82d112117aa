"""The escalation desk: overdue and at-risk cases across departments, and breach rates per SLA policy.

Reads ``case_clocks`` (each case's SLA clocks, kept in step on every save) with the
open tasks of each case, so no workflow state is loaded.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .models import CaseClock, HumanTask, ProcessDefinition, ProcessInstance

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN = ("running", "suspended")
GROUPS = ("department", "city", "category")
PERIODS = ("today", "week", "month")


def _department(role: str | None) -> str:
    if not role:
        return "-"
    return role.split(":", 1)[1] if role.startswith("dept:") else role


def cases_needing_attention(session: Session, now: datetime) -> list[dict]:
    """Open cases with a clock past its deadline (overdue) or past its reminder (at risk), most urgent first."""
    rows = session.execute(
        select(CaseClock, ProcessInstance, ProcessDefinition.process_id)
        .join(ProcessInstance, ProcessInstance.id == CaseClock.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.status.in_(OPEN), CaseClock.met_at.is_(None), CaseClock.paused.is_(False),
               or_(CaseClock.due_at < now, CaseClock.remind_at <= now))
        .order_by(CaseClock.due_at)
    ).all()
    cases: dict[int, dict] = {}
    for clock_row, instance, process_id in rows:
        case = cases.setdefault(instance.id, {
            "number": instance.business_key, "process_id": process_id, "status": "at_risk",
            "category": instance.category, "city": (instance.summary or {}).get("city"),
            "tier": (instance.summary or {}).get("tier"), "clocks": [], "departments": [],
            "first_due_at": clock_row.due_at.isoformat(),
        })
        overdue = clock_row.due_at < now
        if overdue:
            case["status"] = "overdue"
        case["clocks"].append({"name": clock_row.name, "policy": clock_row.policy, "overdue": overdue,
                               "due_at": clock_row.due_at.isoformat(),
                               "remind_at": clock_row.remind_at.isoformat() if clock_row.remind_at else None})
    if cases:
        roles = session.execute(select(HumanTask.instance_id, HumanTask.role)
                                .where(HumanTask.instance_id.in_(list(cases))))
        for instance_id, role in roles:
            department = _department(role)
            if department not in cases[instance_id]["departments"]:
                cases[instance_id]["departments"].append(department)
    ordered = sorted(cases.values(), key=lambda c: (c["status"] != "overdue", c["first_due_at"]))
    return ordered


def group_counts(cases: list[dict], by: str) -> list[dict]:
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    counts: Counter = Counter()
    for case in cases:
        keys = (case["departments"] or ["-"]) if by == "department" else [case.get(by) or "-"]
        for key in keys:
            counts[(key, case["status"])] += 1
    groups: dict[str, dict] = {}
    for (key, status), n in counts.items():
        groups.setdefault(key, {"key": key, "overdue": 0, "at_risk": 0})[status] += n
    return sorted(groups.values(), key=lambda g: (-g["overdue"], -g["at_risk"], g["key"]))


def period_start(period: str, now: datetime) -> datetime:
    """Start of today, this week (Monday) or this month, in Asia/Shanghai."""
    local = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return local
    if period == "week":
        return local - timedelta(days=local.weekday())
    if period == "month":
        return local.replace(day=1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def breach_rates(session: Session, now: datetime, period: str) -> list[dict]:
    """Per policy: the clocks that came due or were met in the period, and how many missed their deadline."""
    start = period_start(period, now)
    rows = session.execute(
        select(CaseClock.policy, CaseClock.due_at, CaseClock.met_at, CaseClock.paused)
        .where(or_(and_(CaseClock.due_at >= start, CaseClock.due_at < now),
                   and_(CaseClock.met_at >= start, CaseClock.met_at < now)))
    ).all()
    totals: dict[str, dict] = {}
    for policy, due_at, met_at, paused in rows:
        entry = totals.setdefault(policy, {"policy": policy, "total": 0, "breached": 0})
        entry["total"] += 1
        if (met_at is not None and met_at > due_at) or (met_at is None and not paused and due_at < now):
            entry["breached"] += 1
    for entry in totals.values():
        entry["rate"] = round(entry["breached"] / entry["total"], 4) if entry["total"] else 0.0
    return sorted(totals.values(), key=lambda e: e["policy"])


def cases_csv(cases: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "status", "process", "category", "city", "tier", "departments", "clock", "policy",
                     "due_at", "remind_at"])
    for case in cases:
        for entry in case["clocks"]:
            writer.writerow([case["number"], case["status"], case["process_id"], case["category"] or "",
                             case["city"] or "", case["tier"] or "", " ".join(case["departments"]), entry["name"],
                             entry["policy"], entry["due_at"], entry["remind_at"] or ""])
    return out.getvalue()
