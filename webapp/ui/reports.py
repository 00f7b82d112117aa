"""Service-quality reports pages: the KPIs (/reports), the service standard (/reports/standards), the
regulator's monthly appeal report (/reports/appeals), the drill-down case list (/reports/cases) and
CSV/XLSX downloads of each (/reports/export).

The figures come from engine/reports.py; every number on the pages links to the cases behind it.
Charts (vendored Chart.js) are drawn by static/js/reports.js from a JSON block, clicking a point or
bar opens its cases. Only supervisors, the escalation desk and admins see reports; an admin also
sets the customer count behind 申诉率 here.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import reports
from engine.errors import BadRequest, ValidationFailed

from .. import state
from ..api_reports import MISSED_IN_FILES, file_response, read_report
from . import i18n, ui
from .session import login_required, viewer

FIGURES = {
    "closure": _l("Time-limited closure rate"),
    "first_contact": _l("First-contact resolution rate"),
    "repeat": _l("Repeat complaint rate"),
    "upgraded": _l("Upgraded complaint rate"),
    "satisfaction": _l("Callback satisfaction rate"),
    "appeal_rate": _l("Appeals per million customers"),
    "appeals": _l("Appeals"),
    "stage_accept": _l("Time in acceptance"),
    "stage_dispatch": _l("Time in audit and dispatch"),
    "stage_handle": _l("Time in investigation and handling"),
    "stage_review": _l("Time in result review"),
    "stage_callback": _l("Time in reply and callback"),
    "mobile_reply_2wd": _l("Mobile complaints replied to within 2 working days"),
    "non_coverage_resolve_5wd": _l("Non-coverage complaints resolved within 5 working days"),
    "broadband_install_72h": _l("Broadband installation or move within 72 h"),
    "broadband_repair_urban_24h": _l("Broadband repair within 24 h (urban)"),
    "broadband_repair_suburban_36h": _l("Broadband repair within 36 h (suburban)"),
    "broadband_repair_rural_48h": _l("Broadband repair within 48 h (rural)"),
}
# What the numerator and denominator of each figure count, for the tables' headers and tooltips.
MEANINGS = {
    "closure": _l("closed within the limit / dispatched"),
    "first_contact": _l("solved at first contact / handled at first contact"),
    "repeat": _l("repeat complaints / complaints"),
    "upgraded": _l("upgraded / complaints"),
    "satisfaction": _l("satisfied / called back"),
    "appeal_rate": _l("valid appeals / customers"),
}
PARTS = {
    "total": _l("All"), "in_time": _l("In time"), "missed": _l("Missed"), "pending": _l("Not yet due"),
    "solved": _l("Solved at first contact"), "unsolved": _l("Not solved at first contact"), "repeat": _l("Repeat"),
    "upgraded": _l("Upgraded"), "satisfied": _l("Satisfied"), "neutral": _l("Neutral"),
    "dissatisfied": _l("Dissatisfied"), "valid": _l("Valid"), "invalid": _l("Invalid"), "settled": _l("Settled"),
    "rejected": _l("Not accepted"), "acknowledged": _l("Acknowledged"), "open": _l("Not concluded"),
}
STAGES = {"accept": _l("Acceptance"), "dispatch": _l("Audit and dispatch"), "handle": _l("Investigation and handling"),
          "review": _l("Result review"), "callback": _l("Reply and callback")}
SPLITS = {"tier": _l("Customer tier"), "city": _l("City"), "department": _l("Department"), "category": _l("Category")}
PERIODS = {"day": _l("By day"), "week": _l("By week"), "month": _l("By month")}
APPEAL_COUNTS = {"total": _l("Appeals"), "repeat": _l("Repeat appeals"), "invalid": _l("Invalid appeals"),
                 "valid": _l("Valid appeals")}
OUTCOMES = {"和解": _l("Settled (和解)"), "不认可": _l("Not accepted (不认可)"), "知晓": _l("Acknowledged (知晓)"),
            None: _l("Not concluded")}
STATES = {"in_time": _l("In time"), "missed": _l("Missed"), "pending": _l("Not yet due")}
EXPORTS = {"service-quality": reports.service_quality, "standards": reports.standards_report,
           "appeals": reports.appeals_report, "cases": reports.case_list}
COMPLAINT_RATES = ("closure", "first_contact", "repeat", "upgraded", "satisfaction")


def _require() -> None:
    if not viewer().has_role(*reports.REPORT_ROLES):
        abort(403)


def _db():  # noqa: ANN202
    # The primary: report settings are written here and read back at once (reports themselves: read_report).
    return state(current_app).db


def key_name(split: str | None, key: str) -> str:
    """A split value for people: tier, department and category names; - is "none"."""
    if key == reports.NO_KEY:
        return _("(not dispatched)") if split == "department" else _("(none)")
    table = {"tier": i18n.TIERS, "department": i18n.DEPARTMENTS, "category": i18n.CATEGORIES,
             "issue": i18n.CATEGORIES}.get(split or "")
    return i18n.label(table, key) if table is not None else key


def drill_url(figure: str, part: str | None, start: str, end: str, split: str | None = None,
              key: str | None = None, endpoint: str = "ui.reports_cases", **extra: object) -> str:
    """The case list behind one part of a figure, for a range and optionally one split key."""
    args: dict = {"figure": figure, "from": start, "to": end}
    if part:
        args["part"] = part
    if split:
        args.update(split=split, key=key)
    return url_for(endpoint, **args, **extra)


def rows_url(figure: str, part: str, start: str, end: str, size: int = 10) -> str:
    """The newest cases behind one part of a figure as a bare table (htmx)."""
    return drill_url(figure, part, start, end, endpoint="ui.reports_case_rows", page_size=size)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f}"


def split_keys(report: dict) -> list[str]:
    """Every key any figure of the report was split into."""
    return sorted({s["key"] for f in report["figures"] for s in f.get("splits", [])})


def _helpers() -> dict:
    return {"drill": drill_url, "rows_url": rows_url, "percent": percent, "hours": hours, "key_name": key_name,
            "split_keys": split_keys, "FIGURES": FIGURES, "PARTS": PARTS, "STAGES": STAGES, "SPLITS": SPLITS,
            "PERIODS": PERIODS, "MEANINGS": MEANINGS}


def _query(args: Mapping[str, str], *names: str) -> dict:
    return {name: args.get(name, "") for name in names if args.get(name)}


def export_url(report: str, fmt: str, args: Mapping[str, str]) -> str:
    return url_for("ui.reports_export", report=report, format=fmt,
                   **{k: v for k, v in args.items() if k not in ("report", "format", "page", "page_size")})


# -- charts ---------------------------------------------------------------------------------------------


def _rate_points(series: list[dict]) -> list[float | None]:
    return [None if p["rate"] is None else round(p["rate"] * 100, 2) for p in series]


def _service_charts(report: dict) -> list[dict]:
    figures = {f["id"]: f for f in report["figures"]}
    labels = [b["bucket"] for b in report["buckets"]]
    closure = figures["closure"]
    split = report["split"]
    lines = [{"label": str(_("All")), "data": _rate_points(closure["series"]), "emphasis": True,
              "links": [drill_url("closure", "total", p["from"], p["to"]) for p in closure["series"]]}]
    for s in closure.get("splits", []):
        lines.append({"label": key_name(split, s["key"]), "data": _rate_points(s["series"]),
                      "links": [drill_url("closure", "total", p["from"], p["to"], split, s["key"])
                                for p in s["series"]]})
    rates = [{"label": str(FIGURES[i]), "data": _rate_points(figures[i]["series"]),
              "links": [drill_url(i, "total", p["from"], p["to"]) for p in figures[i]["series"]]}
             for i in COMPLAINT_RATES]
    stages = report["stages"]
    stage_links = [drill_url(s["figure"], "total", report["from"], report["to"]) for s in stages]
    return [
        {"id": "chart-closure", "type": "line", "unit": "%", "labels": labels, "datasets": lines},
        {"id": "chart-rates", "type": "line", "unit": "%", "labels": labels, "datasets": rates},
        {"id": "chart-stages", "type": "bar", "unit": "h", "labels": [str(STAGES[s["stage"]]) for s in stages],
         "datasets": [
             {"label": str(_("Average")), "links": stage_links,
              "data": [None if s["avg_seconds"] is None else round(s["avg_seconds"] / 3600, 2) for s in stages]},
             {"label": "P90", "links": stage_links,
              "data": [None if s["p90_seconds"] is None else round(s["p90_seconds"] / 3600, 2) for s in stages]}]},
    ]


def _standard_charts(report: dict) -> list[dict]:
    lines = report["lines"]
    return [{"id": "chart-standards", "type": "bar", "unit": "%", "horizontal": True,
             "labels": [str(FIGURES[line["id"]]) for line in lines],
             "datasets": [
                 {"label": str(_("Reached")), "data": _rate_points(lines),
                  "links": [drill_url(line["id"], "total", report["from"], report["to"]) for line in lines]},
                 {"label": str(_("Target")), "data": [round(line["target"] * 100, 2) for line in lines],
                  "links": [None for _line in lines], "muted": True}]}]


def _appeal_charts(report: dict) -> list[dict]:
    counts = report["counts"]
    this_month = [drill_url("appeals", c["part"], report["from"], report["to"]) for c in counts]
    issues = report["issues"]
    return [
        {"id": "chart-appeal-counts", "type": "bar", "labels": [str(APPEAL_COUNTS[c["id"]]) for c in counts],
         "datasets": [
             {"label": report["month"], "data": [c["value"] for c in counts], "links": this_month, "emphasis": True},
             {"label": report["previous_month"], "data": [c["previous"] for c in counts], "muted": True},
             {"label": report["last_year_month"], "data": [c["last_year"] for c in counts], "muted": True}]},
        {"id": "chart-appeal-outcomes", "type": "doughnut",
         "labels": [str(OUTCOMES[o["outcome"]]) for o in report["outcomes"]],
         "datasets": [{"label": str(_("Appeals")), "data": [o["count"] for o in report["outcomes"]],
                       "links": [drill_url("appeals", o["part"], report["from"], report["to"])
                                 for o in report["outcomes"]]}]},
        {"id": "chart-appeal-issues", "type": "bar", "horizontal": True,
         "labels": [key_name("issue", i["issue"]) for i in issues],
         "datasets": [{"label": str(_("Appeals")), "data": [i["count"] for i in issues],
                       "links": [drill_url("appeals", "total", report["from"], report["to"], "issue", i["issue"])
                                 for i in issues]}]},
    ]


def _chart_texts() -> dict:
    return {"empty": str(_("No cases in this range.")), "open": str(_("Click to open the cases")), "hours": str(_("h"))}


# -- pages ------------------------------------------------------------------------------------------------


def _render(template: str, build, charts, names: tuple[str, ...], **extra: object) -> tuple[str, int]:  # noqa: ANN001
    args = request.args
    report, errors = None, {}
    try:
        report = read_report(build, viewer(), args)
    except BadRequest as error:
        errors = error.fields or {"query": error.message}
    query = _query(args, *names)
    if report is not None:
        query = {**{n: report.get(n) for n in names if report.get(n)}, **query}
    context = {"report": report, "errors": errors, "query": query,
               "chart": {"charts": charts(report) if report else [], "texts": _chart_texts()},
               "export": lambda fmt: export_url(extra.get("kind", ""), fmt, args), **_helpers(), **extra}
    return render_template(template, **context), 400 if errors else 200


@ui.get("/reports")
@login_required
def reports_page() -> tuple[str, int]:
    _require()
    settings = None
    if viewer().has_role(*reports.SETTINGS_ROLES):
        settings = reports.get_settings(_db(), viewer())
    return _render("reports.html", reports.service_quality, _service_charts, ("from", "to", "period", "split"),
                   kind="service-quality", settings=settings)


@ui.get("/reports/standards")
@login_required
def reports_standards() -> tuple[str, int]:
    _require()
    return _render("reports_standards.html", reports.standards_report, _standard_charts, ("from", "to"),
                   kind="standards")


@ui.get("/reports/appeals")
@login_required
def reports_appeals() -> tuple[str, int]:
    _require()
    return _render("reports_appeals.html", reports.appeals_report, _appeal_charts, ("month",), kind="appeals",
                   APPEAL_COUNTS=APPEAL_COUNTS, OUTCOMES=OUTCOMES)


@ui.get("/reports/cases")
@login_required
def reports_cases() -> tuple[str, int]:
    _require()
    args = request.args
    listing = read_report(reports.case_list, viewer(), args)  # a bad link is a 400 page
    pages = max(1, -(-listing["total"] // listing["page_size"]))

    def page_url(page: int) -> str:
        return url_for("ui.reports_cases", **{**args.to_dict(), "page": page})

    figure = listing["figure"]
    context = {"listing": listing, "pages": pages, "page_url": page_url, "STATES": STATES, "table_id": "report-cases",
               "title": FIGURES.get(figure, figure), "part_name": PARTS.get(listing["part"], listing["part"]),
               "key_label": key_name(listing["split"], listing["key"]) if listing["split"] else None,
               "export": lambda fmt: export_url("cases", fmt, args), **_helpers()}
    return render_template("reports_cases.html", **context), 200


@ui.get("/reports/cases/rows")
@login_required
def reports_case_rows() -> tuple[str, int]:
    """One page of a drill-down as a bare table, for htmx (the standards page loads each line's missed cases)."""
    _require()
    listing = read_report(reports.case_list, viewer(), request.args)
    return render_template("reports_case_rows.html", listing=listing, STATES=STATES, table_id=None,
                           **_helpers()), 200


@ui.get("/reports/export")
@login_required
def reports_export() -> object:
    _require()
    kind, fmt = request.args.get("report", ""), request.args.get("format", "")
    if kind not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise BadRequest("unknown report or format", fields={"report": ", ".join(EXPORTS), "format": "csv, xlsx"})
    options: dict = {"export": True} if kind == "cases" else {}
    if kind == "standards" and not request.args.get("missed"):
        options["missed"] = MISSED_IN_FILES
    report = read_report(EXPORTS[kind], viewer(), request.args, **options)
    return file_response(report, fmt)


@ui.post("/reports/settings")
@login_required
def reports_settings() -> object:
    if not viewer().has_role(*reports.SETTINGS_ROLES):
        abort(403)
    raw = (request.form.get("customer_count") or "").strip().replace(",", "")
    try:
        reports.put_settings(_db(), viewer(), {"customer_count": raw})
    except ValidationFailed:
        flash(_("The customer count must be a whole number from 1 up."), "error")
        return redirect(url_for("ui.reports_page", **_query(request.form, "from", "to", "period", "split")))
    flash(_("Customer count saved."), "success")
    return redirect(url_for("ui.reports_page", **_query(request.form, "from", "to", "period", "split")))
