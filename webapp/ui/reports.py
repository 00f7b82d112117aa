"""Service-quality reports pages."""
from __future__ import annotations

from flask import abort

from . import ui
from .session import login_required


@ui.get("/reports")
@login_required
def reports_page() -> str:
    abort(404)  # built by the reports issue
