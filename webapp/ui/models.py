"""Process models pages: every model with its versions, diffs and migration of running cases.

- ``/models``: each process, its versions (who deployed each and when, cases on each) and who calls it.
- ``/models/<process_id>``: the versions table and the diagram of one version (``?version=``).
- ``/models/<process_id>/diff?from=&to=``: elements added, removed and changed, marked on both diagrams.
- ``/models/<process_id>/migrate?to=``: which running cases can move to a version; the owner moves the
  ones ticked (POST). Others may look but not move.

Owners, supervisors and admins read these pages. Diagrams are drawn by static/js/models.js with the
vendored bpmn-js viewer from ``/models/<process_id>/versions/<n>/diagram`` (JSON).
"""
from __future__ import annotations

from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.errors import NotFound
from engine.service import ComplaintEngine

from .. import state
from . import ui
from .session import login_required, viewer

READER_ROLES = ("owner", "supervisor", "admin")
MIGRATE_ROLES = ("owner",)
MAX_VERSION = 1_000_000

# BPMN element types as a process owner knows them.
ELEMENT_TYPES = {
    "userTask": _l("user task"), "manualTask": _l("manual task"), "scriptTask": _l("script task"),
    "serviceTask": _l("service task"), "businessRuleTask": _l("business rule task"), "sendTask": _l("send task"),
    "receiveTask": _l("receive task"), "task": _l("task"), "callActivity": _l("call activity"),
    "subProcess": _l("sub-process"), "exclusiveGateway": _l("exclusive gateway"),
    "parallelGateway": _l("parallel gateway"), "inclusiveGateway": _l("inclusive gateway"),
    "eventBasedGateway": _l("event-based gateway"), "startEvent": _l("start event"), "endEvent": _l("end event"),
    "intermediateCatchEvent": _l("catch event"), "intermediateThrowEvent": _l("throw event"),
    "boundaryEvent": _l("boundary event"), "sequenceFlow": _l("sequence flow"),
}
# What changed on an element: SpiffWorkflow spec attributes, our task settings, a flow's ends.
ATTRIBUTES = {
    "inputs": _l("incoming flow"), "outputs": _l("outgoing flow"), "bpmn_name": _l("name"), "name": _l("name"),
    "id": _l("id"), "lane": _l("lane"), "role": _l("role"), "role_expression": _l("role expression"),
    "form": _l("form"), "form_schema": _l("form fields"), "due": _l("deadline"), "priority": _l("priority"),
    "kind": _l("task kind"), "extensions": _l("properties"), "script": _l("script"), "prescript": _l("pre-script"),
    "postscript": _l("post-script"), "documentation": _l("documentation"), "typename": _l("element type"),
    "cond_task_specs": _l("conditions"), "default_task_spec": _l("default flow"), "event_definition": _l("event"),
    "sourceRef": _l("source"), "targetRef": _l("target"), "conditionExpression": _l("condition"),
    "cancel_activity": _l("interrupting"), "decision_table": _l("decision table"), "operation_name": _l("connector"),
    "operation_params": _l("connector parameters"), "result_variable": _l("result variable"),
}
SOURCES = {"processes/": _l("processes folder"), "upload": _l("upload"), "editor": _l("editor")}


def _engine() -> ComplaintEngine:
    return state(current_app).engine


def _require_reader() -> None:
    if not viewer().has_role(*READER_ROLES):
        abort(403)


def _may_migrate() -> bool:
    return viewer().has_role(*MIGRATE_ROLES)


def _version_arg(name: str, required: bool = False) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        if required:
            abort(400)
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_VERSION:
        abort(400)
    return int(raw)


def reason_text(reason: dict) -> str:
    """Why a case cannot move, in the reader's language (the engine's English message as the fallback)."""
    element = reason.get("element_name") or reason.get("element_id") or ""
    if reason.get("element_name") and reason.get("element_id"):
        element = f"{reason['element_name']} ({reason['element_id']})"
    called = reason.get("process_id") or ""
    texts = {
        "suspended": lambda: _("The case is suspended; resume it first."),
        "closed": lambda: _("The case is closed."),
        "waits_at_removed": lambda: _("It waits at %(element)s, which the new version removed.", element=element),
        "passed_removed": lambda: _("It has passed %(element)s, which the new version removed; its history "
                                    "there would be lost.", element=element),
        "reaches_removed": lambda: _("It would still reach %(element)s, which the new version removed.",
                                     element=element),
        "called_process_removed": lambda: _("Its called process %(process)s is running, and the new version no "
                                            "longer calls it.", process=called),
        "called_process_dropped": lambda: _("Its finished called process %(process)s is not part of the new "
                                            "version.", process=called),
        "other_process": lambda: _("The case runs another process."),
        "same_version": lambda: _("The case is on that version already."),
        "not_found": lambda: _("No such case."),
        "conflict": lambda: _("The case was changed meanwhile; try again."),
    }
    text = texts.get(reason.get("code"))
    return text() if text else reason.get("message", "")


