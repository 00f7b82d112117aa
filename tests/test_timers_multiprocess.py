"""1,000 timers due at once, fired by two worker processes on PostgreSQL: each exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent, ProcessInstance, Timer
from tests.conftest import deploy_test_model

WORKER = """
import sys
from engine.config import Settings
from engine.db import Database
from engine.scheduler import drain_due_timers
from engine.service import ComplaintEngine
settings = Settings.from_env()
engine = ComplaintEngine(Database(settings.database_url), settings)
total = 0
while True:
    fired = drain_due_timers(engine)
    total += fired
    if fired == 0 and not engine.timers.due_candidates(1):
        break
print(total)
"""


@pytest.mark.postgres_only
@pytest.mark.slow
def test_thousand_timers_two_processes_fire_exactly_once(engine, clock, db, database_url):  # noqa: ANN001
    deploy_test_model(engine, "timer_wait.bpmn")
    # Cases start an hour in the (real) past with timers a minute later, so all are due for the workers,
    # which run on the system clock.
    clock.set(datetime.now(UTC) - timedelta(hours=1))
    fire_at = (clock.now() + timedelta(minutes=1)).isoformat()
    for _ in range(1000):
        engine.start("timer_wait", {"fire_at": fire_at}, "test")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == 1000

    env = {**os.environ, "DATABASE_URL": database_url}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    counts = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        counts.append(int(out.strip().splitlines()[-1]))

    assert sum(counts) == 1000
    print("fired per worker:", counts)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer)) == 0
        fired = session.execute(
            select(AuditEvent.instance_id, func.count()).where(AuditEvent.type == "timer_fired")
            .group_by(AuditEvent.instance_id)
        ).all()
        assert len(fired) == 1000 and {n for _, n in fired} == {1}
        assert session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.status == "completed")) == 1000
