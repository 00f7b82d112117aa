"""Every role against every route: API calls with bearer tokens, UI pages with a signed-in session.

The routes come from ``app.url_map``: a new route without an entry here fails the test. Who may call
an API route is read from its ``x-roles`` in the OpenAPI document; who may open a UI page is the
``UI`` table below. Some routes let any signed-in user in and leave it to the engine to decide per
object (a task's role, a case's roles): ``OBJECT_LEVEL`` names who may reach the objects used here.

Allowed callers must never get 401/403 (nor, on a page, a redirect to the sign-in page); everyone
else must: 401 (API) or a redirect to /login (UI) without a sign-in, 403 with one. Allowed callers
get empty or invalid input where a valid one would change things, so the answer is a 4xx after the
role check and the matrix runs on one database.

Where a 404 could tell an outsider that something exists: the role check comes first on every
route. Case numbers are sequential, so a user who may not open every case gets 403 for an unknown
number too (engine.case_access). Task ids are random UUIDs, so GET /tasks/<id> answering 404 for an
unknown id and 403 for another role's task tells nothing guessable; a saved filter of someone else
answers 404 like a missing one (engine.saved_filters).

Also here: the session cookie's flags on every response that sets it, and that the audit log has
no update or delete path (the database refuses both: tests/test_instances.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from engine import holidays, saved_filters, users
from engine.models import AuditEvent
from engine.viewer import SYSTEM
from tests.conftest import BASIC_DIR
from tests.test_ui_pages import TOKEN, Session
from tests.ui_support import COMPLAINT, DISPATCHER
from webapp import openapi, state

pytest_plugins = ["tests.web_fixtures"]

ANONYMOUS = "anonymous"
# Each role and the user that holds only it (demo users, plus an integration user for gateway).
USERS = {
    "intake": "intake", "dispatcher": "dispatcher", "escalation": "escalation", "appeals": "appeals",
    "supervisor": "supervisor", "owner": "owner", "admin": "admin", "dept:network": "network",
    "gateway": "gateway",
}
ROLES = tuple(USERS)
EVERYONE = frozenset((*ROLES, ANONYMOUS))
SIGNED_IN = frozenset(ROLES)
PUBLIC = EVERYONE

CASE_READERS = frozenset({"intake", "dispatcher", "escalation", "appeals", "supervisor"})
# The first task of the case is 审核派发 in the dispatcher's lane; a supervisor sees every queue.
TASK_HOLDERS = frozenset({"dispatcher", "supervisor"})
DESK = frozenset({"escalation", "supervisor"})
STARTERS = frozenset({"intake", "supervisor"})
MODEL_READERS = frozenset({"owner", "supervisor", "admin"})
OWNER = frozenset({"owner"})
ADMIN = frozenset({"admin"})
REPORTERS = frozenset({"supervisor", "escalation", "admin"})

UNKNOWN_CASE = "TS20990101999999"


@dataclass
class World:
    """The real objects behind the path parameters."""

    number: str
    task_id: str
    filter_id: int
    process_id: str = "complaint_intake"
    version: int = 1
    form: str = "dispatch.json"

    def fill(self, rule: str, **overrides: str) -> str:
        values = {"number": self.number, "task_id": self.task_id, "filter_id": str(self.filter_id),
                  "process_id": self.process_id, "version": str(self.version), "name": "no_such_message",
                  "filename": self.form, **overrides}
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule)


@dataclass(frozen=True)
class Call:
    """How to call one route: the path's parameters where not the real objects, query and body."""

    params: dict[str, str] = field(default_factory=dict)
    query: str = ""
    json: dict | None = None
    form: dict[str, str] = field(default_factory=dict)
    # UI only: who may call it (API routes take theirs from the OpenAPI document).
    allowed: frozenset[str] = SIGNED_IN
    # The object-level limit the engine adds on top of the route's roles, for the objects used.
    objects: frozenset[str] | None = None
    # Param values of an object nobody can see: callers outside ``objects`` must still get 401/403.
    hidden: dict[str, str] | None = None


# --- the API: how to call each route (who may: x-roles) ----------------------------------------------

