"""JSON error answers: every error is ``{"error": {"code", "message", "fields"?}}``.

Engine errors carry their own status and code. HTTP errors raised by Flask or
Werkzeug (404, 405, 413, a body that is not JSON, ...) get the same shape on
API paths. An unexpected exception is logged with the complaint number when one
is known and answered with a bare 500: no traceback, no exception text.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import EngineError, TooManyRequests, Unauthorized

log = logging.getLogger(__name__)

JSON_PATH_PREFIXES = ("/api/", "/healthz")


def error_body(code: str, message: str, fields: dict | None = None, **extra: object) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    return response


def wants_json() -> bool:
    if request.path.startswith(JSON_PATH_PREFIXES) or request.path == "/api":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _http_code(error: HTTPException) -> str:
    return (error.name or "error").lower().replace(" ", "_").replace("-", "_")


def complaint_number_in_play() -> str | None:
    """The complaint number a failing request was about, when it can be told."""
    if not has_request_context():
        return None
    number = g.get("complaint_number")
    if number:
        return str(number)
    args = request.view_args or {}
    if args.get("number"):
        return str(args["number"])
    task_id = args.get("task_id")
    if task_id:
        try:
            from engine.models import HumanTask

            from . import state

            with state(current_app).db.read() as session:
                task = session.get(HumanTask, task_id)
                return task.complaint_number if task is not None else None
        except Exception:  # logging must not fail in its turn
            return None
    return None


def _handle_engine_error(error: EngineError) -> Response:
    if error.status >= 500:
        log.error(
            "%s on %s %s (case %s): %s",
            error.code,
            request.method,
            request.path,
            complaint_number_in_play() or "unknown",
            error.message,
        )
    response = jsonify({"error": error.to_dict()})
    response.status_code = error.status
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="complaintflow"'
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _handle_http_error(error: HTTPException) -> Response | HTTPException:
    if not wants_json():
        return error
    status = error.code or 500
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"request body too large: the limit is {limit} bytes" if limit else "request body too large"
        response = error_response(413, "payload_too_large", message)
    else:
        response = error_response(status, _http_code(error), error.description or error.name)
    for name in ("Allow", "WWW-Authenticate", "Retry-After"):
        for header, value in error.get_headers():
            if header == name:
                response.headers[name] = value
    return response


def _handle_unexpected(error: Exception) -> Response | HTTPException:
    log.exception(
        "unexpected error on %s %s (case %s)",
        request.method,
        request.path,
        complaint_number_in_play() or "unknown",
    )
    if not wants_json():
        return InternalServerError()
    return error_response(500, "internal_error", "internal error; it has been logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(EngineError, _handle_engine_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
