"""Error pages for people: the same statuses as the API, as calm HTML pages in the user's language.

Errors raised in the UI's views (engine errors, aborts) render ``error.html``; a
CSRF failure (an expired or forged form) gets a page that says to reload. API
paths keep their JSON errors (webapp.errors).
"""
from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import DatabaseFault, EngineError, ScriptFailed

from .. import errors as api_errors
from ..db_faults import database_fault_response
from . import ui


def _texts(status: int) -> tuple[str, str]:
    if status == 400:
        return _("Request not understood"), _("The request could not be read. Go back and try again.")
    if status == 401:
        return _("Please sign in"), _("Your session has ended. Sign in again to go on.")
    if status == 403:
        return _("Not yours to open"), _(
            "This belongs to a role you do not hold, for example another department's task. "
            "Ask your supervisor if you need it.")
    if status == 404:
        return _("Not found"), _("There is no such page, task or case. It may have been completed or removed.")
    if status == 409:
        return _("Already changed"), _(
            "Someone else changed this in the meantime (or it is already done). Reload to see where it stands.")
    if status == 413:
        return _("Too large"), _("What you sent is too large.")
    if status == 422:
        return _("Please check the input"), _("Some fields need your attention.")
    return _("Something went wrong"), _("The error has been logged. Try again in a moment.")


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    title, message = _texts(status)
    return render_template("error.html", status=status, title=title, message=message, detail=detail), status


@ui.app_errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> Response | tuple[str, int]:
    if api_errors.wants_json():
        return api_errors.error_response(400, "csrf_failed", error.description or "CSRF check failed")
    return render_template("error.html", status=400, title=_("This form has expired"),
                           message=_("The page was open too long or came from elsewhere. "
                                     "Reload the page and send it again."), detail=None), 400


def _engine_error(error: EngineError) -> tuple[str, int]:
    if isinstance(error, ScriptFailed):  # the model's fault, not the input's: name what the owner must fix
        return render_template("error.html", status=error.status, title=_("The process could not go on"),
                               message=_("A script of the process model was stopped and nothing was saved. "
                                         "Tell the process owner what it says below."),
                               detail=error.message), error.status
    if error.status >= 500:
        api_errors.log.error("%s on %s %s: %s", error.code, request.method, request.path, error.message)
    return error_page(error.status)


def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    status = error.code or 500
    if status in (301, 302, 303, 307, 308):
        return error
    return error_page(status)


@ui.app_errorhandler(404)
def _not_found(error: HTTPException) -> Response | tuple[str, int]:
    if api_errors.wants_json():
        return api_errors._handle_http_error(error)  # type: ignore[return-value]
    return error_page(404)


# A failing database gets webapp.db_faults' plain page: this blueprint's EngineError page reads the database.
ui.register_error_handler(DatabaseFault, database_fault_response)
ui.register_error_handler(EngineError, _engine_error)
ui.register_error_handler(HTTPException, _http_error)
