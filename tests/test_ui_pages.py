"""The web UI through Flask's test client: every page and form POST, permissions, CSRF, validation, i18n.

Runs on the small stable test process (tests/models/basic: 审核派发 by the dispatcher, then
核查处理 by dept:network), so it does not move when processes/ grows.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import comments, holidays, saved_filters, users
from engine.config import PROJECT_ROOT
from engine.service import TaskFilters
from engine.viewer import SYSTEM
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT, DISPATCHER, SUPERVISOR
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def ui_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    state(app).engine.deploy_directory("owner")
    return app


class Session:
    """A test client signed in as one user, with the CSRF token of its session."""

    def __init__(self, app: Flask, username: str | None = None) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.token = ""
        if username:
            self.login(username)

    def refresh_token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        found = TOKEN.search(page.get_data(as_text=True))
        assert found, page.get_data(as_text=True)[:500]
        self.token = found.group(1)
        return self.token

    def login(self, username: str, password: str = "demo"):  # noqa: ANN201
        page = self.client.get("/login")
        token = TOKEN.search(page.get_data(as_text=True)).group(1)
        response = self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        if response.status_code == 302:
            self.refresh_token("/inbox")
        return response

    def get(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):  # noqa: ANN003, ANN201
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.token
        return self.client.post(path, data=body, **kwargs)


def start(app: Flask, **fields) -> str:  # noqa: ANN003
    return state(app).engine.start_complaint({**COMPLAINT, **fields}, "intake")["number"]


def open_tasks(app: Flask, number: str) -> list[dict]:
    return state(app).engine.get_case(number, SYSTEM)["tasks"]


def dispatch(app: Flask, number: str) -> dict:
    """Dispatch the case to network; returns the network's task."""
    task = open_tasks(app, number)[0]
    state(app).engine.complete(task["id"], DISPATCHER, {"department": "network", "dispatch_note": "请核查"})
    return open_tasks(app, number)[0]


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def field_html(response, name: str) -> str:  # noqa: ANN001
    """The HTML of one form field (label, widget, error) on a task page."""
    body = text(response)
    start = body.index(f'data-field="{name}"')
    ends = [i for i in (body.find('<div class="field', start), body.find('<div class="form-actions"', start)) if i > 0]
    return body[start:min(ends)]


# --- signing in and out ---------------------------------------------------------------------


