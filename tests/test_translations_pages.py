"""Texts that reach the page's scripts (not the templates) are translated too: the modeler's bpmn-js and
dmn-js texts, the diagram viewer's failure sentence and the reports' hour unit (zh_CN, the default language)."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from flask import Flask

from tests.browser import browser  # noqa: F401 - fixture
from tests.test_ui_modeler import DATA_BLOCK, Signed, editor_app  # noqa: F401 - fixture
from tests.test_ui_modeler_browser import Browsers, base_url, open_editor, people  # noqa: F401 - fixtures
from tests.test_ui_models import models_app, models_url  # noqa: F401 - fixtures
from webapp.ui import reports

pytest_plugins = ["tests.web_fixtures"]

HAN = re.compile(r"[\u4e00-\u9fff]")
# Texts that read the same in Chinese.
SAME_IN_ZH = {"ID"}


def test_the_modeler_hands_bpmn_js_chinese_texts(editor_app: Flask) -> None:  # noqa: F811
    page = Signed(editor_app, "owner").client.get("/models/complaint_dispatch/edit").get_data(as_text=True)
    data = json.loads(DATA_BLOCK.search(page).group(1))
    untranslated = sorted(english for english, text in data["translations"].items()
                          if english not in SAME_IN_ZH and not HAN.search(text))
    assert untranslated == []
    assert data["translations"]["User Task"] == "人工任务"  # the properties panel's header
    assert data["translations"]["Timer boundary event (non-interrupting)"] == "定时边界事件（非中断）"
    for group in ("labels", "messages"):
        assert [key for key, text in data[group].items() if not HAN.search(text)] == [], group


def test_the_reports_charts_get_the_hour_unit_in_chinese(make_app: Callable[..., Flask]) -> None:
    with make_app().test_request_context("/reports"):
        assert reports._chart_texts()["hours"] == "小时"


def test_a_diagram_that_cannot_load_says_so_in_chinese(browser, models_url: str) -> None:  # noqa: ANN001, F811
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{models_url}/login")
        page.fill("input[name=username]", "owner")
        page.fill("input[name=password]", "demo")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(r".*/inbox.*"))
        page.route(re.compile(r".*/diagram$"), lambda route: route.fulfill(status=500, body="{}"))
        page.goto(f"{models_url}/models/complaint_intake?version=1")
        page.wait_for_selector('.model-diagram[data-ready="error"]')
        assert page.inner_text(".model-diagram").strip() == "无法打开流程图：HTTP 500"
    finally:
        context.close()


def test_the_dmn_editor_speaks_chinese(people: Browsers) -> None:  # noqa: F811
    page = open_editor(people, "/models/dmn/sla_policy.dmn/edit")
    assert page.inner_text(".hit-policy .dms-label").strip() == "命中策略："
    assert page.inner_text(".view-drd-button").strip() == "查看决策需求图"
