"""What the browser editors offer to choose from, read from the working set of model files.

The working set is ``workspace.current_files`` (filename -> (kind, text)). These are pure
functions over it, plus the department roles held by users: the role, form and decision
choices in the properties panel, and which processes use a form or a DMN file.
A file that does not parse is skipped here; validating it reports why.
"""
from __future__ import annotations

from collections.abc import Mapping

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from .definitions import BPMN_NS, CF_NS, FORM_PROPERTY, ROLE_PATTERN
from .models import UserRole
from .xmlsafe import UnsafeXml, parse_xml

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# DMN 1.1 to 1.5: decisions are read whatever version a table was saved in.
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
    "https://www.omg.org/spec/DMN/20240513/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FIXED_ROLES = ("intake", "dispatcher", "escalation", "appeals", "supervisor")

Files = Mapping[str, tuple[str, str]]


def _trees(files: Files, kind: str) -> dict[str, etree._Element]:
    trees = {}
    for filename, (file_kind, text) in sorted(files.items()):
        if file_kind != kind:
            continue
        try:
            trees[filename] = parse_xml(text.encode("utf-8"))
        except (UnsafeXml, ValueError):
            continue
    return trees


def form_names(files: Files) -> list[str]:
    return sorted(name for name, (kind, _text) in files.items() if kind == "form")


def processes_by_file(files: Files) -> dict[str, list[dict]]:
    """BPMN filename -> its executable processes [{id, name}]."""
    result: dict[str, list[dict]] = {}
    for filename, root in _trees(files, "bpmn").items():
        result[filename] = [{"id": p.get("id"), "name": p.get("name") or p.get("id")}
                            for p in root.iter(f"{{{BPMN_NS}}}process")
                            if p.get("id") and p.get("isExecutable", "true") == "true"]
    return result


def decisions(files: Files) -> list[dict]:
    """Every decision of every DMN file: [{id, name, file}]."""
    found = []
    for filename, root in _trees(files, "dmn").items():
        for ns in DMN_NAMESPACES:
            for decision in root.iter(f"{{{ns}}}decision"):
                if decision.get("id"):
                    found.append({"id": decision.get("id"), "name": decision.get("name") or "", "file": filename})
    return sorted(found, key=lambda d: (d["id"], d["file"]))


def lane_roles(files: Files) -> set[str]:
    """The role codes the diagrams' lanes use (cf:role, or a lane name that is a role code)."""
    roles = set()
    for root in _trees(files, "bpmn").values():
        for lane in root.iter(f"{{{BPMN_NS}}}lane"):
            role = (lane.get(f"{{{CF_NS}}}role") or lane.get("name") or "").strip()
            if ROLE_PATTERN.match(role):
                roles.add(role)
    return roles


def department_roles(session: Session) -> set[str]:
    """The dept:<code> roles some user holds."""
    return set(session.scalars(select(UserRole.role).where(UserRole.role.like("dept:%")).distinct()))


def role_codes(files: Files, session: Session) -> list[str]:
    """Roles a lane may name: the fixed ones, then every department in use, sorted."""
    departments = sorted(r for r in lane_roles(files) | department_roles(session) if r.startswith("dept:"))
    return [*FIXED_ROLES, *departments]


def _users(files: Files, matches) -> list[dict]:  # noqa: ANN001 - a predicate over one BPMN tree
    """[{file, process_id, name}] of each process in a BPMN file where ``matches(tree)`` holds."""
    used = []
    by_file = processes_by_file(files)
    for filename, root in _trees(files, "bpmn").items():
        if matches(root):
            used += [{"file": filename, "process_id": p["id"], "name": p["name"]} for p in by_file.get(filename, [])]
    return used


def processes_using_form(files: Files, form: str) -> list[dict]:
    def binds(root: etree._Element) -> bool:
        return any(p.get("name") == FORM_PROPERTY and p.get("value") == form
                   for p in root.iter(f"{{{SPIFF_NS}}}property"))

    return _users(files, binds)


def processes_using_dmn(files: Files, dmn_filename: str) -> list[dict]:
    ids = {d["id"] for d in decisions(files) if d["file"] == dmn_filename}

    def calls(root: etree._Element) -> bool:
        return any((el.text or "").strip() in ids for el in root.iter(f"{{{SPIFF_NS}}}calledDecisionId"))

    return _users(files, calls)
