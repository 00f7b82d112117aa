"""Repeat complaints: same phone and category, open or closed within 30 days."""
from __future__ import annotations

from datetime import timedelta

from engine.service import TaskFilters
from engine.viewer import Viewer
from tests.conftest import BASIC_DIR
from tests.test_instances import COMPLAINT, DISPATCHER, NETWORK, start

SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))


def close(engine, number: str) -> None:  # noqa: ANN001
    task = engine.list_tasks(DISPATCHER, TaskFilters(q=number))["items"][0]
    engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "x"})
    task = engine.list_tasks(NETWORK, TaskFilters(q=number))["items"][0]
    engine.complete(task["id"], NETWORK, {"resolution": "done", "resolved": True})


def test_first_complaint_is_no_repeat(engine) -> None:  # noqa: ANN001
    data = start(engine)["data"]
    assert data["repeat_of"] == [] and data["repeat_count"] == 0


def test_open_case_with_same_phone_and_category_makes_a_repeat(engine) -> None:  # noqa: ANN001
    first = start(engine)["number"]
    start(engine, category="billing")  # other category: not a repeat
    start(engine, phone="13900000000")  # other phone: not a repeat
    data = start(engine)["data"]
    assert data["repeat_of"] == [first] and data["repeat_count"] == 1


def test_closed_cases_count_for_thirty_days(engine, clock) -> None:  # noqa: ANN001
    first = start(engine)["number"]
    close(engine, first)
    assert engine.get_case(first, SUPERVISOR)["status"] == "completed"
    clock.advance(timedelta(days=30).total_seconds() - 60)
    second = start(engine)
    assert second["data"]["repeat_of"] == [first]
    close(engine, second["number"])
    clock.advance(timedelta(days=30, minutes=2).total_seconds())
    assert start(engine)["data"]["repeat_of"] == []
    assert [c["number"] for c in engine.find_cases(COMPLAINT["phone"])][:2] == [first, second["number"]]


def test_search_api(make_app, headers_for) -> None:  # noqa: ANN001
    app = make_app(processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    from engine import holidays
    from webapp import state

    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2026])
    state(app).engine.deploy_directory("owner")
    client = app.test_client()
    number = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("intake")).get_json()["number"]
    found = client.get("/api/v1/complaints?phone=13800138000&category=mobile_data", headers=headers_for("intake"))
    assert found.status_code == 200
    assert [c["number"] for c in found.get_json()["items"]] == [number]
    assert found.get_json()["items"][0]["status"] == "running"
    assert client.get("/api/v1/complaints?phone=13800138000&category=billing",
                      headers=headers_for("intake")).get_json()["items"] == []
    bad = client.get("/api/v1/complaints?phone=x' OR 1=1--", headers=headers_for("intake"))
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"] == {"phone": "x' OR 1=1--"}
    assert client.get("/api/v1/complaints?phone=13800138000&category=zzz",
                      headers=headers_for("intake")).status_code == 400
    assert client.get("/api/v1/complaints?phone=13800138000", headers=headers_for("network")).status_code == 403
