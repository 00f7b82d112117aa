"""SLA clocks: deadlines and 75% reminders on each basis, pauses counted in working time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import sla
from engine.calendar import WorkCalendar
from engine.holidays import chinesecalendar_days

CST = timezone(timedelta(hours=8))
CALENDAR = WorkCalendar({d: k for y in (2025, 2026) for d, k, _ in chinesecalendar_days(y)}, {2025, 2026})


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def local(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(CST).isoformat()


def test_working_days_across_national_day_with_a_working_time_reminder() -> None:
    clock = sla.open_clock(CALENDAR, "reply", "mobile_reply_2wd", "working_days", 2, at(2025, 9, 30, 10))
    assert local(clock["due_at"]) == "2025-10-11T00:00:00+08:00"
    # 14 h of Sep 30 + Oct 9 + Oct 10 = 2.583 working days; 75% of that ends 08:30 on Oct 10.
    assert local(clock["remind_at"]) == "2025-10-10T08:30:00+08:00"
    assert clock["paused"] is False and clock["met_at"] is None and clock["basis"] == "working_days"


@pytest.mark.parametrize("basis,amount,start,due,remind", [
    ("hours", 48, at(2026, 3, 2, 9), "2026-03-04T09:00:00+08:00", "2026-03-03T21:00:00+08:00"),
    ("business_hours", 8, at(2026, 3, 2, 9), "2026-03-02T17:00:00+08:00", "2026-03-02T15:00:00+08:00"),
    ("business_hours", 4, at(2026, 2, 13, 15), "2026-02-14T11:00:00+08:00", "2026-02-14T10:00:00+08:00"),
    ("calendar_days", 15, at(2025, 9, 20, 10), "2025-10-10T00:00:00+08:00", "2025-10-05T02:30:00+08:00"),
])
def test_each_basis(basis: str, amount: int, start: datetime, due: str, remind: str) -> None:
    clock = sla.open_clock(CALENDAR, "x", "p", basis, amount, start)
    assert local(clock["due_at"]) == due
    assert local(clock["remind_at"]) == remind


def test_a_pause_moves_a_working_day_deadline_by_working_time_only() -> None:
    clocks = {"reply": sla.open_clock(CALENDAR, "reply", "p", "working_days", 2, at(2026, 3, 2, 9))}
    assert local(clocks["reply"]["due_at"]) == "2026-03-05T00:00:00+08:00"
    paused = sla.pause(clocks, at(2026, 3, 2, 12))
    assert paused["reply"]["paused"] is True and clocks["reply"]["paused"] is False  # input untouched
    # Paused a week, of which 5 working days: half of Mon, Tue-Fri, half of the next Mon.
    resumed = sla.resume(CALENDAR, paused, at(2026, 3, 9, 12))
    assert local(resumed["reply"]["due_at"]) == "2026-03-12T00:00:00+08:00"
    assert resumed["reply"]["paused"] is False and resumed["reply"]["paused_seconds"] == 7 * 86400


def test_a_pause_over_the_spring_festival_costs_no_working_time() -> None:
    clocks = {"r": sla.open_clock(CALENDAR, "r", "p", "working_days", 2, at(2026, 2, 13, 10))}
    assert local(clocks["r"]["due_at"]) == "2026-02-25T00:00:00+08:00"  # Feb 14 (worked) and Feb 24
    resumed = sla.resume(CALENDAR, sla.pause(clocks, at(2026, 2, 15, 9)), at(2026, 2, 23, 18))
    assert resumed["r"]["due_at"] == clocks["r"]["due_at"]


def test_a_pause_moves_natural_and_business_hour_clocks() -> None:
    clocks = {
        "closure": sla.open_clock(CALENDAR, "closure", "p", "hours", 48, at(2026, 3, 2, 9)),
        "vip": sla.open_clock(CALENDAR, "vip", "p", "business_hours", 8, at(2026, 3, 2, 9)),
    }
    resumed = sla.resume(CALENDAR, sla.pause(clocks, at(2026, 3, 2, 16)), at(2026, 3, 3, 10))
    assert local(resumed["closure"]["due_at"]) == "2026-03-05T03:00:00+08:00"  # +18 h
    # 1 h of window time on Mar 2 and 1 h on Mar 3 were paused.
    assert local(resumed["vip"]["due_at"]) == "2026-03-03T11:00:00+08:00"


def test_met_clocks_are_not_paused_and_breach_is_judged_right() -> None:
    clocks = {"reply": sla.open_clock(CALENDAR, "reply", "p", "hours", 2, at(2026, 3, 2, 9))}
    assert sla.breached(clocks["reply"], at(2026, 3, 2, 10)) is False
    assert sla.breached(clocks["reply"], at(2026, 3, 2, 11, 1)) is True
    met = sla.met(clocks, "reply", at(2026, 3, 2, 10))
    assert sla.breached(met["reply"], at(2026, 3, 9)) is False
    assert sla.pause(met, at(2026, 3, 2, 10, 30))["reply"]["paused"] is False
    paused = sla.pause(clocks, at(2026, 3, 2, 10))
    assert sla.breached(paused["reply"], at(2026, 3, 9)) is False  # judged when it paused
    with pytest.raises(KeyError):
        sla.met(clocks, "nope", at(2026, 3, 2, 10))


@pytest.mark.parametrize("basis,amount", [("fortnights", 1), ("hours", 0), ("hours", -1), ("hours", True)])
def test_bad_clocks_are_refused(basis: str, amount: object) -> None:
    with pytest.raises(ValueError):
        sla.open_clock(CALENDAR, "x", "p", basis, amount, at(2026, 3, 2, 9))


def test_working_day_time_round_trips() -> None:
    start = at(2025, 9, 30, 12)
    assert CALENDAR.add_working_day_time(start, 1.0).astimezone(CST) == at(2025, 10, 9, 12)
    later = CALENDAR.add_working_day_time(start, 2.25)
    assert CALENDAR.working_days_between(start, later) == pytest.approx(2.25)
    assert CALENDAR.add_working_day_time(at(2025, 10, 3, 8), 0.5).astimezone(CST) == at(2025, 10, 9, 12)
    with pytest.raises(ValueError):
        CALENDAR.add_working_day_time(start, -1)
