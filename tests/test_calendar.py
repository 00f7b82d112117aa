"""WorkCalendar arithmetic, on the real 2025/2026 arrangements and on hand-made calendars."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import WorkCalendar
from engine.errors import HolidayDataMissing
from engine.holidays import chinesecalendar_days, chinesecalendar_years

CST = timezone(timedelta(hours=8))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing-time instant, written the way the State Council notices are read."""
    return datetime(year, month, day, hour, minute, tzinfo=CST)


@pytest.fixture(scope="module")
def cn() -> WorkCalendar:
    """The calendar exactly as seeding from chinesecalendar would store it."""
    years = chinesecalendar_years()
    exceptions = {day: kind for year in years for day, kind, _ in chinesecalendar_days(year)}
    return WorkCalendar(exceptions, years)


# --- which days are working days ---------------------------------------------------


def test_seed_data_covers_2004_to_2026() -> None:
    assert chinesecalendar_years() == list(range(2004, 2027))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 28), True),  # Sunday, make-up working day
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),  # Wednesday inside the holiday
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up working day
        (date(2025, 10, 12), False),  # ordinary Sunday
        (date(2026, 2, 14), True),  # Saturday, make-up working day
        (date(2026, 2, 23), False),  # Monday inside the Spring Festival
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up working day
    ],
)
def test_is_working_day(cn: WorkCalendar, day: date, working: bool) -> None:
    assert cn.is_working_day(day) is working


def test_year_not_loaded_raises_naming_it(cn: WorkCalendar) -> None:
    with pytest.raises(HolidayDataMissing, match="2027") as caught:
        cn.is_working_day(date(2027, 1, 4))  # an ordinary Monday, still refused
    assert caught.value.year == 2027


# --- working days: receipt day not counted, ends 24:00 -------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # National Day 2025: Oct 1-8 off, Sun Sep 28 and Sat Oct 11 worked.
        (at(2025, 9, 30, 10), 1, at(2025, 10, 10)),  # 24:00 Thu Oct 9
        (at(2025, 9, 30, 10), 2, at(2025, 10, 11)),  # 24:00 Fri Oct 10
        (at(2025, 9, 30, 10), 3, at(2025, 10, 12)),  # 24:00 Sat Oct 11 (make-up day)
        (at(2025, 9, 30, 10), 4, at(2025, 10, 14)),  # Sun Oct 12 is off: 24:00 Mon Oct 13
        (at(2025, 9, 27, 15), 1, at(2025, 9, 29)),  # receipt Sat: 24:00 Sun Sep 28 (make-up day)
        (at(2025, 9, 27, 15), 2, at(2025, 9, 30)),
        (at(2025, 9, 26, 23, 59), 3, at(2025, 10, 1)),  # Sun Sep 28, Mon 29, Tue 30
        (at(2025, 9, 26, 23, 59), 4, at(2025, 10, 10)),  # then Thu Oct 9
        # Spring Festival 2026: Feb 15-23 off, Sat Feb 14 and Sat Feb 28 worked.
        (at(2026, 2, 13, 10), 1, at(2026, 2, 15)),  # 24:00 Sat Feb 14
        (at(2026, 2, 13, 10), 2, at(2026, 2, 25)),  # 24:00 Tue Feb 24
        (at(2026, 2, 20, 10), 1, at(2026, 2, 25)),
        (at(2026, 2, 20, 10), 4, at(2026, 2, 28)),  # Feb 24-27
        (at(2026, 2, 20, 10), 5, at(2026, 3, 1)),  # 24:00 Sat Feb 28 (make-up day)
        (at(2026, 2, 20, 10), 6, at(2026, 3, 3)),  # Sun Mar 1 off: 24:00 Mon Mar 2
        # Same-day limit.
        (at(2025, 9, 30, 10), 0, at(2025, 10, 1)),
    ],
)
def test_add_working_days(cn: WorkCalendar, start: datetime, n: int, expected: datetime) -> None:
    result = cn.add_working_days(start, n)
    assert result == expected
    assert result.tzinfo is UTC


