"""The JSON API under /api/v1 (the minimum HTTP contract of DESIGN.md), /healthz and the test clock.

Handlers stay thin: read and check the input, call one ComplaintEngine method,
answer with its result. Engine errors become JSON errors in webapp.errors.

Who may call what:

| call | roles |
|---|---|
| POST /auth/token | anyone (user name + password) |
| GET /auth/me, DELETE /auth/token | any signed-in user |
| POST /complaints | intake, supervisor |
| GET /complaints/{number} | any signed-in user (the engine decides what they may see) |
| POST /complaints/{number}/suspend, /resume, /cancel | supervisor |
| GET /tasks, GET /tasks/{id}, POST /tasks/{id}/claim, /release, /complete | any signed-in user (*) |
| POST /tasks/{id}/reassign | supervisor |
| POST /messages/{name} | appeals, intake, supervisor, admin, gateway (**) |
| GET /process-definitions | owner, supervisor, admin |
| POST /process-definitions, POST /process-definitions/validate | owner |
| GET/POST /admin/clock | anyone, and only when the app runs with the test clock (404 otherwise) |

(*) the engine checks the task's role (lane) and who holds it.
(**) ``gateway`` is the role of integration users, such as the regulator's appeal
gateway that sends ``appeal_received``: create one with engine.users.create_user(...,
roles=["gateway"]); it may deliver messages and do nothing else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import text

from engine import jsonsafe, users
from engine.clock import TestClock
from engine.complaints import BUSINESS_LINES, CATEGORIES, PHONE, REGIONS
from engine.errors import BadRequest, EngineError, Unauthorized, ValidationFailed
from engine.service import VIEWS, ComplaintEngine, TaskFilters, UploadedFile

from . import AppState, state
from .auth import bearer_token, client_address, current_viewer, require_roles, token_cache

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)
clock_api = Blueprint("clock_api", __name__, url_prefix="/api/v1/admin")

MESSAGE_SENDER_ROLES = ("appeals", "intake", "supervisor", "admin", "gateway")
DEFINITION_READER_ROLES = ("owner", "supervisor", "admin")
COMPLAINT_STARTER_ROLES = ("intake", "supervisor")
CASE_SEARCH_ROLES = ("intake", "dispatcher", "escalation", "appeals", "supervisor")


TASK_SORTS = ("due", "priority", "age")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
MESSAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$")
MAX_PAGE_SIZE = 200
# "Due within N hours" past ~11 years means nothing, and a huge N overflows the date arithmetic.
MAX_DUE_WITHIN_HOURS = 100_000
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class UnsupportedMediaType(EngineError):
    status, code = 415, "unsupported_media_type"


def _state() -> AppState:
    return state(current_app)


def _engine() -> ComplaintEngine:
    return _state().engine


# --- request bodies -------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def json_body(required: bool = True) -> dict:
    """The request body as a JSON object; 400 naming the problem when it is not one."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("a JSON object body is required (Content-Type: application/json)")
        return {}
    if not request.is_json:
        raise UnsupportedMediaType(
            f"send the body as JSON with Content-Type: application/json, not {request.mimetype or 'none'}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        # Parsed anyway, the bad bytes kept as lone surrogates, so the answer can name the field.
        text = raw.decode("utf-8", "surrogateescape")
        not_utf8 = f"malformed JSON body: not UTF-8 at byte {error.start}"
    else:
        not_utf8 = ""
    try:
        body = jsonsafe.loads(text, parse_constant=_reject_constant)
    except jsonsafe.TooDeep as error:
        raise BadRequest(f"malformed JSON body: {error}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(
            not_utf8 or f"malformed JSON body: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except ValueError as error:
        raise BadRequest(not_utf8 or f"malformed JSON body: {error}") from None
    broken = dict(sorted(jsonsafe.broken_text(body).items())[:20])  # the first 20 are enough to go on
    if broken:
        raise BadRequest(f"text that cannot be stored in: {', '.join(broken)}", fields=broken)
    if not isinstance(body, dict):
        raise BadRequest(f"the JSON body must be an object, not {_json_type(body)}")
    return body


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _string_field(body: Mapping, name: str, problems: dict[str, str], max_length: int = 500) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems[name] = "required"
        return None
    if not isinstance(value, str):
        problems[name] = f"must be a string, not {_json_type(value)}"
        return None
    if len(value) > max_length:
        problems[name] = f"at most {max_length} characters"
        return None
    return value.strip()


def reply_view() -> dict[str, str]:
    """``?view=summary`` asks an operation for the case's number, status and open tasks instead of the whole
    case (timeline, data, timers, SMS): cheaper for a client that only needs its next step. Returned as the
    engine call's keyword (none for the full case, the engine's default)."""
    view = request.args.get("view", "full").strip() or "full"
    if view not in VIEWS:
        raise BadRequest(f"view must be one of {', '.join(VIEWS)}", fields={"view": view[:40]})
    return {} if view == "full" else {"view": view}


def _raise_problems(problems: dict[str, str]) -> None:
    if problems:
        raise ValidationFailed(f"invalid fields: {', '.join(sorted(problems))}", fields=problems)


# --- health and test clock ----------------------------------------------------------------


@health.get("/healthz")
def healthz() -> tuple[dict, int]:
    try:
        with _state().db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - whatever the driver raises, the answer is "unavailable"
        # One line, no traceback: a load balancer polls this every few seconds through an outage.
        current_app.logger.warning("health check: the database does not answer: %s",
                                   (str(error).strip().splitlines() or [type(error).__name__])[0])
        return {
            "status": "unavailable",
            "error": {"code": "database_unavailable", "message": "the database does not answer"},
        }, 503, {"Retry-After": "5"}
    return {"status": "ok"}, 200


@clock_api.get("/clock")
def clock_now() -> dict:
    return {"now": _test_clock().now().isoformat()}


@clock_api.post("/clock")
def clock_move() -> dict:
    test_clock = _test_clock()
    body = json_body()
    unknown = set(body) - {"set", "advance_seconds"}
    if unknown or len(body) != 1:
        raise BadRequest('send exactly one of {"set": ISO datetime} or {"advance_seconds": number}')
    if "set" in body:
        value = body["set"]
        try:
            when = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise ValidationFailed(
                "set must be an ISO datetime with an offset, such as 2026-03-02T09:00:00+08:00",
                fields={"set": "an ISO datetime with offset"},
            )
        now = test_clock.set(when)
    else:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValidationFailed(
                "advance_seconds must be a number", fields={"advance_seconds": "must be a number"}
            )
        try:
            now = test_clock.advance(seconds)
        except OverflowError:  # past year 9999 or before year 1
            raise ValidationFailed("advance_seconds moves the clock out of range",
                                   fields={"advance_seconds": "too large"}) from None
    return {"now": now.isoformat()}


def _test_clock() -> TestClock:
    test_clock = _state().test_clock
    if test_clock is None:  # only reachable if the blueprint was registered by hand
        raise EngineError("the test clock is off")
    return test_clock


# --- auth ---------------------------------------------------------------------------------


@api.post("/auth/token")
def issue_token() -> dict:
    body = json_body()
    problems: dict[str, str] = {}
    username = _string_field(body, "username", problems, max_length=64)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        problems["password"] = "required" if password in (None, "") else "must be a string"
    _raise_problems(problems)
    app_state = _state()
    viewer = users.sign_in(app_state.db, username or "", password, client_address())
    if viewer is None:
        raise Unauthorized("wrong user name or password")
    token = users.issue_token(app_state.db, viewer.username, app_state.settings.token_ttl_hours)
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_at": users.token_expiry(app_state.db, token),
        "username": viewer.username,
        "roles": sorted(viewer.roles),
    }


@api.delete("/auth/token")
@require_roles()
def revoke_token() -> tuple[str, int]:
    token = bearer_token() or ""
    users.revoke_token(_state().db, token)
    token_cache(current_app).forget(token)  # other processes forget it within COMPLAINTFLOW_TOKEN_CACHE_SECONDS
    return "", 204


@api.get("/auth/me")
@require_roles()
def who_am_i() -> dict:
    viewer = current_viewer()
    return {"username": viewer.username, "roles": sorted(viewer.roles)}


# --- complaints -----------------------------------------------------------------------------


@api.get("/complaints")
@require_roles(*CASE_SEARCH_ROLES)
def find_complaints() -> dict:
    phone = request.args.get("phone", "").strip()
    if not PHONE.match(phone):
        raise BadRequest("phone is required and must be a phone number", fields={"phone": phone[:40]})
    category = request.args.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"unknown category {category!r}", fields={"category": category[:40]})
    return {"items": _engine().find_cases(phone, category)}


