"""JSON API: Import of diagrams made in Camunda Modeler or bpmn.io.

POST /api/v1/process-definitions/import (owner): multipart ``files`` parts as for
POST /process-definitions, an optional ``role_map`` field (a JSON object of Camunda
group -> role code, or ``group = role`` lines) and an optional ``deploy`` field.
Always 200 with {report, problems, deployed, files} once the input is readable: a
diagram that cannot be converted or deployed is a finding, not an error status.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, request

from engine import camunda_import, jsonsafe
from engine.errors import BadRequest

from . import state
from .api import FALSE_WORDS, TRUE_WORDS, _uploaded_files
from .auth import current_viewer, require_roles

api_import = Blueprint("api_import", __name__, url_prefix="/api/v1")

MAX_ROLE_MAP_CHARS = 20_000


def role_map_field(raw: str | None) -> dict[str, str]:
    """The ``role_map`` form field: a JSON object, or ``group = role`` lines; 422 naming role_map if wrong."""
    text = (raw or "").strip()
    if not text:
        return {}
    if len(text) > MAX_ROLE_MAP_CHARS:
        raise BadRequest(f"role_map is longer than {MAX_ROLE_MAP_CHARS} characters",
                         fields={"role_map": "too long"})
    if text.startswith("{"):
        try:
            mapping = jsonsafe.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"role_map is not valid JSON: {exc.msg} at column {exc.colno}",
                             fields={"role_map": "a JSON object such as {\"management\": \"supervisor\"}"}) from None
        except jsonsafe.TooDeep as exc:
            raise BadRequest(f"role_map is {exc}", fields={"role_map": "a flat JSON object"}) from None
        return camunda_import.check_role_map(mapping)
    return camunda_import.parse_role_map(text)


def _deploy_field(raw: str | None) -> bool:
    word = (raw or "").strip().lower()
    if not word or word in FALSE_WORDS:
        return False
    if word in TRUE_WORDS:
        return True
    raise BadRequest("deploy must be true or false", fields={"deploy": "true or false"})


@api_import.post("/process-definitions/import")
@require_roles("owner")
def import_definitions() -> dict:
    files = _uploaded_files()
    role_map = role_map_field(request.form.get("role_map"))
    deploy = _deploy_field(request.form.get("deploy"))
    engine = state(current_app).engine
    return engine.import_models(files, current_viewer().username, role_map, deploy=deploy)
