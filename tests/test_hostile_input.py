"""Hostile input through the HTTP API and the web UI, where it enters.

Already covered elsewhere, and not repeated: XXE and billion laughs on the API deploy
(tests/test_api_hostile.py), the parser's limits and the script sandbox on their own
(tests/test_definitions.py, tests/test_scripting.py), sign-in throttling (tests/test_login_throttle.py).

Here: hostile XML in every upload path; scripts that try to break out, at deploy and at run time;
SQL in filter fields; oversized and deeply nested JSON; broken Unicode; path traversal in file
names, form references and URLs. Each must answer a 4xx that names what is wrong (a script the
time limit stops at run time is the logged 422 ``script_failed`` naming its element and file, which
leaves the case as it was), store nothing and run nothing.
"""
from __future__ import annotations

import base64
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select

from engine import comments, holidays, users
from engine.comments import CaseComment
from engine.models import AuditEvent, Deployment, HumanTask, ProcessDefinition, ProcessInstance, User
from engine.viewer import SYSTEM
from tests.conftest import BASIC_DIR
from tests.test_definitions import LAUGHS, XXE
from tests.test_ui_pages import Session
from tests.ui_support import COMPLAINT
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

INTAKE_BPMN = (BASIC_DIR / "processes" / "complaint_intake.bpmn").read_bytes()
REGISTER_SCRIPT = b"received_at = now()\n"
DISPATCH_PROPERTIES = b'<spiffworkflow:property name="formJsonSchemaFilename" value="dispatch.json" />'
ROOT_LINE = re.compile(r"root:.*:0:0:")  # what /etc/passwd would show


@pytest.fixture
def hostile_app(make_app: Callable[..., Flask]) -> Flask:
    """The basic process deployed (v1), the demo users, and a short script time limit."""
    app = make_app(processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms",
                   script_time_limit_seconds=0.3)
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    state(app).engine.deploy_directory("owner")
    return app


def bearer(app: Flask, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.issue_token(state(app).db, username, ttl_hours=1)}"}


def counts(app: Flask) -> dict[str, int]:
    """Row counts of what hostile input must never add to (or take from)."""
    tables = {"deployments": Deployment, "definitions": ProcessDefinition, "cases": ProcessInstance,
              "tasks": HumanTask, "comments": CaseComment, "users": User}
    with state(app).db.read() as session:
        return {name: session.scalar(select(func.count()).select_from(model)) for name, model in tables.items()}


def start_case(app: Flask) -> tuple[str, str]:
    """A running case and its open dispatch task."""
    engine = state(app).engine
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    return number, engine.get_case(number, SYSTEM)["tasks"][0]["id"]


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


# --- every upload path ----------------------------------------------------------------------------------


