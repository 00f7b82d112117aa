"""Inbox latency as open cases grow, in PostgreSQL: first page and count, p50 and p95, API and UI page.

    .venv/bin/python bench/inbox.py [--open 10000,100000,1000000] [--requests 100] [--explain] [--record]

One database (complaintflow_bench_inbox) grows step by step to each size of --open: only the new
open cases are inserted (COPY), then ANALYZE, then every request is measured, so the table shows
one p50/p95 column pair per size side by side. Open cases are bulk rows (a process instance, its
open task, its SLA clock in case_clocks and its reminder timer each), spread over roles, cities,
categories, tiers and deadlines like a carrier's queues; the workflow state is not needed to list
tasks. Requests go through the Flask app in process (server time only: routing, auth, query, JSON),
for GET /api/v1/tasks as a dispatcher, a department handler and a supervisor (who sees every queue),
and for the web UI's inbox page (GET /inbox and the table alone, GET /inbox/rows, rendered HTML with
each task's time left and the counts per scope) as a dispatcher and a supervisor signed in through
POST /login. --explain prints EXPLAIN ANALYZE of every SQL statement over human_tasks that each
request runs, at each size.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.throughput import machine, prepare_database  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import ProcessDefinition  # noqa: E402
from webapp import create_app, state  # noqa: E402

DATABASE = "complaintflow_bench_inbox"
ROLES = ["dispatcher"] * 3 + ["dept:network"] * 3 + ["dept:billing", "dept:broadband", "dept:channel",
                                                      "escalation", "intake"]
CITIES = ["北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "重庆"]
CATEGORIES = ["mobile_data", "mobile_voice", "billing", "broadband_repair", "network_coverage", "service"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲"
BATCH = 10_000

API_REQUESTS = [  # (user, label, path)
    ("dispatcher", "first page, by due", "/api/v1/tasks?page_size=50"),
    ("dispatcher", "page 2, by due", "/api/v1/tasks?page_size=50&page=2"),
    ("dispatcher", "page 100 (offset 4,950), by due", "/api/v1/tasks?page_size=50&page=100"),
    ("dispatcher", "overdue, by priority", "/api/v1/tasks?overdue=true&sort=priority&page_size=50"),
    ("network", "city + category filter", "/api/v1/tasks?city=%E5%8C%97%E4%BA%AC&category=billing"),
    ("network", "text search on phone", "/api/v1/tasks?q=1380000123"),
    ("network", "text search on complaint number", "/api/v1/tasks?q=TS00000000001234"),
    ("network", "text search, part of a number", "/api/v1/tasks?q=0001234"),
    ("network", "text search, one character (李)", "/api/v1/tasks?q=%E6%9D%8E"),
    ("network", "text search, two characters (张伟)", "/api/v1/tasks?q=%E5%BC%A0%E4%BC%9F"),
    ("supervisor", "every queue, by due", "/api/v1/tasks?page_size=50"),
]
UI_REQUESTS = [
    ("dispatcher", "GET /inbox (whole page)", "/inbox"),
    ("dispatcher", "GET /inbox/rows (table, htmx refresh)", "/inbox/rows"),
    ("dispatcher", "GET /inbox?overdue=true&sort=priority", "/inbox?overdue=true&sort=priority"),
    ("supervisor", "GET /inbox (whole page, every queue)", "/inbox"),
    ("supervisor", "GET /inbox/rows (table, htmx refresh)", "/inbox/rows"),
]
COLUMNS = {
    "process_instances": ("id", "definition_id", "business_key", "status", "state_json", "summary", "phone",
                          "category", "started_by", "created_at", "updated_at", "version"),
    "human_tasks": ("id", "instance_id", "bpmn_id", "name", "kind", "role", "assignee", "form", "due_at",
                    "priority", "created_at", "complaint_number", "tier", "category", "business_line", "region",
                    "city", "phone", "customer_name"),
    "case_clocks": ("instance_id", "name", "policy", "basis", "started_at", "due_at", "remind_at", "met_at",
                    "paused"),
    "timers": ("id", "instance_id", "task_id", "bpmn_id", "due_at", "retry_at", "attempts"),
}


def customer_name(i: int) -> str:
    """Case ``i``'s customer: 20 surnames (李 is 1 in 20 customers), a given name of one or two characters
    (张伟 is 1 in 600). Taken from ``i`` alone, so the random rows of a grown database stay as they were."""
    second = GIVEN_NAMES[i // 600 % len(GIVEN_NAMES)] if i % 3 == 0 else ""
    return SURNAMES[i % len(SURNAMES)] + GIVEN_NAMES[i // len(SURNAMES) % len(GIVEN_NAMES)] + second


def case_rows(i: int, rng: random.Random, definition_id: int, now: datetime) -> dict[str, tuple]:
    """The rows of open case number ``i``: instance, open task, SLA clock and the task's reminder timer."""
    number, phone = f"TS{i:014d}", f"138{i:08d}"
    city, category = rng.choice(CITIES), rng.choice(CATEGORIES)
    tier = rng.choices(["standard", "high", "svip"], [85, 12, 3])[0]
    due = now + timedelta(minutes=rng.randint(-600, 4000))
    started = now - timedelta(minutes=rng.randint(0, 4000))
    remind = started + (due - started) * 0.75 if due > started else due
    task_id = f"00000000-0000-0000-0000-{i:012d}"
    # Reminders already past are assumed fired: every waiting timer lies ahead, as in a running system.
    timer_due = remind if remind > now else due if due > now else now + timedelta(days=rng.randint(1, 30))
    return {
        "process_instances": (i, definition_id, number, "running", b"", json.dumps({"city": city, "tier": tier}),
                              phone, category, "bench", now, now, 1),
        "human_tasks": (task_id, i, "Task", "审核派发", "user", rng.choice(ROLES), None, None, due,
                        {"standard": 10, "high": 20, "svip": 30}[tier], started, number, tier, category, "mobile",
                        "urban", city, phone, customer_name(i)),
        "case_clocks": (i, "closure", "closure_48h", None, started, due, remind, None, False),
        "timers": (i, i, task_id, "Reminder", timer_due, None, 0),
    }


