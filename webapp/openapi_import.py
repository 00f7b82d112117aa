"""OpenAPI paths and schemas of webapp/api_import.py, merged into the document by webapp/openapi.py."""
from __future__ import annotations

PATHS: dict = {}
SCHEMAS: dict = {}
