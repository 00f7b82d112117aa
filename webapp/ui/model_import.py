"""Importing diagrams made in Camunda Modeler or bpmn.io (process owners): upload, read the report, deploy.

GET /models/import shows the upload form: the files (BPMN, DMN, JSON Schema forms) and a
role map, one ``management = supervisor`` per line. POST converts and checks them
(ComplaintEngine.import_models) and shows what was mapped, what is not supported, what was
ignored, and the deploy check's findings with element ids. Nothing is stored until the owner
presses Deploy: that posts the same uploads again, carried in the page as base64 hidden
fields, with ``action=deploy``; the engine converts and checks them afresh before deploying.
"""
from __future__ import annotations

import base64
import binascii

from flask import abort, current_app, flash, render_template, request
from flask_babel import gettext as _

from engine.camunda_import import parse_role_map, report_counts
from engine.errors import BadRequest, ValidationFailed
from engine.service import UploadedFile

from .. import state
from ..api import upload_name
from . import ui
from .session import login_required, viewer

OWNER_ROLE = "owner"
MAX_FILES = 50
MAX_ROLE_MAP_CHARS = 20_000
KINDS = ("unsupported", "mapped", "ignored")


def _require_owner() -> None:
    if not viewer().has_role(OWNER_ROLE):
        abort(403)


@ui.route("/models/import", methods=["GET", "POST"])
@login_required
def model_import() -> tuple[str, int]:
    _require_owner()
    if request.method == "GET":
        return _page(), 200
    role_text = request.form.get("role_map", "")
    errors: dict[str, str] = {}
    files = _uploads(errors)
    role_map: dict[str, str] = {}
    if len(role_text) > MAX_ROLE_MAP_CHARS:
        errors["role_map"] = _("The role map is too long.")
    else:
        try:
            role_map = parse_role_map(role_text)
        except ValidationFailed as failed:
            errors["role_map"] = (failed.fields or {}).get("role_map", failed.message)
    if errors:
        return _page(role_text=role_text, errors=errors), 422
    deploy = request.form.get("action") == "deploy"
    result = state(current_app).engine.import_models(files, viewer().username, role_map, deploy=deploy)
    if result["deployed"] is not None:
        flash(_("Deployed. New versions are used by cases started from now on."), "success")
    return _page(role_text=role_text, result=result, files=files), 200


def _page(role_text: str = "", errors: dict | None = None, result: dict | None = None,
          files: list[UploadedFile] | None = None) -> str:
    blocking = [p for p in (result or {}).get("problems", []) if p.get("severity", "error") != "warning"]
    report = (result or {}).get("report", [])
    carried = [] if result is None or result["deployed"] is not None or blocking else [
        (f.filename, base64.b64encode(f.content).decode("ascii")) for f in files or []]
    return render_template(
        "model_import.html", role_text=role_text, errors=errors or {}, result=result, blocking=blocking,
        by_kind={kind: [e for e in report if e["kind"] == kind] for kind in KINDS},
        counts=report_counts(report), carried=carried, kinds=KINDS,
    )


def _uploads(errors: dict[str, str]) -> list[UploadedFile]:
    """The files chosen in the form, or those carried from the report page by its Deploy button."""
    files = [UploadedFile(part.filename, part.read()) for part in request.files.getlist("files") if part.filename]
    if not files:
        names, blobs = request.form.getlist("carried_name"), request.form.getlist("carried_data")
        try:
            files = [UploadedFile(name, base64.b64decode(blob, validate=True)) for name, blob in zip(names, blobs,
                                                                                                      strict=True)]
        except (binascii.Error, ValueError):
            errors["files"] = _("The files could not be read back; choose them again.")
            return []
    try:
        for file in files:
            upload_name(file.filename)  # a name that looks like a path is refused, not cut to its base
    except BadRequest as refused:
        errors["files"] = _("A file name looks like a path: %(name)s", name=(refused.fields or {}).get("files"))
        return []
    if not files:
        errors["files"] = _("Choose at least one file: a BPMN diagram, with its DMN tables and JSON forms.")
    elif len(files) > MAX_FILES:
        errors["files"] = _("At most %(n)s files at a time.", n=MAX_FILES)
    return files
