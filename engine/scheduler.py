"""The APScheduler job that fires due timers in this process.

Every worker process runs one; the database decides which worker fires which
timer (see engine.timers). The first run happens at start-up, so timers that
fell due while nothing ran fire straight away.
"""
from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from .notifier import SmsSender, adapter_from_env
from .service import ComplaintEngine

log = logging.getLogger(__name__)

BATCH = 200


def drain_due_timers(engine: ComplaintEngine, max_batches: int = 50) -> int:
    """Fire due timers batch by batch until none are left (bounded, so one tick cannot run forever)."""
    total = 0
    for _ in range(max_batches):
        fired = engine.fire_due_timers(BATCH)
        total += fired
        if fired < BATCH:
            break
    if total:
        log.info("fired %d timer(s)", total)
    return total


def send_due_sms(sender: SmsSender) -> int:
    try:
        return sender.send_due()
    except Exception:  # noqa: BLE001 - a broken gateway must not stop the scheduler
        log.exception("sending SMS failed")
        return 0


def start_scheduler(engine: ComplaintEngine, interval_seconds: float, sender: SmsSender | None = None,
                    ) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    first_run = datetime.now().astimezone()
    scheduler.add_job(
        drain_due_timers, "interval", args=[engine], seconds=interval_seconds, id="fire_due_timers",
        max_instances=1, coalesce=True, next_run_time=first_run,
    )
    sender = sender or SmsSender(engine.db, adapter_from_env())
    scheduler.add_job(
        send_due_sms, "interval", args=[sender], seconds=interval_seconds, id="send_due_sms",
        max_instances=1, coalesce=True, next_run_time=first_run,
    )
    scheduler.start()
    return scheduler
