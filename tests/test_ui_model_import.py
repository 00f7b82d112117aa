"""The Camunda import page (/models/import): upload, read the report, deploy; owners only."""
from __future__ import annotations

import re
from collections.abc import Callable
from io import BytesIO

import pytest
from flask import Flask

from engine import users
from tests.test_camunda_import import FORM, SIMPLE, diagram
from tests.test_ui_pages import Session, text
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

CAMUNDA_DIAGRAM = diagram(
    SIMPLE.format(attrs='camunda:candidateGroups="management" camunda:formKey="embedded:app:forms/approve.html" '
                        'camunda:asyncBefore="true"')
    + '<bpmn:serviceTask id="Mail" name="发邮件" camunda:class="org.example.Mail"/>',
    process='id="approval" name="审批" isExecutable="true"')


@pytest.fixture
def import_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    users.seed_demo_users(state(app).db, only=["owner", "dispatcher", "supervisor"])
    return app


def upload(session: Session, files: list[tuple[str, bytes]], role_map: str = "", **fields: str):  # noqa: ANN201
    data = {"files": [(BytesIO(content), name) for name, content in files], "role_map": role_map,
            "csrf_token": session.token, **fields}
    return session.client.post("/models/import", data=data, content_type="multipart/form-data")


def hidden(body: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', body)


def test_the_owner_uploads_reads_the_report_and_deploys(import_app: Flask) -> None:
    owner = Session(import_app, "owner")
    page = owner.get("/models/import")
    assert page.status_code == 200
    assert 'type="file"' in text(page) and "multiple" in text(page) and 'name="role_map"' in text(page)
    assert "css/model_import.css" in text(page)

    response = upload(owner, [("approval.bpmn", CAMUNDA_DIAGRAM), ("approve.json", FORM)],
                      "management = supervisor")
    body = text(response)
    assert response.status_code == 200
    for table in ("report-mapped", "report-unsupported", "report-ignored"):
        assert f'id="{table}"' in body
    assert 'data-element="A" data-what="candidate_group"' in body
    assert 'data-element="Mail" data-what="java_class"' in body
    assert 'data-what="async"' in body
    assert 'id="import-deploy"' in body  # no error: the Deploy button is offered
    engine = state(import_app).engine
    assert not engine.list_definitions()  # nothing stored until Deploy

    deploy = {"csrf_token": owner.token, "action": "deploy", "role_map": hidden(body, "role_map")[0],
              "carried_name": hidden(body, "carried_name"), "carried_data": hidden(body, "carried_data")}
    deployed = owner.client.post("/models/import", data=deploy)
    assert deployed.status_code == 200 and 'id="import-deployed"' in text(deployed)
    assert [d["process_id"] for d in engine.list_definitions()] == ["approval"]


def test_findings_are_listed_with_element_ids_and_block_the_deploy_button(import_app: Flask) -> None:
    owner = Session(import_app, "owner")
    body = text(upload(owner, [("approval.bpmn", CAMUNDA_DIAGRAM)]))  # management is not mapped
    assert 'id="import-problems"' in body and 'id="import-deploy"' not in body
    problems = re.search(r'id="import-problems".*?</table>', body, re.S).group(0)
    assert 'data-element="A"' in problems
    assert 'data-what="unmapped_group"' in body and 'data-what="form_not_found"' in body


def test_a_broken_file_is_a_finding_on_the_page(import_app: Flask) -> None:
    owner = Session(import_app, "owner")
    response = upload(owner, [("broken.bpmn", b"<definitions><oops")])
    assert response.status_code == 200
    assert 'data-what="unreadable_file"' in text(response) and 'id="import-deploy"' not in text(response)


def test_a_bad_role_map_or_no_file_is_shown_beside_its_field(import_app: Flask) -> None:
    owner = Session(import_app, "owner")
    bad = upload(owner, [("approval.bpmn", CAMUNDA_DIAGRAM)], "management = boss")
    assert bad.status_code == 422 and 'id="e-role-map"' in text(bad)
    empty = owner.client.post("/models/import", data={"csrf_token": owner.token, "role_map": ""})
    assert empty.status_code == 422 and 'id="e-files"' in text(empty)


@pytest.mark.parametrize("username", ["dispatcher", "supervisor"])
def test_only_process_owners_may_import(import_app: Flask, username: str) -> None:
    other = Session(import_app, username)
    assert other.get("/models/import").status_code == 403
    assert upload(other, [("approval.bpmn", CAMUNDA_DIAGRAM)]).status_code == 403
    assert not state(import_app).engine.list_definitions()


def test_the_page_needs_a_signed_in_user_and_a_csrf_token(import_app: Flask) -> None:
    anonymous = import_app.test_client()
    assert anonymous.get("/models/import").headers["Location"].startswith("/login")
    owner = Session(import_app, "owner")
    forged = owner.client.post("/models/import", data={"files": [(BytesIO(CAMUNDA_DIAGRAM), "a.bpmn")]},
                               content_type="multipart/form-data")
    assert forged.status_code == 400
