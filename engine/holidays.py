"""The calendar tables: seeding from chinesecalendar, admin edits, loading, caching.

Only exceptions to the Monday-Friday rule are stored (calendar_days), plus one
calendar_years row per year whose arrangement is complete. Every edit moves
``calendar_years.loaded_at`` strictly forward so ``CalendarCache`` notices it
even when the number of rows stays the same or the clock is frozen.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import chinese_calendar
from chinese_calendar import constants as cc_constants
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import clock
from .calendar import KINDS, WorkCalendar
from .db import Database
from .models import CalendarDay, CalendarYear

SEED_SOURCE = "chinesecalendar"


def chinesecalendar_years() -> list[int]:
    """The years the installed chinesecalendar knows (2004-2026 for 1.11.0)."""
    known = list(cc_constants.holidays) + list(cc_constants.workdays)
    return list(range(min(known).year, max(known).year + 1))


def chinesecalendar_days(year: int) -> list[tuple[date, str, str]]:
    """(day, kind, English name) for every day of ``year`` that breaks the Monday-Friday rule."""
    if year not in chinesecalendar_years():
        raise ValueError(f"chinesecalendar has no data for {year}: use import_year for it")
    rows = []
    day = date(year, 1, 1)
    while day.year == year:
        works = chinese_calendar.is_workday(day)
        if works != (day.weekday() < 5):
            _, name = chinese_calendar.get_holiday_detail(day)
            rows.append((day, "workday" if works else "holiday", name or ""))
        day += timedelta(days=1)
    return rows


def loaded_years(session: Session) -> list[int]:
    return list(session.scalars(select(CalendarYear.year).order_by(CalendarYear.year)))


# The State Council publishes next year's arrangement in November or December; from October on,
# deadlines counted in working days start to reach into the next year.
WARN_FROM_MONTH = 10


def missing_years(session: Session, today: date) -> list[int]:
    """Years whose holiday arrangement deadlines will soon need but that are not loaded.

    This year always; next year from October on. Without them, a working-day deadline that reaches
    into such a year fails with HolidayDataMissing, so admins are warned ahead.
    """
    wanted = [today.year] + ([today.year + 1] if today.month >= WARN_FROM_MONTH else [])
    loaded = set(loaded_years(session))
    return [year for year in wanted if year not in loaded]


def seed_from_chinesecalendar(session: Session, years: Iterable[int] | None = None) -> list[int]:
    """Load years not yet loaded; returns the years added. Rows an admin already set are kept."""
    wanted = sorted(set(chinesecalendar_years() if years is None else years))
    for year in wanted:
        if year not in chinesecalendar_years():
            raise ValueError(f"chinesecalendar has no data for {year}: use import_year for it")
    done = set(loaded_years(session))
    added = []
    for year in wanted:
        if year in done:
            continue
        existing = set(session.scalars(select(CalendarDay.day).where(_in_year(year))))
        for day, kind, name in chinesecalendar_days(year):
            if day not in existing:
                session.add(CalendarDay(day=day, kind=kind, name=name, source=SEED_SOURCE))
        _record_year(session, year, SEED_SOURCE)
        added.append(year)
    session.flush()
    return added


def load_calendar(session: Session, tz: str = "Asia/Shanghai") -> WorkCalendar:
    exceptions = {row.day: row.kind for row in session.scalars(select(CalendarDay))}
    return WorkCalendar(exceptions, loaded_years(session), tz=tz)


def set_day(session: Session, day: date, kind: str, name: str, source: str = "admin") -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be holiday or workday, not {kind!r}")
    row = session.get(CalendarDay, day)
    if row is None:
        session.add(CalendarDay(day=day, kind=kind, name=name, source=source))
    else:
        row.kind, row.name, row.source = kind, name, source
    _touch_year(session, day.year)
    session.flush()


def clear_day(session: Session, day: date) -> bool:
    """Back to the Monday-Friday rule for ``day``; False when there was nothing to clear."""
    row = session.get(CalendarDay, day)
    if row is None:
        return False
    session.delete(row)
    _touch_year(session, day.year)
    session.flush()
    return True


def import_year(
    session: Session, year: int, holidays: list[date], workdays: list[date], source: str = "admin"
) -> None:
    """Replace ``year`` with the given arrangement (e.g. from the State Council notice) and mark it loaded."""
    outside = sorted(d for d in [*holidays, *workdays] if d.year != year)
    if outside:
        raise ValueError(f"dates outside {year}: {', '.join(d.isoformat() for d in outside)}")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise ValueError(f"dates both holiday and workday: {', '.join(d.isoformat() for d in both)}")
    session.execute(delete(CalendarDay).where(_in_year(year)))
    for kind, days in (("holiday", holidays), ("workday", workdays)):
        for day in sorted(set(days)):
            session.add(CalendarDay(day=day, kind=kind, name="", source=source))
    _record_year(session, year, source)
    session.flush()


def _in_year(year: int):  # noqa: ANN202 - a SQLAlchemy clause
    return CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def _next_loaded_at(session: Session) -> datetime:
    # Strictly after every earlier edit, so the cache fingerprint changes even under a frozen test clock.
    latest = session.scalar(select(func.max(CalendarYear.loaded_at)))
    now = clock.now()
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)


def _record_year(session: Session, year: int, source: str) -> None:
    loaded_at = _next_loaded_at(session)
    row = session.get(CalendarYear, year)
    if row is None:
        session.add(CalendarYear(year=year, source=source, loaded_at=loaded_at))
    else:
        row.source, row.loaded_at = source, loaded_at


def _touch_year(session: Session, year: int) -> None:
    row = session.get(CalendarYear, year)
    if row is not None:
        row.loaded_at = _next_loaded_at(session)


class CalendarCache:
    """One WorkCalendar per process, reloaded when the tables change (checked by a cheap query)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._calendar: WorkCalendar | None = None

    def get(self, db: Database, session: Session | None = None) -> WorkCalendar:
        """``session``: check in the caller's open transaction instead of a read transaction of its own."""
        if session is not None:
            with self._lock:
                return self._current(db.url, session)
        with self._lock, db.read() as own:
            return self._current(db.url, own)

    def _current(self, url: str, session: Session) -> WorkCalendar:
        key = (url, *_fingerprint(session))
        if self._calendar is None or key != self._key:
            self._calendar, self._key = load_calendar(session), key
        return self._calendar

    def invalidate(self) -> None:
        with self._lock:
            self._calendar, self._key = None, None


def _fingerprint(session: Session) -> tuple:
    """(day rows, year rows, latest edit): one round trip, checked by every operation that runs a case."""
    days = select(func.count()).select_from(CalendarDay).scalar_subquery()
    years = select(func.count()).select_from(CalendarYear).scalar_subquery()
    latest = select(func.max(CalendarYear.loaded_at)).scalar_subquery()
    return tuple(session.execute(select(days, years, latest)).one())
