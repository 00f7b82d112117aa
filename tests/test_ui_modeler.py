"""The model editors' pages and JSON endpoints through Flask's test client (webapp/ui/modeler.py).

Process owners only; the JSON endpoints need the session's CSRF token in X-CSRFToken, answer errors
as JSON naming the field, report broken models as findings (never a 500), and deploy the working set
with the posted files applied.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import editor_catalog, holidays, users
from engine.scripting import ScriptContext, _Helpers
from webapp import state
from webapp.ui import modeler

pytest_plugins = ["tests.web_fixtures"]

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
DATA_BLOCK = re.compile(r'<script type="application/json" id="modeler-data">(.*?)</script>', re.S)


@pytest.fixture
def editor_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    state(app).engine.deploy_directory("owner")
    return app


class Signed:
    """A test client signed in as one user; ``token`` is the CSRF token of its session."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        login = {"username": username, "password": "demo", "csrf_token": FORM_TOKEN.search(page).group(1)}
        assert self.client.post("/login", data=login).status_code == 302
        self.token = FORM_TOKEN.search(self.client.get("/inbox").get_data(as_text=True)).group(1)

    def post_json(self, path: str, body: object, csrf: bool = True):  # noqa: ANN201
        headers = {"Accept": "application/json"}
        if csrf:
            headers["X-CSRFToken"] = self.token
        if isinstance(body, str):  # raw JSON text, e.g. with an escape json.dumps would not write
            return self.client.post(path, data=body, content_type="application/json", headers=headers)
        return self.client.post(path, json=body, headers=headers)


@pytest.fixture
def owner(editor_app: Flask) -> Signed:
    return Signed(editor_app, "owner")


def files(name: str, content: str) -> dict:
    return {"files": [{"filename": name, "content": content}]}


def dispatch_xml(app: Flask) -> str:
    return state(app).engine.current_files()["complaint_dispatch.bpmn"][1]


def editor_data(response) -> dict:  # noqa: ANN001
    return json.loads(DATA_BLOCK.search(response.get_data(as_text=True)).group(1))


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["dispatcher", "supervisor", "admin"])
def test_editors_are_for_process_owners_only(editor_app: Flask, username: str) -> None:
    other = Signed(editor_app, username)
    for path in ("/models/complaint_dispatch/edit", "/models/new", "/models/dmn/sla_policy.dmn/edit",
                 "/models/forms/dispatch.json/edit", "/models/forms/new"):
        assert other.client.get(path).status_code == 403, path
    for path in ("/models/validate", "/models/deploy"):
        response = other.post_json(path, files("complaint_dispatch.bpmn", dispatch_xml(editor_app)))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden", path
    preview = other.client.post("/models/forms/preview", data={"schema": "{}"}, headers={"X-CSRFToken": other.token})
    assert preview.status_code == 403
    versions = state(editor_app).engine.list_definitions()
    assert {d["version"] for d in versions} == {1}


def test_signed_out_json_calls_get_401_and_pages_send_to_sign_in(editor_app: Flask) -> None:
    client = editor_app.test_client()
    response = client.post("/models/validate", json={}, headers={"Accept": "application/json"})
    assert response.status_code in (400, 401)  # the CSRF check may answer first; never a page or a 500
    assert response.get_json()["error"]
    page = client.get("/models/complaint_dispatch/edit")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_json_calls_need_the_csrf_token(owner: Signed, editor_app: Flask) -> None:
    for path in ("/models/validate", "/models/deploy"):
        response = owner.post_json(path, files("complaint_dispatch.bpmn", dispatch_xml(editor_app)), csrf=False)
        assert response.status_code == 400, path
        assert response.get_json()["error"]["code"] == "csrf_failed"
    assert owner.client.post("/models/forms/preview", data={"schema": "{}"}).status_code == 400
    assert {d["version"] for d in state(editor_app).engine.list_definitions()} == {1}


# --- the pages -------------------------------------------------------------------------------------


def test_bpmn_editor_page_carries_the_diagram_and_the_choices_as_json(owner: Signed, editor_app: Flask) -> None:
    response = owner.client.get("/models/complaint_dispatch/edit")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>" not in body  # the CSP forbids inline scripts: data only
    assert META_TOKEN.search(body)
    data = editor_data(response)
    assert data["filename"] == "complaint_dispatch.bpmn" and data["process_id"] == "complaint_dispatch"
    assert data["xml"] == dispatch_xml(editor_app)
    codes = [r["code"] for r in data["roles"]]
    assert codes[:5] == ["intake", "dispatcher", "escalation", "appeals", "supervisor"]
    assert {"dept:network", "dept:billing"} <= set(codes)
    assert "dispatch.json" in data["forms"] and "result_review.json" in data["forms"]
    assert data["decisions"] == [{"id": "sla_policy", "name": "SLA策略", "file": "sla_policy.dmn"}]
    assert [h["name"] for h in data["helpers"]][:2] == ["now", "due_in"]
    assert data["urls"]["validate"] == "/models/validate" and data["urls"]["models"] == "/models"
    assert data["urls"]["form_editor"] == "/models/forms/__NAME__/edit"


