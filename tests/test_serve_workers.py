"""`complaintflow serve --workers N` (gunicorn) and `complaintflow worker`, run as real processes.

The servers run on the test's database (a SQLite file; PostgreSQL in CI's second pass) with the
system clock: cases are started with the test clock an hour in the real past, so their timers are
due for the servers' schedulers.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from complaintflow.server import ServeError, build_app, check_settings, default_workers
from engine.config import Settings
from engine.models import AuditEvent, LoginFailure, Timer
from tests.conftest import deploy_test_model
from tests.http_support import free_port, http_get

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from complaintflow.cli import main; main()"]
PID = re.compile(r"pid=<(\d+)>")


def cli_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "COMPLAINTFLOW_SCHEDULER_INTERVAL": "0.2",
           "COMPLAINTFLOW_SMS_LOG": str(tmp_path / "sms.log"), **extra}
    for name in ("COMPLAINTFLOW_DEMO", "COMPLAINTFLOW_TEST_CLOCK", "COMPLAINTFLOW_WORKERS",
                 "COMPLAINTFLOW_SECRET_KEY", "SECRET_KEY", "COMPLAINTFLOW_PROXY_HOPS"):
        if name not in extra:
            env.pop(name, None)
    return env


def wait_healthy(server: subprocess.Popen, port: int, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve exited with {server.returncode}:\n{log.read_text()}"
        try:
            if http_get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no healthy server on port {port}:\n{log.read_text()}")


def start_serve(database_url: str, tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--access-log", *args],
                                  env=cli_env(database_url, tmp_path, **env), cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    return server, port, log


def stop(server: subprocess.Popen, seconds: float = 15) -> float:
    """SIGTERM; the seconds until the process was gone (killed, and the test failed, past ``seconds``)."""
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(seconds)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise AssertionError(f"still running {seconds}s after SIGTERM") from None
    return time.monotonic() - started


def sign_in(port: int, username: str) -> str:
    """Sign in through the login form (CSRF token and session cookie); returns the Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # likely another worker
    conn.request("POST", "/login", body=urlencode({"csrf_token": token, "username": username, "password": "demo"}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    assert response.status == 302 and response.getheader("Location").endswith("/inbox"), response.status
    return response.getheader("Set-Cookie").split(";", 1)[0]


def inbox_status(port: int, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/inbox", headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def served_pids(log: Path) -> set[int]:
    return {int(p) for p in PID.findall(log.read_text())}


def timer_case(engine, clock) -> None:  # noqa: ANN001
    """A case whose timer fell due (by the real clock) a few minutes ago."""
    deploy_test_model(engine, "timer_wait.bpmn")
    clock.set(datetime.now(UTC) - timedelta(hours=1))
    engine.start("timer_wait", {"fire_at": (clock.now() + timedelta(minutes=1)).isoformat()}, "test")


def fired(db) -> int:  # noqa: ANN001
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "timer_fired"))


def timers_left(db) -> int:  # noqa: ANN001
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Timer))


