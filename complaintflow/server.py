"""`complaintflow serve` under gunicorn: N worker processes, each with its own timer scheduler.

The master process only binds the port and watches its workers; it never opens the
database (demo preparation, done before, closes its connections) and never runs a
scheduler. Each worker builds the app after the fork (no preload: no connection pool or
scheduler thread crosses a fork), starts its scheduler once the app is loaded and stops
it when the worker exits. Several schedulers are safe: engine.timers fires each timer
once (SKIP LOCKED on PostgreSQL, the write lock on SQLite).
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, replace
from typing import Any

from gunicorn.app.base import BaseApplication
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.config import Settings

log = logging.getLogger(__name__)

# Access log line: who, what, status, size, time, and which worker process answered.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s'


class ServeError(ValueError):
    """A combination of options `serve` refuses to start with; the message says what to change."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    threads: int = 4
    scheduler: bool = True
    access_log: bool = False
    # Seconds a worker may take to finish its requests after SIGTERM before it is killed.
    graceful_timeout: int = 10
    # Seconds without a heartbeat before the master restarts a worker (a stuck worker).
    timeout: int = 60


def default_workers(settings: Settings) -> int:
    """COMPLAINTFLOW_WORKERS, else 1 on SQLite (one writer at a time anyway), else one per CPU."""
    if settings.web_workers:
        return settings.web_workers
    if not settings.database_url.startswith("postgresql"):
        return 1
    return max(1, os.cpu_count() or 1)


def check_settings(settings: Settings, workers: int) -> Settings:
    """Settings every worker can share, or ServeError.

    Workers must sign sessions (and CSRF tokens) with one key, or a user signed in through one
    worker is a stranger to the next. In demo mode a key is made here, once, for all of them;
    with one worker and no key the key is made here too (sessions end at each restart, as before).
    """
    if workers < 1:
        raise ServeError("--workers must be at least 1")
    if workers > 1 and settings.test_clock:
        raise ServeError("COMPLAINTFLOW_TEST_CLOCK moves the clock of one process only: "
                         "run the test clock with --workers 1")
    if settings.secret_key:
        return settings
    if workers > 1 and not settings.demo:
        raise ServeError(f"{workers} workers need one shared session key: set COMPLAINTFLOW_SECRET_KEY "
                         "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), or use --workers 1")
    if not settings.demo:
        log.warning("no COMPLAINTFLOW_SECRET_KEY: web sessions end when the server restarts")
    return replace(settings, secret_key=secrets.token_hex(32))


def build_app(settings: Settings):  # noqa: ANN201
    """The WSGI app one worker serves: the app factory on a pool sized by the settings, behind
    ProxyFix when COMPLAINTFLOW_PROXY_HOPS trusts that many proxies (so request.remote_addr, used by
    the sign-in rate limit, is the client's address and request.scheme the one the client used)."""
    from engine.db import Database
    from engine.service import ComplaintEngine
    from webapp import create_app

    database = Database(settings.database_url, pool_size=settings.db_pool_size,
                        max_overflow=settings.db_max_overflow)
    app = create_app(settings, ComplaintEngine(database, settings))
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


class ComplaintflowServer(BaseApplication):
    """gunicorn, configured from code: no config file or command line of its own is read."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.app = None
        self.scheduler = None
        super().__init__()

    def load_config(self) -> None:
        options = self.options
        config: dict[str, Any] = {
            "bind": [f"{options.host}:{options.port}"],
            "workers": options.workers,
            # Threads keep a worker busy while one request waits on the database; the heartbeat
            # runs apart from requests, so a long export does not get a worker killed.
            "worker_class": "gthread",
            "threads": options.threads,
            "timeout": options.timeout,
            "graceful_timeout": options.graceful_timeout,
            "keepalive": 5,
            "preload_app": False,
            "errorlog": "-",
            "loglevel": "info",
            "accesslog": "-" if options.access_log else None,
            "access_log_format": ACCESS_LOG_FORMAT,
            "proc_name": "complaintflow",
            # gunicorn's control socket has one default path per user: two servers on a host would share it.
            "control_socket_disable": True,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }
        for name, value in config.items():
            self.cfg.set(name, value)

    def load(self):  # noqa: ANN201
        # Runs in each worker, after the fork.
        self.app = build_app(self.settings)
        return self.app

    def _post_worker_init(self, worker) -> None:  # noqa: ANN001
        if not self.options.scheduler:
            return
        from engine.scheduler import start_scheduler

        engine = self.app.extensions["complaintflow"]["engine"]
        self.scheduler = start_scheduler(engine, self.settings.scheduler_interval_seconds)
        worker.log.info("worker %s: timer scheduler started", worker.pid)

    def _worker_exit(self, server, worker) -> None:  # noqa: ANN001
        if self.scheduler is not None:
            # No waiting for a tick under way: each timer fires in its own transaction, and one cut
            # short is rolled back and fires on the next tick of any worker.
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.app is not None:
            self.app.extensions["complaintflow"]["db"].dispose()


def serve(settings: Settings, options: ServeOptions) -> None:
    """Run until SIGTERM or SIGINT (gunicorn stops the workers gracefully, then exits)."""
    ComplaintflowServer(settings, options).run()
