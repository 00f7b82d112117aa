"""The minimum HTTP contract against the real engine: complaints, tasks, messages, definitions.

Written against whatever processes/ and forms/ hold: task ids come from
GET /tasks, who may work a task from its role, and the data to complete it
from the task's form (its JSON Schema).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from engine.clock import TestClock
from engine.config import PROJECT_ROOT

pytest_plugins = ["tests.web_fixtures"]

PROCESSES = PROJECT_ROOT / "processes"
FORMS = PROJECT_ROOT / "forms"

COMPLAINT = {
    "phone": "18612345678",
    "customer_name": "张三",
    "star_level": 3,
    "svip": False,
    "channel": "10010",
    "business_line": "mobile",
    "category": "mobile_data",
    "region": "urban",
    "city": "北京",
    "description": "家中4G信号差，上网经常断线",
    "request": "尽快解决信号问题",
}

Headers = Callable[[str], dict]


def user_for_role(role: str) -> str:
    """The demo user who holds a role (dept:network -> network)."""
    return role.split(":", 1)[1] if role.startswith("dept:") else role


def assert_error(response, status: int, code: str | None = None) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def model_files() -> list[tuple[io.BytesIO, str]]:
    paths = sorted(PROCESSES.glob("*.bpmn")) + sorted(PROCESSES.glob("*.dmn")) + sorted(FORMS.glob("*.json"))
    return [(io.BytesIO(path.read_bytes()), path.name) for path in paths]


def upload(client: FlaskClient, headers: dict, files: list, path: str = "/api/v1/process-definitions"):  # noqa: ANN201
    return client.post(path, data={"files": files}, headers=headers, content_type="multipart/form-data")


def sample(schema: dict, name: str = "value") -> object:
    """A value that satisfies a (simple) JSON Schema: first enum choices, minimum lengths, every property."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return {key: sample(sub, key) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), name) for _ in range(schema.get("minItems", 0))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if schema.get("format") == "date-time":
        return "2026-03-02T10:00:00+08:00"
    if schema.get("format") == "date":
        return "2026-03-02"
    text = f"测试{name}"
    return text.ljust(schema.get("minLength", 0), "x")[: schema.get("maxLength", 200)]


def form_data(form: dict | None) -> dict:
    if not form:
        return {}
    data = sample(form)
    problems = [e.message for e in Draft202012Validator(form).iter_errors(data)]
    assert not problems, f"the test could not fill this form: {problems}"
    return data