def multipart(filename: str, content: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body made by hand, so the file name arrives exactly as given (backslashes too)."""
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"').encode()
    parts = [b'--BOUNDARY\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v.encode())
             for k, v in fields.items()]
    parts.append(b'--BOUNDARY\r\nContent-Disposition: form-data; name="files"; filename="' + quoted
                 + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content + b"\r\n")
    return b"".join(parts) + b"--BOUNDARY--\r\n", "multipart/form-data; boundary=BOUNDARY"


def _api_upload(path: str) -> Callable[[Flask, str, bytes], object]:
    def send(app: Flask, filename: str, content: bytes):  # noqa: ANN202
        body, content_type = multipart(filename, content)
        return app.test_client().post(path, data=body, headers=bearer(app, "owner"), content_type=content_type)

    return send


def _editor(path: str) -> Callable[[Flask, str, bytes], object]:
    def send(app: Flask, filename: str, content: bytes):  # noqa: ANN202
        owner = Session(app, "owner")
        body = {"files": [{"filename": filename, "content": content.decode("utf-8", "surrogateescape")}]}
        return owner.client.post(path, data=json.dumps(body, ensure_ascii=True), content_type="application/json",
                                 headers={"X-CSRFToken": owner.token, "Accept": "application/json"})

    return send


def _import_page(app: Flask, filename: str, content: bytes):  # noqa: ANN202
    owner = Session(app, "owner")
    body, content_type = multipart(filename, content, csrf_token=owner.token, action="deploy")
    return owner.client.post("/models/import", data=body, content_type=content_type)


UPLOADS = {
    "api-deploy": _api_upload("/api/v1/process-definitions"),
    "api-validate": _api_upload("/api/v1/process-definitions/validate"),
    "api-import": _api_upload("/api/v1/process-definitions/import"),
    "editor-validate": _editor("/models/validate"),
    "editor-deploy": _editor("/models/deploy"),
    "import-page": _import_page,
}

DEEP = b"<a>" * 10_000 + b"</a>" * 10_000
# Over the 2 MiB model limit, under the 8 MiB request limit: the file is refused, by name.
HUGE = INTAKE_BPMN.replace(b"</bpmn:definitions>", b"<!--" + b"x" * (2 * 1024 * 1024) + b"--></bpmn:definitions>")


@pytest.mark.parametrize("upload", sorted(UPLOADS))
@pytest.mark.parametrize("content", [XXE, LAUGHS, DEEP, HUGE], ids=["xxe", "billion-laughs", "deep", "huge"])
def test_hostile_xml_in_every_upload_path_is_refused_by_file_name(hostile_app: Flask, upload: str,
                                                                  content: bytes) -> None:
    before = counts(hostile_app)
    response = UPLOADS[upload](hostile_app, "evil.bpmn", content)
    body = text(response)
    assert response.status_code in (200, 413, 422), body[:500]
    assert "evil.bpmn" in body  # the answer names the file
    if content is HUGE:
        assert "limit" in body
    else:
        assert response.status_code != 413
    if response.status_code == 200 and response.is_json:
        found = response.get_json()
        assert found.get("valid") is False or found.get("deployed") is None, found
        assert any(p.get("file") == "evil.bpmn" for p in found["problems"]), found
    assert "RecursionError" not in body and not ROOT_LINE.search(body)
    assert counts(hostile_app) == before


DEEP_FORMS = {"deep-list": "[" * 5000 + "]" * 5000,
              "deep-schema": '{"type": "object", "properties": {"a": ' * 400 + "{}" + "}}" * 400}


@pytest.mark.parametrize("upload", sorted(UPLOADS))
@pytest.mark.parametrize("form", sorted(DEEP_FORMS))
def test_a_deeply_nested_form_file_is_a_finding(hostile_app: Flask, upload: str, form: str) -> None:
    before = counts(hostile_app)
    response = UPLOADS[upload](hostile_app, "deep.json", DEEP_FORMS[form].encode())
    body = text(response)
    assert response.status_code in (200, 422), body[:500]
    assert "deep.json" in body
    if "import" not in upload:  # the import stops earlier: no diagram in the upload
        assert "nested more than 64 levels deep" in body, body[:500]
    assert counts(hostile_app) == before


def test_deeply_nested_json_in_the_form_preview_and_the_role_map(hostile_app: Flask) -> None:
    owner = Session(hostile_app, "owner")
    preview = owner.post("/models/forms/preview", {"schema": DEEP_FORMS["deep-schema"]})
    assert preview.status_code == 200 and "64" in text(preview)
    body, content_type = multipart("complaint_intake.bpmn", INTAKE_BPMN, role_map='{"a":' * 3000 + "1" + "}" * 3000)
    response = hostile_app.test_client().post("/api/v1/process-definitions/import", data=body,
                                              content_type=content_type, headers=bearer(hostile_app, "owner"))
    assert response.status_code == 400 and list(response.get_json()["error"]["fields"]) == ["role_map"]


# --- scripts that try to break out -------------------------------------------------------------------------

# Each would create the marker file if it ran.
ESCAPES = {
    "import": 'import os\nos.system("touch {marker}")',
    "dunder-import": '__import__("os").system("touch {marker}")',
    "subclasses": '[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == "FileIO"][0]'
                  '("{marker}", "w")',
    "globals": 'getattr(now, "__globals__")["__builtins__"]["open"]("{marker}", "w")',
    "open": 'open("{marker}", "w").write("x")',
}


def _with_script(script: str) -> bytes:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return INTAKE_BPMN.replace(REGISTER_SCRIPT, escaped.encode() + b"\n" + REGISTER_SCRIPT, 1)


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_scripts_that_try_to_break_out_are_refused_at_deploy(hostile_app: Flask, tmp_path: Path,
                                                             escape: str) -> None:
    marker = tmp_path / "pwned"
    diagram = _with_script(ESCAPES[escape].format(marker=marker))
    before = counts(hostile_app)
    for upload in ("api-deploy", "editor-deploy"):
        response = UPLOADS[upload](hostile_app, "complaint_intake.bpmn", diagram)
        assert response.status_code == 422, text(response)[:500]
        problems = response.get_json()["error"]["problems"]
        assert any(p["element_id"] == "Task_register" and p["rule"] == "script" for p in problems), problems
    assert counts(hostile_app) == before
    # The case runs on the version that was deployed before: the script never ran.
    start_case(hostile_app)
    assert not marker.exists()


def _with_post_script(script: str) -> bytes:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
    return INTAKE_BPMN.replace(DISPATCH_PROPERTIES, DISPATCH_PROPERTIES + b"\n        </spiffworkflow:properties>\n"
                               b"        <spiffworkflow:postScript>" + escaped + b"</spiffworkflow:postScript>\n"
                               b"        <spiffworkflow:properties>", 1)


RUNAWAY = {"endless": "while True:\n    pass", "recursion": "def down(n):\n    return down(n + 1)\ndown(0)"}


@pytest.mark.parametrize("script", sorted(RUNAWAY))
def test_a_runaway_script_is_stopped_and_the_case_can_go_on(hostile_app: Flask, script: str) -> None:
    client = hostile_app.test_client()
    owner = bearer(hostile_app, "owner")
    deployed = client.post("/api/v1/process-definitions", headers=owner, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(_with_post_script(RUNAWAY[script])), "complaint_intake.bpmn")]})
    assert deployed.status_code == 201, text(deployed)  # nothing in the text says it never ends
    number, task_id = start_case(hostile_app)
    dispatcher = bearer(hostile_app, "dispatcher")
    data = {"data": {"department": "network", "dispatch_note": "请核查"}}
    started = time.monotonic()
    failed = client.post(f"/api/v1/tasks/{task_id}/complete", json=data, headers=dispatcher)
    assert time.monotonic() - started < 10
    # The model's fault, not ours: a 4xx naming the element and the file, not a 500.
    error = failed.get_json()["error"]
    assert failed.status_code == 422 and error["code"] == "script_failed", text(failed)
    assert (error["element_id"], error["file"]) == ("Task_dispatch", "complaint_intake.bpmn")
    limit = state(hostile_app).settings.script_time_limit_seconds
    stopped = {"endless": f"ran past its {limit:g} s time limit and was stopped",
               "recursion": "recursed too deeply and was stopped"}[script]
    assert error["message"].startswith(f"script of Task_dispatch in complaint_intake.bpmn {stopped}"), error
    # The case is as it was: the task is open, nothing was completed, the fault is on record.
    case = client.get(f"/api/v1/complaints/{number}", headers=bearer(hostile_app, "supervisor")).get_json()
    assert case["status"] == "running" and [t["id"] for t in case["tasks"]] == [task_id]
    assert stopped in case["last_error"] and "Task_dispatch" in case["last_error"]
    assert not [e for e in case["timeline"] if e["type"] == "task_completed" and e["task_id"] == task_id]
    # Through the task page too: an error page naming the script, not a crash, and the task stays open.
    page = Session(hostile_app, "dispatcher").post(f"/tasks/{task_id}",
                                                   {"department": "network", "dispatch_note": "请核查"})
    assert page.status_code == 422 and "<html" in text(page).lower() and "Task_dispatch" in text(page)
    # The owner fixes the diagram and moves the case onto it; then the task completes.
    fixed = client.post("/api/v1/process-definitions", headers=owner, content_type="multipart/form-data",
                        data={"files": [(io.BytesIO(_with_post_script("checked = True")), "complaint_intake.bpmn")]})
    version = fixed.get_json()["definitions"][0]["version"]
    moved = client.post("/api/v1/process-definitions/complaint_intake/migrations", headers=owner,
                        json={"to_version": version, "cases": [number]})
    assert moved.get_json()["migrated"] == 1, text(moved)
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json=data, headers=dispatcher)
    assert done.status_code == 200, text(done)
    assert [t["bpmn_id"] for t in state(hostile_app).engine.get_case(number, SYSTEM)["tasks"]] == ["Task_handle"]


# --- SQL in filter fields ----------------------------------------------------------------------------------

INJECTIONS = ["' OR 1=1 --", "1; DROP TABLE users", "%' OR '1'='1", "x\" OR \"\"=\""]
TASK_FILTERS = ["q", "city", "tier", "category", "role", "assignee", "business_line", "region", "sort", "page",
                "page_size", "overdue", "due_within_hours"]
REPORT_QUERIES = {
    "/api/v1/reports/service-quality": ["from", "to", "period", "split", "format"],
    "/api/v1/reports/standards": ["from", "to", "period", "split", "missed"],
    "/api/v1/reports/appeals/monthly": ["month"],
    "/api/v1/reports/cases": ["figure", "part", "from", "to", "split", "key", "page", "page_size"],
    "/reports": ["from", "to", "period", "split"],
    "/reports/standards": ["from", "to", "period"],
    "/reports/appeals": ["month"],
    "/reports/cases": ["figure", "part", "split", "key", "page"],
    "/reports/cases/rows": ["figure", "part", "split", "key"],
}


def _schema(app: Flask) -> tuple[set[str], dict[str, int]]:
    with state(app).db.read() as session:
        names = set(inspect(session.connection()).get_table_names())
    return names, counts(app)


def test_sql_in_filter_fields_is_refused_or_matches_nothing(hostile_app: Flask) -> None:
    number, task_id = start_case(hostile_app)
    before = _schema(hostile_app)
    client = hostile_app.test_client()
    supervisor = bearer(hostile_app, "supervisor")
    page = Session(hostile_app, "supervisor")
    assert client.get("/api/v1/tasks", headers=supervisor).get_json()["total"] == 1
    for injection in INJECTIONS:
        for name in TASK_FILTERS:
            response = client.get("/api/v1/tasks", query_string={name: injection}, headers=supervisor)
            if response.status_code == 400:
                assert name in response.get_json()["error"]["fields"], text(response)
            else:
                assert response.status_code == 200 and response.get_json()["items"] == [], (name, text(response))
        for query in ({"phone": injection}, {"phone": COMPLAINT["phone"], "category": injection}):
            response = client.get("/api/v1/complaints", query_string=query, headers=supervisor)
            assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) & set(query)
        for path, names in REPORT_QUERIES.items():
            for name in names:
                query = {name: injection, **({"figure": "closure"} if "cases" in path and name != "figure" else {})}
                if path.startswith("/api/"):
                    response = client.get(path, query_string=query, headers=supervisor)
                else:
                    response = page.get(path, query_string=query)
                assert response.status_code in (200, 400), (path, name, response.status_code)
    for injection in INJECTIONS:
        rows = page.get("/inbox/rows", query_string={"q": injection, "city": injection, "tier": injection})
        assert rows.status_code == 200 and number not in text(rows)
        assert page.get("/desk", query_string={"q": injection, "city": injection}).status_code == 200
        assert page.get("/desk/cases.csv", query_string={"q": injection}).status_code == 200
    assert number in text(page.get("/inbox/rows"))  # the task is there when nothing filters it out
    assert _schema(hostile_app) == before
    assert client.get(f"/api/v1/tasks/{task_id}", headers=supervisor).status_code == 200


# --- oversized and deeply nested JSON -------------------------------------------------------------------------

NINE_MIB = 9 * 1024 * 1024


def test_an_oversized_json_body_is_413_and_stores_nothing(hostile_app: Flask) -> None:
    number, task_id = start_case(hostile_app)
    before = counts(hostile_app)
    client = hostile_app.test_client()
    huge = {**COMPLAINT, "description": "长" * (NINE_MIB // 3 + 1)}
    calls = [("/api/v1/complaints", bearer(hostile_app, "intake"), huge),
             (f"/api/v1/tasks/{task_id}/complete", bearer(hostile_app, "dispatcher"), {"data": huge}),
             ("/api/v1/messages/appeal_received", bearer(hostile_app, "appeals"), {"payload": huge})]
    for path, headers, body in calls:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 413, text(response)[:300]
        assert response.get_json()["error"]["code"] == "payload_too_large"
    owner = Session(hostile_app, "owner")
    editor = owner.client.post("/models/deploy", json={"files": [{"filename": "x.bpmn", "content": "x" * NINE_MIB}]},
                               headers={"X-CSRFToken": owner.token, "Accept": "application/json"})
    assert editor.status_code == 413
    comment = Session(hostile_app, "supervisor")
    assert comment.post(f"/cases/{number}/comments", {"body": "长" * (NINE_MIB // 3 + 1)}).status_code == 413
    assert counts(hostile_app) == before


def test_json_nested_100000_deep_is_a_400(hostile_app: Flask) -> None:
    number, task_id = start_case(hostile_app)
    before = counts(hostile_app)
    client = hostile_app.test_client()
    deep_list = "[" * 100_000 + "]" * 100_000
    deep_object = '{"a":' * 100_000 + "1" + "}" * 100_000
    calls = [("POST", "/api/v1/complaints", "intake", deep_list),
             ("POST", "/api/v1/complaints", "intake", deep_object),
             ("POST", f"/api/v1/tasks/{task_id}/complete", "dispatcher", '{"data": ' + deep_object + "}"),
             ("POST", "/api/v1/messages/appeal_received", "appeals", '{"payload": ' + deep_list + "}"),
             ("POST", "/api/v1/auth/token", None, deep_object),
             ("PUT", "/api/v1/reports/settings", "admin", deep_object)]
    for method, path, who, body in calls:
        headers = bearer(hostile_app, who) if who else {}
        response = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, (path, text(response)[:300])
        assert "nested" in response.get_json()["error"]["message"]
    owner = Session(hostile_app, "owner")
    for path in ("/models/validate", "/models/deploy"):
        response = owner.client.post(path, data='{"files": ' + deep_list + "}", content_type="application/json",
                                     headers={"X-CSRFToken": owner.token, "Accept": "application/json"})
        assert response.status_code == 400, text(response)[:300]
    assert counts(hostile_app) == before
    assert client.get(f"/api/v1/complaints/{number}", headers=bearer(hostile_app, "supervisor")).status_code == 200


# --- broken Unicode ---------------------------------------------------------------------------------------------


def _complaint_bytes(field: str, raw: bytes) -> bytes:
    """The complaint as JSON bytes with ``raw`` spliced into ``field``'s string."""
    marker = "MARKER_FOR_RAW_BYTES"
    body = json.dumps({**COMPLAINT, field: marker}, ensure_ascii=False).encode("utf-8")
    return body.replace(marker.encode(), raw)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"\xed\xa0\x80", b"\\ud800", b"abc\\udfff", b"\\u0000"],
                         ids=["invalid-bytes", "utf8-surrogate", "lone-high-surrogate", "lone-low-surrogate", "nul"])
