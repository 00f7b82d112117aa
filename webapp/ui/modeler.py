"""The in-browser editors: BPMN modeler, DMN table editor and form editor, with validate and deploy.

Pages (process owners only; anyone else gets 403):

| path | endpoint | what |
|---|---|---|
| GET /models/<process_id>/edit | ui.model_editor | bpmn-js Modeler on the BPMN file of the process's newest version |
| GET /models/new | ui.model_new | a new process from a minimal template, with a file name field |
| GET /models/dmn/<filename>/edit | ui.dmn_editor | dmn-js on a deployed .dmn file |
| GET /models/forms/<filename>/edit | ui.form_editor | a form's JSON Schema with a live preview |
| GET /models/forms/new | ui.form_new | a new form |
| POST /models/forms/preview | ui.form_preview | htmx: the form's fields as a task page renders them, or what is wrong |
| POST /models/validate | ui.models_validate | JSON ``{"files": [{filename, content}], "new"?}`` -> ``{"problems"}`` |
| POST /models/deploy | ui.models_deploy | same body -> the deploy result; 422 ``{"error": {..., "problems"}}`` |

Validate and deploy work on the working set (every deployed file, newest content) with the
posted files applied (ComplaintEngine.validate_changes / deploy_changes), so a diagram is checked
with the processes it calls, the DMN and the forms, and a changed form or called process makes new
versions of the processes that use it. The JSON endpoints answer errors as JSON
(``{"error": {"code", "message", "fields"}}``) and need the CSRF token in ``X-CSRFToken``.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from xml.sax.saxutils import quoteattr

from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine import definitions, editor_catalog, jsonsafe
from engine.errors import BadRequest, Conflict, EngineError
from engine.service import ComplaintEngine, UploadedFile

from .. import state
from . import i18n, schema_form, ui
from .session import current_viewer, login_required, viewer

P = ParamSpec("P")
R = TypeVar("R")

OWNER_ROLE = "owner"
MAX_FILES = 20

# The deadline helpers scripts and timer expressions may call (engine/scripting.py, _Helpers.names).
HELPERS = (
    ("now", "now()"),
    ("due_in", "due_in(hours=…|working_days=…|business_hours=…|calendar_days=…, start=None)"),
    ("hours", "hours(n, start=None)"),
    ("working_days", "working_days(n, start=None)"),
    ("business_hours", "business_hours(n, start=None)"),
    ("calendar_days", "calendar_days(n, start=None)"),
    ("share_of", "share_of(start, due, 0.75)"),
    ("iso", "iso(value)"),
    ("parse_iso", "parse_iso(value)"),
    ("sla_limit", "sla_limit(policy)"),
    ("sla_open", "sla_open(name, policy, basis, amount, start=None)"),
    ("sla_pause", "sla_pause(clocks, at=None)"),
    ("sla_resume", "sla_resume(clocks, at=None)"),
    ("sla_met", "sla_met(clocks, name, at=None)"),
)


def _engine() -> ComplaintEngine:
    return state(current_app).engine


def _helper_docs() -> dict[str, str]:
    return {
        "now": _("the engine clock's time (ISO 8601)"),
        "due_in": _("a deadline counted on one basis; working days follow the holiday calendar"),
        "hours": _("a deadline N natural hours on"),
        "working_days": _("24:00 of the Nth working day after the start (Asia/Shanghai)"),
        "business_hours": _("a deadline counting only business hours (09:00-17:00 on working days)"),
        "calendar_days": _("a deadline N calendar days on"),
        "share_of": _("the instant a share of the way from start to due, e.g. a reminder at 75%"),
        "iso": _("a time as an ISO 8601 string"),
        "parse_iso": _("an ISO time as seconds, for comparing"),
        "sla_limit": _("the admin's limit for an SLA policy, or {} when the DMN default stands"),
        "sla_open": _("a new SLA clock with its deadline and reminder"),
        "sla_pause": _("the clocks with every running clock paused"),
        "sla_resume": _("the clocks resumed, deadlines moved by the paused time"),
        "sla_met": _("the clocks with one clock marked met"),
    }


def _panel_labels() -> dict[str, str]:
    """The properties panel's complaintflow group, in the page's language."""
    return {
        "group": _("Complaint workflow"),
        "none": _("(none)"),
        "role": _("Role"),
        "role_hint": _("Everyone holding this role sees the lane's tasks in their inbox."),
        "role_code": _("Role code"),
        "role_code_hint": _("Or type a code, e.g. dept:network for a new department."),
        "role_invalid": _("Use intake, dispatcher, escalation, appeals, supervisor, owner, admin or dept:<code> "
                          "(lower-case letters, digits, _)."),
        "form": _("Form"),
        "form_file": _("Form file"),
        "form_file_hint": _("Or type the name of a form file (.json) to bind."),
        "form_file_invalid": _("A form file name ends in .json and uses letters, digits, _, - and . only."),
        "open_form": _("Open in the form editor"),
        "new_form": _("Create a new form"),
        "due": _("Due at"),
        "due_hint": _('Expression giving the deadline, e.g. sla_clocks["reply"]["due_at"].'),
        "priority": _("Priority"),
        "priority_hint": _("Expression giving an integer; default: SVIP 30, 4-5 stars 20, others 10."),
        "role_expression": _("Role expression"),
        "role_expression_hint": _('Overrides the lane when the role depends on the case, e.g. "dept:" + department.'),
        "timer_kind": _("Timer type"),
        "timeDate": _("Date (timeDate)"),
        "timeDuration": _("Duration (timeDuration)"),
        "timeCycle": _("Cycle (timeCycle)"),
        "timer_expression": _("Timer expression"),
        "timer_hint": _('A Python expression over the case data, e.g. sla_clocks["reply"]["remind_at"] or '
                        'due_in(hours=48). A fixed value is a quoted string: "PT48H". Helpers:'),
        "decision": _("DMN decision"),
        "open_decision": _("Open in the DMN editor"),
        "message_name": _("Message name"),
        "correlation_hint": _("Cases correlate by their number: POST /api/v1/messages/<name> with correlation = "
                              "the case number reaches the case waiting here; a message start event starts a new "
                              "case."),
        "message_variable": _("Message variable"),
        "message_variable_hint": _("The task data key that receives the message payload."),
        "message_payload": _("Message payload"),
        "message_payload_hint": _("Expression giving the payload sent with the message."),
        "script": _("Script"),
        "script_hint": _("Python, run restricted (RestrictedPython): no imports, no names starting with _, "
                         "a 1 s time limit."),
        "pre_script": _("Script before the task"),
        "post_script": _("Script after the task"),
    }


def _standard_texts() -> dict[str, str]:
    """The English texts of bpmn-js and its properties panel that a process owner meets most."""
    return {
        "General": _("General"),
        "Name": _("Name"),
        "ID": _("ID"),
        "Documentation": _("Documentation"),
        "Element documentation": _("Element documentation"),
        "Process documentation": _("Process documentation"),
        "Process name": _("Process name"),
        "Process ID": _("Process ID"),
        "Executable": _("Executable"),
        "Multi-instance": _("Multi-instance"),
        "Create start event": _("Create start event"),
        "Create end event": _("Create end event"),
        "Create task": _("Create task"),
        "Create gateway": _("Create gateway"),
        "Create intermediate/boundary event": _("Create intermediate/boundary event"),
        "Create pool/participant": _("Create pool/participant"),
        "Activate hand tool": _("Activate hand tool"),
        "Activate lasso tool": _("Activate lasso tool"),
        "Activate create/remove space tool": _("Activate create/remove space tool"),
        "Activate global connect tool": _("Activate global connect tool"),
        "Append task": _("Append task"),
        "Append end event": _("Append end event"),
        "Append gateway": _("Append gateway"),
        "Change element": _("Change element"),
        "Delete": _("Delete"),
        "Connect to other element": _("Connect to other element"),
        "User task": _("User task"),
        "Script task": _("Script task"),
        "Service task": _("Service task"),
        "Business rule task": _("Business rule task"),
        **_more_standard_texts(),
    }


def _more_standard_texts() -> dict[str, str]:
    """The rest a process owner sees: panel headers (element types), context pad, replace menu, tooltips."""
    return {
        # Panel header: the element's type.
        "Process": _("Process"), "Collaboration": _("Collaboration"), "Participant": _("Participant"),
        "Lane": _("Lane"), "Start Event": _("Start Event"), "Message Start Event": _("Message Start Event"),
        "Timer Start Event": _("Timer Start Event"), "End Event": _("End Event"),
        "Message End Event": _("Message End Event"), "Terminate End Event": _("Terminate End Event"),
        "Intermediate Throw Event": _("Intermediate Throw Event"),
        "Message Intermediate Catch Event": _("Message Intermediate Catch Event"),
        "Message Intermediate Throw Event": _("Message Intermediate Throw Event"),
        "Timer Intermediate Catch Event": _("Timer Intermediate Catch Event"),
        "Timer Boundary Event": _("Timer Boundary Event"),
        "Timer Boundary Event (Non Interrupting)": _("Timer Boundary Event (Non Interrupting)"),
        "Message Boundary Event": _("Message Boundary Event"), "Task": _("Task"), "User Task": _("User Task"),
        "Manual Task": _("Manual Task"), "Script Task": _("Script Task"), "Service Task": _("Service Task"),
        "Business Rule Task": _("Business Rule Task"), "Send Task": _("Send Task"),
        "Receive Task": _("Receive Task"), "Call Activity": _("Call Activity"),
        "Expanded Sub Process": _("Expanded Sub Process"), "Collapsed Sub Process": _("Collapsed Sub Process"),
        "Exclusive Gateway": _("Exclusive Gateway"), "Parallel Gateway": _("Parallel Gateway"),
        "Inclusive Gateway": _("Inclusive Gateway"), "Event Based Gateway": _("Event Based Gateway"),
        "Sequence Flow": _("Sequence Flow"), "Default Flow": _("Default Flow"),
        "Conditional Flow": _("Conditional Flow"), "Text Annotation": _("Text Annotation"),
        # Panel entries and tooltips.
        "Participant Name": _("Participant Name"), "Participant ID": _("Participant ID"),
        "Loop cardinality": _("Loop cardinality"), "Completion condition": _("Completion condition"),
        "Section contains edits": _("Section contains edits"), "Toggle section": _("Toggle section"),
        "Open pop-up editor": _("Open pop-up editor"),
        # Context pad and palette.
        "Append intermediate/boundary event": _("Append intermediate/boundary event"),
        "Append receive task": _("Append receive task"),
        "Append message intermediate catch event": _("Append message intermediate catch event"),
        "Append timer intermediate catch event": _("Append timer intermediate catch event"),
        "Add text annotation": _("Add text annotation"), "Add lane above": _("Add lane above"),
        "Add lane below": _("Add lane below"), "Divide into two lanes": _("Divide into two lanes"),
        "Divide into three lanes": _("Divide into three lanes"),
        "Create expanded sub-process": _("Create expanded sub-process"),
        "Create data object reference": _("Create data object reference"),
        "Create data store reference": _("Create data store reference"), "Create group": _("Create group"),
        "Search in diagram": _("Search in diagram"),
        # Replace menu ("change element").
        "Start event": _("Start event"), "End event": _("End event"),
        "Intermediate throw event": _("Intermediate throw event"), "Message start event": _("Message start event"),
        "Timer start event": _("Timer start event"), "Message end event": _("Message end event"),
        "Terminate end event": _("Terminate end event"),
        "Message intermediate catch event": _("Message intermediate catch event"),
        "Message intermediate throw event": _("Message intermediate throw event"),
        "Timer intermediate catch event": _("Timer intermediate catch event"),
        "Message boundary event": _("Message boundary event"), "Timer boundary event": _("Timer boundary event"),
        "Timer boundary event (non-interrupting)": _("Timer boundary event (non-interrupting)"),
        "Message boundary event (non-interrupting)": _("Message boundary event (non-interrupting)"),
        "Exclusive gateway": _("Exclusive gateway"), "Parallel gateway": _("Parallel gateway"),
        "Inclusive gateway": _("Inclusive gateway"), "Event-based gateway": _("Event-based gateway"),
        "Complex gateway": _("Complex gateway"), "Manual task": _("Manual task"), "Send task": _("Send task"),
        "Receive task": _("Receive task"), "Call activity": _("Call activity"),
        "Sub-process (collapsed)": _("Sub-process (collapsed)"), "Sub-process (expanded)": _("Sub-process (expanded)"),
        "Sequence flow": _("Sequence flow"), "Default flow": _("Default flow"),
        "Conditional flow": _("Conditional flow"), "Parallel multi-instance": _("Parallel multi-instance"),
        "Sequential multi-instance": _("Sequential multi-instance"), "Loop": _("Loop"),
        # dmn-js (the DMN editor): the decision table and the decision diagram.
        "View DRD": _("View DRD"), "Hit policy": _("Hit policy"), "Hit policy:": _("Hit policy:"),
        "When": _("When"), "And": _("And"), "Then": _("Then"), "Annotation": _("Annotation"),
        "Annotations": _("Annotations"), "Unique": _("Unique"), "First": _("First"), "Priority": _("Priority"),
        "Any": _("Any"), "Collect": _("Collect"), "Collect (Sum)": _("Collect (Sum)"),
        "Collect (Min)": _("Collect (Min)"), "Collect (Max)": _("Collect (Max)"),
        "Collect (Count)": _("Collect (Count)"), "Rule order": _("Rule order"), "Output order": _("Output order"),
        "Add rule": _("Add rule"), "Add rule above": _("Add rule above"), "Add rule below": _("Add rule below"),
        "Remove rule": _("Remove rule"), "Copy rule": _("Copy rule"), "Cut rule": _("Cut rule"),
        "Paste rule above": _("Paste rule above"), "Paste rule below": _("Paste rule below"),
        "Add input": _("Add input"), "Add output": _("Add output"),
        "Add input column left": _("Add input column left"), "Add input column right": _("Add input column right"),
        "Add output column left": _("Add output column left"),
        "Add output column right": _("Add output column right"),
        "Remove input column": _("Remove input column"), "Remove output column": _("Remove output column"),
        "Input label": _("Input label"), "Input expression": _("Input expression"), "Input type": _("Input type"),
        "Output label": _("Output label"), "Output name": _("Output name"), "Output type": _("Output type"),
        "Expression language": _("Expression language"), "Create decision": _("Create decision"),
        "Create input data": _("Create input data"), "Create knowledge model": _("Create knowledge model"),
        "Create knowledge source": _("Create knowledge source"), "Open decision table": _("Open decision table"),
    }


def _editor_data(files: dict[str, tuple[str, str]], **extra: object) -> dict:
    with _engine().db.read() as session:
        roles = editor_catalog.role_codes(files, session)
    docs = _helper_docs()
    return {
        "roles": [{"code": code, "label": i18n.role_name(code)} for code in roles],
        "forms": editor_catalog.form_names(files),
        "decisions": editor_catalog.decisions(files),
        "helpers": [{"name": name, "signature": signature, "doc": docs.get(name, "")} for name, signature in HELPERS],
        "labels": _panel_labels(),
        "translations": _standard_texts(),
        "urls": {
            "validate": url_for("ui.models_validate"),
            "deploy": url_for("ui.models_deploy"),
            "models": url_for("ui.models_page"),
            "form_editor": url_for("ui.form_editor", filename="__NAME__"),
            "dmn_editor": url_for("ui.dmn_editor", filename="__NAME__"),
            "model_editor": url_for("ui.model_editor", process_id="__NAME__"),
            "new_form": url_for("ui.form_new"),
        },
        "messages": _page_messages(),
        **extra,
    }


def _page_messages() -> dict[str, str]:
    """Texts modeler.js shows (findings, deploy results), in the page's language."""
    return {
        "validating": _("Checking…"),
        "deploying": _("Deploying…"),
        "no_findings": _("No findings: the model can be deployed."),
        "findings": _("%(n)s finding(s)", n="{n}"),
        "error": _("error"),
        "warning": _("warning"),
        "line": _("line"),
        "other_file": _("in %(file)s", file="{file}"),
        "deployed": _("Deployed."),
        "new_version": _("new version %(version)s", version="{version}"),
        "unchanged": _("unchanged (version %(version)s)", version="{version}"),
        "to_models": _("See all models and versions"),
        "deploy_refused": _("Not deployed: fix the findings below."),
        "failed": _("The request failed: %(message)s", message="{message}"),
        "filename_needed": _("Enter a file name."),
        "unsaved": _("You have changes that are not deployed."),
        "load_failed": _("The diagram could not be opened: %(message)s", message="{message}"),
    }


