"""The process models pages (webapp/ui/models.py): models and versions, one version's diagram, the diff of two
versions and moving running cases, through Flask's test client; and the diff diagrams in a real browser."""
from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from engine import holidays, users
from engine.viewer import SYSTEM
from tests.browser import browser, live_server  # noqa: F401 - browser is a fixture
from tests.test_ui_pages import Session
from tests.versions_support import APPROVED, Cases, deploy_original, deploy_recheck
from webapp import state

pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture
def models_app(make_app: Callable[..., Flask]) -> Flask:
    """processes/ deployed (v1), one case waiting at 审核派发 on v1, then 复核 added (v2), demo users."""
    app = make_app()
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    engine = state(app).engine
    engine.deploy_directory("owner")
    Cases(engine).at_audit()
    deploy_recheck(engine)
    return app


@pytest.fixture
def cases(models_app: Flask) -> Cases:
    found = Cases(state(models_app).engine)
    found.phones = iter(f"1390013{n:04d}" for n in range(1, 10_000))  # not the fixture's case's phone
    return found


def english(app: Flask, username: str) -> Session:
    """A signed-in session reading the pages in English (the msgids: stable whatever the translations say)."""
    signed_in = Session(app, username)
    signed_in.post("/language", {"lang": "en", "next": "/models"})
    return signed_in


def v1_case(app: Flask) -> str:
    preview = state(app).engine.migration_preview("complaint_intake", 2)
    return preview["cases"][0]["number"]


def markers(page: str) -> list[dict]:
    return [json.loads(html.unescape(m)) for m in re.findall(r'data-markers="([^"]*)"', page)]


def test_the_models_page_lists_every_model_with_its_versions(models_app: Flask) -> None:
    owner = english(models_app, "owner")
    response = owner.get("/models")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for process_id in ("complaint_intake", "complaint_dispatch", "customer_appeal", "upgraded_complaint"):
        assert f'id="model-{process_id}"' in page
    intake = page.split('id="model-complaint_intake"')[1].split("</section>")[0]
    assert re.findall(r'<tr data-version="(\d+)">', intake) == ["2", "1"]
    assert re.search(r'data-version="1">.*?<td class="num running">1</td>', intake, re.S)  # the v1 case
    assert 'href="/models/complaint_intake/edit"' in intake
    assert "/models/complaint_intake/migrate?to=2" in intake
    assert "/models/complaint_intake/diff?" in intake
    dispatch = page.split('id="model-complaint_dispatch"')[1].split("</section>")[0]
    assert "called by" in dispatch and "complaint_intake" in dispatch and "customer_appeal" in dispatch
    assert 'href="/models/import"' in page
    assert "owner" in intake  # who deployed each version

    assert Session(models_app, "supervisor").get("/models").status_code == 200
    assert Session(models_app, "admin").get("/models").status_code == 200
    for user in ("intake", "dispatcher", "network"):
        assert Session(models_app, user).get("/models").status_code == 403, user
    assert Session(models_app).get("/models").status_code == 302  # not signed in: to the sign-in page


def test_a_version_page_draws_that_versions_diagram(models_app: Flask) -> None:
    owner = Session(models_app, "owner")
    page = owner.get("/models/complaint_dispatch?version=1").get_data(as_text=True)
    assert 'data-model-diagram-url="/models/complaint_dispatch/versions/1/diagram"' in page
    assert "js/models.js" in page and "bpmn-navigated-viewer" in page
    assert "<script>" not in page  # the CSP allows no inline script
    latest = owner.get("/models/complaint_dispatch").get_data(as_text=True)
    assert "/models/complaint_dispatch/versions/2/diagram" in latest and "Task_dispatch_recheck" in latest

    diagram = owner.get("/models/complaint_intake/versions/2/diagram").get_json()
    assert [d["filename"] for d in diagram["diagrams"]] == ["complaint_intake.bpmn", "complaint_dispatch.bpmn"]
    assert "Task_dispatch_recheck" in diagram["diagrams"][1]["xml"]
    old = owner.get("/models/complaint_intake/versions/1/diagram").get_json()
    assert "Task_dispatch_recheck" not in old["diagrams"][1]["xml"]
    assert owner.get("/models/complaint_intake/versions/7/diagram").status_code == 404
    assert owner.get("/models/nothing").status_code == 404
    assert Session(models_app, "intake").get("/models/complaint_intake/versions/1/diagram").status_code == 403


def test_the_diff_page_lists_and_marks_what_changed(models_app: Flask) -> None:
    owner = english(models_app, "owner")
    response = owner.get("/models/complaint_intake/diff?from=1&to=2")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    added = page.split('class="diff-added-list"')[1].split("</tbody>")[0]
    assert "复核" in added and "Task_dispatch_recheck" in added and "user task" in added
    changed = page.split('class="diff-changed-list"')[1].split("</tbody>")[0]
    assert "Flow_dispatch_to_reply" in changed and "target" in changed  # its target changed
    old_marks, new_marks = markers(page)
    assert "Task_dispatch_recheck" in new_marks["added"] and "Flow_dispatch_to_reply" in new_marks["changed"]
    assert old_marks["removed"] == [] and "Flow_dispatch_to_reply" in old_marks["changed"]
    for version in (1, 2):
        assert f"/models/complaint_intake/versions/{version}/diagram" in page
    # without from: the version before to
    assert "Task_dispatch_recheck" in owner.get("/models/complaint_intake/diff?to=2").get_data(as_text=True)
    assert owner.get("/models/complaint_intake/diff?from=x").status_code == 400
    assert Session(models_app, "dispatcher").get("/models/complaint_intake/diff").status_code == 403


