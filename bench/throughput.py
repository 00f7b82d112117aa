"""Complaints started and tasks completed per second, through the HTTP API, on SQLite and PostgreSQL,
beside the same process run by SpiffWorkflow alone in one process.

    .venv/bin/python bench/throughput.py [--cases 300] [--clients 4] [--databases sqlite,postgres] [--record]

The server is `complaintflow serve --workers 1` (one gunicorn worker; bench/lifecycle.py compares worker
counts) in its own process; the clients are threads in this one, each with a keep-alive connection.
Completions are the first two user tasks of `processes/`: first contact (intake, not solved) and the
dispatcher's audit. PostgreSQL uses the database `complaintflow_bench_perf` (dropped and created)
on BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres). --record writes the
table into docs/PERFORMANCE.md.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import holidays  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.users import create_user  # noqa: E402

COMPLAINT = {
    "customer_name": "压测用户", "star_level": 3, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "基准测试", "request": "无",
}
USERS = {"intake": "intake", "dispatcher": "dispatcher", "network": "dept:network"}
# (user, form data) of the two tasks completed, in order.
COMPLETIONS = (("intake", {"first_contact_solved": False}),
               ("dispatcher", {"departments": ["network"], "dispatch_note": "bench"}))
_phones = itertools.count(1)
# This benchmark's own PostgreSQL database, so that its runs never clash with other benchmarks'.
BENCH_DB = "complaintflow_bench_perf"


def complaint() -> dict:
    """A new phone number each time: the same number twice within 30 days is a repeat (an upgrade)."""
    return {**COMPLAINT, "phone": f"138{next(_phones):08d}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(kind: str, name: str = "complaintflow_bench") -> str:
    """A fresh database for a run: a temporary SQLite file, or PostgreSQL database ``name`` dropped and created."""
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='cf-bench-')}/bench.db"
    else:
        import psycopg

        admin = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    upgrade(db)
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
        for username, role in USERS.items():
            create_user(session, username, "bench-password", [role])
    db.dispose()
    return url


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()
        self.token: dict[str, str] = {}

    def _conn(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.local.conn

    def call(self, method: str, path: str, body: dict | None = None, user: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = f"Bearer {self.token[user]}"
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected):
                # gunicorn closes a keep-alive connection idle for 5 s: reconnect once.
                conn.close()
                del self.local.conn
                if attempt:
                    raise
        return response.status, json.loads(payload) if payload else {}

    def login(self) -> None:
        for username in USERS:
            status, body = self.call("POST", "/api/v1/auth/token",
                                     {"username": username, "password": "bench-password"})
            assert status == 200, body
            self.token[username] = body["token"]


def start_server(url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "COMPLAINTFLOW_SCHEDULER_INTERVAL": "3600"}
    env.pop("COMPLAINTFLOW_DEMO", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from complaintflow.cli import main; main()", "serve", "--port", str(port),
         "--workers", "1"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def timed(clients: int, items: list, work) -> float:  # noqa: ANN001
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for result in pool.map(work, items):
            assert result in (200, 201), result
    return len(items) / (time.perf_counter() - started)


def bench_http(kind: str, cases: int, clients: int) -> dict:
    url = prepare_database(kind, BENCH_DB)
    server, port = start_server(url)
    try:
        client = Client(port)
        client.login()
        deploy = subprocess.run(
            [sys.executable, "-c", "from complaintflow.cli import main; main()", "deploy"],
            env={**os.environ, "DATABASE_URL": url}, cwd=ROOT, capture_output=True, text=True, check=True)
        assert "complaint_intake" in deploy.stdout, deploy.stdout
        starts = timed(clients, [complaint() for _ in range(cases)],
                       lambda body: client.call("POST", "/api/v1/complaints", body, "intake")[0])
        completions = []
        for user, data in COMPLETIONS:
            ids = []
            while True:
                status, page = client.call("GET", f"/api/v1/tasks?page_size=200&page={len(ids) // 200 + 1}",
                                           None, user)
                ids += [t["id"] for t in page["items"]]
                if not page["items"] or len(ids) >= page["total"]:
                    break
            assert len(ids) == cases, (user, len(ids))
            completions.append(timed(clients, ids, lambda task_id, u=user, d=data: client.call(
                "POST", f"/api/v1/tasks/{task_id}/complete", {"data": d}, u)[0]))
        return {"starts": starts, "completions": sum(completions) / len(completions)}
    finally:
        server.terminate()
        server.wait(10)


def bench_spiff_alone(cases: int) -> dict:
    """The same models and restricted scripts, run by SpiffWorkflow in memory: no HTTP, no database."""
    from bench.lifecycle import STEPS, spiff_complete, spiff_models, spiff_start

    spec, subprocess_specs, engine = spiff_models()
    started = time.perf_counter()
    workflows = [spiff_start(spec, subprocess_specs, engine, n) for n in range(cases)]
    starts = cases / (time.perf_counter() - started)
    started = time.perf_counter()
    for _, bpmn_id, form in STEPS[:len(COMPLETIONS)]:
        for workflow in workflows:
            spiff_complete(workflow, bpmn_id, form)
    return {"starts": starts, "completions": cases * len(COMPLETIONS) / (time.perf_counter() - started)}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def render(results: dict, cases: int, clients: int, load: str = "") -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}" + (f"; load average at the start {load}." if load
                                                                   else "."),
        f"{cases} complaints (`processes/complaint_intake.bpmn`), {clients} client threads, "
        "keep-alive HTTP to `complaintflow serve --workers 1` (gunicorn) on 127.0.0.1; each completion is one of "
        "the first two user tasks (first contact, audit and dispatch).",
        "",
        "| run | complaints started / s | task completions / s |",
        "|---|---:|---:|",
    ]
    for name, figures in results.items():
        lines.append(f"| {name} | {figures['starts']:.1f} | {figures['completions']:.1f} |")
    return "\n".join(lines)


def record(table: str, section: str = "throughput") -> None:
    """Replace the table between the section's markers in docs/PERFORMANCE.md."""
    path = ROOT / "docs" / "PERFORMANCE.md"
    text = path.read_text()
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{table}\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    results = {}
    load = " / ".join(f"{n:.2f}" for n in os.getloadavg())
    for kind in args.databases.split(","):
        results[f"HTTP API, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"] = bench_http(kind, args.cases,
                                                                                          args.clients)
    results["SpiffWorkflow alone, in memory, 1 thread"] = bench_spiff_alone(args.cases)
    table = render(results, args.cases, args.clients, load)
    print(table)
    if args.record:
        record(table)


if __name__ == "__main__":
    main()
