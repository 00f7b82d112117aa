"""Case pages, their diagrams and comments, and the new-complaint page with its repeat warning."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import case_access, case_forms, clock, comments, diagrams, directory
from engine.complaints import BUSINESS_LINES, CATEGORIES, CHANNELS, PHONE, REGIONS
from engine.errors import ValidationFailed
from engine.service import ComplaintEngine
from engine.task_clocks import deadline, parse_time

from .. import state
from . import i18n, ui
from .session import login_required, safe_next, viewer

STARTER_ROLES = ("intake", "supervisor")
# Case data keys that are machinery, not fields a person reads.
HIDDEN_KEYS = {"sla_clocks"}


def _engine() -> ComplaintEngine:
    return state(current_app).engine


def _require_access(number: str) -> None:
    with _engine().db.read() as session:
        case_access.require_case_access(session, viewer(), number)


def _clocks(case: dict) -> list[dict]:
    """The case's SLA clocks with their state now: met, paused, ok, warn or overdue, and time left."""
    engine = _engine()
    now = clock.now()
    try:
        calendar = engine.calendars.get(engine.db)
    except Exception:  # noqa: BLE001 - shown in plain time then
        calendar = None
    raw = case["data"].get("sla_clocks") if isinstance(case["data"].get("sla_clocks"), dict) else {}
    result = []
    for entry in case["sla"]:
        own = raw.get(entry["name"]) if isinstance(raw.get(entry["name"]), dict) else {}
        due = parse_time(entry["due_at"])
        started = parse_time(own.get("started_at")) or parse_time(case["created_at"]) or now
        view = deadline(due, started, now, {**own, **entry}, calendar)
        if entry.get("met_at"):
            view["state"] = "breached" if entry.get("breached") else "met"
        elif entry.get("paused"):
            view["state"] = "paused"
        result.append({**entry, "view": view})
    return result


def _fields(case: dict) -> tuple[list, list, list]:
    """Every field of the case data, in three groups: the complaint's own fields (fixed order), the
    fields people entered in task forms (in the order they were entered), and everything else."""
    data = case["data"]
    known = [(key, str(title), data[key]) for key, title in i18n.FIELDS.items() if key in data]
    entered: list[tuple[str, object]] = []
    for event in case["timeline"]:
        for key in (event.get("data") or {}).get("form_data") or {}:
            if key in data and key not in i18n.FIELDS and key not in [k for k, _ in entered]:
                entered.append((key, data[key]))
    shown = set(i18n.FIELDS) | {k for k, _ in entered}
    others = [(key, value) for key, value in sorted(data.items())
              if key not in shown and key not in HIDDEN_KEYS and not key.startswith("_")]
    return known, entered, others


@ui.get("/cases/<number>")
@login_required
def case_page(number: str) -> str:
    _require_access(number)
    engine = _engine()
    who = viewer()
    case = engine.get_case(number, who)
    phone = case["data"].get("phone")
    earlier = [c for c in engine.find_cases(phone) if c["number"] != number] if isinstance(phone, str) else []
    with engine.db.read() as session:
        notes = comments.list_comments(session, number)
        actors = directory.display_names(session, [e["actor"] for e in case["timeline"]]
                                         + [t["assignee"] for t in case["tasks"]])
        elements = diagrams.element_names(diagrams.case_diagram(session, number))
        form_labels = case_forms.field_labels(session, number)
    actors.setdefault("engine", _("System"))
    actors.setdefault("scheduler", _("Timer"))
    known, entered, others = _fields(case)
    return render_template("case.html", case=case, known_fields=known, entered_fields=entered, other_fields=others,
                           clocks=_clocks(case),
                           earlier=earlier, comments=notes, names=actors, elements=elements,
                           form_labels=form_labels)


@ui.get("/cases/<number>/diagram")
@login_required
def case_diagram(number: str) -> Response:
    """The BPMN XML of the version the case runs on, and the elements to highlight."""
    _require_access(number)
    engine = _engine()
    with engine.db.read() as session:
        diagram = diagrams.case_diagram(session, number)
    case = engine.get_case(number, viewer())
    return jsonify({**diagram, "highlights": diagrams.with_calls(diagrams.highlights(case), diagram)})


