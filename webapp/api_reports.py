"""JSON API: Service-quality reports and the regulator's monthly appeal report.

| call | roles |
|---|---|
| GET /reports/service-quality, /standards, /appeals/monthly, /cases | supervisor, escalation, admin |
| GET /reports/settings | supervisor, escalation, admin |
| PUT /reports/settings | admin |

Each GET answers JSON, or a file with ``?format=csv`` or ``?format=xlsx``. Bad query
parameters are 400 with ``fields`` naming each one. The queries and their counting rules
are in engine/reports.py. Reports read the reports database (COMPLAINTFLOW_REPORTS_DATABASE_URL,
a read replica) when one is set, and say so in ``source``; while the replica cannot be reached they
read the primary and ``source`` says that (``fallback``: true). CSV and XLSX files say it too.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, Response, current_app, request

from engine import report_export, reports
from engine.errors import BadRequest

from . import state
from .api import json_body
from .auth import current_viewer, require_roles

api_reports = Blueprint("api_reports", __name__, url_prefix="/api/v1")

MISSED_IN_FILES = reports.MAX_PAGE_SIZE
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _format() -> str:
    chosen = (request.args.get("format") or "json").strip().lower()
    if chosen not in reports.FORMATS:
        raise BadRequest("bad query parameter: format", fields={"format": f"one of {', '.join(reports.FORMATS)}"})
    return chosen


def file_response(report: dict, chosen: str) -> Response:
    """The report as a CSV or XLSX download."""
    body = report_export.to_csv(report) if chosen == "csv" else report_export.to_xlsx(report)
    response = current_app.response_class(body, mimetype=MIMETYPES[chosen])
    response.headers["Content-Disposition"] = f'attachment; filename="{report_export.filename(report, chosen)}"'
    return response


def read_report(build: Callable[..., dict], viewer: object, args: Mapping[str, str], **options: object) -> dict:
    """A report read from the reports database (the replica when one is configured), with its ``source``;
    from the primary, saying so, while the replica cannot be reached (engine.reports.read)."""
    app_state = state(current_app)
    return reports.read(build, app_state.db, app_state.reports_replica, viewer, args, **options)


def _answer(build: Callable[..., dict], **options: object) -> Response | dict:
    chosen = _format()  # checked before any work is done
    report = read_report(build, current_viewer(), request.args, **options)
    return report if chosen == "json" else file_response(report, chosen)


@api_reports.get("/reports/service-quality")
@require_roles(*reports.REPORT_ROLES)
def service_quality() -> Response | dict:
    return _answer(reports.service_quality)


@api_reports.get("/reports/standards")
@require_roles(*reports.REPORT_ROLES)
def standards() -> Response | dict:
    # A file lists the missed cases of each line too (unless ?missed= says how many).
    listed = None if _format() == "json" or request.args.get("missed") else MISSED_IN_FILES
    return _answer(reports.standards_report, missed=listed)


@api_reports.get("/reports/appeals/monthly")
@require_roles(*reports.REPORT_ROLES)
def appeals_monthly() -> Response | dict:
    return _answer(reports.appeals_report)


@api_reports.get("/reports/cases")
@require_roles(*reports.REPORT_ROLES)
def report_cases() -> Response | dict:
    return _answer(reports.case_list, export=_format() != "json")


@api_reports.get("/reports/settings")
@require_roles(*reports.REPORT_ROLES)
def get_report_settings() -> dict:
    return reports.get_settings(state(current_app).db, current_viewer())


@api_reports.put("/reports/settings")
@require_roles(*reports.SETTINGS_ROLES)
def put_report_settings() -> dict:
    return reports.put_settings(state(current_app).db, current_viewer(), json_body())
