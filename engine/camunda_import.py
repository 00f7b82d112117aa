"""Convert diagrams made in Camunda Modeler or bpmn.io to complaintflow's modelling conventions.

``convert(files, role_map, known_forms)`` takes uploaded (filename, bytes) pairs and
returns the converted files with a report: one entry per mapping, per construct that
complaintflow cannot run, and per group of harmless attributes it drops. Pure: no
database, never raises on what it is given. Element ids stay as they were, so every
finding (ours and the deploy check's) names an element the owner knows.

What is read (Camunda 7 ``camunda:``, its Activiti/Flowable ancestors, and Camunda 8 ``zeebe:``):
- candidate groups -> the task's role (lane ``cf:role`` or the ``role`` property);
- form keys and references -> ``formJsonSchemaFilename`` when the JSON form is at hand;
- JUEL/FEEL conditions, timers and collections -> Python (engine.camunda_expressions);
- decision and called-element references -> SpiffWorkflow's equivalents.
Java, external and connector service tasks, and scripts in other languages, become script
tasks that do nothing (SpiffWorkflow refuses a service task without one of our connectors,
and would run any script as Python); the report says so for each.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lxml import etree

from .camunda_diagram import Diagram, entry, problem_at
from .camunda_tree import bpmn_tag
from .definitions import BPMN_NS, FILENAME_PATTERN, ROLE_PATTERN
from .errors import ValidationFailed
from .xmlsafe import UnsafeXml, XmlLimits, parse_xml

# The module's parts: engine.camunda_diagram converts one diagram, reading the tables of
# engine.camunda_catalog and editing the tree with engine.camunda_tree.


@dataclass
class Conversion:
    """The converted files (ready for ModelBuilder), the report, and the problems that block a deploy.

    ``problems`` has the deploy check's shape ({file, element_id, line, message}) and lists the files
    that could not be converted at all, so a partial set is never deployed as if it were whole.
    """

    files: list[tuple[str, bytes]] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)


def convert(files: Iterable[tuple[str, bytes]], role_map: Mapping[str, str] | None = None,
            known_forms: Iterable[str] = (), *, known_processes: Iterable[str] = (),
            limits: XmlLimits | None = None) -> Conversion:
    """Convert uploaded (filename, bytes) pairs.

    ``role_map`` maps Camunda candidate groups (or a lane's name or id, or a task's id) to role codes;
    ``known_forms`` and ``known_processes`` name the JSON forms and process ids already deployed, which
    the diagrams may use without uploading them again.
    """
    limits = limits or XmlLimits()
    result = Conversion()
    roles = _usable_role_map(role_map, result.report)
    accepted: list[tuple[str, str, bytes]] = []  # (name, kind, content)
    seen: set[str] = set()
    for original, content in files:
        name, kind = _accept_file(original, content, limits, seen, result)
        if name is not None:
            accepted.append((name, kind, content))
    forms = {name for name, kind, _ in accepted if kind == "form"} | {str(f) for f in known_forms}
    diagrams: list[Diagram] = []
    for name, kind, content in accepted:
        if kind == "bpmn":
            diagram = _convert_bpmn(name, content, roles, forms, limits, result)
            if diagram is not None:
                diagrams.append(diagram)
                result.files.append((name, etree.tostring(diagram.root, xml_declaration=True, encoding="UTF-8")))
            continue
        if kind == "dmn":
            result.report.append(entry(name, None, "ignored", "dmn_unchanged",
                                        "DMN tables are deployed as they are: their entries are evaluated as "
                                        "Python, so FEEL entries that the deploy check lists need rewriting"))
        result.files.append((name, content))
    _check_calls(diagrams, set(known_processes), result)
    return result


def _check_calls(diagrams: list[Diagram], known: set[str], result: Conversion) -> None:
    """A call activity must call a process of this upload or one already deployed."""
    uploaded = {p.get("id") for d in diagrams for p in d.root.iter(bpmn_tag("process"))}
    for diagram in diagrams:
        for call in diagram.root.iter(bpmn_tag("callActivity")):
            called = call.get("calledElement")
            if called and called not in uploaded and called not in known:
                result.report.append(entry(diagram.file, call, "unsupported", "called_process_missing",
                                            f"calls process {called!r}, which is neither in this upload nor "
                                            f"deployed: upload its diagram together with this one"))


def locate(problems: list[dict], files: list[tuple[str, bytes]]) -> list[dict]:
    """Give a problem that names no element the element it is about, when its message names one.

    SpiffWorkflow reports e.g. a called process that is missing without saying which call activity
    calls it; the owner should still be pointed at an element of the diagram.
    """
    if all(p.get("element_id") for p in problems):
        return problems
    calls: dict[str, tuple[str, str, int | None]] = {}
    elements: dict[str, tuple[str, str, int | None]] = {}
    for filename, content in files:
        if not filename.lower().endswith((".bpmn", ".bpmn20.xml")):
            continue
        try:
            root = parse_xml(content)
        except UnsafeXml:
            continue
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("id"):
                elements.setdefault(element.get("id"), (filename, element.get("id"), element.sourceline))
                if element.tag == bpmn_tag("callActivity") and element.get("calledElement"):
                    calls.setdefault(element.get("calledElement"),
                                     (filename, element.get("id"), element.sourceline))
    located = []
    for found in problems:
        if not found.get("element_id"):
            for token in re.findall(r"'([^']{1,200})'", found.get("message") or ""):
                where = calls.get(token) or elements.get(token)
                if where is not None:
                    found = {**found, "file": where[0], "element_id": where[1], "line": where[2]}
                    break
        located.append(found)
    return located


# --- role map -------------------------------------------------------------------------------


def parse_role_map(text: str) -> dict[str, str]:
    """The owner's role map as typed on the import page: one ``group = role`` per line; # starts a comment."""
    mapping: dict[str, str] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ValidationFailed(f"role map line {number}: write it as `group = role`",
                                   fields={"role_map": f"line {number}: expected `group = role`"})
        group, role = (part.strip() for part in line.split("=", 1))
        mapping[group] = role
    return check_role_map(mapping)


