"""Full complaint lifecycles per second: through the HTTP API with gunicorn 1, 2 and 4 workers on
PostgreSQL, beside SpiffWorkflow alone running the same models in one process.

    .venv/bin/python bench/lifecycle.py [--lifecycles 200] [--workers 1,2,4] [--clients-per-worker 3] [--record]

A lifecycle is the path of tests/scenarios/test_dispatch.py: an intake agent records a complaint and
cannot solve it at first contact, the dispatcher audits and dispatches it to the network department,
the network department handles it, the dispatcher approves the result, the intake agent replies and
calls the customer back, and the case is archived. Through HTTP each user finds the task in their inbox
(`GET /api/v1/tasks?q=<number>`) and completes it: 13 requests per lifecycle, each as the right user.

The server is `complaintflow serve --workers N` (gunicorn) on PostgreSQL; the clients are threads in
this process, each with a keep-alive connection and a stream of lifecycles of its own. The database is
`complaintflow_bench_perf` on BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres),
dropped and created afresh for each run. "SpiffWorkflow alone" runs the same BPMN, DMN and restricted
scripts in memory, one thread, with service tasks (SMS, linked cases) answered by a stub.

--record writes the table between <!-- lifecycle:begin --> and <!-- lifecycle:end --> in docs/PERFORMANCE.md.

--in-process N runs N lifecycles through the Flask test client in this process instead (no gunicorn, no
HTTP) and prints the wall time and SQL statements of each kind of request; with --cprofile FILE it also
writes a cProfile of those lifecycles (read it with `python -m pstats FILE`); with --phases it also prints
the wall time of each step of the server's operations (lock, load, engine, save and its parts) and of the
durable floor's (restore, step, store). This is how the costs in "Where the time goes" of
docs/PERFORMANCE.md are measured.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.phases import PhaseTimer  # noqa: E402
from bench.throughput import free_port, machine, record  # noqa: E402

COMPLAINT = {
    "customer_name": "压测用户", "star_level": 3, "svip": False, "channel": "10010", "business_line": "mobile",
    "category": "mobile_data", "region": "urban", "city": "北京", "description": "家里手机上网很慢，经常断线",
    "request": "尽快修复网络",
}
# (user, task element, form data): the dispatch path of tests/scenarios/test_dispatch.py.
STEPS: tuple[tuple[str, str, dict], ...] = (
    ("intake", "Task_intake_first_contact", {"first_contact_solved": False}),
    ("dispatcher", "Task_dispatch_audit", {"departments": ["network"], "dispatch_note": "请核查处理"}),
    ("network", "Task_dispatch_handle", {"handle_action": "handled", "handle_note": "已核查处理完毕",
                                         "problem_solved": True}),
    ("dispatcher", "Task_dispatch_review", {"approved": True, "review_note": "处理到位"}),
    ("intake", "Task_dispatch_reply", {"reply_content": "基站已扩容，网络恢复正常", "reply_method": "电话"}),
    ("intake", "Task_dispatch_callback", {"satisfaction": "满意", "resolved": True, "callback_note": "电话回访"}),
)
USERS = {"intake": "intake", "dispatcher": "dispatcher", "network": "dept:network"}
PASSWORD = "bench-password"
REQUESTS_PER_LIFECYCLE = 1 + 2 * len(STEPS)
# Operations reply with the case's number, status and open tasks: all a client needs for its next step.
VIEW = "summary"
ALONE_RUN = "SpiffWorkflow alone, in memory, 1 thread"
DURABLE_RUN = "SpiffWorkflow alone, state in PostgreSQL (a transaction per step), 1 thread"
# A database of this benchmark's own, so that it never clashes with other benchmarks' runs.
BENCH_DB = "complaintflow_bench_perf"

# call(method, path, body, user) -> (status, json body)
Call = Callable[[str, str, Any, str | None], tuple[int, Any]]

_phones = itertools.count(1)
_phones_lock = threading.Lock()


def complaint() -> dict:
    """A complaint from a new phone number each time: the same number twice would be a repeat (upgrade)."""
    with _phones_lock:
        n = next(_phones)
    return {**COMPLAINT, "phone": f"139{n:08d}"}


def lifecycle(call: Call) -> str:
    """One complaint from intake to archive through the API; returns its number."""
    status, case = call("POST", f"/api/v1/complaints?view={VIEW}", complaint(), "intake")
    assert status == 201, (status, case)
    number = case["number"]
    for user, bpmn_id, data in STEPS:
        status, page = call("GET", f"/api/v1/tasks?q={number}&page_size=20", None, user)
        assert status == 200, (status, page)
        found = [t["id"] for t in page["items"] if t["complaint_number"] == number and t["bpmn_id"] == bpmn_id]
        assert len(found) == 1, (number, user, bpmn_id, page)
        status, body = call("POST", f"/api/v1/tasks/{found[0]}/complete?view={VIEW}", {"data": data}, user)
        assert status == 200, (status, body)
    assert body["case"]["status"] == "completed", body["case"]["status"]
    return number


# -- the database -----------------------------------------------------------------------------------


def admin_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def bench_url() -> str:
    return admin_url().rsplit("/", 1)[0] + f"/{BENCH_DB}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url().replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(sql)


def prepare_database(url: str) -> None:
    """Schema, holidays, the three users and every process in processes/, on a fresh database."""
    from engine import holidays
    from engine.config import Settings
    from engine.db import Database
    from engine.migrate import upgrade
    from engine.service import ComplaintEngine
    from engine.users import create_user

    if url.startswith("postgresql"):
        _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        _admin(f"CREATE DATABASE {BENCH_DB}")
    db = Database(url)
    upgrade(db)
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session)  # every year the package knows
        for username, role in USERS.items():
            create_user(session, username, PASSWORD, [role])
    ComplaintEngine(db, Settings(database_url=url)).deploy_directory("bench")
    db.dispose()


def drop_database() -> None:
    _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# -- HTTP ---------------------------------------------------------------------------------------------


class HttpClient:
    """One keep-alive connection per thread; bearer tokens per user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, body: Any = None, user: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        payload = json.dumps(body) if body is not None else None
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected):
                # The server closed an idle keep-alive connection: reconnect once.
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        return response.status, json.loads(data) if data else None

    def login(self) -> None:
        for username in USERS:
            status, body = self.call("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
            assert status == 200, body
            self.tokens[username] = body["token"]


def start_server(url: str, workers: int, threads: int | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "COMPLAINTFLOW_SECRET_KEY": "bench-only-secret"}
    for name in ("COMPLAINTFLOW_DEMO", "COMPLAINTFLOW_TEST_CLOCK", "COMPLAINTFLOW_WORKERS"):
        env.pop(name, None)
    command = [sys.executable, "-c", "from complaintflow.cli import main; main()", "serve", "--port", str(port),
               "--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_clients(call: Call, lifecycles: int, clients: int) -> float:
    """Lifecycles per second with ``clients`` threads sharing the work."""
    lifecycle(call)  # warm-up: caches, connections, first parse of the specs in a worker
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: lifecycle(call), range(lifecycles)))
    return lifecycles / (time.perf_counter() - started)


