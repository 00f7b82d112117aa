"""SLA clocks as plain data: open one, pause and resume them, mark one met.

A clock is a JSON dict kept in the case data (``sla_clocks``: name -> clock), so it
travels with the workflow and every change is in the audit trail of the step
that made it. Each function returns new dicts and never changes its input.

A pause moves the deadline and the reminder by the paused time, counted on the
clock's own basis: working-day time for working-day limits, window time for
business-hour limits, plain time otherwise.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

BASES = ("hours", "working_days", "business_hours", "calendar_days")
REMIND_SHARE = 0.75


class Calendar(Protocol):
    def add_hours(self, start: datetime, hours: float) -> datetime: ...
    def add_working_days(self, start: datetime, n: int) -> datetime: ...
    def add_business_hours(self, start: datetime, hours: float) -> datetime: ...
    def add_calendar_days(self, start: datetime, n: int) -> datetime: ...
    def add_working_day_time(self, start: datetime, days: float) -> datetime: ...
    def working_days_between(self, a: datetime, b: datetime) -> float: ...
    def working_time_between(self, a: datetime, b: datetime) -> float: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def open_clock(calendar: Calendar, name: str, policy: str, basis: str, amount: float, start: datetime) -> dict:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ValueError(f"the limit of clock {name!r} must be a positive number, not {amount!r}")
    due = getattr(calendar, f"add_{basis}")(start, amount)
    return {
        "name": name, "policy": policy, "basis": basis, "amount": amount,
        "started_at": _iso(start), "due_at": _iso(due), "remind_at": _iso(_remind(calendar, basis, start, due)),
        "paused": False, "paused_at": None, "paused_seconds": 0.0, "met_at": None,
    }


def _remind(calendar: Calendar, basis: str, start: datetime, due: datetime) -> datetime:
    """The reminder instant: 75% of the limit, measured the way the limit is."""
    if basis == "working_days":
        return calendar.add_working_day_time(start, calendar.working_days_between(start, due) * REMIND_SHARE)
    if basis == "business_hours":
        return calendar.add_business_hours(start, calendar.working_time_between(start, due) * REMIND_SHARE / 3600)
    return start + (due - start) * REMIND_SHARE


def _shift(calendar: Calendar, basis: str, moment: datetime, paused_from: datetime, paused_to: datetime) -> datetime:
    if basis == "working_days":
        return calendar.add_working_day_time(moment, calendar.working_days_between(paused_from, paused_to))
    if basis == "business_hours":
        return calendar.add_business_hours(moment, calendar.working_time_between(paused_from, paused_to) / 3600)
    return moment + (paused_to - paused_from)


def pause(clocks: dict[str, Any], at: datetime) -> dict[str, Any]:
    result = {}
    for name, clock in clocks.items():
        clock = dict(clock)
        if not clock.get("paused") and not clock.get("met_at"):
            clock["paused"], clock["paused_at"] = True, _iso(at)
        result[name] = clock
    return result


def resume(calendar: Calendar, clocks: dict[str, Any], at: datetime) -> dict[str, Any]:
    result = {}
    for name, clock in clocks.items():
        clock = dict(clock)
        if clock.get("paused"):
            paused_from = _at(clock["paused_at"])
            for key in ("due_at", "remind_at"):
                clock[key] = _iso(_shift(calendar, clock["basis"], _at(clock[key]), paused_from, at))
            clock["paused_seconds"] = float(clock.get("paused_seconds") or 0) + (at - paused_from).total_seconds()
            clock["paused"], clock["paused_at"] = False, None
        result[name] = clock
    return result


def met(clocks: dict[str, Any], name: str, at: datetime) -> dict[str, Any]:
    if name not in clocks:
        raise KeyError(f"no SLA clock named {name!r}")
    result = {key: dict(value) for key, value in clocks.items()}
    if not result[name].get("met_at"):
        result[name]["met_at"] = _iso(at)
    return result


def breached(clock: dict[str, Any], now: datetime) -> bool:
    """Past its deadline without being met; a paused clock is judged at the moment it paused."""
    due = _at(clock["due_at"])
    if clock.get("met_at"):
        return _at(clock["met_at"]) > due
    moment = _at(clock["paused_at"]) if clock.get("paused") else now
    return moment > due