@pytest.mark.slow
def test_two_workers_serve_fire_a_due_timer_once_and_stop_on_sigterm(engine, clock, db, database_url,  # noqa: ANN001
                                                                      tmp_path) -> None:
    timer_case(engine, clock)
    # Demo mode without a key: the master makes one for both workers (and prepares the demo once).
    server, port, log = start_serve(database_url, tmp_path, "--workers", "2", COMPLAINTFLOW_DEMO="1")
    try:
        wait_healthy(server, port, log)

        # Requests are spread over both worker processes (new connections until both answered).
        deadline = time.monotonic() + 30
        while len(served_pids(log)) < 2 and time.monotonic() < deadline:
            threads = [threading.Thread(target=http_get, args=(port, "/healthz")) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        workers = served_pids(log)
        assert len(workers) == 2 and server.pid not in workers, log.read_text()

        # A session (and its CSRF token) made by one worker is good on the other.
        cookie = sign_in(port, "intake")
        assert [inbox_status(port, cookie) for _ in range(12)] == [200] * 12
        assert log.read_text().count("deployed complaint_intake") == 1

        # Both schedulers look at the due timer at start-up; it fires exactly once.
        deadline = time.monotonic() + 30
        while timers_left(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert timers_left(db) == 0, log.read_text()
        time.sleep(1.0)  # several more ticks of both schedulers
        assert fired(db) == 1
        assert log.read_text().count("timer scheduler started") == 2
    finally:
        took = stop(server)
    assert took < 10, f"SIGTERM took {took:.1f}s"
    assert server.returncode == 0, log.read_text()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the master"


@pytest.mark.slow
def test_no_scheduler_leaves_timers_to_worker_hosts(engine, clock, db, database_url, tmp_path) -> None:  # noqa: ANN001
    timer_case(engine, clock)
    server, port, log = start_serve(database_url, tmp_path, "--workers", "1", "--no-scheduler")
    try:
        wait_healthy(server, port, log)
        time.sleep(1.5)  # seven scheduler intervals
        assert timers_left(db) == 1 and fired(db) == 0
        assert "timer scheduler started" not in log.read_text()
    finally:
        stop(server)


def test_serve_refuses_several_workers_without_a_shared_key(database_url, tmp_path) -> None:  # noqa: ANN001
    result = subprocess.run([*CLI, "serve", "--port", str(free_port()), "--workers", "2"],
                            env=cli_env(database_url, tmp_path), cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "COMPLAINTFLOW_SECRET_KEY" in result.stderr


# -- complaintflow worker -----------------------------------------------------------------------


def test_worker_once_fires_due_timers_and_exits(engine, clock, db, database_url, tmp_path) -> None:  # noqa: ANN001
    timer_case(engine, clock)
    result = subprocess.run([*CLI, "worker", "--once"], env=cli_env(database_url, tmp_path), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "fired 1 timer(s)" in result.stdout
    assert timers_left(db) == 0 and fired(db) == 1


def test_worker_stops_cleanly_on_sigterm(database_url, tmp_path) -> None:  # noqa: ANN001
    worker = subprocess.Popen([*CLI, "worker"], env=cli_env(database_url, tmp_path), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "worker started"
    finally:
        took = stop(worker)
    assert took < 5 and worker.returncode == 0
    assert "SIGTERM received, stopping" in worker.stderr.read()


# -- settings and the app a worker serves -------------------------------------------------------------


def test_several_workers_need_one_key_except_in_demo_mode() -> None:
    with pytest.raises(ServeError, match="COMPLAINTFLOW_SECRET_KEY"):
        check_settings(Settings(), 2)
    assert check_settings(Settings(secret_key="k"), 4).secret_key == "k"
    demo = check_settings(Settings(demo=True), 4)
    assert len(demo.secret_key) == 64  # made once, in the master, for every worker
    assert check_settings(Settings(), 1).secret_key  # one worker: a key for this run
    with pytest.raises(ServeError, match="--workers 1"):
        check_settings(Settings(secret_key="k", test_clock=True), 2)


def test_worker_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLAINTFLOW_SECRET_KEY", "from-complaintflow")
    monkeypatch.setenv("SECRET_KEY", "older-name")
    monkeypatch.setenv("COMPLAINTFLOW_WORKERS", "3")
    monkeypatch.setenv("COMPLAINTFLOW_PROXY_HOPS", "1")
    settings = Settings.from_env()
    assert (settings.secret_key, settings.web_workers, settings.proxy_hops) == ("from-complaintflow", 3, 1)
    assert default_workers(settings) == 3
    monkeypatch.delenv("COMPLAINTFLOW_WORKERS")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///complaintflow.db")
    assert default_workers(Settings.from_env()) == 1
    assert default_workers(Settings(database_url="postgresql+psycopg://h/db")) == (os.cpu_count() or 1)
    monkeypatch.setenv("COMPLAINTFLOW_PROXY_HOPS", "two")
    with pytest.raises(ValueError, match="COMPLAINTFLOW_PROXY_HOPS must be a whole number"):
        Settings.from_env()


def _failed_sign_in_from(app, forwarded_for: str) -> str:  # noqa: ANN001
    from webapp import state

    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong"},
                           headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 401
    with state(app).db.read() as session:
        return session.scalar(select(LoginFailure.client).order_by(LoginFailure.id.desc()).limit(1))


def test_proxy_hops_trust_x_forwarded_for(database_url, clock, fast_hashing) -> None:  # noqa: ANN001
    from webapp import state

    direct = build_app(Settings(database_url=database_url))
    behind = build_app(Settings(database_url=database_url, proxy_hops=1))
    try:
        # Off by default: a client cannot pick the address the sign-in rate limit counts.
        assert _failed_sign_in_from(direct, "203.0.113.7") == "10.0.0.9"
        # Behind one proxy, the address that proxy saw is the client's.
        assert _failed_sign_in_from(behind, "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    finally:
        for app in (direct, behind):
            state(app).db.dispose()
