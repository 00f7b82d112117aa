"""The task page: the task's form (from its JSON Schema), the case at a glance, comments and the diagram."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock, comments, directory
from engine.errors import Conflict, ValidationFailed
from engine.service import ComplaintEngine

from .. import state
from . import schema_form, ui, ui_state
from .session import login_required, viewer


def _engine() -> ComplaintEngine:
    return state(current_app).engine


def _context(task_id: str) -> dict:
    who = viewer()
    engine = _engine()
    task = engine.get_task(task_id, who)  # 403 for another role's task, 404 / 409 when gone
    task = ui_state(current_app).task_clocks.annotate([task], clock.now())[0]
    number = task["complaint_number"]
    case = engine.get_case(number, who)
    earlier = [c for c in engine.find_cases(task["phone"]) if c["number"] != number] if task.get("phone") else []
    with engine.db.read() as session:
        notes = comments.list_comments(session, number)
        names = directory.display_names(session, [task["assignee"]])
        assignable = directory.users_with_role(session, task["role"]) if who.has_role("supervisor") else []
    held_by_other = task["assignee"] not in (None, who.username)
    return {"task": task, "case": case, "earlier": earlier, "comments": notes, "names": names,
            "assignable": assignable, "held_by_other": held_by_other,
            "may_submit": not held_by_other or who.has_role("supervisor")}


@ui.get("/tasks/<task_id>")
@login_required
def task_page(task_id: str) -> object:
    try:
        context = _context(task_id)
    except Conflict:
        flash(_("That task is already done."), "info")
        return redirect(url_for("ui.inbox_page"))
    fields = schema_form.fields_of(context["task"].get("form"))
    return render_template("task.html", fields=fields, form_error=None, **context)


@ui.post("/tasks/<task_id>")
@login_required
def complete_task(task_id: str) -> object:
    who = viewer()
    engine = _engine()
    try:
        task = engine.get_task(task_id, who)
    except Conflict:
        flash(_("That task is already done."), "info")
        return redirect(url_for("ui.inbox_page"))
    schema = task.get("form")
    data = schema_form.parse(schema, request.form, state(current_app).settings.timezone)
    try:
        engine.complete(task_id, who, data, view="summary")  # the page redirects: the full case is not needed
    except ValidationFailed as error:
        errors = dict(error.fields or {})
        known = {f.name for f in schema_form.fields_of(schema)}
        form_error = _("Some fields need your attention.")
        unknown = {k: v for k, v in errors.items() if k not in known}
        if unknown:
            form_error += " " + "; ".join(f"{k}: {v}" for k, v in sorted(unknown.items()))
        context = _context(task_id)
        fields = schema_form.fields_of(schema, values=data, errors=errors)
        return render_template("task.html", fields=fields, form_error=form_error, **context), 422
    except Conflict as error:
        if "held by" in error.message:
            flash(_("Someone else holds this task. Ask them or a supervisor to release it."), "error")
            return redirect(url_for("ui.task_page", task_id=task_id))
        flash(_("That task is already done."), "info")
        return redirect(url_for("ui.inbox_page"))
    flash(_("Done: %(task)s for %(number)s.", task=task["name"], number=task["complaint_number"]), "success")
    return redirect(url_for("ui.inbox_page"))
