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
from datetime import timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select

from . import audit, clock
from .case_sync import find_task
from .db import Database
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

    def fire_due(self, limit: int = 200) -> int:
        """Fire up to ``limit`` due timers; returns how many this process fired."""
        fired = 0
        for timer_id, instance_id in self.due_candidates(limit):
            try:
                if self.fire_one(timer_id, instance_id):
                    fired += 1
            except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the rest
                log.exception("timer %s of case %s failed", timer_id, instance_id)
                self._note_failure(timer_id, instance_id, exc)
        return fired

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
        self.record_fault(None, instance_id, exc)
        try:
            with self.db.write() as session:
                instance = self.runner.lock(session, instance_id)
                timer = session.get(Timer, timer_id)
                if timer is None or instance is None:
                    return
                delay = RETRY_DELAYS[min(timer.attempts, len(RETRY_DELAYS) - 1)]
                timer.attempts += 1
                timer.retry_at = clock.now() + timedelta(seconds=delay)
        except Exception:  # noqa: BLE001
            log.exception("could not schedule a retry for timer %s", timer_id)


__all__ = ["TimerFirer", "ProcessInstance"]
