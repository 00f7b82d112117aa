"""JSON API: Process versions: list, files, diff and migration of running cases (owner deploys and migrates).

| call | roles |
|---|---|
| GET /process-definitions/{process_id}/versions | owner, supervisor, admin |
| GET /process-definitions/{process_id}/versions/{version} | owner, supervisor, admin |
| GET /process-definitions/{process_id}/diff?from=&to= | owner, supervisor, admin |
| GET /process-definitions/{process_id}/migrations?to=[&from=] | owner |
| POST /process-definitions/{process_id}/migrations | owner |

Handlers check their input and call one ComplaintEngine method (see engine/versions.py).
"""
from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, current_app, request

from engine.errors import BadRequest, NotFound, ValidationFailed
from engine.service import ComplaintEngine

from . import state
from .api import DEFINITION_READER_ROLES, json_body
from .auth import current_viewer, require_roles

api_versions = Blueprint("api_versions", __name__, url_prefix="/api/v1")

MIGRATION_ROLES = ("owner",)
MAX_CASES = 500
MAX_VERSION = 1_000_000


def _engine() -> ComplaintEngine:
    return state(current_app).engine


def version_number(value: object) -> int | None:
    """A version number from a path, query or JSON value: a whole number from 1, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_VERSION else None


def _query_versions(args: Mapping[str, str], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    found: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for name in (*required, *optional):
        raw = args.get(name)
        if raw is None or not raw.strip():
            if name in required:
                problems[name] = "required: a version number"
            found[name] = None
            continue
        found[name] = version_number(raw)
        if found[name] is None:
            problems[name] = "a version number (a whole number from 1)"
    if problems:
        raise BadRequest(f"bad query parameter: {', '.join(sorted(problems))}", fields=problems)
    return found


@api_versions.get("/process-definitions/<process_id>/versions")
@require_roles(*DEFINITION_READER_ROLES)
def list_versions(process_id: str) -> dict:
    return _engine().process_versions(process_id)


@api_versions.get("/process-definitions/<process_id>/versions/<version>")
@require_roles(*DEFINITION_READER_ROLES)
def get_version(process_id: str, version: str) -> dict:
    number = version_number(version)
    if number is None:
        raise NotFound(f"process {process_id} has no version {version!r}")
    return _engine().process_version(process_id, number)


@api_versions.get("/process-definitions/<process_id>/diff")
@require_roles(*DEFINITION_READER_ROLES)
def diff_versions(process_id: str) -> dict:
    found = _query_versions(request.args, ("from", "to"))
    return _engine().diff_versions(process_id, found["from"], found["to"])


@api_versions.get("/process-definitions/<process_id>/migrations")
@require_roles(*MIGRATION_ROLES)
def preview_migration(process_id: str) -> dict:
    found = _query_versions(request.args, ("to",), ("from",))
    return _engine().migration_preview(process_id, found["to"], found["from"])


def migration_request(body: Mapping) -> tuple[int, list[str]]:
    """``{"to_version": N, "cases": ["TS…", …]}``; 422 naming each wrong field."""
    problems: dict[str, str] = {}
    for name in sorted(set(body) - {"to_version", "cases"}):
        problems[name] = "unknown field"
    to_version = version_number(body.get("to_version"))
    if "to_version" not in body:
        problems["to_version"] = "required"
    elif to_version is None or isinstance(body.get("to_version"), str):
        problems["to_version"] = "a version number (a whole number from 1)"
    cases = body.get("cases")
    if cases is None:
        problems["cases"] = "required"
    elif not isinstance(cases, list) or not cases:
        problems["cases"] = "a non-empty list of case numbers"
    elif len(cases) > MAX_CASES:
        problems["cases"] = f"at most {MAX_CASES} case numbers at a time"
    elif not all(isinstance(n, str) and n.strip() and len(n) <= 64 for n in cases):
        problems["cases"] = "each case number must be a non-empty string of at most 64 characters"
    if problems:
        raise ValidationFailed(f"invalid fields: {', '.join(sorted(problems))}", fields=problems)
    return to_version, [n.strip() for n in cases]  # type: ignore[return-value, union-attr]


@api_versions.post("/process-definitions/<process_id>/migrations")
@require_roles(*MIGRATION_ROLES)
def migrate_cases(process_id: str) -> dict:
    to_version, numbers = migration_request(json_body())
    return _engine().migrate_cases(process_id, to_version, numbers, current_viewer().username)
