"""Timers falling due in the same minute, fired by real worker processes on PostgreSQL: time to drain,
lateness p50 / p99 / max, duplicates and lost timers.

    .venv/bin/python bench/timers.py [--timers 10000] [--model intake|timer_wait] [--runs worker,serve]
                                     [--workers 2] [--creators 2] [--record] [--profile FILE]

Each run gets a fresh database (complaintflow_bench_timers, on BENCH_PG_URL as bench/throughput.py) and
--timers cases, each with exactly one timer due in one chosen minute, the due times spread evenly over
that minute. --model intake (the default) deploys processes/ and starts real complaints whose 75 %
reminder timer (Timer_intake_first_contact_remind, the 催办 boundary timer of the first-contact task)
falls due in the minute: each case is started with the test clock set so that its closure clock's
reminder lands on its due time; its other timers (overdue, statutory) fall due hours and days later.
--model timer_wait uses tests/models/timer_wait.bpmn, the smallest model whose timer takes the same
firing path (a far cheaper case to load and save).

The cases are created before the minute, by --creators processes; then the workers start on the
system clock a few seconds before the first due time: `complaintflow worker` x --workers (run
"worker"), or `complaintflow serve --workers N` whose gunicorn workers each run a scheduler (run
"serve"). Firing times are the `at` of the engine's own timer_fired audit events (the worker's
clock, taken in the firing transaction); lateness is at - due_at of each timer; duplicates count
timer_fired events beyond the first per (case, timer task); lost timers are the minute's timers still
pending, or never recorded, when the run ends. --profile runs the drain in this process under
cProfile instead of the workers and prints where the time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bench.throughput import complaint, free_port, machine, prepare_database, record  # noqa: E402
from engine import clock  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import AuditEvent, ProcessInstance, SmsMessage, Timer  # noqa: E402

DATABASE = "complaintflow_bench_timers"
MODELS = {  # model -> (process started, BPMN id of the timer that falls due in the minute)
    "intake": ("complaint_intake", "Timer_intake_first_contact_remind"),
    "timer_wait": ("timer_wait", "Wait"),
}
STARTUP_LEAD = 8.0  # seconds the workers get to start before the first timer falls due
RUN_NAMES = {"worker": "`complaintflow worker` x {n}", "serve": "`complaintflow serve --workers {n}` schedulers"}


def _engine(url: str):  # noqa: ANN202
    from engine.service import ComplaintEngine

    return ComplaintEngine(Database(url), Settings(database_url=url))


def deploy(engine, model: str) -> None:  # noqa: ANN001
    if model == "intake":
        engine.deploy_directory("bench")
    else:
        from engine.service import UploadedFile

        path = ROOT / "tests" / "models" / "timer_wait.bpmn"
        engine.deploy([UploadedFile(path.name, path.read_bytes())], "bench")


def start_case(engine, model: str, due: datetime, lead: timedelta, test_clock: clock.TestClock) -> None:  # noqa: ANN001
    """One case whose bench timer falls due at ``due``."""
    if model == "intake":
        test_clock.set(due - lead)  # the reminder is a fixed lead after the start (closure clock, natural hours)
        engine.start_complaint(complaint(), "intake")
    else:
        test_clock.set(datetime.now(UTC))
        engine.start("timer_wait", {"fire_at": due.isoformat()}, "bench")


def reminder_lead(engine, model: str) -> timedelta:  # noqa: ANN001
    """How long after a case's start its bench timer falls due, from one case started now."""
    if model != "intake":
        return timedelta(0)
    started = clock.get_clock().set(datetime.now(UTC).replace(microsecond=0))
    view = engine.start_complaint(complaint(), "intake")
    with engine.db.read() as session:
        due = session.scalar(select(Timer.due_at).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                             .where(ProcessInstance.business_key == view["number"],
                                    Timer.bpmn_id == MODELS["intake"][1]))
    return due - started


def seed_slice(url: str, model: str, first_due: datetime, lead: timedelta, count: int, indexes: range,
               phone_base: int) -> None:
    """A creator process: the cases of ``indexes``, due times spread evenly over the minute."""
    import bench.throughput as throughput

    throughput._phones = iter(range(phone_base, phone_base + 10_000_000))  # no repeats across creators
    test_clock = clock.TestClock(first_due)
    clock.set_clock(test_clock)
    clock.install_into_spiff()
    engine = _engine(url)
    for i in indexes:
        start_case(engine, model, first_due + timedelta(seconds=60 * i / count), lead, test_clock)
    engine.db.dispose()


