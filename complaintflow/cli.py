"""`complaintflow` command: serve, worker, db, deploy, lint, users and calendar."""
from __future__ import annotations

import logging
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

    return ComplaintEngine(Database(settings.database_url), settings)


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
    upgrade(engine.db)
    with engine.db.write() as session:
        holidays.seed_from_chinesecalendar(session)
    users = seed_demo_users(engine.db)
    result = engine.deploy_directory("demo")
    for d in result["definitions"]:
        click.echo(f"deployed {d['process_id']} v{d['version']}")
    click.echo("demo users (password 'demo'): " + ", ".join(users))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: $PORT or 5000")
def serve(host: str, port: int | None) -> None:
    """Run the web app and the timer scheduler in this process."""
    from werkzeug.serving import run_simple

    from engine.scheduler import start_scheduler
    from webapp import create_app

    settings = Settings.from_env()
    if settings.demo:
        prepare_demo(settings)
    app = create_app(settings)
    engine = app.extensions["complaintflow"]["engine"]
    scheduler = start_scheduler(engine, settings.scheduler_interval_seconds)
    try:
        run_simple(host, port or settings.port, app, threaded=True, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)


@main.command()
def worker() -> None:
    """Fire timers (no HTTP). Run as many as you like against PostgreSQL."""
    from engine.scheduler import start_scheduler

    settings = Settings.from_env()
    engine = _engine(settings)
    scheduler = start_scheduler(engine, settings.scheduler_interval_seconds)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("worker started")
    stop.wait()
    scheduler.shutdown(wait=True)


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
    """Validate BPMN/DMN files (directories: their .bpmn, .dmn and the forms/ next to them)."""
    from engine.errors import EngineError
    from engine.lint import lint_paths

    settings = Settings.from_env()
    try:
        problems = lint_paths(list(paths), settings)
    except EngineError as exc:
        _print_problems(exc)
        sys.exit(1)
    for p in problems:
        click.echo(_format_problem(p))
    if problems:
        click.echo(f"{len(problems)} problem(s)")
        sys.exit(1)
    click.echo("no problems")


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

    main.add_command(calendar_group)


_register_subcommands()
