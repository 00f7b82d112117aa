"""Lint rules: what would break a case at run time, found before the deploy and pinned to an element.

The rules read the lxml trees of all BPMN files of a deployment together (a message thrown in one
file may be caught in another) and need no SpiffWorkflow spec, so they also report on diagrams the
parser gives up on, and on elements it never parses because no path reaches them.

Every finding is a problem dict ``{file, element_id, line, message}`` plus ``rule`` (a code listed
in ``RULES`` and in docs/MODELING.md, "Lint rules") and ``severity``: errors block a deploy,
warnings are reported and do not.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import re
from collections import defaultdict
from collections.abc import Callable, Container, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import clock
from .calendar import WorkCalendar
from .errors import HolidayDataMissing
from .holidays import chinesecalendar_days, chinesecalendar_years
from .scripting import RestrictedEnvironment, ScriptConfigError, ScriptContext, check_source

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Our own attributes in diagrams, e.g. <bpmn:lane cf:role="dispatcher">.
CF_NS = "http://complaintflow.org/schema/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ROLE_PATTERN = re.compile(r"^(intake|dispatcher|escalation|appeals|supervisor|owner|admin|dept:[a-z][a-z0-9_]*)$")
FORM_PROPERTY = "formJsonSchemaFilename"

ERROR = "error"
WARNING = "warning"

# Rule code -> default severity. docs/MODELING.md explains each one and how to fix it.
RULES: dict[str, str] = {
    "parse": ERROR,  # unreadable or unsafe XML, and SpiffWorkflow's own parser problems
    "form-invalid": ERROR,
    "reserved-id": ERROR,
    "lane-role": ERROR,
    "script": ERROR,  # scripts, conditions and other expressions that do not compile
    "task-no-role": ERROR,
    "task-no-form": WARNING,  # the task still runs; its data just goes unchecked
    "form-missing": ERROR,
    "timer-expression": ERROR,  # a naive timeDate literal is a warning under the same code
    "gateway-no-default": ERROR,
    "gateway-flow-no-condition": ERROR,
    "gateway-default-condition": WARNING,
    "unreachable": WARNING,
    "message-unnamed": ERROR,
    "message-no-correlation": ERROR,
}


def problem(file: str | None, element_id: str | None, line: int | None, message: str,
            rule: str = "parse", severity: str | None = None) -> dict:
    if rule not in RULES:
        raise ValueError(f"unknown lint rule {rule!r}")
    return {"file": file, "element_id": element_id or None, "line": line or None, "message": message,
            "rule": rule, "severity": severity or RULES[rule]}


# --- element kinds ---------------------------------------------------------------------------------

TASKS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
         "receiveTask"}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = TASKS | CONTAINERS | EVENTS | GATEWAYS | {"callActivity"}
MESSAGE_CATCHERS = {"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"}
MESSAGE_THROWERS = {"intermediateThrowEvent", "endEvent", "sendTask"}
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


def _local(element: Any) -> str:
    if not isinstance(element.tag, str):
        return ""  # comments and processing instructions
    name = etree.QName(element)
    return name.localname if name.namespace == BPMN_NS else ""


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _label(element: etree._Element) -> str:
    return repr(element.get("name") or element.get("id") or _local(element))


def _properties(element: etree._Element) -> dict[str, str]:
    """The SpiffWorkflow properties of a task, as the parser reads them."""
    found: dict[str, str] = {}
    for extensions in element.findall(_q("extensionElements")):
        for properties in extensions.findall(f"{{{SPIFF_NS}}}properties"):
            for prop in properties.iter(f"{{{SPIFF_NS}}}property"):
                if prop.get("name"):
                    found[prop.get("name")] = prop.get("value") or ""
    return found


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else (element.text or "")


# --- timer expressions ----------------------------------------------------------------------------

# What Camunda and other engines write as a bare timer value; ours are Python expressions.
_RAW_ISO = re.compile(r"^(R\d*/\S+"  # a repeating interval
                      r"|P(?=\d|T\d)(\d+([.,]\d+)?[YMWD])*(T(\d+([.,]\d+)?[HMS])+)?"  # a duration
                      r"|\d{4}-\d{2}-\d{2}(T\S*)?)$",  # a date or date-time
                      re.IGNORECASE)
_RAW_EL = re.compile(r"^[$#]\{.*\}$", re.DOTALL)
# Quartz/Camunda cron: five to seven fields of digits, *, ?, /, -, L, W, # and names.
_RAW_CRON = re.compile(r"^[\w*?/,#-]+(\s+[\w*?/,#-]+){4,6}$")
_DUE_IN_BASES = ("hours", "working_days", "business_hours", "calendar_days")
_TIMER_WANTS = {"timeDate": "an ISO 8601 date-time such as \"2026-03-02T09:00:00+08:00\"",
                "timeDuration": "an ISO 8601 duration such as \"PT4H\"",
                "timeCycle": "an ISO 8601 repeating interval such as \"R3/PT1H\""}


@lru_cache(maxsize=4)
def _seed_calendar(years: tuple[int, ...]) -> WorkCalendar:
    return WorkCalendar({day: kind for year in years for day, kind, _ in chinesecalendar_days(year)}, years)


def lint_calendar() -> WorkCalendar:
    """A calendar for evaluating deadlines at deploy time: the packaged holiday data around today.

    The admin-edited calendar can move a deadline by a day, never change its type, which is all
    the timer check looks at.
    """
    year = clock.now().year
    known = set(chinesecalendar_years())
    return _seed_calendar(tuple(y for y in (year - 1, year, year + 1) if y in known))


def default_context() -> ScriptContext:
    return ScriptContext(now=clock.now, calendar=lint_calendar)


def _bound_names(tree: ast.AST) -> set[str]:
    """Names an expression binds itself (comprehension targets, lambda arguments, walrus)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            args = node.args
            bound |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            bound |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)
    return bound


