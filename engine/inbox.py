"""The web inbox: the tasks a user works, in four scopes, with counts.

- ``inbox`` (the default view): the user's own tasks plus nobody's tasks in the user's roles;
- ``mine``: tasks assigned to the user;
- ``unclaimed``: nobody's tasks in the user's roles (every queue for a supervisor);
- ``all``: everything the user may see, also colleagues' claimed tasks (as ``GET /api/v1/tasks``).

Filters and sort orders are those of ``ComplaintEngine.list_tasks`` (``TaskFilters``);
the results have the same shape. ``tests/test_inbox.py`` checks that the ``all``
scope answers exactly as ``list_tasks`` does.
"""
from __future__ import annotations

from . import task_queries
from .service import ComplaintEngine
from .task_queries import SCOPES, TaskFilters  # noqa: F401  (SCOPES: the UI reads it from here)
from .viewer import Viewer


def page(engine: ComplaintEngine, viewer: Viewer, filters: TaskFilters, scope: str = "all") -> dict:
    """One page of the scope's tasks: ``{items, total, total_exact, total_estimated}``, items shaped as
    ``list_tasks`` gives them; the count has ``COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS`` (see ``task_queries.page``)."""
    return task_queries.page(engine.db, viewer, filters, scope, engine.settings.inbox_count_budget_ms)


def counts(engine: ComplaintEngine, viewer: Viewer) -> dict:
    """How many tasks each scope holds for the viewer, capped as the web inbox shows them (see ``scope_counts``)."""
    return task_queries.scope_counts(engine.db, viewer)
