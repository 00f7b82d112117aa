"""The scenario harness itself: a complaint is started, seen, moved in time."""
from __future__ import annotations


def test_harness_starts_a_case_and_moves_the_clock(api) -> None:  # noqa: ANN001
    case = api.start()
    assert case["number"].startswith("TS")
    before = api.now()
    api.advance(hours=1)
    assert (api.now() - before).total_seconds() == 3600
    assert api.case(case["number"])["status"] == "running"