API: dict[tuple[str, str], Call] = {
    ("GET", "/healthz"): Call(),
    ("GET", "/api/v1/openapi.json"): Call(),
    ("POST", "/api/v1/auth/token"): Call(json={}),  # 422 without credentials; never 401 for a missing body
    ("DELETE", "/api/v1/auth/token"): Call(),
    ("GET", "/api/v1/auth/me"): Call(),
    ("GET", "/api/v1/complaints"): Call(query="phone=13800138000"),
    ("POST", "/api/v1/complaints"): Call(json={}),
    ("GET", "/api/v1/complaints/<number>"): Call(objects=CASE_READERS, hidden={"number": UNKNOWN_CASE}),
    ("POST", "/api/v1/complaints/<number>/suspend"): Call(params={"number": UNKNOWN_CASE}),
    ("POST", "/api/v1/complaints/<number>/resume"): Call(params={"number": UNKNOWN_CASE}),
    ("POST", "/api/v1/complaints/<number>/cancel"): Call(params={"number": UNKNOWN_CASE}, json={}),
    ("GET", "/api/v1/desk"): Call(),
    ("GET", "/api/v1/desk/cases.csv"): Call(),
    ("GET", "/api/v1/tasks"): Call(),
    ("GET", "/api/v1/tasks/<task_id>"): Call(objects=TASK_HOLDERS),
    ("POST", "/api/v1/tasks/<task_id>/claim"): Call(objects=TASK_HOLDERS),
    ("POST", "/api/v1/tasks/<task_id>/release"): Call(objects=TASK_HOLDERS),
    ("POST", "/api/v1/tasks/<task_id>/complete"): Call(json={"data": {}}, objects=TASK_HOLDERS),
    ("POST", "/api/v1/tasks/<task_id>/reassign"): Call(json={}),
    ("POST", "/api/v1/messages/<name>"): Call(json={}),
    ("GET", "/api/v1/process-definitions"): Call(),
    ("POST", "/api/v1/process-definitions"): Call(json={}),  # 415: not multipart
    ("POST", "/api/v1/process-definitions/validate"): Call(json={}),
    ("POST", "/api/v1/process-definitions/import"): Call(json={}),
    ("GET", "/api/v1/process-definitions/<process_id>/versions"): Call(),
    ("GET", "/api/v1/process-definitions/<process_id>/versions/<version>"): Call(),
    ("GET", "/api/v1/process-definitions/<process_id>/diff"): Call(query="from=1&to=1"),
    ("GET", "/api/v1/process-definitions/<process_id>/migrations"): Call(query="to=1"),
    ("POST", "/api/v1/process-definitions/<process_id>/migrations"): Call(json={}),
    ("GET", "/api/v1/reports/service-quality"): Call(),
    ("GET", "/api/v1/reports/standards"): Call(),
    ("GET", "/api/v1/reports/appeals/monthly"): Call(),
    ("GET", "/api/v1/reports/cases"): Call(query="figure=closure"),
    ("GET", "/api/v1/reports/settings"): Call(),
    ("PUT", "/api/v1/reports/settings"): Call(json={}),
    ("GET", "/api/v1/admin/clock"): Call(),
    ("POST", "/api/v1/admin/clock"): Call(json={}),  # 400: neither set nor advance_seconds
}

# --- the UI: who may open each page, and how to call it ------------------------------------------------