@pytest.fixture
def case(client: FlaskClient, headers_for: Headers, deployed: dict) -> dict:
    response = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("intake"))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def open_tasks(client: FlaskClient, headers_for: Headers, number: str) -> list[dict]:
    response = client.get(f"/api/v1/tasks?q={number}&page_size=200", headers=headers_for("supervisor"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [task for task in response.get_json()["items"] if task["complaint_number"] == number]


def first_task(client: FlaskClient, headers_for: Headers, number: str) -> dict:
    tasks = open_tasks(client, headers_for, number)
    assert tasks, f"case {number} has no open task"
    return tasks[0]


# --- process definitions ---------------------------------------------------------------------


def test_deploy_list_and_redeploy(client: FlaskClient, headers_for: Headers, clock: TestClock) -> None:
    owner = headers_for("owner")
    response = upload(client, owner, model_files())
    assert response.status_code == 201, response.get_data(as_text=True)
    result = response.get_json()
    assert isinstance(result["deployment_id"], int)
    deployed = {d["process_id"]: d for d in result["definitions"]}
    assert "complaint_intake" in deployed
    assert all(d["created"] is True and d["version"] == 1 for d in deployed.values())

    again = upload(client, owner, model_files())
    assert again.status_code == 200, again.get_data(as_text=True)
    assert all(d["created"] is False for d in again.get_json()["definitions"])

    for user in ("owner", "supervisor", "admin"):
        listing = client.get("/api/v1/process-definitions", headers=headers_for(user))
        assert listing.status_code == 200
        items = listing.get_json()["items"]
        assert listing.get_json()["total"] == len(items) == len(deployed)
        intake = next(item for item in items if item["process_id"] == "complaint_intake")
        assert intake["version"] == 1
        assert intake["deployed_by"] == "owner"
        assert intake["instances"] == 0
        assert re.fullmatch(r"[0-9a-f]{64}", intake["content_hash"])
    assert_error(client.get("/api/v1/process-definitions", headers=headers_for("intake")), 403, "forbidden")


def test_a_broken_model_is_422_listing_each_problem_and_deploys_nothing(
    client: FlaskClient, headers_for: Headers
) -> None:
    owner = headers_for("owner")
    broken = b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n<oops'
    response = upload(client, owner, [(io.BytesIO(broken), "broken.bpmn")])
    error = assert_error(response, 422, "model_invalid")
    assert error["problems"], error
    for problem in error["problems"]:
        assert set(problem) >= {"file", "element_id", "line", "message"}
    assert error["problems"][0]["file"] == "broken.bpmn"
    assert isinstance(error["problems"][0]["line"], int)
    assert client.get("/api/v1/process-definitions", headers=owner).get_json()["items"] == []


def test_validate_without_deploying(client: FlaskClient, headers_for: Headers) -> None:
    owner = headers_for("owner")
    good = upload(client, owner, model_files(), "/api/v1/process-definitions/validate")
    assert good.status_code == 200, good.get_data(as_text=True)
    assert good.get_json() == {"valid": True, "problems": []}
    bad = upload(
        client, owner, [(io.BytesIO(b"<not-closed"), "bad.bpmn")], "/api/v1/process-definitions/validate"
    )
    assert bad.status_code == 200
    assert bad.get_json()["valid"] is False and bad.get_json()["problems"]
    assert client.get("/api/v1/process-definitions", headers=owner).get_json()["items"] == []


def test_deploy_needs_files(client: FlaskClient, headers_for: Headers) -> None:
    owner = headers_for("owner")
    response = client.post(
        "/api/v1/process-definitions", data={"other": "x"}, headers=owner, content_type="multipart/form-data"
    )
    assert "files" in assert_error(response, 400, "bad_request")["fields"]
    response = client.post("/api/v1/process-definitions", json={"files": []}, headers=owner)
    assert_error(response, 415, "unsupported_media_type")


def test_a_model_over_the_size_limit_is_413(make_app: Callable[..., Flask], headers_for: Headers) -> None:
    app = make_app(max_model_bytes=2048)
    big = b'<?xml version="1.0"?>\n<!--' + b"x" * 4096 + b"-->\n<definitions/>"
    response = upload(app.test_client(), headers_for("owner"), [(io.BytesIO(big), "big.bpmn")])
    assert_error(response, 413, "payload_too_large")


# --- complaints ------------------------------------------------------------------------------


def test_start_a_complaint(client: FlaskClient, headers_for: Headers, deployed: dict) -> None:
    response = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("intake"))
    assert response.status_code == 201, response.get_data(as_text=True)
    case = response.get_json()
    assert re.fullmatch(r"TS20260302\d{6}", case["number"])  # the clock says 2026-03-02 09:00 in Shanghai
    assert case["status"] == "running"
    assert response.headers["Location"] == f"/api/v1/complaints/{case['number']}"

    again = client.get(f"/api/v1/complaints/{case['number']}", headers=headers_for("intake"))
    assert again.status_code == 200
    body = again.get_json()
    assert body["number"] == case["number"]
    assert body["status"] == "running"
    assert body["data"]["phone"] == COMPLAINT["phone"]
    for clock_entry in body["sla"]:
        assert set(clock_entry) >= {"name", "policy", "due_at", "breached", "paused"}
        assert clock_entry["breached"] is False
    assert isinstance(body["tasks"], list)
    assert body["timeline"] and {"at", "type", "actor"} <= set(body["timeline"][0])

    second = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("supervisor"))
    assert second.status_code == 201
    assert second.get_json()["number"] != case["number"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": None}, "phone"),
        ({"star_level": 9}, "star_level"),
        ({"channel": "fax"}, "channel"),
        ({"region": "moon"}, "region"),
        ({"business_line": "satellite"}, "business_line"),
    ],
)
def test_a_bad_complaint_is_422_naming_the_field(
    client: FlaskClient, headers_for: Headers, deployed: dict, change: dict, field: str
) -> None:
    body = {**COMPLAINT, **change}
    body = {k: v for k, v in body.items() if v is not None}
    error = assert_error(client.post("/api/v1/complaints", json=body, headers=headers_for("intake")), 422)
    assert field in error["fields"]


def test_an_empty_complaint_names_every_missing_field(
    client: FlaskClient, headers_for: Headers, deployed: dict
) -> None:
    error = assert_error(client.post("/api/v1/complaints", json={}, headers=headers_for("intake")), 422)
    assert {"phone", "customer_name", "channel", "business_line", "category", "region"} <= set(
        error["fields"]
    )


