"""The reports pages: through Flask's test client over the known month (tests/reports_support.py), and once
in a real browser (charts drawn, a click on a chart opens the cases; screenshot docs/screenshots/reports.png).
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from openpyxl import load_workbook

from engine import report_settings, users
from engine.config import PROJECT_ROOT
from tests.browser import browser, live_server  # noqa: F401 - browser is a fixture
from tests.reports_support import CUSTOMERS
from tests.test_ui_pages import Session
from webapp import state

pytest_plugins = ["tests.web_fixtures", "tests.reports_fixtures"]

MARCH = "from=2026-03-01&to=2026-03-31"
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "reports.png"


@pytest.fixture
def report_app(month, make_app: Callable[..., Flask]) -> Flask:  # noqa: ANN001
    app = make_app()
    users.seed_demo_users(state(app).db, only=["supervisor", "escalation", "admin", "dispatcher", "owner"])
    return app


def page(app: Flask, user: str, path: str, status: int = 200) -> str:
    response = Session(app, user).get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_service_quality_page_links_every_figure_to_its_cases(report_app: Flask, month) -> None:  # noqa: ANN001
    html = page(report_app, "supervisor", f"/reports?{MARCH}&period=week&split=city")
    # The key figures with their numerator and denominator as links to the cases.
    row = re.search(r'<tr data-figure="closure">(.*?)</tr>', html, re.S).group(1)
    assert ('href="/reports/cases?figure=closure&amp;from=2026-03-01&amp;to=2026-03-31&amp;part=in_time" '
            'data-part="in_time">3</a>') in row
    assert ('href="/reports/cases?figure=closure&amp;from=2026-03-01&amp;to=2026-03-31&amp;part=total" '
            'data-part="total">7</a>') in row
    assert "42.9%" in row and 'data-part="missed"' in row
    assert re.search(r'<tr data-figure="appeal_rate">.*?1\.50', html, re.S)
    # The closure table by city and week, each cell a link narrowed to its key and week.
    assert '<tr data-key="北京">' in html
    assert ('href="/reports/cases?figure=closure&amp;from=2026-03-02&amp;to=2026-03-08&amp;part=total&amp;'
            'split=city&amp;key=%E5%8C%97%E4%BA%AC"') in html
    assert 'id="stage-table"' in html and 'id="split-table"' in html
    assert 'id="reports-chart-data"' in html and "<script>" not in html  # data for the charts, no inline script
    assert 'href="/reports/export?report=service-quality&amp;format=xlsx&amp;from=2026-03-01' in html


def test_standards_and_appeal_pages(report_app: Flask, month) -> None:  # noqa: ANN001
    html = page(report_app, "escalation", f"/reports/standards?{MARCH}")
    line = re.search(r'<tr data-line="mobile_reply_2wd"(.*?)</tr>', html, re.S).group(1)
    assert "60.0%" in line and "100.0%" in line
    # Each line's missed cases load into the page (htmx) from the drill-down's bare table.
    assert ('hx-get="/reports/cases/rows?figure=mobile_reply_2wd&amp;from=2026-03-01&amp;to=2026-03-31&amp;'
            'part=missed&amp;page_size=10"') in html
    assert 'data-line="broadband_repair_rural_48h"' in html  # in the table, with no missed-cases section:
    assert 'class="missed-line" data-line="broadband_repair_rural_48h"' not in html
    rows = page(report_app, "escalation", "/reports/cases/rows?figure=broadband_repair_urban_24h&part=missed&"
                + MARCH + "&page_size=10")
    assert rows.lstrip().startswith("<table") and "<html" not in rows
    assert f'<tr data-case="{month.n["C9"]}">' in rows and f'href="/cases/{month.n["C9"]}"' in rows
    html = page(report_app, "admin", "/reports/appeals?month=2026-03")
    total = re.search(r'<tr data-count="total">(.*?)</tr>', html, re.S).group(1)
    assert ">4</a>" in total and "+300.0%" in total
    assert re.search(r'<tr data-issue="billing">.*?split=issue&amp;key=billing', html, re.S)


def test_drill_down_list_links_to_each_case_and_pages(report_app: Flask, month) -> None:  # noqa: ANN001
    html = page(report_app, "supervisor", f"/reports/cases?figure=closure&part=missed&{MARCH}")
    assert [m for m in re.findall(r'<tr data-case="([A-Z]{2}\d{14})">', html)] == [month.n["C3"], month.n["C2"]]
    assert f'href="/cases/{month.n["C3"]}"' in html and 'class="clock-state clock-missed"' in html
    html = page(report_app, "supervisor", f"/reports/cases?figure=repeat&part=total&{MARCH}&page_size=4&page=2")
    assert len(re.findall(r'<tr data-case=', html)) == 4 and 'rel="prev"' in html and 'rel="next"' in html
    page(report_app, "supervisor", "/reports/cases?figure=nope", status=400)


def test_downloads_from_the_pages(report_app: Flask, month) -> None:  # noqa: ANN001
    session = Session(report_app, "supervisor")
    answer = session.get(f"/reports/export?report=cases&format=xlsx&figure=closure&part=total&{MARCH}")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.data))
    assert book.active.title == "报表说明" and ["数据来源", "主库"] in [[c.value for c in row] for row in book.active]
    assert book["限时办结率·合计"].max_row == 8  # header and the 7 dispatched complaints
    answer = session.get(f"/reports/export?report=service-quality&format=csv&{MARCH}")
    text = answer.data.decode("utf-8-sig")
    assert answer.status_code == 200 and text.startswith("报表说明\r\n") and "\r\n数据来源,主库\r\n" in text
    assert "\r\n\r\n指标汇总\r\n" in text  # the report's first block follows the file's description
    assert session.get("/reports/export?report=secret&format=csv").status_code == 400


def test_bad_filters_are_shown_on_the_page(report_app: Flask) -> None:
    html = page(report_app, "supervisor", "/reports?from=2026-03-31&to=2026-03-01&period=year", status=400)
    assert 'id="report-errors"' in html and "<strong>to</strong>" in html and "<strong>period</strong>" in html
    assert 'id="kpi-table"' not in html


def test_only_report_roles_open_the_pages(report_app: Flask) -> None:
    for user in ("dispatcher", "owner"):
        for path in ("/reports", "/reports/standards", "/reports/appeals", "/reports/cases?figure=closure",
                     "/reports/export?report=standards&format=csv"):
            page(report_app, user, path, status=403)
    assert Session(report_app).get("/reports").status_code == 302  # to the sign-in page


def test_admin_sets_the_customer_count_on_the_page(report_app: Flask) -> None:
    admin = Session(report_app, "admin")
    html = admin.get(f"/reports?{MARCH}").get_data(as_text=True)
    assert 'name="customer_count"' in html and f'value="{CUSTOMERS}"' in html
    assert admin.post("/reports/settings", {"customer_count": "3,000,000", "from": "2026-03-01"}).status_code == 302
    with state(report_app).db.read() as session:
        assert report_settings.customer_count(session) == 3_000_000
    answer = admin.post("/reports/settings", {"customer_count": "lots"})
    assert answer.status_code == 302
    assert "不小于 1 的整数" in admin.get(answer.headers["Location"]).get_data(as_text=True)  # zh: "a whole number"
    assert admin.post("/reports/settings", {"customer_count": "5"}, csrf=False).status_code == 400
    supervisor = Session(report_app, "supervisor")
    assert 'name="customer_count"' not in supervisor.get(f"/reports?{MARCH}").get_data(as_text=True)
    assert supervisor.post("/reports/settings", {"customer_count": "5"}).status_code == 403
    with state(report_app).db.read() as session:
        assert report_settings.customer_count(session) == 3_000_000


# -- in the browser -----------------------------------------------------------------------------------------------


@pytest.fixture
def live_reports(report_app: Flask) -> Iterator[str]:
    with live_server(report_app, "reports-test-server") as url:
        yield url


def test_reports_in_the_browser_charts_drill_down_and_screenshot(browser, live_reports: str, month) -> None:  # noqa: ANN001, F811
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}, timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))  # a script error (the CSP, Chart.js, ours)
        tab.goto(f"{live_reports}/login")
        tab.fill("input[name=username]", "supervisor")
        tab.fill("input[name=password]", "demo")
        tab.click("form.stack button[type=submit]")
        tab.wait_for_url(re.compile(r".*/inbox.*"))
        tab.goto(f"{live_reports}/reports?{MARCH}&period=week&split=tier")
        tab.wait_for_selector("body[data-charts='3']")
        assert errors == []
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOT), full_page=True)
        # Click the closure chart's "All" point for the week of 03-02: it opens that week's dispatched complaints.
        point = tab.evaluate("""() => {
            const canvas = document.getElementById('chart-closure');
            const chart = window.Chart.getChart(canvas);
            const element = chart.getDatasetMeta(0).data[1];
            const box = canvas.getBoundingClientRect();
            return {x: box.left + element.x, y: box.top + element.y};
        }""")
        tab.mouse.click(point["x"], point["y"])
        tab.wait_for_url(re.compile(r".*/reports/cases\?.*"))
        assert "from=2026-03-02" in tab.url and "to=2026-03-08" in tab.url
        numbers = tab.locator("#report-cases tbody tr").evaluate_all("rows => rows.map(r => r.dataset.case)")
        assert numbers == [month.n["C3"], month.n["C2"], month.n["C1"]]
        tab.click(f"a[href='/cases/{month.n['C2']}']")
        tab.wait_for_url(re.compile(rf".*/cases/{month.n['C2']}$"))
        # The standards page loads the cases that missed each line into itself.
        tab.goto(f"{live_reports}/reports/standards?{MARCH}")
        tab.wait_for_selector("body[data-charts='1']")
        # A function, not an expression: Playwright evaluates a bare expression with eval, which the CSP refuses.
        tab.wait_for_function("() => document.querySelectorAll('.missed-rows table').length === 2")
        assert tab.locator(".missed-rows tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)") == [
            month.n["C2"], month.n["C9"]]
        assert errors == []
    finally:
        context.close()
