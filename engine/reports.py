"""Service-quality reports: the carrier's complaint KPIs, the service standard's lines and the
regulator's monthly appeal report, aggregated in SQL over ``case_facts`` (engine/case_facts.py).

Counting rules (docs in README "Reports"):
- A case counts in the day, week (Monday first) or month it was received, Asia/Shanghai time.
- Complaint figures count complaints (process complaint_intake, numbers TS…); appeals
  (customer_appeal, SS…) count in the appeal figures only. Cancelled (void) cases count nowhere.
- A clock is *in time* when met at or before its deadline, *missed* when met late or still
  open past its deadline (a paused clock waits), *pending* otherwise. A rate over clocks is
  in-time / all, so a pending case lowers it until it is decided.

Every figure carries its numerator and denominator as named *parts*; ``case_list`` lists
the cases behind any part (the drill-down), optionally narrowed to one split key.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, not_, or_, select, text, true
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import clock as clock_module
from . import report_settings
from .case_facts import APPEAL, COMPLAINT, STAGES, CaseFact, departments_in, local_day
from .errors import BadRequest, DatabaseUnavailable, Forbidden

log = logging.getLogger(__name__)

REPORT_ROLES = ("supervisor", "escalation", "admin")
SETTINGS_ROLES = ("admin",)
PERIODS = ("day", "week", "month")
SPLITS = ("tier", "city", "department", "category")
FORMATS = ("json", "csv", "xlsx")
# A report spans at most two years: enough for year-on-year, small enough to chart by day.
MAX_DAYS = 731
MAX_PAGE_SIZE = 200
# Rows in one exported case list; narrow the range or split for more.
EXPORT_MAX_ROWS = 50_000
TOP_ISSUES = 10
NO_KEY = "-"  # a case without a value for the split (no city, never dispatched, ...)
PER_MILLION = 1_000_000
WORK_MEM = "64MB"  # per sort or hash of one report query on PostgreSQL (the default 4MB spills to disk)

T = CaseFact.__table__.c


@dataclass(frozen=True)
class Standard:
    """One line of the service standard: a clock's policy and the share that must meet it."""

    policy: str
    clock: str
    basis: str
    amount: int
    # The standard names 100% and 98%; for installation and repair it names only the limit,
    # read here as a promise to every customer (100%). Change it here.
    target: float


STANDARDS = (
    Standard("mobile_reply_2wd", "reply", "working_days", 2, 1.0),
    Standard("non_coverage_resolve_5wd", "resolve", "working_days", 5, 0.98),
    Standard("broadband_install_72h", "install", "hours", 72, 1.0),
    Standard("broadband_repair_urban_24h", "repair", "hours", 24, 1.0),
    Standard("broadband_repair_suburban_36h", "repair", "hours", 36, 1.0),
    Standard("broadband_repair_rural_48h", "repair", "hours", 48, 1.0),
)

APPEAL_OUTCOME_PARTS = (("settled", "和解"), ("rejected", "不认可"), ("acknowledged", "知晓"))


@dataclass(frozen=True)
class Figure:
    """A figure: cases of one process (``population``: which of them; None = all), counted per part.

    ``parts`` are conditions within the population; a ``derived`` part is what the parts named with
    it leave of the population (counted as total minus those, listed with NOT(...)), which spares
    the database one condition per row.
    """

    id: str
    process: str
    population: ColumnElement[bool] | None
    parts: dict[str, ColumnElement[bool]]
    numerator: str
    denominator: str = "total"
    target: float | None = None
    clock: str | None = None  # the SLA clock a drill-down shows
    stage: str | None = None  # the stage whose time a drill-down shows
    splits: tuple[str, ...] = SPLITS
    derived: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def all_parts(self) -> dict[str, ColumnElement[bool]]:
        """Every part's condition (within the population), the derived ones included."""
        parts = {"total": true(), **self.parts}
        for name, others in self.derived:
            parts[name] = not_(or_(*(self.parts[o] for o in others)))
        return {name: parts[name] for name in self.part_names()}

    def part_names(self) -> list[str]:
        names = ["total", *self.parts, *(name for name, _others in self.derived)]
        order = list(PART_ORDER)
        return sorted(names, key=lambda n: order.index(n) if n in order else len(order))

    def scope(self) -> ColumnElement[bool]:
        return T.process_id == self.process if self.population is None else \
            and_(T.process_id == self.process, self.population)


