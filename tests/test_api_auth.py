"""The web app's frame: health, sign-in, bearer auth and roles, errors, OpenAPI and the test clock."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import TestClock
from engine.errors import ProcessFault
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

# Every call of the minimum HTTP contract (DESIGN.md), as (method, path).
CONTRACT = [
    ("GET", "/healthz"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/complaints"),
    ("GET", "/api/v1/complaints/{number}"),
    ("POST", "/api/v1/complaints/{number}/suspend"),
    ("POST", "/api/v1/complaints/{number}/resume"),
    ("POST", "/api/v1/complaints/{number}/cancel"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/{task_id}"),
    ("POST", "/api/v1/tasks/{task_id}/claim"),
    ("POST", "/api/v1/tasks/{task_id}/release"),
    ("POST", "/api/v1/tasks/{task_id}/reassign"),
    ("POST", "/api/v1/tasks/{task_id}/complete"),
    ("POST", "/api/v1/messages/{name}"),
    ("GET", "/api/v1/process-definitions"),
    ("POST", "/api/v1/process-definitions"),
    ("POST", "/api/v1/admin/clock"),
]

# Calls that need a token, with a path to try them on.
PROTECTED = [
    ("GET", "/api/v1/auth/me"),
    ("DELETE", "/api/v1/auth/token"),
    ("POST", "/api/v1/complaints"),
    ("GET", "/api/v1/complaints/TS20260302000001"),
    ("POST", "/api/v1/complaints/TS20260302000001/suspend"),
    ("POST", "/api/v1/complaints/TS20260302000001/resume"),
    ("POST", "/api/v1/complaints/TS20260302000001/cancel"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/some-task"),
    ("POST", "/api/v1/tasks/some-task/claim"),
    ("POST", "/api/v1/tasks/some-task/release"),
    ("POST", "/api/v1/tasks/some-task/reassign"),
    ("POST", "/api/v1/tasks/some-task/complete"),
    ("POST", "/api/v1/messages/appeal_received"),
    ("GET", "/api/v1/process-definitions"),
    ("POST", "/api/v1/process-definitions"),
    ("POST", "/api/v1/process-definitions/validate"),
]

# Calls limited to some roles: (method, path, a user without the role). The role
# check comes before the body is read, so an empty body is enough.
ROLE_LIMITED = [
    ("POST", "/api/v1/complaints", "network"),
    ("POST", "/api/v1/complaints/TS20260302000001/suspend", "dispatcher"),
    ("POST", "/api/v1/complaints/TS20260302000001/resume", "intake"),
    ("POST", "/api/v1/complaints/TS20260302000001/cancel", "owner"),
    ("POST", "/api/v1/tasks/some-task/reassign", "dispatcher"),
    ("POST", "/api/v1/messages/appeal_received", "dispatcher"),
    ("POST", "/api/v1/messages/appeal_received", "network"),
    ("GET", "/api/v1/process-definitions", "intake"),
    ("POST", "/api/v1/process-definitions", "supervisor"),
    ("POST", "/api/v1/process-definitions", "admin"),
    ("POST", "/api/v1/process-definitions/validate", "dispatcher"),
]


def assert_error(response, status: int, code: str | None = None) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields", "problems"}
    if code is not None:
        assert error["code"] == code
    return error


# --- health -------------------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_does(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A directory is no SQLite database: every connection attempt fails.
    app = make_app(database_url=f"sqlite:///{tmp_path}")
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    # One warning line per failed check, no traceback: load balancers poll this through an outage.
    assert [r.levelno for r in caplog.records if "health check" in r.getMessage()] == [logging.WARNING]
    assert not any(r.exc_info for r in caplog.records)
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["error"]["code"] == "database_unavailable"
    assert str(tmp_path) not in response.get_data(as_text=True)  # no connection details leak


def test_healthz_answers_503_when_postgres_is_unreachable(make_app: Callable[..., Flask]) -> None:
    app = make_app(database_url="postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "secret" not in response.get_data(as_text=True)


# --- signing in ---------------------------------------------------------------------------


def test_token_for_correct_credentials(client: FlaskClient, app: Flask, clock: TestClock) -> None:
    from engine import users

    users.seed_demo_users(state(app).db, only=["dispatcher"])
    response = client.post("/api/v1/auth/token", json={"username": "dispatcher", "password": "demo"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["username"] == "dispatcher"
    assert body["roles"] == ["dispatcher"]
    expected = clock.now() + timedelta(hours=state(app).settings.token_ttl_hours)
    assert datetime.fromisoformat(body["expires_at"]) == expected

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json() == {"username": "dispatcher", "roles": ["dispatcher"]}


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "dispatcher", "password": "wrong"},
        {"username": "nobody", "password": "demo"},
        {"username": "Dispatcher", "password": "demo"},
    ],
)
def test_no_token_for_wrong_credentials(client: FlaskClient, app: Flask, credentials: dict) -> None:
    from engine import users

    users.seed_demo_users(state(app).db, only=["dispatcher"])
    response = client.post("/api/v1/auth/token", json=credentials)
    error = assert_error(response, 401, "unauthorized")
    assert error["message"] == "wrong user name or password"  # the same for unknown users
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "demo"}, "username"),
        ({"username": "intake"}, "password"),
        ({"username": 7, "password": "x"}, "username"),
    ],
)
def test_token_request_names_missing_fields(client: FlaskClient, body: dict, field: str) -> None:
    error = assert_error(client.post("/api/v1/auth/token", json=body), 422, "validation_failed")
    assert field in error["fields"]


def test_sign_out_revokes_the_token(client: FlaskClient, token_for: Callable[[str], str]) -> None:
    headers = {"Authorization": f"Bearer {token_for('intake')}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401)


# --- bearer tokens and roles --------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_token_is_required(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, json={})
    error = assert_error(response, 401, "unauthorized")
    assert "Bearer" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Basic aW50YWtlOmRlbW8=", "Bearer", "bearer   ", "Token abc"],
)
def test_a_bad_authorization_header_is_401(
    client: FlaskClient, token_for: Callable[[str], str], header: str
) -> None:
    token_for("intake")  # a user and a token exist; the header still does not name it
    assert_error(client.get("/api/v1/tasks", headers={"Authorization": header}), 401, "unauthorized")


def test_a_valid_token_under_another_scheme_is_401(
    client: FlaskClient, token_for: Callable[[str], str]
) -> None:
    token = token_for("owner")
    for header in (f"Token {token}", f"Basic {token}", token):
        assert_error(client.get("/api/v1/auth/me", headers={"Authorization": header}), 401, "unauthorized")


def test_the_scheme_name_is_case_insensitive(client: FlaskClient, token_for: Callable[[str], str]) -> None:
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"bearer {token_for('owner')}"})
    assert response.status_code == 200


def test_an_expired_token_is_401(
    client: FlaskClient, clock: TestClock, token_for: Callable[[str], str]
) -> None:
    headers = {"Authorization": f"Bearer {token_for('intake')}"}
    clock.advance(12 * 3600)
    error = assert_error(client.get("/api/v1/auth/me", headers=headers), 401, "unauthorized")
    assert "expired" in error["message"]


@pytest.mark.parametrize(("method", "path", "username"), ROLE_LIMITED)
def test_the_wrong_role_is_403(
    client: FlaskClient, headers_for: Callable[[str], dict], method: str, path: str, username: str
) -> None:
    response = client.open(path, method=method, headers=headers_for(username))
    error = assert_error(response, 403, "forbidden")
    assert "role" in error["message"]


def test_the_regulator_gateway_role_may_send_messages_and_nothing_else(
    client: FlaskClient, make_user: Callable[..., str], token_for: Callable[[str], str]
) -> None:
    make_user("regulator_gateway", ["gateway"])
    headers = {"Authorization": f"Bearer {token_for('regulator_gateway')}"}
    # Past the role check: the body is read and found wrong.
    response = client.post("/api/v1/messages/appeal_received", headers=headers, json={"payload": []})
    assert_error(response, 422, "validation_failed")
    assert_error(client.post("/api/v1/complaints", headers=headers, json={}), 403, "forbidden")
    assert_error(client.get("/api/v1/process-definitions", headers=headers), 403, "forbidden")


# --- errors -------------------------------------------------------------------------------


def test_unknown_api_paths_are_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/v1/tasks")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_413(make_app: Callable[..., Flask], headers_for: Callable[[str], dict]) -> None:
    app = make_app(max_upload_bytes=1024)
    assert app.config["MAX_CONTENT_LENGTH"] == 1024
    client = app.test_client()
    big = json.dumps({"username": "x" * 2000, "password": "y"})
    error = assert_error(
        client.post("/api/v1/auth/token", data=big, content_type="application/json"), 413, "payload_too_large"
    )
    assert "1024" in error["message"]
    upload = {"files": (io.BytesIO(b"<x/>" * 600), "big.bpmn")}
    response = client.post(
        "/api/v1/process-definitions",
        data=upload,
        headers=headers_for("owner"),
        content_type="multipart/form-data",
    )
    assert_error(response, 413, "payload_too_large")


def test_the_app_keeps_settings_db_and_engine_for_its_blueprints(app: Flask) -> None:
    extension = app.extensions["complaintflow"]
    assert extension["engine"] is state(app).engine
    assert extension["db"] is state(app).engine.db
    assert extension["settings"].test_clock is False
    assert extension["test_clock"] is None


def test_the_default_upload_limit_comes_from_the_settings(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == state(app).settings.max_upload_bytes == 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ('{"username": "intake", "password": ', "malformed JSON"),
        ("{'username': 'intake'}", "line 1 column 2"),
        ('{"username": NaN}', "NaN"),
        (b"\xff\xfe{}", "UTF-8"),
        ('["intake", "demo"]', "must be an object, not an array"),
        ('"intake"', "must be an object, not a string"),
        ("null", "must be an object, not null"),
        ("", "JSON object body is required"),
    ],
)
def test_a_body_that_is_no_json_object_is_400(client: FlaskClient, data: str | bytes, needle: str) -> None:
    response = client.post("/api/v1/auth/token", data=data, content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert needle in error["message"]


def test_a_body_that_is_not_declared_json_is_415(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", data="username=intake&password=demo")
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]


def test_bad_json_on_an_authenticated_call_is_400(
    client: FlaskClient, headers_for: Callable[[str], dict]
) -> None:
    response = client.post(
        "/api/v1/complaints", data="{not json", content_type="application/json", headers=headers_for("intake")
    )
    assert "malformed JSON" in assert_error(response, 400, "bad_request")["message"]


def test_an_unexpected_error_is_a_bare_500_logged_with_the_case_number(
    app: Flask,
    headers_for: Callable[[str], dict],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(number: str, viewer: object) -> dict:
        raise RuntimeError("secret internals at /srv/engine.py line 42")

    monkeypatch.setattr(state(app).engine, "get_case", explode)
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/complaints/TS20260302000042", headers=headers_for("supervisor"))
    error = assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert error == {"code": "internal_error", "message": "internal error; it has been logged"}
    logged = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and "(case TS20260302000042)" in r.getMessage()
    ]
    assert logged and logged[0].exc_info is not None


def test_an_engine_fault_is_logged_with_the_case_number(
    app: Flask,
    headers_for: Callable[[str], dict],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fault(number: str, viewer: object) -> dict:
        raise ProcessFault(f"case {number}: the process failed")

    monkeypatch.setattr(state(app).engine, "suspend", fault)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post(
            "/api/v1/complaints/TS20260302000043/suspend", headers=headers_for("supervisor")
        )
    assert_error(response, 500, "process_fault")
    assert any(
        "(case TS20260302000043)" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    )


def test_engine_errors_keep_their_status_code_and_fields(
    app: Flask, headers_for: Callable[[str], dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.errors import ModelInvalid, ValidationFailed

    def invalid(data: dict, actor: str) -> dict:
        raise ValidationFailed("invalid fields: phone", fields={"phone": "required"})

    def bad_model(files: list, actor: str, source: str = "upload") -> dict:
        raise ModelInvalid(
            "1 problem", [{"file": "a.bpmn", "element_id": "T1", "line": 3, "message": "no lane"}]
        )

    monkeypatch.setattr(state(app).engine, "start_complaint", invalid)
    monkeypatch.setattr(state(app).engine, "deploy", bad_model)
    client = app.test_client()
    response = client.post("/api/v1/complaints", json={}, headers=headers_for("intake"))
    assert assert_error(response, 422, "validation_failed")["fields"] == {"phone": "required"}
    response = client.post(
        "/api/v1/process-definitions",
        data={"files": (io.BytesIO(b"<x/>"), "a.bpmn")},
        headers=headers_for("owner"),
        content_type="multipart/form-data",
    )
    error = assert_error(response, 422, "model_invalid")
    assert error["problems"] == [{"file": "a.bpmn", "element_id": "T1", "line": 3, "message": "no lane"}]


# --- task query parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("overdue=maybe", "overdue"),
        ("sort=random", "sort"),
        ("due_within_hours=-1", "due_within_hours"),
        ("due_within_hours=soon", "due_within_hours"),
        ("due_within_hours=nan", "due_within_hours"),
        ("region=downtown", "region"),
        ("business_line=satellite", "business_line"),
        ("role=boss", "role"),
        ("category=Mobile%20Data", "category"),
        ("assignee=a%20b", "assignee"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_bad_task_query_parameters_are_400_naming_the_parameter(
    client: FlaskClient, headers_for: Callable[[str], dict], query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/tasks?{query}", headers=headers_for("dispatcher"))
    error = assert_error(response, 400, "bad_request")
    assert parameter in error["message"]
    assert parameter in error["fields"]


def test_good_task_query_parameters_reach_the_engine(
    app: Flask, headers_for: Callable[[str], dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []

    def list_tasks(viewer: object, filters: object) -> dict:
        seen.append((viewer, filters))
        return {"items": [], "total": 0}

    monkeypatch.setattr(state(app).engine, "list_tasks", list_tasks)
    response = app.test_client().get(
        "/api/v1/tasks?role=dept:network&assignee=me&overdue=false&q=%E5%BC%A0&sort=priority&page=2&page_size=10"
        "&category=mobile_data&business_line=mobile&region=rural&city=%E5%8C%97%E4%BA%AC&tier=svip"
        "&due_within_hours=4.5",
        headers=headers_for("network"),
    )
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "total": 0, "page": 2, "page_size": 10}
    viewer, filters = seen[0]
    assert viewer.username == "network"
    assert (filters.role, filters.assignee, filters.overdue, filters.q, filters.sort) == (
        "dept:network",
        "me",
        False,
        "张",
        "priority",
    )
    assert (filters.page, filters.page_size, filters.category, filters.business_line) == (
        2,
        10,
        "mobile_data",
        "mobile",
    )
    assert (filters.region, filters.city, filters.tier, filters.due_within_hours) == (
        "rural",
        "北京",
        "svip",
        4.5,
    )


# --- OpenAPI ------------------------------------------------------------------------------


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_openapi_document_lists_every_contract_call(clock_client: FlaskClient) -> None:
    response = clock_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.get_data(as_text=True))
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for method, path in CONTRACT:
        assert path in doc["paths"], path
        operation = doc["paths"][path][method.lower()]
        assert operation["responses"], (method, path)
        for param in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == param and p["in"] == "path" for p in operation.get("parameters", [])), (
                path
            )
        if method == "POST" and path not in {
            "/api/v1/complaints/{number}/suspend",
            "/api/v1/complaints/{number}/resume",
            "/api/v1/tasks/{task_id}/claim",
            "/api/v1/tasks/{task_id}/release",
        }:
            assert "requestBody" in operation, (method, path)
    tasks = doc["paths"]["/api/v1/tasks"]["get"]
    names = {p["name"] for p in tasks["parameters"]}
    assert {"role", "assignee", "overdue", "q", "sort", "page", "page_size"} <= names
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]


def test_openapi_documents_every_route_with_its_roles(clock_app: Flask) -> None:
    doc = clock_app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in clock_app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("ui."):  # the web UI's pages are not API
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path, verb = _openapi_path(rule.rule), method.lower()
            served.add((path, verb))
            assert (path, verb) in documented, f"{method} {rule.rule} is not in openapi.json"
            operation = doc["paths"][path][verb]
            required = getattr(clock_app.view_functions[rule.endpoint], "required_roles", None)
            if required is None:
                assert operation.get("security") == [], f"{method} {rule.rule} needs no token"
            else:
                assert "security" not in operation, f"{method} {rule.rule} needs a token"
                assert operation["x-roles"] == list(required), f"{method} {rule.rule}"
                assert "401" in operation["responses"]
                if required:
                    assert "403" in operation["responses"], f"{method} {rule.rule}"
    assert documented == served


def test_openapi_references_all_resolve(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc))
    assert refs
    for ref in refs:
        node = doc
        for part in ref.split("/"):
            assert part in node, ref
            node = node[part]
    for path, ops in doc["paths"].items():
        for method, operation in ops.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "$ref" not in response and status != "503":
                    raise AssertionError(f"{method} {path} {status} does not use the error schema")


def test_openapi_needs_no_token(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200


# --- the test clock -------------------------------------------------------------------------


def test_the_clock_endpoint_is_404_without_the_test_clock(client: FlaskClient) -> None:
    assert_error(client.post("/api/v1/admin/clock", json={"advance_seconds": 60}), 404, "not_found")
    assert_error(client.get("/api/v1/admin/clock"), 404, "not_found")


def test_the_clock_endpoint_moves_the_engine_clock(clock_app: Flask, clock: TestClock) -> None:
    from engine import clock as clock_module

    client = clock_app.test_client()
    assert state(clock_app).test_clock is clock_module.get_clock()
    start = clock.now()
    assert client.get("/api/v1/admin/clock").get_json() == {"now": start.isoformat()}

    response = client.post("/api/v1/admin/clock", json={"advance_seconds": 90})
    assert response.status_code == 200
    assert response.get_json() == {"now": (start + timedelta(seconds=90)).isoformat()}
    assert clock_module.now() == start + timedelta(seconds=90)

    response = client.post("/api/v1/admin/clock", json={"set": "2026-05-01T08:00:00+08:00"})
    assert response.get_json() == {"now": "2026-05-01T00:00:00+00:00"}
    assert clock_module.now() == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def test_the_test_clock_expires_tokens(clock_client: FlaskClient, token_for: Callable[[str], str]) -> None:
    headers = {"Authorization": f"Bearer {token_for('supervisor')}"}
    assert clock_client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock_client.post("/api/v1/admin/clock", json={"advance_seconds": 12 * 3600})
    assert_error(clock_client.get("/api/v1/auth/me", headers=headers), 401)


def test_a_test_clock_app_installs_its_own_clock_when_none_is(make_app: Callable[..., Flask]) -> None:
    from engine import clock as clock_module

    clock_module.set_clock(clock_module.SystemClock())  # make_app puts the fixture's clock back
    app = make_app(test_clock=True)
    installed = clock_module.get_clock()
    assert isinstance(installed, TestClock)
    assert state(app).test_clock is installed


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"set": "2026-05-01T08:00:00"}, 422),  # no offset
        ({"set": "tomorrow"}, 422),
        ({"set": 5}, 422),
        ({"advance_seconds": "60"}, 422),
        ({"advance_seconds": True}, 422),
        ({}, 400),
        ({"set": "2026-05-01T08:00:00+08:00", "advance_seconds": 5}, 400),
        ({"advance": 5}, 400),
    ],
)
def test_the_clock_endpoint_refuses_bad_bodies(
    clock_client: FlaskClient, clock: TestClock, body: dict, status: int
) -> None:
    before = clock.now()
    assert_error(clock_client.post("/api/v1/admin/clock", json=body), status)
    assert clock.now() == before
