"""engine.task_clocks: time left on a task, counted like its limit, amber after the reminder, red when late."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import holidays
from engine.task_clocks import TaskClocks, deadline, matching_clock
from engine.viewer import SYSTEM
from tests.ui_support import COMPLAINT

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 Shanghai
DUE = START + timedelta(hours=48)


def test_no_deadline() -> None:
    assert deadline(None, START, START)["state"] == "none"


def test_plain_time_default_reminder_at_three_quarters() -> None:
    assert deadline(DUE, START, START + timedelta(hours=35))["state"] == "ok"
    warn = deadline(DUE, START, START + timedelta(hours=36))
    assert warn["state"] == "warn" and warn["basis"] == "hours" and warn["remaining"] == 12 * 3600
    late = deadline(DUE, START, DUE + timedelta(minutes=5))
    assert late["state"] == "overdue" and late["remaining"] == -300


def test_the_clock_sets_the_reminder_and_the_start() -> None:
    clock = {"name": "reply", "started_at": (START - timedelta(hours=40)).isoformat(),
             "remind_at": (START + timedelta(hours=1)).isoformat()}
    assert deadline(DUE, START, START + timedelta(minutes=30), clock)["state"] == "ok"
    shown = deadline(DUE, START, START + timedelta(hours=2), clock)
    assert shown["state"] == "warn" and shown["clock"] == "reply"


@pytest.fixture
def calendar(db):  # noqa: ANN001, ANN201
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2026])
        return holidays.load_calendar(session)


def test_working_day_limits_count_working_days(calendar) -> None:  # noqa: ANN001
    friday_noon = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # Friday 12:00 Shanghai
    due = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # Tuesday 24:00 Shanghai
    shown = deadline(due, friday_noon - timedelta(days=3), friday_noon, {"basis": "working_days"}, calendar)
    assert shown["basis"] == "working_days" and shown["remaining"] == pytest.approx(2.5)


def test_business_hour_limits_count_window_time(calendar) -> None:  # noqa: ANN001
    friday_four = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # Friday 16:00 Shanghai
    due = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)  # Monday 11:00 Shanghai
    shown = deadline(due, friday_four, friday_four, {"basis": "business_hours"}, calendar)
    assert shown["basis"] == "business_hours" and shown["remaining"] == 3 * 3600


def test_working_time_without_holiday_data_falls_back_to_plain_time(calendar) -> None:  # noqa: ANN001
    due = datetime(2031, 1, 10, tzinfo=UTC)
    now = datetime(2031, 1, 6, tzinfo=UTC)
    shown = deadline(due, now, now, {"basis": "working_days"}, calendar)
    assert shown["basis"] == "hours" and shown["remaining"] == 4 * 86400


def test_matching_clock_by_due_time() -> None:
    clocks = {"reply": {"due_at": DUE.isoformat(), "basis": "working_days"},
              "statutory": {"due_at": (DUE + timedelta(days=9)).isoformat()}, "junk": "x"}
    assert matching_clock(clocks, DUE)["name"] == "reply"
    assert matching_clock(clocks, DUE + timedelta(seconds=30)) is None
    assert matching_clock({}, DUE) is None and matching_clock(clocks, None) is None


def test_task_clocks_annotate_inbox_tasks_and_follow_case_changes(engine, clock) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    clocks = TaskClocks(engine)
    task = engine.get_case(number, SYSTEM)["tasks"][0]
    shown = clocks.annotate([task], clock.now())[0]["deadline"]
    assert shown["clock"] == "closure" and shown["state"] == "ok"
    clock.advance(40 * 3600)
    assert clocks.annotate([task], clock.now())[0]["deadline"]["state"] == "warn"
    assert clocks.clocks_of({number})[number]["closure"]["policy"] == "closure_48h"
    assert clocks.clocks_of(set()) == {}