def test_helper_hints_name_every_helper_the_script_engine_provides() -> None:
    provided = set(_Helpers(ScriptContext()).names)
    assert {name for name, _signature in modeler.HELPERS} == provided


def test_unknown_models_are_404_and_bad_file_names_400(owner: Signed) -> None:
    assert owner.client.get("/models/no_such_process/edit").status_code == 404
    assert owner.client.get("/models/dmn/missing.dmn/edit").status_code == 404
    assert owner.client.get("/models/forms/missing.json/edit").status_code == 404
    assert owner.client.get("/models/dmn/dispatch.json/edit").status_code == 404  # not a DMN file
    assert owner.client.get("/models/forms/a..json/edit").status_code == 400
    assert owner.client.get("/models/dmn/..%5Csla_policy.dmn/edit").status_code == 400


def test_new_process_page_starts_from_a_template_that_deploys(owner: Signed, editor_app: Flask) -> None:
    response = owner.client.get("/models/new")
    assert response.status_code == 200
    data = editor_data(response)
    assert data["new"] is True and data["filename"] == "new_process.bpmn"
    assert 'id="editor-filename"' in response.get_data(as_text=True)
    answer = owner.post_json("/models/validate", {**files("new_process.bpmn", data["xml"]), "new": True})
    assert answer.status_code == 200
    problems = answer.get_json()["problems"]
    assert all(p.get("severity") == "warning" for p in problems), problems  # at most: bind a form
    deployed = owner.post_json("/models/deploy", {**files("new_process.bpmn", data["xml"]), "new": True})
    assert deployed.status_code == 200, deployed.get_json()
    assert {"process_id": "new_process", "version": 1} in [
        {k: d[k] for k in ("process_id", "version")} for d in deployed.get_json()["definitions"]]
    # The same name again as a new file is refused: it would overwrite the deployed one.
    again = owner.post_json("/models/deploy", {**files("new_process.bpmn", data["xml"]), "new": True})
    assert again.status_code == 409
    assert again.get_json()["error"]["fields"] == {"files[0].filename": "already exists"}


def test_form_and_dmn_pages_show_who_uses_them(owner: Signed) -> None:
    form = owner.client.get("/models/forms/dispatch.json/edit").get_data(as_text=True)
    assert 'href="/models/complaint_dispatch/edit"' in form
    assert '"departments"' in form  # the schema in the textarea
    assert 'data-field="departments"' in form  # and its preview
    dmn = owner.client.get("/models/dmn/sla_policy.dmn/edit").get_data(as_text=True)
    assert 'href="/models/complaint_intake/edit"' in dmn
    assert owner.client.get("/models/forms/new").status_code == 200


# --- the request body --------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "field"), [
    ("../complaint_dispatch.bpmn", "files[0].filename"),
    ("processes/complaint_dispatch.bpmn", "files[0].filename"),
    ("..\\x.bpmn", "files[0].filename"),
    ("notes.txt", "files[0].filename"),
    ("", "files[0].filename"),
])
def test_a_bad_file_name_is_400_naming_the_field(owner: Signed, editor_app: Flask, filename: str, field: str) -> None:
    for path in ("/models/validate", "/models/deploy"):
        response = owner.post_json(path, files(filename, dispatch_xml(editor_app)))
        assert response.status_code == 400, (path, response.get_json())
        assert field in response.get_json()["error"]["fields"]
    assert {d["version"] for d in state(editor_app).engine.list_definitions()} == {1}