PART_ORDER = ("total", "in_time", "missed", "pending", "solved", "unsolved", "repeat", "upgraded", "satisfied",
              "neutral", "dissatisfied", "valid", "invalid", "settled", "rejected", "acknowledged", "open")


def _clock_parts(name: str, now: datetime) -> dict[str, ColumnElement[bool]]:
    """in_time and pending, never NULL (so that NOT(either) is exactly "missed")."""
    due, met = T[f"{name}_due_at"], T[f"{name}_met_at"]
    return {
        "in_time": and_(met.is_not(None), due.is_not(None), met <= due),
        "pending": and_(met.is_(None), or_(T.paused.is_(True), and_(due.is_not(None), due >= now))),
    }


MISSED = (("missed", ("in_time", "pending")),)


def clock_state(due: datetime | None, met: datetime | None, paused: bool, now: datetime) -> str | None:
    """The Python twin of the clock parts for one case: in_time, missed, pending (None: no clock)."""
    if due is None:
        return None
    if met is not None:
        return "in_time" if met <= due else "missed"
    return "pending" if paused or due >= now else "missed"


def figures(now: datetime) -> dict[str, Figure]:
    """Every figure by id; the clock conditions are judged at ``now``."""
    found = [
        Figure("closure", COMPLAINT, T.dispatched_at.is_not(None), _clock_parts("closure", now), "in_time",
               clock="closure", derived=MISSED),
        Figure("first_contact", COMPLAINT, T.first_contact_solved.is_not(None),
               {"solved": T.first_contact_solved.is_(True)}, "solved", derived=(("unsolved", ("solved",)),)),
        Figure("repeat", COMPLAINT, None, {"repeat": T.repeat_count > 0}, "repeat"),
        Figure("upgraded", COMPLAINT, None, {"upgraded": T.upgraded_to.is_not(None)}, "upgraded"),
        Figure("satisfaction", COMPLAINT, T.satisfaction.is_not(None),
               {"satisfied": T.satisfaction == "满意", "neutral": T.satisfaction == "一般"}, "satisfied",
               derived=(("dissatisfied", ("satisfied", "neutral")),)),
        Figure("appeals", APPEAL, None,
               {"valid": T.appeal_valid.is_(True), "repeat": T.appeal_repeat.is_(True),
                **{part: T.appeal_outcome == outcome for part, outcome in APPEAL_OUTCOME_PARTS}},
               "valid", splits=("issue",),
               derived=(("invalid", ("valid",)), ("open", tuple(p for p, _o in APPEAL_OUTCOME_PARTS)))),
    ]
    found += [Figure(f"stage_{stage}", COMPLAINT, T[f"{stage}_seconds"].is_not(None), {}, "total", stage=stage)
              for stage in STAGES]
    found += [Figure(s.policy, COMPLAINT, T[f"{s.clock}_policy"] == s.policy, _clock_parts(s.clock, now),
                     "in_time", target=s.target, clock=s.clock, derived=MISSED) for s in STANDARDS]
    return {f.id: f for f in found}


SERVICE_FIGURES = ("closure", "first_contact", "repeat", "upgraded", "satisfaction")


# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    start: date
    end: date
    period: str = "day"
    split: str | None = None

    def buckets(self) -> list[dict]:
        """Every bucket of the range (also empty ones), each clipped to the range."""
        result, day = [], bucket_start(self.start, self.period)
        while day <= self.end:
            following = _next_bucket(day, self.period)
            result.append({"bucket": bucket_label(day, self.period), "from": max(day, self.start).isoformat(),
                           "to": min(following - timedelta(days=1), self.end).isoformat()})
            day = following
        return result


def bucket_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, period: str) -> date:
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def bucket_label(start: date, period: str) -> str:
    if period == "week":
        year, week, _weekday = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


