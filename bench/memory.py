"""Process memory with many open cases in PostgreSQL: does a process's RSS grow with the open cases?

    .venv/bin/python bench/memory.py [--open 0,100000,1000000] [--requests 300] [--worker-seconds 30] [--record]

For each size the database complaintflow_bench_memory is grown to that many open cases (bench/inbox.py's
fill: a process instance, its open task, SLA clock and waiting reminder timer each), then the real
processes start: `complaintflow serve --workers 2` (gunicorn: a master and two workers, each worker with its
timer scheduler) and `complaintflow worker`. Memory (VmRSS, and VmHWM, the peak) of each process is read
from /proc once they answer, and again after the load: 20 complaints started over HTTP (their timers then
made due, so the schedulers fire them), a few hundred inbox requests (API and web page, dispatcher and
supervisor), the case page of each started complaint (API and web), a report call, and the worker's loop
running --worker-seconds. Nothing per case should stay in memory, so the figures should not grow with
the open cases.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import deployed_definition, fill, load_average  # noqa: E402
from bench.throughput import Client, complaint, free_port, machine, prepare_database  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.service import ComplaintEngine  # noqa: E402
from engine.users import create_user  # noqa: E402

DATABASE = "complaintflow_bench_memory"
STARTED_CASES = 20
# Cases started over HTTP get ids from here on, clear of the bulk-filled ids the next size adds.
STARTED_IDS_FROM = 1_500_000_000


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return sorted(found)


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from complaintflow.cli import main; main()", *args], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(port: int, server: subprocess.Popen) -> None:
    import http.client

    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError("server exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def processes(server: subprocess.Popen, worker: subprocess.Popen) -> dict[str, int]:
    workers = children(server.pid)
    named = {"gunicorn master": server.pid}
    named.update({f"gunicorn worker {n + 1}": pid for n, pid in enumerate(workers)})
    named["complaintflow worker"] = worker.pid
    return named


def make_timers_due(url: str) -> int:
    db = Database(url)
    with db.engine.begin() as connection:
        made = connection.exec_driver_sql(
            "UPDATE timers SET due_at = now() - interval '1 minute' "
            f"WHERE instance_id >= {STARTED_IDS_FROM} AND due_at > now()").rowcount
    db.dispose()
    return made


def drive(port: int, url: str, requests: int, worker_seconds: float) -> dict:
    """The load: complaints started, their timers made due, inbox, case pages, a report, the worker's loop."""
    client = Client(port)
    client.login()
    for username in ("supervisor",):
        status, body = client.call("POST", "/api/v1/auth/token", {"username": username, "password": "bench-password"})
        client.token[username] = body["token"]
    numbers = []
    for _ in range(STARTED_CASES):
        status, body = client.call("POST", "/api/v1/complaints", complaint(), user="intake")
        assert status == 201, body
        numbers.append(body["number"])
    due = make_timers_due(url)
    inbox = ["/api/v1/tasks?page_size=50", "/api/v1/tasks?overdue=true&sort=priority",
             "/api/v1/tasks?page_size=50&page=3", "/api/v1/tasks?q=13800000123"]
    for n in range(requests):
        status, body = client.call("GET", inbox[n % len(inbox)], user=("dispatcher", "supervisor")[n % 2])
        assert status == 200, body
    for number in numbers:
        status, body = client.call("GET", f"/api/v1/complaints/{number}", user="supervisor")
        assert status == 200, body
    status, body = client.call("GET", "/api/v1/reports/service-quality", user="supervisor")
    assert status == 200, body
    pages = ui_pages(port, numbers, requests // 4)
    time.sleep(worker_seconds)
    return {"timers made due": due, "web pages": pages}


def ui_pages(port: int, numbers: list[str], count: int) -> int:
    """The web inbox (whole page and table) and each case page, signed in as the supervisor."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{port}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', opener.open(f"{base}/login").read().decode()).group(1)
    form = urllib.parse.urlencode({"username": "supervisor", "password": "bench-password", "csrf_token": token})
    opener.open(f"{base}/login", data=form.encode()).read()
    paths = [("/inbox", "/inbox/rows")[n % 2] for n in range(count)] + [f"/cases/{n}" for n in numbers]
    for path in paths:
        with opener.open(base + path) as response:
            assert response.status == 200, path
            response.read()
    return len(paths)


def run_size(url: str, requests: int, worker_seconds: float) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PORT": str(port), "COMPLAINTFLOW_SECRET_KEY": "bench-memory",
           "COMPLAINTFLOW_SCHEDULER_INTERVAL": "1"}
    env.pop("COMPLAINTFLOW_DEMO", None)
    server = start(["serve", "--workers", "2"], env)
    worker = start(["worker"], env)
    try:
        wait_healthy(port, server)
        time.sleep(3)  # the worker and the schedulers run their first scans
        named = processes(server, worker)
        before = {name: memory_kb(pid) for name, pid in named.items()}
        notes = drive(port, url, requests, worker_seconds)
        after = {name: memory_kb(pid) for name, pid in named.items()}
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {"before": before, "after": after, "notes": notes}


def prepare(url_holder: list) -> tuple[str, int]:
    url = prepare_database("postgres", DATABASE)
    db = Database(url)
    with db.write() as session:
        create_user(session, "supervisor", "bench-password", ["supervisor"])
    engine = ComplaintEngine(db, Settings(database_url=url))
    definition_id = deployed_definition(engine)
    db.dispose()
    return url, definition_id


def keep_started_ids_apart(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        for table in ("process_instances", "timers"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"greatest({STARTED_IDS_FROM}, (SELECT coalesce(max(id), 1) FROM {table})))")
    db.dispose()


def render(sizes: list[int], results: dict, requests: int, worker_seconds: float, loads: dict) -> str:
    names = list(results[sizes[0]]["before"])
    head = " | ".join(f"{s:,}: RSS start | {s:,}: RSS end | {s:,}: peak" for s in sizes)
    lines = [f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL on the same machine.",
             f"Open cases {', '.join(f'{s:,}' for s in sizes)}; memory in MB (VmRSS when the processes answer, "
             f"VmRSS after the load, VmHWM = peak). Load: {STARTED_CASES} complaints started, {requests} API "
             f"inbox requests, {requests // 4} web inbox pages, {STARTED_CASES} case pages each over API and "
             f"web, 1 report, {worker_seconds:g} s of the worker's loop with the started cases' timers due. "
             "1-minute / 5 / 15 load average before each size: "
             + "; ".join(f"{s:,}: {loads[s]}" for s in sizes) + ".", "",
             f"| process | {head} |", "|---|" + "|".join("---:|---:|---:" for _ in sizes) + "|"]
    for name in names:
        cells = []
        for size in sizes:
            before, after = results[size]["before"].get(name), results[size]["after"].get(name)
            cells.append(" | ".join(f"{v / 1024:.0f}" for v in (before[0], after[0], after[1]))
                         if before and after else "- | - | -")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="0,100000,1000000", help="comma-separated sizes, growing")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--worker-seconds", type=float, default=30)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.open.split(","))
    url, definition_id = prepare([])
    results, loads, filled = {}, {}, 0
    for size in sizes:
        started = time.perf_counter()
        fill(Database(url), definition_id, filled, size)
        keep_started_ids_apart(url)
        print(f"filled {size - filled} open cases (now {size}) in {time.perf_counter() - started:.1f} s", flush=True)
        filled = size
        loads[size] = load_average()
        results[size] = run_size(url, args.requests, args.worker_seconds)
        print(size, results[size], flush=True)
    table = render(sizes, results, args.requests, args.worker_seconds, loads)
    print(table)
    if args.record:
        from bench.throughput import record

        record(table, "memory")


if __name__ == "__main__":
    main()
