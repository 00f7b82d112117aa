"""Parse, validate and deploy BPMN and DMN models with the forms they reference.

Every problem is reported with its file, element id and line, a rule code and a
severity (engine/model_lint.py holds the lint rules and their codes). Nothing is
stored while any error remains; warnings are reported and do not block. Each
deploy that changes a process creates a new version; instances keep the version
they started on.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import clock, jsonsafe, model_lint
from .errors import BadRequest, PayloadTooLarge
from .model_lint import BPMN_NS, CF_NS, FORM_PROPERTY, ROLE_PATTERN, WARNING, problem
from .models import Deployment, DeploymentFile, ProcessDefinition
from .scripting import ScriptContext, validate_workflow_spec
from .workflow_state import spec_to_json
from .xmlsafe import UnsafeXml, XmlLimits, parse_xml

FILENAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,200}$")
# SpiffWorkflow names its own internal task specs like this; a BPMN element with such an id vanishes.
RESERVED_IDS = frozenset({"Start", "End", "Root"})


@dataclass
class ModelFile:
    filename: str
    kind: str  # bpmn | dmn | form
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class BuiltProcess:
    process_id: str
    name: str
    bpmn_filename: str
    spec_json: str
    task_meta: dict
    start_messages: list[str]
    content_hash: str


@dataclass
class BuildResult:
    processes: list[BuiltProcess] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # severity "error": any one blocks the deploy
    warnings: list[dict] = field(default_factory=list)  # severity "warning": reported, never block

    @property
    def findings(self) -> list[dict]:
        """Errors, then warnings: what validate and lint show."""
        return self.problems + self.warnings


# SpiffWorkflow's parser stops at the first of these; the lint rule named beside it reports every
# case, pinned to its element, so the parser's own message is dropped when the rule found it too.
_SPIFF_COVERED = (
    ("Non-default exclusive outgoing sequence flow without condition", "gateway-flow-no-condition"),
    ("Unknown Time Specification", "timer-expression"),
    ("Time Specification Error", "timer-expression"),
    ("Expected a Message node", "message-unnamed"),
    ("Correlation is missing correlation property retrieval", "message-no-correlation"),
    ("Message identifier is missing from correlation property", "message-no-correlation"),
)


def classify(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml")):
        return "bpmn"
    if lower.endswith(".dmn"):
        return "dmn"
    if lower.endswith(".json"):
        return "form"
    raise BadRequest(f"{filename}: unsupported file type (expected .bpmn, .dmn or .json)",
                     fields={"files": filename})


def check_filename(filename: str) -> str:
    """Refuse paths: a model file is named by its base name only."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if name != filename or not FILENAME_PATTERN.match(filename) or ".." in filename:
        raise BadRequest(f"file name {filename!r} is not allowed: use letters, digits, '_', '-' and '.' only",
                         fields={"files": filename})
    return filename


def to_model_files(files: Iterable[tuple[str, bytes]], max_bytes: int) -> list[ModelFile]:
    result: list[ModelFile] = []
    seen: set[str] = set()
    for filename, content in files:
        check_filename(filename)
        if filename in seen:
            raise BadRequest(f"{filename}: given twice", fields={"files": filename})
        seen.add(filename)
        if len(content) > max_bytes:
            raise PayloadTooLarge(f"{filename} is {len(content)} bytes; the limit is {max_bytes}",
                                  fields={"files": filename})
        result.append(ModelFile(filename, classify(filename), content))
    if not result:
        raise BadRequest("no files given", fields={"files": "required"})
    return result


def _lines_by_id(root: etree._Element) -> dict[str, int]:
    return {el.get("id"): el.sourceline for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def _lane_roles(root: etree._Element) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Map each flow node id to its lane's role; also list lanes with no usable role."""
    roles: dict[str, str] = {}
    bad: list[tuple[str, str]] = []
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        role = lane.get(f"{{{CF_NS}}}role") or lane.get("name") or ""
        role = role.strip()
        if not ROLE_PATTERN.match(role):
            bad.append((lane.get("id") or "", role))
            continue
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                roles[ref.text.strip()] = role
    return roles, bad


def _user_task_specs(spec, subprocess_specs: dict) -> Iterable[tuple[object, str]]:  # noqa: ANN001
    """Each user and manual task with the file of the process that holds it."""
    for process in [spec, *subprocess_specs.values()]:
        if process is None:
            continue
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, UserTask | ManualTask):
                yield task_spec, process.file