UI: dict[tuple[str, str], Call] = {
    ("GET", "/"): Call(allowed=PUBLIC),
    ("GET", "/static/<path:filename>"): Call(params={"filename": "css/app.css"}, allowed=PUBLIC),
    ("GET", "/login"): Call(allowed=PUBLIC),
    ("POST", "/login"): Call(allowed=PUBLIC),  # sent with the caller's own (or a walk-in's) password
    ("POST", "/logout"): Call(allowed=PUBLIC),
    ("POST", "/language"): Call(form={"lang": "en"}, allowed=PUBLIC),
    ("GET", "/inbox"): Call(),
    ("GET", "/inbox/rows"): Call(),
    ("POST", "/inbox/filters"): Call(),  # no name: refused with a message
    ("POST", "/inbox/filters/<int:filter_id>/delete"): Call(params={"filter_id": "999999"}),
    ("GET", "/tasks/<task_id>"): Call(objects=TASK_HOLDERS),
    ("POST", "/tasks/<task_id>"): Call(objects=TASK_HOLDERS),  # empty form: 422 beside the fields
    ("POST", "/tasks/<task_id>/claim"): Call(objects=TASK_HOLDERS),
    ("POST", "/tasks/<task_id>/release"): Call(objects=TASK_HOLDERS),
    ("POST", "/tasks/<task_id>/reassign"): Call(objects=frozenset({"supervisor"})),
    ("GET", "/cases/<number>"): Call(objects=CASE_READERS, hidden={"number": UNKNOWN_CASE}),
    ("GET", "/cases/<number>/diagram"): Call(objects=CASE_READERS, hidden={"number": UNKNOWN_CASE}),
    ("GET", "/cases/<number>/diagram.bpmn"): Call(objects=CASE_READERS, hidden={"number": UNKNOWN_CASE}),
    ("POST", "/cases/<number>/comments"): Call(objects=CASE_READERS, hidden={"number": UNKNOWN_CASE}),
    ("GET", "/complaints/new"): Call(allowed=STARTERS),
    ("POST", "/complaints/new"): Call(allowed=STARTERS),  # empty form: 422
    ("GET", "/complaints/repeats"): Call(query="phone=13800138000&category=billing", allowed=STARTERS),
    ("GET", "/desk"): Call(allowed=DESK),
    ("GET", "/desk/panel"): Call(allowed=DESK),
    ("GET", "/desk/cases.csv"): Call(allowed=DESK),
    ("GET", "/admin"): Call(allowed=ADMIN),
    ("GET", "/admin/users"): Call(allowed=ADMIN),
    ("POST", "/admin/users"): Call(allowed=ADMIN),
    ("POST", "/admin/users/<username>/roles"): Call(params={"username": "nobody_here"}, allowed=ADMIN),
    ("POST", "/admin/users/<username>/active"): Call(params={"username": "nobody_here"}, allowed=ADMIN),
    ("GET", "/admin/calendar"): Call(allowed=ADMIN),
    ("POST", "/admin/calendar/days"): Call(allowed=ADMIN),
    ("POST", "/admin/calendar/days/<day>/delete"): Call(params={"day": "2099-01-01"}, allowed=ADMIN),
    ("POST", "/admin/calendar/import"): Call(allowed=ADMIN),
    ("GET", "/admin/sla"): Call(allowed=ADMIN),
    ("POST", "/admin/sla/<policy>"): Call(params={"policy": "no_such_policy"}, allowed=ADMIN),
    ("POST", "/admin/sla/<policy>/reset"): Call(params={"policy": "no_such_policy"}, allowed=ADMIN),
    ("GET", "/models"): Call(allowed=MODEL_READERS),
    ("GET", "/models/<process_id>"): Call(allowed=MODEL_READERS),
    ("GET", "/models/<process_id>/diff"): Call(allowed=MODEL_READERS),
    ("GET", "/models/<process_id>/versions/<int:version>/diagram"): Call(allowed=MODEL_READERS),
    ("GET", "/models/<process_id>/migrate"): Call(allowed=MODEL_READERS),
    ("POST", "/models/<process_id>/migrate"): Call(allowed=OWNER),  # no version: 400
    ("GET", "/models/<process_id>/edit"): Call(allowed=OWNER),
    ("GET", "/models/new"): Call(allowed=OWNER),
    ("GET", "/models/dmn/<filename>/edit"): Call(params={"filename": "none.dmn"}, allowed=OWNER),
    ("GET", "/models/forms/<filename>/edit"): Call(allowed=OWNER),
    ("GET", "/models/forms/new"): Call(allowed=OWNER),
    ("POST", "/models/forms/preview"): Call(form={"schema": "{}"}, allowed=OWNER),
    ("POST", "/models/validate"): Call(json={}, allowed=OWNER),  # 400: no files
    ("POST", "/models/deploy"): Call(json={}, allowed=OWNER),
    ("GET", "/models/import"): Call(allowed=OWNER),
    ("POST", "/models/import"): Call(allowed=OWNER),  # no files: 422
    ("GET", "/reports"): Call(allowed=REPORTERS),
    ("GET", "/reports/standards"): Call(allowed=REPORTERS),
    ("GET", "/reports/appeals"): Call(allowed=REPORTERS),
    ("GET", "/reports/cases"): Call(query="figure=closure", allowed=REPORTERS),
    ("GET", "/reports/cases/rows"): Call(query="figure=closure", allowed=REPORTERS),
    ("GET", "/reports/export"): Call(query="report=service-quality&format=csv", allowed=REPORTERS),
    ("POST", "/reports/settings"): Call(allowed=ADMIN),  # no count: refused with a message
}


