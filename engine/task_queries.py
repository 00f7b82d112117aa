"""Queries over the open-task index (``human_tasks``): who sees what, filters, sort orders, one page.

Shared by the JSON API (``ComplaintEngine.list_tasks``) and the web inbox (``engine.inbox``).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, literal_column, or_, select, text, union_all
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.types import Text

from . import clock
from .db import Database
from .models import HumanTask, ProcessDefinition, ProcessInstance
from .viewer import Viewer

log = logging.getLogger(__name__)

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


SORTS = ("due", "priority", "age")
# Counts stop here: past it the inbox says "10,000+" (total_exact false), so a count costs at most
# this many index entries however many tasks are open.
COUNT_CAP = 10_000
# The inbox's scope tabs show eight counts per page view: badges stop sooner ("1,000+").
SCOPE_COUNT_CAP = 1_000
# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled).
PG_QUERY_CANCELED = "57014"


def sort_columns(tasks, sort: str) -> tuple:  # noqa: ANN001
    """The ORDER BY of ``sort`` over ``tasks`` (the table or an alias of it); the id breaks ties so pages never
    overlap. NULLS LAST is the btree order, so the (role, due_at), (due_at) … indexes hand rows out in order."""
    if sort == "due":
        return (tasks.due_at.asc().nulls_last(), tasks.priority.desc(), tasks.created_at, tasks.id)
    if sort == "priority":
        return (tasks.priority.desc(), tasks.due_at.asc().nulls_last(), tasks.id)
    if sort == "age":
        return (tasks.created_at, tasks.id)
    raise ValueError(f"sort must be one of {', '.join(SORTS)}")


def visibility(viewer: Viewer) -> list:
    if viewer.sees_all_queues:
        return []
    return [or_(HumanTask.role.in_(sorted(viewer.roles)), HumanTask.assignee == viewer.username)]


def visible_parts(viewer: Viewer) -> list[tuple[list, bool]]:
    """``visibility`` as disjoint parts, one per role and one for tasks held outside those roles:
    (conditions, whether the part is big and walked in index order).

    An OR over role and assignee cannot walk one index in order; each part walks its own
    ((role, due_at), (due_at), …), so the first page and a capped count read about a page or the
    cap of index entries, not every task in the user's queues. The tasks one user holds are few:
    that part is read whole and sorted.
    """
    if viewer.sees_all_queues:
        return [([], True)]
    roles = sorted(viewer.roles)
    held_elsewhere = [HumanTask.assignee == viewer.username]
    if roles:
        held_elsewhere.append(or_(HumanTask.role.is_(None), HumanTask.role.not_in(roles)))
    return [([HumanTask.role == role], True) for role in roles] + [(held_elsewhere, False)]


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


SEARCHED = (HumanTask.complaint_number, HumanTask.phone, HumanTask.customer_name)
# pg_trgm indexes a word (letters and digits) by its runs of three: a query without such a run has no trigram.
HAS_TRIGRAM = re.compile(r"[^\W_]{3}")
# Migration 0010's SQL function: the distinct one- and two-character substrings of lower(value); a GIN index
# over complaintflow_grams(customer_name) serves the name search for queries of one or two characters.
NAME_GRAMS = func.complaintflow_grams(HumanTask.customer_name, type_=ARRAY(Text))
LONGEST_GRAM = 2


def text_search(q: str, dialect: str):  # noqa: ANN201
    """``q`` anywhere in the complaint number, phone or customer name, ASCII case ignored on every database.

    SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same (and also folds other letters),
    at the price of lowering every value it reads, so a query with nothing to fold (digits, 李) keeps LIKE.
    On PostgreSQL a query with a trigram is answered by the trigram indexes (migration 0009). One of one or
    two characters with one outside ASCII (李, 张伟) can only be in a name (complaint numbers are made of
    ASCII, phones pass engine.complaints.PHONE), and is answered by migration 0010's GIN index of the
    name's one- and two-character pieces: ``complaintflow_grams(customer_name) @> ARRAY[lower(q)]`` holds
    exactly when lower(q) occurs in lower(customer_name), ILIKE's match. At a million open tasks a rare
    name's page and count went from 0.3-0.8 s (a walk of the role's 273,000 tasks) to under 5 ms; 李 (one
    name in 20) still walks for its page (3 ms), its count takes 66 ms instead of 200. Other queries
    without a trigram ("1-2", "13", "li": ASCII, dense in numbers and phones) are written as strpos, which
    no index serves; the role's ordered walk finds a page of them quickly.
    """
    caseless = q.lower() == q.upper()
    if dialect == "postgresql" and not HAS_TRIGRAM.search(q):
        if len(q) <= LONGEST_GRAM and not q.isascii():
            # Only a name can hold it. Written into the SQL like the LIKE patterns below, for the same reason:
            # the planner's element statistics tell 李 (the ordered walk) from a rare name (the index). The
            # strpos says the same as the containment; a walk tests it first (complaintflow_grams costs
            # ~15 µs a row, strpos well under one), the index answers the containment.
            lowered = func.lower(literal(q, literal_execute=True))
            name = func.lower(HumanTask.customer_name)
            return NAME_GRAMS.contains(array([lowered])) & (func.strpos(name, lowered) > 0)
        if caseless:
            return or_(*(func.strpos(column, q) > 0 for column in SEARCHED))
        return or_(*(func.strpos(func.lower(column), func.lower(q)) > 0 for column in SEARCHED))
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect != "postgresql":
        return or_(*(column.like(pattern, escape="\\") for column in SEARCHED))
    # Written into the SQL, not bound: the pattern decides the plan (trigram indexes, or the ordered walk
    # for one as common as "138"), and psycopg prepares a statement run five times, whose generic plan,
    # made without the pattern, read five times more for "138" at a million open tasks.
    inline = literal(pattern, literal_execute=True)
    if caseless:
        return or_(*(column.like(inline, escape="\\") for column in SEARCHED))
    return or_(*(column.ilike(inline, escape="\\") for column in SEARCHED))


def filter_conditions(viewer: Viewer, filters: TaskFilters, now: datetime, dialect: str = "sqlite") -> list:
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
        conditions.append(text_search(filters.q, dialect))
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


def capped_count(session, parts: list[tuple[list, bool]], conditions: list, cap: int | None = None,  # noqa: ANN001
                 stop_early: bool = False) -> tuple[int, bool]:
    """(matching tasks up to ``cap``, whether that is exact): no part reads more than cap + 1 rows.

    ``stop_early``: the conditions only say whose tasks and which scope (no filter), so a big queue
    will reach the cap and an index walk should stop there.
    """
    cap = COUNT_CAP if cap is None else cap
    postgres = session.get_bind().dialect.name == "postgresql"
    if stop_early and postgres:
        # A bitmap scan reads every matching index entry before its first row, so LIMIT cannot stop it:
        # until autovacuum has marked a bulk of new rows all-visible the planner prefers one, and a
        # queue of 270,000 then costs 270,000 entries. Filtered counts keep the bitmap (it is their best plan).
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    branches = [select(literal_column("1").label("one"))
                .select_from(select(HumanTask.id).where(*part, *conditions).limit(cap + 1).subquery())
                for part, _ in parts]
    matches = branches[0] if len(branches) == 1 else union_all(*branches)
    found = session.scalar(select(func.count()).select_from(matches.limit(cap + 1).subquery())) or 0
    if stop_early and postgres:
        session.execute(text("RESET enable_bitmapscan"))
    return min(found, cap), found <= cap


def budgeted_count(session, parts: list[tuple[list, bool]], conditions: list, budget_ms: int,  # noqa: ANN001
                   known: int, stop_early: bool = False) -> tuple[int, bool, bool]:
    """(total, exact, estimated): ``capped_count`` given ``budget_ms`` milliseconds on PostgreSQL.

    A filter matching fewer tasks than the cap (a network handler's city + category: 4,500 of 270,000)
    has to read every task of the role to count them exactly, and that grows with the open cases. So the
    count runs in a SAVEPOINT under a transaction-local ``statement_timeout``; when the budget runs out
    PostgreSQL cancels it (SQLSTATE 57014) and the total is the planner's estimate (``estimated_count``),
    never below ``known``, the matches the page has shown to exist. The savepoint is rolled back either
    way: the count changed nothing, and the rollback takes the budget back with it (a transaction-local
    setting would outlive a released savepoint), so nothing later in the transaction runs under it.
    SQLite, or a budget of 0: the plain count, never estimated.
    """
    if budget_ms <= 0 or session.get_bind().dialect.name != "postgresql":
        return (*capped_count(session, parts, conditions, stop_early=stop_early), False)
    savepoint = session.begin_nested()
    try:
        session.execute(text("SELECT set_config('statement_timeout', :budget, true)"), {"budget": f"{budget_ms}ms"})
        total, exact = capped_count(session, parts, conditions, stop_early=stop_early)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != PG_QUERY_CANCELED:
            raise
        cancelled = True
    else:
        cancelled = False
    finally:
        savepoint.rollback()
    if not cancelled:
        return total, exact, False
    total = estimated_count(session, parts, conditions, known)
    log.debug("inbox count stopped after %d ms; the planner estimates %d", budget_ms, total)
    # As many as the cap or more: "10,000+", as a count that reached the cap says.
    return total, False, total < COUNT_CAP


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a select, its parameters bound as the select's own (PostgreSQL)."""

    inherit_cache = False

    def __init__(self, statement) -> None:  # noqa: ANN001
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler, **kw) -> str:  # noqa: ANN001
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def two_figures(number: int) -> int:
    """``number`` rounded to two significant figures (4,505 -> 4,500; 96 stays 96)."""
    if number < 100:
        return number
    scale = 10 ** (len(str(number)) - 2)
    return (number + scale // 2) // scale * scale


def estimated_count(session, parts: list[tuple[list, bool]], conditions: list, known: int) -> int:  # noqa: ANN001
    """The planner's estimate of the tasks matching ``conditions``: the Plan Rows of each part's select
    (without the count's LIMIT), summed, rounded to two significant figures, at least ``known`` and at
    most ``COUNT_CAP``. Planning only, no row is read: about 2 ms at a million open tasks."""
    rows = 0
    for part, _ in parts:
        plan = session.execute(Explain(select(HumanTask.id).where(*part, *conditions))).scalar()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        rows += int(plan[0]["Plan"]["Plan Rows"])
    return min(max(two_figures(rows), known), COUNT_CAP)


# What a part hands to the merge: the id and the sort keys, not the whole row (see ``page``).
SORT_KEYS = (HumanTask.id, HumanTask.due_at, HumanTask.priority, HumanTask.created_at)


def first_keys(part: list, in_order: bool, conditions: list, sort: str, count: int):  # noqa: ANN201
    """The ids and sort keys of the part's first ``count`` tasks in ``sort`` order."""
    keys = select(*SORT_KEYS).where(*part, *conditions)
    if in_order:
        return keys.order_by(*sort_columns(HumanTask, sort)).limit(count)
    # OFFSET keeps PostgreSQL from walking a sort index past every task for the few this user holds.
    held = keys.offset(0).subquery()
    return select(held).order_by(*sort_columns(held.c, sort)).limit(count)


def page_query(parts: list[tuple[list, bool]], conditions: list, filters: TaskFilters):  # noqa: ANN201
    """The page's tasks with their process ids, in ``filters.sort`` order.

    Each part yields the keys of its first offset + page_size tasks in index order; the page's ids are
    cut from their union, and only those rows are read whole and joined to their cases (also deep in
    the list). The parts carry ids and sort keys only: building nested subqueries of the whole row cost
    more Python than a small inbox's query itself (12-15 ms against 4 per look-up).
    """
    offset = (filters.page - 1) * filters.page_size
    firsts = [first_keys(part, in_order, conditions, filters.sort, offset + filters.page_size)
              for part, in_order in parts]
    candidates = (firsts[0] if len(firsts) == 1
                  else union_all(*(select(first.subquery()) for first in firsts))).subquery()
    page_ids = (select(candidates.c.id).order_by(*sort_columns(candidates.c, filters.sort))
                .limit(filters.page_size).offset(offset)).subquery()
    return (select(HumanTask, ProcessDefinition.process_id)
            .join(page_ids, page_ids.c.id == HumanTask.id)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .order_by(*sort_columns(HumanTask, filters.sort)))


def page(db: Database, viewer: Viewer, filters: TaskFilters, scope: str = "all", count_budget_ms: int = 0) -> dict:
    """One page of the scope's tasks: ``{items, total, total_exact, total_estimated}``, items shaped as
    ``list_tasks`` gives them.

    ``total`` stops at ``COUNT_CAP`` (``total_exact`` is then false). A page that is not full holds the
    last match, so the total is known without a count: a search for one phone or number, the commonest
    look-up, costs one statement. On PostgreSQL a count that takes longer than ``count_budget_ms``
    (``COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS``; 0: no limit) is cancelled and ``total`` is the planner's
    estimate (``total_estimated`` true, ``total_exact`` false; see ``budgeted_count``).
    """
    if filters.sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    now = clock.now()
    filtered = filter_conditions(viewer, filters, now, db.dialect)
    conditions = scope_condition(viewer, scope) + filtered
    parts = visible_parts(viewer)
    offset = (filters.page - 1) * filters.page_size
    with db.read() as session:
        items = [task_dict(t, pid, now) for t, pid in session.execute(page_query(parts, conditions, filters))]
        estimated = False
        if len(items) < filters.page_size and (items or offset == 0):
            total, exact = min(offset + len(items), COUNT_CAP), offset + len(items) <= COUNT_CAP
        else:
            # What an estimate may not go below: the tasks up to this page (an empty page past the end shows none).
            known = offset + len(items) if items else 0
            total, exact, estimated = budgeted_count(session, parts, conditions, count_budget_ms, known,
                                                     stop_early=not filtered)
        return {"items": items, "total": total, "total_exact": exact, "total_estimated": estimated}


def scope_counts(db: Database, viewer: Viewer, cap: int | None = None) -> dict:
    """How many tasks each scope holds for the viewer (no filters), each stopping at ``SCOPE_COUNT_CAP``.

    ``<scope>``: the count; ``<scope>_overdue``: how many of them are overdue; ``<scope>_exact`` and
    ``<scope>_overdue_exact``: false when the count stopped at the cap.
    """
    cap = SCOPE_COUNT_CAP if cap is None else cap
    overdue = HumanTask.due_at < clock.now()
    parts = visible_parts(viewer)
    result: dict = {}
    with db.read() as session:
        for scope in SCOPES:
            for key, extra in ((scope, []), (f"{scope}_overdue", [overdue])):
                result[key], result[f"{key}_exact"] = capped_count(
                    session, parts, scope_condition(viewer, scope) + extra, cap, stop_early=True)
    return result
