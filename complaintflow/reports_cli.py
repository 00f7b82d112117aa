"""`complaintflow reports ...`: maintenance of the reporting rows behind the service-quality reports."""
from __future__ import annotations

import click

from engine.config import Settings
from engine.db import Database


@click.group("reports")
def reports_group() -> None:
    """Service-quality reports."""


@reports_group.command("backfill")
@click.option("--all", "everything", is_flag=True,
              help="Rewrite the reporting row of every case, not only of cases that have none.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Cases per transaction.")
def backfill(everything: bool, batch_size: int) -> None:
    """Write the reporting rows (case_facts) of cases saved before the reports existed."""
    from engine.case_facts import backfill as fill
    from engine.service import ComplaintEngine

    settings = Settings.from_env()
    engine = ComplaintEngine(Database(settings.database_url), settings)
    try:
        count = fill(engine.db, engine.runner, everything=everything, batch_size=batch_size)
    finally:
        engine.db.dispose()
    click.echo(f"reporting rows written for {count} case(s)")