def test_broken_unicode_in_api_fields_is_a_400_naming_the_field(hostile_app: Flask, raw: bytes) -> None:
    number, task_id = start_case(hostile_app)
    before = counts(hostile_app)
    client = hostile_app.test_client()
    response = client.post("/api/v1/complaints", data=_complaint_bytes("customer_name", raw),
                           content_type="application/json", headers=bearer(hostile_app, "intake"))
    assert response.status_code == 400, text(response)
    assert list(response.get_json()["error"]["fields"]) == ["customer_name"]
    form = b'{"data": {"department": "network", "dispatch_note": "' + raw + b'"}}'
    response = client.post(f"/api/v1/tasks/{task_id}/complete", data=form, content_type="application/json",
                           headers=bearer(hostile_app, "dispatcher"))
    assert response.status_code == 400, text(response)
    assert list(response.get_json()["error"]["fields"]) == ["data.dispatch_note"]
    message = b'{"correlation": "' + raw + b'", "payload": {}}'
    response = client.post("/api/v1/messages/appeal_received", data=message, content_type="application/json",
                           headers=bearer(hostile_app, "appeals"))
    assert response.status_code == 400 and list(response.get_json()["error"]["fields"]) == ["correlation"]
    assert counts(hostile_app) == before
    case = client.get(f"/api/v1/complaints/{number}", headers=bearer(hostile_app, "supervisor")).get_json()
    assert [t["id"] for t in case["tasks"]] == [task_id]


