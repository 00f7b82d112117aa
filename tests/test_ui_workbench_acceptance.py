"""Issue 5's acceptance, in a real browser: a process owner changes complaint_dispatch and moves a waiting case.

As the owner, through the UI: open complaint_dispatch in the modeler, add a 复核 (review) user task in the
dispatcher lane right after 审核派发, bind a form to it in the properties panel and deploy v2. A complaint opened
afterwards runs v2 while the two opened before stay on v1 (models page counts, case page, API). On the migrate
page the owner moves one of the two, still waiting at 审核派发 and so before 复核, to v2. That case is then worked
to its end by the right people through their inboxes and passes through 复核; the other old case, left on v1,
completes through the API without it.

The live server, the per-user browsers and the modeler script come from tests/test_ui_modeler_browser.py, the
inbox walk from tests/test_ui_browser.py. Screenshots: docs/screenshots/models.png and migrate.png.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from engine.scheduler import drain_due_timers
from engine.viewer import SYSTEM
from tests.browser import browser  # noqa: F401 - fixture
from tests.test_ui_browser import register_complaint, role_user, walk_step
from tests.test_ui_modeler_browser import (  # noqa: F401 - base_url and people are fixtures
    ADD_REVIEW_TASK,
    LANE_OF,
    NEW_TASK,
    SCREENSHOTS,
    Browsers,
    base_url,
    open_editor,
    people,
    validate,
)
from tests.ui_support import COMPLAINT
from tests.versions_support import APPROVED, HANDLED, REPLIED, SATISFIED, UNSOLVED
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

REVIEW_FORM = "result_review.json"
# What each v1 step of the case left on v1 is completed with, through the API.
V1_STEP_DATA = {
    "Task_dispatch_audit": {"departments": ["network"], "dispatch_note": "请核查处理"},
    "Task_dispatch_handle": HANDLED,
    "Task_dispatch_review": APPROVED,
    "Task_dispatch_reply": REPLIED,
    "Task_dispatch_callback": SATISFIED,
}
MAX_STEPS = 30


class Api:
    """The HTTP API as the demo users, through Flask's test client."""

    def __init__(self, client: FlaskClient, headers_for: Callable[[str], dict]) -> None:
        self.client = client
        self.headers_for = headers_for

    def call(self, method: str, user: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        response = self.client.open(path, method=method, json=body, headers=self.headers_for(user))
        assert response.status_code == expect, (method, path, response.status_code, response.get_data(as_text=True))
        return response.get_json()

    def case(self, number: str) -> dict:
        return self.call("GET", "supervisor", f"/api/v1/complaints/{number}")

    def waiting_at_audit(self, phone: str) -> str:
        """A complaint first contact could not solve: it waits at 审核派发 (before where 复核 goes)."""
        number = self.call("POST", "intake", "/api/v1/complaints", {**COMPLAINT, "phone": phone}, expect=201)["number"]
        self.complete_open(number, "Task_intake_first_contact", UNSOLVED)
        return number

    def complete_open(self, number: str, bpmn_id: str, data: dict) -> dict:
        task = next(t for t in self.case(number)["tasks"] if t["bpmn_id"] == bpmn_id)
        return self.call("POST", role_user(task["role"]), f"/api/v1/tasks/{task['id']}/complete", {"data": data})


def idle_until_a_task(app: Flask, number: str) -> None:
    """A case with no open task waits for a timer: move the clock an hour at a time, as the scheduler would."""
    engine = state(app).engine
    for _ in range(72):
        case = engine.get_case(number, SYSTEM)
        if case["tasks"] or case["status"] != "running":
            return
        state(app).test_clock.advance(3600)
        drain_due_timers(engine)
    raise AssertionError(f"case {number} waits for something other than time")


def walk_through_inboxes(desks: Browsers, app: Flask, number: str) -> list[str]:
    """Each open task of the case done in the browser by the demo user of its role; the element ids done."""
    engine = state(app).engine
    done: list[str] = []
    for _ in range(MAX_STEPS):
        idle_until_a_task(app, number)
        case = engine.get_case(number, SYSTEM)
        if case["status"] != "running":
            return done
        task = case["tasks"][0]
        walk_step(desks, app, number, task)
        done.append(task["bpmn_id"])
    raise AssertionError(f"case {number} did not end in {MAX_STEPS} steps: {done}")


def complete_through_api(api: Api, app: Flask, number: str) -> list[str]:
    done: list[str] = []
    for _ in range(MAX_STEPS):
        idle_until_a_task(app, number)
        case = api.case(number)
        if case["status"] != "running":
            return done
        task = case["tasks"][0]
        assert task["bpmn_id"] in V1_STEP_DATA, (task, done)
        api.complete_open(number, task["bpmn_id"], V1_STEP_DATA[task["bpmn_id"]])
        done.append(task["bpmn_id"])
    raise AssertionError(f"case {number} did not end in {MAX_STEPS} steps: {done}")


def running_counts(page, process_id: str) -> dict[int, str]:  # noqa: ANN001
    """Cases running on each version, as the models page shows them."""
    rows = page.locator(f"#model-{process_id} tr[data-version]")
    return {int(rows.nth(i).get_attribute("data-version")): rows.nth(i).locator("td.running").inner_text().strip()
            for i in range(rows.count())}


def test_owner_edits_deploys_v2_and_migrates_a_waiting_case(
        people: Browsers, live_app: Flask, headers_for: Callable[[str], dict]) -> None:  # noqa: F811 - fixtures
    api = Api(live_app.test_client(), headers_for)
    moved = api.waiting_at_audit("13900139001")
    stays = api.waiting_at_audit("13900139002")
    assert [api.case(n)["version"] for n in (moved, stays)] == [1, 1]

    # --- the owner adds 复核 in the dispatcher lane, binds its form in the panel and deploys v2
    owner = open_editor(people, "/models/complaint_dispatch/edit")
    assert owner.evaluate(ADD_REVIEW_TASK, NEW_TASK) == "complaint_dispatch"
    assert owner.evaluate(LANE_OF, NEW_TASK) == ["Lane_dispatch_dispatcher"]
    owner.click(f"g.djs-element[data-element-id='{NEW_TASK}']")
    owner.select_option("#bio-properties-panel-cf-form", REVIEW_FORM)
    owner.wait_for_selector(f"#editor-properties a.cf-panel-link[href$='/models/forms/{REVIEW_FORM}/edit']")
    assert validate(owner) == "clean", owner.inner_text("#editor-findings")
    owner.click("#editor-deploy")
    owner.wait_for_selector("#editor-status[data-state=deployed]")
    result = owner.locator("#editor-result")
    assert result.locator("li[data-process-id='complaint_dispatch'][data-version='2'].deployed-new").count() == 1
    assert result.locator("li[data-process-id='complaint_intake'][data-version='2']").count() == 1
    v2 = api.call("GET", "owner", "/api/v1/process-definitions/complaint_intake/versions/2")
    assert v2["tasks"][NEW_TASK]["form"] == REVIEW_FORM and v2["tasks"][NEW_TASK]["role"] == "dispatcher"

    # --- a new complaint follows v2 (registered in the browser by intake); the two older ones stay on v1
    new = register_complaint(people, phone="13900139003")
    intake = people.page("intake")
    assert "complaint_intake v2" in intake.inner_text(".page-head .meta")
    assert [api.case(n)["version"] for n in (new, moved, stays)] == [2, 1, 1]
    owner.goto(f"{people.base_url}/models")
    assert running_counts(owner, "complaint_intake") == {2: "1", 1: "2"}
    assert owner.locator("#model-complaint_dispatch tr[data-version]").count() == 2
    owner.screenshot(path=str(SCREENSHOTS / "models.png"), full_page=True)

    # --- the migrate page: both old cases wait at 审核派发 and can move; the owner moves one
    owner.click("#model-complaint_intake .model-head a[href='/models/complaint_intake/migrate?to=2']")
    owner.wait_for_url(re.compile(r".*/models/complaint_intake/migrate\?to=2$"))
    for number in (moved, stays):
        row = owner.locator(f".migration-preview tr[data-case='{number}']")
        assert row.get_attribute("data-can-move") == "true", row.inner_text()
        assert "审核派发" in row.locator("td.waiting-at").inner_text()
    assert owner.locator(f".migration-preview tr[data-case='{new}']").count() == 0  # on v2 already
    owner.check(f"#case-{moved}")
    owner.screenshot(path=str(SCREENSHOTS / "migrate.png"), full_page=True)
    owner.click("form.migrate-form button[type=submit]")
    owner.wait_for_selector(".migration-results")
    results = owner.locator(".migration-results tr[data-case]")
    assert results.count() == 1
    assert results.first.get_attribute("data-case") == moved
    assert results.first.get_attribute("data-migrated") == "true"
    assert re.search(r"v1\s*→\s*v2", results.first.inner_text()), results.first.inner_text()
    assert "审核派发" in results.first.locator("td.waiting-at").inner_text()
    # The preview that follows lists only the case left behind.
    assert owner.locator(f".migration-preview tr[data-case='{moved}']").count() == 0
    assert owner.locator(f".migration-preview tr[data-case='{stays}']").count() == 1
    assert [api.case(n)["version"] for n in (moved, stays)] == [2, 1]
    migrated = [e for e in api.case(moved)["timeline"] if e["type"] == "case_migrated"]
    assert [(e["actor"], e["data"]["from_version"], e["data"]["to_version"]) for e in migrated] == [("owner", 1, 2)]

    # --- the moved case is worked to its end in the browser, and passes through 复核
    done = walk_through_inboxes(people, live_app, moved)
    assert done[:2] == ["Task_dispatch_audit", NEW_TASK], done
    case = api.case(moved)
    assert case["status"] == "completed" and case["version"] == 2, (case["status"], done)
    assert ("task_completed", NEW_TASK) in [(e["type"], e["bpmn_id"]) for e in case["timeline"]]
    supervisor = people.page("supervisor")
    supervisor.goto(f"{people.base_url}/cases/{moved}")
    assert supervisor.locator(".page-head .status-completed").count() == 1
    assert "复核" in supervisor.locator("ol.timeline").inner_text()
    assert "complaint_intake v2" in supervisor.inner_text(".page-head .meta")
    moved_event = supervisor.locator("ol.timeline li.ev-case_migrated")  # named, with its versions, not a code
    assert moved_event.count() == 1
    assert "v1 → v2" in moved_event.inner_text() and "case_migrated" not in moved_event.inner_text()

    # --- the case left on v1 completes without the new step
    steps = complete_through_api(api, live_app, stays)
    case = api.case(stays)
    assert case["status"] == "completed" and case["version"] == 1, (case["status"], steps)
    assert NEW_TASK not in steps and NEW_TASK not in {e["bpmn_id"] for e in case["timeline"]}

    owner.goto(f"{people.base_url}/models")
    assert running_counts(owner, "complaint_intake") == {2: "1", 1: "0"}  # only the new complaint still runs
    assert not [e for e in people.errors if "Content Security Policy" in e or "Refused" in e], people.errors