# --- access ---------------------------------------------------------------------------------------


def owner_page(view: Callable[P, R]) -> Callable[P, R]:
    """A page for process owners: sign-in first, then 403 for anyone else."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not viewer().has_role(OWNER_ROLE):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _json_error(error: EngineError) -> tuple[Response, int]:
    return jsonify({"error": error.to_dict()}), error.status


def owner_json(view: Callable[P, Response | tuple[Response, int] | dict]) -> Callable[P, object]:
    """A JSON endpoint for process owners: 401 / 403 and engine errors as JSON, never an HTML page."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> object:
        who = current_viewer()
        if who is None:
            return jsonify({"error": {"code": "unauthorized", "message": "sign in first"}}), 401
        if not who.has_role(OWNER_ROLE):
            return jsonify({"error": {"code": "forbidden", "message": "only a process owner may do this"}}), 403
        try:
            return view(*args, **kwargs)
        except EngineError as error:
            return _json_error(error)

    return wrapped


# --- pages ----------------------------------------------------------------------------------------


def _checked_filename(filename: str, kind: str) -> str:
    try:
        definitions.check_filename(filename)
        found = definitions.classify(filename)
    except BadRequest:
        abort(400)
    if found != kind:
        abort(404)
    return filename


@ui.get("/models/<process_id>/edit")
@owner_page
def model_editor(process_id: str) -> str:
    engine = _engine()
    with engine.db.read() as session:
        latest = definitions.latest_definition(session, process_id)
        if latest is None:
            abort(404)
        filename, version, name = latest.bpmn_filename, latest.version, latest.name
    files = engine.current_files()
    if filename not in files:
        abort(404)
    data = _editor_data(files, xml=files[filename][1], filename=filename, process_id=process_id, new=False)
    return render_template("model_editor.html", data=data, filename=filename, process_id=process_id,
                           version=version, name=name, new=False)