@api.post("/complaints")
@require_roles(*COMPLAINT_STARTER_ROLES)
def start_complaint() -> Response:
    view = reply_view()
    data = json_body()
    case = _engine().start_complaint(data, actor=current_viewer().username, **view)
    g.complaint_number = case.get("number")
    response = current_app.json.response(case)
    response.status_code = 201
    response.headers["Location"] = f"{api.url_prefix}/complaints/{case.get('number')}"
    return response


@api.get("/complaints/<number>")
@require_roles()
def get_complaint(number: str) -> dict:
    return _engine().get_case(number, current_viewer())


@api.post("/complaints/<number>/suspend")
@require_roles("supervisor")
def suspend_complaint(number: str) -> dict:
    json_body(required=False)
    return _engine().suspend(number, current_viewer())


@api.post("/complaints/<number>/resume")
@require_roles("supervisor")
def resume_complaint(number: str) -> dict:
    json_body(required=False)
    return _engine().resume(number, current_viewer())


@api.post("/complaints/<number>/cancel")
@require_roles("supervisor")
def cancel_complaint(number: str) -> dict:
    problems: dict[str, str] = {}
    reason = _string_field(json_body(), "reason", problems)
    _raise_problems(problems)
    return _engine().cancel(number, current_viewer(), reason or "")