def test_working_days_use_the_local_date_of_a_utc_start(cn: WorkCalendar) -> None:
    # 2025-09-29 17:30Z is already Tue Sep 30 01:30 in Beijing: Sep 30 is the day of receipt.
    start = datetime(2025, 9, 29, 17, 30, tzinfo=UTC)
    assert cn.add_working_days(start, 1) == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)


def test_working_days_into_2027_raise(cn: WorkCalendar) -> None:
    with pytest.raises(HolidayDataMissing, match="2027"):
        cn.add_working_days(at(2026, 12, 31, 10), 1)
    # Ending inside 2026 is fine even late in December.
    assert cn.add_working_days(at(2026, 12, 30, 10), 1) == at(2027, 1, 1)


# --- business hours --------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (at(2025, 9, 22, 10), 3, at(2025, 9, 22, 13)),  # within a day
        (at(2025, 9, 22, 10), 1.25, at(2025, 9, 22, 11, 15)),  # fractional
        (at(2025, 9, 22, 9), 8, at(2025, 9, 22, 17)),  # filling the day ends at 17:00
        (at(2025, 9, 22, 15), 4, at(2025, 9, 23, 11)),  # across a night
        (at(2025, 9, 19, 16), 2, at(2025, 9, 22, 10)),  # across a weekend
        (at(2025, 9, 26, 16), 2, at(2025, 9, 28, 10)),  # Sat off, Sun Sep 28 worked
        (at(2025, 9, 30, 15), 4, at(2025, 10, 9, 11)),  # across National Day
        (at(2026, 2, 14, 16), 3, at(2026, 2, 24, 11)),  # across the Spring Festival
        (at(2025, 9, 22, 7, 30), 1, at(2025, 9, 22, 10)),  # before the window opens
        (at(2025, 9, 22, 18), 1, at(2025, 9, 23, 10)),  # after it closes
        (at(2025, 9, 20, 12), 0.5, at(2025, 9, 22, 9, 30)),  # on a Saturday
        (at(2025, 10, 3, 12), 1, at(2025, 10, 9, 10)),  # on a holiday
        (at(2025, 9, 22, 18), 0, at(2025, 9, 22, 18)),  # nothing to count
    ],
)
def test_add_business_hours(cn: WorkCalendar, start: datetime, hours: float, expected: datetime) -> None:
    result = cn.add_business_hours(start, hours)
    assert result == expected
    assert result.tzinfo is UTC


def test_business_hours_with_a_lunch_break() -> None:
    calendar = WorkCalendar({}, {2030}, windows=((time(9), time(12)), (time(13, 30), time(17, 30))))
    # Mon 2030-01-07 11:00: one hour before lunch, one after it.
    assert calendar.add_business_hours(at(2030, 1, 7, 11), 2) == at(2030, 1, 7, 14, 30)
    assert calendar.add_business_hours(at(2030, 1, 7, 12, 15), 1) == at(2030, 1, 7, 14, 30)


def test_business_hours_into_2027_raise(cn: WorkCalendar) -> None:
    with pytest.raises(HolidayDataMissing, match="2027"):
        cn.add_business_hours(at(2026, 12, 31, 16), 2)


# --- natural hours ---------------------------------------------------------------


def test_natural_hours_ignore_holidays(cn: WorkCalendar) -> None:
    assert cn.add_hours(at(2025, 9, 30, 10), 48) == at(2025, 10, 2, 10)
    assert cn.add_hours(at(2025, 9, 30, 10), 1.5) == datetime(2025, 9, 30, 3, 30, tzinfo=UTC)


def test_natural_hours_need_no_holiday_data(cn: WorkCalendar) -> None:
    assert cn.add_hours(at(2026, 12, 31, 20), 24) == at(2027, 1, 1, 20)