def test_complaint_calls_need_a_token_and_the_role(
    client: FlaskClient, headers_for: Headers, case: dict
) -> None:
    assert_error(client.post("/api/v1/complaints", json=COMPLAINT), 401, "unauthorized")
    assert_error(client.get(f"/api/v1/complaints/{case['number']}"), 401, "unauthorized")
    assert_error(client.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("network")), 403)


def test_an_unknown_case_is_404(client: FlaskClient, headers_for: Headers, deployed: dict) -> None:
    assert_error(client.get("/api/v1/complaints/TS20990101000001", headers=headers_for("supervisor")), 404)
    for action in ("suspend", "resume"):
        response = client.post(
            f"/api/v1/complaints/TS20990101000001/{action}", headers=headers_for("supervisor")
        )
        assert_error(response, 404, "not_found")
    response = client.post(
        "/api/v1/complaints/TS20990101000001/cancel",
        json={"reason": "测试"},
        headers=headers_for("supervisor"),
    )
    assert_error(response, 404, "not_found")


def test_suspend_resume_cancel(client: FlaskClient, headers_for: Headers, case: dict) -> None:
    number = case["number"]
    supervisor = headers_for("supervisor")
    assert_error(client.post(f"/api/v1/complaints/{number}/suspend", headers=headers_for("dispatcher")), 403)

    response = client.post(f"/api/v1/complaints/{number}/suspend", headers=supervisor)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "suspended"
    assert_error(client.post(f"/api/v1/complaints/{number}/suspend", headers=supervisor), 409, "conflict")
    task = first_task(client, headers_for, number)
    claim = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers_for(user_for_role(task["role"])))
    assert_error(claim, 409, "conflict")  # no work on a suspended case

    response = client.post(f"/api/v1/complaints/{number}/resume", headers=supervisor)
    assert response.status_code == 200
    assert response.get_json()["status"] == "running"
    assert_error(client.post(f"/api/v1/complaints/{number}/resume", headers=supervisor), 409, "conflict")

    no_reason = client.post(f"/api/v1/complaints/{number}/cancel", json={}, headers=supervisor)
    assert "reason" in assert_error(no_reason, 422, "validation_failed")["fields"]
    response = client.post(
        f"/api/v1/complaints/{number}/cancel", json={"reason": "客户撤诉"}, headers=supervisor
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["ended_at"]
    assert open_tasks(client, headers_for, number) == []
    response = client.post(
        f"/api/v1/complaints/{number}/cancel", json={"reason": "again"}, headers=supervisor
    )
    assert_error(response, 409, "conflict")


# --- tasks -----------------------------------------------------------------------------------


def test_the_inbox_shows_each_role_its_tasks(client: FlaskClient, headers_for: Headers, case: dict) -> None:
    task = first_task(client, headers_for, case["number"])
    worker = user_for_role(task["role"])
    outsider = "billing" if worker != "billing" else "network"

    mine = client.get("/api/v1/tasks", headers=headers_for(worker)).get_json()
    assert task["id"] in [t["id"] for t in mine["items"]]
    assert mine["total"] >= 1
    theirs = client.get("/api/v1/tasks", headers=headers_for(outsider)).get_json()
    assert task["id"] not in [t["id"] for t in theirs["items"]]
    assert theirs["total"] == 0

    filtered = client.get(
        f"/api/v1/tasks?role={task['role']}&q={case['number']}", headers=headers_for(worker)
    )
    assert [t["id"] for t in filtered.get_json()["items"]] == [task["id"]]
    other_role = client.get("/api/v1/tasks?role=escalation", headers=headers_for(worker)).get_json()
    assert task["id"] not in [t["id"] for t in other_role["items"]]
    page_two = client.get("/api/v1/tasks?page=2&page_size=1", headers=headers_for(worker)).get_json()
    assert page_two["items"] == [] and page_two["total"] == mine["total"] == 1

    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=headers_for(worker))
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["complaint_number"] == case["number"]
    assert body["role"] == task["role"]
    assert body["assignee"] is None
    assert "due_at" in body and "form" in body
    assert body["form"] is None or body["form"].get("type") == "object"

    hidden = client.get(f"/api/v1/tasks/{task['id']}", headers=headers_for(outsider))
    assert hidden.status_code in (403, 404)
    assert_error(client.get("/api/v1/tasks/no-such-task", headers=headers_for(worker)), 404, "not_found")


