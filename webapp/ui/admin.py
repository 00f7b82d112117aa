"""Admin pages (role ``admin``): users and roles, the holiday calendar, and the SLA policies.

Users: list, create with a password, change roles, deactivate or reactivate (engine.users).
Calendar: the loaded years and each year's exception days; add or remove a day; import a
year's arrangement (holidays and make-up workdays) pasted from the State Council notice
(engine.holidays.import_year). SLA policies: what processes/sla_policy.dmn says, read with
lxml, next to the defaults from DESIGN.md; per policy code the admin may set another limit
(engine.sla_policies), which new clocks use instead of the DMN default, or reset it.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree

from engine import clock, holidays, sla, users
from engine import sla_policies as overrides_store
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import CalendarDay, CalendarYear
from engine.xmlsafe import UnsafeXml, parse_xml

from .. import state
from ..auth import token_cache
from . import ui
from .session import login_required, viewer

ADMIN_ROLE = "admin"
DMN_FILE = "sla_policy.dmn"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
YEARS = range(2000, 2101)
DATE_SEPARATORS = re.compile(r"[\s,，、;；]+")

# The defaults from DESIGN.md ("SLA policies"), shown beside what the DMN table says.
DEFAULT_TARGETS = [
    (_l("Mobile-network complaint: reply"), _l("2 working days, target 100%"), _l("working days")),
    (_l("Non-coverage complaint: resolve"), _l("5 working days, target 98%"), _l("working days")),
    (_l("Broadband installation or move"), _l("72 h"), _l("natural hours")),
    (_l("Broadband repair"), _l("urban 24 h, suburban 36 h, rural 48 h"), _l("natural hours")),
    (_l("Time-limited closure, 4-5 star or SVIP"), _l("24 h"), _l("natural hours")),
    (_l("Time-limited closure, other customers"), _l("48 h"), _l("natural hours")),
    (_l("Any complaint: statutory reply"), _l("15 days (then the customer may appeal)"), _l("calendar days")),
    (_l("Appeal: answer the regulator"), _l("the deadline on the referral"), _l("per ticket")),
    (_l("Reminder"), _l("at three quarters (75 percent) of the limit"), _l("same as the limit")),
]


def _require_admin() -> None:
    if not viewer().has_role(ADMIN_ROLE):
        abort(403)


def _db():  # noqa: ANN202
    return state(current_app).db


def missing_holiday_years() -> list[int]:
    """Years the admin must import before working-day deadlines reach them (see holidays.missing_years)."""
    zone = ZoneInfo(state(current_app).settings.timezone)
    today = clock.now().astimezone(zone).date()
    with _db().read() as session:
        return holidays.missing_years(session, today)


@ui.app_context_processor
def _admin_globals() -> dict:
    # A function, not a value: only the admin pages that show the warning pay for the query.
    return {"missing_holiday_years": missing_holiday_years}


@ui.get("/admin")
@login_required
def admin_home() -> object:
    _require_admin()
    return redirect(url_for("ui.admin_users"))


# --- users and roles --------------------------------------------------------------------------


def _role_choices() -> list[str]:
    return sorted(users.FIXED_ROLES - {"gateway"}) + ["gateway"]


def _roles_from(form) -> tuple[list[str], str | None]:  # noqa: ANN001 - a MultiDict
    """The checked roles plus the department roles typed in (``network billing`` → dept:network, dept:billing)."""
    roles = [r for r in form.getlist("roles") if r]
    error = None
    for code in DATE_SEPARATORS.split(form.get("departments", "").strip()):
        if not code:
            continue
        role = code if code.startswith("dept:") else f"dept:{code}"
        if not users.is_valid_role(role):
            error = _("“%(code)s” is not a department code (lower-case letters, digits and _).", code=code)
        else:
            roles.append(role)
    return roles, error


def _role_error(error: ValidationFailed) -> str:
    return _("Unknown role: %(detail)s", detail=(error.fields or {}).get("roles", error.message))


def _users_page(status: int = 200, errors: dict | None = None, values: dict | None = None,
                row_errors: dict | None = None) -> tuple[str, int]:
    with _db().read() as session:
        listed = users.list_users(session)
    for user in listed:
        user["departments"] = " ".join(r.split(":", 1)[1] for r in user["roles"] if r.startswith("dept:"))
    return render_template("admin_users.html", users=listed, role_choices=_role_choices(), errors=errors or {},
                           values=values or {"roles": []}, row_errors=row_errors or {}), status


@ui.get("/admin/users")
@login_required
def admin_users() -> tuple[str, int]:
    _require_admin()
    return _users_page()


@ui.post("/admin/users")
@login_required
def admin_create_user() -> object:
    _require_admin()
    form = request.form
    username = (form.get("username") or "").strip()
    display_name = (form.get("display_name") or "").strip()[:128]
    password = form.get("password") or ""
    roles, department_error = _roles_from(form)
    values = {"username": username, "display_name": display_name, "roles": form.getlist("roles"),
              "departments": form.get("departments", "")}
    errors: dict[str, str] = {}
    if not users.USERNAME.match(username):
        errors["username"] = _("1 to 64 letters, digits or _ . @ - (starting with a letter or digit).")
    if len(password) < 8:
        errors["password"] = _("At least 8 characters.")
    elif password != form.get("password_again", ""):
        errors["password_again"] = _("The two passwords differ.")
    if department_error:
        errors["departments"] = department_error
    elif not roles:
        errors["roles"] = _("Give the user at least one role.")
    if not errors:
        try:
            with _db().write() as session:
                users.create_user(session, username, password, roles, display_name)
        except Conflict:
            errors["username"] = _("This user name is taken.")
        except ValidationFailed as error:
            errors["roles"] = _role_error(error)
    if errors:
        return _users_page(422, errors, values)
    flash(_("User %(name)s created.", name=username), "success")
    return redirect(url_for("ui.admin_users"))


@ui.post("/admin/users/<username>/roles")
@login_required
def admin_set_roles(username: str) -> object:
    _require_admin()
    roles, department_error = _roles_from(request.form)
    error = department_error or (None if roles else _("Give the user at least one role."))
    if error is None and username == viewer().username and ADMIN_ROLE not in roles:
        error = _("You cannot take the administrator role from yourself.")
    if error is None:
        try:
            with _db().write() as session:
                users.set_roles(session, username, roles)
            token_cache(current_app).clear()  # this process stops serving the old roles at once, not in a few seconds
        except NotFound:
            abort(404)
        except ValidationFailed as failed:
            error = _role_error(failed)
    if error:
        return _users_page(422, row_errors={username: error})
    flash(_("Roles of %(name)s saved.", name=username), "success")
    return redirect(url_for("ui.admin_users") + f"#user-{username}")


@ui.post("/admin/users/<username>/active")
@login_required
def admin_set_active(username: str) -> object:
    _require_admin()
    active = request.form.get("active") == "true"
    if username == viewer().username and not active:
        return _users_page(422, row_errors={username: _("You cannot deactivate yourself.")})
    try:
        with _db().write() as session:
            users.set_active(session, username, active)
        token_cache(current_app).clear()
    except NotFound:
        abort(404)
    flash(_("%(name)s can sign in again.", name=username) if active
          else _("%(name)s is deactivated and signed out.", name=username), "success")
    return redirect(url_for("ui.admin_users"))


# --- holiday calendar ---------------------------------------------------------------------------


def _calendar_page(year: int | None = None, status: int = 200, errors: dict | None = None,
                   values: dict | None = None) -> tuple[str, int]:
    with _db().read() as session:
        years = session.query(CalendarYear).order_by(CalendarYear.year).all()
        loaded = [{"year": y.year, "source": y.source, "loaded_at": y.loaded_at} for y in years]
        shown = year if year is not None else (loaded[-1]["year"] if loaded else date.today().year)
        days = [{"day": d.day, "kind": d.kind, "name": d.name, "source": d.source}
                for d in session.query(CalendarDay)
                .filter(CalendarDay.day >= date(shown, 1, 1), CalendarDay.day <= date(shown, 12, 31))
                .order_by(CalendarDay.day)]
    return render_template("admin_calendar.html", years=loaded, year=shown, days=days, errors=errors or {},
                           values=values or {}, loaded_years=[y["year"] for y in loaded]), status


def _year_arg(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and int(raw) in YEARS else None


def parse_dates(text: str, year: int | None) -> tuple[list[date], str | None]:
    """Dates pasted as YYYY-MM-DD, separated by spaces, commas, 、 or new lines; an error names the bad ones."""
    found, bad, outside = [], [], []
    for token in DATE_SEPARATORS.split(text.strip()):
        if not token:
            continue
        try:
            day = date.fromisoformat(token)
        except ValueError:
            bad.append(token)
            continue
        if year is not None and day.year != year:
            outside.append(token)
        found.append(day)
    if bad:
        return found, _("Not a date (write YYYY-MM-DD): %(dates)s", dates="、".join(bad[:10]))
    if outside:
        return found, _("Outside %(year)s: %(dates)s", year=year, dates="、".join(outside[:10]))
    return found, None


@ui.get("/admin/calendar")
@login_required
def admin_calendar() -> tuple[str, int]:
    _require_admin()
    return _calendar_page(_year_arg(request.args.get("year")))


@ui.post("/admin/calendar/days")
@login_required
def admin_set_day() -> object:
    _require_admin()
    form = request.form
    errors: dict[str, str] = {}
    values = {"day": (form.get("day") or "").strip(), "kind": form.get("kind", ""),
              "name": (form.get("name") or "").strip()[:64]}
    day = None
    try:
        day = date.fromisoformat(values["day"])
        if day.year not in YEARS:
            raise ValueError
    except ValueError:
        errors["day"] = _("Enter a date (YYYY-MM-DD).")
    if values["kind"] not in holidays.KINDS:
        errors["kind"] = _("Choose holiday or make-up workday.")
    if errors or day is None:
        return _calendar_page(_year_arg(form.get("year")), 422, errors, values)
    with _db().write() as session:
        holidays.set_day(session, day, values["kind"], values["name"])
    flash(_("%(day)s saved.", day=day.isoformat()), "success")
    return redirect(url_for("ui.admin_calendar", year=day.year))


@ui.post("/admin/calendar/days/<day>/delete")
@login_required
def admin_clear_day(day: str) -> object:
    _require_admin()
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    with _db().write() as session:
        cleared = holidays.clear_day(session, parsed)
    if not cleared:
        abort(404)
    flash(_("%(day)s follows the Monday-to-Friday rule again.", day=parsed.isoformat()), "success")
    return redirect(url_for("ui.admin_calendar", year=parsed.year))


@ui.post("/admin/calendar/import")
@login_required
def admin_import_year() -> object:
    _require_admin()
    form = request.form
    values = {"import_year": (form.get("import_year") or "").strip(), "holidays": form.get("holidays", ""),
              "workdays": form.get("workdays", "")}
    errors: dict[str, str] = {}
    year = _year_arg(values["import_year"])
    if year is None:
        errors["import_year"] = _("Enter a year from %(first)s to %(last)s.", first=YEARS[0], last=YEARS[-1])
    holiday_days, error = parse_dates(values["holidays"], year)
    if error:
        errors["holidays"] = error
    elif not holiday_days:
        errors["holidays"] = _("Paste the year's public holidays.")
    workdays, error = parse_dates(values["workdays"], year)
    if error:
        errors["workdays"] = error
    both = sorted(set(holiday_days) & set(workdays))
    if both and "workdays" not in errors:
        errors["workdays"] = _("Both a holiday and a workday: %(dates)s",
                               dates="、".join(d.isoformat() for d in both[:10]))
    if errors or year is None:
        return _calendar_page(year, 422, errors, values)
    with _db().write() as session:
        holidays.import_year(session, year, holiday_days, workdays)
    flash(_("%(year)s imported: %(h)s holidays, %(w)s make-up workdays.", year=year, h=len(set(holiday_days)),
            w=len(set(workdays))), "success")
    return redirect(url_for("ui.admin_calendar", year=year))


# --- SLA policies ------------------------------------------------------------------------------------


def _text(element, path: str) -> str:  # noqa: ANN001
    found = element.find(path, {"d": DMN_NS})
    return (found.text or "").strip() if found is not None and found.text else ""


def _literal(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def sla_policies(path: Path) -> dict:
    """The rules of the SLA decision table: the inputs each rule matches and the policy it gives."""
    root = parse_xml(path.read_bytes())
    table = root.find(".//d:decisionTable", {"d": DMN_NS})
    if table is None:
        return {"inputs": [], "rules": []}
    inputs = [i.get("label") or _text(i, "d:inputExpression/d:text") for i in table.findall("d:input", {"d": DMN_NS})]
    outputs = [(o.get("name") or "").rsplit(".", 1)[-1] for o in table.findall("d:output", {"d": DMN_NS})]
    rules = []
    for rule in table.findall("d:rule", {"d": DMN_NS}):
        matches = [_literal(_text(e, "d:text")) for e in rule.findall("d:inputEntry", {"d": DMN_NS})]
        given = dict(zip(outputs, [_literal(_text(e, "d:text")) for e in rule.findall("d:outputEntry", {"d": DMN_NS})],
                         strict=False))
        rules.append({"id": rule.get("id"), "description": _text(rule, "d:description"),
                      "when": [(inputs[i] if i < len(inputs) else "", m) for i, m in enumerate(matches)
                               if m and m != "-"], **given})
    return {"inputs": inputs, "rules": rules, "hit_policy": table.get("hitPolicy", "UNIQUE")}


def _dmn_table() -> tuple[dict, str | None]:
    path = Path(state(current_app).settings.processes_dir) / DMN_FILE
    try:
        return sla_policies(path), None
    except (OSError, etree.XMLSyntaxError, UnsafeXml, ValueError) as error:
        return {"inputs": [], "rules": []}, str(error)


def _dmn_defaults(table: dict) -> dict[str, dict]:
    """policy code -> {name, basis, amount} as the DMN table gives it (first rule of each code)."""
    defaults: dict[str, dict] = {}
    for rule in table["rules"]:
        if rule.get("policy") and rule["policy"] not in defaults:
            defaults[rule["policy"]] = {"name": rule.get("name", ""), "basis": rule.get("basis", ""),
                                        "amount": rule.get("amount", "")}
    return defaults


def _sla_page(status: int = 200, errors: dict | None = None, values: dict | None = None) -> tuple[str, int]:
    table, problem = _dmn_table()
    defaults = _dmn_defaults(table)
    with _db().read() as session:
        overrides = {o["policy"]: o for o in overrides_store.list_overrides(session)}
    editable = []
    for code in [*defaults, *sorted(set(overrides) - set(defaults))]:
        default = defaults.get(code, {"name": "", "basis": "", "amount": ""})
        override = overrides.get(code)
        effective = override or default
        editable.append({"policy": code, "name": default["name"], "default": default, "override": override,
                         "effective": {"basis": effective["basis"], "amount": effective["amount"]}})
    return render_template("admin_sla.html", table=table, problem=problem, defaults=DEFAULT_TARGETS,
                           filename=DMN_FILE, policies=editable, bases=sla.BASES, errors=errors or {},
                           values=values or {}), status


def _known_policy(code: str) -> bool:
    table, _problem = _dmn_table()
    if code in _dmn_defaults(table):
        return True
    with _db().read() as session:
        return code in overrides_store.lookup(session)


def _limit_errors(basis: str, raw_amount: str) -> tuple[dict[str, str], float | None]:
    errors: dict[str, str] = {}
    amount = None
    if basis not in sla.BASES:
        errors["basis"] = _("Choose how the limit is counted.")
    try:
        amount = float(raw_amount.replace(",", "."))
        if amount != amount or amount in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        errors["amount"] = _("Enter a number.")
        return errors, None
    if amount <= 0:
        errors["amount"] = _("The limit must be greater than 0.")
    elif "basis" not in errors and amount > overrides_store.MAX_AMOUNT[basis]:
        errors["amount"] = _("At most %(max)s (%(days)s days).", max=overrides_store.MAX_AMOUNT[basis],
                             days=overrides_store.MAX_DAYS)
    elif basis in overrides_store.WHOLE_DAY_BASES and not amount.is_integer():
        errors["amount"] = _("Days are counted whole: enter a whole number.")
    return errors, amount


@ui.get("/admin/sla")
@login_required
def admin_sla() -> tuple[str, int]:
    _require_admin()
    return _sla_page()


@ui.post("/admin/sla/<policy>")
@login_required
def admin_set_sla(policy: str) -> object:
    _require_admin()
    if not _known_policy(policy):
        abort(404)
    basis = request.form.get("basis", "")
    raw_amount = (request.form.get("amount") or "").strip()[:32]
    errors, amount = _limit_errors(basis, raw_amount)
    if not errors and amount is not None:
        try:
            with _db().write() as session:
                overrides_store.set_override(session, policy, basis, amount, viewer().username)
        except ValueError as error:
            field = str(error).split(":", 1)[0]
            errors[field if field in ("basis", "amount") else "amount"] = str(error)
    if errors:
        return _sla_page(422, {policy: errors}, {policy: {"basis": basis, "amount": raw_amount}})
    flash(_("The limit of %(policy)s is saved; new clocks use it.", policy=policy), "success")
    return redirect(url_for("ui.admin_sla") + f"#policy-{policy}")


@ui.post("/admin/sla/<policy>/reset")
@login_required
def admin_reset_sla(policy: str) -> object:
    _require_admin()
    with _db().write() as session:
        cleared = overrides_store.clear_override(session, policy, viewer().username)
    if not cleared:
        abort(404)
    flash(_("%(policy)s uses the decision table's limit again.", policy=policy), "success")
    return redirect(url_for("ui.admin_sla") + f"#policy-{policy}")