@ui.get("/cases/<number>/diagram.bpmn")
@login_required
def case_diagram_xml(number: str) -> Response:
    _require_access(number)
    with _engine().db.read() as session:
        diagram = diagrams.case_diagram(session, number)
    response = current_app.response_class(diagram["xml"], mimetype="application/xml")
    response.headers["Content-Disposition"] = f'inline; filename="{diagram["filename"]}"'
    return response


@ui.post("/cases/<number>/comments")
@login_required
def add_comment(number: str) -> object:
    _require_access(number)
    back = safe_next(request.form.get("next") or url_for("ui.case_page", number=number))
    try:
        with _engine().db.write() as session:
            comments.add_comment(session, number, viewer().username, request.form.get("body", ""))
    except ValidationFailed:
        flash(_("A comment needs some text (at most %(n)s characters).", n=comments.MAX_LENGTH), "error")
        return redirect(back)
    flash(_("Comment added."), "success")
    return redirect(back + "#comments")


# --- new complaint ------------------------------------------------------------------------


def _require_starter() -> None:
    if not viewer().has_role(*STARTER_ROLES):
        abort(403)


def complaint_choices() -> dict:
    return {
        "channels": [(c, i18n.label(i18n.CHANNELS, c)) for c in CHANNELS],
        "business_lines": [(c, i18n.label(i18n.BUSINESS_LINES, c)) for c in BUSINESS_LINES],
        "categories": [(c, i18n.label(i18n.CATEGORIES, c)) for c in CATEGORIES],
        "regions": [(c, i18n.label(i18n.REGIONS, c)) for c in REGIONS],
    }


def complaint_data(form) -> dict:  # noqa: ANN001 - a MultiDict
    """The new-complaint form as the JSON body of POST /api/v1/complaints."""
    data: dict = {}
    for name in ("phone", "customer_name", "callback_phone", "channel", "business_line", "category", "region",
                 "city", "description", "request"):
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    star = (form.get("star_level") or "").strip()
    data["star_level"] = int(star) if star.isdigit() else (star or None)
    data["svip"] = form.get("svip") == "true"
    return data


def complaint_error(message: str) -> str:
    if message == "required":
        return _("This field is required.")
    if message == "not a phone number":
        return _("Enter a phone number (digits, 5 to 20).")
    if message.startswith("an integer from"):
        return _("Choose a star level from 0 to 7.")
    if message.startswith("must be one of"):
        return _("Choose one of the options.")
    if message.startswith("at most"):
        return _("At most %(n)s characters.", n=message.split()[2])
    return message


@ui.get("/complaints/new")
@login_required
def new_complaint() -> str:
    _require_starter()
    return render_template("new_complaint.html", values={"star_level": "0", "region": "urban"}, errors={},
                           **complaint_choices())


@ui.post("/complaints/new")
@login_required
def start_complaint() -> object:
    _require_starter()
    data = complaint_data(request.form)
    try:
        case = _engine().start_complaint(data, actor=viewer().username)
    except ValidationFailed as error:
        errors = {k: complaint_error(v) for k, v in (error.fields or {}).items()}
        values = {k: ("true" if v is True else v) for k, v in data.items() if v not in (None, False)}
        return render_template("new_complaint.html", values=values, errors=errors, **complaint_choices()), 422
    flash(_("Complaint %(number)s registered.", number=case["number"]), "success")
    return redirect(url_for("ui.case_page", number=case["number"]))


@ui.get("/complaints/repeats")
@login_required
def repeat_check() -> str:
    """The repeat warning under the phone field (htmx): the customer's open or recent cases."""
    _require_starter()
    phone = (request.args.get("phone") or "").strip()
    category = (request.args.get("category") or "").strip() or None
    if not PHONE.match(phone):
        return render_template("_repeat_warning.html", repeats=[], others=[], phone=phone, category=category)
    if category is not None and category not in CATEGORIES:
        category = None
    engine = _engine()
    repeats = engine.find_cases(phone, category) if category else []
    numbers = {c["number"] for c in repeats}
    others = [c for c in engine.find_cases(phone) if c["number"] not in numbers and c["status"] in ("running",
                                                                                                     "suspended")]
    return render_template("_repeat_warning.html", repeats=repeats, others=others, phone=phone, category=category)