def test_claim_release_and_conflicts(
    client: FlaskClient, headers_for: Headers, make_user: Callable[..., str], case: dict
) -> None:
    task = first_task(client, headers_for, case["number"])
    worker = user_for_role(task["role"])
    colleague = make_user("colleague", [task["role"]])
    url = f"/api/v1/tasks/{task['id']}"

    claimed = client.post(f"{url}/claim", headers=headers_for(worker))
    assert claimed.status_code == 200, claimed.get_data(as_text=True)
    assert claimed.get_json()["assignee"] == worker
    assert (
        client.post(f"{url}/claim", headers=headers_for(worker)).status_code == 200
    )  # idempotent for the holder

    assert_error(client.post(f"{url}/claim", headers=headers_for(colleague)), 409, "conflict")
    assert_error(client.post(f"{url}/release", headers=headers_for(colleague)), 409, "conflict")
    assert client.get(url, headers=headers_for(worker)).get_json()["assignee"] == worker

    released = client.post(f"{url}/release", headers=headers_for(worker))
    assert released.status_code == 200
    assert released.get_json()["assignee"] is None
    taken = client.post(f"{url}/claim", headers=headers_for(colleague))
    assert taken.status_code == 200 and taken.get_json()["assignee"] == colleague
    assert_error(
        client.post("/api/v1/tasks/no-such-task/claim", headers=headers_for(worker)), 404, "not_found"
    )


def test_reassign(
    client: FlaskClient, headers_for: Headers, make_user: Callable[..., str], case: dict
) -> None:
    task = first_task(client, headers_for, case["number"])
    worker = user_for_role(task["role"])
    colleague = make_user("colleague", [task["role"]])
    url = f"/api/v1/tasks/{task['id']}/reassign"

    assert_error(
        client.post(url, json={"assignee": colleague}, headers=headers_for(worker)), 403, "forbidden"
    )
    response = client.post(url, json={"assignee": colleague}, headers=headers_for("supervisor"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["assignee"] == colleague
    assert_error(
        client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers_for(worker)), 409, "conflict"
    )

    unknown = client.post(url, json={"assignee": "nobody"}, headers=headers_for("supervisor"))
    assert "assignee" in assert_error(unknown, 422, "validation_failed")["fields"]
    missing = client.post(url, json={}, headers=headers_for("supervisor"))
    assert "assignee" in assert_error(missing, 422, "validation_failed")["fields"]
    response = client.post(
        "/api/v1/tasks/no-such-task/reassign", json={"assignee": colleague}, headers=headers_for("supervisor")
    )
    assert_error(response, 404, "not_found")


def test_complete_validates_the_form_then_moves_the_case_on(
    client: FlaskClient, headers_for: Headers, case: dict
) -> None:
    task = first_task(client, headers_for, case["number"])
    worker = headers_for(user_for_role(task["role"]))
    url = f"/api/v1/tasks/{task['id']}"
    form = client.get(url, headers=worker).get_json()["form"]
    assert form and form.get("required"), "the first task's form should require something"

    rejected = client.post(f"{url}/complete", json={"data": {}}, headers=worker)
    error = assert_error(rejected, 422, "validation_failed")
    assert set(form["required"]) <= set(error["fields"])
    assert_error(client.post(f"{url}/complete", json={"data": []}, headers=worker), 422, "validation_failed")
    assert client.get(url, headers=worker).status_code == 200  # still open, nothing changed

    response = client.post(f"{url}/complete", json={"data": form_data(form)}, headers=worker)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert result["task_id"] == task["id"]
    assert result["case"]["number"] == case["number"]
    assert task["id"] not in [t["id"] for t in result["case"]["tasks"]]
    following = open_tasks(client, headers_for, case["number"])
    assert following and task["id"] not in [t["id"] for t in following]
    assert any(event.get("task_id") == task["id"] for event in result["case"]["timeline"])

    again = client.post(f"{url}/complete", json={"data": form_data(form)}, headers=worker)
    assert_error(again, 409, "conflict")


def test_complete_unknown_task_is_404(client: FlaskClient, headers_for: Headers, deployed: dict) -> None:
    response = client.post(
        "/api/v1/tasks/no-such-task/complete", json={"data": {}}, headers=headers_for("dispatcher")
    )
    assert_error(response, 404, "not_found")


def test_work_a_complaint_to_its_end(client: FlaskClient, headers_for: Headers, case: dict) -> None:
    number = case["number"]
    for _ in range(20):
        tasks = open_tasks(client, headers_for, number)
        if not tasks:
            break
        task = tasks[0]
        worker = headers_for(user_for_role(task["role"]))
        form = client.get(f"/api/v1/tasks/{task['id']}", headers=worker).get_json()["form"]
        assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=worker).status_code == 200
        response = client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"data": form_data(form)}, headers=worker
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    final = client.get(f"/api/v1/complaints/{number}", headers=headers_for("supervisor")).get_json()
    assert final["status"] == "completed", final
    assert final["ended_at"]
    assert final["tasks"] == []