NEW_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" \
xmlns:cf="http://complaintflow.org/schema/bpmn" id="Definitions_new_process" \
targetNamespace="http://complaintflow.org/processes">
  <bpmn:collaboration id="Collaboration_new_process">
    <bpmn:participant id="Participant_new_process" name="{process}" processRef="new_process"/>
  </bpmn:collaboration>
  <bpmn:process id="new_process" name="{process}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_new_process">
      <bpmn:lane id="Lane_new_process" name="{lane}" cf:role="intake">
        <bpmn:flowNodeRef>StartEvent_new_process</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_new_process</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_new_process</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_new_process" name="{start}">
      <bpmn:outgoing>Flow_new_process_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Task_new_process" name="{task}">
      <bpmn:incoming>Flow_new_process_1</bpmn:incoming>
      <bpmn:outgoing>Flow_new_process_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_new_process" name="{end}">
      <bpmn:incoming>Flow_new_process_2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_new_process_1" sourceRef="StartEvent_new_process" targetRef="Task_new_process"/>
    <bpmn:sequenceFlow id="Flow_new_process_2" sourceRef="Task_new_process" targetRef="EndEvent_new_process"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_new_process">
    <bpmndi:BPMNPlane id="Plane_new_process" bpmnElement="Collaboration_new_process">
      <bpmndi:BPMNShape id="Participant_new_process_di" bpmnElement="Participant_new_process" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="600" height="200"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_new_process_di" bpmnElement="Lane_new_process" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="570" height="200"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="StartEvent_new_process_di" bpmnElement="StartEvent_new_process">
        <dc:Bounds x="212" y="162" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Task_new_process_di" bpmnElement="Task_new_process">
        <dc:Bounds x="340" y="140" width="100" height="80"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="EndEvent_new_process_di" bpmnElement="EndEvent_new_process">
        <dc:Bounds x="552" y="162" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_new_process_1_di" bpmnElement="Flow_new_process_1">
        <di:waypoint x="248" y="180"/>
        <di:waypoint x="340" y="180"/>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_new_process_2_di" bpmnElement="Flow_new_process_2">
        <di:waypoint x="440" y="180"/>
        <di:waypoint x="552" y="180"/>
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def new_process_xml() -> str:
    """The starting diagram of a new process: a pool with one lane, start, one user task, end."""
    names = {"process": _("New process"), "lane": i18n.role_name("intake"), "start": _("Start"),
             "task": _("Handle"), "end": _("Done")}
    text = NEW_PROCESS
    for key, value in names.items():
        text = text.replace(f'"{{{key}}}"', quoteattr(value))
    return text