def test_pages_need_a_signed_in_user(ui_app: Flask) -> None:
    client = ui_app.test_client()
    for path in ("/inbox", "/inbox/rows", "/complaints/new", "/cases/TS20260302000001", "/tasks/x"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path
    assert client.get("/").headers["Location"] == "/inbox"
    htmx = client.get("/inbox/rows", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login"


def test_login_sets_a_hardened_session_cookie_and_goes_where_the_user_wanted(ui_app: Flask) -> None:
    client = ui_app.test_client()
    token = TOKEN.search(text(client.get("/login?next=/complaints/new"))).group(1)
    response = client.post("/login", data={"username": "intake", "password": "demo", "csrf_token": token,
                                           "next": "/complaints/new"})
    assert response.status_code == 302 and response.headers["Location"] == "/complaints/new"
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("complaintflow_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/complaints/new").status_code == 200


def test_the_cookie_is_secure_when_configured(make_app: Callable[..., Flask], monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("COMPLAINTFLOW_SECURE_COOKIES", "1")
    app = make_app()
    users.seed_demo_users(state(app).db, only=["intake"])
    client = app.test_client()
    token = TOKEN.search(text(client.get("/login", base_url="https://localhost"))).group(1)
    response = client.post("/login", data={"username": "intake", "password": "demo", "csrf_token": token},
                           base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("complaintflow_session=")][0]
    assert "Secure" in cookie


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "/\\evil", "inbox", ""])
def test_login_never_redirects_off_site(ui_app: Flask, target: str) -> None:
    client = ui_app.test_client()
    token = TOKEN.search(text(client.get("/login"))).group(1)
    response = client.post("/login", data={"username": "intake", "password": "demo", "csrf_token": token,
                                           "next": target})
    assert response.headers["Location"] == "/inbox"


def test_wrong_password_is_refused_calmly(ui_app: Flask) -> None:
    session = Session(ui_app)
    response = session.login("intake", "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in text(response)
    assert session.get("/inbox").status_code == 302


def test_logout_ends_the_session_and_needs_a_post(ui_app: Flask) -> None:
    session = Session(ui_app, "intake")
    assert session.get("/logout").status_code == 405
    response = session.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert session.get("/inbox").status_code == 302


def test_a_deactivated_user_is_signed_out_at_once(ui_app: Flask) -> None:
    session = Session(ui_app, "dispatcher")
    from sqlalchemy import update

    from engine.models import User

    with state(ui_app).db.write() as db_session:
        db_session.execute(update(User).where(User.username == "dispatcher").values(active=False))
    assert session.get("/inbox").status_code == 302


# --- CSRF -----------------------------------------------------------------------------------------


def test_form_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    for path, data in ((f"/tasks/{task['id']}/claim", {}),
                       (f"/tasks/{task['id']}", {"department": "network", "dispatch_note": "x"}),
                       (f"/cases/{number}/comments", {"body": "x"}),
                       ("/inbox/filters", {"name": "x"}), ("/logout", {}), ("/language", {"lang": "en"})):
        missing = session.post(path, data, csrf=False)
        forged = session.post(path, {**data, "csrf_token": "forged"}, csrf=False)
        assert missing.status_code == 400 and forged.status_code == 400, path
        assert "表单已失效" in text(missing)
    assert open_tasks(ui_app, number)[0]["assignee"] is None
    with state(ui_app).db.read() as db_session:
        assert comments.list_comments(db_session, number) == []
    assert session.get("/inbox").status_code == 200  # still signed in
    login = ui_app.test_client().post("/login", data={"username": "intake", "password": "demo"})
    assert login.status_code == 400


def test_the_bearer_token_api_needs_no_csrf_token(ui_app: Flask, headers_for) -> None:  # noqa: ANN001
    response = ui_app.test_client().post("/api/v1/complaints", json=COMPLAINT, headers=headers_for("intake"))
    assert response.status_code == 201


def test_a_session_cookie_does_not_open_the_api(ui_app: Flask) -> None:
    session = Session(ui_app, "intake")
    assert session.client.post("/api/v1/complaints", json=COMPLAINT).status_code == 401


# --- language -------------------------------------------------------------------------------------


def test_chinese_by_default_and_english_on_request(ui_app: Flask) -> None:
    session = Session(ui_app, "dispatcher")
    page = text(session.get("/inbox"))
    assert '<html lang="zh-CN">' in page and "工作台" in page and "待领取" in page
    response = session.post("/language", {"lang": "en", "next": "/inbox?scope=mine"})
    assert response.headers["Location"] == "/inbox?scope=mine"
    page = text(session.get("/inbox"))
    assert '<html lang="en">' in page and ">Inbox<" in page and "工作台" not in page
    session.post("/language", {"lang": "fr"})  # unknown: unchanged
    assert '<html lang="en">' in text(session.get("/inbox"))
    session.post("/language", {"lang": "zh_CN"})
    assert '<html lang="zh-CN">' in text(session.get("/inbox"))


def test_the_language_survives_signing_in_and_out(ui_app: Flask) -> None:
    session = Session(ui_app)
    session.refresh_token()
    session.post("/language", {"lang": "en"})
    session.login("intake")
    assert '<html lang="en">' in text(session.get("/inbox"))
    session.post("/logout")
    assert "Sign in" in text(session.get("/login"))


# --- inbox ----------------------------------------------------------------------------------------


def row_numbers(response) -> list[str]:  # noqa: ANN001
    return re.findall(r'data-case="([A-Z]{2}\d{14})"', text(response))


def test_the_inbox_shows_my_tasks_and_my_groups_unclaimed_tasks_with_counts(ui_app: Flask, clock) -> None:  # noqa: ANN001
    engine = state(ui_app).engine
    mine, free, colleagues = start(ui_app), start(ui_app, phone="13900000001"), start(ui_app, phone="13900000002")
    handled = start(ui_app, phone="13900000003")
    engine.claim(open_tasks(ui_app, mine)[0]["id"], DISPATCHER)
    engine.claim(open_tasks(ui_app, colleagues)[0]["id"], SUPERVISOR)
    dispatch(ui_app, handled)
    session = Session(ui_app, "dispatcher")
    page = session.get("/inbox")
    assert sorted(row_numbers(page)) == sorted([mine, free])
    for scope, count in (("inbox", 2), ("mine", 1), ("unclaimed", 1), ("all", 3)):
        assert re.search(rf'id="count-{scope}">{count}<', text(page)), scope
    assert row_numbers(session.get("/inbox?scope=mine")) == [mine]
    assert row_numbers(session.get("/inbox?scope=unclaimed")) == [free]
    assert sorted(row_numbers(session.get("/inbox?scope=all"))) == sorted([mine, free, colleagues])
    # a department sees only its own queue
    assert row_numbers(Session(ui_app, "network").get("/inbox")) == [handled]
    assert row_numbers(Session(ui_app, "billing").get("/inbox")) == []


def test_inbox_filters_and_sorts(ui_app: Flask, clock) -> None:  # noqa: ANN001
    plain = start(ui_app, customer_name="王小明")
    clock.advance(3600)
    svip = start(ui_app, phone="13900000001", svip=True, category="billing", business_line="broadband",
                 region="rural")
    session = Session(ui_app, "dispatcher")
    assert row_numbers(session.get("/inbox")) == [svip, plain]  # SVIP's 24 h limit comes first
    assert row_numbers(session.get("/inbox?sort=age")) == [plain, svip]
    assert row_numbers(session.get("/inbox?sort=priority")) == [svip, plain]
    assert row_numbers(session.get("/inbox?q=王小明")) == [plain]
    assert row_numbers(session.get("/inbox?q=13900000001")) == [svip]
    assert row_numbers(session.get(f"/inbox?q={plain}")) == [plain]
    assert row_numbers(session.get("/inbox?category=billing")) == [svip]
    assert row_numbers(session.get("/inbox?business_line=mobile")) == [plain]
    assert row_numbers(session.get("/inbox?region=rural")) == [svip]
    assert row_numbers(session.get("/inbox?tier=standard")) == [plain]
    assert row_numbers(session.get("/inbox?due_within_hours=30")) == [svip]
    assert row_numbers(session.get("/inbox?overdue=true")) == []
    clock.advance(25 * 3600)
    page = session.get("/inbox?overdue=true")
    assert row_numbers(page) == [svip]
    assert "due-overdue" in text(page) and "已超时" in text(page)


def test_deadlines_turn_amber_after_the_reminder_and_red_when_overdue(ui_app: Flask, clock) -> None:  # noqa: ANN001
    number = start(ui_app)  # 48 h, reminder at 36 h
    session = Session(ui_app, "dispatcher")

    def state_of() -> str:
        return re.search(rf'data-case="{number}"[^>]*>', text(session.get("/inbox"))).group(0)

    assert 'class="state-ok"' in re.search(rf'<tr class="[^"]*" data-task-id="[^"]+" data-case="{number}"',
                                            text(session.get("/inbox"))).group(0)
    clock.advance(37 * 3600)
    assert re.search(r'<tr class="state-warn"', text(session.get("/inbox")))
    assert "剩余 11小时" in text(session.get("/inbox"))
    clock.advance(12 * 3600)
    page = text(session.get("/inbox"))
    assert re.search(r'<tr class="state-overdue"', page) and "已超时 1小时" in page
    assert state_of()


def test_bad_filter_values_are_ignored_with_a_notice(ui_app: Flask) -> None:
    number = start(ui_app)
    page = Session(ui_app, "dispatcher").get("/inbox?region=moon&due_within_hours=-1&scope=nowhere&page=x")
    assert page.status_code == 200 and row_numbers(page) == [number]
    assert "部分筛选条件无法识别" in text(page)


def test_the_rows_partial_carries_the_counts_out_of_band(ui_app: Flask) -> None:
    number = start(ui_app)
    page = Session(ui_app, "dispatcher").get("/inbox/rows?scope=unclaimed", headers={"HX-Request": "true"})
    body = text(page)
    assert page.status_code == 200 and "<html" not in body and row_numbers(page) == [number]
    assert 'id="count-unclaimed" hx-swap-oob="true">1<' in body
    assert 'hx-get="/inbox/rows?scope=unclaimed"' in body


def test_saved_filters_per_user_shared_with_a_role(ui_app: Flask) -> None:
    start(ui_app)
    mine = Session(ui_app, "dispatcher")
    response = mine.post("/inbox/filters", {"name": "超时SVIP", "tier": "svip", "overdue": "true", "scope": "all",
                                            "shared_role": "dispatcher", "bogus": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox?scope=all&tier=svip&overdue=true"
    with state(ui_app).db.read() as db_session:
        [saved] = saved_filters.list_filters(db_session, DISPATCHER)
    assert saved["query"] == {"scope": "all", "tier": "svip", "overdue": "true"}
    assert saved["shared_role"] == "dispatcher"
    page = text(mine.get("/inbox"))
    assert "超时SVIP" in page and 'href="/inbox?scope=all&amp;tier=svip&amp;overdue=true"' in page
    # a colleague in the role sees it; another role does not
    users.seed_demo_users(state(ui_app).db)
    with state(ui_app).db.write() as db_session:
        users.create_user(db_session, "dispatcher2", "demo", ["dispatcher"])
    assert "超时SVIP" in text(Session(ui_app, "dispatcher2").get("/inbox"))
    assert "超时SVIP" not in text(Session(ui_app, "network").get("/inbox"))
    # sharing with a role one does not hold is refused
    refused = mine.post("/inbox/filters", {"name": "给网络", "q": "x", "shared_role": "dept:network"})
    assert refused.status_code == 302
    assert "只能共享给您本人所属的角色" in text(mine.get("/inbox"))
    assert mine.post("/inbox/filters", {"name": ""}).status_code == 302
    assert "请为筛选条件命名" in text(mine.get("/inbox"))
    # only the owner deletes
    assert Session(ui_app, "dispatcher2").post(f"/inbox/filters/{saved['id']}/delete").status_code == 403
    assert mine.post(f"/inbox/filters/{saved['id']}/delete").status_code == 302
    assert "超时SVIP" not in text(mine.get("/inbox"))
    assert mine.post(f"/inbox/filters/{saved['id']}/delete").status_code == 404


# --- claim, release, reassign ----------------------------------------------------------------------


def test_claim_and_release_from_the_inbox_with_htmx(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    hx = {"HX-Request": "true"}
    response = session.post(f"/tasks/{task['id']}/claim", {"return_query": "scope=mine"}, headers=hx)
    body = text(response)
    assert response.status_code == 200 and 'id="inbox-table"' in body and "已领取" in body
    assert row_numbers(response) == [number] and 'id="count-mine" hx-swap-oob="true">1<' in body
    assert open_tasks(ui_app, number)[0]["assignee"] == "dispatcher"
    # someone else cannot take it
    users.seed_demo_users(state(ui_app).db)
    with state(ui_app).db.write() as db_session:
        users.create_user(db_session, "dispatcher2", "demo", ["dispatcher"])
    other = Session(ui_app, "dispatcher2")
    refused = other.post(f"/tasks/{task['id']}/claim", headers=hx)
    assert refused.status_code == 200 and "此任务已被他人领取或已完成" in text(refused)
    refused = other.post(f"/tasks/{task['id']}/release")
    assert refused.status_code == 302 and "此任务已被他人领取或已完成" in text(other.get("/inbox"))
    released = session.post(f"/tasks/{task['id']}/release", headers=hx)
    assert "已释放" in text(released) and open_tasks(ui_app, number)[0]["assignee"] is None


def test_claim_without_javascript_redirects_back(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    response = session.post(f"/tasks/{task['id']}/claim", {"next": "/inbox?scope=mine"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox?scope=mine"
    assert "已领取" in text(session.get("/inbox?scope=mine"))
    assert session.post(f"/tasks/{task['id']}/claim", {"next": "https://evil.example"}).headers[
        "Location"] == "/inbox"


def test_only_a_supervisor_reassigns(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    dispatcher = Session(ui_app, "dispatcher")
    denied = dispatcher.post(f"/tasks/{task['id']}/reassign", {"assignee": "dispatcher"})
    assert denied.status_code == 403 and "无权访问" in text(denied)
    assert 'action="/tasks/' + task["id"] + '/reassign"' not in text(dispatcher.get("/inbox"))
    supervisor = Session(ui_app, "supervisor")
    assert f'action="/tasks/{task["id"]}/reassign"' in text(supervisor.get("/inbox?scope=all"))
    response = supervisor.post(f"/tasks/{task['id']}/reassign", {"assignee": "dispatcher"},
                               headers={"HX-Request": "true"})
    assert "已改派给 dispatcher" in text(response)
    assert open_tasks(ui_app, number)[0]["assignee"] == "dispatcher"
    unknown = supervisor.post(f"/tasks/{task['id']}/reassign", {"assignee": "nobody"}, headers={"HX-Request": "true"})
    assert "没有这个在用的用户" in text(unknown)
    supervisor.post(f"/tasks/{task['id']}/reassign", {"assignee": ""})
    assert open_tasks(ui_app, number)[0]["assignee"] is None


def test_claiming_another_departments_task_is_forbidden(ui_app: Flask) -> None:
    task = dispatch(ui_app, start(ui_app))
    response = Session(ui_app, "billing").post(f"/tasks/{task['id']}/claim", headers={"HX-Request": "true"})
    assert response.status_code == 403 and "无权访问" in text(response)
    assert open_tasks(ui_app, task["complaint_number"])[0]["assignee"] is None


# --- task page -------------------------------------------------------------------------------------


def test_the_task_page_shows_form_case_comments_and_diagram(ui_app: Flask) -> None:
    earlier = start(ui_app)
    number = start(ui_app, category="billing")  # same phone: an earlier case of the customer
    task = open_tasks(ui_app, number)[0]
    with state(ui_app).db.write() as db_session:
        comments.add_comment(db_session, number, "intake", "客户情绪激动，请优先处理")
    page = Session(ui_app, "dispatcher").get(f"/tasks/{task['id']}")
    body = text(page)
    assert page.status_code == 200
    assert '<select id="f-department" name="department"' in body and '<option value="network"' in body
    assert '<textarea id="f-dispatch_note" name="dispatch_note"' in body and 'maxlength="2000"' in body
    assert "家里手机上网很慢" in body and "客户情绪激动，请优先处理" in body
    assert f'href="/cases/{earlier}"' in body
    assert f'data-diagram-url="/cases/{number}/diagram"' in body and 'data-current="Task_dispatch"' in body
    assert 'action="/tasks/' + task["id"] + '/claim"' in body
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers[
        "Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_server_side_errors_show_beside_each_field_and_nothing_changes(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    response = session.post(f"/tasks/{task['id']}", {"department": "moon", "dispatch_note": ""})
    assert response.status_code == 422
    department = field_html(response, "department")
    assert "请从选项中选择。" in department and 'aria-invalid="true"' in department
    note = field_html(response, "dispatch_note")
    assert "此项必填。" in note
    assert open_tasks(ui_app, number)[0]["id"] == task["id"]
    long_note = session.post(f"/tasks/{task['id']}", {"department": "network", "dispatch_note": "长" * 2001})
    assert long_note.status_code == 422 and "最多 2000 个字。" in text(long_note)
    assert "长" * 2001 in text(long_note)  # what was typed is kept


def test_completing_a_task_moves_the_case_on(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    response = session.post(f"/tasks/{task['id']}", {"department": "network", "dispatch_note": "请网络部核查"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert f"已提交：{number} 的「审核派发」" in text(session.get("/inbox"))
    [handle] = open_tasks(ui_app, number)
    assert handle["role"] == "dept:network"
    network = Session(ui_app, "network")
    done = network.post(f"/tasks/{handle['id']}", {"resolution": "已优化基站", "resolved": "true"})
    assert done.status_code == 302
    assert state(ui_app).engine.get_case(number, SYSTEM)["status"] == "completed"
    again = session.get(f"/tasks/{task['id']}")
    assert again.status_code == 302 and again.headers["Location"] == "/inbox"
    assert session.post(f"/tasks/{task['id']}", {"department": "network"}).status_code == 302


def test_a_boolean_field_is_a_yes_no_choice(ui_app: Flask) -> None:
    handle = dispatch(ui_app, start(ui_app))
    session = Session(ui_app, "network")
    body = text(session.get(f"/tasks/{handle['id']}"))
    assert 'type="radio" name="resolved" value="true"' in body and 'type="radio" name="resolved" value="false"' in body
    response = session.post(f"/tasks/{handle['id']}", {"resolution": "已处理"})
    assert response.status_code == 422
    assert "此项必填。" in field_html(response, "resolved")
    assert "此项必填。" not in field_html(response, "resolution")
    assert session.post(f"/tasks/{handle['id']}", {"resolution": "已处理", "resolved": "false"}).status_code == 302


def test_another_departments_task_is_a_403_page(ui_app: Flask) -> None:
    handle = dispatch(ui_app, start(ui_app))
    session = Session(ui_app, "billing")
    page = session.get(f"/tasks/{handle['id']}")
    assert page.status_code == 403 and "无权访问" in text(page) and "核查处理" not in text(page)
    posted = session.post(f"/tasks/{handle['id']}", {"resolution": "x", "resolved": "true"})
    assert posted.status_code == 403
    assert open_tasks(ui_app, handle["complaint_number"])[0]["id"] == handle["id"]
    assert Session(ui_app, "dispatcher").get(f"/tasks/{handle['id']}").status_code == 403


def test_a_task_held_by_someone_else_is_read_only(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    state(ui_app).engine.claim(task["id"], SUPERVISOR)
    session = Session(ui_app, "dispatcher")
    body = text(session.get(f"/tasks/{task['id']}"))
    assert "班长 正在处理此任务" in body and "disabled" in body
    refused = session.post(f"/tasks/{task['id']}", {"department": "network", "dispatch_note": "x"})
    assert refused.status_code == 302 and refused.headers["Location"] == f"/tasks/{task['id']}"
    assert "此任务已被他人领取" in text(session.get(f"/tasks/{task['id']}"))


def test_unknown_pages_are_calm_404s_but_api_paths_stay_json(ui_app: Flask) -> None:
    session = Session(ui_app, "dispatcher")
    page = session.get("/tasks/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404 and "未找到" in text(page)
    page = session.get("/no/such/page")
    assert page.status_code == 404 and "<html" in text(page)
    api = session.get("/api/v1/nothing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


# --- comments --------------------------------------------------------------------------------------


def test_comments_are_added_from_the_case_and_task_pages(ui_app: Flask) -> None:
    number = start(ui_app)
    task = open_tasks(ui_app, number)[0]
    session = Session(ui_app, "dispatcher")
    response = session.post(f"/cases/{number}/comments", {"body": "请尽快派单", "next": f"/tasks/{task['id']}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task['id']}#comments"
    assert "请尽快派单" in text(session.get(f"/tasks/{task['id']}"))
    assert "请尽快派单" in text(session.get(f"/cases/{number}"))
    empty = session.post(f"/cases/{number}/comments", {"body": "  "})
    assert empty.status_code == 302 and "请填写备注内容" in text(session.get(f"/cases/{number}"))
    denied = Session(ui_app, "billing").post(f"/cases/{number}/comments", {"body": "我来看看"})
    assert denied.status_code == 403
    with state(ui_app).db.read() as db_session:
        assert [c["body"] for c in comments.list_comments(db_session, number)] == ["请尽快派单"]


# --- new complaint ---------------------------------------------------------------------------------


FORM = {"phone": "13800138000", "customer_name": "张三", "star_level": "4", "channel": "10010",
        "business_line": "mobile", "category": "mobile_data", "region": "urban", "city": "北京",
        "description": "上网慢", "request": "尽快处理"}


def test_intake_registers_a_complaint(ui_app: Flask) -> None:
    session = Session(ui_app, "intake")
    page = session.get("/complaints/new")
    assert page.status_code == 200 and 'id="repeat-warning"' in text(page)
    response = session.post("/complaints/new", {**FORM, "svip": "true", "callback_phone": "13900000000"})
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    case = state(ui_app).engine.get_case(number, SYSTEM)
    assert case["data"]["svip"] is True and case["data"]["star_level"] == 4
    assert case["data"]["callback_phone"] == "13900000000"
    assert f"投诉 {number} 已受理" in text(session.get(f"/cases/{number}"))


def test_new_complaint_errors_show_beside_their_fields(ui_app: Flask) -> None:
    session = Session(ui_app, "intake")
    response = session.post("/complaints/new", {**FORM, "phone": "abc", "category": "", "star_level": "9",
                                                "description": ""})
    body = text(response)
    assert response.status_code == 422
    assert re.search(r'id="e-phone">请输入电话号码', body) and re.search(r'id="e-category">此项必填', body)
    assert re.search(r'id="e-star_level">请选择 0 到 7 星', body) and re.search(r'id="e-description">此项必填', body)
    assert 'value="张三"' in body  # what was typed is kept
    assert state(ui_app).engine.list_tasks(SUPERVISOR, TaskFilters())["total"] == 0


def test_only_intake_and_supervisors_register_complaints(ui_app: Flask) -> None:
    for username, status in (("dispatcher", 403), ("network", 403), ("supervisor", 200)):
        session = Session(ui_app, username)
        assert session.get("/complaints/new").status_code == status
        assert session.get("/complaints/repeats?phone=13800138000").status_code == status
    assert Session(ui_app, "dispatcher").post("/complaints/new", FORM).status_code == 403
    assert "新建投诉" not in text(Session(ui_app, "dispatcher").get("/inbox"))
    assert "新建投诉" in text(Session(ui_app, "intake").get("/inbox"))


def test_the_repeat_warning_before_submit(ui_app: Flask) -> None:
    earlier = start(ui_app)
    other = start(ui_app, category="billing")
    session = Session(ui_app, "intake")
    warning = text(session.get("/complaints/repeats?phone=13800138000&category=mobile_data"))
    assert "重复投诉" in warning and earlier in warning and "提交后将转为升级投诉" in warning
    assert other in warning  # the phone's other open case, as information
    assert "重复投诉" not in text(session.get("/complaints/repeats?phone=13800138000&category=porting"))
    assert text(session.get("/complaints/repeats?phone=139")).strip() == ""
    assert text(session.get("/complaints/repeats?phone=13700000000&category=mobile_data")).strip() == ""
    assert "重复投诉" not in text(session.get("/complaints/repeats?phone=13800138000&category=nonsense"))


# --- case page -------------------------------------------------------------------------------------


def test_the_case_page_shows_fields_clocks_timeline_and_links(ui_app: Flask, clock) -> None:  # noqa: ANN001
    number = start(ui_app)
    dispatch(ui_app, number)
    clock.advance(37 * 3600)
    repeat = start(ui_app)  # same phone and category: a repeat
    page = Session(ui_app, "supervisor").get(f"/cases/{number}")
    body = text(page)
    assert page.status_code == 200
    for value in ("张三", "13800138000", "移网上网", "10010 热线", "城区", "家里手机上网很慢", "尽快修复网络",
                  "派单说明", "请核查", "处理部门", "网络"):
        assert value in body, value
    assert 'data-clock="closure"' in body and "剩余 11小时" in body and "due-warn" in body
    assert "审核派发" in body and "工单受理" in body and "派单员" in body
    assert f'data-diagram-url="/cases/{number}/diagram"' in body
    repeat_page = text(Session(ui_app, "supervisor").get(f"/cases/{repeat}"))
    assert f'href="/cases/{number}"' in repeat_page


def test_case_page_access(ui_app: Flask) -> None:
    number = start(ui_app)
    assert Session(ui_app, "network").get(f"/cases/{number}").status_code == 403
    dispatch(ui_app, number)
    assert Session(ui_app, "network").get(f"/cases/{number}").status_code == 200
    assert Session(ui_app, "billing").get(f"/cases/{number}").status_code == 403
    assert Session(ui_app, "billing").get(f"/cases/{number}/diagram").status_code == 403
    assert Session(ui_app, "intake").get(f"/cases/{number}").status_code == 200
    assert Session(ui_app, "supervisor").get("/cases/TS20260302999999").status_code == 404


def test_the_diagram_routes(ui_app: Flask) -> None:
    number = start(ui_app)
    dispatch(ui_app, number)
    session = Session(ui_app, "dispatcher")
    body = session.get(f"/cases/{number}/diagram").get_json()
    assert body["process_id"] == "complaint_intake" and body["xml"].startswith("<?xml")
    assert body["highlights"]["active"] == ["Task_handle"]
    assert {"Task_dispatch", "Task_register"} <= set(body["highlights"]["completed"])
    assert [d["filename"] for d in body["diagrams"]] == ["complaint_intake.bpmn"]
    xml = session.get(f"/cases/{number}/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"Task_handle" in xml.data


# --- escalation desk ----------------------------------------------------------------------


def test_desk_is_for_escalation_and_supervisors_only(ui_app: Flask) -> None:
    for username in ("network", "dispatcher", "intake"):
        user = Session(ui_app, username)
        assert user.get("/desk").status_code == 403
        assert user.get("/desk/panel").status_code == 403
        assert user.get("/desk/cases.csv").status_code == 403
        assert "/desk" not in user.get("/inbox").get_data(as_text=True)
    assert Session(ui_app).get("/desk").status_code == 302  # not signed in: to the login page
    for username in ("escalation", "supervisor"):
        user = Session(ui_app, username)
        assert 'href="/desk"' in user.get("/inbox").get_data(as_text=True)
        assert user.get("/desk").status_code == 200


def test_desk_counts_overdue_cases_by_department_city_and_category_with_csv(ui_app: Flask, clock) -> None:  # noqa: ANN001
    user = Session(ui_app, "escalation")
    page = user.get("/desk").get_data(as_text=True)
    assert 'id="desk-overdue">0<' in page and "desk-chart-data" in page
    first = start(ui_app, city="上海")
    second = start(ui_app, phone="13900139000", category="billing")
    clock.advance(3 * 86400)
    response = user.get("/desk")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"] and "<script>" not in page
    assert 'id="desk-overdue">2<' in page
    for number in (first, second):
        assert f'href="/cases/{number}"' in page
    assert re.search(r'data-group="city".*?data-key="上海"><td>上海</td><td class="num due-overdue">1<', page, re.S)
    assert re.search(r'data-group="category".*?data-key="billing"><td>[^<]+</td><td class="num due-overdue">1<',
                     page, re.S)
    assert re.search(r'data-group="department".*?data-key="dispatcher"><td>派单员</td><td class="num due-overdue">2<',
                     page, re.S), page
    assert 'vendor/chart.js/chart.umd.min.js' in page and 'js/desk.js' in page
    chart = json.loads(re.search(r'id="desk-chart-data">(.*?)</script>', page, re.S).group(1))
    month = {p["key"]: p for p in chart["periods"]}["month"]["rows"]
    assert month == [{"policy": "closure_48h", "total": 2, "breached": 2, "rate": 1.0}]
    panel = user.get("/desk/panel").get_data(as_text=True)
    assert panel.startswith('<div id="desk-panel"') and 'hx-trigger="every 60s"' in panel and first in panel

    csv_response = user.get("/desk/cases.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert csv_response.headers["Content-Disposition"].startswith('attachment; filename="escalation-desk-')
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("number,status,process")
    assert {line.split(",")[0] for line in lines[1:]} == {first, second}


# --- admin pages ---------------------------------------------------------------------------


ADMIN_PAGES = ("/admin/users", "/admin/calendar", "/admin/sla")


def test_admin_pages_are_for_admins_only(ui_app: Flask) -> None:
    for username in ("supervisor", "owner", "dispatcher"):
        user = Session(ui_app, username)
        for path in ADMIN_PAGES:
            assert user.get(path).status_code == 403, (username, path)
        assert user.post("/admin/users", {"username": "x", "password": "12345678", "password_again": "12345678",
                                          "roles": "admin"}).status_code == 403
        assert user.post("/admin/calendar/days", {"day": "2026-05-06", "kind": "holiday"}).status_code == 403
        assert 'href="/admin/users"' not in user.get("/inbox").get_data(as_text=True)
    admin = Session(ui_app, "admin")
    assert 'href="/admin/users"' in admin.get("/inbox").get_data(as_text=True)
    assert admin.get("/admin").headers["Location"].endswith("/admin/users")
    for path in ADMIN_PAGES:
        assert admin.get(path).status_code == 200, path
    # Every form POST needs the CSRF token.
    assert admin.post("/admin/users", {"username": "nocsrf", "password": "12345678", "password_again": "12345678",
                                       "roles": "intake"}, csrf=False).status_code == 400
    assert admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01"},
                      csrf=False).status_code == 400
    with state(ui_app).db.read() as session:
        assert "nocsrf" not in [u["username"] for u in users.list_users(session)]


def test_admin_creates_a_user_changes_roles_and_deactivates(ui_app: Flask) -> None:
    admin = Session(ui_app, "admin")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-user="dispatcher"' in page and 'data-user="network"' in page
    response = admin.post("/admin/users", {"username": "bad name", "password": "short", "password_again": "short"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="e-username"' in body and 'id="e-password"' in body and 'id="e-roles"' in body
    response = admin.post("/admin/users", {"username": "dispatcher", "password": "longenough", "password_again":
                                           "longenough", "roles": "dispatcher"})
    assert response.status_code == 422 and 'id="e-username"' in response.get_data(as_text=True)
    response = admin.post("/admin/users", {"username": "wang", "password": "longenough", "password_again": "other",
                                           "roles": "dispatcher", "departments": "Bad-Code"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-password_again"' in body and 'id="e-departments"' in body
    response = admin.post("/admin/users", {"username": "wang", "display_name": "王芳", "password": "longenough",
                                           "password_again": "longenough", "roles": "dispatcher",
                                           "departments": "network billing"})
    assert response.status_code == 302
    wang = Session(ui_app)
    assert wang.login("wang", "longenough").status_code == 302
    with state(ui_app).db.read() as session:
        listed = {u["username"]: u for u in users.list_users(session)}
    assert listed["wang"]["roles"] == ["dept:billing", "dept:network", "dispatcher"]

    assert admin.post("/admin/users/wang/roles", {"roles": "supervisor"}).status_code == 302
    with state(ui_app).db.read() as session:
        assert {u["username"]: u for u in users.list_users(session)}["wang"]["roles"] == ["supervisor"]
    response = admin.post("/admin/users/wang/roles", {})
    assert response.status_code == 422 and 'id="e-row-wang"' in response.get_data(as_text=True)
    assert admin.post("/admin/users/nobody/roles", {"roles": "intake"}).status_code == 404
    assert admin.post("/admin/users/admin/roles", {"roles": "intake"}).status_code == 422  # not from yourself

    assert wang.get("/inbox").status_code == 200
    api = ui_app.test_client()
    token = api.post("/api/v1/auth/token", json={"username": "wang", "password": "longenough"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/auth/me", headers=bearer).status_code == 200  # now in this process's token cache
    assert admin.post("/admin/users/wang/active", {"active": "false"}).status_code == 302
    assert wang.get("/inbox").status_code == 302  # signed out at once
    assert api.get("/api/v1/auth/me", headers=bearer).status_code == 401  # the admin's change empties the cache
    assert Session(ui_app).login("wang", "longenough").status_code == 401
    assert admin.post("/admin/users/admin/active", {"active": "false"}).status_code == 422
    assert admin.post("/admin/users/wang/active", {"active": "true"}).status_code == 302
    assert Session(ui_app).login("wang", "longenough").status_code == 302


def test_admin_edits_the_holiday_calendar(ui_app: Flask) -> None:
    admin = Session(ui_app, "admin")
    page = admin.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'data-year="2025"' in page and 'data-year="2026"' in page and 'data-day="2026-10-01"' in page
    response = admin.post("/admin/calendar/days", {"day": "2026-13-01", "kind": "party", "year": "2026"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-day"' in body and 'id="e-kind"' in body
    added = admin.post("/admin/calendar/days", {"day": "2026-05-08", "kind": "holiday", "name": "司庆"})
    assert added.status_code == 302
    assert 'data-day="2026-05-08" data-kind="holiday"' in admin.get("/admin/calendar?year=2026").get_data(as_text=True)
    with state(ui_app).db.read() as session:
        assert not holidays.load_calendar(session).is_working_day(date(2026, 5, 8))
    assert admin.post("/admin/calendar/days/2026-05-08/delete").status_code == 302
    assert admin.post("/admin/calendar/days/2026-05-08/delete").status_code == 404
    assert 'data-day="2026-05-08"' not in admin.get("/admin/calendar?year=2026").get_data(as_text=True)

    response = admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01\n2026-12-31\nfoo",
                                                     "workdays": "2028-01-02"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="e-holidays"' in body and "foo" in body
    assert 'id="e-workdays"' in body and "2028-01-02" in body
    response = admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01 2026-12-31"})
    assert response.status_code == 422 and "2026-12-31" in response.get_data(as_text=True)
    response = admin.post("/admin/calendar/import", {"import_year": "1999", "holidays": "1999-01-01"})
    assert response.status_code == 422 and 'id="e-import_year"' in response.get_data(as_text=True)
    response = admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01",
                                                     "workdays": "2027-01-01"})
    assert response.status_code == 422 and 'id="e-workdays"' in response.get_data(as_text=True)
    response = admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01、2027-10-01",
                                                     "workdays": "2027-10-09"})
    assert response.status_code == 302 and response.headers["Location"].endswith("year=2027")
    page = admin.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'data-year="2027"' in page and 'data-day="2027-10-09" data-kind="workday"' in page
    with state(ui_app).db.read() as session:
        assert 2027 in holidays.loaded_years(session)


def test_admin_sla_page_lists_the_dmn_policies(make_app: Callable[..., Flask]) -> None:
    from webapp.ui.admin import sla_policies

    app = make_app()  # processes/, where sla_policy.dmn lives
    users.seed_demo_users(state(app).db, only=["admin"])
    with state(app).db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2026])  # else the page rightly warns that 2026 is missing

    table = sla_policies(PROJECT_ROOT / "processes" / "sla_policy.dmn")
    assert {"mobile_reply_2wd", "closure_48h"} <= {r["policy"] for r in table["rules"]}
    reply = [r for r in table["rules"] if r["policy"] == "mobile_reply_2wd"][0]
    assert reply["basis"] == "working_days" and reply["amount"] == "2" and reply["name"] == "reply"
    page = Session(app, "admin").get("/admin/sla").get_data(as_text=True)
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "DMN" in page and "flash-error" not in page
    assert 'data-policy="' in page and "75%" in page
    # One edit form per policy code, showing the DMN default as the limit in force.
    assert 'data-limit="mobile_reply_2wd" data-overridden="false"' in main
    assert 'action="/admin/sla/mobile_reply_2wd"' in main and 'id="amount-mobile_reply_2wd"' in main


def test_admin_edits_an_sla_limit(make_app: Callable[..., Flask]) -> None:
    from engine import sla_policies as overrides
    from engine.models import AuditEvent

    app = make_app()  # processes/, where sla_policy.dmn lives
    users.seed_demo_users(state(app).db, only=["admin", "supervisor"])
    for username in ("supervisor",):
        user = Session(app, username)
        assert user.get("/admin/sla").status_code == 403
        assert user.post("/admin/sla/closure_48h", {"basis": "hours", "amount": "36"}).status_code == 403
        assert user.post("/admin/sla/closure_48h/reset").status_code == 403
    admin = Session(app, "admin")
    # CSRF
    assert admin.post("/admin/sla/closure_48h", {"basis": "hours", "amount": "36"}, csrf=False).status_code == 400
    # Unknown policy code
    assert admin.post("/admin/sla/no_such_policy", {"basis": "hours", "amount": "36"}).status_code == 404
    # Validation errors beside the fields, the typed values kept
    response = admin.post("/admin/sla/closure_48h", {"basis": "weeks", "amount": "-3"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-closure_48h-basis"' in body and 'id="e-closure_48h-amount"' in body and 'value="-3"' in body
    response = admin.post("/admin/sla/closure_48h", {"basis": "hours", "amount": "abc"})
    assert response.status_code == 422 and 'id="e-closure_48h-amount"' in response.get_data(as_text=True)
    response = admin.post("/admin/sla/closure_48h", {"basis": "calendar_days", "amount": "3651"})
    assert response.status_code == 422 and 'id="e-closure_48h-amount"' in response.get_data(as_text=True)
    response = admin.post("/admin/sla/mobile_reply_2wd", {"basis": "working_days", "amount": "1.5"})
    assert response.status_code == 422 and 'id="e-mobile_reply_2wd-amount"' in response.get_data(as_text=True)
    with state(app).db.read() as session:
        assert overrides.lookup(session) == {}
    # Success
    response = admin.post("/admin/sla/closure_48h", {"basis": "hours", "amount": "36"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#policy-closure_48h")
    with state(app).db.read() as session:
        assert overrides.lookup(session) == {"closure_48h": {"basis": "hours", "amount": 36}}
        event = session.query(AuditEvent).filter(AuditEvent.type == "sla_policy_changed").one()
        assert event.actor == "admin" and event.data["amount"] == 36
    page = admin.get("/admin/sla").get_data(as_text=True)
    row = page.split('data-limit="closure_48h"', 1)[1].split("</tr>", 1)[0]
    assert 'data-overridden="true"' in page and 'value="36"' in row
    assert "/admin/sla/closure_48h/reset" in row
    # Reset to the DMN default
    assert admin.post("/admin/sla/closure_48h/reset").status_code == 302
    assert admin.post("/admin/sla/closure_48h/reset").status_code == 404
    with state(app).db.read() as session:
        assert overrides.lookup(session) == {}


def test_admin_pages_warn_when_next_years_holidays_are_missing(ui_app: Flask, clock) -> None:  # noqa: ANN001
    admin = Session(ui_app, "admin")
    assert "holiday-warning" not in admin.get("/admin/users").get_data(as_text=True)  # March: not yet
    clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "holiday-warning" in page and "2027" in page and "/admin/calendar?year=2027" in page
    admin.post("/admin/calendar/import", {"import_year": "2027", "holidays": "2027-01-01"})
    assert "holiday-warning" not in admin.get("/admin/sla").get_data(as_text=True)