def _file_of(element: str | None, spec, subprocess_specs: dict, default: str) -> str:  # noqa: ANN001
    for process in [spec, *subprocess_specs.values()]:
        if process is not None and any(t.bpmn_id == element for t in process.task_specs.values()):
            return process.file
    return default


def _start_messages(spec) -> list[str]:  # noqa: ANN001
    names = []
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent):
            event = getattr(task_spec, "event_definition", None)
            if isinstance(event, MessageEventDefinition):
                names.append(event.name)
    return names


@dataclass
class ModelIndex:
    """Where each element lives, and each flow node's lane role, per file of a deployment.

    Keys are (file, element id): two files may use the same id, and a called process's tasks
    take their roles from the lanes of the file that defines that process.
    """

    locations: dict[tuple[str, str], int] = field(default_factory=dict)
    roles: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, filename: str, root: etree._Element) -> list[tuple[str, str]]:
        for element_id, line in _lines_by_id(root).items():
            self.locations[(filename, element_id)] = line
        roles, bad = _lane_roles(root)
        self.roles.update({(filename, element_id): role for element_id, role in roles.items()})
        return bad

    def problem(self, filename: str | None, element_id: str | None, message: str, rule: str = "parse") -> dict:
        return problem(filename, element_id, self.locations.get((filename or "", element_id or "")), message, rule)