@ui.get("/models/new")
@owner_page
def model_new() -> str:
    files = _engine().current_files()
    data = _editor_data(files, xml=new_process_xml(), filename="new_process.bpmn", process_id=None, new=True)
    return render_template("model_editor.html", data=data, filename="new_process.bpmn", process_id=None,
                           version=None, name=_("New process"), new=True)


@ui.get("/models/dmn/<filename>/edit")
@owner_page
def dmn_editor(filename: str) -> str:
    _checked_filename(filename, "dmn")
    files = _engine().current_files()
    if filename not in files:
        abort(404)
    views = {"drd": _("decision diagram"), "decisionTable": _("decision table"),
             "literalExpression": _("literal expression"), "boxedExpression": _("boxed expression")}
    data = _editor_data(files, xml=files[filename][1], filename=filename, new=False, view_names=views)
    return render_template("model_editor_dmn.html", data=data, filename=filename,
                           used_by=editor_catalog.processes_using_dmn(files, filename))


NEW_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "",
    "type": "object",
    "required": ["note"],
    "properties": {"note": {"type": "string", "title": "", "maxLength": 2000}},
}


@ui.get("/models/forms/<filename>/edit")
@owner_page
def form_editor(filename: str) -> str:
    _checked_filename(filename, "form")
    files = _engine().current_files()
    if filename not in files:
        abort(404)
    return _form_page(files, filename, files[filename][1], new=False)