@pytest.mark.parametrize("raw", ["%FF%FE", "%ED%A0%80", "%00"], ids=["invalid-bytes", "utf8-surrogate", "nul"])
def test_broken_unicode_in_page_forms_is_a_400_naming_the_field(hostile_app: Flask, raw: str) -> None:
    number, task_id = start_case(hostile_app)
    before = counts(hostile_app)
    with state(hostile_app).db.read() as session:
        comments_before = len(comments.list_comments(session, number))
    posts = [("supervisor", f"/cases/{number}/comments", "body"),
             ("intake", "/complaints/new", "customer_name"),
             ("dispatcher", f"/tasks/{task_id}", "dispatch_note")]
    for who, path, field in posts:
        page = Session(hostile_app, who)
        fields = {"csrf_token": page.token, "department": "network", "body": "ok", "dispatch_note": "ok",
                  **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in COMPLAINT.items()}}
        fields[field] = "PLACEHOLDER"
        body = urlencode(fields).replace("PLACEHOLDER", "x" + raw + "y")
        response = page.client.post(path, data=body.encode("ascii"),
                                    content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400, (path, response.status_code, text(response)[:300])
        assert f"“{field}”" in text(response)
    assert counts(hostile_app) == before
    with state(hostile_app).db.read() as session:
        assert len(comments.list_comments(session, number)) == comments_before
        assert not session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.type == "task_completed", AuditEvent.task_id == task_id))


