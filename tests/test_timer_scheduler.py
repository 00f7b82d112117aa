"""The timer loop: wakes at the next due time, drains past other workers' share, logs failures by case."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import scheduler
from engine.models import ProcessInstance, Timer
from engine.scheduler import TimerLoop, drain_due_timers, start_scheduler
from engine.service import ComplaintEngine
from tests.conftest import deploy_test_model


def wait_case(engine, clock, seconds: float) -> str:  # noqa: ANN001
    """A timer_wait case whose timer falls due ``seconds`` from the test clock's now."""
    fire_at = (clock.now() + timedelta(seconds=seconds)).isoformat()
    return engine.start("timer_wait", {"fire_at": fire_at}, "test")["number"]


def pending(db) -> int:  # noqa: ANN001
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Timer))


@pytest.fixture
def timer_engine(engine):  # noqa: ANN001, ANN201
    deploy_test_model(engine, "timer_wait.bpmn")
    return engine


def test_round_sleeps_until_the_next_timer_falls_due(timer_engine, clock) -> None:  # noqa: ANN001
    loop = TimerLoop(timer_engine, interval=5.0)
    assert loop.round() == 5.0  # no timers: the regular interval
    wait_case(timer_engine, clock, 3600)
    assert loop.round() == 5.0  # the next one is an hour away
    wait_case(timer_engine, clock, 0.25)
    assert loop.round() == pytest.approx(0.25 + TimerLoop.SLACK)


def test_round_fires_what_is_due(timer_engine, clock, db) -> None:  # noqa: ANN001
    wait_case(timer_engine, clock, 0.25)
    clock.advance(0.5)
    assert TimerLoop(timer_engine, interval=5.0).round() == 5.0
    assert pending(db) == 0


def test_due_timer_of_a_suspended_case_does_not_make_the_loop_spin(timer_engine, clock, db) -> None:  # noqa: ANN001
    number = wait_case(timer_engine, clock, 1)
    with db.write() as session:
        session.scalars(select(ProcessInstance).where(ProcessInstance.business_key == number)).one().status = \
            "suspended"
    clock.advance(2)
    # Due but left waiting: looked at again after an interval, not straight away over and over.
    assert TimerLoop(timer_engine, interval=5.0).round() == 5.0
    assert pending(db) == 1


def test_drain_goes_on_when_another_worker_fired_part_of_a_batch(timer_engine, clock, db, settings,  # noqa: ANN001
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(scheduler, "BATCH", 2)
    for _ in range(5):
        wait_case(timer_engine, clock, 1)
    clock.advance(2)
    other_worker = ComplaintEngine(db, settings)
    fire_one = timer_engine.timers.fire_one
    seen: list[int] = []

    def first_of_each_batch_goes_to_the_other_worker(timer_id: int, instance_id: int) -> bool:
        if len(seen) % 2 == 0:
            assert other_worker.timers.fire_one(timer_id, instance_id)
        seen.append(timer_id)
        return fire_one(timer_id, instance_id)

    monkeypatch.setattr(timer_engine.timers, "fire_one", first_of_each_batch_goes_to_the_other_worker)
    # One round empties the table although every batch came back with fewer fired than its size.
    assert drain_due_timers(timer_engine) == 2
    assert pending(db) == 0


def test_failing_timer_is_logged_with_its_case_number_and_kept_for_a_retry(timer_engine, clock, db,  # noqa: ANN001
                                                                           caplog) -> None:
    number = wait_case(timer_engine, clock, 1)
    clock.advance(2)

    def crash(_timer) -> None:  # noqa: ANN001
        raise RuntimeError("script blew up")

    timer_engine.timers.before_commit = crash
    with caplog.at_level(logging.ERROR, logger="engine.timers"):
        assert drain_due_timers(timer_engine) == 0
    assert f"case {number}: timer" in caplog.text and "script blew up" in caplog.text
    with db.read() as session:
        timer = session.scalars(select(Timer)).one()
        assert timer.attempts == 1 and timer.retry_at > clock.now()


def test_scheduler_fires_at_start_up_and_shuts_down(timer_engine, clock, db, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("COMPLAINTFLOW_SMS_LOG", str(tmp_path / "sms.log"))
    wait_case(timer_engine, clock, 1)
    clock.advance(2)
    started = start_scheduler(timer_engine, interval_seconds=0.05)
    try:
        for _ in range(200):  # the first round runs at once; allow a slow machine up to 10 s
            if pending(db) == 0:
                break
            time.sleep(0.05)
        assert pending(db) == 0
    finally:
        started.shutdown(wait=True)
    assert not started.timers.is_alive()
