"""The model editors in a real browser (Debian's chromium through Playwright), as a process owner.

The app runs under werkzeug in a thread with the test clock, demo users, holidays and processes/
deployed (the live-server pattern of tests/test_ui_browser.py). The BPMN test adds a user task 复核
to complaint_dispatch through bpmn-js's API (window.cfModeler), then binds its form and sets a lane
role through the properties panel's inputs, validates (the finding is pinned on the task until a form
is bound), deploys, and checks that new complaints run the new version while older ones stay on v1.

Screenshots of the three editors go to docs/screenshots/ (modeler.png, dmn-editor.png, form-editor.png).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import expect

from engine.config import PROJECT_ROOT
from engine.viewer import SYSTEM
from tests.browser import Browsers, browser, live_server  # noqa: F401 - browser is a fixture
from tests.ui_support import COMPLAINT, DISPATCHER, INTAKE, SUPERVISOR
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
NEW_TASK = "Task_dispatch_recheck"

# Adds 复核 between 审核派发 and the gateway after it, in the dispatcher lane, the way a modeler would.
ADD_REVIEW_TASK = """(id) => {
  const m = window.cfModeler;
  const registry = m.get('elementRegistry');
  const modeling = m.get('modeling');
  const flow = registry.get('Flow_dispatch_dispatched');
  const target = flow.target;
  const bo = m.get('bpmnFactory').create('bpmn:UserTask', { id, name: '复核' });
  const shape = m.get('elementFactory').createShape({ type: 'bpmn:UserTask', businessObject: bo });
  modeling.createShape(shape, { x: 960, y: 265 }, registry.get('Participant_complaint_dispatch'));
  modeling.reconnectEnd(flow, shape, { x: shape.x, y: shape.y + shape.height / 2 });
  modeling.layoutConnection(flow);
  const out = modeling.connect(shape, target);
  const middle = target.y + target.height / 2;  // down from 复核, then left into the gateway
  modeling.updateWaypoints(out, [ { x: shape.x + shape.width / 2, y: shape.y + shape.height },
    { x: shape.x + shape.width / 2, y: middle }, { x: target.x + target.width, y: middle } ]);
  const canvas = m.get('canvas');
  canvas.zoom(1.0);
  canvas.scrollToElement(shape, { top: 260, bottom: 260, left: 500, right: 500 });
  return registry.get(id).businessObject.$parent.id;
}"""

LANE_OF = """(id) => {
  const bo = window.cfModeler.get('elementRegistry').get(id).businessObject;
  return (bo.get('lanes') || []).map((lane) => lane.id);
}"""


@pytest.fixture
def base_url(live_app: Flask) -> Iterator[str]:
    with live_server(live_app, "modeler-test-server") as url:
        yield url


@pytest.fixture
def people(browser, base_url: str) -> Iterator[Browsers]:  # noqa: ANN001, F811
    opened = Browsers(browser, base_url, timeout_ms=20_000)
    yield opened
    opened.close()


def open_editor(people: Browsers, path: str):  # noqa: ANN201
    page = people.page("owner")
    response = page.goto(f"{people.base_url}{path}")
    assert response is not None and response.status == 200
    page.wait_for_selector("[data-editor][data-ready=true]")
    return page


def validate(page) -> str:  # noqa: ANN001
    page.click("#editor-validate")
    page.wait_for_selector("#editor-status:is([data-state=findings], [data-state=warnings], [data-state=clean], "
                           "[data-state=error])")
    return page.get_attribute("#editor-status", "data-state")


def first_steps(app: Flask, number: str) -> list[str]:
    """Intake cannot solve it at first contact; the dispatcher dispatches to network. The open tasks' names."""
    engine = state(app).engine

    def open_task(role: str) -> dict:
        tasks = [t for t in engine.get_case(number, SUPERVISOR)["tasks"] if t["role"] == role]
        case = engine.get_case(number, SUPERVISOR)
        assert tasks, (case["status"], case["last_error"], case["tasks"], case["timeline"][-4:])
        return tasks[0]

    engine.complete(open_task("intake")["id"], INTAKE, {"first_contact_solved": False})
    engine.complete(open_task("dispatcher")["id"], DISPATCHER, {"departments": ["network"], "dispatch_note": "请核查"})
    return [t["name"] for t in engine.get_case(number, SUPERVISOR)["tasks"]]