@pytest.mark.parametrize(("body", "field"), [
    ([], "files"),
    ({}, "files"),
    ({"files": []}, "files"),
    ({"files": ["complaint_dispatch.bpmn"]}, "files[0]"),
    ({"files": [{"filename": "complaint_dispatch.bpmn"}]}, "files[0].content"),
    ('{"files": [{"filename": "a.bpmn", "content": "\\ud800"}]}', "files[0].content"),
])
def test_a_malformed_body_is_400_naming_the_field(owner: Signed, body: object, field: str) -> None:
    response = owner.post_json("/models/validate", body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_invalid_xml_comes_back_as_findings_not_a_500(owner: Signed, editor_app: Flask) -> None:
    response = owner.post_json("/models/validate", files("complaint_dispatch.bpmn", "<bpmn:definitions"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    assert body["problems"][0]["file"] == "complaint_dispatch.bpmn" and body["problems"][0]["line"] == 1
    refused = owner.post_json("/models/deploy", files("complaint_dispatch.bpmn", "<bpmn:definitions"))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"][0]["file"] == "complaint_dispatch.bpmn"
    entity = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'
    assert owner.post_json("/models/validate", files("complaint_dispatch.bpmn", entity)).get_json()["valid"] is False
    assert {d["version"] for d in state(editor_app).engine.list_definitions()} == {1}


def test_findings_are_pinned_to_element_ids(owner: Signed, editor_app: Flask) -> None:
    broken = dispatch_xml(editor_app).replace('cf:role="dispatcher"', 'cf:role="Dispatchers!"')
    problems = owner.post_json("/models/validate", files("complaint_dispatch.bpmn", broken)).get_json()["problems"]
    lane = [p for p in problems if p["element_id"] == "Lane_dispatch_dispatcher"]
    assert lane and lane[0]["file"] == "complaint_dispatch.bpmn" and lane[0]["line"]


# --- deploying ----------------------------------------------------------------------------------------


def test_deploying_a_changed_diagram_makes_new_versions_of_it_and_its_callers(owner: Signed,
                                                                             editor_app: Flask) -> None:
    changed = dispatch_xml(editor_app).replace('name="审核派发"', 'name="审核并派发"', 1)
    response = owner.post_json("/models/deploy", files("complaint_dispatch.bpmn", changed))
    assert response.status_code == 200, response.get_json()
    by_process = {d["process_id"]: d for d in response.get_json()["definitions"]}
    assert by_process["complaint_dispatch"]["version"] == 2 and by_process["complaint_dispatch"]["created"]
    assert by_process["complaint_intake"]["version"] == 2 and by_process["customer_appeal"]["version"] == 2
    assert by_process["upgraded_complaint"] == {**by_process["upgraded_complaint"], "version": 1, "created": False}
    assert 'name="审核并派发"' in dispatch_xml(editor_app)
    # Deploying the same content again changes nothing.
    again = owner.post_json("/models/deploy", files("complaint_dispatch.bpmn", changed)).get_json()
    assert not any(d["created"] for d in again["definitions"])


def test_deploying_a_changed_form_makes_new_versions_of_the_processes_using_it(owner: Signed,
                                                                              editor_app: Flask) -> None:
    schema = json.loads(state(editor_app).engine.current_files()["result_review.json"][1])
    schema["properties"]["recheck_note"] = {"type": "string", "title": "复核意见"}
    response = owner.post_json("/models/deploy", files("result_review.json", json.dumps(schema, ensure_ascii=False)))
    assert response.status_code == 200
    created = {d["process_id"] for d in response.get_json()["definitions"] if d["created"]}
    assert created == {"complaint_dispatch", "complaint_intake", "customer_appeal"}


def test_a_form_that_is_not_a_json_schema_is_refused(owner: Signed, editor_app: Flask) -> None:
    response = owner.post_json("/models/deploy", files("result_review.json", '{"type": "objekt"}'))
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["file"] == "result_review.json"
    assert {d["version"] for d in state(editor_app).engine.list_definitions()} == {1}


# --- the form preview ------------------------------------------------------------------------------------


def preview(owner: Signed, text: str) -> str:
    response = owner.client.post("/models/forms/preview", data={"schema": text}, headers={"X-CSRFToken": owner.token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_form_preview_renders_fields_as_the_task_page_does(owner: Signed) -> None:
    html = preview(owner, json.dumps({"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean", "title": "通过"},
        "level": {"type": "string", "title": "等级", "enum": ["a", "b"], "x-enumNames": ["甲", "乙"]}}}))
    assert 'data-field="ok"' in html and 'type="radio"' in html
    assert '<option value="a"' in html and "甲" in html


def test_form_preview_names_what_is_wrong(owner: Signed) -> None:
    broken = preview(owner, '{"type": "object",\n  "properties": {"a": }}')
    assert "preview-error" in broken and re.search(r"\b2\b\D+\b23\b", broken), broken
    assert "preview-error" in preview(owner, "[1, 2]")
    bad_schema = preview(owner, '{"type": "object", "properties": {"a": {"type": "strin"}}}')
    assert "preview-error" in bad_schema and "properties/a/type" in bad_schema


def test_editor_catalog_reads_the_working_set(editor_app: Flask) -> None:
    current = state(editor_app).engine.current_files()
    users_of_form = editor_catalog.processes_using_form(current, "dispatch.json")
    assert "complaint_dispatch.bpmn" in {u["file"] for u in users_of_form}
    assert [u["process_id"] for u in editor_catalog.processes_using_dmn(current, "sla_policy.dmn")] == [
        "complaint_intake"]
    broken = {**current, "x.bpmn": ("bpmn", "<not xml")}
    assert editor_catalog.processes_by_file(broken).get("x.bpmn") is None  # skipped, not an error
