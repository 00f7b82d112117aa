"""The web UI in a real browser (Debian's chromium through Playwright).

The app runs under werkzeug in a thread on 127.0.0.1 with the test clock, demo
users, holidays and processes/ deployed. Each user works in their own browser
context (own cookies), in Simplified Chinese.

The walk-through is generic: at each step it takes the case's open task, signs in
as the demo user whose role matches, finds the task in that user's inbox, opens its
page and fills the form from the task's JSON Schema, so it follows whatever
processes/ and forms/ define.

The screenshots in docs/screenshots/ (shown in the README) are taken here.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from engine import users
from engine.config import PROJECT_ROOT
from engine.scheduler import drain_due_timers
from engine.viewer import SYSTEM
from tests.browser import Browsers, browser, live_server  # noqa: F401 - browser is a fixture
from tests.fault_support import database_down
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
# Field names whose "yes" (or first option) would leave the main path: answer no / pick another.
NEGATIVE = ("first_contact", "return", "reject", "reopen", "escalat", "upgrade", "unsatisf", "refus", "wrong",
            "need", "pause", "mediat", "appeal", "quick_settled", "press")
NEGATIVE_VALUES = ("return", "reject", "need", "不满意", "退单", "不通过", "upgrade", "escalat")

COMPLAINT = {
    "phone": "18611112222", "customer_name": "李娜", "star_level": "3", "channel": "10010",
    "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
    "description": "小区内 4G 上网很慢，晚上经常断线，已持续一周。", "request": "尽快恢复正常上网",
}


def role_user(role: str) -> str:
    """The demo user who holds ``role`` (dept:network -> network)."""
    for demo in users.DEMO_USERS:
        if role in demo.roles:
            return demo.username
    raise AssertionError(f"no demo user holds role {role}")


@pytest.fixture
def base_url(live_app: Flask) -> Iterator[str]:
    with live_server(live_app, "ui-test-server") as url:
        yield url


@pytest.fixture
def desk(browser, base_url: str) -> Iterator[Browsers]:  # noqa: ANN001, F811
    opened = Browsers(browser, base_url, timeout_ms=15_000)
    yield opened
    opened.close()


def register_complaint(desk: Browsers, **overrides: str) -> str:
    """Fill the new-complaint page as the intake agent; returns the new case number."""
    page = desk.page("intake")
    page.goto(f"{desk.base_url}/complaints/new")
    fields = {**COMPLAINT, **overrides}
    for name in ("phone", "customer_name", "city", "description", "request"):
        page.fill(f"#{name}", fields[name])
    for name in ("star_level", "channel", "business_line", "category", "region"):
        page.select_option(f"#{name}", fields[name])
    if fields.get("svip") == "true":
        page.check("input[name=svip]")
    page.click("form.complaint-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/[A-Z]{2}\d{14}$"))
    return page.url.rsplit("/", 1)[1]


def _text_for(name: str, prop: dict, number: str) -> str:
    pattern = prop.get("pattern")
    if pattern:
        for candidate in (number, COMPLAINT["phone"], "13800138000"):
            if re.search(pattern, candidate):
                return candidate
    text = f"已按流程办理（{prop.get('title') or name}）"
    limit = prop.get("maxLength")
    return text[:limit] if isinstance(limit, int) else text


def _pick(values: list) -> object:
    for value in values:
        if not any(word in str(value).lower() for word in NEGATIVE_VALUES):
            return value
    return values[0]


def fill_form(page, schema: dict | None, number: str) -> None:  # noqa: ANN001
    """Fill a task form from its JSON Schema, choosing the answers that keep to the main path."""
    for name, prop in ((schema or {}).get("properties") or {}).items():
        kind = prop.get("type")
        negative = any(word in name for word in NEGATIVE)
        if kind == "boolean":
            radio = page.locator(f"input[type=radio][name='{name}'][value='{'false' if negative else 'true'}']")
            if radio.count():
                radio.check()
            elif negative:
                page.uncheck(f"input[type=checkbox][name='{name}']")
            else:
                page.check(f"input[type=checkbox][name='{name}']")
        elif kind == "array":
            items = prop.get("items") or {}
            if "enum" in items:
                page.check(f"input[type=checkbox][name='{name}'][value='{_pick(items['enum'])}']")
            else:
                page.fill(f"[name='{name}']", _text_for(name, items, number))
        elif "enum" in prop:
            page.select_option(f"select[name='{name}']", str(_pick(prop["enum"])))
        elif kind in ("integer", "number"):
            page.fill(f"[name='{name}']", str(prop.get("minimum", 1)))
        elif kind == "string" and prop.get("format") == "date-time":
            page.fill(f"[name='{name}']", "2026-03-10T10:00")
        elif kind == "string":
            page.fill(f"[name='{name}']", _text_for(name, prop, number))


def walk_step(desk: Browsers, app: Flask, number: str, task: dict) -> str:
    """Do one open task of case ``number`` the way its user would; returns who did it."""
    user = role_user(task["role"])
    page = desk.page(user)
    page.goto(f"{desk.base_url}/inbox?q={number}")
    row = page.locator(f"tr[data-task-id='{task['id']}']")
    assert row.count() == 1, f"{task['name']} ({task['role']}) is not in {user}'s inbox"
    row.locator("a.task-link").click()
    page.wait_for_url(re.compile(rf".*/tasks/{task['id']}$"))
    schema = state(app).engine.get_task(task["id"], SYSTEM).get("form")
    fill_form(page, schema, number)
    page.click("form.task-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox.*"))
    assert page.locator(".flash-success").count() == 1, page.content()[:3000]
    return user


def test_complaint_walks_from_intake_to_archive_each_step_by_its_role(desk: Browsers, live_app: Flask) -> None:
    engine = state(live_app).engine
    number = register_complaint(desk)
    done: list[tuple[str, str, str]] = []
    idle_hours = 0
    for _ in range(60):
        case = engine.get_case(number, SYSTEM)
        if case["status"] != "running":
            break
        if not case["tasks"]:
            # Waiting for a timer (e.g. a callback delay): move the clock on as the scheduler would see it.
            assert idle_hours < 72, f"case {number} waits for something other than time: {case['timers']}"
            state(live_app).test_clock.advance(3600)
            drain_due_timers(engine)
            idle_hours += 1
            continue
        task = case["tasks"][0]
        user = walk_step(desk, live_app, number, task)
        assert task["role"] in users.DEMO_USERS[[d.username for d in users.DEMO_USERS].index(user)].roles
        done.append((task["bpmn_id"], task["role"], user))
    case = engine.get_case(number, SYSTEM)
    assert case["status"] == "completed", (done, case["tasks"])
    roles = [role for _, role, _ in done]
    assert "dispatcher" in roles and any(r.startswith("dept:") for r in roles), done
    # Every step appears on the case page's timeline as completed by the person who did it.
    page = desk.page("supervisor")
    page.goto(f"{desk.base_url}/cases/{number}")
    assert page.locator(".status-completed").count() == 1
    timeline = page.locator("ol.timeline").inner_text()
    names = {demo.username: demo.display_name for demo in users.DEMO_USERS}
    for _bpmn_id, _role, user in done:
        assert names[user] in timeline


def test_handler_of_one_department_is_denied_another_departments_task(desk: Browsers, live_app: Flask) -> None:
    engine = state(live_app).engine
    number = register_complaint(desk, phone="18633334444")
    for _ in range(10):  # to the first department task
        tasks = engine.get_case(number, SYSTEM)["tasks"]
        dept = [t for t in tasks if t["role"].startswith("dept:")]
        if dept:
            break
        walk_step(desk, live_app, number, tasks[0])
    task = dept[0]
    other = "billing" if task["role"] != "dept:billing" else "network"
    page = desk.page(other)
    response = page.goto(f"{desk.base_url}/tasks/{task['id']}")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问"
    assert task["name"] not in page.content()
    # ... and the task is not in their inbox either, while its own department sees it.
    page.goto(f"{desk.base_url}/inbox?q={number}")
    assert page.locator(f"tr[data-task-id='{task['id']}']").count() == 0
    owner = desk.page(role_user(task["role"]))
    owner.goto(f"{desk.base_url}/inbox?q={number}")
    assert owner.locator(f"tr[data-task-id='{task['id']}']").count() == 1


def test_the_inbox_refreshes_in_place(desk: Browsers, live_app: Flask) -> None:
    """The table reloads itself every 30 s (htmx), without a page load; the counts follow."""
    engine = state(live_app).engine
    first = engine.start_complaint({**COMPLAINT, "star_level": 3, "svip": False}, "intake")
    role = first["tasks"][0]["role"]
    page = desk.page(role_user(role))
    page.clock.install()
    page.goto(f"{desk.base_url}/inbox")
    assert page.locator("table.tasks tbody tr[data-task-id]").count() == 1
    page.evaluate("window.stillTheSamePage = true")
    second = engine.start_complaint({**COMPLAINT, "phone": "18699990000", "star_level": 3, "svip": False}, "intake")
    assert second["tasks"][0]["role"] == role
    page.clock.run_for(31_000)
    page.wait_for_selector(f"tr[data-case='{second['number']}']")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator("#count-inbox").inner_text().startswith("2")


def _shoot(page, name: str) -> Path:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_screenshots_of_inbox_task_form_and_case_page(desk: Browsers, live_app: Flask) -> None:
    """A dispatcher's morning: several cases in the queue, one past its reminder, one overdue."""
    engine = state(live_app).engine
    clock = state(live_app).test_clock

    def to_dispatch(number: str) -> None:  # intake hands the case on (first contact did not solve it)
        walk_step(desk, live_app, number, engine.get_case(number, SYSTEM)["tasks"][0])

    late = register_complaint(desk, phone="18600006666", customer_name="孙丽", svip="true",
                              category="billing", description="套餐外流量费用异常，要求核查退费。")
    to_dispatch(late)
    clock.advance(6 * 3600)
    first = register_complaint(desk, phone="18600001111", customer_name="王强", star_level="5",
                               category="network_coverage", description="家中室内信号弱，经常无服务。")
    svip = register_complaint(desk, phone="18600002222", customer_name="赵敏", svip="true",
                              business_line="broadband", category="broadband_repair", region="suburban",
                              city="天津", description="宽带频繁掉线，影响居家办公。")
    for number in (first, svip):
        to_dispatch(number)
    clock.advance(20 * 3600)
    drain_due_timers(engine)
    for phone, name, category, line in (("18600003333", "陈静", "product_rules", "mobile"),
                                        ("18600004444", "刘洋", "mobile_voice", "mobile"),
                                        ("18600005555", "周杰", "broadband_install", "broadband")):
        to_dispatch(register_complaint(desk, phone=phone, customer_name=name, category=category,
                                       business_line=line))

    page = desk.page("dispatcher")
    page.goto(f"{desk.base_url}/inbox?tier=svip")  # save a filter, shared with the dispatchers
    page.click("details.save-filter summary")
    page.fill("details.save-filter input[name=name]", "SVIP 客户")
    page.select_option("details.save-filter select[name=shared_role]", "dispatcher")
    page.click("details.save-filter button[type=submit]")
    page.wait_for_selector(".chip a:text('SVIP 客户')")
    assert page.locator("table.tasks tbody tr[data-task-id]").count() == 2
    page.goto(f"{desk.base_url}/inbox")
    rows = page.locator("table.tasks tbody tr[data-task-id]")
    assert rows.count() >= 5
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "工作台" in page.locator("h1").inner_text()
    assert page.locator(f"tr[data-case='{late}'] .due-overdue").count() == 1
    assert page.locator(f"tr[data-case='{first}'] .due-warn").count() == 1
    # Claim one from the inbox (htmx swaps the table in place, no page load).
    page.locator(f"tr[data-case='{first}'] form[action$='/claim'] button").click()
    page.wait_for_selector(f"tr[data-case='{first}'] form[action$='/release']")
    _shoot(page, "inbox")

    task = [t for t in engine.get_case(first, SYSTEM)["tasks"] if t["role"] == "dispatcher"][0]
    page.goto(f"{desk.base_url}/tasks/{task['id']}")
    page.wait_for_selector(".diagram[data-ready=true]")
    page.fill("textarea[name=dispatch_note]", "室内覆盖问题，请网络部现场测试并优化。")
    page.click("form.task-form button[type=submit]")  # no department chosen: the engine says so
    assert page.locator(".field-error").count() >= 1
    page.wait_for_selector(".diagram[data-ready=true]")
    _shoot(page, "task-form")

    walk_step(desk, live_app, svip, [t for t in engine.get_case(svip, SYSTEM)["tasks"]
                                     if t["role"] == "dispatcher"][0])
    clock.advance(8 * 3600)
    drain_due_timers(engine)
    page = desk.page("supervisor")
    page.goto(f"{desk.base_url}/cases/{svip}")
    page.wait_for_selector(".diagram[data-ready=true]")
    assert page.locator("table.sla tr[data-clock]").count() >= 1
    marked = page.locator(".djs-element.hl-completed, .djs-element.hl-active, .djs-element.hl-overdue")
    assert marked.count() >= 1
    _shoot(page, "case")
    for name in ("inbox", "task-form", "case"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 20_000


def test_escalation_desk_shows_a_case_once_the_clock_passes_its_deadline(desk: Browsers, live_app: Flask) -> None:
    """The desk refreshes itself every 60 s: a case appears, as overdue, once its deadline has passed."""
    engine = state(live_app).engine
    clock = state(live_app).test_clock
    cases = [engine.start_complaint({**COMPLAINT, **fields}, "intake")["number"] for fields in (
        {"phone": "18600007001", "customer_name": "吴昊", "star_level": 5, "svip": False, "city": "上海",
         "category": "network_coverage"},
        {"phone": "18600007002", "customer_name": "郑爽", "star_level": 2, "svip": False, "city": "广州",
         "category": "billing"},
        {"phone": "18600007003", "customer_name": "冯涛", "star_level": 1, "svip": False, "city": "北京",
         "category": "product_rules"},
    )]
    first, second, third = cases
    clock.advance(20 * 3600)
    drain_due_timers(engine)
    page = desk.page("escalation")
    page.clock.install()
    page.goto(f"{desk.base_url}/desk")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "升级" in page.locator("h1").inner_text()
    assert page.locator(f"tr[data-case='{first}'][data-status='at_risk']").count() == 1
    page.evaluate("window.stillTheSamePage = true")

    clock.advance(40 * 3600)  # past the 24 h limit of the 5-star case and the 48 h of the others
    drain_due_timers(engine)
    page.clock.run_for(61_000)
    page.wait_for_selector(f"tr[data-case='{first}'][data-status='overdue']")
    assert page.evaluate("window.stillTheSamePage") is True
    for number in (second, third):
        assert page.locator(f"tr[data-case='{number}'][data-status='overdue']").count() == 1
    assert page.locator("#desk-overdue").inner_text() == "3"
    assert page.locator("section[data-group=city] tr[data-key='上海']").count() == 1
    page.wait_for_selector("body[data-charts]")
    assert int(page.locator("body").get_attribute("data-charts")) >= 1
    _shoot(page, "desk")
    assert (SCREENSHOTS / "desk.png").stat().st_size > 20_000

    page.click(f"tr[data-case='{first}'] a")
    page.wait_for_url(re.compile(rf".*/cases/{first}$"))


def test_the_database_fault_page_is_laid_out_like_the_other_pages(desk: Browsers, live_app: Flask, monkeypatch,
                                                                   tmp_path: Path) -> None:  # noqa: ANN001
    """The 503 page stands alone (no database, no user), yet sits centred in the page as every other page does."""
    page = desk.page("dispatcher")
    database_down(monkeypatch, state(live_app).db)
    response = page.goto(f"{desk.base_url}/inbox")
    assert response.status == 503
    card = page.locator(".error-card").bounding_box()
    middle = desk.VIEWPORT["width"] / 2
    assert abs(card["x"] + card["width"] / 2 - middle) < 20, card
    assert card["y"] > 40, card  # below the top edge, as the narrow pages are
    page.screenshot(path=str(tmp_path / "database-fault.png"))