def _date_arg(args: Mapping[str, str], name: str, default: date, problems: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = "a date as YYYY-MM-DD"
        return None


def parse_range(args: Mapping[str, str], today: date, splits: tuple[str, ...] = SPLITS) -> Range:
    """from / to (local dates, inclusive; default this month to today), period and split; 400 naming each."""
    problems: dict[str, str] = {}
    start = _date_arg(args, "from", today.replace(day=1), problems)
    end = _date_arg(args, "to", today, problems)
    period = (args.get("period") or "day").strip()
    if period not in PERIODS:
        problems["period"] = f"one of {', '.join(PERIODS)}"
    split = (args.get("split") or "").strip() or None
    if split is not None and split not in splits:
        problems["split"] = f"one of {', '.join(splits)}"
    if start and end:
        if end < start:
            problems["to"] = "on or after from"
        elif (end - start).days + 1 > MAX_DAYS:
            problems["from"] = f"a range of at most {MAX_DAYS} days"
    _raise(problems)
    return Range(start, end, period, split)  # type: ignore[arg-type]


def parse_month(args: Mapping[str, str], today: date) -> date:
    """month=YYYY-MM (default: last month, the one the regulator's report is due for)."""
    raw = (args.get("month") or "").strip()
    if not raw:
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    try:
        return datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise BadRequest("bad query parameter: month", fields={"month": "a month as YYYY-MM"}) from None


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int,
             problems: dict[str, str]) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        problems[name] = f"a whole number from {low} to {high}"
        return default
    return int(raw)


def _raise(problems: dict[str, str]) -> None:
    if problems:
        raise BadRequest(f"bad query parameters: {', '.join(sorted(problems))}", fields=problems)


def require_viewer(viewer: Any, roles: tuple[str, ...] = REPORT_ROLES) -> None:  # noqa: ANN401
    if not viewer.has_role(*roles):
        raise Forbidden(f"reports need one of the roles: {', '.join(roles)}")


# -- aggregation ----------------------------------------------------------------------------------


def _split_key(split: str) -> ColumnElement:
    if split == "department":
        return T.departments  # the set of departments; _keys_of counts the case in each of them
    if split == "issue":
        return T.appeal_issue
    return T[split]


def _keys_of(split: str, value: object) -> list[str]:
    """The split keys one group of rows counts in: its value, each of its departments, or - for none."""
    if split == "department":
        return departments_in(value) or [NO_KEY]  # type: ignore[arg-type]
    return [NO_KEY if value is None else str(value)]


def _where(process_ids: set[str], rng: Range) -> ColumnElement[bool]:
    """Cases of these processes received in the range; cancelled (void) cases are left out of every figure."""
    return and_(T.process_id.in_(sorted(process_ids)), T.received_day >= rng.start, T.received_day <= rng.end,
                T.status != "cancelled")


def _aggregates(figs: list[Figure]) -> list[tuple[str, str, ColumnElement]]:
    """(process, "figure:part", aggregate) for every counted part; derived parts are left to Python."""
    found = []
    for f in figs:
        total = func.count() if f.population is None else func.count().filter(f.population)
        found.append((f.process, f"{f.id}:total", total))
        for part, condition in f.parts.items():
            where = condition if f.population is None else and_(f.population, condition)
            found.append((f.process, f"{f.id}:{part}", func.count().filter(where)))
        if f.stage:  # the population is "this stage's time is known": sum() skips the rest
            found.append((f.process, f"{f.id}:seconds", func.sum(T[f"{f.stage}_seconds"])))
    return found


def _count(session: Session, figs: list[Figure], rng: Range, split: str | None) -> dict:
    """{(day, grouped value): {"figure:part": n, "figure:seconds": s}} in one scan of case_facts.

    Rows are grouped by process too: a figure's counts are taken from its own process's rows only.
    """
    aggregates = _aggregates(figs)
    key = _split_key(split) if split else literal(None)
    query = (select(T.received_day, T.process_id, key, *(a for _p, _n, a in aggregates))
             .where(_where({f.process for f in figs}, rng)).group_by(T.received_day, T.process_id))
    if split:
        query = query.group_by(key)
    cells: dict = {}
    for row in session.execute(query):
        day, process, key_value, values = row[0], row[1], row[2], row[3:]
        bucket = cells.setdefault((day, key_value), {})
        for (owner, name, _aggregate), value in zip(aggregates, values, strict=True):
            if owner == process:
                bucket[name] = bucket.get(name, 0) + (value or 0)
    return cells


