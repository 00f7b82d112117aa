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

from sqlalchemy import and_, func, select, true

from . import clock, task_queries
from .models import HumanTask
from .service import ComplaintEngine
from .task_queries import SCOPES, TaskFilters, scope_condition, visibility
from .viewer import Viewer


def page(engine: ComplaintEngine, viewer: Viewer, filters: TaskFilters, scope: str = "all") -> dict:
    """One page of the scope's tasks: ``{items, total}``, items shaped as ``list_tasks`` gives them."""
    return task_queries.page(engine.db, viewer, filters, scope)


def counts(engine: ComplaintEngine, viewer: Viewer) -> dict[str, int]:
    """How many tasks each scope holds for the viewer (no filters); ``<scope>_overdue``: how many are overdue."""
    now = clock.now()
    seen = and_(*visibility(viewer)) if not viewer.sees_all_queues else true()
    overdue = HumanTask.due_at < now
    scopes = {scope: and_(*scope_condition(viewer, scope)) if scope != "all" else true() for scope in SCOPES}
    columns = []
    for scope in SCOPES:
        columns += [func.count().filter(scopes[scope]), func.count().filter(and_(scopes[scope], overdue))]
    with engine.db.read() as session:
        row = session.execute(select(*columns).select_from(HumanTask).where(seen)).one()
    result: dict[str, int] = {}
    for index, scope in enumerate(SCOPES):
        result[scope] = int(row[2 * index] or 0)
        result[f"{scope}_overdue"] = int(row[2 * index + 1] or 0)
    return result
