"""Service-quality reports over many cases in PostgreSQL: each report's p50 and p95.

    .venv/bin/python bench/reports.py [--cases 1000000] [--runs 7] [--keep] [--record]

Fills ``case_facts`` (and the process_instances rows it points at) with
``--cases`` reporting rows by bulk SQL (INSERT … SELECT over generate_series; not through the
engine): a year of complaints from 2025-04-01 spread over tiers, cities, categories, regions and
departments, about 30% solved at first contact, late and open clocks, callbacks, upgrades,
repeats and 1% appeals. Then runs each report ``--runs`` times through the Flask app in process
(GET /api/v1/reports/..., server time: routing, auth, the queries, JSON) and prints p50 and p95.

The database is COMPLAINTFLOW_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_bench); it is dropped and created
afresh unless ``--keep`` is given and it already holds the rows.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.throughput import machine, record  # noqa: E402
from engine import users  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import User  # noqa: E402
from webapp import create_app, state  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/complaintflow_bench"
CITIES = ["北京", "上海", "广州", "深圳", "成都", "武汉", "西安", "南京", "杭州", "重庆"]
CATEGORIES = ["mobile_data", "mobile_voice", "billing", "broadband_repair", "network_coverage", "service",
              "broadband_install", "product_rules", "porting", "onboarding", "cancellation", "broadband_network"]
DEPARTMENTS = ["network", "billing", "broadband", "channel", "enterprise"]
ISSUES = CATEGORIES + ["quality", "refund", "contract", "roaming"]
REQUESTS = [
    ("whole year, by month", "/api/v1/reports/service-quality?from=2025-04-01&to=2026-03-31&period=month"),
    ("whole year, by week, split by department",
     "/api/v1/reports/service-quality?from=2025-04-01&to=2026-03-31&period=week&split=department"),
    ("one month, by day, split by city", "/api/v1/reports/service-quality?from=2026-03-01&to=2026-03-31&split=city"),
    ("standards, whole year", "/api/v1/reports/standards?from=2025-04-01&to=2026-03-31&period=month"),
    ("appeals, monthly", "/api/v1/reports/appeals/monthly?month=2026-03"),
    ("drill-down, first page", "/api/v1/reports/cases?figure=closure&part=missed&from=2025-04-01&to=2026-03-31"),
]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v + "'" for v in values) + "]"


def fill_sql(count: int) -> list[str]:
    """Bulk statements: definitions, instances, reporting rows. Deterministic per row number."""
    received = ("(timestamptz '2025-03-31 16:00:00+00' + ((g % 365) * interval '1 day') "
                "+ (((g::bigint * 7919) % 86400) * interval '1 second'))")
    process = "(CASE WHEN g % 100 = 0 THEN 'customer_appeal' WHEN g % 50 = 1 THEN 'upgraded_complaint' " \
              "ELSE 'complaint_intake' END)"
    return [
        "INSERT INTO deployments (id, deployed_by, deployed_at, source) VALUES (1, 'bench', now(), 'bench')",
        "INSERT INTO process_definitions (id, process_id, version, name, content_hash, deployment_id, bpmn_filename, "
        "spec_json, task_meta, start_messages, deployed_by, deployed_at) VALUES "
        "(1, 'complaint_intake', 1, '', '', 1, 'x.bpmn', '{}', '{}', '[]', 'bench', now()), "
        "(2, 'upgraded_complaint', 1, '', '', 1, 'x.bpmn', '{}', '{}', '[]', 'bench', now()), "
        "(3, 'customer_appeal', 1, '', '', 1, 'x.bpmn', '{}', '{}', '[]', 'bench', now())",
        f"""INSERT INTO process_instances (id, definition_id, business_key, status, state_json, summary, phone,
                category, started_by, created_at, updated_at, version)
            SELECT g, CASE {process} WHEN 'complaint_intake' THEN 1 WHEN 'upgraded_complaint' THEN 2 ELSE 3 END,
                   'TS' || lpad(g::text, 14, '0'), CASE WHEN g % 9 = 0 THEN 'running' ELSE 'completed' END,
                   ''::bytea, '{{}}', '138' || lpad((g % 5000000)::text, 8, '0'),
                   ({_array(CATEGORIES)})[1 + g % {len(CATEGORIES)}], 'bench', {received}, {received}, 1
            FROM generate_series(1, {count}) g""",
        f"""INSERT INTO case_facts (instance_id, number, process_id, status, received_at, received_day,
                dispatched_at, callback_at, ended_at, tier, star_level, svip, city, region, category,
                business_line, channel, departments, phone, paused, closure_policy, closure_due_at, closure_met_at,
                reply_policy, reply_due_at, reply_met_at, resolve_policy, resolve_due_at,
                resolve_met_at, install_policy, install_due_at, install_met_at, repair_policy,
                repair_due_at, repair_met_at, first_contact_solved, repeat_count, upgraded_to,
                original_number, satisfaction, appeal_ticket, appeal_type, appeal_outcome,
                appeal_valid, appeal_invalid_reason, appeal_issue, appeal_repeat, accept_seconds,
                dispatch_seconds, handle_seconds, review_seconds, callback_seconds, updated_at)
            SELECT g, 'TS' || lpad(g::text, 14, '0'), p, CASE WHEN g % 9 = 0 THEN 'running' ELSE 'completed' END,
                r, (r AT TIME ZONE 'Asia/Shanghai')::date,
                CASE WHEN d THEN r + interval '40 minutes' END,
                CASE WHEN g % 9 <> 0 AND g % 4 <> 0 THEN r + interval '30 hours' END,
                CASE WHEN g % 9 <> 0 THEN r + interval '31 hours' END,
                tier, CASE tier WHEN 'high' THEN 4 ELSE 2 END, tier = 'svip',
                ({_array(CITIES)})[1 + g % {len(CITIES)}], (ARRAY['urban', 'suburban', 'rural'])[1 + g % 3],
                cat, CASE WHEN cat LIKE 'broadband%' THEN 'broadband' ELSE 'mobile' END, '10010',
                CASE WHEN NOT d THEN NULL WHEN g % 10 = 7 THEN (ARRAY[',billing,network,', ',broadband,channel,',
                     ',channel,enterprise,', ',billing,broadband,', ',enterprise,network,'])[1 + g % 5]
                     ELSE ',' || ({_array(DEPARTMENTS)})[1 + g % 5] || ',' END,
                '138' || lpad((g % 5000000)::text, 8, '0'), g % 997 = 0,
                'closure_' || lim || 'h', r + lim * interval '1 hour',
                CASE WHEN g % 9 <> 0 THEN r + ((h * 13) % 60) * interval '1 hour' END,
                CASE WHEN cat NOT LIKE 'broadband%' THEN 'mobile_reply_2wd' END,
                CASE WHEN cat NOT LIKE 'broadband%' THEN r + interval '50 hours' END,
                CASE WHEN cat NOT LIKE 'broadband%' AND g % 9 <> 0 THEN r + ((h * 17) % 70) * interval '1 hour' END,
                CASE WHEN cat <> 'network_coverage' THEN 'non_coverage_resolve_5wd' END,
                CASE WHEN cat <> 'network_coverage' THEN r + interval '7 days' END,
                CASE WHEN cat <> 'network_coverage' AND g % 9 <> 0 THEN r + ((h * 19) % 200) * interval '1 hour' END,
                CASE WHEN cat = 'broadband_install' THEN 'broadband_install_72h' END,
                CASE WHEN cat = 'broadband_install' THEN r + interval '72 hours' END,
                CASE WHEN cat = 'broadband_install' AND g % 9 <> 0 THEN r + ((h * 23) % 90) * interval '1 hour' END,
                CASE WHEN cat = 'broadband_repair' THEN 'broadband_repair_urban_24h' END,
                CASE WHEN cat = 'broadband_repair' THEN r + interval '24 hours' END,
                CASE WHEN cat = 'broadband_repair' AND g % 9 <> 0 THEN r + ((h * 29) % 30) * interval '1 hour' END,
                CASE WHEN p = 'complaint_intake' AND g % 50 <> 3 THEN NOT d END, (g % 40 = 0)::int,
                CASE WHEN g % 50 = 3 THEN 'SJ' || lpad(g::text, 14, '0') END, NULL,
                CASE WHEN g % 9 <> 0 AND g % 4 <> 0
                     THEN (ARRAY['满意', '满意', '满意', '一般', '不满意'])[1 + g % 5] END,
                CASE WHEN p = 'customer_appeal' THEN 'GXB-' || g END,
                CASE WHEN p = 'customer_appeal' THEN 'transfer' END,
                CASE WHEN p = 'customer_appeal' AND g % 9 <> 0 THEN (ARRAY['和解', '不认可', '知晓'])[1 + g % 3] END,
                CASE WHEN p = 'customer_appeal' THEN g % 7 <> 0 END, NULL,
                CASE WHEN p = 'customer_appeal' THEN ({_array(ISSUES)})[(1 + (h * 31) % {len(ISSUES)})::int] END,
                CASE WHEN p = 'customer_appeal' THEN g % 11 = 0 END,
                (h * 37) % 3600, CASE WHEN d THEN (h * 41) % 7200 END,
                CASE WHEN d THEN (h * 43) % 172800 END, CASE WHEN d THEN (h * 47) % 36000 END,
                CASE WHEN g % 4 <> 0 THEN (h * 53) % 86400 END, now()
            FROM (SELECT g, g::bigint AS h, {received} AS r, {process} AS p,
                         (g % 10) >= 3 AS d,
                         (ARRAY['standard', 'standard', 'standard', 'standard', 'standard', 'standard', 'high',
                                'high', 'svip', 'standard'])[(1 + (g::bigint * 7) % 10)::int] AS tier,
                         ({_array(CATEGORIES)})[1 + g % {len(CATEGORIES)}] AS cat,
                         CASE WHEN (g::bigint * 7) % 10 IN (6, 7, 8) THEN 24 ELSE 48 END AS lim
                  FROM generate_series(1, {count}) g) AS s""",
        "ANALYZE",
    ]


def prepare(url: str, count: int, keep: bool) -> None:
    import psycopg

    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
    if keep and exists:
        db = Database(url)
        with db.engine.connect() as connection:
            have = connection.execute(text("SELECT count(*) FROM case_facts")).scalar()
        db.dispose()
        if have == count:
            print(f"reusing {count} rows in {name}")
            return
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    db = Database(url)
    upgrade(db)
    started = time.perf_counter()
    with db.engine.begin() as connection:
        for statement in fill_sql(count)[:-1]:
            connection.execute(text(statement))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    print(f"filled {count} cases in {time.perf_counter() - started:.0f} s")
    db.dispose()


def measure(url: str, runs: int) -> list[tuple[str, str, float, float]]:
    app = create_app(Settings(database_url=url))
    db = state(app).db
    with db.write() as session:
        if session.scalar(select(User.id).where(User.username == "bench-supervisor")) is None:  # --keep
            users.create_user(session, "bench-supervisor", "bench-password-1", ["supervisor"])
    token = users.issue_token(db, "bench-supervisor", ttl_hours=1)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    results = []
    for label, path in REQUESTS:
        assert client.get(path, headers=headers).status_code == 200, path  # warm-up
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        results.append((label, path.split("?")[0], statistics.median(timings), p95))
        print(f"{label:45s} p50 {results[-1][2]:8.1f} ms  p95 {p95:8.1f} ms", flush=True)
    db.dispose()
    return results


def render(results: list, count: int, runs: int, load: tuple[float, float]) -> str:
    # Above about one busy core of two, other work was competing with the database and the app.
    shared = ": the machine was shared" if max(load) > 1.5 else ""
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, PostgreSQL on the same machine "
             f"(1-minute load average {load[0]:.1f} before and {load[1]:.1f} after{shared}).",
             f"{count} cases' reporting rows (a year); {runs} requests per row through the Flask app in process.", "",
             "| report | call | p50 ms | p95 ms |", "|---|---|---:|---:|"]
    lines += [f"| {label} | `{path}` | {p50:.1f} | {p95:.1f} |" for label, path, p50, p95 in results]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse the database when it already holds --cases rows")
    parser.add_argument("--record", action="store_true", help="write the table into docs/PERFORMANCE.md")
    args = parser.parse_args()
    url = os.environ.get("COMPLAINTFLOW_BENCH_DATABASE_URL", DEFAULT_URL)
    prepare(url, args.cases, args.keep)
    before = os.getloadavg()[0]
    results = measure(url, args.runs)
    table = render(results, args.cases, args.runs, (before, os.getloadavg()[0]))
    print(table)
    if args.record:
        record(table, "reports")


if __name__ == "__main__":
    main()
