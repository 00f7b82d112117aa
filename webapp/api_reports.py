"""JSON API: Service-quality reports and the regulator's monthly appeal report."""
from __future__ import annotations

from flask import Blueprint

api_reports = Blueprint("api_reports", __name__, url_prefix="/api/v1")
