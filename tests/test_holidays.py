"""The calendar tables: seeding, admin edits, year import, loading and the process cache."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.db import Database
from engine.errors import HolidayDataMissing
from engine.holidays import (
    CalendarCache,
    clear_day,
    import_year,
    load_calendar,
    loaded_years,
    seed_from_chinesecalendar,
    set_day,
)
from engine.models import CalendarDay, CalendarYear

CST = timezone(timedelta(hours=8))


def days_in(session, year: int) -> dict[date, tuple[str, str, str]]:  # noqa: ANN001
    rows = session.scalars(
        select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    )
    return {row.day: (row.kind, row.name, row.source) for row in rows}


def test_seed_loads_every_known_year_once(db: Database, clock) -> None:  # noqa: ANN001
    with db.write() as session:
        assert seed_from_chinesecalendar(session) == list(range(2004, 2027))
    with db.read() as session:
        assert loaded_years(session) == list(range(2004, 2027))
        count = session.scalar(select(func.count()).select_from(CalendarDay))
        stamps = dict(session.execute(select(CalendarYear.year, CalendarYear.loaded_at)).all())
    assert stamps[2025] >= clock.now()
    with db.write() as session:
        assert seed_from_chinesecalendar(session) == []
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CalendarDay)) == count
        assert dict(session.execute(select(CalendarYear.year, CalendarYear.loaded_at)).all()) == stamps


def test_seed_stores_only_exceptions_to_the_weekday_rule(db: Database) -> None:
    with db.write() as session:
        assert seed_from_chinesecalendar(session, [2025]) == [2025]
    with db.read() as session:
        rows = days_in(session, 2025)
        source = session.get(CalendarYear, 2025).source
    assert source == "chinesecalendar"
    assert rows[date(2025, 10, 1)] == ("holiday", "National Day", "chinesecalendar")
    assert rows[date(2025, 10, 6)] == ("holiday", "Mid-autumn Festival", "chinesecalendar")
    assert rows[date(2025, 9, 28)] == ("workday", "National Day", "chinesecalendar")
    assert date(2025, 10, 4) not in rows  # a Saturday inside the holiday is off anyway
    workdays = sorted(day for day, (kind, _, _) in rows.items() if kind == "workday")
    assert workdays == [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
                        date(2025, 10, 11)]
    assert sum(1 for kind, _, _ in rows.values() if kind == "holiday") == 18


def test_seed_a_subset_then_the_rest(db: Database) -> None:
    with db.write() as session:
        assert seed_from_chinesecalendar(session, [2026, 2025]) == [2025, 2026]
    with db.write() as session:
        added = seed_from_chinesecalendar(session)
    assert 2025 not in added and 2026 not in added and added[0] == 2004 and added[-1] == 2024


def test_seed_refuses_years_chinesecalendar_does_not_know(db: Database) -> None:
    with pytest.raises(ValueError, match="2027"), db.write() as session:
        seed_from_chinesecalendar(session, [2026, 2027])
    with db.read() as session:
        assert loaded_years(session) == []


def test_seed_keeps_days_an_admin_set_before(db: Database) -> None:
    with db.write() as session:
        set_day(session, date(2025, 10, 9), "holiday", "local holiday")
        seed_from_chinesecalendar(session, [2025])
    with db.read() as session:
        assert days_in(session, 2025)[date(2025, 10, 9)] == ("holiday", "local holiday", "admin")


def test_load_calendar_computes_from_the_tables(db: Database) -> None:
    with db.write() as session:
        seed_from_chinesecalendar(session, [2025, 2026])
    with db.read() as session:
        calendar = load_calendar(session)
    receipt = datetime(2025, 9, 30, 10, tzinfo=CST)
    assert calendar.add_working_days(receipt, 2) == datetime(2025, 10, 11, tzinfo=CST)
    assert calendar.add_working_days(receipt, 2) == datetime(2025, 10, 10, 16, tzinfo=UTC)
    with pytest.raises(HolidayDataMissing, match="2024"):
        calendar.add_working_days(datetime(2024, 12, 20, tzinfo=CST), 1)
    with pytest.raises(HolidayDataMissing, match="2027"):
        calendar.add_working_days(datetime(2026, 12, 31, 10, tzinfo=CST), 1)


def test_set_day_and_clear_day(db: Database) -> None:
    with db.write() as session:
        seed_from_chinesecalendar(session, [2025])
        set_day(session, date(2025, 10, 9), "holiday", "extra day off")
        set_day(session, date(2025, 9, 28), "holiday", "no make-up day after all")
    with db.read() as session:
        rows = days_in(session, 2025)
        calendar = load_calendar(session)
    assert rows[date(2025, 10, 9)] == ("holiday", "extra day off", "admin")
    assert rows[date(2025, 9, 28)] == ("holiday", "no make-up day after all", "admin")
    assert not calendar.is_working_day(date(2025, 10, 9))
    assert not calendar.is_working_day(date(2025, 9, 28))
    with db.write() as session:
        assert clear_day(session, date(2025, 10, 9)) is True
        assert clear_day(session, date(2025, 10, 9)) is False
        assert clear_day(session, date(2025, 9, 28)) is True
    with db.read() as session:
        calendar = load_calendar(session)
    assert calendar.is_working_day(date(2025, 10, 9))  # back to the weekday rule
    assert not calendar.is_working_day(date(2025, 9, 28))  # an ordinary Sunday again


def test_set_day_refuses_unknown_kinds(db: Database) -> None:
    with pytest.raises(ValueError, match="kind"), db.write() as session:
        set_day(session, date(2025, 10, 9), "vacation", "")


def test_import_year_makes_the_year_computable(db: Database) -> None:
    holidays = [date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9)]
    with db.write() as session:
        seed_from_chinesecalendar(session, [2026])
        import_year(session, 2027, holidays, [date(2027, 2, 6)])
    with db.read() as session:
        assert loaded_years(session) == [2026, 2027]
        assert session.get(CalendarYear, 2027).source == "admin"
        calendar = load_calendar(session)
    # Thu 2026-12-31 receipt: Fri Jan 1 off, weekend, Mon Jan 4 is the first working day.
    assert calendar.add_working_days(datetime(2026, 12, 31, 10, tzinfo=CST), 1) == datetime(
        2027, 1, 5, tzinfo=CST
    )
    # Fri 2027-02-05 receipt: Sat Feb 6 is a make-up working day.
    assert calendar.add_working_days(datetime(2027, 2, 5, 10, tzinfo=CST), 1) == datetime(
        2027, 2, 7, tzinfo=CST
    )


def test_import_year_replaces_the_year(db: Database) -> None:
    with db.write() as session:
        seed_from_chinesecalendar(session, [2025, 2026])
        import_year(session, 2025, [date(2025, 10, 1)], [], source="notice")
    with db.read() as session:
        assert days_in(session, 2025) == {date(2025, 10, 1): ("holiday", "", "notice")}
        assert session.get(CalendarYear, 2025).source == "notice"
        assert date(2026, 2, 16) in days_in(session, 2026)  # other years untouched


@pytest.mark.parametrize(
    ("holidays", "workdays", "message"),
    [
        ([date(2027, 1, 1), date(2028, 1, 1)], [], "outside 2027: 2028-01-01"),
        ([date(2027, 1, 1)], [date(2026, 12, 26)], "outside 2027: 2026-12-26"),
        ([date(2027, 1, 1)], [date(2027, 1, 1)], "both holiday and workday"),
    ],
)
def test_import_year_validates_before_writing(
    db: Database, holidays: list[date], workdays: list[date], message: str
) -> None:
    with db.write() as session:
        import_year(session, 2027, [date(2027, 10, 1)], [])
    with pytest.raises(ValueError, match=message), db.write() as session:
        import_year(session, 2027, holidays, workdays)
    with db.read() as session:
        assert days_in(session, 2027) == {date(2027, 10, 1): ("holiday", "", "admin")}


def test_cache_reuses_until_the_tables_change(db: Database, clock) -> None:  # noqa: ANN001
    cache = CalendarCache()
    with db.write() as session:
        seed_from_chinesecalendar(session, [2025])
    assert cache.get(db) is cache.get(db)
    with db.write() as session:
        import_year(session, 2025, [date(2025, 10, 9)], [])
    first = cache.get(db)
    assert not first.is_working_day(date(2025, 10, 9))
    # Same number of rows and a frozen clock: only the forced loaded_at bump tells the change apart.
    with db.write() as session:
        import_year(session, 2025, [date(2025, 10, 10)], [])
    second = cache.get(db)
    assert second is not first
    assert second.is_working_day(date(2025, 10, 9))
    assert not second.is_working_day(date(2025, 10, 10))
    # Changing one day's kind keeps the row count.
    with db.write() as session:
        set_day(session, date(2025, 10, 10), "workday", "")
    third = cache.get(db)
    assert third.is_working_day(date(2025, 10, 10))
    cache.invalidate()
    assert cache.get(db) is not third


def test_cache_is_safe_across_threads(db: Database) -> None:
    with db.write() as session:
        seed_from_chinesecalendar(session, [2025])
    cache = CalendarCache()
    results, errors = [], []

    def worker() -> None:
        try:
            results.append(cache.get(db))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(calendar) for calendar in results}) == 1