# --- tasks --------------------------------------------------------------------------------------


def task_filters(args: Mapping[str, str]) -> TaskFilters:
    """Read the inbox query; 400 naming every bad parameter."""
    problems: dict[str, str] = {}
    values: dict[str, object] = {}

    def text_arg(name: str, max_length: int, pattern: re.Pattern[str] | None = None, hint: str = "") -> None:
        value = args.get(name)
        if value is None or not value.strip():
            return
        value = value.strip()
        if len(value) > max_length:
            problems[name] = f"at most {max_length} characters"
        elif pattern is not None and not pattern.match(value):
            problems[name] = hint or "invalid value"
        else:
            values[name] = value

    def choice_arg(name: str, choices: tuple[str, ...]) -> None:
        value = args.get(name)
        if value is None or not value.strip():
            return
        if value.strip() not in choices:
            problems[name] = f"one of {', '.join(choices)}"
        else:
            values[name] = value.strip()

    def int_arg(name: str, low: int, high: int) -> None:
        value = args.get(name)
        if value is None or not value.strip():
            return
        try:
            number = int(value)
        except ValueError:
            problems[name] = f"an integer from {low} to {high}"
            return
        if not low <= number <= high:
            problems[name] = f"an integer from {low} to {high}"
        else:
            values[name] = number

    role = args.get("role")
    if role is not None and role.strip():
        if users.is_valid_role(role.strip()):
            values["role"] = role.strip()
        else:
            problems["role"] = "a role code such as dispatcher or dept:network"
    text_arg("assignee", 64, users.USERNAME, "a user name, or me")
    overdue = args.get("overdue")
    if overdue is not None and overdue.strip():
        word = overdue.strip().lower()
        if word in TRUE_WORDS:
            values["overdue"] = True
        elif word in FALSE_WORDS:
            values["overdue"] = False
        else:
            problems["overdue"] = "true or false"
    hours = args.get("due_within_hours")
    if hours is not None and hours.strip():
        try:
            number = float(hours)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not 0 <= number <= MAX_DUE_WITHIN_HOURS:
            problems["due_within_hours"] = f"a number of hours from 0 to {MAX_DUE_WITHIN_HOURS}"
        else:
            values["due_within_hours"] = number
    text_arg("q", 100)
    text_arg("category", 64, CODE, "a category code such as mobile_data")
    choice_arg("business_line", BUSINESS_LINES)
    choice_arg("region", REGIONS)
    text_arg("city", 64)
    text_arg("tier", 16)
    choice_arg("sort", TASK_SORTS)
    int_arg("page", 1, 1_000_000)
    int_arg("page_size", 1, MAX_PAGE_SIZE)
    if problems:
        raise BadRequest(f"bad query parameter: {', '.join(sorted(problems))}", fields=problems)
    return TaskFilters(**values)  # type: ignore[arg-type]


# --- escalation desk -------------------------------------------------------------------------


@api.get("/desk")
@require_roles("escalation", "supervisor")
def escalation_desk() -> dict:
    return _engine().desk(current_viewer())