class _Placeholder:
    """Stands in for an argument when only the argument count is checked."""


def _call_problems(tree: ast.AST, known: Mapping[str, Callable[..., Any]], bound: set[str],
                   helpers: list[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.func.id in bound:
            continue
        name = node.func.id
        function = known.get(name)
        if function is None:
            found.append(f"{name}() is not a function the script engine provides; the deadline helpers are "
                         f"{', '.join(helpers)}")
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue  # *args / **kwargs: the count is unknown until run time
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue  # some builtins (int, str...) have no signature to check against
        try:
            signature.bind(*[_Placeholder()] * len(node.args), **{k.arg: _Placeholder() for k in node.keywords})
        except TypeError as exc:
            found.append(f"{name}(): {exc}")
            continue
        if name == "due_in":
            given = {k.arg for k in node.keywords} | set(_DUE_IN_BASES[:len(node.args)])
            if len(given & set(_DUE_IN_BASES)) != 1:
                found.append("due_in() takes exactly one of hours=, working_days=, business_hours= or "
                             "calendar_days=")
    return found


def _value_problem(kind: str, value: Any) -> tuple[str, str] | None:
    """(severity, message) when an evaluated timer value does not fit its kind, as SpiffWorkflow reads it."""
    wants = _TIMER_WANTS[kind]
    if not isinstance(value, str):
        return ERROR, f"gives {type(value).__name__} {value!r:.80}, not {wants}"
    text = value.strip()
    upper = text.upper()
    try:
        if kind == "timeDuration":
            if not upper.startswith("P") or not re.search(r"\d", text):
                hint = " (a date-time belongs in timeDate)" if re.match(r"\d{4}-", text) else ""
                return ERROR, f"gives {value!r}, not {wants}{hint}"
            TimerEventDefinition.parse_iso_duration(text)
        elif kind == "timeDate":
            if upper.startswith("P"):
                return ERROR, f"gives the duration {value!r}, not {wants} (a duration belongs in timeDuration)"
            parsed = TimerEventDefinition.parse_time_or_duration(text)
            if not isinstance(parsed, datetime):
                return ERROR, f"gives {value!r}, not {wants}"
            if "W" not in upper and datetime.fromisoformat(text).tzinfo is None:
                return WARNING, (f"gives {value!r}, which has no UTC offset: the server's local time zone would "
                                 f"apply; add one, e.g. +08:00")
        else:
            if not upper.startswith("R"):
                return ERROR, f"gives {value!r}, not {wants}"
            TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:  # SpiffWorkflow's ISO parsers raise bare Exceptions
        return ERROR, f"gives {value!r}, not {wants}"
    return None


class TimerCheck:
    """Checks one timer expression statically and, when it reads no case data, by evaluating it now."""

    def __init__(self, context: ScriptContext) -> None:
        self.environment = RestrictedEnvironment(context)
        self.known = {k: v for k, v in self.environment.builtins.items() if not k.startswith("_")}
        self.helpers = sorted(k for k in self.known if not hasattr(builtins, k))

    def problems(self, kind: str, expression: str | None) -> list[tuple[str, str]]:
        if expression is None or not expression.strip():
            return [(ERROR, f"the timer expression is empty: write one that gives {_TIMER_WANTS[kind]}")]
        text = expression.strip()
        if _RAW_ISO.match(text):
            return [(ERROR, f'timer expression must be a Python expression; write "{text}" in quotes')]
        if _RAW_EL.match(text):
            return [(ERROR, f"timer expression {text!r} is a Camunda (JUEL) expression; write a Python "
                            f"expression, e.g. due_in(hours=4) or \"PT4H\"")]
        compiled = check_source(expression, "eval")
        if compiled and _RAW_CRON.match(text):  # valid Python such as `a * b * c` is never taken for cron
            return [(ERROR, f"timer expression {text!r} is a cron expression, which the engine does not read; "
                            f"write an ISO 8601 cycle in quotes, e.g. \"R/PT5M\"")]
        if compiled:
            return [(ERROR, f"timer expression: {message}") for message in compiled]
        tree = ast.parse(expression.strip(), mode="eval")
        bound = _bound_names(tree)
        calls = _call_problems(tree, self.known, bound, self.helpers)
        if calls:
            return [(ERROR, f"timer expression: {message}") for message in calls]
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if loaded - bound - set(self.known):
            return []  # reads case data: only a running case can evaluate it
        try:
            value = self.environment.evaluate(expression, {})
        except (ScriptConfigError, HolidayDataMissing):
            return []  # needs what only the running engine has (SLA lookups, far-future holidays)
        except Exception as exc:
            return [(ERROR, f"timer expression fails when evaluated: {type(exc).__name__}: {exc}")]
        found = _value_problem(kind, value)
        return [(found[0], f"timer expression {found[1]}")] if found else []


# --- the linter -----------------------------------------------------------------------------------


class Linter:
    """Runs every rule over the BPMN trees of one deployment."""

    def __init__(self, diagrams: Mapping[str, etree._Element], roles: Mapping[tuple[str, str], str],
                 forms: Container[str], context: ScriptContext | None = None) -> None:
        self.diagrams = diagrams
        self.roles = roles
        self.forms = forms
        self.timers = TimerCheck(context or default_context())
        self.found: list[dict] = []

    def run(self) -> list[dict]:
        self.found = []
        processes = list(self._processes())
        for filename, process in processes:
            self._tasks(filename, process)
            self._timers(filename, process)
            self._gateways(filename, process)
            self._reachable(filename, process, adhoc=False)
        self._messages(processes)
        return self.found

    def _add(self, filename: str, element: etree._Element, rule: str, message: str,
             severity: str | None = None) -> None:
        self.found.append(problem(filename, element.get("id"), element.sourceline, message, rule, severity))

    def _processes(self) -> Iterator[tuple[str, etree._Element]]:
        """Executable processes, and processes a call activity calls (they run too)."""
        called = {call.get("calledElement") for root in self.diagrams.values()
                  for call in root.iter(_q("callActivity"))}
        for filename, root in self.diagrams.items():
            for process in root.iter(_q("process")):
                if process.get("isExecutable", "true") == "true" or process.get("id") in called:
                    yield filename, process

    # -- user and manual tasks: role and form --------------------------------------------------

    def _tasks(self, filename: str, process: etree._Element) -> None:
        for task in process.iter(_q("userTask"), _q("manualTask")):
            properties = _properties(task)
            role = self.roles.get((filename, task.get("id") or "")) or properties.get("role")
            role_expression = properties.get("roleExpression")
            if not role and not role_expression:
                self._add(filename, task, "task-no-role",
                          f"task {_label(task)} is in no lane with a role: put it in a lane with cf:role "
                          f"(e.g. dispatcher) or set the property roleExpression")
            if role_expression:
                for message in check_source(role_expression, "eval"):
                    self._add(filename, task, "script", f"roleExpression: {message}")
            if _local(task) != "userTask":
                continue  # a manual task is done outside the system: nothing to fill in
            form = properties.get(FORM_PROPERTY)
            if not form or not form.strip():
                self._add(filename, task, "task-no-form",
                          f"user task {_label(task)} has no form: set the property {FORM_PROPERTY} to a file in "
                          f"forms/ (or make it a manual task if there is nothing to fill in)")
            elif form not in self.forms:
                self._add(filename, task, "form-missing",
                          f"form file {form!r} is missing: upload it with the diagram or add it to forms/")

    # -- timers ------------------------------------------------------------------------------------

    def _timers(self, filename: str, process: etree._Element) -> None:
        for definition in process.iter(_q("timerEventDefinition")):
            event = definition.getparent()
            given = [(kind, definition.find(_q(kind))) for kind in TIMER_KINDS]
            given = [(kind, element) for kind, element in given if element is not None]
            if not given:
                self._add(filename, event, "timer-expression",
                          f"timer {_label(event)} has no timeDate, timeDuration or timeCycle")
                continue
            kind, element = given[0]  # SpiffWorkflow reads the first of these, in this order
            for severity, message in self.timers.problems(kind, _text(element)):
                self._add(filename, event, "timer-expression", f"{kind}: {message}", severity)

    # -- gateways ----------------------------------------------------------------------------------

    def _gateways(self, filename: str, process: etree._Element) -> None:
        for gateway in process.iter(_q("exclusiveGateway"), _q("inclusiveGateway")):
            gateway_id = gateway.get("id")
            outgoing = [f for f in gateway.getparent() if _local(f) == "sequenceFlow"
                        and f.get("sourceRef") == gateway_id]
            default = gateway.get("default")
            if default and default not in {f.get("id") for f in outgoing}:
                self._add(filename, gateway, "gateway-no-default",
                          f"the default flow {default!r} of gateway {_label(gateway)} is not one of its "
                          f"outgoing flows")
                default = None
            if len(outgoing) < 2:
                continue  # a merge, or a single way on: nothing to choose
            if not default:
                self._add(filename, gateway, "gateway-no-default",
                          f"gateway {_label(gateway)} splits into {len(outgoing)} flows and has no default flow: "
                          f"when no condition holds the case stops with an error; mark one flow as the default")
            for flow in outgoing:
                condition = _text(flow.find(_q("conditionExpression")))
                has_condition = bool(condition and condition.strip())
                if flow.get("id") == default and has_condition:
                    self._add(filename, flow, "gateway-default-condition",
                              f"the default flow {_label(flow)} has a condition, which the engine ignores: "
                              f"the default is taken only when no other condition holds; remove it")
                elif flow.get("id") != default and not has_condition:
                    self._add(filename, flow, "gateway-flow-no-condition",
                              f"flow {_label(flow)} leaves gateway {_label(gateway)} without a condition and is "
                              f"not its default: give it a condition or make it the default flow")

    # -- reachability ------------------------------------------------------------------------------

    def _reachable(self, filename: str, container: etree._Element, adhoc: bool) -> None:
        """Report each flow node of ``container`` (itself reached) that no path from a start reaches."""
        nodes = {el.get("id"): el for el in container if _local(el) in FLOW_NODES and el.get("id")}
        following: dict[str, list[str]] = defaultdict(list)
        entered: set[str] = set()
        for flow in container:
            if _local(flow) == "sequenceFlow" and flow.get("sourceRef") and flow.get("targetRef"):
                following[flow.get("sourceRef")].append(flow.get("targetRef"))
                entered.add(flow.get("targetRef"))
        link_catchers: dict[str, list[str]] = defaultdict(list)
        for node_id, el in nodes.items():
            if _local(el) == "boundaryEvent" and el.get("attachedToRef"):
                following[el.get("attachedToRef")].append(node_id)
            link = el.find(_q("linkEventDefinition"))
            if link is not None and _local(el) == "intermediateCatchEvent":
                link_catchers[link.get("name") or el.get("name") or ""].append(node_id)
        for node_id, el in nodes.items():
            link = el.find(_q("linkEventDefinition"))
            if link is not None and _local(el) == "intermediateThrowEvent":
                following[node_id] += link_catchers.get(link.get("name") or el.get("name") or "", [])

        def special(el: etree._Element) -> bool:
            # Entered by an event or a compensation, not by a sequence flow.
            return (_local(el) == "boundaryEvent" or el.get("triggeredByEvent") == "true"
                    or el.get("isForCompensation") == "true")

        starts = [i for i, el in nodes.items() if _local(el) == "startEvent"]
        if adhoc or not starts:  # BPMN: without start events, every node without incoming flows starts
            starts = [i for i, el in nodes.items() if i not in entered and not special(el)]
        starts += [i for i, el in nodes.items() if el.get("triggeredByEvent") == "true"]
        seen, queue = set(starts), list(starts)
        while queue:
            for target in following.get(queue.pop(), []):
                if target in nodes and target not in seen:
                    seen.add(target)
                    queue.append(target)
        for node_id, el in nodes.items():
            if node_id in seen:
                if _local(el) in CONTAINERS:
                    self._reachable(filename, el, adhoc=_local(el) == "adHocSubProcess")
            elif el.get("isForCompensation") != "true" and not (
                    _local(el) == "boundaryEvent" and el.get("attachedToRef") not in seen):
                self._add(filename, el, "unreachable",
                          f"{_local(el)} {_label(el)} is unreachable: no path from a start event leads to it")

    # -- messages ----------------------------------------------------------------------------------

    def _message_uses(self, process: etree._Element) -> Iterator[tuple[etree._Element, str | None, bool]]:
        """(element, messageRef, catches) for each element that sends or receives a message."""
        for el in process.iter():
            kind = _local(el)
            if kind in ("sendTask", "receiveTask"):
                definition = el.find(_q("messageEventDefinition"))
                ref = el.get("messageRef") or (definition.get("messageRef") if definition is not None else None)
                yield el, ref, kind == "receiveTask"
            elif kind in MESSAGE_CATCHERS or kind in MESSAGE_THROWERS:
                definition = el.find(_q("messageEventDefinition"))
                if definition is not None:
                    yield el, definition.get("messageRef"), kind in MESSAGE_CATCHERS

    def _messages(self, processes: list[tuple[str, etree._Element]]) -> None:
        names = {filename: {m.get("id"): m.get("name") for m in root.iter(_q("message")) if m.get("id")}
                 for filename, root in self.diagrams.items()}
        correlated = {filename: self._correlations(filename, root) for filename, root in self.diagrams.items()}
        caught: set[str] = set()
        throws: list[tuple[str, etree._Element, str, str]] = []
        for filename, process in processes:
            for el, ref, catches in self._message_uses(process):
                if not ref:
                    self._add(filename, el, "message-unnamed",
                              f"{_local(el)} {_label(el)} has no message: set messageRef to a bpmn:message with a "
                              f"name (POST /api/v1/messages/{{name}} addresses it by that name)")
                    continue
                if ref not in names[filename]:
                    self._add(filename, el, "message-unnamed",
                              f"messageRef {ref!r} of {_label(el)} names no bpmn:message in this file")
                    continue
                name = (names[filename][ref] or "").strip()
                if not name:
                    self._add(filename, el, "message-unnamed",
                              f"message {ref!r} used by {_label(el)} has no name: give the bpmn:message a name")
                elif catches:
                    caught.add(name)
                else:
                    throws.append((filename, el, ref, name))
        for filename, el, ref, name in throws:
            keyed = ref in correlated[filename] or el.find(f".//{{{SPIFF_NS}}}processVariableCorrelation") is not None
            if name not in caught and not keyed:
                self._add(filename, el, "message-no-correlation",
                          f"message {name!r} is sent here, but no process of this deployment catches it and it has "
                          f"no correlation key, so it cannot be delivered: add a catch event for it, or a "
                          f"bpmn:correlationProperty with a retrieval expression for message {ref!r}")

    def _correlations(self, filename: str, root: etree._Element) -> set[str]:
        """Check correlation properties and keys; return the ids of messages that carry a correlation value."""
        messages = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(_q("message")) if m.get("id")}
        expressions: dict[str, set[str]] = {}  # property id -> messages it has an expression for
        properties = {}
        for prop in root.iter(_q("correlationProperty")):
            prop_id = prop.get("id") or ""
            properties[prop_id] = prop
            expressions[prop_id] = set()
            retrievals = prop.findall(_q("correlationPropertyRetrievalExpression"))
            if not retrievals:
                self._add(filename, prop, "message-no-correlation",
                          f"correlation property {_label(prop)} has no retrieval expression: add one for each "
                          f"message that carries it")
            for retrieval in retrievals:
                ref = retrieval.get("messageRef")
                expression = next((_text(c) for c in retrieval if isinstance(c.tag, str)), None)
                if not ref:
                    self._add(filename, prop, "message-no-correlation",
                              f"a retrieval expression of correlation property {_label(prop)} names no message: "
                              f"set its messageRef")
                elif ref not in messages:
                    self._add(filename, prop, "message-no-correlation",
                              f"a retrieval expression of correlation property {_label(prop)} names message "
                              f"{ref!r}, which this file does not define")
                elif not expression or not expression.strip():
                    self._add(filename, prop, "message-no-correlation",
                              f"correlation property {_label(prop)} has an empty retrieval expression for message "
                              f"{messages[ref]!r}: write the expression that reads the key from the message")
                else:
                    expressions[prop_id].add(ref)
        for key in root.iter(_q("correlationKey")):
            refs = [r.text.strip() for r in key.findall(_q("correlationPropertyRef")) if r.text and r.text.strip()]
            users = set().union(*(expressions.get(r, set()) for r in refs)) if refs else set()
            for ref in refs:
                if ref not in properties:
                    self._add(filename, key, "message-no-correlation",
                              f"correlation key {_label(key)} names correlation property {ref!r}, which this file "
                              f"does not define")
                    continue
                for message_id in sorted(users - expressions[ref]):
                    self._add(filename, properties[ref], "message-no-correlation",
                              f"correlation property {_label(properties[ref])} has no retrieval expression for "
                              f"message {messages[message_id]!r}, which correlation key {_label(key)} correlates")
        return set().union(*expressions.values()) if expressions else set()


def lint(diagrams: Mapping[str, etree._Element], roles: Mapping[tuple[str, str], str], forms: Container[str],
         context: ScriptContext | None = None) -> list[dict]:
    """Every lint finding for the BPMN trees of one deployment (filename -> root element)."""
    return Linter(diagrams, roles, forms, context).run()
