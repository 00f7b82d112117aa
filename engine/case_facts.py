"""The reporting row of each case (``case_facts``), kept in step with the case on every save.

Reports never load workflow state: ``sync`` copies what they count out of the case data
(customer tier, city, category, the SLA clocks, first-contact result, repeat and upgrade
links, callback satisfaction, appeal fields) and the time spent in each stage, measured
from the task lifecycle in the audit log, in the transaction that saves the case.

Stages (carrier practice, natural time): 受理 → 审核派发 → 核查处理 → 结果审核 → 回访.
``STAGE_TASKS`` maps the user tasks of processes/ onto them; a stage's time is the union
of the open intervals (ready → completed) of its tasks, so parallel departments count
once and a second round (returned work, a reopened case) adds its own time.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import clock
from .case_sync import tier_of
from .models import AuditEvent, Base, ProcessDefinition, ProcessInstance, UTCDateTime
from .repeats import REPEAT_WINDOW

SHANGHAI = ZoneInfo("Asia/Shanghai")

COMPLAINT = "complaint_intake"
UPGRADE = "upgraded_complaint"
APPEAL = "customer_appeal"

# The SLA clocks reports compare (met_at against due_at); see processes/sla_policy.dmn.
CLOCKS = ("closure", "reply", "resolve", "install", "repair")

# Stage -> the BPMN user tasks (ids in processes/) whose open time belongs to it. Tasks of the
# escalation desk (reminders, 督办) and of the appeal's own steps belong to no stage.
STAGE_TASKS: dict[str, frozenset[str]] = {
    "accept": frozenset({"Task_intake_first_contact", "Task_upgrade_contact", "Task_appeal_register"}),
    "dispatch": frozenset({"Task_dispatch_audit", "Task_dispatch_supervisor", "Task_upgrade_coordinate"}),
    "handle": frozenset({"Task_dispatch_handle", "Task_upgrade_handle"}),
    "review": frozenset({"Task_dispatch_review", "Task_upgrade_review"}),
    # 回访 covers the reply to the customer (答复) and the callback itself.
    "callback": frozenset({"Task_intake_callback", "Task_dispatch_reply", "Task_dispatch_callback",
                           "Task_upgrade_callback"}),
}
STAGES = tuple(STAGE_TASKS)
CALLBACK_TASKS = frozenset({"Task_intake_callback", "Task_dispatch_callback", "Task_upgrade_callback"})
STAGED_TASKS = frozenset().union(*STAGE_TASKS.values())

SATISFACTION = ("满意", "一般", "不满意")
APPEAL_OUTCOMES = ("和解", "不认可", "知晓")


class CaseFact(Base):
    __tablename__ = "case_facts"
    __table_args__ = (Index("ix_case_facts_process_day", "process_id", "received_day"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    process_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The local (Asia/Shanghai) day of receipt: every figure buckets a case by it.
    received_day: Mapped[date] = mapped_column(Date)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    star_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    svip: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    city: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    business_line: Mapped[str | None] = mapped_column(String(16), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The departments that handled the case or hold it, ",billing,network," (see departments_text).
    departments: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Waiting for the customer pauses every unmet clock at once (engine.sla.pause).
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    closure_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closure_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closure_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolve_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolve_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    install_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    install_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    install_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repair_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    repair_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repair_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_contact_solved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    upgraded_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    original_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    satisfaction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    appeal_ticket: Mapped[str | None] = mapped_column(String(64), nullable=True)
    appeal_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    appeal_outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)
    appeal_valid: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    appeal_invalid_reason: Mapped[str | None] = mapped_column(String(128), nullable=True)
    appeal_issue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    appeal_repeat: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    accept_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    dispatch_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    handle_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    review_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    callback_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- the hook --------------------------------------------------------------------------------


def sync(session: Session, instance: ProcessInstance, process_id: str, data: dict) -> None:
    """Write the case's reporting row from its data and its audit trail; only the columns that changed.

    Every value is worked out first (the audit query would otherwise flush half a change), then the row
    is updated in one statement, and not at all when nothing changed (``updated_at`` included).
    """
    with session.no_autoflush:
        row = session.get(CaseFact, instance.id)
        values = _values(session, instance, process_id, data)
    if row is None:
        session.add(CaseFact(instance_id=instance.id, **values, updated_at=clock.now()))
        return
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(row, name, value)
        row.updated_at = clock.now()


def _values(session: Session, instance: ProcessInstance, process_id: str, data: dict) -> dict[str, Any]:
    """Every column of the case's reporting row but the keys and ``updated_at``."""
    received = instance.created_at
    values: dict[str, Any] = {
        "number": instance.business_key, "process_id": process_id, "status": instance.status,
        "received_at": received, "received_day": local_day(received), "ended_at": instance.ended_at,
        "tier": tier_of(data), "star_level": _int(data.get("star_level")),
        "svip": data.get("svip") if isinstance(data.get("svip"), bool) else None,
    }
    for name, limit in (("city", 64), ("region", 16), ("category", 64), ("business_line", 16), ("channel", 16),
                        ("phone", 32)):
        values[name] = _text(data.get(name), limit)
    values.update(_clock_values(data.get("sla_clocks")))
    solved = data.get("first_contact_solved")
    values["first_contact_solved"] = solved if isinstance(solved, bool) else None
    values["repeat_count"] = _int(data.get("repeat_count")) or 0
    upgrade = data.get("upgrade_case")
    values["upgraded_to"] = _text(upgrade.get("number"), 64) if isinstance(upgrade, dict) else None
    values["original_number"] = instance.original_key or _text(data.get("original_number"), 64)
    values["satisfaction"] = data.get("satisfaction") if data.get("satisfaction") in SATISFACTION else None
    values.update(_stage_values(_task_intervals(session, instance.id)))
    if process_id == APPEAL:
        values.update(_appeal_values(session, instance, data, values["phone"]))
    values["departments"] = departments_text(departments_of(data))
    return values


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _clock_values(clocks: Any) -> dict[str, Any]:
    clocks = clocks if isinstance(clocks, dict) else {}
    values: dict[str, Any] = {}
    for name in CLOCKS:
        entry = clocks.get(name)
        entry = entry if isinstance(entry, dict) else {}
        values[f"{name}_policy"] = _text(entry.get("policy"), 64)
        values[f"{name}_due_at"] = _when(entry.get("due_at"))
        values[f"{name}_met_at"] = _when(entry.get("met_at"))
    values["paused"] = any(isinstance(entry, dict) and entry.get("paused") and not entry.get("met_at")
                           for entry in clocks.values())
    return values