def test_the_migrate_page_previews_and_the_owner_moves_the_ticked_cases(models_app: Flask, cases: Cases) -> None:
    engine = state(models_app).engine
    waiting = v1_case(models_app)
    stuck = cases.at_review()  # on v2
    cases.complete(stuck, "Task_dispatch_review", APPROVED)  # at 复核
    deploy_original(engine)  # v3 without 复核
    owner = english(models_app, "owner")
    page = owner.get("/models/complaint_intake/migrate?to=3").get_data(as_text=True)
    assert f'name="cases" value="{waiting}"' in page  # it can move
    assert f'name="cases" value="{stuck}"' not in page
    blocked = page.split(f'data-case="{stuck}"')[1].split("</tr>")[0]
    assert 'data-can-move="false"' in blocked
    assert "复核 (Task_dispatch_recheck)" in blocked and "which the new version removed" in blocked
    assert "审核派发" in page.split(f'data-case="{waiting}"')[1].split("</tr>")[0]  # where it waits now

    response = owner.post("/models/complaint_intake/migrate", {"to_version": "3", "cases": [waiting]})
    assert response.status_code == 200
    result = response.get_data(as_text=True).split('class="card table-card migration-results"')[1]
    assert f'data-case="{waiting}" data-migrated="true"' in result
    assert engine.get_case(waiting, SYSTEM)["version"] == 3
    timeline = engine.get_case(waiting, SYSTEM)["timeline"]
    assert [e["actor"] for e in timeline if e["type"] == "case_migrated"] == ["owner"]

    again = owner.post("/models/complaint_intake/migrate", {"to_version": "3", "cases": [stuck]})
    assert 'data-migrated="false"' in again.get_data(as_text=True)
    assert engine.get_case(stuck, SYSTEM)["version"] == 2
    assert owner.post("/models/complaint_intake/migrate", {"to_version": "3"}).status_code == 422
    assert owner.post("/models/complaint_intake/migrate", {"to_version": "3", "cases": [waiting]},
                      csrf=False).status_code == 400


def test_others_see_the_preview_read_only_and_may_not_move(models_app: Flask) -> None:
    waiting = v1_case(models_app)
    supervisor = english(models_app, "supervisor")
    page = supervisor.get("/models/complaint_intake/migrate?to=2").get_data(as_text=True)
    assert f'data-case="{waiting}" data-can-move="true"' in page
    assert 'name="cases"' not in page and "Only a process owner can move cases." in page
    response = supervisor.post("/models/complaint_intake/migrate", {"to_version": "2", "cases": [waiting]})
    assert response.status_code == 403
    assert state(models_app).engine.get_case(waiting, SYSTEM)["version"] == 1
    assert Session(models_app, "intake").get("/models/complaint_intake/migrate").status_code == 403


def test_a_called_process_points_to_its_callers_for_moving_cases(models_app: Flask) -> None:
    page = Session(models_app, "owner").get("/models/complaint_dispatch/migrate").get_data(as_text=True)
    assert "/models/complaint_intake/migrate" in page and "/models/customer_appeal/migrate" in page


# -- in the browser -------------------------------------------------------------------------------------------


@pytest.fixture
def models_url(models_app: Flask) -> Iterator[str]:
    with live_server(models_app, "models-test-server") as url:
        yield url


def test_the_diff_diagrams_mark_added_and_changed_elements(browser, models_url: str) -> None:  # noqa: ANN001, F811
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))  # a script failing on the page
        page.goto(f"{models_url}/login")
        page.fill("input[name=username]", "owner")
        page.fill("input[name=password]", "demo")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(r".*/inbox.*"))
        page.goto(f"{models_url}/models/complaint_intake/diff?from=1&to=2")
        page.wait_for_selector('.model-diagram[data-ready="true"] >> nth=1')
        shown = page.eval_on_selector_all(".model-diagram", "els => els.map(e => e.getAttribute('data-shown'))")
        assert shown == ["complaint_dispatch.bpmn", "complaint_dispatch.bpmn"]  # the file with the changes
        new = page.locator(".model-diagram").nth(1)
        assert new.locator('.djs-element.diff-added[data-element-id="Task_dispatch_recheck"]').count() == 1
        assert new.locator('.djs-element.diff-changed[data-element-id="Flow_dispatch_to_reply"]').count() == 1
        old = page.locator(".model-diagram").nth(0)
        assert old.locator('[data-element-id="Task_dispatch_recheck"]').count() == 0
        assert old.locator('.djs-element.diff-changed[data-element-id="Task_dispatch_review_met"]').count() == 1
        page.locator(".diagram-tab").first.click()  # the other file of the version: complaint_intake
        page.wait_for_function("() => document.querySelector('.model-diagram').getAttribute('data-shown') === "
                               "'complaint_intake.bpmn'")
        assert errors == []
    finally:
        context.close()