def check_role_map(mapping: object) -> dict[str, str]:
    """The role map as given over the API: an object of group -> role code; 422 naming the bad entry."""
    if not isinstance(mapping, dict):
        raise ValidationFailed("role_map must be an object of group -> role code",
                               fields={"role_map": "expected an object such as {\"management\": \"supervisor\"}"})
    clean: dict[str, str] = {}
    for group, role in mapping.items():
        if not isinstance(group, str) or not group.strip() or len(group) > 200:
            raise ValidationFailed("role map: every group needs a name of at most 200 characters",
                                   fields={"role_map": "a group name is empty or too long"})
        if not isinstance(role, str) or not ROLE_PATTERN.match(role.strip()):
            raise ValidationFailed(
                f"role map: {role!r} for {group!r} is not a role code (e.g. supervisor, dept:network)",
                fields={"role_map": f"{group}: {role!r} is not a role code"})
        clean[group.strip()] = role.strip()
    return clean


def _usable_role_map(role_map: Mapping[str, str] | None, report: list[dict]) -> dict[str, str]:
    usable: dict[str, str] = {}
    for group, role in (role_map or {}).items():
        if isinstance(group, str) and isinstance(role, str) and ROLE_PATTERN.match(role.strip()):
            usable[group.strip()] = role.strip()
        else:
            report.append(entry(None, None, "unsupported", "role_map",
                                 f"role map entry {group!r} = {role!r} is not a role code and was not used"))
    return usable


# --- files ---------------------------------------------------------------------------------------