@ui.get("/models/forms/new")
@owner_page
def form_new() -> str:
    files = _engine().current_files()
    schema = json.loads(json.dumps(NEW_FORM))
    schema["title"] = _("New form")
    schema["properties"]["note"]["title"] = _("Note")
    return _form_page(files, "new_form.json", json.dumps(schema, ensure_ascii=False, indent=2) + "\n", new=True)


def _form_page(files: dict, filename: str, text: str, new: bool) -> str:
    data = _editor_data(files, filename=filename, new=new)
    preview = _preview(text)
    return render_template("model_editor_form.html", data=data, filename=filename, text=text, new=new,
                           used_by=[] if new else editor_catalog.processes_using_form(files, filename), **preview)


# --- form preview -----------------------------------------------------------------------------------


def _preview(text: str) -> dict:
    """The fields a task page would render from ``text``, or an error naming what is wrong."""
    try:
        schema = jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        return {"fields": [], "schema": None, "error": _(
            "Invalid JSON at line %(line)s, column %(column)s: %(message)s",
            line=exc.lineno, column=exc.colno, message=exc.msg)}
    except jsonsafe.TooDeep:
        return {"fields": [], "schema": None, "error": _("The form is nested more than %(n)s levels deep.",
                                                         n=jsonsafe.MAX_DEPTH)}
    if not isinstance(schema, dict):
        return {"fields": [], "schema": None, "error": _("A form must be a JSON object (a JSON Schema).")}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        return {"fields": [], "schema": None, "error": _(
            "Invalid JSON Schema at %(path)s: %(message)s", path=where, message=exc.message)}
    return {"fields": schema_form.fields_of(schema), "schema": schema, "error": None}


