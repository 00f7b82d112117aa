"""Complaints started and tasks completed per second, through the HTTP API, on SQLite and PostgreSQL,
beside the same process run by SpiffWorkflow alone in one process.

    .venv/bin/python bench/throughput.py [--cases 300] [--clients 4] [--databases sqlite,postgres] [--record]

The server is `complaintflow serve` in its own process; the clients are threads in this one, each
with a keep-alive connection. PostgreSQL uses the database `complaintflow_bench` (created if missing)
on BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres). --record writes the
table into docs/PERFORMANCE.md.
"""
from __future__ import annotations

import argparse
import http.client
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
    "phone": "13800138000", "customer_name": "压测用户", "star_level": 3, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "基准测试", "request": "无",
}
USERS = {"intake": "intake", "dispatcher": "dispatcher", "network": "dept:network"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(kind: str) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='cf-bench-')}/bench.db"
    else:
        import psycopg

        admin = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS complaintflow_bench")
            conn.execute("CREATE DATABASE complaintflow_bench")
        url = admin.rsplit("/", 1)[0] + "/complaintflow_bench"
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
        conn = self._conn()
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        payload = response.read()
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
        [sys.executable, "-c", "from complaintflow.cli import main; main()", "serve", "--port", str(port)],
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
    url = prepare_database(kind)
    server, port = start_server(url)
    try:
        client = Client(port)
        client.login()
        deploy = subprocess.run(
            [sys.executable, "-c", "from complaintflow.cli import main; main()", "deploy"],
            env={**os.environ, "DATABASE_URL": url}, cwd=ROOT, capture_output=True, text=True, check=True)
        assert "complaint_intake" in deploy.stdout, deploy.stdout
        starts = timed(clients, list(range(cases)),
                       lambda _: client.call("POST", "/api/v1/complaints", COMPLAINT, "intake")[0])
        completions = []
        for user, data in (("dispatcher", {"department": "network", "dispatch_note": "bench"}),
                           ("network", {"resolution": "done", "resolved": True})):
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
    """The same diagram and restricted scripts, run by SpiffWorkflow in memory: no HTTP, no database."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from engine.calendar import WorkCalendar
    from engine.holidays import chinesecalendar_days
    from engine.scripting import RestrictedScriptEngine, ScriptContext

    exceptions = {day: kind for year in (2025, 2026) for day, kind, _ in chinesecalendar_days(year)}
    calendar = WorkCalendar(exceptions, {2025, 2026})
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(ROOT / "processes" / "complaint_intake.bpmn"))
    spec = parser.get_spec("complaint_intake")
    engine = RestrictedScriptEngine(ScriptContext(now=lambda: datetime.now(UTC), calendar=lambda: calendar,
                                                 sla_lookup=lambda policy: {}))
    workflows = []
    started = time.perf_counter()
    for _ in range(cases):
        workflow = BpmnWorkflow(spec, script_engine=engine)
        workflow.task_tree.data.update(COMPLAINT)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(COMPLAINT)
        workflow.do_engine_steps()
        workflows.append(workflow)
    starts = cases / (time.perf_counter() - started)
    started = time.perf_counter()
    done = 0
    for form in ({"department": "network", "dispatch_note": "bench"}, {"resolution": "done", "resolved": True}):
        for workflow in workflows:
            task = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual][0]
            task.set_data(**form)
            task.run()
            workflow.do_engine_steps()
            done += 1
    return {"starts": starts, "completions": done / (time.perf_counter() - started)}


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


def render(results: dict, cases: int, clients: int) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}.",
        f"{cases} complaints (`processes/complaint_intake.bpmn`), {clients} client threads, "
        "keep-alive HTTP to `complaintflow serve` on 127.0.0.1; each completion is one of the two user tasks.",
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
    for kind in args.databases.split(","):
        results[f"HTTP API, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"] = bench_http(kind, args.cases,
                                                                                          args.clients)
    results["SpiffWorkflow alone, in memory, 1 thread"] = bench_spiff_alone(args.cases)
    table = render(results, args.cases, args.clients)
    print(table)
    if args.record:
        record(table)


if __name__ == "__main__":
    main()
