"""JSON API: Import of diagrams made in Camunda Modeler or bpmn.io."""
from __future__ import annotations

from flask import Blueprint

api_import = Blueprint("api_import", __name__, url_prefix="/api/v1")