def departments_of(data: dict) -> set[str]:
    """Departments that handled the case (from the dispatch's handle log) or hold it now; returns excluded."""
    found = set()
    for entry in data.get("handle_log") or []:
        if isinstance(entry, dict) and entry.get("action") != "return" and isinstance(entry.get("department"), str):
            found.add(entry["department"][:64])
    current = data.get("departments")
    if isinstance(current, list):
        found.update(d[:64] for d in current if isinstance(d, str))
    return found


def departments_text(departments: set[str]) -> str | None:
    """",billing,network,": sorted, with a comma on both sides of each code so that a code is found exactly."""
    codes = sorted(d for d in departments if "," not in d)
    return "," + ",".join(codes) + "," if codes else None


def departments_in(text: str | None) -> list[str]:
    return [d for d in (text or "").split(",") if d]


# -- stage times -------------------------------------------------------------------------------


Interval = tuple[str, datetime, datetime]  # (bpmn id, ready, completed)


def _task_intervals(session: Session, instance_id: int) -> list[Interval]:
    """Open intervals of the case's finished stage tasks, from their task_ready / task_completed events."""
    events = session.execute(
        select(AuditEvent.type, AuditEvent.task_id, AuditEvent.bpmn_id, AuditEvent.at)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.type.in_(("task_ready", "task_completed")),
               AuditEvent.bpmn_id.in_(STAGED_TASKS))
        .order_by(AuditEvent.id))
    ready: dict[str, tuple[str, datetime]] = {}
    intervals = []
    for kind, task_id, bpmn_id, at in events:
        if kind == "task_ready":
            ready.setdefault(task_id, (bpmn_id, at))
        elif task_id in ready:  # the engine also "completes" a multi-instance parent that was never ready
            intervals.append((bpmn_id, ready[task_id][1], at))
    return intervals


def union_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """Length of the union of the spans: overlapping work (parallel departments) counts once."""
    total, end = timedelta(), None
    for start, stop in sorted(spans):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total.total_seconds()