def test_owner_adds_a_review_task_binds_its_form_and_deploys_a_new_version(
        people: Browsers, live_app: Flask, headers_for: Callable[[str], dict]) -> None:
    engine = state(live_app).engine
    before = engine.start_complaint({**COMPLAINT, "phone": "13800138001"}, "intake")["number"]

    page = open_editor(people, "/models/complaint_dispatch/edit")
    parent = page.evaluate(ADD_REVIEW_TASK, NEW_TASK)
    assert parent == "complaint_dispatch"
    assert page.evaluate(LANE_OF, NEW_TASK) == ["Lane_dispatch_dispatcher"]

    # Without a form the task is a finding, pinned on it and listed.
    assert validate(page) in ("findings", "warnings")
    badge = page.locator(f".cf-finding-badge[data-element-id='{NEW_TASK}']")
    assert badge.count() == 1
    listed = page.locator(f"#editor-findings li[data-element-id='{NEW_TASK}']")
    assert listed.count() >= 1
    assert page.locator(f"g.djs-element[data-element-id='{NEW_TASK}']:is(.cf-marker-error, .cf-marker-warning)"
                        ).count() == 1
    page.click(f"g.djs-element[data-element-id='{NEW_TASK}']")
    page.wait_for_selector("#bio-properties-panel-cf-form")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "modeler.png"))

    # Clicking a finding selects its element, and the panel shows it.
    page.evaluate("() => window.cfModeler.get('selection').select(null)")
    page.click(f"#editor-findings li.finding-link[data-element-id='{NEW_TASK}']")
    page.wait_for_function("(id) => window.cfModeler.get('selection').get().map((e) => e.id).join() === id",
                           arg=NEW_TASK)
    # The form binding, through the panel's select.
    page.select_option("#bio-properties-panel-cf-form", "result_review.json")
    page.wait_for_selector("#editor-properties a.cf-panel-link[href$='/models/forms/result_review.json/edit']")

    # The department lane's default role, typed as a new dept: code in the panel (a bad code is refused).
    page.evaluate("""() => { const m = window.cfModeler;
        m.get('canvas').scrollToElement(m.get('elementRegistry').get('Lane_dispatch_dept')); }""")
    page.evaluate("() => window.cfModeler.get('selection').select("
                  "window.cfModeler.get('elementRegistry').get('Lane_dispatch_dept'))")
    role_code = page.locator("#bio-properties-panel-cf-role-code")
    role_code.fill("Network!")
    page.wait_for_selector("[data-entry-id='cf-role-code'].has-error")
    role_code.fill("dept:city")
    page.wait_for_function("""() => window.cfModeler.get('elementRegistry').get('Lane_dispatch_dept')
        .businessObject.get('cf:role') === 'dept:city'""")
    # The panel re-renders after the change: wait for it instead of reading the select at once.
    page.wait_for_function("() => document.querySelector('#bio-properties-panel-cf-role')?.value === 'dept:city'")

    assert validate(page) == "clean", page.inner_text("#editor-findings")
    assert page.locator(".cf-finding-badge").count() == 0

    page.click("#editor-deploy")
    page.wait_for_selector("#editor-status[data-state=deployed]")
    result = page.locator("#editor-result")
    assert result.locator("li[data-process-id='complaint_dispatch'][data-version='2'].deployed-new").count() == 1
    for caller in ("complaint_intake", "customer_appeal"):  # they embed complaint_dispatch
        assert result.locator(f"li[data-process-id='{caller}'][data-version='2']").count() == 1
    assert result.locator("a[href='/models']").count() == 1

    client = live_app.test_client()
    listed = client.get("/api/v1/process-definitions", headers=headers_for("owner")).get_json()["items"]
    assert sorted(d["version"] for d in listed if d["process_id"] == "complaint_dispatch") == [1, 2]
    files = engine.current_files()
    assert 'cf:role="dept:city"' in files["complaint_dispatch.bpmn"][1]
    assert 'value="result_review.json"' in files["complaint_dispatch.bpmn"][1]

    after = engine.start_complaint({**COMPLAINT, "phone": "13800138002"}, "intake")["number"]  # not a repeat
    assert engine.get_case(after, SYSTEM)["version"] == 2
    assert engine.get_case(before, SYSTEM)["version"] == 1
    assert first_steps(live_app, after) == ["复核"]
    assert "复核" not in first_steps(live_app, before)
    assert not [e for e in people.errors if "Content Security Policy" in e or "Refused" in e], people.errors

    other = people.page("dispatcher")
    response = other.goto(f"{people.base_url}/models/complaint_dispatch/edit")
    assert response is not None and response.status == 403