def bench_http(workers: int, lifecycles: int, clients: int, threads: int | None = None) -> dict:
    url = bench_url()
    prepare_database(url)
    server, port = start_server(url, workers, threads)
    try:
        client = HttpClient(port)
        client.login()
        # Each worker warms up on its own; a few lifecycles per worker before the clock starts.
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda _: lifecycle(client.call), range(2 * workers)))
        rate = run_clients(client.call, lifecycles, clients)
    finally:
        stop_server(server)
        drop_database()
    return {"lifecycles": rate, "requests": rate * REQUESTS_PER_LIFECYCLE}


# -- SpiffWorkflow alone -------------------------------------------------------------------------------


class _StubConnectors:
    """Service tasks answered in memory: an SMS gets an outbox id, a linked case a number."""

    def __init__(self) -> None:
        self.sent = itertools.count(1)

    def call(self, name: str, params: dict) -> dict:
        if name == "sms.send":
            return {"outbox_id": next(self.sent)}
        return {"number": f"UP{next(self.sent):08d}"}


def spiff_models():  # noqa: ANN201
    """(intake spec, subprocess specs, script engine): what the server runs, built the way it builds them."""
    from engine import definitions
    from engine.calendar import WorkCalendar
    from engine.connectors import CaseScriptEngine
    from engine.holidays import chinesecalendar_days, chinesecalendar_years
    from engine.scripting import ScriptContext
    from engine.workflow_state import spec_from_json
    from engine.xmlsafe import XmlLimits

    years = chinesecalendar_years()
    exceptions = {day: kind for year in years for day, kind, _ in chinesecalendar_days(year)}
    calendar = WorkCalendar(exceptions, set(years))
    files = definitions.directory_files(ROOT / "processes", ROOT / "forms")
    models = definitions.to_model_files(files, 2 * 1024 * 1024)
    forms = {name: content for name, content in files if name.endswith(".json")}
    built = definitions.ModelBuilder(forms, XmlLimits(2 * 1024 * 1024)).build(models)
    assert not built.problems, built.problems
    spec, subprocess_specs = spec_from_json(next(p.spec_json for p in built.processes
                                                 if p.process_id == "complaint_intake"))
    engine = CaseScriptEngine(_StubConnectors(), context=ScriptContext(
        now=lambda: datetime.now(UTC), calendar=lambda: calendar, sla_lookup=lambda policy: {}))
    return spec, subprocess_specs, engine