def _expand(cells: dict, split: str) -> dict:
    """From grouped values to split keys: a set of departments adds to each of its departments."""
    expanded: dict = {}
    for (day, value), values in cells.items():
        for key in _keys_of(split, value):
            into = expanded.setdefault((day, key), {})
            for name, n in values.items():
                into[name] = into.get(name, 0) + n
    return expanded


def _fold(cells: dict, rng: Range, by_key: bool) -> dict:
    """{(bucket label | None, key | None): {name: n}}: totals per bucket and per key, and overall."""
    folded: dict = {}
    for (day, key), values in cells.items():
        label = bucket_label(bucket_start(day, rng.period), rng.period)
        targets = [(label, key if by_key else None), (None, key if by_key else None)]
        for target in targets:
            into = folded.setdefault(target, {})
            for name, value in values.items():
                into[name] = into.get(name, 0) + value
    return folded


def _rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _numbers(f: Figure, values: dict) -> dict:
    counted = {part: int(values.get(f"{f.id}:{part}", 0)) for part in ("total", *f.parts)}
    for name, others in f.derived:
        counted[name] = counted["total"] - sum(counted[o] for o in others)
    parts = {part: counted[part] for part in f.part_names()}
    numerator, denominator = parts[f.numerator], parts[f.denominator]
    result = {"numerator": numerator, "denominator": denominator, "rate": _rate(numerator, denominator),
              "parts": parts}
    if f.target is not None:
        result["met_target"] = None if result["rate"] is None else result["rate"] >= f.target
    if f.stage:
        seconds = float(values.get(f"{f.id}:seconds", 0.0))
        result["avg_seconds"] = round(seconds / numerator, 1) if numerator else None
    return result


def _present(f: Figure, rng: Range, totals: dict, split_cells: dict | None) -> dict:
    """A figure: overall numbers, one entry per bucket (series) and, when split, per key with its series."""
    buckets = rng.buckets()
    result = {"id": f.id, "process_id": f.process, "numerator_part": f.numerator, "denominator_part": f.denominator,
              "target": f.target, **_numbers(f, totals.get((None, None), {}))}
    result["series"] = [{**b, **_numbers(f, totals.get((b["bucket"], None), {}))} for b in buckets]
    if split_cells is not None and rng.split in f.splits:
        # Only the keys the figure has cases for (other processes' rows share the scan).
        keys = sorted(key for (label, key) in split_cells if label is None and key is not None
                      and split_cells[(None, key)].get(f"{f.id}:total"))
        result["splits"] = [
            {"key": key, **_numbers(f, split_cells.get((None, key), {})),
             "series": [{**b, **_numbers(f, split_cells.get((b["bucket"], key), {}))} for b in buckets]}
            for key in keys]
    return result