def test_a_nul_in_the_query_or_the_path_is_refused(hostile_app: Flask) -> None:
    """PostgreSQL cannot hold a NUL in a string parameter: it never reaches a query."""
    number, task_id = start_case(hostile_app)
    client = hostile_app.test_client()
    supervisor = bearer(hostile_app, "supervisor")
    for path in ("/api/v1/tasks?q=x%00", "/api/v1/complaints?phone=1380013800%00",
                 "/api/v1/reports/cases?figure=closure&key=%00", "/api/v1/desk?city=%00"):
        response = client.get(path, headers=supervisor)
        assert response.status_code == 400, (path, text(response))
        assert "NUL" in response.get_json()["error"]["message"]
    for path in (f"/api/v1/complaints/{number}%00", f"/api/v1/tasks/{task_id}%00",
                 "/api/v1/process-definitions/complaint%00/versions"):
        assert client.get(path, headers=supervisor).status_code == 404, path
    page = Session(hostile_app, "supervisor")
    for path in ("/inbox?q=%00", f"/cases/{number}%00", "/reports/cases?figure=closure&key=%00"):
        response = page.get(path)
        assert response.status_code == 400 and "NUL" in text(response), path


# --- path traversal -------------------------------------------------------------------------------------------

TRAVERSALS = ["../x.json", "..\\x.json", "/etc/passwd", "../complaint_intake.bpmn", "forms/../../x.json",
              "C:\\Windows\\win.ini", ".."]