def spiff_start(spec, subprocess_specs, engine, n: int):  # noqa: ANN001, ANN201
    """A new complaint run to its first user task, with the data the service would give it."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from engine.complaints import validate_complaint

    data = {**validate_complaint(complaint()), "complaint_number": f"TS{n:012d}", "repeat_of": [],
            "repeat_count": 0}
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    workflow.task_tree.data.update(data)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    return workflow


def spiff_complete(workflow, bpmn_id: str, form: dict) -> None:  # noqa: ANN001
    """Complete the ready task ``bpmn_id`` with ``form`` as the service does, then run the engine."""
    from SpiffWorkflow.util.task import TaskState

    task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == bpmn_id)
    variable = getattr(task.task_spec, "variable", None)
    task.set_data(**({variable: form} if variable else form))
    task.run()
    workflow.refresh_timers()
    workflow.do_engine_steps()


def spiff_alone(lifecycles: int) -> dict:
    """The same models (intake calling dispatch, the SLA DMN, restricted scripts) run by SpiffWorkflow."""
    spec, subprocess_specs, engine = spiff_models()

    def one(n: int) -> None:
        workflow = spiff_start(spec, subprocess_specs, engine, n)
        for _, bpmn_id, form in STEPS:
            spiff_complete(workflow, bpmn_id, form)
        assert workflow.completed, f"lifecycle {n} did not reach the end"

    return {"lifecycles": lifecycles_per_second(one, lifecycles), "requests": None}


def lifecycles_per_second(one: Callable[[int], None], lifecycles: int) -> float:
    """Lifecycles 1..n run by ``one``, timed after an untimed lifecycle 0 (parsed specs, caches)."""
    one(0)
    started = time.perf_counter()
    for n in range(1, lifecycles + 1):
        one(n)
    return lifecycles / (time.perf_counter() - started)


def spiff_durable(lifecycles: int, phases: PhaseTimer | None = None) -> dict:
    """SpiffWorkflow with its state in PostgreSQL: the floor of any durable engine on these models.

    Each step is one transaction on one connection (psycopg, no ORM): lock the case's row, restore the
    workflow with the server's own state format (engine.workflow_state), run the step, store the state,
    commit. Nothing else the server does is here: no HTTP, tokens, inbox look-ups, index rows, audit,
    reporting row or SLA clocks.
    """
    import psycopg

    from engine import workflow_state

    if phases is not None:
        module = sys.modules[__name__]
        phases.wrap(module, "spiff_start", "start (SpiffWorkflow)")
        phases.wrap(module, "spiff_complete", "step (SpiffWorkflow)")
        phases.wrap(workflow_state, "state_from_bytes", "restore the state")
        phases.wrap(workflow_state, "state_to_bytes", "store the state")
    state_from_bytes, state_to_bytes = workflow_state.state_from_bytes, workflow_state.state_to_bytes
    spec, subprocess_specs, engine = spiff_models()
    _admin(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _admin(f"CREATE DATABASE {BENCH_DB}")
    try:
        with psycopg.connect(bench_url().replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute("CREATE TABLE spiff_states (id integer PRIMARY KEY, state bytea NOT NULL)")
            conn.commit()

            def one(n: int) -> None:
                workflow = spiff_start(spec, subprocess_specs, engine, n)
                with conn.transaction():
                    conn.execute("INSERT INTO spiff_states VALUES (%s, %s)", (n, state_to_bytes(workflow)))
                for _, bpmn_id, form in STEPS:
                    with conn.transaction():
                        state = conn.execute("SELECT state FROM spiff_states WHERE id = %s FOR UPDATE",
                                             (n,)).fetchone()[0]
                        workflow = state_from_bytes(state, spec, subprocess_specs, engine)
                        spiff_complete(workflow, bpmn_id, form)
                        conn.execute("UPDATE spiff_states SET state = %s WHERE id = %s", (state_to_bytes(workflow), n))
                assert workflow.completed, f"lifecycle {n} did not reach the end"

            rate = lifecycles_per_second(one, lifecycles)
    finally:
        drop_database()
    return {"lifecycles": rate, "requests": None}


# -- in process, for profiling --------------------------------------------------------------------------


def request_kind(method: str, path: str) -> str:
    if path.startswith("/api/v1/complaints"):
        return "start"
    if path.startswith("/api/v1/tasks?"):
        return "inbox"
    return "complete" if method == "POST" else f"{method} {path}"


def server_phases(timer: PhaseTimer) -> None:
    """The steps of the server's operations that ``--phases`` times."""
    from engine import case_facts, instances
    from engine.service import ComplaintEngine

    for owner, name, label in (
        (ComplaintEngine, "complete", "complete (all of it)"),
        (ComplaintEngine, "_locked_task", "complete: lock the case, read its task rows"),
        (instances.CaseRunner, "load", "load"),
        (instances, "state_from_bytes", "load: restore the state"),
        (instances.CaseRunner, "run_engine", "run the engine after the step"),
        (instances.CaseRunner, "save", "save"),
        (instances, "state_to_bytes", "save: store the state"),
        (case_facts, "sync", "save: reporting row (case_facts)"),
        (instances.CaseSync, "run", "save: human_tasks, timers, message_waits"),
        (instances, "sync_clocks", "save: case_clocks"),
        (ComplaintEngine, "list_tasks", "inbox look-up"),
    ):
        timer.wrap(owner, name, label)


