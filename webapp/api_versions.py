"""JSON API: Process versions: list, files, diff and migration of running cases (owner deploys and migrates)."""
from __future__ import annotations

from flask import Blueprint

api_versions = Blueprint("api_versions", __name__, url_prefix="/api/v1")
