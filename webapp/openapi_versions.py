"""OpenAPI paths and schemas of webapp/api_versions.py, merged into the document by webapp/openapi.py."""
from __future__ import annotations

from .openapi import ISO, STRING_OR_NULL, error, json_body, ok, operation, path_param, query_param, ref

READERS = ("owner", "supervisor", "admin")
OWNER = ("owner",)
PROCESS_ID = path_param("process_id", "Process id (the BPMN process id).", "complaint_intake")
VERSION = path_param("version", "Version number (1, 2, ...).", "2")
VERSION_NUMBER = {"type": "integer", "minimum": 1}
IDS = {"type": "array", "items": {"type": "string"}}

_ELEMENT = {
    "type": "object",
    "required": ["id", "type", "process_id"],
    "properties": {
        "id": {"type": "string", "description": "BPMN element id."},
        "type": {"type": ["string", "null"], "description": "BPMN element type, e.g. userTask, sequenceFlow."},
        "name": STRING_OR_NULL,
        "process_id": {"type": "string"},
        "attributes": {"type": "array", "items": {"type": "string"},
                       "description": "Changed elements only: what changed (SpiffWorkflow spec attributes such "
                                      "as inputs, outputs, extensions; our role, form, due, priority, "
                                      "form_schema; a flow's sourceRef, targetRef, conditionExpression)."},
        "new_id": {"type": "string", "description": "When the element was matched to one with another id."},
    },
}
_REASON = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "enum": [
            "suspended", "closed", "waits_at_removed", "passed_removed", "reaches_removed", "called_process_removed",
            "called_process_dropped", "other_process", "same_version", "migration_failed", "not_found",
            "conflict"]},
        "message": {"type": "string"},
        "element_id": STRING_OR_NULL,
        "element_name": STRING_OR_NULL,
        "process_id": STRING_OR_NULL,
    },
}
_WAITING = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "bpmn_id": {"type": "string"}, "name": {"type": "string"},
                   "process_id": {"type": "string"}, "state": {"enum": ["ready", "waiting"]}},
}

SCHEMAS: dict = {
    "ProcessVersionSummary": {
        "type": "object",
        "required": ["version", "deployed_by", "deployed_at", "content_hash"],
        "properties": {
            "version": VERSION_NUMBER, "name": {"type": "string"}, "deployed_by": {"type": "string"},
            "deployed_at": ISO, "source": {"type": "string", "description": "upload, editor, processes/ ..."},
            "deployment_id": {"type": "integer"}, "content_hash": {"type": "string"},
            "bpmn_filename": {"type": "string"},
            "running": {"type": "integer"}, "suspended": {"type": "integer"}, "completed": {"type": "integer"},
            "cancelled": {"type": "integer"},
            "calls": {**IDS, "description": "Deployed processes this version calls (call activities)."},
            "start_messages": IDS,
        },
    },
    "ProcessVersions": {
        "type": "object",
        "required": ["process_id", "versions"],
        "properties": {
            "process_id": {"type": "string"}, "name": {"type": "string"}, "latest_version": VERSION_NUMBER,
            "running": {"type": "integer"}, "suspended": {"type": "integer"}, "completed": {"type": "integer"},
            "calls": IDS,
            "called_by": {"type": "array", "description": "Processes whose versions embed this one.",
                          "items": {"type": "object", "properties": {
                              "process_id": {"type": "string"},
                              "versions": {"type": "array", "items": {"type": "integer"}}}}},
            "versions": {"type": "array", "items": ref("ProcessVersionSummary"), "description": "Newest first."},
        },
    },
    "ProcessVersion": {
        "allOf": [
            ref("ProcessVersionSummary"),
            {
                "type": "object",
                "required": ["process_id", "xml", "diagrams", "tasks", "files"],
                "properties": {
                    "process_id": {"type": "string"},
                    "xml": {"type": ["string", "null"], "description": "The BPMN XML of the process's own file."},
                    "diagrams": {"type": "array", "description": "Its own file, then the files it calls.",
                                 "items": {"type": "object", "properties": {
                                     "filename": {"type": "string"}, "xml": {"type": "string"},
                                     "processes": IDS, "names": {"type": "object"}, "element_ids": IDS}}},
                    "tasks": {"type": "object", "description": "Per user/manual task id: name, kind, role, "
                                                               "role_expression, form, due, priority."},
                    "forms": IDS,
                    "files": {"type": "array", "items": {"type": "object", "properties": {
                        "filename": {"type": "string"}, "kind": {"enum": ["bpmn", "dmn", "form"]},
                        "content_hash": {"type": "string"}, "size": {"type": "integer"}}}},
                },
            },
        ]
    },
    "VersionDiffElement": _ELEMENT,
    "VersionDiff": {
        "type": "object",
        "required": ["process_id", "from_version", "to_version", "processes", "summary"],
        "properties": {
            "process_id": {"type": "string"}, "from_version": VERSION_NUMBER, "to_version": VERSION_NUMBER,
            "processes": {"type": "array", "description": "The process itself, then each called process that "
                                                          "differs.",
                          "items": {"type": "object", "properties": {
                              "process_id": {"type": "string"}, "name": {"type": "string"},
                              "kind": {"enum": ["main", "called", "subprocess"]},
                              "status": {"enum": ["changed", "unchanged", "added", "removed"]},
                              "added": {"type": "array", "items": ref("VersionDiffElement")},
                              "removed": {"type": "array", "items": ref("VersionDiffElement")},
                              "changed": {"type": "array", "items": ref("VersionDiffElement")}}}},
            "summary": {"type": "object", "properties": {"added": {"type": "integer"},
                                                         "removed": {"type": "integer"},
                                                         "changed": {"type": "integer"}}},
            "markers": {"type": "object", "description": "Element ids to mark on each version's diagram.",
                        "properties": {"from": {"type": "object"}, "to": {"type": "object"}}},
        },
    },
    "MigrationReason": _REASON,
    "MigrationPreview": {
        "type": "object",
        "required": ["process_id", "to_version", "cases"],
        "properties": {
            "process_id": {"type": "string"}, "to_version": VERSION_NUMBER,
            "from_version": {"type": ["integer", "null"]},
            "target": {"type": "object"},
            "cases": {"type": "array", "items": {"type": "object", "properties": {
                "number": {"type": "string"}, "version": VERSION_NUMBER,
                "status": {"enum": ["running", "suspended"]}, "created_at": ISO, "updated_at": ISO,
                "can_move": {"type": "boolean"},
                "reasons": {"type": "array", "items": ref("MigrationReason")},
                "waiting_at": {"type": "array", "items": _WAITING}}}},
            "total": {"type": "integer"},
            "truncated": {"type": "boolean", "description": "More cases wait than the preview lists (500)."},
            "summary": {"type": "object", "properties": {"movable": {"type": "integer"},
                                                         "blocked": {"type": "integer"}}},
        },
    },
    "MigrationRequest": {
        "type": "object",
        "required": ["to_version", "cases"],
        "additionalProperties": False,
        "properties": {
            "to_version": VERSION_NUMBER,
            "cases": {"type": "array", "minItems": 1, "maxItems": 500,
                      "items": {"type": "string", "minLength": 1, "maxLength": 64}},
        },
    },
    "MigrationResult": {
        "type": "object",
        "required": ["process_id", "to_version", "results"],
        "properties": {
            "process_id": {"type": "string"}, "to_version": VERSION_NUMBER,
            "migrated": {"type": "integer"}, "failed": {"type": "integer"},
            "results": {"type": "array", "items": {"type": "object", "required": ["number", "migrated"],
                                                    "properties": {
                "number": {"type": "string"}, "migrated": {"type": "boolean"},
                "from_version": VERSION_NUMBER, "to_version": VERSION_NUMBER,
                "reasons": {"type": "array", "items": ref("MigrationReason")},
                "tasks_updated": {"type": "array", "items": {"type": "object"}},
                "waiting_at": {"type": "array", "items": _WAITING}}}},
        },
    },
}