def fill(db: Database, definition_id: int, first: int, last: int, now: datetime | None = None) -> None:
    """Insert open cases ``first`` to ``last - 1`` (ids and numbers from the index) with COPY, then ANALYZE.

    The same index always gives the same case, so a database grows by filling the next range.
    """
    now = now or datetime.now(UTC)
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for start in range(first, last, BATCH):
            rng = random.Random(start)
            rows = [case_rows(i, rng, definition_id, now) for i in range(start + 1, min(start + BATCH, last) + 1)]
            for table, columns in COLUMNS.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row[table])
        connection.commit()
        for table in ("process_instances", "timers"):  # cases started later get the next numbers
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {max(last, 1)})")
        connection.commit()
        # Planner statistics for the new rows, committed: the pool's connection proxy does not pass an
        # ``autocommit`` attribute on to psycopg, and an ANALYZE rolled back with its transaction leaves
        # no statistics (runs before 2026-12-06 measured plans made without any).
        cursor.execute("ANALYZE")
        connection.commit()
        if last > first:  # an empty table gets no statistics (bench/memory.py's size 0 adds no rows)
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'human_tasks'")
            assert cursor.fetchone()[0], "ANALYZE left no statistics for human_tasks"
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(client, headers: dict, path: str, requests: int) -> tuple[float, float]:  # noqa: ANN001
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    return statistics.median(timings), percentile(timings, 0.95)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def ui_client(app, username: str):  # noqa: ANN001, ANN201
    """A test client signed in to the web UI through the login form (with its CSRF token)."""
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": "bench-password", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@contextmanager
def captured_statements(db: Database):  # noqa: ANN201
    """The SQL statements (with parameters) run on ``db`` inside the block that read human_tasks, and the
    SET LOCAL planner settings they run under."""
    seen: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        verb = statement.lstrip().upper()
        if verb.startswith("SET LOCAL") or ("human_tasks" in statement and verb.startswith("SELECT")):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def explain(db: Database, client, headers: dict, path: str) -> list[str]:  # noqa: ANN001
    """EXPLAIN ANALYZE of each statement over human_tasks that one request runs."""
    with captured_statements(db) as statements:
        client.get(path, headers=headers)
    plans = []
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SET"):
                cursor.execute(statement, parameters)  # in this transaction, as in the request's
                continue
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        connection.rollback()
    finally:
        connection.close()
    return plans


def load_average() -> str:
    return " / ".join(f"{n:.2f}" for n in os.getloadavg())