def routes(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def api_allowed(method: str, rule: str) -> frozenset[str]:
    """Who may call an API route, from the OpenAPI document's x-roles."""
    operation = openapi.document()["paths"][openapi_path(rule)][method.lower()]
    if operation.get("security") == [] and "x-roles" not in operation:
        return PUBLIC
    roles = operation["x-roles"]
    if not roles:
        return SIGNED_IN
    # dept:<code> in x-roles would name every department; none of the documented routes does so.
    return frozenset(role for role in ROLES if role in roles)


# --- the world and the callers -----------------------------------------------------------------------------


@pytest.fixture
def matrix_app(make_app: Callable[..., Flask], make_user: Callable[..., str]) -> Flask:
    # With the test clock, so /api/v1/admin/clock is one of the routes too.
    app = make_app(test_clock=True, processes_dir=BASIC_DIR / "processes", forms_dir=BASIC_DIR / "forms")
    db = state(app).db
    with db.write() as session:
        holidays.seed_from_chinesecalendar(session, [2025, 2026])
    users.seed_demo_users(db)
    make_user("gateway", ["gateway"])
    make_user("walkin", ["intake"])
    state(app).engine.deploy_directory("owner")
    return app


@pytest.fixture
def world(matrix_app: Flask) -> World:
    engine = state(matrix_app).engine
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    task_id = engine.get_case(number, SYSTEM)["tasks"][0]["id"]
    with engine.db.write() as session:
        saved = saved_filters.save_filter(session, DISPATCHER, "mine", {"q": "x"}, None)
    return World(number=number, task_id=task_id, filter_id=saved["id"])


@dataclass
class Outcome:
    status: int
    location: str
    body: str


class Callers:
    """Sends one request as one role: a fresh bearer token (API), a signed-in session per role (UI)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.sessions: dict[str, Session] = {}
        self.set_cookies: list[str] = []

    def api(self, role: str, method: str, path: str, call: Call) -> Outcome:
        headers = {}
        if role != ANONYMOUS:
            # A fresh token each time: DELETE /auth/token revokes the one it is sent with.
            headers["Authorization"] = f"Bearer {users.issue_token(state(self.app).db, USERS[role], ttl_hours=1)}"
        client = self.app.test_client()
        if (method, path) == ("POST", "/api/v1/auth/token") and role != ANONYMOUS:
            response = client.post(path, json={"username": USERS[role], "password": "demo"})
        else:
            response = client.open(path + (f"?{call.query}" if call.query else ""), method=method, headers=headers,
                                   json=call.json)
        return self._outcome(response)

    def ui(self, role: str, method: str, rule: str, path: str, call: Call) -> Outcome:
        if rule in ("/login", "/logout"):
            session = self._session(role, fresh=True)  # these end or start a sign-in
        else:
            session = self._session(role)
        url = path + (f"?{call.query}" if call.query else "")
        if method == "GET":
            response = session.get(url)
        elif (method, rule) == ("POST", "/login"):
            username = USERS.get(role, "walkin")
            response = session.post(url, {"username": username, "password": "demo"})
        elif call.json is not None:
            response = session.client.post(url, json=call.json, headers={"X-CSRFToken": session.token})
        else:
            response = session.post(url, dict(call.form))
        return self._outcome(response)

    def _session(self, role: str, fresh: bool = False) -> Session:
        if fresh or role not in self.sessions:
            session = Session(self.app)
            if role == ANONYMOUS:
                session.refresh_token("/login")
            else:
                assert session.login(USERS[role]).status_code == 302, role
            if fresh:
                return session
            self.sessions[role] = session
        return self.sessions[role]

    def _outcome(self, response) -> Outcome:  # noqa: ANN001
        cookies = response.headers.getlist("Set-Cookie")
        self.set_cookies.extend(cookies)
        location = response.headers.get("Location", "")
        return Outcome(response.status_code, location, response.get_data(as_text=True)[:300])


def refused(outcome: Outcome, role: str, ui: bool, public: bool = False) -> bool:
    """401/403, or for a page that needs a sign-in, the redirect to /login."""
    if role == ANONYMOUS and ui and not public and outcome.status == 302:
        return outcome.location.startswith("/login")
    return outcome.status in (401, 403)


def audit_rows(app: Flask) -> list[tuple]:
    with state(app).db.read() as session:
        return [(e.id, e.at, e.type, e.actor, e.instance_id, e.business_key, e.task_id, e.bpmn_id, e.data)
                for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- the tests ---------------------------------------------------------------------------------------------


def test_every_route_has_an_entry(matrix_app: Flask) -> None:
    found = routes(matrix_app)
    listed = set(API) | set(UI)
    assert found - listed == set(), "routes without an entry in the access matrix"
    assert listed - found == set(), "entries for routes that no longer exist"
    for method, rule in API:
        assert rule.startswith(("/api/", "/healthz")), rule
        api_allowed(method, rule)  # documented, with x-roles or as public
    for _method, rule in UI:
        assert not rule.startswith("/api/"), rule


def _matrix(app: Flask, world: World) -> Iterator[tuple[str, str, str, str, bool, frozenset[str], Outcome]]:
    """Every (route, role) request: (method, rule, role, path, ui, allowed, outcome)."""
    callers = Callers(app)
    app.extensions["matrix_callers"] = callers
    for (method, rule), call in sorted(API.items()):
        allowed = api_allowed(method, rule)
        if call.objects is not None:
            allowed = allowed & call.objects
        path = world.fill(rule, **call.params)
        for role in sorted(EVERYONE):
            yield method, rule, role, path, False, allowed, callers.api(role, method, path, call)
    for (method, rule), call in sorted(UI.items()):
        allowed = call.allowed if call.objects is None else call.allowed & call.objects
        path = world.fill(rule, **call.params)
        for role in sorted(EVERYONE):
            yield method, rule, role, path, True, allowed, callers.ui(role, method, rule, path, call)


def test_every_role_against_every_route(matrix_app: Flask, world: World) -> None:
    before = audit_rows(matrix_app)
    wrong: list[str] = []
    for method, _rule, role, path, ui, allowed, outcome in _matrix(matrix_app, world):
        where = f"{method} {path} as {role}: {outcome.status} {outcome.location} {outcome.body[:120]!r}"
        if outcome.status >= 500:
            wrong.append(f"server error: {where}")
        elif role in allowed and refused(outcome, role, ui, public=allowed == PUBLIC):
            wrong.append(f"allowed but refused: {where}")
        elif role not in allowed and not refused(outcome, role, ui):
            wrong.append(f"not allowed but let in: {where}")
    assert wrong == [], "\n".join(wrong)
    # Every cookie any of those answers set is HttpOnly and SameSite (Secure: see below).
    cookies = matrix_app.extensions["matrix_callers"].set_cookies
    assert cookies
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags and ("samesite=lax" in flags or "samesite=strict" in flags), cookie
    # No route changed or removed an audit row (the database would refuse it: tests/test_instances.py).
    after = audit_rows(matrix_app)
    assert after[: len(before)] == before


def test_the_role_check_comes_before_a_404(matrix_app: Flask, world: World) -> None:
    """Callers who may not reach a route, or an object behind it, get 401/403 for unknown ids as well."""
    callers = Callers(matrix_app)
    wrong: list[str] = []
    cases: list[tuple[str, str, Call, frozenset[str], bool]] = []
    for (method, rule), call in API.items():
        if "<" in rule:
            cases.append((method, rule, call, api_allowed(method, rule), False))
    for (method, rule), call in UI.items():
        if "<" in rule and call.allowed != PUBLIC:
            cases.append((method, rule, call, call.allowed, True))
    for method, rule, call, allowed, ui in cases:
        unknown = {name: "no_such_thing" for name in re.findall(r"<(?:\w+:)?(\w+)>", rule)}
        if "<int:" in rule:
            unknown.update({name: "987654" for name in re.findall(r"<int:(\w+)>", rule)})
        probes = [(world.fill(rule, **unknown), allowed)]
        if call.hidden is not None:
            probes.append((world.fill(rule, **call.hidden), allowed & (call.objects or allowed)))
        for path, may in probes:
            for role in sorted(EVERYONE - may):
                outcome = (callers.ui(role, method, rule, path, call) if ui
                           else callers.api(role, method, path, call))
                if not refused(outcome, role, ui):
                    wrong.append(f"{method} {path} as {role}: {outcome.status} {outcome.body[:120]!r}")
    assert wrong == [], "\n".join(wrong)


def test_a_department_cannot_tell_which_case_numbers_exist(matrix_app: Flask, world: World) -> None:
    callers = Callers(matrix_app)
    for number in (world.number, UNKNOWN_CASE):
        api = callers.api("dept:network", "GET", f"/api/v1/complaints/{number}", Call())
        page = callers.ui("dept:network", "GET", "/cases/<number>", f"/cases/{number}", Call())
        assert (api.status, page.status) == (403, 403), number
    # Whoever may open every case still learns that a number is unknown.
    assert callers.api("dispatcher", "GET", f"/api/v1/complaints/{UNKNOWN_CASE}", Call()).status == 404


# --- cookies -------------------------------------------------------------------------------------------------


def _session_cookies(app: Flask, https: bool = False) -> list[str]:
    """Every Set-Cookie of a sign-in, a page, a form post, the language switch and a sign-out."""
    base = "https://localhost" if https else "http://localhost"
    client = app.test_client()
    headers = {"Referer": f"{base}/login"}
    seen: list[str] = []

    def keep(response):  # noqa: ANN001, ANN202
        seen.extend(response.headers.getlist("Set-Cookie"))
        return response

    page = keep(client.get("/login", base_url=base))
    token = TOKEN.search(page.get_data(as_text=True)).group(1)
    keep(client.post("/language", data={"lang": "en", "csrf_token": token}, base_url=base, headers=headers))
    signed_in = keep(client.post("/login", data={"username": "intake", "password": "demo", "csrf_token": token},
                                 base_url=base, headers=headers))
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[:300]
    inbox = keep(client.get("/inbox", base_url=base))
    token = TOKEN.search(inbox.get_data(as_text=True)).group(1)
    keep(client.post("/logout", data={"csrf_token": token}, base_url=base, headers=headers))
    return seen


def test_every_cookie_the_ui_sets_is_httponly_and_samesite(matrix_app: Flask) -> None:
    cookies = _session_cookies(matrix_app)
    assert any(c.startswith("complaintflow_session=") for c in cookies)
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags, cookie
        assert "samesite=lax" in flags or "samesite=strict" in flags, cookie
        assert "secure" not in flags, cookie  # off unless asked for: plain-HTTP set-ups keep working


def test_with_secure_cookies_every_cookie_is_secure(make_app: Callable[..., Flask], monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("COMPLAINTFLOW_SECURE_COOKIES", "1")
    app = make_app()
    users.seed_demo_users(state(app).db, only=["intake"])
    cookies = _session_cookies(app, https=True)
    assert any(c.startswith("complaintflow_session=") for c in cookies)
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert {"secure", "httponly"} <= set(flags) and ("samesite=lax" in flags or "samesite=strict" in flags)


# --- the audit log -------------------------------------------------------------------------------------------

SOURCE_DIRS = ("engine", "webapp", "complaintflow")
CHANGES_AUDIT = re.compile(
    r"(update|delete)\(\s*(AuditEvent|audit_events)\b"
    r"|\b(UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?)\s+audit_events\b"
    r"|session\.delete\(\s*(event|audit)\w*",
    re.IGNORECASE)


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for folder in SOURCE_DIRS:
        for path in (root / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if CHANGES_AUDIT.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_orm_cannot_change_or_remove_an_audit_row(matrix_app: Flask, world: World) -> None:
    db = state(matrix_app).db
    with db.read() as session:
        first, actor = session.execute(select(AuditEvent.id, AuditEvent.actor).order_by(AuditEvent.id)).first()
    for change in ("update", "delete"):
        with pytest.raises(Exception, match="append-only"):
            with db.write() as session:
                event = session.get(AuditEvent, first)
                if change == "update":
                    event.actor = "someone_else"
                else:
                    session.delete(event)
                session.flush()
    with db.read() as session:
        assert session.get(AuditEvent, first).actor == actor
        assert session.scalar(text("SELECT count(*) FROM audit_events WHERE id = :id"), {"id": first}) == 1
