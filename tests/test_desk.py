"""Escalation desk arithmetic: periods in Asia/Shanghai and grouping."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import desk


@pytest.mark.parametrize("period,start", [
    ("today", "2026-03-04T00:00:00+08:00"),
    ("week", "2026-03-02T00:00:00+08:00"),
    ("month", "2026-03-01T00:00:00+08:00"),
])
def test_periods_start_in_shanghai(period: str, start: str) -> None:
    now = datetime(2026, 3, 3, 17, 30, tzinfo=UTC)  # Wed 2026-03-04 01:30 in Shanghai
    assert desk.period_start(period, now).isoformat() == start


def test_unknown_period_and_group_are_refused() -> None:
    with pytest.raises(ValueError):
        desk.period_start("year", datetime(2026, 3, 3, tzinfo=UTC))
    with pytest.raises(ValueError):
        desk.group_counts([], "phone")


def test_group_counts_count_each_department_of_a_case() -> None:
    cases = [
        {"status": "overdue", "departments": ["network", "billing"], "city": "北京", "category": "billing"},
        {"status": "at_risk", "departments": [], "city": None, "category": "billing"},
        {"status": "overdue", "departments": ["network"], "city": "北京", "category": "mobile_data"},
    ]
    assert desk.group_counts(cases, "department") == [
        {"key": "network", "overdue": 2, "at_risk": 0}, {"key": "billing", "overdue": 1, "at_risk": 0},
        {"key": "-", "overdue": 0, "at_risk": 1}]
    assert desk.group_counts(cases, "city") == [{"key": "北京", "overdue": 2, "at_risk": 0},
                                               {"key": "-", "overdue": 0, "at_risk": 1}]