def test_natural_hours_are_exact_across_midnight_in_shanghai(cn: WorkCalendar) -> None:
    start = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert cn.add_hours(start, 24).astimezone(ZoneInfo("Asia/Shanghai")) == start + timedelta(days=1)
    assert cn.add_hours(start, 24).astimezone(ZoneInfo("Asia/Shanghai")).hour == 1  # no DST shift


def test_natural_hours_are_elapsed_time_even_in_a_zone_with_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    calendar = WorkCalendar({}, {2026}, tz="Europe/Berlin")
    start = datetime(2026, 3, 28, 12, 0, tzinfo=berlin)  # the night before clocks go forward
    result = calendar.add_hours(start, 24)
    assert result - start.astimezone(UTC) == timedelta(hours=24)
    assert result.astimezone(berlin).hour == 13


# --- calendar days (Civil Code Arts. 200-204) ----------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (at(2025, 9, 10, 10), 15, at(2025, 9, 26)),  # last day Thu Sep 25: 24:00 of it
        (at(2025, 9, 5, 10), 15, at(2025, 9, 23)),  # last day Sat Sep 20: moves to Mon Sep 22
        (at(2025, 9, 13, 10), 15, at(2025, 9, 29)),  # last day Sun Sep 28, worked: no move
        (at(2025, 9, 20, 10), 15, at(2025, 10, 10)),  # last day Oct 5, holiday: moves to Oct 9
        (at(2025, 9, 16, 10), 15, at(2025, 10, 10)),  # last day Oct 1: moves to Oct 9
        (at(2026, 2, 1, 10), 15, at(2026, 2, 25)),  # last day Feb 16, Spring Festival: Feb 24
        (at(2026, 2, 13, 10), 15, at(2026, 3, 1)),  # last day Sat Feb 28, worked: no move
        (at(2025, 9, 30, 10), 0, at(2025, 10, 1)),  # same day, no extension
    ],
)
def test_add_calendar_days(cn: WorkCalendar, start: datetime, n: int, expected: datetime) -> None:
    assert cn.add_calendar_days(start, n) == expected


def test_calendar_days_into_2027_raise(cn: WorkCalendar) -> None:
    with pytest.raises(HolidayDataMissing, match="2027"):
        cn.add_calendar_days(at(2026, 12, 20, 10), 15)


# --- due() and guards ----------------------------------------------------------


def test_due_dispatches_to_one_rule(cn: WorkCalendar) -> None:
    start = at(2025, 9, 30, 10)
    assert cn.due(start, working_days=2) == at(2025, 10, 11)
    assert cn.due(start, hours=2) == at(2025, 9, 30, 12)
    assert cn.due(start, business_hours=8) == at(2025, 10, 9, 10)
    assert cn.due(start, calendar_days=1) == at(2025, 10, 10)
    assert cn.due(start, working_days=0) == at(2025, 10, 1)


@pytest.mark.parametrize("limits", [{}, {"hours": 1, "working_days": 1}])
def test_due_needs_exactly_one_rule(cn: WorkCalendar, limits: dict) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        cn.due(at(2025, 9, 30, 10), **limits)


@pytest.mark.parametrize(
    ("method", "amount"),
    [
        ("add_working_days", -1),
        ("add_working_days", 3651),
        ("add_working_days", 1.5),
        ("add_working_days", True),
        ("add_calendar_days", -1),
        ("add_calendar_days", 10_000),
        ("add_hours", -0.5),
        ("add_hours", float("nan")),
        ("add_hours", 3650 * 24 + 1),
        ("add_business_hours", -1),
        ("add_business_hours", float("inf")),
    ],
)
def test_bad_amounts_are_refused(cn: WorkCalendar, method: str, amount: float) -> None:
    with pytest.raises(ValueError):
        getattr(cn, method)(at(2025, 9, 30, 10), amount)


