"""The escalation desk page: overdue and at-risk cases across departments, counts, breach-rate charts, CSV.

``GET /desk`` is the page; ``GET /desk/panel`` the same content alone, which htmx
reloads every 60 seconds. The charts (Chart.js, vendored) are drawn by
static/js/desk.js from a JSON block in the panel, so no inline script is needed.
"""
from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import gettext as _

from engine import clock, desk
from engine.service import DESK_ROLES

from .. import state
from . import i18n, ui
from .session import login_required, viewer

REFRESH_SECONDS = 60


def _require_desk() -> None:
    if not viewer().has_role(*DESK_ROLES):
        abort(403)


def department_name(key: str) -> str:
    if key == "-":
        return _("(no open task)")
    if key in i18n.DEPARTMENTS:
        return str(i18n.DEPARTMENTS[key])
    return i18n.role_name(key)


def _context() -> dict:
    data = state(current_app).engine.desk(viewer())
    names = {
        "department": department_name,
        "city": lambda key: _("(no city)") if key == "-" else key,
        "category": lambda key: _("(no category)") if key == "-" else i18n.label(i18n.CATEGORIES, key),
    }
    groups = {by: [{**g, "name": names[by](g["key"])} for g in data["groups"][by]] for by in desk.GROUPS}
    periods = {"today": _("Today"), "week": _("This week"), "month": _("This month")}
    policies = sorted({r["policy"] for rows in data["breach_rates"].values() for r in rows})
    chart = {
        "labels": {"breached": _("Breached"), "met": _("On time"), "rate": _("Breach rate"),
                   "empty": _("No clock came due in this period.")},
        "periods": [{
            "key": period, "title": str(periods[period]),
            "rows": [{"policy": r["policy"], "total": r["total"], "breached": r["breached"], "rate": r["rate"]}
                     for r in data["breach_rates"][period]],
        } for period in desk.PERIODS],
    }
    overdue = sum(1 for c in data["cases"] if c["status"] == "overdue")
    return {
        "cases": data["cases"], "groups": groups, "breach_rates": data["breach_rates"], "periods": periods,
        "policies": policies, "chart": chart, "overdue": overdue, "at_risk": len(data["cases"]) - overdue,
        "refresh_seconds": REFRESH_SECONDS, "now": clock.now(), "department_name": department_name,
    }


@ui.get("/desk")
@login_required
def desk_page() -> str:
    _require_desk()
    return render_template("desk.html", **_context())


@ui.get("/desk/panel")
@login_required
def desk_panel() -> str:
    _require_desk()
    return render_template("_desk_panel.html", **_context())


@ui.get("/desk/cases.csv")
@login_required
def desk_csv() -> object:
    _require_desk()
    body = "\ufeff" + state(current_app).engine.desk_csv(viewer())  # the BOM: Excel reads the file as UTF-8
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="escalation-desk-{stamp}.csv"'
    return response