@pytest.mark.parametrize("upload", sorted(UPLOADS))
def test_upload_file_names_with_paths_are_refused(hostile_app: Flask, upload: str) -> None:
    before = counts(hostile_app)
    for name in TRAVERSALS:
        content = b"{}" if name.endswith(".json") else INTAKE_BPMN
        response = UPLOADS[upload](hostile_app, name, content)
        assert 400 <= response.status_code < 500, (name, response.status_code, text(response)[:300])
        assert not ROOT_LINE.search(text(response))
    assert counts(hostile_app) == before


def test_a_form_reference_outside_the_forms_is_a_finding(hostile_app: Flask) -> None:
    before = counts(hostile_app)
    for reference in ("../../etc/passwd", "/etc/passwd", "..\\..\\x.json", "../forms/dispatch.json"):
        diagram = INTAKE_BPMN.replace(b'value="dispatch.json"', f'value="{reference}"'.encode(), 1)
        for upload in ("api-deploy", "editor-deploy", "api-validate", "editor-validate"):
            response = UPLOADS[upload](hostile_app, "complaint_intake.bpmn", diagram)
            body = text(response)
            assert response.status_code in (200, 422), body[:300]
            found = response.get_json()
            problems = found["problems"] if "problems" in found else found["error"]["problems"]
            assert any(p["element_id"] == "Task_dispatch" and p["rule"] == "form-missing" for p in problems), body
            assert not ROOT_LINE.search(body)
    assert counts(hostile_app) == before