def seed(url: str, model: str, count: int, creators: int) -> tuple[datetime, float]:
    """Deploy, create the cases and return (first due time, seconds spent creating)."""
    engine = _engine(url)
    deploy(engine, model)
    test_clock = clock.TestClock()
    previous = clock.set_clock(test_clock)
    clock.install_into_spiff()
    try:
        lead = reminder_lead(engine, model)
        # Time a few cases (timers due outside the minute) to choose a minute the creators will not overrun.
        started = time.perf_counter()
        for _ in range(10):
            start_case(engine, model, datetime.now(UTC) + timedelta(days=1), lead, test_clock)
        per_case = (time.perf_counter() - started) / 10
    finally:
        clock.set_clock(previous)
        engine.db.dispose()
    # Generous (as if the creators gained nothing from running side by side, which is what a busy shared
    # machine gives): an overrun spoils the run.
    expected = count * per_case * 1.6 + 30
    first_due = datetime.fromtimestamp(math.ceil((time.time() + expected + STARTUP_LEAD) / 60) * 60, UTC)
    print(f"creating {count} {model} cases ({per_case * 1000:.0f} ms each in one process), "
          f"timers due {first_due:%H:%M:%S}-{first_due + timedelta(minutes=1):%H:%M:%S} UTC", flush=True)
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    slices = [range(n, count, creators) for n in range(creators)]
    with ctx.Pool(creators) as pool:
        pool.starmap(seed_slice, [(url, model, first_due, lead, count, s, 50_000_000 + n * 10_000_000)
                                  for n, s in enumerate(slices)])
    created = time.perf_counter() - started
    db = Database(url)
    with db.write() as session:
        due = session.scalar(select(func.count()).select_from(Timer).where(*in_minute(first_due, model)))
        assert due == count, f"{due} timers due in the minute, expected {count}"
        # The cases' acknowledgment SMS belong to the seeding, not to the drain: out of the workers' way.
        session.execute(update(SmsMessage).where(SmsMessage.status == "pending").values(status="sent"))
    db.dispose()
    if datetime.now(UTC) > first_due - timedelta(seconds=STARTUP_LEAD / 2):
        raise SystemExit(f"creating the cases took {created:.0f} s and overran the minute: run again")
    return first_due, created


def in_minute(first_due: datetime, model: str) -> tuple:
    return (Timer.bpmn_id == MODELS[model][1], Timer.due_at >= first_due,
            Timer.due_at < first_due + timedelta(minutes=1))


