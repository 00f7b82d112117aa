"""The timer loop and the SMS job of one process.

Every worker process runs one; the database decides which worker fires which
timer (see engine.timers). The timer loop fires what is due, then sleeps until
the next timer falls due (at most one interval), so a timer fires within
milliseconds of its due time rather than up to an interval late. The first
round runs at start-up, so timers that fell due while nothing ran fire straight
away.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from . import clock
from .errors import DatabaseFault
from .notifier import SmsSender, adapter_from_env
from .service import ComplaintEngine

log = logging.getLogger(__name__)

BATCH = 200


def drain_due_timers(engine: ComplaintEngine, max_batches: int = 50) -> int:
    """Fire due timers batch by batch until none are left (bounded, so one round cannot run forever)."""
    return _drain(engine, max_batches)[0]


def _drain(engine: ComplaintEngine, max_batches: int = 50, stop: threading.Event | None = None) -> tuple[int, bool]:
    """(timers fired, whether due timers may be left because the round stopped early)."""
    total, more = 0, False
    try:
        for _ in range(max_batches):
            fired, looked_at = engine.timers.fire_batch(BATCH)
            total += fired
            # A full batch means more may be due, even if other workers fired part of this one.
            more = looked_at == BATCH
            if not more or (stop is not None and stop.is_set()):
                break
    except DatabaseFault as fault:
        # One line, no traceback, each round while the database is out; the next round tries again.
        log.warning("timers: %s (%s); trying again next round", fault.code, fault.detail or fault.message)
        more = False
    if total:
        log.info("fired %d timer(s)", total)
    return total, more


class TimerLoop(threading.Thread):
    """Fires due timers, then sleeps until the next timer falls due or ``interval`` seconds pass."""

    # Wake a little after the due time: the due query wants due_at < now, and the wait's clock and
    # the wall clock may differ by a millisecond.
    SLACK = 0.002

    def __init__(self, engine: ComplaintEngine, interval: float) -> None:
        super().__init__(name="complaintflow-timers", daemon=True)
        self.engine = engine
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.stopping.wait(self.round())

    def round(self) -> float:
        """Fire what is due; return how many seconds to sleep before the next round."""
        try:
            _, more = _drain(self.engine, stop=self.stopping)
            if more:
                return 0.0
            next_due = self.engine.timers.next_due_at()
        except DatabaseFault as fault:
            log.warning("timers: %s (%s); trying again next round", fault.code, fault.detail or fault.message)
            return self.interval
        except Exception:  # noqa: BLE001 - the loop must outlive any one round
            log.exception("timer round failed")
            return self.interval
        if next_due is None:
            return self.interval
        return min(self.interval, max(0.0, (next_due - clock.now()).total_seconds()) + self.SLACK)

    def stop(self, wait: bool = True) -> None:
        self.stopping.set()
        if wait:
            self.join()


class Scheduler:
    """What start_scheduler started: the timer loop and the SMS job."""

    def __init__(self, timers: TimerLoop, jobs: BackgroundScheduler) -> None:
        self.timers = timers
        self.jobs = jobs

    def shutdown(self, wait: bool = True) -> None:
        """Stop both; with ``wait``, after the round under way (it stops between batches) has committed."""
        self.timers.stop(wait)
        self.jobs.shutdown(wait=wait)


def send_due_sms(sender: SmsSender) -> int:
    try:
        return sender.send_due()
    except DatabaseFault as fault:
        log.warning("SMS outbox: %s (%s); trying again next round", fault.code, fault.detail or fault.message)
        return 0
    except Exception:  # noqa: BLE001 - a broken gateway must not stop the scheduler
        log.exception("sending SMS failed")
        return 0


def start_scheduler(engine: ComplaintEngine, interval_seconds: float, sender: SmsSender | None = None,
                    ) -> Scheduler:
    timers = TimerLoop(engine, interval_seconds)
    jobs = BackgroundScheduler(timezone="UTC")
    sender = sender or SmsSender(engine.db, adapter_from_env())
    jobs.add_job(
        send_due_sms, "interval", args=[sender], seconds=interval_seconds, id="send_due_sms",
        max_instances=1, coalesce=True, next_run_time=datetime.now().astimezone(),
    )
    timers.start()
    jobs.start()
    return Scheduler(timers, jobs)