@api.get("/desk/cases.csv")
@require_roles("escalation", "supervisor")
def escalation_desk_csv() -> Response:
    body = "\ufeff" + _engine().desk_csv(current_viewer())  # BOM: Excel opens UTF-8 Chinese correctly
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=escalation-desk.csv"})


@api.get("/tasks")
@require_roles()
def list_tasks() -> dict:
    filters = task_filters(request.args)
    page = _engine().list_tasks(current_viewer(), filters)
    return {**page, "page": filters.page, "page_size": filters.page_size}


@api.get("/tasks/<task_id>")
@require_roles()
def get_task(task_id: str) -> dict:
    return _engine().get_task(task_id, current_viewer())


@api.post("/tasks/<task_id>/claim")
@require_roles()
def claim_task(task_id: str) -> dict:
    json_body(required=False)
    return _engine().claim(task_id, current_viewer())


@api.post("/tasks/<task_id>/release")
@require_roles()
def release_task(task_id: str) -> dict:
    json_body(required=False)
    return _engine().release(task_id, current_viewer())


@api.post("/tasks/<task_id>/reassign")
@require_roles("supervisor")
def reassign_task(task_id: str) -> dict:
    problems: dict[str, str] = {}
    assignee = _string_field(json_body(), "assignee", problems, max_length=64)
    _raise_problems(problems)
    return _engine().reassign(task_id, current_viewer(), assignee or "")


@api.post("/tasks/<task_id>/complete")
@require_roles()
def complete_task(task_id: str) -> dict:
    view = reply_view()
    body = json_body(required=False)
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ValidationFailed(
            "data must be an object", fields={"data": f"must be an object, not {_json_type(data)}"}
        )
    result = _engine().complete(task_id, current_viewer(), data, **view)
    g.complaint_number = (result.get("case") or {}).get("number")
    return result


# --- messages -------------------------------------------------------------------------------------


@api.post("/messages/<name>")
@require_roles(*MESSAGE_SENDER_ROLES)
def send_message(name: str) -> tuple[dict, int]:
    if not MESSAGE_NAME.match(name):
        raise BadRequest("invalid message name", fields={"name": "letters, digits, _ . -; at most 128"})
    body = json_body(required=False)
    problems: dict[str, str] = {}
    correlation = body.get("correlation")
    if correlation is not None and (not isinstance(correlation, str) or len(correlation) > 128):
        problems["correlation"] = "a string of at most 128 characters, or null"
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        problems["payload"] = f"must be an object, not {_json_type(payload)}"
    _raise_problems(problems)
    result = _engine().send_message(name, correlation or None, payload, actor=current_viewer().username)
    g.complaint_number = result.get("number")
    return result, 201 if result.get("started") else 200


# --- process definitions -----------------------------------------------------------------------------


def _uploaded_files() -> list[UploadedFile]:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            "upload models as multipart/form-data with one or more parts named files",
            fields={"files": "required"},
        )
    parts = request.files.getlist("files")
    if not parts:
        raise BadRequest("no files: send one or more parts named files", fields={"files": "required"})
    return [UploadedFile(filename=upload_name(part.filename), content=part.read()) for part in parts]


def upload_name(raw: str | None) -> str:
    """An uploaded file's name as sent. A name with a directory part or ``..`` is refused, not cut to its
    base: browsers send the bare name, so a path means a hand-made request."""
    name = (raw or "").strip()
    if not name:
        raise BadRequest("every files part needs a file name", fields={"files": "a part has no file name"})
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        shown = jsonsafe.printable(name)
        raise BadRequest(f"file name {shown!r} looks like a path: send the file's own name only",
                         fields={"files": shown})
    return name


@api.get("/process-definitions")
@require_roles(*DEFINITION_READER_ROLES)
def list_definitions() -> dict:
    items = _engine().list_definitions()
    return {"items": items, "total": len(items)}


@api.post("/process-definitions")
@require_roles("owner")
def deploy_definitions() -> tuple[dict, int]:
    files = _uploaded_files()
    result = _engine().deploy(files, actor=current_viewer().username)
    created = any(item.get("created") for item in result.get("definitions", []))
    return result, 201 if created else 200


@api.post("/process-definitions/validate")
@require_roles("owner")
def validate_definitions() -> dict:
    files = _uploaded_files()
    problems = _engine().validate(files)
    # Warnings are listed too, but only errors make the upload invalid.
    return {"valid": not any(p.get("severity") != "warning" for p in problems), "problems": problems}
