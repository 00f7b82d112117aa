"""Firing due timers exactly once, from any number of worker processes.

Each timer fires in its own transaction that locks the case first and the
timer row second (the same order every operation uses), with SKIP LOCKED on
PostgreSQL so workers pass over each other's work instead of queueing. The
row is deleted in the transaction that runs the timer, so a crash before the
commit leaves it in place to fire on the next pass, and a commit makes a
second firing impossible.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, or_, select

from . import audit, clock
from .case_sync import find_task
from .db import Database
from .errors import DatabaseFault
from .models import ProcessInstance, Timer

log = logging.getLogger(__name__)

RETRY_DELAYS = (10, 60, 300, 1800)  # seconds after the 1st, 2nd, 3rd, later failure


class TimerFirer:
    def __init__(self, db: Database, runner, record_fault: Callable) -> None:  # noqa: ANN001
        self.db = db
        self.runner = runner
        self.record_fault = record_fault
        # Tests set this to simulate a crash after the claim and before the commit.
        self.before_commit: Callable[[Timer], None] | None = None

    def due_candidates(self, limit: int) -> list[tuple[int, int]]:
        now = clock.now()
        with self.db.read() as session:
            rows = session.execute(
                select(Timer.id, Timer.instance_id)
                .where(Timer.due_at < now, or_(Timer.retry_at.is_(None), Timer.retry_at <= now))
                .order_by(Timer.due_at)
                .limit(limit)
            )
            return [(timer_id, instance_id) for timer_id, instance_id in rows]

    def next_due_at(self) -> datetime | None:
        """When the next timer falls due that is not due yet, for the scheduler to wake up then.

        Timers already due and still here (suspended case, another worker busy with it) and timers
        waiting for a retry are left out: they are looked at on the scheduler's regular interval.
        One step of the due_at index.
        """
        with self.db.read() as session:
            return session.scalar(select(func.min(Timer.due_at))
                                  .where(Timer.due_at > clock.now(), Timer.retry_at.is_(None)))

    def fire_due(self, limit: int = 200) -> int:
        """Fire up to ``limit`` due timers; returns how many this process fired."""
        return self.fire_batch(limit)[0]

    def fire_batch(self, limit: int) -> tuple[int, int]:
        """Fire up to ``limit`` due timers; returns (fired by this process, due timers looked at).

        Fewer looked at than ``limit`` means none are left due; fewer fired can also mean that
        another worker fired some of them.
        """
        fired = 0
        candidates = self.due_candidates(limit)
        for timer_id, instance_id in candidates:
            try:
                if self.fire_one(timer_id, instance_id):
                    fired += 1
            except DatabaseFault:
                # The database failed, not this timer: no attempt counted (RETRY_DELAYS would hold it back for
                # up to 30 minutes after a short outage); the row stays and the next round fires it.
                raise
            except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the rest
                self._note_failure(timer_id, instance_id, exc)
        return fired, len(candidates)

    def fire_one(self, timer_id: int, instance_id: int) -> bool:
        skip = self.db.is_postgres
        with self.db.write() as session:
            instance = self.runner.lock(session, instance_id, skip_locked=skip)
            if instance is None or instance.status != "running":
                return False  # busy in another worker, or suspended/finished
            timer = session.scalars(
                select(Timer).where(Timer.id == timer_id).with_for_update(skip_locked=skip)
            ).first()
            if timer is None:
                return False  # fired already, by another worker or with a sibling timer
            workflow, definition = self.runner.load(session, instance)
            self.runner.run_engine(session, instance, workflow, "scheduler")
            spiff_task = find_task(workflow, timer.task_id)
            if spiff_task is not None and spiff_task.state == TaskState.WAITING:
                # The engine does not consider it due (e.g. the clock moved back): look again later.
                timer.retry_at = clock.now() + timedelta(seconds=RETRY_DELAYS[0])
                return False
            audit.record(session, "timer_fired", "scheduler", instance_id=instance.id,
                         business_key=instance.business_key, task_id=timer.task_id, bpmn_id=timer.bpmn_id,
                         data={"due_at": timer.due_at.isoformat()})
            self.runner.save(session, instance, workflow, definition, "scheduler")
            if self.before_commit is not None:
                self.before_commit(timer)
            return True

    def _note_failure(self, timer_id: int, instance_id: int, exc: BaseException) -> None:
        """Put the timer back for a later try, log the failure with the case number, record it on the case."""
        number, delay = None, None
        try:
            with self.db.write() as session:
                instance = self.runner.lock(session, instance_id)
                timer = session.get(Timer, timer_id)
                number = instance.business_key if instance is not None else None
                if timer is not None and instance is not None:
                    delay = RETRY_DELAYS[min(timer.attempts, len(RETRY_DELAYS) - 1)]
                    timer.attempts += 1
                    timer.retry_at = clock.now() + timedelta(seconds=delay)
        except Exception:  # noqa: BLE001
            log.exception("case %s: could not schedule a retry for timer %s", number or f"#{instance_id}", timer_id)
        log.error("case %s: timer %s failed; next try in %s s", number or f"#{instance_id}", timer_id, delay,
                  exc_info=exc)
        self.record_fault(number, instance_id, exc)


__all__ = ["TimerFirer", "ProcessInstance"]