def _accept_file(original: str, content: bytes, limits: XmlLimits, seen: set[str],
                 result: Conversion) -> tuple[str | None, str]:
    """The file's safe name and kind, or (None, "") with the reason reported."""
    base = PurePosixPath(str(original or "").replace("\\", "/")).name
    lower = base.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml", ".xml")):
        kind = "bpmn"
    elif lower.endswith(".dmn"):
        kind = "dmn"
    elif lower.endswith(".json"):
        kind = "form"
    else:
        result.report.append(entry(base or None, None, "unsupported", "unsupported_file",
                                    _file_hint(lower)))
        return None, ""
    name = _safe_name(base, kind)
    if name != base:
        result.report.append(entry(name, None, "mapped", "renamed_file",
                                    f"{base!r} is stored as {name!r}: file names use letters, digits, _ - and ."))
    if name in seen:
        message = f"{name} is given twice; upload each file once"
        result.report.append(entry(name, None, "unsupported", "duplicate_file", message))
        result.problems.append(problem_at(name, None, None, message))
        return None, ""
    seen.add(name)
    if len(content) > limits.max_bytes:
        message = f"file is {len(content)} bytes; the limit is {limits.max_bytes}"
        result.report.append(entry(name, None, "unsupported", "unreadable_file", message))
        result.problems.append(problem_at(name, None, None, message))
        return None, ""
    return name, kind


def _file_hint(lower: str) -> str:
    if lower.endswith(".form"):
        return ("Camunda Forms (.form) are not converted: upload the form as a JSON Schema file with the same "
                "base name and the extension .json")
    if lower.endswith((".html", ".htm")):
        return ("embedded HTML forms are not used: upload the form as a JSON Schema file with the same base name "
                "and the extension .json")
    return "not a BPMN, DMN or JSON form file; it was left out"


def _safe_name(base: str, kind: str) -> str:
    stem, suffix = base, ""
    for ending in (".bpmn20.xml", ".bpmn", ".xml", ".dmn", ".json"):
        if base.lower().endswith(ending):
            stem, suffix = base[: -len(ending)], ending.lower()
            break
    if suffix == ".xml":
        suffix = ".bpmn"
    stem = re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem).strip(".") or kind
    stem = stem.replace("..", "_")
    if not re.match(r"[A-Za-z0-9_]", stem):
        stem = "_" + stem
    name = (stem[:190] + suffix)
    return name if FILENAME_PATTERN.match(name) else f"{kind}{suffix}"


def _convert_bpmn(name: str, content: bytes, roles: dict[str, str], forms: set[str], limits: XmlLimits,
                  result: Conversion) -> Diagram | None:
    try:
        root = parse_xml(content, limits)
    except UnsafeXml as exc:
        line = exc.line or _line_of(content, (b"<!doctype", b"<!entity"))
        result.report.append(entry(name, None, "unsupported", "unreadable_file", exc.message))
        result.problems.append(problem_at(name, None, line, exc.message))
        return None
    if root.tag != bpmn_tag("definitions"):
        message = (f"not a BPMN 2.0 file: the root element is {etree.QName(root).localname!r}, not "
                   f"definitions in the namespace {BPMN_NS}")
        result.report.append(entry(name, None, "unsupported", "not_bpmn", message))
        result.problems.append(problem_at(name, None, root.sourceline, message))
        return None
    try:
        diagram = Diagram(name, root, roles, forms)
        diagram.run()
    except Exception as exc:  # noqa: BLE001 - a diagram we cannot convert is reported, never a crash
        message = f"the diagram could not be converted ({type(exc).__name__}: {exc})"
        result.report.append(entry(name, None, "unsupported", "unreadable_file", message))
        result.problems.append(problem_at(name, None, root.sourceline, message))
        return None
    result.report.extend(diagram.report)
    result.problems.extend(diagram.problems)
    return diagram


def _line_of(content: bytes, needles: tuple[bytes, ...]) -> int | None:
    lower = content.lower()
    found = [lower.find(n) for n in needles if lower.find(n) >= 0]
    return lower.count(b"\n", 0, min(found)) + 1 if found else None


def report_counts(report: list[dict]) -> dict[str, int]:
    """How many entries of each kind: for the page's summary."""
    counts = {"mapped": 0, "unsupported": 0, "ignored": 0}
    for found in report:
        counts[found["kind"]] = counts.get(found["kind"], 0) + 1
    return counts
