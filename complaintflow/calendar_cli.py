"""`complaintflow calendar ...`: compute a deadline, seed or import holiday data."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from engine.config import Settings
from engine.db import Database
from engine.errors import HolidayDataMissing
from engine.holidays import import_year, load_calendar, loaded_years, missing_years, seed_from_chinesecalendar
from engine.migrate import upgrade

T = TypeVar("T")  # not PEP 695 syntax: the project supports Python 3.11


class CalendarError(click.ClickException):
    """Prints "Error: ..." and exits 2 (bad input), without a traceback."""

    exit_code = 2


@contextmanager
def _database() -> Iterator[Database]:
    db = Database(Settings.from_env().database_url)
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()


@click.group("calendar")
def calendar_group() -> None:
    """Working calendar: deadlines, public holidays and make-up working days."""


@calendar_group.command("due")
@click.option("--from", "start", required=True, help="ISO datetime; without an offset it is Asia/Shanghai.")
@click.option("--working-days", type=click.IntRange(min=0), help="N working days, ending 24:00.")
@click.option("--hours", type=click.FloatRange(min=0), help="N natural hours, exact.")
@click.option("--business-hours", type=click.FloatRange(min=0), help="N hours inside working windows.")
@click.option("--calendar-days", type=click.IntRange(min=0), help="N days, Civil Code holiday rule.")
def due_command(
    start: str,
    working_days: int | None,
    hours: float | None,
    business_hours: float | None,
    calendar_days: int | None,
) -> None:
    """Print the deadline for a limit counted from --from."""
    limits = {
        "working_days": working_days,
        "hours": hours,
        "business_hours": business_hours,
        "calendar_days": calendar_days,
    }
    limits = {name: value for name, value in limits.items() if value is not None}
    if len(limits) != 1:
        raise CalendarError("give exactly one of --working-days, --hours, --business-hours, --calendar-days")
    tz = ZoneInfo(Settings.from_env().timezone)
    begins = _parse(datetime.fromisoformat, start, "--from: not an ISO datetime")
    if begins.tzinfo is None:
        begins = begins.replace(tzinfo=tz)
    with _database() as db:
        with db.write() as session:
            if not loaded_years(session):
                seed_from_chinesecalendar(session)
        with db.read() as session:
            calendar = load_calendar(session)
    try:
        deadline = calendar.due(begins, **limits)
    except (HolidayDataMissing, ValueError) as error:
        raise CalendarError(str(error)) from None
    click.echo(deadline.astimezone(tz).isoformat())


@calendar_group.command("seed")
@click.option("--year", "years", type=int, multiple=True, help="Only these years (default: all known).")
def seed_command(years: tuple[int, ...]) -> None:
    """Load the holiday arrangements chinesecalendar knows, skipping years already loaded."""
    with _database() as db, db.write() as session:
        try:
            added = seed_from_chinesecalendar(session, years or None)
        except ValueError as error:
            raise CalendarError(str(error)) from None
    click.echo(f"seeded: {', '.join(map(str, added))}" if added else "nothing to seed: all years loaded")


@calendar_group.command("check")
@click.option("--today", help="ISO date to check as of (default: today in the configured time zone).")
def check_command(today: str | None) -> None:
    """Exit 1 and name the years to import when this year's or (from October) next year's arrangement is missing.

    Meant for a daily cron or monitoring check, so nobody learns of a missing year from a failing deadline.
    """
    tz = ZoneInfo(Settings.from_env().timezone)
    day = _parse(date.fromisoformat, today, "--today: not an ISO date") if today else datetime.now(tz).date()
    with _database() as db:
        with db.write() as session:
            if not loaded_years(session):
                seed_from_chinesecalendar(session)
        with db.read() as session:
            missing = missing_years(session, day)
    if missing:
        years = ", ".join(map(str, missing))
        click.echo(f"holiday arrangement missing for {years}: import it with `complaintflow calendar import`")
        raise SystemExit(1)
    click.echo("holiday arrangements loaded for the coming deadlines")


@calendar_group.command("import")
@click.option("--year", type=int, required=True)
@click.option("--holidays", required=True, help="Comma-separated ISO dates off work (weekdays at least).")
@click.option("--workdays", default="", help="Comma-separated ISO make-up working days (调休).")
def import_command(year: int, holidays: str, workdays: str) -> None:
    """Replace one year's arrangement, e.g. from the State Council notice, and mark the year loaded."""
    off = _dates(holidays, "--holidays")
    on = _dates(workdays, "--workdays")
    with _database() as db, db.write() as session:
        try:
            import_year(session, year, off, on)
        except ValueError as error:
            raise CalendarError(str(error)) from None
    click.echo(f"imported {year}: {len(off)} holidays, {len(on)} working days")


def _dates(text: str, option: str) -> list[date]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    return [_parse(date.fromisoformat, item, f"{option}: {item!r} is not an ISO date") for item in items]


def _parse(parse: Callable[[str], T], text: str, message: str) -> T:
    try:
        return parse(text)
    except ValueError:
        raise CalendarError(message) from None
