"""Deadline arithmetic over a working calendar: pure, no database.

The calendar is the Monday-Friday rule plus exceptions (public holidays and
make-up working days, 调休) for the years whose State Council arrangement is
loaded. Any day outside those years raises ``HolidayDataMissing``: a
weekends-only guess would give wrong deadlines without anyone noticing.

All arithmetic is done on UTC instants; local wall time is only used to find
day and window boundaries, so results stay exact in zones with DST too.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import HolidayDataMissing

KINDS = ("holiday", "workday")
# Guards against typos such as 1500 working days instead of 15: no complaint SLA is ten years long.
MAX_DAYS = 3650
MAX_HOURS = MAX_DAYS * 24

Window = tuple[time, time]


class WorkCalendar:
    def __init__(
        self,
        exceptions: Mapping[date, str],
        years: Iterable[int],
        tz: str = "Asia/Shanghai",
        windows: Iterable[Window] = ((time(9), time(17)),),
    ) -> None:
        for day, kind in exceptions.items():
            if kind not in KINDS:
                raise ValueError(f"calendar day {day}: kind must be holiday or workday, not {kind!r}")
        self.exceptions: dict[date, str] = dict(exceptions)
        self.years: frozenset[int] = frozenset(years)
        self.tz = ZoneInfo(tz)
        self.windows: tuple[Window, ...] = _check_windows(tuple(windows))

    # --- days ---------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise HolidayDataMissing(day.year)
        kind = self.exceptions.get(day)
        if kind is not None:
            return kind == "workday"
        return day.weekday() < 5

    def _local_date(self, instant: datetime) -> date:
        return _aware(instant).astimezone(self.tz).date()

    def _at(self, day: date, wall: time) -> datetime:
        """The UTC instant of a local wall time on a local day."""
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)

    def _end_of(self, day: date) -> datetime:
        """24:00 of ``day``, i.e. 00:00 of the next day, local."""
        return self._at(day + timedelta(days=1), time(0))

    # --- deadlines ------------------------------------------------------------

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """Natural hours are exact elapsed time; holidays do not matter."""
        return _aware(start).astimezone(UTC) + timedelta(hours=_hours(hours))

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Ends 24:00 of the Nth working day after the day of receipt (n=0: end of receipt day)."""
        day = self._local_date(start)
        for _ in range(_days(n)):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return self._end_of(day)

    def add_calendar_days(self, start: datetime, n: int) -> datetime:
        """Civil Code Arts. 200-204: start day not counted; a last day off moves to the next working day."""
        n = _days(n)
        day = self._local_date(start) + timedelta(days=n)
        # n=0 is a same-day limit: nothing was counted, so there is no "last day" to extend.
        while n and not self.is_working_day(day):
            day += timedelta(days=1)
        return self._end_of(day)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """Counts only time inside the windows on working days; a start outside begins at the next opening."""
        remaining = timedelta(hours=_hours(hours))
        cursor = _aware(start).astimezone(UTC)
        if not remaining:
            return cursor
        for opens, closes in self._windows_from(self._local_date(cursor)):
            begin = max(cursor, opens)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                # Exactly filling a window ends at its close (17:00), not the next opening.
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: _windows_from only ends by raising")

    def due(
        self,
        start: datetime,
        *,
        hours: float | None = None,
        working_days: int | None = None,
        business_hours: float | None = None,
        calendar_days: int | None = None,
    ) -> datetime:
        given = {
            "hours": hours,
            "working_days": working_days,
            "business_hours": business_hours,
            "calendar_days": calendar_days,
        }
        chosen = [(name, value) for name, value in given.items() if value is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of hours, working_days, business_hours, calendar_days")
        name, value = chosen[0]
        method = getattr(self, f"add_{name}")
        return method(start, value)

    # --- spans (for moving deadlines by paused time) --------------------------

    def working_time_between(self, a: datetime, b: datetime) -> float:
        """Seconds inside business windows between two instants; negative when b is before a."""
        a, b = _aware(a).astimezone(UTC), _aware(b).astimezone(UTC)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta()
        # Only days the span covers are looked at: a span ending at 24:00 on 31 December
        # must not need next year's data.
        day = self._local_date(a)
        while self._at(day, time(0)) < b:
            if self.is_working_day(day):
                for opens, closes in self.windows:
                    begin, end = max(self._at(day, opens), a), min(self._at(day, closes), b)
                    total += max(timedelta(), end - begin)
            day += timedelta(days=1)
        return total.total_seconds()

    def working_days_between(self, a: datetime, b: datetime) -> float:
        """Working days between two instants, counting the covered fraction of each working day."""
        a, b = _aware(a).astimezone(UTC), _aware(b).astimezone(UTC)
        if b < a:
            return -self.working_days_between(b, a)
        total = 0.0
        day = self._local_date(a)
        while self._at(day, time(0)) < b:
            begin, end = self._at(day, time(0)), self._end_of(day)
            overlap = min(end, b) - max(begin, a)
            if overlap > timedelta() and self.is_working_day(day):
                total += overlap / (end - begin)
            day += timedelta(days=1)
        return total

    def add_working_day_time(self, start: datetime, days: float) -> datetime:
        """Move ``start`` on by ``days`` of working-day time: only time on working days counts.

        The inverse of ``working_days_between``; it moves a working-day deadline by a pause.
        """
        if days < 0 or days > MAX_DAYS or days != days:
            raise ValueError(f"working-day time must be between 0 and {MAX_DAYS} days, not {days!r}")
        moment = _aware(start).astimezone(UTC)
        remaining = float(days)
        day = self._local_date(moment)
        while True:
            begin, end = max(self._at(day, time(0)), moment), self._end_of(day)
            if self.is_working_day(day) and end > begin:
                share = (end - begin) / (end - self._at(day, time(0)))
                if remaining <= share + 1e-12:
                    span = end - self._at(day, time(0))
                    return begin + span * remaining
                remaining -= share
            day += timedelta(days=1)

    def _windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Every window (as UTC instants) of every working day from ``day`` on.

        Endless in principle; it stops by raising HolidayDataMissing at the first
        day of a year that is not loaded, so no caller can run past known data.
        """
        while True:
            if self.is_working_day(day):
                for opens, closes in self.windows:
                    yield self._at(day, opens), self._at(day, closes)
            day += timedelta(days=1)


def _check_windows(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    if not windows:
        raise ValueError("a calendar needs at least one working window")
    previous_close = time.min
    for opens, closes in windows:
        if not opens < closes:
            raise ValueError(f"window {opens}-{closes}: opening must be before closing")
        if opens < previous_close:
            raise ValueError("windows must be in order and must not overlap")
        previous_close = closes
    return windows


def _aware(value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("deadline arithmetic needs a timezone-aware datetime")
    return value


def _days(n: int) -> int:
    # bool is an int in Python; True working days is a bug, not 1.
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"a number of days must be a whole number, not {n!r}")
    if not 0 <= n <= MAX_DAYS:
        raise ValueError(f"a number of days must be between 0 and {MAX_DAYS}, not {n}")
    return n


def _hours(hours: float) -> float:
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise ValueError(f"a number of hours must be a number, not {hours!r}")
    if not math.isfinite(hours) or not 0 <= hours <= MAX_HOURS:
        raise ValueError(f"a number of hours must be between 0 and {MAX_HOURS}, not {hours}")
    return float(hours)
