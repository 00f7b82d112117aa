"""What the fields of a case's task forms are called: titles and the names of enum values.

The case page shows the data people entered in task forms; the forms (JSON Schema
in forms/) know each field's title and, with ``x-enumNames`` or ``oneOf`` titles,
the names of coded values. Forms come from the deployment the case's version was
built from, then from the newest deployed copy of each form file.
"""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import DeploymentFile, ProcessDefinition, ProcessInstance


def _options(prop: dict) -> dict[str, str]:
    source = prop.get("items") if prop.get("type") == "array" and isinstance(prop.get("items"), dict) else prop
    names = source.get("x-enumNames") or source.get("enumNames")
    values = source.get("enum")
    if isinstance(values, list) and isinstance(names, list) and len(names) == len(values):
        return {str(v): str(n) for v, n in zip(values, names, strict=True)}
    for key in ("oneOf", "anyOf"):
        choices = source.get(key)
        if isinstance(choices, list) and all(isinstance(c, dict) and "const" in c for c in choices):
            return {str(c["const"]): str(c.get("title") or c["const"]) for c in choices}
    return {}


def labels_from_forms(forms: list[dict]) -> dict[str, dict]:
    """Field name -> ``{title, options}`` over the given JSON Schemas; the first form naming a field wins."""
    labels: dict[str, dict] = {}
    for schema in forms:
        properties = schema.get("properties") if isinstance(schema, dict) else None
        for name, prop in (properties or {}).items():
            if isinstance(prop, dict) and name not in labels:
                labels[name] = {"title": str(prop.get("title") or name), "options": _options(prop)}
    return labels


def field_labels(session: Session, number: str) -> dict[str, dict]:
    """Field name -> ``{title, options}`` for the forms case ``number`` may show; NotFound when unknown."""
    deployment_id = session.scalar(
        select(ProcessDefinition.deployment_id)
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.business_key == number))
    if deployment_id is None:
        raise NotFound(f"case {number} not found")
    rows = session.execute(select(DeploymentFile.deployment_id, DeploymentFile.filename, DeploymentFile.content)
                           .where(DeploymentFile.kind == "form").order_by(DeploymentFile.id.desc())).all()
    chosen: dict[str, str] = {}
    for owner, filename, content in rows:  # the case's own deployment first, then the newest copy
        if owner == deployment_id:
            chosen[filename] = content
    for _owner, filename, content in rows:
        chosen.setdefault(filename, content)
    forms = []
    for filename in sorted(chosen):
        try:
            forms.append(json.loads(chosen[filename]))
        except ValueError:
            continue
    return labels_from_forms(forms)
