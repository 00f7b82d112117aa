"""GET /api/v1/openapi.json: the hand-written OpenAPI 3.1 description of the HTTP API.

Every route of webapp.api is described here; ``x-roles`` on an operation lists
the roles it requires (empty: any signed-in user; absent with ``security: []``:
no token needed). tests/test_api_auth.py checks both against the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from engine.complaints import BUSINESS_LINES, CATEGORIES, CHANNELS, REGIONS

openapi = Blueprint("openapi", __name__)

REF = "#/components/schemas/"
ISO = {"type": "string", "format": "date-time"}
ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
STRING_OR_NULL = {"type": ["string", "null"]}

ROLE_DOC = (
    "Role codes: intake, dispatcher, escalation, appeals, supervisor, owner, admin, gateway "
    "(integration users such as the regulator's appeal gateway: they may only send messages) "
    "and dept:<code> for departments (dept:network, dept:billing, ...)."
)


def ref(name: str) -> dict:
    return {"$ref": REF + name}


def json_content(schema: dict, example: Any = None) -> dict:
    media: dict = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def ok(description: str, schema: dict, example: Any = None) -> dict:
    return {"description": description, "content": json_content(schema, example)}


def error(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def operation(
    summary: str,
    responses: dict,
    *,
    roles: tuple[str, ...] | None = (),
    tag: str,
    operation_id: str,
    description: str = "",
    parameters: list | None = None,
    body: dict | None = None,
) -> dict:
    """One operation. ``roles=None``: no token; ``()``: any signed-in user; else one of ``roles``."""
    op: dict = {"tags": [tag], "summary": summary, "operationId": operation_id}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = body
    all_responses = dict(responses)
    # Any call: a query parameter with a NUL character in it, for one (webapp/request_text.py).
    all_responses.setdefault("400", error("BadRequest"))
    if body:
        # Any body can be malformed or hold text that is not text (400), be over the size limit (413)
        # or come in another media type (415).
        for status, name in (("400", "BadRequest"), ("413", "PayloadTooLarge"), ("415", "UnsupportedMediaType")):
            all_responses.setdefault(status, error(name))
    if roles is None:
        op["security"] = []
    else:
        op["x-roles"] = list(roles)
        all_responses.setdefault("401", error("Unauthorized"))
        if roles:
            all_responses.setdefault("403", error("Forbidden"))
    all_responses.setdefault("500", error("InternalError"))
    # Any call, while the database is down or read-only; a write, when its storage is full (webapp/db_faults.py).
    all_responses.setdefault("503", error("DatabaseUnavailable"))
    if "415" in all_responses:
        all_responses.setdefault("507", error("StorageFull"))
    op["responses"] = dict(sorted(all_responses.items()))
    return op


def path_param(name: str, description: str, example: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def query_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def json_body(schema: dict, example: Any = None, required: bool = True) -> dict:
    return {"required": required, "content": json_content(schema, example)}


NUMBER = path_param("number", "Complaint number, such as TS20260302000001.", "TS20260302000001")
REPLY_VIEW = query_param(
    "view", {"type": "string", "enum": ["full", "summary"], "default": "full"},
    "`full` (default): the whole case, as `GET /api/v1/complaints/{number}` gives it. `summary`: only its "
    "number, status and open tasks (`CaseSummary`), which is cheaper.")
TASK_ID = path_param("task_id", "Task id (a UUID).", "6f1c2a9e-2f7b-4c1e-9a53-3f0d8f5b1c2d")

SCHEMAS: dict[str, dict] = {
    "Desk": {
        "type": "object",
        "required": ["cases", "groups", "breach_rates"],
        "properties": {
            "now": {"type": "string", "format": "date-time"},
            "cases": {"type": "array", "items": {"type": "object", "properties": {
                "number": {"type": "string"}, "status": {"enum": ["overdue", "at_risk"]},
                "process_id": {"type": "string"}, "category": {"type": ["string", "null"]},
                "city": {"type": ["string", "null"]}, "departments": {"type": "array", "items": {"type": "string"}},
                "clocks": {"type": "array", "items": {"type": "object"}}}}},
            "groups": {"type": "object", "additionalProperties": {"type": "array", "items": {
                "type": "object", "properties": {"key": {"type": "string"}, "overdue": {"type": "integer"},
                                                 "at_risk": {"type": "integer"}}}}},
            "breach_rates": {"type": "object", "additionalProperties": {"type": "array", "items": {
                "type": "object", "properties": {"policy": {"type": "string"}, "total": {"type": "integer"},
                                                 "breached": {"type": "integer"}, "rate": {"type": "number"}}}}},
        },
    },
    "CaseList": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "string"}, "process_id": {"type": "string"},
                        "status": {"type": "string"}, "category": {"type": ["string", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "ended_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            }
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable machine-readable code, e.g. not_found or validation_failed.",
                    },
                    "message": {"type": "string", "description": "What went wrong, for people."},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Per field or parameter: what is wrong with it.",
                    },
                    "problems": {
                        "type": "array",
                        "items": ref("ModelProblem"),
                        "description": "Only for code model_invalid: every problem found in the upload.",
                    },
                    "element_id": {"type": "string", "description": "Only for code script_failed: the BPMN element."},
                    "file": {"type": "string", "description": "Only for code script_failed: the model file."},
                },
            }
        },
        "example": {
            "error": {
                "code": "validation_failed",
                "message": "invalid fields: phone",
                "fields": {"phone": "required"},
            }
        },
    },
    "ModelProblem": {
        "type": "object",
        "required": ["file", "message"],
        "properties": {
            "file": {"type": ["string", "null"], "description": "null for a problem of the whole upload."},
            "element_id": STRING_OR_NULL,
            "line": {"type": ["integer", "null"]},
            "message": {"type": "string"},
            "rule": {
                "type": "string",
                "description": "Lint rule code, e.g. gateway-no-default, unreachable, timer-expression, "
                "task-no-role; parse for the parser's own problems (docs/MODELING.md, Lint rules).",
                "example": "gateway-no-default",
            },
            "severity": {
                "type": "string",
                "enum": ["error", "warning"],
                "description": "Errors block a deploy; warnings are reported and do not.",
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "error": {"type": "object"},
        },
    },
    "TokenRequest": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string", "maxLength": 64}, "password": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["token", "token_type", "expires_at", "username", "roles"],
        "properties": {
            "token": {"type": "string", "description": "Send as Authorization: Bearer <token>."},
            "token_type": {"const": "Bearer"},
            "expires_at": ISO,
            "username": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Me": {
        "type": "object",
        "required": ["username", "roles"],
        "properties": {
            "username": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
        },
    },
    "ComplaintInput": {
        "type": "object",
        "description": "A new complaint (投诉). Unknown fields are refused (422).",
        "required": [
            "phone",
            "customer_name",
            "star_level",
            "channel",
            "business_line",
            "category",
            "region",
            "city",
            "description",
            "request",
        ],
        "properties": {
            "phone": {"type": "string", "maxLength": 20, "description": "The customer's number."},
            "callback_phone": {"type": "string", "maxLength": 20, "description": "Defaults to phone."},
            "customer_name": {"type": "string", "maxLength": 64},
            "star_level": {"type": "integer", "minimum": 0, "maximum": 7},
            "svip": {"type": "boolean", "default": False},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "business_line": {"type": "string", "enum": list(BUSINESS_LINES)},
            "category": {"type": "string", "enum": list(CATEGORIES), "description": "Journey category code."},
            "region": {"type": "string", "enum": list(REGIONS)},
            "city": {"type": "string", "maxLength": 64},
            "description": {"type": "string", "maxLength": 4000},
            "request": {"type": "string", "maxLength": 2000, "description": "What the customer asks (诉求)."},
        },
        "additionalProperties": False,
        "example": {
            "phone": "18612345678",
            "customer_name": "张三",
            "star_level": 4,
            "svip": False,
            "channel": "10010",
            "business_line": "mobile",
            "category": "mobile_data",
            "region": "urban",
            "city": "北京",
            "description": "家中4G信号差，上网经常断线",
            "request": "尽快解决信号问题",
        },
    },
    "SlaClock": {
        "type": "object",
        "required": ["name", "policy", "due_at", "breached", "paused"],
        "properties": {
            "name": {
                "type": "string",
                "enum": ["reply", "resolve", "closure", "repair", "install", "statutory", "appeal"],
            },
            "policy": {"type": "string"},
            "due_at": ISO_OR_NULL,
            "breached": {"type": "boolean"},
            "paused": {"type": "boolean"},
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "name", "role", "assignee", "due_at", "complaint_number"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "bpmn_id": {"type": "string"},
            "kind": {"type": "string", "enum": ["user", "manual"]},
            "role": {"type": ["string", "null"], "description": "From the BPMN lane."},
            "assignee": STRING_OR_NULL,
            "due_at": ISO_OR_NULL,
            "overdue": {"type": "boolean"},
            "priority": {"type": "integer"},
            "created_at": ISO,
            "complaint_number": {"type": "string"},
            "tier": STRING_OR_NULL,
            "category": STRING_OR_NULL,
            "business_line": STRING_OR_NULL,
            "region": STRING_OR_NULL,
            "city": STRING_OR_NULL,
            "phone": STRING_OR_NULL,
            "customer_name": STRING_OR_NULL,
            "process_id": {"type": "string"},
            "form_name": STRING_OR_NULL,
        },
    },
    "TaskDetail": {
        "allOf": [
            ref("Task"),
            {
                "type": "object",
                "required": ["form"],
                "properties": {
                    "form": {
                        "type": ["object", "null"],
                        "description": "The task form as a JSON Schema (with UI hints), or null.",
                    },
                    "data": {"type": "object", "description": "The case data the task works on."},
                },
            },
        ]
    },
    "TaskPage": {
        "type": "object",
        "required": ["items", "total", "total_exact", "total_estimated"],
        "properties": {
            "items": {"type": "array", "items": ref("Task")},
            "total": {"type": "integer", "minimum": 0,
                      "description": "Matching tasks, counted up to 10,000; past that 10,000 and total_exact false. "
                                     "When counting takes longer than COMPLAINTFLOW_INBOX_COUNT_BUDGET_MS "
                                     "(PostgreSQL), the database's estimate (total_estimated true)."},
            "total_exact": {"type": "boolean",
                            "description": "False when total stopped at the cap (show 10,000+) or is an estimate."},
            "total_estimated": {"type": "boolean",
                                "description": "True when total is the database's estimate, rounded to two "
                                               "significant figures (show about 4,500): counting ran out of time."},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "at", "type", "actor"],
        "properties": {
            "id": {"type": "integer"},
            "at": ISO,
            "type": {"type": "string"},
            "actor": {"type": "string"},
            "task_id": STRING_OR_NULL,
            "bpmn_id": STRING_OR_NULL,
            "data": {"type": "object"},
        },
    },
    "Case": {
        "type": "object",
        "required": ["number", "status", "sla", "tasks", "timeline"],
        "properties": {
            "number": {"type": "string"},
            "process_id": {"type": "string"},
            "version": {"type": "integer"},
            "status": {"type": "string", "enum": ["running", "suspended", "completed", "cancelled"]},
            "created_at": ISO,
            "updated_at": ISO,
            "ended_at": ISO_OR_NULL,
            "last_error": STRING_OR_NULL,
            "data": {"type": "object"},
            "sla": {"type": "array", "items": ref("SlaClock")},
            "tasks": {"type": "array", "items": ref("Task"), "description": "The open tasks."},
            "timeline": {"type": "array", "items": ref("Event")},
        },
    },
    "CaseSummary": {
        "type": "object",
        "description": "The reply with `?view=summary`: what a client needs for its next step.",
        "required": ["number", "status", "tasks"],
        "properties": {
            "number": {"type": "string"},
            "process_id": {"type": "string"},
            "status": {"type": "string", "enum": ["running", "suspended", "completed", "cancelled"]},
            "tasks": {"type": "array", "items": ref("Task"), "description": "The open tasks."},
        },
    },
    "CancelRequest": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    },
    "ReassignRequest": {
        "type": "object",
        "required": ["assignee"],
        "properties": {"assignee": {"type": "string", "description": "An active user's name."}},
    },
    "CompleteRequest": {
        "type": "object",
        "properties": {
            "data": {
                "type": "object",
                "description": "The form's answers; checked against the task's form schema.",
            }
        },
    },
    "CompleteResult": {
        "type": "object",
        "required": ["task_id", "case"],
        "properties": {"task_id": {"type": "string"}, "case": {"anyOf": [ref("Case"), ref("CaseSummary")]}},
    },
    "MessageRequest": {
        "type": "object",
        "properties": {
            "correlation": {
                "type": ["string", "null"],
                "maxLength": 128,
                "description": "Finds the waiting case; null or absent for a message that starts one.",
            },
            "payload": {"type": "object"},
        },
    },
    "AppealPayload": {
        "type": "object",
        "description": "Payload of the appeal_received message (客户申诉 from the regulator).",
        "required": ["regulator_ticket", "appeal_type", "appellant_name", "phone", "deadline", "content"],
        "properties": {
            "regulator_ticket": {"type": "string"},
            "appeal_type": {
                "type": "string",
                "enum": ["preprocess", "transfer", "mediation", "green_channel"],
            },
            "appellant_name": {"type": "string"},
            "phone": {"type": "string"},
            "complaint_number": {"type": "string"},
            "deadline": ISO,
            "content": {"type": "string"},
        },
    },
    "MessageResult": {
        "type": "object",
        "required": ["number", "started"],
        "properties": {
            "number": {"type": "string", "description": "The case that got the message."},
            "started": {"type": "boolean", "description": "True when the message started a new case."},
        },
    },
    "Definition": {
        "type": "object",
        "required": [
            "process_id",
            "version",
            "name",
            "content_hash",
            "deployed_by",
            "deployed_at",
            "instances",
        ],
        "properties": {
            "process_id": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "name": {"type": "string"},
            "content_hash": {"type": "string"},
            "deployed_by": {"type": "string"},
            "deployed_at": ISO,
            "instances": {"type": "integer", "minimum": 0, "description": "Cases on this version."},
        },
    },
    "DefinitionList": {
        "type": "object",
        "required": ["items", "total"],
        "properties": {"items": {"type": "array", "items": ref("Definition")}, "total": {"type": "integer"}},
    },
    "ModelUpload": {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "description": "BPMN (.bpmn), DMN (.dmn) and form (.json) files.",
            }
        },
    },
    "DeployResult": {
        "type": "object",
        "required": ["deployment_id", "definitions"],
        "properties": {
            "deployment_id": {"type": "integer"},
            "definitions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["process_id", "version", "name", "created"],
                    "properties": {
                        "process_id": {"type": "string"},
                        "version": {"type": "integer"},
                        "name": {"type": "string"},
                        "created": {
                            "type": "boolean",
                            "description": "False when an identical version was already deployed.",
                        },
                    },
                },
            },
            "warnings": {"type": "array", "items": ref("ModelProblem"),
                         "description": "Lint warnings of the deployed files (they do not block a deploy)."},
        },
    },
    "ValidationResult": {
        "type": "object",
        "required": ["valid", "problems"],
        "properties": {
            "valid": {"type": "boolean"},
            "problems": {"type": "array", "items": ref("ModelProblem")},
        },
    },
    "ClockRequest": {
        "oneOf": [
            {
                "type": "object",
                "required": ["set"],
                "properties": {"set": {**ISO, "description": "Must carry an offset."}},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["advance_seconds"],
                "properties": {"advance_seconds": {"type": "number"}},
                "additionalProperties": False,
            },
        ]
    },
    "Clock": {"type": "object", "required": ["now"], "properties": {"now": ISO}},
}


def _error_response(description: str, example: dict) -> dict:
    return {"description": description, "content": json_content(ref("Error"), {"error": example})}


RESPONSES = {
    "BadRequest": _error_response(
        "The request is malformed: bad JSON, JSON nested more than 64 levels deep, a body that is not an "
        "object, text that cannot be stored (invalid UTF-8, a lone surrogate such as \\ud800, a NUL "
        "character), a file name that looks like a path, or a bad query parameter (fields names each).",
        {
            "code": "bad_request",
            "message": "bad query parameter: page",
            "fields": {"page": "an integer from 1"},
        },
    ),
    "Unauthorized": {
        **_error_response(
            "No valid bearer token.", {"code": "unauthorized", "message": "invalid or expired token"}
        ),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "Forbidden": _error_response(
        "The token is valid but its user lacks the role this needs.",
        {"code": "forbidden", "message": "this needs one of the roles: owner"},
    ),
    "NotFound": _error_response("No such resource.", {"code": "not_found", "message": "no such complaint"}),
    "Conflict": _error_response(
        "The resource's state forbids this now (someone else holds the task, it is already done...).",
        {"code": "conflict", "message": "task is claimed by dispatcher2"},
    ),
    "PayloadTooLarge": _error_response(
        "The request body (or one model file) is over the size limit.",
        {"code": "payload_too_large", "message": "request body too large: the limit is 8388608 bytes"},
    ),
    "TooManyRequests": {
        **_error_response(
            "Too many failed sign-ins; Retry-After says in how many seconds to try again.",
            {"code": "too_many_requests", "message": "too many failed sign-ins for this user name: try again in "
             "15 minute(s)"},
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "UnsupportedMediaType": _error_response(
        "The body is not in the media type this call takes.",
        {
            "code": "unsupported_media_type",
            "message": "send the body as JSON with Content-Type: application/json",
        },
    ),
    "ValidationFailed": _error_response(
        "Well-formed input that is wrong; fields says what is wrong with each field. On calls that run a "
        "case (start, complete, messages), also `script_failed`: a script or condition of the model ran "
        "past its time limit or was refused by the sandbox; element_id and file name it, the case is as it "
        "was, and the process owner must fix the model.",
        {"code": "validation_failed", "message": "invalid fields: phone", "fields": {"phone": "required"}},
    ),
    "ModelInvalid": _error_response(
        "The uploaded models have problems; problems lists every one with file, element id and line.",
        {
            "code": "model_invalid",
            "message": "2 problems",
            "problems": [
                {"file": "x.bpmn", "element_id": "Task_1", "line": 12, "message": "user task is in no lane"}
            ],
        },
    ),
    "DatabaseUnavailable": {
        **_error_response(
            "The database does not answer (database_unavailable) or takes no changes (database_read_only); "
            "nothing was changed. Send the request again after Retry-After seconds.",
            {"code": "database_unavailable", "message": "the database does not answer: try again shortly"},
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "StorageFull": {
        **_error_response(
            "The database's storage is full (storage_full); nothing was changed. Reading still works.",
            {"code": "storage_full", "message": "the database's storage is full (database or disk is full): "
             "nothing was changed; reading still works"},
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "InternalError": _error_response(
        "Our fault; logged with the complaint number, and the case is left as it was.",
        {"code": "internal_error", "message": "internal error; it has been logged"},
    ),
}


TASK_QUERY = [
    query_param(
        "role", {"type": "string"}, "Only tasks of this role (lane), e.g. dispatcher or dept:network."
    ),
    query_param("assignee", {"type": "string"}, "Only tasks held by this user; `me` for the caller."),
    query_param("overdue", {"type": "boolean"}, "true: only overdue tasks; false: only tasks not overdue."),
    query_param(
        "due_within_hours", {"type": "number", "minimum": 0, "maximum": 100_000},
        "Only tasks due within this many hours."
    ),
    query_param(
        "q", {"type": "string", "maxLength": 100}, "Text in complaint number, phone or customer name."
    ),
    query_param("category", {"type": "string"}, "Category code."),
    query_param("business_line", {"type": "string", "enum": list(BUSINESS_LINES)}, "Business line."),
    query_param("region", {"type": "string", "enum": list(REGIONS)}, "Region."),
    query_param("city", {"type": "string"}, "City."),
    query_param("tier", {"type": "string"}, "Customer tier."),
    query_param(
        "sort",
        {"type": "string", "enum": ["due", "priority", "age"], "default": "due"},
        "Order; higher tiers go first within each.",
    ),
    query_param("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number."),
    query_param("page_size", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size."),
]


# Calls that take no body still read one when sent: it must be a JSON object.
OPTIONAL_BODY = {"400": error("BadRequest"), "413": error("PayloadTooLarge"), "415": error("UnsupportedMediaType")}


def _task_action(summary: str, operation_id: str, description: str, conflict: bool = True) -> dict:
    responses = {
        "200": ok("The task after the change.", ref("Task")),
        "404": error("NotFound"),
        **OPTIONAL_BODY,
    }
    if conflict:
        responses["409"] = error("Conflict")
    return operation(
        summary,
        responses,
        tag="tasks",
        operation_id=operation_id,
        description=description,
        parameters=[TASK_ID],
    )


def _case_action(summary: str, operation_id: str, body: dict | None = None) -> dict:
    responses = {
        "200": ok("The case after the change.", ref("Case")),
        "404": error("NotFound"),
        "409": error("Conflict"),
        **OPTIONAL_BODY,
    }
    if body is not None:
        responses["422"] = error("ValidationFailed")
    return operation(
        summary,
        responses,
        roles=("supervisor",),
        tag="complaints",
        operation_id=operation_id,
        parameters=[NUMBER],
        body=body,
    )


PATHS: dict[str, dict] = {
    "/healthz": {
        "get": operation(
            "Health check",
            {
                "200": ok("The app and its database answer.", ref("Health"), {"status": "ok"}),
                "503": ok("The database does not answer.", ref("Health")),
            },
            roles=None,
            tag="meta",
            operation_id="healthz",
        )
    },
    "/api/v1/openapi.json": {
        "get": operation(
            "This document",
            {"200": ok("The OpenAPI 3.1 document.", {"type": "object"})},
            roles=None,
            tag="meta",
            operation_id="openapi",
        )
    },
    "/api/v1/auth/token": {
        "post": operation(
            "Sign in: get a bearer token",
            {
                "200": ok("A new token.", ref("Token")),
                "400": error("BadRequest"),
                "401": error("Unauthorized"),
                "415": error("UnsupportedMediaType"),
                "422": error("ValidationFailed"),
                "429": error("TooManyRequests"),
            },
            roles=None,
            tag="auth",
            operation_id="issueToken",
            description="After 5 failed sign-ins for one user name, or 20 from one address, within 15 minutes, "
            "further attempts answer 429 with Retry-After (seconds) without checking the password.",
            body=json_body(ref("TokenRequest"), {"username": "dispatcher", "password": "demo"}),
        ),
        "delete": operation(
            "Sign out: revoke the token used for this call",
            {"204": {"description": "Revoked."}},
            tag="auth",
            operation_id="revokeToken",
        ),
    },
    "/api/v1/auth/me": {
        "get": operation(
            "Who the token belongs to",
            {"200": ok("The user and roles.", ref("Me"))},
            tag="auth",
            operation_id="me",
        )
    },
    "/api/v1/complaints": {
        "get": operation(
            "A customer's cases: by phone, or the repeats of a new complaint (phone and category)",
            {"200": ok("The cases, oldest first.", ref("CaseList")), "400": error("BadRequest")},
            roles=("intake", "dispatcher", "escalation", "appeals", "supervisor"),
            tag="complaints",
            operation_id="findComplaints",
            description="With `category`: the open cases and those closed in the last 30 days with the same "
            "phone and category, which make a new complaint a repeat (重复投诉). Without: every case of the phone.",
            parameters=[
                {**query_param("phone", {"type": "string"}, "The customer's phone number."), "required": True},
                query_param("category", {"type": "string"}, "A category code, such as mobile_data."),
            ],
        ),
        "post": operation(
            "Start a complaint",
            {
                "201": {
                    "description": "The new case (its summary with `?view=summary`).",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": json_content({"anyOf": [ref("Case"), ref("CaseSummary")]}),
                },
                "400": error("BadRequest"),
                "415": error("UnsupportedMediaType"),
                "422": error("ValidationFailed"),
            },
            roles=("intake", "supervisor"),
            tag="complaints",
            operation_id="startComplaint",
            parameters=[REPLY_VIEW],
            body=json_body(ref("ComplaintInput")),
        )
    },
    "/api/v1/complaints/{number}": {
        "get": operation(
            "A case: status, SLA clocks, open tasks and timeline",
            {"200": ok("The case.", ref("Case")), "403": error("Forbidden"), "404": error("NotFound")},
            tag="complaints",
            operation_id="getComplaint",
            description="The desks (intake, dispatcher, escalation, appeals, supervisor) read every case; "
            "anyone else only cases a task of which is or was in one of their roles, or that they acted on.",
            parameters=[NUMBER],
        )
    },
    "/api/v1/complaints/{number}/suspend": {
        "post": _case_action("Suspend a case (挂起)", "suspendComplaint")
    },
    "/api/v1/complaints/{number}/resume": {
        "post": _case_action("Resume a suspended case", "resumeComplaint")
    },
    "/api/v1/complaints/{number}/cancel": {
        "post": _case_action(
            "Cancel a case, with a reason", "cancelComplaint", json_body(ref("CancelRequest"))
        )
    },
    "/api/v1/desk": {
        "get": operation(
            "Escalation desk: overdue and at-risk cases, counts by department, city and category, breach rates",
            {"200": ok("The desk.", ref("Desk"))},
            roles=("escalation", "supervisor"),
            tag="desk",
            operation_id="escalationDesk",
        )
    },
    "/api/v1/desk/cases.csv": {
        "get": operation(
            "The desk's cases as CSV (UTF-8 with BOM), one row per late clock",
            {"200": {"description": "CSV.", "content": {"text/csv": {"schema": {"type": "string"}}}}},
            roles=("escalation", "supervisor"),
            tag="desk",
            operation_id="escalationDeskCsv",
        )
    },
    "/api/v1/tasks": {
        "get": operation(
            "Inbox: a page of the open tasks the caller may see",
            {"200": ok("A page of tasks.", ref("TaskPage")), "400": error("BadRequest")},
            tag="tasks",
            operation_id="listTasks",
            description="Tasks of the caller's roles and tasks they hold; a supervisor sees all.",
            parameters=TASK_QUERY,
        )
    },
    "/api/v1/tasks/{task_id}": {
        "get": operation(
            "One task with its form",
            {"200": ok("The task.", ref("TaskDetail")), "403": error("Forbidden"), "404": error("NotFound")},
            tag="tasks",
            operation_id="getTask",
            parameters=[TASK_ID],
        )
    },
    "/api/v1/tasks/{task_id}/claim": {
        "post": _task_action("Claim a task", "claimTask", "409 when someone else holds it.")
    },
    "/api/v1/tasks/{task_id}/release": {
        "post": _task_action("Release a claimed task", "releaseTask", "409 when someone else holds it.")
    },
    "/api/v1/tasks/{task_id}/reassign": {
        "post": operation(
            "Give a task to another user",
            {
                "200": ok("The task after the change.", ref("Task")),
                "400": error("BadRequest"),
                "404": error("NotFound"),
                "409": error("Conflict"),
                "422": error("ValidationFailed"),
            },
            roles=("supervisor",),
            tag="tasks",
            operation_id="reassignTask",
            parameters=[TASK_ID],
            body=json_body(ref("ReassignRequest"), {"assignee": "network"}),
        )
    },
    "/api/v1/tasks/{task_id}/complete": {
        "post": operation(
            "Complete a task with its form data",
            {
                "200": ok("The task id and the case after the step.", ref("CompleteResult")),
                "400": error("BadRequest"),
                "403": error("Forbidden"),
                "404": error("NotFound"),
                "409": error("Conflict"),
                "422": error("ValidationFailed"),
            },
            tag="tasks",
            operation_id="completeTask",
            description="422 with per-field errors when the form rejects the data; 409 when already done.",
            parameters=[TASK_ID, REPLY_VIEW],
            body=json_body(ref("CompleteRequest"), required=False),
        )
    },
    "/api/v1/messages/{name}": {
        "post": operation(
            "Deliver a message, or start a case from a message start event",
            {
                "200": ok("Delivered to a waiting case.", ref("MessageResult")),
                "201": ok("Started a new case.", ref("MessageResult")),
                "400": error("BadRequest"),
                "404": error("NotFound"),
                "415": error("UnsupportedMediaType"),
                "422": error("ValidationFailed"),
            },
            roles=("appeals", "intake", "supervisor", "admin", "gateway"),
            tag="messages",
            operation_id="sendMessage",
            description=(
                "404 when no case waits for the message (name + correlation) and no process starts "
                "from it. The regulator's appeal gateway signs in as an integration user with role "
                "`gateway` and sends `appeal_received` with an AppealPayload."
            ),
            parameters=[path_param("name", "Message name.", "appeal_received")],
            body=json_body(
                ref("MessageRequest"),
                {
                    "correlation": None,
                    "payload": {
                        "regulator_ticket": "GX2026030200012",
                        "appeal_type": "transfer",
                        "appellant_name": "李四",
                        "phone": "18612345678",
                        "deadline": "2026-03-09T17:00:00+08:00",
                        "content": "投诉15天未解决",
                    },
                },
                required=False,
            ),
        )
    },
    "/api/v1/process-definitions": {
        "get": operation(
            "Deployed process versions",
            {"200": ok("Every deployed version.", ref("DefinitionList"))},
            roles=("owner", "supervisor", "admin"),
            tag="definitions",
            operation_id="listDefinitions",
        ),
        "post": operation(
            "Validate and deploy BPMN, DMN and form files",
            {
                "200": ok("Nothing new: every process was already deployed as given.", ref("DeployResult")),
                "201": ok("Deployed; new versions have created=true.", ref("DeployResult")),
                "400": error("BadRequest"),
                "413": error("PayloadTooLarge"),
                "415": error("UnsupportedMediaType"),
                "422": error("ModelInvalid"),
            },
            roles=("owner",),
            tag="definitions",
            operation_id="deployDefinitions",
            body={"required": True, "content": {"multipart/form-data": {"schema": ref("ModelUpload")}}},
        ),
    },
    "/api/v1/process-definitions/validate": {
        "post": operation(
            "Validate BPMN, DMN and form files without deploying",
            {
                "200": ok("The problems found (none when valid).", ref("ValidationResult")),
                "400": error("BadRequest"),
                "413": error("PayloadTooLarge"),
                "415": error("UnsupportedMediaType"),
            },
            roles=("owner",),
            tag="definitions",
            operation_id="validateDefinitions",
            body={"required": True, "content": {"multipart/form-data": {"schema": ref("ModelUpload")}}},
        )
    },
    "/api/v1/admin/clock": {
        "get": operation(
            "Test clock: the current time",
            {"200": ok("Now, by the test clock.", ref("Clock")), "404": error("NotFound")},
            roles=None,
            tag="test",
            operation_id="getClock",
            description="Only when the app runs with COMPLAINTFLOW_TEST_CLOCK=1; 404 otherwise.",
        ),
        "post": operation(
            "Test clock: set or advance the time",
            {
                "200": ok("Now, by the test clock.", ref("Clock")),
                "400": error("BadRequest"),
                "404": error("NotFound"),
                "422": error("ValidationFailed"),
            },
            roles=None,
            tag="test",
            operation_id="moveClock",
            description=(
                "Only when the app runs with COMPLAINTFLOW_TEST_CLOCK=1 (404 otherwise). Needs no token: "
                "it exists for test and demo set-ups only."
            ),
            body=json_body(ref("ClockRequest"), {"advance_seconds": 3600}),
        ),
    },
}


def document() -> dict:
    from . import openapi_import, openapi_reports, openapi_versions

    fragments = (openapi_versions, openapi_import, openapi_reports)
    paths = {**PATHS}
    schemas = {**SCHEMAS}
    for fragment in fragments:
        paths.update(fragment.PATHS)
        schemas.update(fragment.SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "complaintflow API",
            "version": "1.0.0",
            "description": (
                "Telecom complaint (投诉), upgraded complaint (升级投诉) and appeal (申诉) workflows. "
                'Errors are {"error": {"code", "message", "fields"?}}. ' + ROLE_DOC
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": name}
            for name in ("auth", "complaints", "tasks", "messages", "definitions", "reports", "meta", "test")
        ],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /api/v1/auth/token.",
                }
            },
            "schemas": schemas,
            "responses": RESPONSES,
        },
    }


@openapi.get("/api/v1/openapi.json")
def openapi_json() -> dict:
    return document()