def in_process(lifecycles: int, profile_path: str | None = None, phases: bool = False) -> None:
    """Lifecycles through the Flask test client on PostgreSQL: wall time and SQL statements per request kind."""
    import cProfile
    from collections import defaultdict

    from sqlalchemy import event

    from engine.config import Settings
    from webapp import create_app, state

    url = bench_url()
    prepare_database(url)
    app = create_app(Settings(database_url=url, secret_key="bench-only-secret"))
    db = state(app).db
    client = app.test_client()
    statements = [0]
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
    times: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, list[int]] = defaultdict(list)
    tokens: dict[str, str] = {}

    def call(method: str, path: str, body: Any = None, user: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
        before, started = statements[0], time.perf_counter()
        response = client.open(path, method=method, json=body, headers=headers)
        kind = request_kind(method, path)
        times[kind].append(time.perf_counter() - started)
        queries[kind].append(statements[0] - before)
        return response.status_code, response.get_json()

    try:
        for username in USERS:
            status, body = call("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
            assert status == 200, body
            tokens[username] = body["token"]
        for _ in range(3):  # warm-up: parsed specs, calendar, connections
            lifecycle(call)
        times.clear()
        queries.clear()
        profiler = cProfile.Profile() if profile_path else None
        with PhaseTimer() as timer:
            if phases:
                server_phases(timer)
            started, cpu_started = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            for _ in range(lifecycles):
                lifecycle(call)
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile_path)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        db.dispose()
        drop_database()
    print(f"{lifecycles} lifecycles in process (Flask test client, PostgreSQL, 1 thread): "
          f"{lifecycles / elapsed:.1f} lifecycles/s, {1000 * elapsed / lifecycles:.1f} ms each "
          f"({1000 * cpu / lifecycles:.1f} ms CPU of this process, PostgreSQL's not counted); "
          f"{sum(map(sum, queries.values())) / lifecycles:.0f} SQL statements each")
    print("| request | count | mean ms | p50 ms | SQL statements each |")
    print("|---|---:|---:|---:|---:|")
    for kind, spans in times.items():
        spans = sorted(spans)
        print(f"| {kind} | {len(spans)} | {1000 * sum(spans) / len(spans):.2f} | {1000 * spans[len(spans) // 2]:.2f} "
              f"| {sum(queries[kind]) / len(queries[kind]):.1f} |")
    alone = spiff_alone(lifecycles)["lifecycles"]
    print(f"SpiffWorkflow alone: {alone:.1f} lifecycles/s, {1000 / alone:.1f} ms each; "
          f"in process is {alone * elapsed / lifecycles:.2f}x slower")
    if phases:
        print(timer.table(lifecycles))
    with PhaseTimer() as floor_timer:
        durable = spiff_durable(lifecycles, floor_timer if phases else None)["lifecycles"]
    print(f"SpiffWorkflow with its state in PostgreSQL: {durable:.1f} lifecycles/s, {1000 / durable:.1f} ms each "
          f"({alone / durable:.2f}x the engine alone); in process is {durable * elapsed / lifecycles:.2f}x slower")
    if phases:
        print(floor_timer.table(lifecycles + 1))  # lifecycle 0, the untimed warm-up, is in the phases too


# -- the report ------------------------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def render(results: dict[str, dict], args: argparse.Namespace, loads: dict[str, str]) -> str:
    alone = results.get(ALONE_RUN, {}).get("lifecycles")
    durable = results.get(DURABLE_RUN, {}).get("lifecycles")
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}, PostgreSQL on the same machine.",
        f"Command: `.venv/bin/python bench/lifecycle.py --lifecycles {args.lifecycles} --workers {args.workers} "
        f"--clients-per-worker {args.clients_per_worker}{' --record' if args.record else ''}`.",
        f"{args.lifecycles} lifecycles per run (start, then 6 user tasks as intake, dispatcher and the network "
        f"department; {REQUESTS_PER_LIFECYCLE} requests each, inbox look-ups included); the load average "
        "(1 / 5 / 15 min) is read just before each run.",
        "",
        "| run | lifecycles / s | requests / s | engine alone is this many times faster "
        "| the durable floor is this many times faster | load average |",
        "|---|---:|---:|---:|---:|---|",
    ]

    def times(base: float | None, figures: dict) -> str:  # "-" for the base itself and anything faster
        return f"{base / figures['lifecycles']:.2f}" if base and base > figures["lifecycles"] else "-"

    for name, figures in results.items():
        requests = f"{figures['requests']:.1f}" if figures["requests"] is not None else "-"
        lines.append(f"| {name} | {figures['lifecycles']:.1f} | {requests} | {times(alone, figures)} "
                     f"| {times(durable, figures)} | {loads[name]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4", help="gunicorn worker counts, comma-separated")
    parser.add_argument("--clients-per-worker", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (serve's default)")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="profile N lifecycles through the Flask test client instead (see above)")
    parser.add_argument("--cprofile", default=None, metavar="FILE", help="with --in-process: cProfile output")
    parser.add_argument("--phases", action="store_true", help="with --in-process: time each step of an operation")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.in_process, args.cprofile, args.phases)
        return
    results: dict[str, dict] = {}
    loads: dict[str, str] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        name = f"HTTP API, gunicorn {workers} worker{'s' if workers > 1 else ''}, PostgreSQL"
        loads[name] = load_average()
        results[name] = bench_http(workers, args.lifecycles, workers * args.clients_per_worker, args.threads)
        print(f"{name}: {results[name]['lifecycles']:.1f} lifecycles/s", flush=True)
    name = ALONE_RUN
    loads[name] = load_average()
    results[name] = spiff_alone(args.lifecycles)
    name = DURABLE_RUN
    loads[name] = load_average()
    results[name] = spiff_durable(args.lifecycles)
    table = render(results, args, loads)
    print(table)
    if args.record:
        record(table, "lifecycle")


if __name__ == "__main__":
    main()