def render(sizes: list[int], results: dict, requests: int, loads: dict[int, str]) -> str:
    head = " | ".join(f"{size:,} p50 | {size:,} p95" for size in sizes)
    align = "|".join("---:|---:" for _ in sizes)
    lines = [f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL on the same machine.",
             f"One database grown to {', '.join(f'{s:,}' for s in sizes)} open cases; {requests} requests per "
             "cell through the Flask app in process, milliseconds. 1-minute / 5 / 15 load average before each "
             "size: " + "; ".join(f"{s:,}: {loads[s]}" for s in sizes) + ".", "",
             f"| user | inbox request (API: page and total in one call) | {head} |", f"|---|---|{align}|"]
    for user, label, _ in API_REQUESTS:
        cells = " | ".join(f"{results[(label, user, s)][0]:.1f} | {results[(label, user, s)][1]:.1f}" for s in sizes)
        lines.append(f"| {user} | {label} | {cells} |")
    lines += ["", f"| user | UI page (HTML, with the counts per scope) | {head} |", f"|---|---|{align}|"]
    for user, label, _ in UI_REQUESTS:
        cells = " | ".join(f"{results[(label, user, s)][0]:.1f} | {results[(label, user, s)][1]:.1f}" for s in sizes)
        lines.append(f"| {user} | {label} | {cells} |")
    return "\n".join(lines)


def open_database(keep: bool) -> tuple[str, int]:
    """(URL, open cases it holds): the last run's database with --keep (migrated to the latest schema), else a
    fresh one with the bench users."""
    if keep:
        admin = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        url = admin.rsplit("/", 1)[0] + f"/{DATABASE}"
        db = Database(url)
        upgrade(db)  # indexes added since the last run (the trigram indexes of 0009 take a minute at 1M)
        with db.engine.connect() as connection:
            filled = connection.exec_driver_sql("SELECT count(*) FROM process_instances").scalar()
        db.dispose()
        return url, filled
    url = prepare_database("postgres", DATABASE)
    from engine.users import create_user

    db = Database(url)
    with db.write() as session:
        create_user(session, "supervisor", "bench-password", ["supervisor"])
    db.dispose()
    return url, 0


def deployed_definition(engine) -> int:  # noqa: ANN001
    with engine.db.read() as session:
        found = session.query(ProcessDefinition.id).filter_by(process_id="complaint_intake").scalar()
    if found is None:
        engine.deploy_directory("bench")
        return deployed_definition(engine)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="10000,100000,1000000", help="comma-separated sizes, growing")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each request's queries")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--keep", action="store_true", help="reuse the database of the last run and grow it")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.open.split(","))
    url, filled = open_database(args.keep)
    app = create_app(Settings(database_url=url))
    engine = state(app).engine
    definition_id = deployed_definition(engine)
    sizes = [size for size in sizes if size >= filled]
    client = app.test_client()
    token = {u: client.post("/api/v1/auth/token", json={"username": u, "password": "bench-password"}).get_json()
             ["token"] for u in ("dispatcher", "network", "supervisor")}
    clients = {user: ui_client(app, user) for user in ("dispatcher", "supervisor")}
    results: dict[tuple[str, str, int], tuple[float, float]] = {}
    loads: dict[int, str] = {}
    for size in sizes:
        started = time.perf_counter()
        fill(engine.db, definition_id, filled, size)
        print(f"filled {size - filled} open cases (now {size}) in {time.perf_counter() - started:.1f} s", flush=True)
        filled = size
        loads[size] = load_average()
        runs = [(client, {"Authorization": f"Bearer {token[u]}"}, u, label, path) for u, label, path in API_REQUESTS]
        runs += [(clients[u], {}, u, label, path) for u, label, path in UI_REQUESTS]
        for http, headers, user, label, path in runs:
            if args.explain:
                for plan in explain(engine.db, http, headers, path):
                    print(f"--- {size:,} {user} {label}\n{plan}", flush=True)
            results[(label, user, size)] = measure(http, headers, path, args.requests)
            print(f"{size:,} {user} {label}: p50 {results[(label, user, size)][0]:.1f} ms, "
                  f"p95 {results[(label, user, size)][1]:.1f} ms", flush=True)
    table = render(sizes, results, args.requests, loads)
    print(table)
    if args.record:
        from bench.throughput import record

        record(table, "inbox")


if __name__ == "__main__":
    main()
