"""`complaintflow` command: serve, worker, db, lint, deploy, calendar."""
from __future__ import annotations

import click


@click.group()
def main() -> None:
    """complaintflow: BPMN workflows for customer complaints."""


def _register_subcommands() -> None:
    from .calendar_cli import calendar_group

    main.add_command(calendar_group)


_register_subcommands()
