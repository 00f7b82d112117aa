"""The inbox: my tasks and my groups' unclaimed tasks, filters, saved filters, claim/release/reassign.

``GET /inbox`` is the page; ``GET /inbox/rows`` the table alone, which htmx reloads
every 30 seconds and after each claim or release, so the page never reloads whole.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine import clock, directory, inbox, saved_filters
from engine.errors import BadRequest, EngineError, ValidationFailed
from engine.service import TaskFilters

from .. import state
from ..api import task_filters
from . import ui, ui_state
from .session import login_required, safe_next, viewer

PAGE_SIZE = 50
# Query parameters the inbox understands (and saves); the rest are dropped.
QUERY_KEYS = ("scope", "category", "business_line", "region", "tier", "overdue", "due_within_hours", "q", "sort",
              "role", "city")
REFRESH_SECONDS = 30


def read_query(args: MultiDict) -> tuple[dict[str, str], TaskFilters, str, dict[str, str]]:
    """The inbox query: (clean parameters, filters, scope, problems). Bad parameters are dropped, not fatal."""
    query = {k: args.get(k, "").strip() for k in QUERY_KEYS if args.get(k, "").strip()}
    scope = query.get("scope", "inbox")
    problems: dict[str, str] = {}
    if scope not in inbox.SCOPES:
        problems["scope"] = scope
        scope = "inbox"
        query.pop("scope", None)
    api_args = {k: v for k, v in query.items() if k != "scope"}
    try:
        filters = task_filters(api_args)
    except BadRequest as error:
        problems.update(error.fields or {})
        for name in error.fields or {}:
            query.pop(name, None)
            api_args.pop(name, None)
        filters = task_filters(api_args)
    page = args.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    filters = TaskFilters(**{**filters.__dict__, "page": page_number, "page_size": PAGE_SIZE})
    return query, filters, scope, problems


def _table_context(args: MultiDict) -> dict:
    who = viewer()
    query, filters, scope, problems = read_query(args)
    engine = state(current_app).engine
    result = inbox.page(engine, who, filters, scope)
    items = ui_state(current_app).task_clocks.annotate(result["items"], clock.now())
    names = {}
    with engine.db.read() as session:
        names = directory.display_names(session, [t["assignee"] for t in items])
        assignable = directory.users_with_role(session, None) if who.has_role("supervisor") else []
    exact, estimated = result["total_exact"], result["total_estimated"]
    # Past the count's cap, or with an estimated total, the last page is unknown: offer the next page while
    # this one is full.
    pages = max(1, -(-result["total"] // PAGE_SIZE), filters.page + (0 if exact or len(items) < PAGE_SIZE else 1))
    return {
        "items": items, "total": count_label(result["total"], exact, estimated), "query": query, "scope": scope,
        "filters": filters, "problems": problems, "counts": scope_count_labels(engine, who), "names": names,
        "page": filters.page, "pages": pages, "pages_label": count_label(pages, exact, estimated),
        "query_string": urlencode(query), "assignable": assignable,
        "refresh_seconds": REFRESH_SECONDS, "now": clock.now(),
    }


def count_label(count: int, exact: bool, estimated: bool = False) -> str:
    """A count as shown: exact, "10,000+" when counting stopped at the cap, or "约 4,500" (about) when the
    count ran out of its time budget and the total is the database's estimate."""
    if estimated:
        return _("about %(n)s", n=f"{count:,}")
    return str(count) if exact else f"{count:,}+"


def scope_count_labels(engine, who) -> dict[str, str]:  # noqa: ANN001
    """Each scope's count and overdue count as shown on the tabs ("" when none is overdue)."""
    counts = inbox.counts(engine, who)
    labels = {}
    for scope in inbox.SCOPES:
        labels[scope] = count_label(counts[scope], counts[f"{scope}_exact"])
        overdue = f"{scope}_overdue"
        labels[overdue] = count_label(counts[overdue], counts[f"{overdue}_exact"]) if counts[overdue] else ""
    return labels


@ui.get("/inbox")
@login_required
def inbox_page() -> str:
    who = viewer()
    context = _table_context(request.args)
    with state(current_app).db.read() as session:
        saved = saved_filters.list_filters(session, who)
    return render_template("inbox.html", saved=saved, scopes=inbox.SCOPES, **context)


@ui.get("/inbox/rows")
@login_required
def inbox_rows() -> str:
    return render_template("_inbox_table.html", oob=True, **_table_context(request.args))


# --- saved filters ---------------------------------------------------------------------


@ui.post("/inbox/filters")
@login_required
def save_filter() -> object:
    who = viewer()
    query, _filters, _scope, _problems = read_query(request.form)
    try:
        with state(current_app).db.write() as session:
            saved = saved_filters.save_filter(session, who, request.form.get("name", ""), query,
                                              request.form.get("shared_role") or None)
        flash(_("Filter “%(name)s” saved.", name=saved["name"]), "success")
    except ValidationFailed as error:
        fields = error.fields or {}
        if "name" in fields:
            flash(_("Give the filter a name (at most 64 characters)."), "error")
        else:
            flash(_("The filter could not be saved."), "error")
    except EngineError as error:
        if error.status == 403:
            flash(_("You may share a filter only with one of your own roles."), "error")
        else:
            raise
    return redirect(url_for("ui.inbox_page") + ("?" + urlencode(query) if query else ""))


@ui.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int) -> object:
    with state(current_app).db.write() as session:
        saved_filters.delete_filter(session, viewer(), filter_id)
    flash(_("Filter deleted."), "info")
    return redirect(url_for("ui.inbox_page"))


# --- claim, release, reassign ----------------------------------------------------------------


def _after_action(task_id: str, message: str, category: str = "success") -> object:
    """htmx: the refreshed table with a notice; otherwise back where the user came from."""
    if request.headers.get("HX-Request"):
        # The inbox query the table was shown with travels in the form as return_query.
        args = MultiDict(parse_qsl(request.form.get("return_query", ""), keep_blank_values=False)[:20])
        return render_template("_inbox_table.html", oob=True, notice=(category, message), **_table_context(args))
    flash(message, category)
    return redirect(safe_next(request.form.get("next") or url_for("ui.task_page", task_id=task_id)))


def _task_action(task_id: str, action: str) -> object:
    who = viewer()
    engine = state(current_app).engine
    messages = {"claim": _("Task claimed: it is yours now."), "release": _("Task released back to the queue.")}
    try:
        if action == "claim":
            engine.claim(task_id, who)
        elif action == "release":
            engine.release(task_id, who)
        else:
            assignee = (request.form.get("assignee") or "").strip() or None
            engine.reassign(task_id, who, assignee)
            messages["reassign"] = (_("Task reassigned to %(name)s.", name=assignee) if assignee
                                    else _("Task returned to the queue."))
    except EngineError as error:
        if error.status not in (404, 409, 422):
            raise
        texts = {404: _("The task is gone: it was completed."),
                 409: _("Someone else holds this task or it is already done."),
                 422: _("No such active user.")}
        return _after_action(task_id, texts[error.status], "error")
    return _after_action(task_id, messages[action])


@ui.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> object:
    return _task_action(task_id, "claim")


@ui.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> object:
    return _task_action(task_id, "release")


@ui.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str) -> object:
    return _task_action(task_id, "reassign")