def cli_process(url: str, *args: str, log: Path) -> subprocess.Popen:
    # serve with several workers refuses to start without a shared session key.
    env = {**os.environ, "DATABASE_URL": url, "COMPLAINTFLOW_SMS_LOG": str(log.with_suffix(".sms")),
           "COMPLAINTFLOW_SECRET_KEY": "bench-only-secret"}
    for name in ("COMPLAINTFLOW_DEMO", "COMPLAINTFLOW_TEST_CLOCK"):
        env.pop(name, None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", "from complaintflow.cli import main; main()", *args],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def start_workers(url: str, run: str, workers: int, logdir: Path) -> list[subprocess.Popen]:
    if run == "worker":
        return [cli_process(url, "worker", log=logdir / f"worker{n}.log") for n in range(workers)]
    return [cli_process(url, "serve", "--workers", str(workers), "--port", str(free_port()),
                        log=logdir / "serve.log")]


def wait_for_drain(url: str, first_due: datetime, model: str, timeout: float,
                   processes: list[subprocess.Popen], logdir: Path) -> None:
    db = Database(url)
    try:
        while datetime.now(UTC) < first_due + timedelta(minutes=1) + timedelta(seconds=timeout):
            time.sleep(1.0)
            for process in processes:  # a worker that could not start would leave the run waiting for nothing
                if process.poll() is not None:
                    logs = "\n".join(path.read_text(errors="replace")[-2000:] for path in sorted(logdir.glob("*.log")))
                    raise SystemExit(f"a worker process exited with {process.returncode} before the drain:\n{logs}")
            if datetime.now(UTC) < first_due + timedelta(minutes=1):
                continue
            with db.read() as session:
                if not session.scalar(select(func.count()).select_from(Timer).where(*in_minute(first_due, model))):
                    return
    finally:
        db.dispose()


def drain_in_process(url: str, first_due: datetime, profile_path: str) -> None:
    """One worker's drain loop, in this process under cProfile (for --profile)."""
    from engine.scheduler import drain_due_timers

    engine = _engine(url)
    profiler = cProfile.Profile()
    profiler.enable()
    while True:
        fired = drain_due_timers(engine)
        if not fired and datetime.now(UTC) >= first_due + timedelta(minutes=1):
            if not engine.timers.due_candidates(1):
                break
        if not fired:
            time.sleep(0.05)
    profiler.disable()
    engine.db.dispose()
    profiler.dump_stats(profile_path)
    pstats.Stats(profile_path).sort_stats("cumulative").print_stats(40)


def measure(url: str, first_due: datetime, model: str, count: int) -> dict:
    db = Database(url)
    with db.read() as session:
        events = session.execute(
            select(AuditEvent.instance_id, AuditEvent.task_id, AuditEvent.at, AuditEvent.data)
            .where(AuditEvent.type == "timer_fired", AuditEvent.bpmn_id == MODELS[model][1])
        ).all()
        pending = session.scalar(select(func.count()).select_from(Timer).where(*in_minute(first_due, model)))
    db.dispose()
    end = first_due + timedelta(minutes=1)
    mine = [e for e in events if first_due <= datetime.fromisoformat(e.data["due_at"]) < end]
    per_timer: dict[tuple, int] = {}
    for event in mine:
        per_timer[(event.instance_id, event.task_id)] = per_timer.get((event.instance_id, event.task_id), 0) + 1
    lateness = sorted((e.at - datetime.fromisoformat(e.data["due_at"])).total_seconds() for e in mine)
    return {
        "fired": len(per_timer),
        "duplicates": sum(n - 1 for n in per_timer.values()),
        "lost": pending + (count - len(per_timer) - pending if count > len(per_timer) + pending else 0),
        "drain": (max(e.at for e in mine) - first_due).total_seconds() if mine else float("nan"),
        "p50": percentile(lateness, 50), "p99": percentile(lateness, 99),
        "max": lateness[-1] if lateness else float("nan"),
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank, on sorted values."""
    if not values:
        return float("nan")
    return values[max(0, math.ceil(pct / 100 * len(values)) - 1)]


def load_average() -> str:
    return " / ".join(f"{n:.2f}" for n in os.getloadavg())


def bench_run(run: str, args: argparse.Namespace) -> dict:
    url = prepare_database("postgres", args.database)
    first_due, created = seed(url, args.model, args.timers, args.creators)
    logdir = Path(tempfile.mkdtemp(prefix="cf-bench-timers-"))
    time.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds() - STARTUP_LEAD))
    load_before = load_average()
    if args.profile:
        drain_in_process(url, first_due, args.profile)
    else:
        processes = start_workers(url, run, args.workers, logdir)
        try:
            wait_for_drain(url, first_due, args.model, args.timeout, processes, logdir)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
    figures = measure(url, first_due, args.model, args.timers)
    figures.update(load_before=load_before, load_after=load_average(), created=created, logs=str(logdir))
    print(f"{run}: {figures}", flush=True)
    return figures


def render(results: dict, args: argparse.Namespace) -> str:
    process, timer = MODELS[args.model]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL on the same machine.",
        f"Command: `.venv/bin/python bench/timers.py --timers {args.timers} --model {args.model} "
        f"--runs {args.runs} --workers {args.workers} --record`.",
        f"{args.timers} cases of `{process}`, each with one timer (`{timer}`) due in the same minute, due times "
        f"spread evenly over it; workers on the system clock, scheduler interval "
        f"{Settings.from_env().scheduler_interval_seconds:g} s. Lateness = firing time (the timer_fired audit "
        "event) - due time; drain = first due time to the last firing.",
        "",
        "| workers | timers fired | drain s | lateness p50 s | p99 s | max s | duplicates | lost "
        "| load average before / after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run, f in results.items():
        lines.append(f"| {RUN_NAMES[run].format(n=args.workers)} | {f['fired']} | {f['drain']:.1f} | {f['p50']:.2f} "
                     f"| {f['p99']:.2f} | {f['max']:.2f} | {f['duplicates']} | {f['lost']} "
                     f"| {f['load_before']} → {f['load_after']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--model", choices=sorted(MODELS), default="intake")
    parser.add_argument("--runs", default="worker", help="comma-separated: worker, serve")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--creators", type=int, default=2, help="processes creating the cases")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds after the minute to wait for the drain")
    parser.add_argument("--profile", help="drain in this process under cProfile, stats written to this file")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database to drop and fill for each run")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    runs = args.runs.split(",")
    if unknown := set(runs) - set(RUN_NAMES):
        parser.error(f"--runs: unknown {', '.join(sorted(unknown))}")
    results = {run: bench_run(run, args) for run in runs}
    table = render(results, args)
    print(table)
    if args.record and not args.profile:
        record(table, "timers")


if __name__ == "__main__":
    main()