@ui.post("/models/forms/preview")
@owner_page
def form_preview() -> str:
    return render_template("model_editor_form_preview.html", **_preview(request.form.get("schema", "")))


# --- validate and deploy -------------------------------------------------------------------------------


def _changes() -> list[UploadedFile]:
    """The posted files, each checked: a JSON object {"files": [{"filename", "content"}], "new"?}."""
    try:
        body = jsonsafe.loads(request.get_data(cache=True)) if request.is_json else None
    except jsonsafe.TooDeep as error:
        raise BadRequest(f"the JSON body is {error}", fields={"files": "required"}) from None
    except ValueError:  # not JSON, or not UTF-8
        body = None
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object {"files": [{"filename": ..., "content": ...}]}',
                         fields={"files": "required"})
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise BadRequest("files must be a non-empty list", fields={"files": "required"})
    if len(files) > MAX_FILES:
        raise BadRequest(f"at most {MAX_FILES} files at once", fields={"files": "too many"})
    changes = []
    for index, item in enumerate(files):
        where = f"files[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object with filename and content",
                             fields={where: "expected an object"})
        filename, content = item.get("filename"), item.get("content")
        if not isinstance(filename, str) or not filename.strip():
            raise BadRequest(f"{where}.filename is required", fields={f"{where}.filename": "required"})
        try:
            definitions.check_filename(filename)
            definitions.classify(filename)
        except BadRequest as error:
            raise BadRequest(error.message, fields={f"{where}.filename": error.message}) from None
        if not isinstance(content, str):
            raise BadRequest(f"{where}.content must be the file's text", fields={f"{where}.content": "required"})
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{where}.content is not valid text", fields={f"{where}.content": "invalid"}) from None
        changes.append(UploadedFile(filename, data))
    if body.get("new") is True:
        existing = _engine().current_files()
        for index, change in enumerate(changes):
            if change.filename in existing:
                raise Conflict(f"{change.filename} already exists: open it in its editor or choose another name",
                               fields={f"files[{index}].filename": "already exists"})
    return changes


def _blocking(problems: list[dict]) -> list[dict]:
    """Findings that stop a deploy (a finding without a severity is an error)."""
    return [p for p in problems if p.get("severity", "error") == "error"]


@ui.post("/models/validate")
@owner_json
def models_validate() -> Response:
    problems = _engine().validate_changes(_changes())
    return jsonify({"valid": not _blocking(problems), "problems": problems})


@ui.post("/models/deploy")
@owner_json
def models_deploy() -> Response:
    result = _engine().deploy_changes(_changes(), actor=viewer().username, source="editor")
    return jsonify(result)