class ModelBuilder:
    """Turns a set of uploaded files into deployable process versions, or a list of problems."""

    def __init__(self, known_forms: dict[str, bytes] | None = None, limits: XmlLimits | None = None,
                 script_context: ScriptContext | None = None) -> None:
        # Forms already deployed or in forms/, for diagrams whose upload does not carry them.
        self.known_forms = known_forms or {}
        self.limits = limits or XmlLimits()
        # For evaluating timer expressions at deploy time; default: the engine clock and packaged holidays.
        self.script_context = script_context

    def build(self, files: list[ModelFile]) -> BuildResult:
        """Every process of ``files``, or the problems (errors) that stop them; warnings either way."""
        result = BuildResult()
        self._build(files, result)
        found = _without_covered(_unique(result.problems))
        result.problems = [p for p in found if p["severity"] != WARNING]
        result.warnings = [p for p in found if p["severity"] == WARNING]
        return result

    def _build(self, files: list[ModelFile], result: BuildResult) -> None:
        forms = self._check_forms([f for f in files if f.kind == "form"], result)
        parser = SpiffBpmnParser(validator=VALIDATOR)
        trees: dict[str, etree._Element] = {}
        for model in [f for f in files if f.kind in ("bpmn", "dmn")]:
            try:
                root = parse_xml(model.content, self.limits)
            except UnsafeXml as exc:
                result.problems.append(problem(model.filename, None, exc.line, exc.message))
                continue
            trees[model.filename] = root
            try:
                if model.kind == "bpmn":
                    parser.add_bpmn_xml(root, model.filename)
                else:
                    parser.add_dmn_xml(root, model.filename)
            except ValidationException as exc:
                result.problems.append(self._from_validation(exc, model.filename, root))
            except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError) as exc:
                result.problems.append(problem(model.filename, None, None, f"cannot read model: {exc}"))
        parsed = not result.problems
        bpmn_files = [f for f in files if f.kind == "bpmn" and f.filename in trees]
        index = ModelIndex()
        for model in bpmn_files:
            for lane_id, role in index.add(model.filename, trees[model.filename]):
                result.problems.append(index.problem(
                    model.filename, lane_id,
                    f"lane role {role!r} is not a role code; set cf:role (e.g. dispatcher, dept:network)", "lane-role"))
        # The lint rules need only the XML, so they report even when SpiffWorkflow gave up on a file.
        findings = model_lint.lint({f.filename: trees[f.filename] for f in bpmn_files}, index.roles, forms,
                                   self.script_context)
        if parsed and not [f for f in files if f.kind == "bpmn"]:
            result.problems.append(problem(None, None, None, "no BPMN file given"))
        elif parsed:
            dmn_files = [f for f in files if f.kind == "dmn"]
            for model in bpmn_files:
                self._build_file(parser, model, trees[model.filename], dmn_files, bpmn_files, forms, index, result)
        result.problems.extend(findings)

    def _check_forms(self, form_files: list[ModelFile], result: BuildResult) -> dict[str, bytes]:
        forms = dict(self.known_forms)
        for form in form_files:
            try:
                schema = jsonsafe.loads(form.content)  # a form nested too deep would break jsonschema
                if not isinstance(schema, dict):
                    raise ValueError("a form must be a JSON object (a JSON Schema)")
                Draft202012Validator.check_schema(schema)
            except (ValueError, UnicodeDecodeError) as exc:
                result.problems.append(problem(form.filename, None, None, f"not a JSON form: {exc}", "form-invalid"))
                continue
            except SchemaError as exc:
                result.problems.append(problem(form.filename, None, None, f"invalid JSON Schema: {exc.message}",
                                               "form-invalid"))
                continue
            forms[form.filename] = form.content
        return forms

    def _from_validation(self, exc: ValidationException, filename: str, root: etree._Element) -> dict:
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if line is None and exc.id:
            line = _lines_by_id(root).get(exc.id)
        message = str(exc).split("\n")[0].strip()
        return problem(exc.file_name or filename, exc.id or None, line, message)

    def _build_file(self, parser, model: ModelFile, root, dmn_files, bpmn_files, forms, index: ModelIndex,  # noqa: ANN001
                    result: BuildResult) -> None:
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("id") in RESERVED_IDS:
                result.problems.append(problem(model.filename, element.get("id"), element.sourceline,
                                               f"the id {element.get('id')!r} is reserved by the engine; rename it",
                                               "reserved-id"))
        process_ids = [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")
                       if p.get("isExecutable", "true") == "true"]
        for process_id in process_ids:
            try:
                spec = parser.get_spec(process_id)
                subprocess_specs = parser.get_subprocess_specs(process_id)
            except ValidationException as exc:
                result.problems.append(self._from_validation(exc, model.filename, root))
                continue
            except SpiffWorkflowException as exc:
                result.problems.append(index.problem(model.filename, process_id, str(exc)))
                continue
            for found in validate_workflow_spec(spec, subprocess_specs):
                if found["message"].startswith("timer expression:"):
                    continue  # the timer-expression lint rule checks these, and more
                element = found.get("element_id")
                result.problems.append(index.problem(_file_of(element, spec, subprocess_specs, model.filename),
                                                     element, found["message"], "script"))
            task_meta, used_forms = self._task_meta(spec, subprocess_specs, forms, index)
            # The version changes when anything it runs changes: its file, called processes' files, DMN, forms.
            called_files = {getattr(s, "file", None) for s in subprocess_specs.values() if s is not None}
            digest = hashlib.sha256(model.content)
            for other in sorted(bpmn_files, key=lambda f: f.filename):
                if other.filename in called_files and other.filename != model.filename:
                    digest.update(other.content)
            for dmn in sorted(dmn_files, key=lambda f: f.filename):
                digest.update(dmn.content)
            for name in sorted(used_forms):
                digest.update(name.encode() + forms[name])
            try:
                spec_json = spec_to_json(spec, subprocess_specs)
            except Exception as exc:  # a spec SpiffWorkflow cannot serialize cannot run either
                result.problems.append(index.problem(model.filename, process_id, f"cannot serialize process: {exc}"))
                continue
            result.processes.append(BuiltProcess(
                process_id=process_id,
                name=spec.description or process_id,
                bpmn_filename=model.filename,
                spec_json=spec_json,
                task_meta={"tasks": task_meta, "forms": {n: forms[n].decode("utf-8") for n in used_forms}},
                start_messages=_start_messages(spec),
                content_hash=digest.hexdigest(),
            ))

    def _task_meta(self, spec, subprocess_specs, forms, index: ModelIndex):  # noqa: ANN001, ANN202
        """What the inbox needs of each user and manual task; model_lint reports missing roles and forms."""
        meta: dict[str, dict] = {}
        used_forms: set[str] = set()
        for task_spec, filename in _user_task_specs(spec, subprocess_specs):
            element = task_spec.bpmn_id
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            role = index.roles.get((filename, element)) or properties.get("role")
            role_expression = properties.get("roleExpression")
            form = properties.get(FORM_PROPERTY)
            if form is not None and form in forms:
                used_forms.add(form)
            meta[element] = {
                "name": task_spec.bpmn_name or element,
                "kind": "user" if isinstance(task_spec, UserTask) else "manual",
                "role": role,
                "role_expression": role_expression,
                "form": form,
                "due": properties.get("dueAt"),
                "priority": properties.get("priority"),
            }
        return meta, used_forms