def _tune(session: Session) -> None:
    """On PostgreSQL, let this report's joins, aggregates and sorts work in memory rather than on disk."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))


def _compute(session: Session, figs: list[Figure], rng: Range) -> tuple[dict, dict | None]:
    """Totals and (when split) per-key cells, folded into buckets."""
    _tune(session)
    raw = _count(session, figs, rng, rng.split)
    # Each group of rows is counted once in the totals, though a case counts in each of its departments.
    totals = _fold(raw, rng, by_key=False)
    return totals, (_fold(_expand(raw, rng.split), rng, by_key=True) if rng.split else None)


# -- stage times ------------------------------------------------------------------------------------


def nearest_rank(values: list[float], share: float = 0.9) -> float | None:
    """The nearest-rank percentile (PostgreSQL's percentile_disc): the smallest value with ``share`` at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _p90(session: Session, rng: Range) -> dict[str, float | None]:
    """stage -> p90 seconds (nearest rank) over the complaints received in the range.

    Only for the whole range: a percentile needs every value sorted, which per split would cost
    the database a second sort of every case (see docs/PERFORMANCE.md); splits show the average.
    """
    where = _where({COMPLAINT}, rng)
    if session.get_bind().dialect.name == "postgresql":
        columns = [func.percentile_disc(0.9).within_group(T[f"{s}_seconds"]) for s in STAGES]
        row = session.execute(select(*columns).where(where)).one()
        return {stage: None if value is None else float(value) for stage, value in zip(STAGES, row, strict=True)}
    values: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for row in session.execute(select(*[T[f"{s}_seconds"] for s in STAGES]).where(where)):
        for stage, value in zip(STAGES, row, strict=True):
            if value is not None:
                values[stage].append(float(value))
    return {stage: nearest_rank(found) for stage, found in values.items()}


def _stages(computed: dict[str, dict], p90: dict) -> list[dict]:
    rows = []
    for stage in STAGES:
        figure = computed[f"stage_{stage}"]
        row = {"stage": stage, "figure": f"stage_{stage}", "count": figure["numerator"],
               "avg_seconds": figure["avg_seconds"], "p90_seconds": p90[stage]}
        if "splits" in figure:
            row["splits"] = [{"key": s["key"], "count": s["numerator"], "avg_seconds": s["avg_seconds"]}
                             for s in figure["splits"]]
        rows.append(row)
    return rows


# -- the reports ---------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or clock_module.now()


def data_source(db, replica: bool) -> dict:  # noqa: ANN001
    """Where a report's figures come from: ``{"database": "primary" | "replica", "data_as_of", "fallback"}``.

    A replica trails the primary by its replication lag. On a PostgreSQL standby ``data_as_of`` is the
    commit time of the last transaction it replayed: every change committed by then is in the figures.
    Elsewhere (a primary named as the replica, or not PostgreSQL) it is None: the lag is unknown.
    Read before the report, so the report sees at least that much. ``fallback`` is True only when
    the primary stood in for a replica that could not be reached (``read``).
    """
    if not replica:
        return {"database": "primary", "data_as_of": None, "fallback": False}
    replayed = None
    if db.is_postgres:
        with db.read() as session:
            replayed = session.scalar(text("SELECT pg_last_xact_replay_timestamp()"))
    return {"database": "replica", "data_as_of": replayed.isoformat() if replayed else None, "fallback": False}


REPLICA_UNAVAILABLE = "replica unavailable"
FALLBACK_SOURCE = {"database": "primary", "data_as_of": None, "fallback": True, "reason": REPLICA_UNAVAILABLE}


def replica_unavailable(fault: DatabaseUnavailable) -> bool:
    """True when ``fault`` says the replica cannot be reached (refused, down, starting up, connection lost,
    too many connections): the primary may stand in. Its pool having no free connection in time means it
    is busy with other reports, not down: sending those to the primary would load the primary instead."""
    return not isinstance(fault.__cause__, sa_exc.TimeoutError)


def read(build: Callable[..., dict], primary, replica, viewer, args: Mapping[str, str],  # noqa: ANN001
         **options: object) -> dict:
    """Report ``build`` with its ``source``: read from ``replica`` when one is given, else from ``primary``.

    When the replica cannot be reached (engine.db sorts the driver's error as DatabaseUnavailable, see
    ``replica_unavailable``) the report is read from the primary instead, one warning line is logged
    (no traceback: a replica that is down fails every report) and ``source`` says so: database
    "primary", ``fallback`` True, ``reason`` "replica unavailable". Anything else the replica does is not
    masked: a slow query is waited for, and a query error (a statement cancelled by a timeout or by
    replay, a missing table) goes on as it is.
    """
    if replica is None:
        return {**build(primary, viewer, args, **options), "source": data_source(primary, replica=False)}
    try:
        source = data_source(replica, replica=True)
        report = build(replica, viewer, args, **options)
    except DatabaseUnavailable as fault:
        if not replica_unavailable(fault):
            raise
        log.warning("reports replica unavailable, %s read from the primary instead: %s",
                    getattr(build, "__name__", "report"), fault.detail or fault.message)
        report, source = build(primary, viewer, args, **options), dict(FALLBACK_SOURCE)
    return {**report, "source": source}


def service_quality(db, viewer, args: Mapping[str, str], now: datetime | None = None) -> dict:  # noqa: ANN001
    """限时办结率, 一次性解决率, 重复/升级投诉率, 申诉率, 回访满意率 and stage times over a range."""
    require_viewer(viewer)
    now = _now(now)
    rng = parse_range(args, local_day(now))
    all_figures = figures(now)
    wanted = [all_figures[i] for i in SERVICE_FIGURES] + [all_figures["appeals"]] + \
        [all_figures[f"stage_{s}"] for s in STAGES]
    with db.read() as session:
        totals, split_cells = _compute(session, wanted, rng)
        computed = {f.id: _present(f, rng, totals, split_cells) for f in wanted}
        p90 = _p90(session, rng)
        customers = report_settings.customer_count(session)
    result = [computed[i] for i in SERVICE_FIGURES]
    result.append(_appeal_rate(computed["appeals"], customers))
    return {"report": "service_quality", "from": rng.start.isoformat(), "to": rng.end.isoformat(),
            "period": rng.period, "split": rng.split, "as_of": now.isoformat(), "customer_count": customers,
            "buckets": rng.buckets(), "figures": result, "stages": _stages(computed, p90)}


def _appeal_rate(appeals: dict, customers: int | None) -> dict:
    """Valid appeals per million customers (申诉率); no rate while the customer count is not set."""

    def per_million(valid: int) -> float | None:
        return round(valid * PER_MILLION / customers, 2) if customers else None

    return {"id": "appeal_rate", "process_id": APPEAL, "unit": "per_million", "numerator_figure": "appeals",
            "numerator_part": "valid", "denominator_part": None, "target": None,
            "numerator": appeals["numerator"], "denominator": customers, "rate": per_million(appeals["numerator"]),
            "parts": appeals["parts"],
            "series": [{"bucket": s["bucket"], "from": s["from"], "to": s["to"], "numerator": s["numerator"],
                        "denominator": customers, "rate": per_million(s["numerator"])} for s in appeals["series"]]}


def standards_report(db, viewer, args: Mapping[str, str], now: datetime | None = None,  # noqa: ANN001
                     missed: int | None = None) -> dict:
    """Each line of the service standard: its target, the rate reached and the cases that missed it.

    ``missed`` (or the ``missed`` parameter; default 0) lists that many of the newest cases that missed
    each line; every one of them is in the drill-down (part ``missed``). Listing costs a query per line.
    """
    require_viewer(viewer)
    now = _now(now)
    problems: dict[str, str] = {}
    if missed is None:
        missed = _int_arg(args, "missed", 0, 0, MAX_PAGE_SIZE, problems)
    _raise(problems)
    rng = parse_range(args, local_day(now))
    all_figures = figures(now)
    wanted = [all_figures[s.policy] for s in STANDARDS]
    lines = []
    with db.read() as session:
        totals, split_cells = _compute(session, wanted, rng)
        for standard, f in zip(STANDARDS, wanted, strict=True):
            line = _present(f, rng, totals, split_cells)
            listed = _listed(session, f, "missed", rng, now, missed) if missed and line["parts"]["missed"] else []
            line.update(policy=standard.policy, clock=standard.clock, basis=standard.basis, amount=standard.amount,
                        missed_cases=listed)
            lines.append(line)
    return {"report": "standards", "from": rng.start.isoformat(), "to": rng.end.isoformat(), "period": rng.period,
            "split": rng.split, "as_of": now.isoformat(), "buckets": rng.buckets(), "lines": lines}


def _month_range(first: date) -> Range:
    return Range(first, _next_bucket(first, "month") - timedelta(days=1), "month")


def _shift_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _change(value: int, before: int) -> float | None:
    return round((value - before) / before, 4) if before else None


def appeals_report(db, viewer, args: Mapping[str, str], now: datetime | None = None) -> dict:  # noqa: ANN001
    """The regulator's monthly appeal report: totals with month-on-month and year-on-year change,
    the outcome split (和解 / 不认可 / 知晓) and the top-10 issues."""
    require_viewer(viewer)
    now = _now(now)
    month = parse_month(args, local_day(now))
    months = {"current": month, "previous": _shift_months(month, -1), "last_year": _shift_months(month, -12)}
    appeals = figures(now)["appeals"]
    with db.read() as session:
        counted = {name: _present(appeals, _month_range(first), *_compute(session, [appeals], _month_range(first)))
                   for name, first in months.items()}
        current = _month_range(month)
        issues = session.execute(
            select(T.appeal_issue, func.count()).where(_where({APPEAL}, current)).group_by(T.appeal_issue)).all()
    parts = {name: c["parts"] for name, c in counted.items()}
    total = parts["current"]["total"]
    counts = []
    for part in ("total", "repeat", "invalid", "valid"):
        value, before, last_year = parts["current"][part], parts["previous"][part], parts["last_year"][part]
        counts.append({"id": part, "part": part, "value": value, "previous": before, "mom": _change(value, before),
                       "last_year": last_year, "yoy": _change(value, last_year)})
    outcomes = [{"outcome": outcome, "part": part, "count": parts["current"][part]}
                for part, outcome in APPEAL_OUTCOME_PARTS]
    outcomes.append({"outcome": None, "part": "open", "count": parts["current"]["open"]})
    ranked = sorted(((NO_KEY if issue is None else issue, int(n)) for issue, n in issues), key=lambda i: (-i[1], i[0]))
    return {"report": "appeals_monthly", "month": month.strftime("%Y-%m"), "from": current.start.isoformat(),
            "to": current.end.isoformat(), "previous_month": months["previous"].strftime("%Y-%m"),
            "last_year_month": months["last_year"].strftime("%Y-%m"), "as_of": now.isoformat(),
            "counts": counts, "outcomes": outcomes,
            "issues": [{"issue": issue, "count": n, "share": _rate(n, total)} for issue, n in ranked[:TOP_ISSUES]]}


# -- drill-down -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseQuery:
    figure: Figure
    part: str
    range: Range
    key: str | None
    page: int
    page_size: int


def parse_case_query(args: Mapping[str, str], now: datetime, page_size_max: int = MAX_PAGE_SIZE) -> CaseQuery:
    """figure, part (default: the figure's numerator), from/to, split + key, page, page_size; 400 naming each."""
    problems: dict[str, str] = {}
    known = figures(now)
    figure_id = (args.get("figure") or "").strip()
    figure = known.get(figure_id)
    if figure is None:
        problems["figure"] = "required: one of " + ", ".join(known) if not figure_id else \
            f"unknown figure {figure_id!r}; one of " + ", ".join(known)
    part = (args.get("part") or "").strip() or (figure.numerator if figure else "total")
    if figure is not None and part not in figure.all_parts():
        problems["part"] = f"one of {', '.join(figure.all_parts())}"
    split = (args.get("split") or "").strip() or None
    key = args.get("key")
    if figure is not None and split is not None and split not in figure.splits:
        problems["split"] = f"one of {', '.join(figure.splits)}" if figure.splits else "this figure has no split"
    if split is not None and key is None:
        problems["key"] = "required with split (use - for cases without a value)"
    if split is None and key is not None:
        problems["split"] = "required with key"
    page = _int_arg(args, "page", 1, 1, 1_000_000, problems)
    page_size = _int_arg(args, "page_size", 50, 1, page_size_max, problems)
    try:
        rng = parse_range({k: v for k, v in args.items() if k not in ("split", "period")}, local_day(now))
    except BadRequest as error:
        problems.update(error.fields or {})
        rng = None
    _raise(problems)
    assert figure is not None and rng is not None
    return CaseQuery(figure, part, Range(rng.start, rng.end, "day", split), key, page, page_size)


def _case_filter(query: CaseQuery) -> ColumnElement[bool]:
    f, rng = query.figure, query.range
    conditions = [_where({f.process}, rng), f.scope(), f.all_parts()[query.part]]
    if rng.split:
        column = _split_key(rng.split)
        if query.key == NO_KEY:
            conditions.append(column.is_(None))
        elif rng.split == "department":
            conditions.append(column.contains(f",{query.key},", autoescape=True))
        else:
            conditions.append(column == query.key)
    return and_(*conditions)


def _item(row: Any, f: Figure, now: datetime, departments: list[str]) -> dict:  # noqa: ANN401
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    item = {
        "number": row.number, "process_id": row.process_id, "status": row.status,
        "received_at": iso(row.received_at), "tier": row.tier, "star_level": row.star_level, "city": row.city,
        "region": row.region, "category": row.category, "business_line": row.business_line,
        "channel": row.channel, "departments": departments, "dispatched_at": iso(row.dispatched_at),
        "callback_at": iso(row.callback_at), "ended_at": iso(row.ended_at),
        "first_contact_solved": row.first_contact_solved, "repeat_count": row.repeat_count,
        "upgraded_to": row.upgraded_to, "original_number": row.original_number, "satisfaction": row.satisfaction,
    }
    if f.process == APPEAL:
        item.update(appeal_ticket=row.appeal_ticket, appeal_type=row.appeal_type, appeal_outcome=row.appeal_outcome,
                    appeal_valid=row.appeal_valid, appeal_invalid_reason=row.appeal_invalid_reason,
                    appeal_issue=row.appeal_issue, appeal_repeat=row.appeal_repeat)
    if f.clock:
        due, met = getattr(row, f"{f.clock}_due_at"), getattr(row, f"{f.clock}_met_at")
        item["clock"] = {"name": f.clock, "policy": getattr(row, f"{f.clock}_policy"), "due_at": iso(due),
                         "met_at": iso(met), "state": clock_state(due, met, row.paused, now)}
    if f.stage:
        item["seconds"] = getattr(row, f"{f.stage}_seconds")
    return item


def _rows(session: Session, query: CaseQuery, now: datetime, limit: int, offset: int = 0) -> list[dict]:
    rows = session.execute(select(CaseFact.__table__).where(_case_filter(query))
                           .order_by(T.received_at.desc(), T.number.desc()).limit(limit).offset(offset)).all()
    return [_item(row, query.figure, now, departments_in(row.departments)) for row in rows]


def _listed(session: Session, f: Figure, part: str, rng: Range, now: datetime, limit: int) -> list[dict]:
    return _rows(session, CaseQuery(f, part, Range(rng.start, rng.end), None, 1, limit), now, limit)


def case_list(db, viewer, args: Mapping[str, str], now: datetime | None = None,  # noqa: ANN001
              export: bool = False) -> dict:
    """The cases behind one part of one figure (the drill-down), newest first; ``export``: every row."""
    require_viewer(viewer)
    now = _now(now)
    query = parse_case_query(args, now)
    with db.read() as session:
        _tune(session)
        total = session.scalar(select(func.count()).select_from(CaseFact.__table__).where(_case_filter(query)))
        if export:
            items = _rows(session, query, now, EXPORT_MAX_ROWS)
        else:
            items = _rows(session, query, now, query.page_size, (query.page - 1) * query.page_size)
    return {"report": "cases", "figure": query.figure.id, "part": query.part, "from": query.range.start.isoformat(),
            "to": query.range.end.isoformat(), "split": query.range.split, "key": query.key, "as_of": now.isoformat(),
            "page": 1 if export else query.page, "page_size": len(items) if export else query.page_size,
            "total": int(total or 0), "items": items, "truncated": export and (total or 0) > len(items)}


# -- settings ---------------------------------------------------------------------------------------------


def get_settings(db, viewer) -> dict:  # noqa: ANN001
    require_viewer(viewer)
    with db.read() as session:
        return report_settings.settings(session)


def put_settings(db, viewer, body: Mapping[str, Any]) -> dict:  # noqa: ANN001
    require_viewer(viewer, SETTINGS_ROLES)
    with db.write() as session:
        return report_settings.set_customer_count(session, body.get("customer_count"), viewer.username)