def _type_name(code: str | None) -> str:
    return str(ELEMENT_TYPES.get(code, code or "")) if code else ""


def _attribute_names(codes: list[str]) -> str:
    return "、".join(str(ATTRIBUTES.get(code, code)) for code in codes)


@ui.app_template_filter("model_source")
def _source_name(code: str | None) -> str:
    return str(SOURCES.get(code, code or ""))


def waiting_text(waiting: list[dict], main_process: str) -> str:
    """Where a case waits: each step once (×2 for two parallel ones), with its process when it is a called one."""
    counts: dict[tuple[str, str], int] = {}
    for step in waiting:
        key = (step["name"], step["process_id"])
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for (name, process_id), count in counts.items():
        text = f"{name} ×{count}" if count > 1 else name
        parts.append(text if process_id == main_process else f"{text} ({process_id})")
    return "、".join(parts) or "—"


def _helpers() -> dict:
    return {"reason_text": reason_text, "type_name": _type_name, "attribute_names": _attribute_names,
            "waiting_text": waiting_text,
            "may_migrate": _may_migrate(), "edit_url": edit_url}


def edit_url(process_id: str) -> str:
    # The modeler is another page's (ui.model_editor); a plain path keeps this page working without it.
    return f"/models/{process_id}/edit"


@ui.get("/models")
@login_required
def models_page() -> str:
    _require_reader()
    return render_template("models.html", processes=_engine().list_processes(), **_helpers())


@ui.get("/models/<process_id>")
@login_required
def model_detail(process_id: str) -> str:
    _require_reader()
    engine = _engine()
    entry = engine.process_versions(process_id)
    chosen = _version_arg("version") or entry["latest_version"]
    detail = engine.process_version(process_id, chosen)
    return render_template("models_detail.html", process=entry, detail=detail, chosen=chosen, **_helpers())


@ui.get("/models/<process_id>/versions/<int:version>/diagram")
@login_required
def model_version_diagram(process_id: str, version: int) -> Response:
    """The version's BPMN files (its own first, then those it calls) for the diagram viewer."""
    _require_reader()
    detail = _engine().process_version(process_id, version)
    return jsonify({"process_id": process_id, "version": version, "diagrams": detail["diagrams"]})


@ui.get("/models/<process_id>/diff")
@login_required
def model_diff(process_id: str) -> str:
    _require_reader()
    engine = _engine()
    entry = engine.process_versions(process_id)
    numbers = [v["version"] for v in entry["versions"]]
    to_version = _version_arg("to") or entry["latest_version"]
    default_from = max((n for n in numbers if n < to_version), default=None)
    from_version = _version_arg("from") or default_from
    result = None
    if from_version is not None and from_version != to_version:
        result = engine.diff_versions(process_id, from_version, to_version)
    return render_template("models_diff.html", process=entry, numbers=numbers, from_version=from_version,
                           to_version=to_version, diff=result, **_helpers())


@ui.route("/models/<process_id>/migrate", methods=["GET", "POST"])
@login_required
def model_migrate(process_id: str) -> tuple[str, int] | str:
    _require_reader()
    if request.method == "POST" and not _may_migrate():
        abort(403)  # before the process is looked up: a 404 must not come first
    engine = _engine()
    entry = engine.process_versions(process_id)
    results = None
    status = 200
    if request.method == "POST":
        to_version = _form_version("to_version")
        numbers = [n.strip()[:64] for n in request.form.getlist("cases") if n.strip()]
        if not numbers:
            status = 422
        else:
            results = engine.migrate_cases(process_id, to_version, numbers, viewer().username)
    else:
        to_version = _version_arg("to") or entry["latest_version"]
    if to_version not in {v["version"] for v in entry["versions"]}:
        raise NotFound(f"process {process_id} has no version {to_version}")
    from_version = _version_arg("from") if request.method == "GET" else None
    # Supervisors and admins see the same preview, read-only; moving cases is the owner's.
    preview = engine.migration_preview(process_id, to_version, from_version)
    page = render_template("models_migrate.html", process=entry, to_version=to_version, from_version=from_version,
                           preview=preview, results=results, nothing_chosen=status == 422,
                           action=url_for("ui.model_migrate", process_id=process_id), **_helpers())
    return (page, status) if status != 200 else page


def _form_version(name: str) -> int:
    raw = (request.form.get(name) or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_VERSION:
        abort(400)
    return int(raw)