# --- messages --------------------------------------------------------------------------------


def _declares_message_start(name: str) -> bool:
    return any(f'name="{name}"' in path.read_text("utf-8") for path in Path(PROCESSES).glob("*.bpmn"))


def test_a_message_nobody_waits_for_is_404(
    client: FlaskClient,
    headers_for: Headers,
    make_user: Callable[..., str],
    token_for: Callable[[str], str],
    deployed: dict,
) -> None:
    for user in ("appeals", "intake", "supervisor", "admin"):
        response = client.post(
            "/api/v1/messages/no_such_message", json={"payload": {}}, headers=headers_for(user)
        )
        assert_error(response, 404, "not_found")
    make_user("regulator_gateway", ["gateway"])
    gateway = {"Authorization": f"Bearer {token_for('regulator_gateway')}"}
    response = client.post(
        "/api/v1/messages/no_such_message", json={"correlation": "GX1", "payload": {}}, headers=gateway
    )
    assert_error(response, 404, "not_found")
    assert_error(client.post("/api/v1/messages/no_such_message", json={}, headers=headers_for("owner")), 403)
    assert_error(client.post("/api/v1/messages/no_such_message", json={}), 401)


def test_a_message_body_is_checked(client: FlaskClient, headers_for: Headers, deployed: dict) -> None:
    appeals = headers_for("appeals")
    response = client.post("/api/v1/messages/appeal_received", json={"payload": "x"}, headers=appeals)
    assert "payload" in assert_error(response, 422, "validation_failed")["fields"]
    response = client.post("/api/v1/messages/appeal_received", json={"correlation": 5}, headers=appeals)
    assert "correlation" in assert_error(response, 422, "validation_failed")["fields"]
    response = client.post(
        "/api/v1/messages/appeal_received", data="[1]", content_type="application/json", headers=appeals
    )
    assert_error(response, 400, "bad_request")


def test_appeal_received_starts_an_appeal_when_a_process_listens(
    client: FlaskClient, headers_for: Headers, deployed: dict
) -> None:
    payload = {
        "regulator_ticket": "GX2026030200012",
        "appeal_type": "transfer",
        "appellant_name": "李四",
        "phone": "18612345678",
        "deadline": "2026-03-09T17:00:00+08:00",
        "content": "投诉15天未解决",
    }
    response = client.post(
        "/api/v1/messages/appeal_received", json={"payload": payload}, headers=headers_for("appeals")
    )
    if _declares_message_start("appeal_received"):
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        assert body["started"] is True
        case = client.get(f"/api/v1/complaints/{body['number']}", headers=headers_for("supervisor"))
        assert case.status_code == 200
    else:
        assert_error(response, 404, "not_found")


def test_a_message_starts_a_case_then_reaches_it_by_correlation(
    client: FlaskClient, headers_for: Headers, clock: TestClock
) -> None:
    model = (
        PROJECT_ROOT / "tests" / "models" / "message_flow.bpmn"
    )  # appeal_received starts, customer_info waits
    response = upload(client, headers_for("owner"), [(io.BytesIO(model.read_bytes()), model.name)])
    assert response.status_code == 201, response.get_data(as_text=True)
    appeals = headers_for("appeals")

    started = client.post(
        "/api/v1/messages/appeal_received", json={"payload": {"regulator_ticket": "GX-1"}}, headers=appeals
    )
    assert started.status_code == 201, started.get_data(as_text=True)
    number = started.get_json()["number"]
    assert started.get_json()["started"] is True

    body = {"correlation": number, "payload": {"docs": 2}}
    delivered = client.post("/api/v1/messages/customer_info", json=body, headers=appeals)
    assert delivered.status_code == 200, delivered.get_data(as_text=True)
    assert delivered.get_json() == {"number": number, "started": False}
    timeline = client.get(f"/api/v1/complaints/{number}", headers=appeals).get_json()["timeline"]
    assert [event["type"] for event in timeline].count("message_received") == 2

    again = client.post("/api/v1/messages/customer_info", json=body, headers=appeals)
    assert_error(again, 404, "not_found")  # nobody waits for it any more
    wrong = client.post(
        "/api/v1/messages/customer_info", json={**body, "correlation": "SS0"}, headers=appeals
    )
    assert_error(wrong, 404, "not_found")
