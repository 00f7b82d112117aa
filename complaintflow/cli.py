"""`complaintflow` command: serve, worker, db, deploy, lint, users and calendar."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from engine.config import Settings
from engine.db import Database


@click.group()
def main() -> None:
    """complaintflow: BPMN workflows for customer complaints."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per scheduler tick would drown the log; our own job logs what it fires.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _engine(settings: Settings):  # noqa: ANN202
    from engine.service import ComplaintEngine

    database = Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    return ComplaintEngine(database, settings)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    from engine.migrate import upgrade

    settings = Settings.from_env()
    upgrade(Database(settings.database_url))
    click.echo(f"database at head: {settings.database_url}")


def prepare_demo(settings: Settings) -> None:
    """Demo mode: schema, holiday calendar, demo users and every process in processes/."""
    from engine import holidays
    from engine.migrate import upgrade
    from engine.users import seed_demo_users

    engine = _engine(settings)
    try:
        upgrade(engine.db)
        with engine.db.write() as session:
            holidays.seed_from_chinesecalendar(session)
        users = seed_demo_users(engine.db)
        result = engine.deploy_directory("demo")
    finally:
        # Close the connections before `serve` forks its workers: none may inherit them.
        engine.db.dispose()
    for d in result["definitions"]:
        click.echo(f"deployed {d['process_id']} v{d['version']}")
    click.echo("demo users (password 'demo'): " + ", ".join(users))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: $PORT or 5000")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="gunicorn worker processes (default: $COMPLAINTFLOW_WORKERS, else 1 on SQLite and one per "
                   "CPU on PostgreSQL); more than 1 needs COMPLAINTFLOW_SECRET_KEY, except in demo mode")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="threads per worker (default: $COMPLAINTFLOW_THREADS or 4)")
@click.option("--no-scheduler", is_flag=True,
              help="do not fire timers or send SMS here (when `complaintflow worker` hosts do)")
@click.option("--access-log", is_flag=True, help="log every request to stderr, with the worker's pid")
@click.option("--graceful-timeout", type=click.IntRange(min=1), default=10, show_default=True,
              help="seconds workers get to finish their requests after SIGTERM")
def serve(host: str, port: int | None, workers: int | None, threads: int | None, no_scheduler: bool,
          access_log: bool, graceful_timeout: int) -> None:
    """Run the web app under gunicorn: N worker processes, each with its own timer scheduler."""
    from .server import ServeError, ServeOptions, check_settings, default_workers
    from .server import serve as run_server

    settings = Settings.from_env()
    workers = workers or default_workers(settings)
    try:
        settings = check_settings(settings, workers)
    except ServeError as exc:
        raise click.UsageError(str(exc)) from None
    if settings.demo:
        prepare_demo(settings)  # once, here in the master, before any worker exists
    options = ServeOptions(host=host, port=port or settings.port, workers=workers,
                           threads=threads or settings.web_threads, scheduler=not no_scheduler,
                           access_log=access_log, graceful_timeout=graceful_timeout)
    click.echo(f"serving http://{options.host}:{options.port}/ with {workers} worker(s) x {options.threads} "
               f"thread(s){'' if options.scheduler else ', no scheduler'}")
    run_server(settings, options)


@main.command()
@click.option("--once", is_flag=True, help="fire the timers that are due and send the SMS waiting, then exit")
def worker(once: bool) -> None:
    """Fire timers and send SMS (no HTTP). Run as many as you like against PostgreSQL."""
    from engine.notifier import SmsSender, adapter_from_env
    from engine.scheduler import drain_due_timers, send_due_sms, start_scheduler

    settings = Settings.from_env()
    engine = _engine(settings)
    log = logging.getLogger("complaintflow.worker")
    sender = SmsSender(engine.db, adapter_from_env())
    if once:
        try:
            fired = drain_due_timers(engine)
            sent = send_due_sms(sender)
        finally:
            engine.db.dispose()
        click.echo(f"fired {fired} timer(s), sent {sent} SMS")
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("worker: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler = start_scheduler(engine, settings.scheduler_interval_seconds, sender)
    log.info("worker started (pid %s): timers as they fall due (looked at every %gs at least), SMS every %gs",
             os.getpid(), settings.scheduler_interval_seconds, settings.scheduler_interval_seconds)
    click.echo("worker started")
    # Wake up now and then: a signal that lands just before the thread blocks on the lock would
    # otherwise go unnoticed until something else wakes it (seen under load in CI).
    while not stop.wait(0.5):
        pass
    # Let a tick under way finish its transaction, then close the connections.
    scheduler.shutdown(wait=True)
    engine.db.dispose()
    log.info("worker stopped")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "actor", default="cli", show_default=True)
def deploy(files: tuple[Path, ...], actor: str) -> None:
    """Deploy FILES (BPMN, DMN, form JSON), or processes/ with forms/ when none are given."""
    from engine.errors import EngineError
    from engine.service import UploadedFile

    engine = _engine(Settings.from_env())
    try:
        if files:
            result = engine.deploy([UploadedFile(f.name, f.read_bytes()) for f in files], actor, "cli")
        else:
            result = engine.deploy_directory(actor)
    except EngineError as exc:
        _print_problems(exc)
        sys.exit(1)
    for d in result["definitions"]:
        click.echo(f"{d['process_id']} v{d['version']} ({'new' if d['created'] else 'unchanged'})")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def lint(paths: tuple[Path, ...]) -> None:
    """Validate BPMN/DMN files (directories: their .bpmn, .dmn and the forms/ next to them).

    Lint a whole directory to check messages across processes. One line per finding,
    `file:line: [rule] element_id: message`; exits 1 when any finding is an error.
    """
    from engine.errors import EngineError
    from engine.lint import lint_paths

    settings = Settings.from_env()
    try:
        findings = lint_paths(list(paths), settings)
    except EngineError as exc:
        _print_problems(exc)
        sys.exit(1)
    for finding in findings:
        click.echo(_format_finding(finding))
    errors = sum(1 for f in findings if f.get("severity", "error") == "error")
    warnings = len(findings) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)" if findings else "no problems")
    if errors:
        sys.exit(1)


def _format_finding(p: dict) -> str:
    """`file:line: [rule] element_id: message`; warnings say so at the start of the message."""
    where = p.get("file") or "-"
    if p.get("line"):
        where += f":{p['line']}"
    element = f" {p['element_id']}:" if p.get("element_id") else ""
    severity = "warning: " if p.get("severity") == "warning" else ""
    return f"{where}: [{p.get('rule', 'parse')}]{element} {severity}{p['message']}"


def _format_problem(p: dict) -> str:
    where = p.get("file") or "-"
    if p.get("line"):
        where += f":{p['line']}"
    element = f" [{p['element_id']}]" if p.get("element_id") else ""
    return f"{where}{element}: {p['message']}"


def _print_problems(exc) -> None:  # noqa: ANN001
    for p in getattr(exc, "problems", []) or []:
        click.echo(_format_problem(p), err=True)
    click.echo(f"error: {exc.message}", err=True)


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
def users_create(username: str, roles: tuple[str, ...], password: str, display_name: str) -> None:
    """Create a user with one or more roles."""
    from engine.users import create_user

    database = Database(Settings.from_env().database_url)
    with database.write() as session:
        create_user(session, username, password, roles, display_name)
    click.echo(f"created {username}")


def _register_subcommands() -> None:
    from .calendar_cli import calendar_group
    from .reports_cli import reports_group

    main.add_command(calendar_group)
    main.add_command(reports_group)


_register_subcommands()
