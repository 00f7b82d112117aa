"""OpenAPI paths and schemas of webapp/api_import.py, merged into the document by webapp/openapi.py."""
from __future__ import annotations

from .openapi import STRING_OR_NULL, error, ok, operation, ref

PATHS: dict = {
    "/api/v1/process-definitions/import": {
        "post": operation(
            "Import diagrams made in Camunda Modeler or bpmn.io",
            {
                "200": ok("The conversion report, the deploy check's findings, and the deploy result when "
                          "deploy=true and nothing blocked it.", ref("ImportResult")),
                "400": error("BadRequest"),
                "413": error("PayloadTooLarge"),
                "415": error("UnsupportedMediaType"),
                "422": error("ValidationFailed"),
            },
            roles=("owner",),
            tag="definitions",
            operation_id="importDefinitions",
            description=(
                "Converts BPMN 2.0 with Camunda 7 (camunda:) or Zeebe (zeebe:) extensions to complaintflow's "
                "conventions: candidate groups become roles (a group that is a role code maps directly, others "
                "through role_map; a lane's name or id, or a task's id, may also be a role_map key), form keys "
                "become formJsonSchemaFilename when a JSON form of the same base name is uploaded or deployed, "
                "simple JUEL/FEEL conditions and ISO 8601 timers become Python. Java, external and connector "
                "service tasks and scripts in other languages become script tasks that do nothing; each is "
                "listed in the report with what to do instead. Element ids are kept. The converted set is "
                "checked together with every deployed file; nothing is stored unless deploy=true and no "
                "error-severity problem remains. A file that cannot be read is a report entry and a problem, "
                "never an error status."
            ),
            body={"required": True, "content": {"multipart/form-data": {"schema": ref("ImportUpload")}}},
        )
    }
}

SCHEMAS: dict = {
    "ImportUpload": {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "description": "BPMN (.bpmn, .bpmn20.xml, .xml), DMN (.dmn) and JSON Schema form (.json) files.",
            },
            "role_map": {
                "type": "string",
                "description": "A JSON object of Camunda group -> role code, or one `group = role` per line.",
                "example": '{"management": "supervisor", "accounting": "dept:billing"}',
            },
            "deploy": {"type": "string", "enum": ["true", "false"], "default": "false",
                       "description": "true: deploy the converted files when nothing blocks it."},
        },
    },
    "ImportEntry": {
        "type": "object",
        "required": ["file", "element_id", "element_name", "kind", "what", "message"],
        "properties": {
            "file": STRING_OR_NULL,
            "element_id": STRING_OR_NULL,
            "element_name": STRING_OR_NULL,
            "kind": {"type": "string", "enum": ["mapped", "unsupported", "ignored"]},
            "what": {"type": "string", "description": "Short code, e.g. candidate_group, form_not_found, "
                                                      "java_class, expression, async."},
            "message": {"type": "string"},
        },
    },
    "ImportResult": {
        "type": "object",
        "required": ["report", "problems", "deployed", "files"],
        "properties": {
            "report": {"type": "array", "items": ref("ImportEntry")},
            "problems": {"type": "array", "items": ref("ModelProblem"),
                         "description": "Files that could not be converted, then the deploy check's findings."},
            "deployed": {"oneOf": [{"type": "null"}, ref("DeployResult")]},
            "files": {"type": "array", "items": {
                "type": "object", "required": ["filename", "content"],
                "properties": {"filename": {"type": "string"}, "content": {"type": "string"}}},
                "description": "The converted files, as they would be deployed."},
        },
        "example": {
            "report": [{"file": "invoice.bpmn", "element_id": "approveInvoice", "element_name": "Approve Invoice",
                        "kind": "mapped", "what": "candidate_group",
                        "message": "candidate group 'accounting' -> role dept:billing (from the role map)"}],
            "problems": [],
            "deployed": None,
            "files": [{"filename": "invoice.bpmn", "content": "<?xml version='1.0' encoding='UTF-8'?>..."}],
        },
    },
}