PATHS: dict = {
    "/api/v1/process-definitions/{process_id}/versions": {
        "get": operation(
            "A process's versions",
            {"200": ok("Every version, newest first, with who deployed it and the cases on it.",
                       ref("ProcessVersions")),
             "404": error("NotFound")},
            roles=READERS, tag="definitions", operation_id="listProcessVersions", parameters=[PROCESS_ID],
        ),
    },
    "/api/v1/process-definitions/{process_id}/versions/{version}": {
        "get": operation(
            "One version with its BPMN XML",
            {"200": ok("The version, its diagrams (own and called files), task settings and files.",
                       ref("ProcessVersion")),
             "404": error("NotFound")},
            roles=READERS, tag="definitions", operation_id="getProcessVersion", parameters=[PROCESS_ID, VERSION],
        ),
    },
    "/api/v1/process-definitions/{process_id}/diff": {
        "get": operation(
            "What changed between two versions",
            {"200": ok("Elements added, removed and changed, per process (its own and called ones).",
                       ref("VersionDiff")),
             "400": error("BadRequest"), "404": error("NotFound"), "422": error("ValidationFailed")},
            roles=READERS, tag="definitions", operation_id="diffProcessVersions",
            parameters=[PROCESS_ID,
                        {**query_param("from", VERSION_NUMBER, "The older version."), "required": True},
                        {**query_param("to", VERSION_NUMBER, "The newer version."), "required": True}],
        ),
    },
    "/api/v1/process-definitions/{process_id}/migrations": {
        "get": operation(
            "Preview moving running cases to a version",
            {"200": ok("Each running or suspended case on another version: can it move, and if not why.",
                       ref("MigrationPreview")),
             "400": error("BadRequest"), "404": error("NotFound"), "422": error("ValidationFailed")},
            roles=OWNER, tag="definitions", operation_id="previewMigration",
            description="Without from: the cases on every older version; with from: the cases on that version.",
            parameters=[PROCESS_ID,
                        {**query_param("to", VERSION_NUMBER, "The version to move to."), "required": True},
                        query_param("from", VERSION_NUMBER, "Only cases on this version.")],
        ),
        "post": operation(
            "Move the named cases to a version",
            {"200": ok("One result per case; each case moves in its own transaction, and one that cannot "
                       "move is reported and left as it was.", ref("MigrationResult")),
             "400": error("BadRequest"), "404": error("NotFound"), "415": error("UnsupportedMediaType"),
             "422": error("ValidationFailed")},
            roles=OWNER, tag="definitions", operation_id="migrateCases", parameters=[PROCESS_ID],
            body=json_body(ref("MigrationRequest"), {"to_version": 2, "cases": ["TS20260302000001"]}),
        ),
    },
}
