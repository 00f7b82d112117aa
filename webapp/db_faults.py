"""How a failing database is answered: the one place that maps database faults to HTTP.

engine/db.py turns a driver error that means the database itself failed into an
``engine.errors.DatabaseFault`` (and leaves every other error alone); here each fault gets its answer:

| fault                                         | status | code                   |
|-----------------------------------------------|--------|------------------------|
| no connection, connection lost, pool exhausted | 503    | `database_unavailable` |
| read-only (SQLSTATE 25006, SQLITE_READONLY)   | 503    | `database_read_only`   |
| storage full (SQLSTATE 53100, SQLITE_FULL)    | 507    | `storage_full`         |

API paths get the usual JSON error and a Retry-After header; pages get a plain HTML page built
without the database or the signed-in user (the normal layout reads both). Each fault is logged
as one warning line with the request and the case number, no traceback: a database that is down
fails every request, and a traceback each would bury the rest of the log.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc

from engine.db import database_fault
from engine.errors import DatabaseFault, DatabaseReadOnly, DatabaseUnavailable, StorageFull

from . import errors as api_errors

log = logging.getLogger(__name__)

PAGE_TEMPLATE = "database_fault.html"


def register_database_faults(app: Flask) -> None:
    app.register_error_handler(DatabaseFault, database_fault_response)
    # Driver errors that did not pass through engine.db's read()/write() (a raw connection).
    app.register_error_handler(sa_exc.DBAPIError, _driver_error)
    app.register_error_handler(sa_exc.TimeoutError, _driver_error)


def database_fault_response(fault: DatabaseFault) -> Response:
    _log(fault)
    if api_errors.wants_json():
        response = api_errors.error_response(fault.status, fault.code, fault.message)
    else:
        response = current_app.response_class(_page(fault), status=fault.status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = str(fault.retry_after)
    return response


def _driver_error(error: Exception) -> Response:
    fault = database_fault(error)
    if fault is None:  # not the database's fault: a bug, answered as any other
        return api_errors._handle_unexpected(error)  # type: ignore[return-value]
    return database_fault_response(fault)


def _log(fault: DatabaseFault) -> None:
    if isinstance(fault, DatabaseUnavailable):
        # Looking the case up would ask the database that just failed: only what the request names.
        number = g.get("complaint_number") or (request.view_args or {}).get("number")
    else:
        number = api_errors.complaint_number_in_play()
    task_id = (request.view_args or {}).get("task_id")
    log.warning("%s on %s %s (case %s%s): %s", fault.code, request.method, request.path, number or "unknown",
                f", task {task_id}" if task_id else "", fault.detail or fault.message)


def _page(fault: DatabaseFault) -> str:
    """A page of its own, rendered from the Jinja environment directly: no context processors run."""
    if isinstance(fault, DatabaseReadOnly):
        title = _("The database is read-only")
        message = _("Changes cannot be saved at the moment (the database is in read-only mode, for example "
                    "during maintenance). Nothing was saved. Pages that only show data still work.")
    elif isinstance(fault, StorageFull):
        title = _("Storage is full")
        message = _("The database has no space left, so nothing was saved. Please tell the administrator. "
                    "Pages that only show data still work.")
    else:
        title = _("The database is not available")
        message = _("Nothing was saved. Try again in a moment: the pages work again as soon as the database "
                    "is back.")
    template = current_app.jinja_env.get_template(PAGE_TEMPLATE)
    return template.render(status=fault.status, title=title, message=message, language=str(get_locale() or "zh"),
                           back=_("Back to the inbox"), inbox=url_for("ui.inbox_page"))