def _stage_values(intervals: list[Interval]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for stage, tasks in STAGE_TASKS.items():
        spans = [(start, stop) for bpmn_id, start, stop in intervals if bpmn_id in tasks]
        values[f"{stage}_seconds"] = union_seconds(spans) if spans else None
    dispatched = [stop for bpmn_id, _start, stop in intervals if bpmn_id in STAGE_TASKS["dispatch"]]
    values["dispatched_at"] = min(dispatched) if dispatched else None
    callbacks = [stop for bpmn_id, _start, stop in intervals if bpmn_id in CALLBACK_TASKS]
    values["callback_at"] = max(callbacks) if callbacks else None
    return values


# -- appeals -------------------------------------------------------------------------------------


def _appeal_values(session: Session, instance: ProcessInstance, data: dict, phone: str | None) -> dict[str, Any]:
    """Appeal fields. Validity, reason and issue come first from the registration form
    (``appeal_valid``, ``appeal_invalid_reason``, ``appeal_issue`` of forms/appeal_register.json); then
    from the regulator's ticket (the ``appeal`` message payload: ``valid``/``invalid_reason``, ``issue``,
    ``repeat``); failing both, an appeal is valid, its issue is the linked complaint's category, and it
    repeats an appeal from the same phone number received within the repeat-complaint window."""
    ticket = data.get("appeal") if isinstance(data.get("appeal"), dict) else {}
    reason = _text(data.get("appeal_invalid_reason"), 128) or _text(ticket.get("invalid_reason"), 128)
    valid = data.get("appeal_valid")
    if not isinstance(valid, bool):
        valid = ticket.get("valid")
    valid = valid if isinstance(valid, bool) else reason is None
    repeat = ticket.get("repeat")
    return {
        "appeal_ticket": _text(data.get("regulator_ticket"), 64),
        "appeal_type": _text(data.get("appeal_type"), 32),
        "appeal_outcome": data.get("outcome") if data.get("outcome") in APPEAL_OUTCOMES else None,
        "appeal_valid": valid,
        "appeal_invalid_reason": None if valid else reason,
        "appeal_issue": (_text(data.get("appeal_issue"), 64) or _text(ticket.get("issue"), 64)
                         or _linked_category(session, data)),
        "appeal_repeat": repeat if isinstance(repeat, bool) else _earlier_appeal(session, instance, phone),
    }


def _linked_category(session: Session, data: dict) -> str | None:
    numbers = [data.get("original_number"), *(data.get("linked_numbers") or [])]
    for number in numbers:
        if isinstance(number, str) and number:
            category = session.scalar(select(ProcessInstance.category)
                                      .where(ProcessInstance.business_key == number))
            if category:
                return category
    return None


def _earlier_appeal(session: Session, instance: ProcessInstance, phone: str | None) -> bool:
    if not phone:
        return False
    since = instance.created_at - REPEAT_WINDOW
    found = session.scalar(
        select(ProcessInstance.id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessDefinition.process_id == APPEAL, ProcessInstance.phone == phone,
               ProcessInstance.created_at >= since, ProcessInstance.id < instance.id)
        .limit(1))
    return found is not None


# -- backfill ------------------------------------------------------------------------------------


def backfill(db, runner, everything: bool = False, batch_size: int = 200) -> int:  # noqa: ANN001
    """Write the reporting row of every case saved before case_facts existed (all cases with ``everything``).

    ``db`` is an engine.db.Database and ``runner`` an engine.instances.CaseRunner; each batch is
    one transaction. Returns how many cases were written.
    """
    from .case_sync import case_data, clock_rows, sync_clocks

    done, last_id = 0, 0
    while True:
        with db.write() as session:
            query = select(ProcessInstance.id).where(ProcessInstance.id > last_id).order_by(ProcessInstance.id)
            if not everything:
                query = query.where(~select(CaseFact.instance_id)
                                    .where(CaseFact.instance_id == ProcessInstance.id).exists())
            ids = list(session.scalars(query.limit(batch_size)))
            if not ids:
                return done
            for instance_id in ids:
                instance = session.get(ProcessInstance, instance_id)
                workflow, definition = runner.load(session, instance)
                data = case_data(workflow)
                sync(session, instance, definition.process_id, data)
                # Saves leave case_clocks alone while the clocks stay as loaded: a case saved before the
                # table existed gets its rows here.
                sync_clocks(session, instance.id, clock_rows(data))
                done += 1
            last_id = ids[-1]
            session.flush()


# -- small parsers ---------------------------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None
