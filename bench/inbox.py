"""Inbox latency with many open cases in PostgreSQL: first page and count, p50 and p95, API and UI page.

    .venv/bin/python bench/inbox.py [--open 100000] [--requests 200] [--record]

Open cases are bulk-inserted rows (a process instance and its open task each), spread over
roles, cities, categories, tiers and deadlines like a carrier's queues; the workflow state
is not needed to list tasks. Requests go through the Flask app in process (server time
only: routing, auth, query, JSON), for GET /api/v1/tasks as a dispatcher, a department
handler and a supervisor (who sees every queue), and for the web UI's inbox page (GET /inbox and the
table alone, GET /inbox/rows, rendered HTML with each task's time left) as a dispatcher and a
supervisor signed in through POST /login. Each case also gets its SLA clock row (case_clocks), as
every saved case has. Uses the database complaintflow_bench.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.throughput import machine, prepare_database  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import CaseClock, HumanTask, ProcessDefinition, ProcessInstance  # noqa: E402
from webapp import create_app, state  # noqa: E402

ROLES = ["dispatcher"] * 3 + ["dept:network"] * 3 + ["dept:billing", "dept:broadband", "dept:channel",
                                                      "escalation", "intake"]
CITIES = ["北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "重庆"]
CATEGORIES = ["mobile_data", "mobile_voice", "billing", "broadband_repair", "network_coverage", "service"]


def fill(db: Database, definition_id: int, count: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    batch = 5000
    with db.engine.begin() as connection:
        for offset in range(0, count, batch):
            instances, tasks, clocks = [], [], []
            for i in range(offset, min(offset + batch, count)):
                number = f"TS{i:014d}"
                city, category = rng.choice(CITIES), rng.choice(CATEGORIES)
                tier = rng.choices(["standard", "high", "svip"], [85, 12, 3])[0]
                instances.append({"id": i + 1, "definition_id": definition_id, "business_key": number,
                                  "status": "running", "state_json": b"", "summary": {"city": city, "tier": tier},
                                  "phone": f"138{i:08d}", "category": category, "started_by": "bench",
                                  "created_at": now, "updated_at": now, "version": 1})
                tasks.append({"id": f"00000000-0000-0000-0000-{i:012d}", "instance_id": i + 1, "bpmn_id": "Task",
                              "name": "审核派发", "kind": "user", "role": rng.choice(ROLES), "assignee": None,
                              "form": None, "due_at": now + timedelta(minutes=rng.randint(-600, 4000)),
                              "priority": {"standard": 10, "high": 20, "svip": 30}[tier],
                              "created_at": now - timedelta(minutes=rng.randint(0, 4000)),
                              "complaint_number": number, "tier": tier, "category": category,
                              "business_line": "mobile", "region": "urban", "city": city,
                              "phone": f"138{i:08d}", "customer_name": "客户"})
                due, started = tasks[-1]["due_at"], tasks[-1]["created_at"]
                clocks.append({"instance_id": i + 1, "name": "closure", "policy": "closure_48h", "basis": None,
                               "started_at": started, "due_at": due,
                               "remind_at": started + (due - started) * 0.75 if due > started else due,
                               "met_at": None, "paused": False})
            connection.execute(ProcessInstance.__table__.insert(), instances)
            connection.execute(HumanTask.__table__.insert(), tasks)
            connection.execute(CaseClock.__table__.insert(), clocks)
        connection.exec_driver_sql("ANALYZE")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    url = prepare_database("postgres")
    app = create_app(Settings(database_url=url))
    engine = state(app).engine
    engine.deploy_directory("bench")
    with engine.db.read() as session:
        definition_id = session.query(ProcessDefinition.id).filter_by(process_id="complaint_intake").scalar()
    started = time.perf_counter()
    fill(engine.db, definition_id, args.open)
    print(f"filled {args.open} open cases in {time.perf_counter() - started:.1f} s")
    client = app.test_client()
    token = {u: client.post("/api/v1/auth/token", json={"username": u, "password": "bench-password"}).get_json()
             ["token"] for u in ("dispatcher", "network")}
    from engine.users import create_user

    with engine.db.write() as session:
        create_user(session, "supervisor", "bench-password", ["supervisor"])
    token["supervisor"] = client.post("/api/v1/auth/token", json={"username": "supervisor",
                                                                  "password": "bench-password"}).get_json()["token"]
    cases = [("dispatcher", "first page, by due", "/api/v1/tasks?page_size=50"),
             ("dispatcher", "overdue, by priority", "/api/v1/tasks?overdue=true&sort=priority&page_size=50"),
             ("network", "city + category filter", "/api/v1/tasks?city=%E5%8C%97%E4%BA%AC&category=billing"),
             ("network", "text search on phone", "/api/v1/tasks?q=1380000123"),
             ("supervisor", "every queue, by due", "/api/v1/tasks?page_size=50")]
    lines = [f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL on the same machine.",
             f"{args.open} open cases; {args.requests} requests per row through the Flask app in process "
             "(page and total count in one call).", "",
             "| user | inbox request | p50 ms | p95 ms |", "|---|---|---:|---:|"]
    for user, label, path in cases:
        p50, p95 = measure(client, {"Authorization": f"Bearer {token[user]}"}, path, args.requests)
        lines.append(f"| {user} | {label} | {p50:.1f} | {p95:.1f} |")
    lines += ["", "| user | UI page (HTML) | p50 ms | p95 ms |", "|---|---|---:|---:|"]
    pages = [("dispatcher", "GET /inbox (whole page)", "/inbox"),
             ("dispatcher", "GET /inbox/rows (table, htmx refresh)", "/inbox/rows"),
             ("dispatcher", "GET /inbox?overdue=true&sort=priority", "/inbox?overdue=true&sort=priority"),
             ("supervisor", "GET /inbox (whole page, every queue)", "/inbox"),
             ("supervisor", "GET /inbox/rows (table, htmx refresh)", "/inbox/rows")]
    clients = {user: ui_client(app, user) for user in ("dispatcher", "supervisor")}
    for user, label, path in pages:
        p50, p95 = measure(clients[user], {}, path, args.requests)
        lines.append(f"| {user} | {label} | {p50:.1f} | {p95:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        from bench.throughput import record

        record(table, "inbox")


if __name__ == "__main__":
    main()