def test_naive_datetimes_are_refused(cn: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cn.add_working_days(datetime(2025, 9, 30, 10), 1)


def test_bad_calendar_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        WorkCalendar({date(2030, 1, 1): "vacation"}, {2030})
    with pytest.raises(ValueError, match="opening"):
        WorkCalendar({}, {2030}, windows=((time(17), time(9)),))
    with pytest.raises(ValueError, match="overlap"):
        WorkCalendar({}, {2030}, windows=((time(9), time(13)), (time(12), time(17))))
    with pytest.raises(ValueError, match="at least one"):
        WorkCalendar({}, {2030}, windows=())


# --- hand-made calendars ----------------------------------------------------------


def test_hand_made_exceptions_and_years() -> None:
    # 2030-01-02 (Wed) off, 2030-01-05 (Sat) worked.
    calendar = WorkCalendar({date(2030, 1, 2): "holiday", date(2030, 1, 5): "workday"}, {2030})
    start = at(2030, 1, 1, 10)
    assert calendar.add_working_days(start, 1) == at(2030, 1, 4)  # Thu Jan 3
    assert calendar.add_working_days(start, 3) == at(2030, 1, 6)  # Fri Jan 4, Sat Jan 5
    assert calendar.add_working_days(start, 4) == at(2030, 1, 8)  # Mon Jan 7
    # Ending on 31 December needs nothing from the next year...
    assert calendar.add_working_days(at(2030, 12, 30, 10), 1) == at(2031, 1, 1)
    # ...but one more day does, even with a whole table of exceptions for 2030.
    with pytest.raises(HolidayDataMissing, match="2031"):
        calendar.add_working_days(at(2030, 12, 30, 10), 2)


def test_a_year_missing_in_the_middle_is_not_skipped() -> None:
    calendar = WorkCalendar({}, {2030, 2032})
    with pytest.raises(HolidayDataMissing, match="2031"):
        calendar.add_calendar_days(at(2030, 12, 20), 30)


# --- spans ---------------------------------------------------------------------


def test_working_time_between(cn: WorkCalendar) -> None:
    # Fri 16:00 -> Mon 10:00 across 2025-09-27/28: Fri 1h, Sun Sep 28 (worked) 8h, Mon 1h.
    assert cn.working_time_between(at(2025, 9, 26, 16), at(2025, 9, 29, 10)) == 10 * 3600
    assert cn.working_time_between(at(2025, 9, 29, 10), at(2025, 9, 26, 16)) == -10 * 3600
    assert cn.working_time_between(at(2025, 10, 1, 9), at(2025, 10, 8, 17)) == 0
    assert cn.working_time_between(at(2025, 9, 22, 7), at(2025, 9, 22, 9, 30)) == 1800


def test_working_time_between_inverts_add_business_hours(cn: WorkCalendar) -> None:
    start = at(2025, 9, 30, 15, 20)
    end = cn.add_business_hours(start, 13.5)
    assert cn.working_time_between(start, end) == 13.5 * 3600


def test_working_time_up_to_new_year_needs_no_next_year(cn: WorkCalendar) -> None:
    assert cn.working_time_between(at(2026, 12, 31, 16), at(2027, 1, 1)) == 3600
    with pytest.raises(HolidayDataMissing, match="2027"):
        cn.working_time_between(at(2026, 12, 31, 16), at(2027, 1, 1, 0, 1))


def test_working_days_between(cn: WorkCalendar) -> None:
    # Tue Sep 30 noon -> Thu Oct 9 noon: half of Sep 30 and half of Oct 9; Oct 1-8 are off.
    assert cn.working_days_between(at(2025, 9, 30, 12), at(2025, 10, 9, 12)) == 1.0
    assert cn.working_days_between(at(2025, 9, 20), at(2025, 9, 22)) == 0.0  # a weekend
    assert cn.working_days_between(at(2025, 9, 27), at(2025, 9, 29)) == 1.0  # Sun Sep 28 worked
    assert cn.working_days_between(at(2025, 9, 22, 6), at(2025, 9, 22, 12)) == 0.25
    assert cn.working_days_between(at(2025, 9, 23), at(2025, 9, 22)) == -1.0
