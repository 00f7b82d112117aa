"""Scenario fixtures: drive whole cases through the public HTTP API with the test clock.

``api`` is a small client: every call goes through Flask's test client with the
named demo user's bearer token, and ``api.advance(...)`` moves the test clock
through ``POST /api/v1/admin/clock`` and then runs the timer job once, as the
scheduler would on its next tick.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import holidays
from engine.scheduler import drain_due_timers
from webapp import state

COMPLAINT = {
    "phone": "13800138000", "customer_name": "张三", "star_level": 3, "svip": False, "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "家里手机上网很慢，经常断线", "request": "尽快修复网络",
}


class Api:
    def __init__(self, app: Flask, client: FlaskClient, headers_for: Callable[[str], dict]) -> None:
        self.app = app
        self.client = client
        self.headers_for = headers_for

    # -- raw calls ----------------------------------------------------------------------

    def call(self, method: str, user: str | None, path: str, json: Any = None, expect: int | tuple = 200) -> Any:
        headers = self.headers_for(user) if user else {}
        response = self.client.open(path, method=method, json=json, headers=headers)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (method, path, response.status_code,
                                                  response.get_data(as_text=True))
        return response.get_json()

    def get(self, user: str, path: str, expect: int | tuple = 200) -> Any:
        return self.call("GET", user, path, expect=expect)

    def post(self, user: str, path: str, json: Any = None, expect: int | tuple = 200) -> Any:
        return self.call("POST", user, path, json if json is not None else {}, expect=expect)

    # -- cases and tasks ------------------------------------------------------------------

    def start(self, user: str = "intake", **fields: Any) -> dict:
        return self.post(user, "/api/v1/complaints", {**COMPLAINT, **fields}, expect=201)

    def case(self, number: str, user: str = "supervisor") -> dict:
        return self.get(user, f"/api/v1/complaints/{number}")

    def tasks(self, user: str, **filters: Any) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in {"page_size": 200, **filters}.items())
        return self.get(user, f"/api/v1/tasks?{query}")["items"]

    def open_tasks(self, number: str) -> list[dict]:
        """Every open task of the case, as (bpmn_id, role) pairs are easy to assert."""
        return self.case(number)["tasks"]

    def task(self, number: str, user: str, bpmn_id: str | None = None) -> dict:
        """The one open task of case ``number`` in ``user``'s inbox (optionally of element ``bpmn_id``)."""
        found = [t for t in self.tasks(user, q=number) if t["complaint_number"] == number
                 and (bpmn_id is None or t["bpmn_id"] == bpmn_id)]
        assert len(found) == 1, (user, number, bpmn_id, found)
        return found[0]

    def complete(self, user: str, task: dict | str, data: dict, expect: int | tuple = 200) -> dict:
        task_id = task if isinstance(task, str) else task["id"]
        return self.post(user, f"/api/v1/tasks/{task_id}/complete", {"data": data}, expect=expect)

    def message(self, user: str, name: str, correlation: str | None, payload: dict,
                expect: int | tuple = (200, 201)) -> dict:
        return self.post(user, f"/api/v1/messages/{name}", {"correlation": correlation, "payload": payload},
                         expect=expect)

    def timeline(self, number: str) -> list[tuple[str, str | None]]:
        return [(e["type"], e["bpmn_id"]) for e in self.case(number)["timeline"]]

    # -- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromisoformat(self.post(None, "/api/v1/admin/clock", {"advance_seconds": 0})["now"])

    def set_clock(self, when: str) -> None:
        """Set the clock (an ISO datetime with offset) and run the timers that fell due."""
        self.post(None, "/api/v1/admin/clock", {"set": when})
        self.run_timers()

    def advance(self, hours: float = 0, minutes: float = 0, seconds: float = 0) -> None:
        """Move the clock forward and run the timers that fell due, as the scheduler's next tick would."""
        self.post(None, "/api/v1/admin/clock", {"advance_seconds": hours * 3600 + minutes * 60 + seconds})
        self.run_timers()

    def run_timers(self) -> int:
        return drain_due_timers(state(self.app).engine)


@pytest.fixture
def scenario_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(test_clock=True)
    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    state(app).engine.deploy_directory("owner")
    return app


@pytest.fixture
def api(scenario_app: Flask, headers_for: Callable[[str], dict]) -> Api:
    return Api(scenario_app, scenario_app.test_client(), headers_for)