@pytest.mark.parametrize("path", [
    "/models/forms/..%2F..%2Fetc%2Fpasswd/edit",
    "/models/forms/%2Fetc%2Fpasswd/edit",
    "/models/forms/..%2F..%2F..%2Fetc%2Fpasswd.json/edit",
    "/models/forms/..json/edit",
    "/models/dmn/..%2F..%2Fetc%2Fpasswd/edit",
    "/models/dmn/..%5C..%5Cx.dmn/edit",
    "/models/..%2F..%2Fetc%2Fpasswd/edit",
    "/static/..%2F..%2Fengine%2Fconfig.py",
    "/static/../../engine/config.py",
    "/static/%2Fetc%2Fpasswd",
])
def test_path_traversal_in_urls_reads_nothing(hostile_app: Flask, path: str) -> None:
    response = Session(hostile_app, "owner").get(path, follow_redirects=True)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert all(urlsplit(step.headers["Location"]).netloc in ("", "localhost") for step in response.history)
    body = text(response)
    assert not ROOT_LINE.search(body) and "class Settings" not in body


def test_a_carried_import_file_name_cannot_climb_out(hostile_app: Flask) -> None:
    """The import page's Deploy button sends the files back base64-encoded with their names: check those too."""
    before = counts(hostile_app)
    owner = Session(hostile_app, "owner")
    response = owner.client.post("/models/import", data={
        "csrf_token": owner.token, "action": "deploy", "carried_name": "../complaint_intake.bpmn",
        "carried_data": base64.b64encode(INTAKE_BPMN).decode()})
    assert 400 <= response.status_code < 500 or "complaint_intake.bpmn" in text(response)
    assert counts(hostile_app) == before
