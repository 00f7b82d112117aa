"""Hostile uploads and racing completions through the HTTP API."""
from __future__ import annotations

import io
import threading

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import holidays
from engine.models import Deployment, ProcessDefinition
from tests.conftest import BASIC_DIR
from tests.test_api_contract import COMPLAINT, Headers, first_task, form_data, upload
from tests.test_definitions import LAUGHS, XXE
from webapp import state

pytest_plugins = ["tests.web_fixtures"]


def stored(app: Flask) -> tuple[int, int]:
    with state(app).db.read() as session:
        return (session.scalar(select(func.count()).select_from(Deployment)),
                session.scalar(select(func.count()).select_from(ProcessDefinition)))


def test_xxe_and_billion_laughs_are_4xx_and_store_nothing(app: Flask, client: FlaskClient,
                                                          headers_for: Headers) -> None:
    for content in (XXE, LAUGHS):
        response = upload(client, headers_for("owner"), [(io.BytesIO(content), "evil.bpmn")])
        assert response.status_code == 422, response.get_data(as_text=True)
        problems = response.get_json()["error"]["problems"]
        assert problems[0]["file"] == "evil.bpmn" and "DOCTYPE" in problems[0]["message"]
        assert "root:" not in response.get_data(as_text=True)  # /etc/passwd never read
    assert stored(app) == (0, 0)


def test_two_concurrent_completions_one_200_one_409(make_app, headers_for: Headers) -> None:  # noqa: ANN001
    app = make_app(processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2026])
    state(app).engine.deploy_directory("owner")
    first = app.test_client()
    created = first.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("intake")).get_json()
    task = first_task(first, headers_for, created["number"])
    detail = first.get(f"/api/v1/tasks/{task['id']}", headers=headers_for("dispatcher")).get_json()
    body = {"data": form_data(detail["form"])}
    headers = headers_for("dispatcher")
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/v1/tasks/{task['id']}/complete", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    case = first.get(f"/api/v1/complaints/{created['number']}", headers=headers_for("supervisor")).get_json()
    assert case["status"] == "running"
    assert [t["bpmn_id"] for t in case["tasks"]] == ["Task_handle"]
    assert sum(1 for e in case["timeline"] if e["type"] == "task_completed" and e["actor"] == "dispatcher") == 1