def test_dmn_editor_loads_the_sla_table_and_deploys_a_changed_cell(people: Browsers, live_app: Flask) -> None:
    page = open_editor(people, "/models/dmn/sla_policy.dmn/edit")
    cell = page.locator("td[data-element-id='Rule_reply_mobile_out4']")
    assert cell.inner_text().strip() == "2"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.click("h1")  # leave the cell
    page.wait_for_function("""() => window.cfDmnModeler.saveXML().then(r => r.xml.includes('>3</text>'))""")
    assert validate(page) == "clean", page.inner_text("#editor-findings")
    page.click("#editor-deploy")
    page.wait_for_selector("#editor-status[data-state=deployed]")
    page.evaluate("() => document.querySelectorAll('#editor-canvas *').forEach((e) => { e.scrollLeft = 0; })")
    page.screenshot(path=str(SCREENSHOTS / "dmn-editor.png"))
    text = state(live_app).engine.current_files()["sla_policy.dmn"][1]
    assert re.search(r'<outputEntry id="Rule_reply_mobile_out4">\s*<text>3</text>', text)
    # complaint_intake decides its SLA policy with this table: it gets a new version.
    assert page.locator("#editor-result li[data-process-id='complaint_intake'].deployed-new").count() == 1
    assert not [e for e in people.errors if "Content Security Policy" in e], people.errors


def test_form_editor_previews_a_new_field_and_names_broken_json(people: Browsers) -> None:
    page = open_editor(people, "/models/forms/result_review.json/edit")
    assert page.locator("#form-preview .field").count() >= 1
    source = page.input_value("#form-schema")
    changed = source.replace('"properties": {', '"properties": {\n    "recheck_note": {"type": "string", '
                                                 '"title": "复核意见", "maxLength": 500},', 1)
    assert changed != source
    page.fill("#form-schema", changed)
    page.wait_for_selector("#form-preview [data-field='recheck_note']")
    assert "复核意见" in page.inner_text("#form-preview [data-field='recheck_note']")
    page.screenshot(path=str(SCREENSHOTS / "form-editor.png"), full_page=True)

    page.fill("#form-schema", '{"type": "object",\n "properties": {"a": }}')
    page.wait_for_selector("#form-preview .preview-error")
    error = page.inner_text("#form-preview .preview-error")
    assert re.search(r"\b2\b\D+\b22\b", error), error  # line 2, column 22 (in whichever language)

    page.fill("#form-schema", changed)
    page.wait_for_selector("#form-preview [data-field='recheck_note']")
    assert validate(page) == "clean", page.inner_text("#editor-findings")
    page.click("#editor-deploy")
    page.wait_for_selector("#editor-status[data-state=deployed]")
    # The form is used by complaint_dispatch, so it (and the processes calling it) get new versions.
    assert page.locator("#editor-result li[data-process-id='complaint_dispatch'].deployed-new").count() == 1


def test_every_process_opens_in_the_modeler_and_validates_as_exported(people: Browsers) -> None:
    # The exported XML (our moddle descriptors for cf: and spiffworkflow:) must keep what the engine reads.
    for process_id in ("complaint_intake", "complaint_dispatch", "upgraded_complaint", "customer_appeal"):
        page = open_editor(people, f"/models/{process_id}/edit")
        assert page.get_attribute("[data-editor]", "data-import-warnings") is None, process_id
        assert validate(page) in ("clean", "warnings"), (process_id, page.inner_text("#editor-findings"))
        assert page.locator("#editor-findings .finding-error").count() == 0, page.inner_text("#editor-findings")
    assert not [e for e in people.errors if "Content Security Policy" in e], people.errors


def test_a_new_process_from_the_template_is_bound_and_deployed(people: Browsers, live_app: Flask) -> None:
    page = open_editor(people, "/models/new")
    page.fill("#editor-filename", "recheck_demo.bpmn")
    page.click("g.djs-element[data-element-id='Task_new_process']")
    page.select_option("#bio-properties-panel-cf-form", "result_review.json")
    lane = page.locator("g.djs-element[data-element-id='Lane_new_process']").bounding_box()
    page.mouse.click(lane["x"] + lane["width"] * 0.7, lane["y"] + 8)  # an empty spot of the lane
    expect(page.locator("#bio-properties-panel-cf-role")).to_have_value("intake")  # retries while it renders
    page.select_option("#bio-properties-panel-cf-role", "dispatcher")
    assert validate(page) == "clean", page.inner_text("#editor-findings")
    page.click("#editor-deploy")
    page.wait_for_selector("#editor-status[data-state=deployed]")
    assert page.locator("#editor-result li[data-process-id='new_process'][data-version='1']").count() == 1
    text = state(live_app).engine.current_files()["recheck_demo.bpmn"][1]
    assert 'cf:role="dispatcher"' in text and 'value="result_review.json"' in text