def _unique(problems: list[dict]) -> list[dict]:
    """A called process is checked with each caller; report each problem once."""
    seen, unique = set(), []
    for p in problems:
        key = (p["file"], p["element_id"], p["line"], p["message"])
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _without_covered(problems: list[dict]) -> list[dict]:
    """Drop a parser message when the lint rule that covers it reported the same file (and element)."""
    linted = {(p["file"], p["rule"], p["element_id"]) for p in problems if p["rule"] != "parse"}
    linted_files = {(file, rule) for file, rule, _ in linted}
    kept = []
    for p in problems:
        rule = next((r for prefix, r in _SPIFF_COVERED if p["rule"] == "parse" and p["message"].startswith(prefix)),
                    None)
        if rule is not None and ((p["file"], rule, p["element_id"]) in linted
                                 or (p["element_id"] is None and (p["file"], rule) in linted_files)):
            continue
        kept.append(p)
    return kept


# --- storing versions ----------------------------------------------------------


def latest_definition(session: Session, process_id: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def store(session: Session, built: BuildResult, files: list[ModelFile], actor: str, source: str) -> dict:
    """Write one deployment and a new version for each process whose content changed."""
    deployment = Deployment(deployed_by=actor, deployed_at=clock.now(), source=source)
    session.add(deployment)
    session.flush()
    for model in files:
        session.add(DeploymentFile(deployment_id=deployment.id, filename=model.filename, kind=model.kind,
                                   content=model.text, content_hash=model.sha256))
    results = []
    for process in built.processes:
        latest = latest_definition(session, process.process_id)
        if latest is not None and latest.content_hash == process.content_hash:
            results.append({"process_id": process.process_id, "version": latest.version,
                            "name": latest.name, "created": False})
            continue
        version = (latest.version + 1) if latest else 1
        session.add(ProcessDefinition(
            process_id=process.process_id, version=version, name=process.name,
            content_hash=process.content_hash, deployment_id=deployment.id,
            bpmn_filename=process.bpmn_filename, spec_json=process.spec_json,
            task_meta=process.task_meta, start_messages=process.start_messages,
            deployed_by=actor, deployed_at=deployment.deployed_at,
        ))
        results.append({"process_id": process.process_id, "version": version,
                        "name": process.name, "created": True})
    session.flush()
    return {"deployment_id": deployment.id, "definitions": results}


def known_forms(session: Session, forms_dir: Path | None) -> dict[str, bytes]:
    """Forms a diagram may reference without uploading them: forms/ and the latest deployed ones."""
    forms: dict[str, bytes] = {}
    rows = session.execute(
        select(DeploymentFile.filename, DeploymentFile.content)
        .where(DeploymentFile.kind == "form")
        .order_by(DeploymentFile.id)
    )
    for filename, content in rows:
        forms[filename] = content.encode("utf-8")
    if forms_dir is not None and forms_dir.is_dir():
        for path in sorted(forms_dir.glob("*.json")):
            forms[path.name] = path.read_bytes()
    return forms


def directory_files(processes_dir: Path, forms_dir: Path) -> list[tuple[str, bytes]]:
    files = [(p.name, p.read_bytes()) for p in sorted(processes_dir.iterdir())
             if p.is_file() and p.suffix in (".bpmn", ".dmn")]
    files += [(p.name, p.read_bytes()) for p in sorted(forms_dir.glob("*.json"))]
    return files


def instance_counts(session: Session) -> dict[int, int]:
    from .models import ProcessInstance

    rows = session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.status.in_(("running", "suspended")))
        .group_by(ProcessInstance.definition_id)
    )
    return dict(rows.all())
