"""Process models pages: every model with its versions, diffs and migration of running cases."""
from __future__ import annotations

from flask import abort

from . import ui
from .session import login_required


@ui.get("/models")
@login_required
def models_page() -> str:
    abort(404)  # built by the process-owner workbench
