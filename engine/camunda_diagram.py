"""Convert one Camunda diagram (an lxml tree) in place and collect its report entries.

Each BPMN element type has an ``_on_<localName>`` handler that maps what it can (roles, forms,
expressions, decisions, collections) and marks tasks that cannot run here for replacement by a
script task that does nothing. Then every vendor attribute or extension still left is reported
through engine.camunda_catalog and removed, and the lanes get their roles.
"""
from __future__ import annotations

import re

from lxml import etree

from .camunda_catalog import (
    CONNECTORS_HINT,
    HUMAN_TASKS,
    IGNORED_ATTRIBUTES,
    IGNORED_EXTENSIONS,
    LOOP_ORDER,
    NOOP_RESULT,
    UNSUPPORTED_ATTRIBUTES,
    UNSUPPORTED_EXTENSIONS,
    VENDOR_NAMESPACES,
    ZEEBE_NS,
)
from .camunda_expressions import Translation, translate, translate_timer
from .camunda_tree import (
    bpmn_tag,
    element_id,
    element_name,
    has_message,
    insert_in_order,
    local_name,
    namespace_of,
    new_element,
    owning_element,
    remove,
    replace_with_noop_script,
    set_spiff_property,
    spiff_child,
    spiff_extension,
    spiff_property,
    vendor_children,
    vendor_keys,
    with_our_namespaces,
)
from .definitions import BPMN_NS, CF_NS, FORM_PROPERTY, ROLE_PATTERN


def entry(file: str | None, element: etree._Element | None, kind: str, what: str, message: str) -> dict:
    return {"file": file, "element_id": element_id(element), "element_name": element_name(element), "kind": kind,
            "what": what, "message": message}


def problem_at(file: str | None, element_id: str | None, line: int | None, message: str) -> dict:
    return {"file": file, "element_id": element_id, "line": line, "message": message}


class Diagram:
    """Converts one BPMN tree in place; collects its report entries and blocking problems."""

    def __init__(self, filename: str, root: etree._Element, roles: dict[str, str], forms: set[str]) -> None:
        self.file = filename
        self.root = with_our_namespaces(root)
        self.roles = roles
        self.roles_folded = {k.casefold(): v for k, v in roles.items()}
        self.forms = forms
        self.report: list[dict] = []
        self.problems: list[dict] = []
        # (what, why) -> the attributes seen and the elements that carried them: one entry each.
        self.ignored: dict[tuple[str, str], tuple[list[str], list[etree._Element]]] = {}
        self.task_roles: dict[str, str] = {}  # human task id -> role from its own groups or the role map
        self.noops: list[tuple[etree._Element, list[str]]] = []
        self.ids = {el.get("id") for el in self.root.iter() if isinstance(el.tag, str) and el.get("id")}
        # A diagram made for a Camunda engine (not one of ours passing through again).
        self.from_vendor = any(uri in VENDOR_NAMESPACES for uri in root.nsmap.values()) or "camunda" in (
            root.get("exporter") or "").lower()

    def add(self, element: etree._Element | None, kind: str, what: str, message: str) -> None:
        self.report.append(entry(self.file, element, kind, what, message))

    def run(self) -> None:
        if self.root.get("exporter"):
            made_by = f"{self.root.get('exporter')} {self.root.get('exporterVersion') or ''}".strip()
            self.ignore(self.root, "exporter", f"exporter {made_by!r}", "which tool wrote the file")
        for element in list(self.root.iter()):
            if not isinstance(element.tag, str) or namespace_of(element.tag) != BPMN_NS:
                continue
            handler = getattr(self, f"_on_{local_name(element)}", None)
            if handler is not None:
                handler(element)
        self._vendor_leftovers()
        for element, lines in self.noops:
            replace_with_noop_script(element, lines)
        self._lanes_and_roles()
        self._flush_ignored()

    def ignore(self, element: etree._Element, what: str, label: str, why: str) -> None:
        labels, elements = self.ignored.setdefault((what, why), ([], []))
        if label not in labels:
            labels.append(label)
        elements.append(element)

    def role_for(self, key: str) -> str | None:
        return self.roles.get(key) or self.roles_folded.get(key.casefold())

    # -- processes and messages

    def _on_process(self, process: etree._Element) -> None:
        if process.get("isExecutable", "true") != "true":
            self.add(process, "ignored", "not_executable",
                     "the process is not executable (isExecutable=false): it is not deployed; set it executable "
                     "in the modeler if it should run")
            return
        message_starts = [ref for start in process.iter(bpmn_tag("startEvent"))
                          for definition in start.iter(bpmn_tag("messageEventDefinition"))
                          if (ref := self._message_name(definition.get("messageRef")))]
        if message_starts:
            how = f"POST /api/v1/messages/{message_starts[0]} starts a case of it"
        else:
            how = ("start it from another process with the connector case.start, or give it a message start "
                   "event so POST /api/v1/messages/{name} starts it")
        self.add(process, "mapped", "process", f"process {process.get('id')!r} becomes a complaintflow process: "
                                               f"{how}")

    def _message_name(self, message_id: str | None) -> str | None:
        for message in self.root.iter(bpmn_tag("message")):
            if message.get("id") == message_id:
                return message.get("name")
        return None

    def _on_message(self, message: etree._Element) -> None:
        name = message.get("name") or ""
        if "${" in name or "#{" in name or name.startswith("="):
            self.add(message, "unsupported", "dynamic_message",
                     f"message name {name!r} is an expression; complaintflow message names are fixed text")
            return
        if name:
            self.add(message, "mapped", "message",
                     f"message {name!r} is delivered with POST /api/v1/messages/{name} and correlated by the "
                     f"case number (Camunda correlation keys are not used)")

    # -- user, manual and start events: roles and forms

    def _on_userTask(self, task: etree._Element) -> None:
        role = self._role_from_groups(task)
        if role is None and (mapped := self.role_for(task.get("id") or "")):
            role = mapped
            self.add(task, "mapped", "role_by_task_id", f"role {role} from the role map entry for the task id")
        if role is not None:
            self.task_roles[task.get("id") or ""] = role
        for assignment in vendor_children(task, "assignmentDefinition"):
            for attribute in ("assignee", "candidateUsers"):
                if value := assignment.attrib.pop(attribute, None):
                    self._leftover(task, f"{{{ZEEBE_NS}}}{attribute}", value, attribute=True)
            remove(assignment)
        self._form(task)

    def _on_manualTask(self, task: etree._Element) -> None:
        role = self.role_for(task.get("id") or "")
        if role is not None:
            self.task_roles[task.get("id") or ""] = role
            self.add(task, "mapped", "role_by_task_id", f"role {role} from the role map entry for the task id")
        self.add(task, "mapped", "manual_task",
                 "a manual task waits in its role's inbox until someone marks it done (Camunda passed straight "
                 "through manual tasks)")

    def _on_startEvent(self, event: etree._Element) -> None:
        for attribute in ("formKey", "formRef"):
            for key in vendor_keys(event, attribute):
                self.add(event, "unsupported", "start_form",
                         f"start form {event.attrib.pop(key)!r} is not shown: a case starts through the API or "
                         f"a message, with its data")

    def _role_from_groups(self, task: etree._Element) -> str | None:
        groups: list[str] = []
        for key in vendor_keys(task, "candidateGroups"):
            groups += split_groups(task.attrib.pop(key))
        for assignment in vendor_children(task, "assignmentDefinition"):
            groups += split_groups(assignment.attrib.pop("candidateGroups", ""))
        if not groups:
            return None
        dynamic = [g for g in groups if "${" in g or "#{" in g or g.startswith("=")]
        if dynamic:
            self.add(task, "unsupported", "dynamic_group",
                     f"candidate groups {', '.join(dynamic)} are computed at run time: set the task property "
                     f"roleExpression to a Python expression giving the role (e.g. \"dept:\" + department)")
            groups = [g for g in groups if g not in dynamic]
        chosen_group, chosen = None, None
        for group in groups:
            role = group if ROLE_PATTERN.match(group) else self.role_for(group)
            if role is not None:
                chosen_group, chosen = group, role
                break
        if chosen is None:
            if groups:
                self.add(task, "unsupported", "unmapped_group",
                         f"candidate group(s) {', '.join(repr(g) for g in groups)} are not role codes and not in "
                         f"the role map: add a line such as `{groups[0]} = supervisor` to the role map")
            return None
        source = "is a role code" if chosen == chosen_group else "from the role map"
        self.add(task, "mapped", "candidate_group", f"candidate group {chosen_group!r} -> role {chosen} ({source})")
        rest = [g for g in groups if g != chosen_group]
        if rest:
            self.add(task, "unsupported", "extra_candidate_group",
                     f"candidate group(s) {', '.join(repr(g) for g in rest)} not used: a complaintflow task has one "
                     f"role (a supervisor sees every queue)")
        return chosen

    def _form(self, task: etree._Element) -> None:
        keys = [task.attrib.pop(key) for attr in ("formKey", "formRef") for key in vendor_keys(task, attr)]
        for definition in vendor_children(task, "formDefinition"):
            keys += [v for v in (definition.attrib.pop("formKey", None), definition.attrib.pop("formId", None))
                     if v]
            definition.attrib.pop("externalReference", None)
            remove(definition)
        if not keys:
            return
        if spiff_property(task, FORM_PROPERTY) is not None:
            self.add(task, "ignored", "form", "the task already names its form with formJsonSchemaFilename")
            return
        key = keys[0]
        base = form_base(key)
        if base is None:
            self.add(task, "unsupported", "dynamic_form",
                     f"form {key!r} is not a fixed form name: upload a JSON Schema form and set the task property "
                     f"{FORM_PROPERTY} to its file name")
            return
        wanted = f"{base}.json"
        found = wanted if wanted in self.forms else next(
            (f for f in sorted(self.forms) if f.casefold() == wanted.casefold()), None)
        if found is None:
            self.add(task, "unsupported", "form_not_found",
                     f"form {base} not found: upload a JSON Schema form named {base}.json")
            return
        set_spiff_property(task, FORM_PROPERTY, found)
        self.add(task, "mapped", "form", f"form {key!r} -> {FORM_PROPERTY} {found}")

    # -- automated tasks

    def _on_serviceTask(self, task: etree._Element) -> None:
        self._implementation(task)

    def _on_sendTask(self, task: etree._Element) -> None:
        self._implementation(task)

    def _on_businessRuleTask(self, task: etree._Element) -> None:
        refs = [task.attrib.pop(key) for key in vendor_keys(task, "decisionRef")]
        for called in vendor_children(task, "calledDecision"):
            if decision := called.attrib.pop("decisionId", None):
                refs.append(decision)
            if called.attrib.pop("resultVariable", None):
                self.add(task, "unsupported", "result_variable",
                         "zeebe:calledDecision resultVariable is not supported: a decision's outputs land in the "
                         "case data under their own names")
            remove(called)
        if refs:
            ref = refs[0]
            if dialect := expression_dialect(ref):
                self.add(task, "unsupported", "dynamic_decision",
                         f"decision {ref!r} is a {dialect} expression: name the decision id in "
                         f"spiffworkflow:calledDecisionId")
            elif spiff_child(task, "calledDecisionId") is None:
                spiff_extension(task, "calledDecisionId").text = ref
                self.add(task, "mapped", "decision",
                         f"decision reference {ref!r} -> spiffworkflow:calledDecisionId (deploy the DMN file with it)")
            return
        if spiff_child(task, "calledDecisionId") is None:
            self._implementation(task)

    def _implementation(self, task: etree._Element) -> None:
        """A task Camunda runs with Java, an external worker, a connector or a Zeebe job: a no-op here."""
        if spiff_child(task, "serviceTaskOperator") is not None:
            return  # already one of our connectors
        found: list[tuple[str, str, str]] = []  # (what, value, sentence)
        for attribute, what, label in (("class", "java_class", "runs the Java class"),
                                       ("delegateExpression", "delegate_expression", "runs the Java delegate"),
                                       ("expression", "java_expression", "evaluates the Java expression")):
            for key in vendor_keys(task, attribute):
                found.append((what, task.attrib.pop(key), label))
        for key in vendor_keys(task, "type"):
            kind = task.attrib.pop(key)
            topic = next((task.attrib.pop(k) for k in vendor_keys(task, "topic")), "")
            found.append(("external_task", topic or kind, "waits for an external worker on the topic"))
        for connector in vendor_children(task, "connector"):
            connector_id = next(((c.text or "").strip() for c in connector.iter()
                                 if isinstance(c.tag, str) and local_name(c) == "connectorId"), "")
            found.append(("connector", connector_id, "calls the Camunda connector"))
            remove(connector)
        for definition in vendor_children(task, "taskDefinition"):
            found.append(("zeebe_job", definition.get("type") or "", "is a Zeebe job of the type"))
            remove(definition)
        if task.tag == bpmn_tag("sendTask") and not found and (task.get("messageRef") or has_message(task)):
            return  # a real BPMN send task: SpiffWorkflow throws its message
        if not found:
            found.append(("service_task", "", "has no implementation complaintflow can run"))
        for what, value, label in found:
            shown = f" {value!r}" if value else ""
            self.add(task, "unsupported", what, f"in Camunda this task {label}{shown}; complaintflow cannot run "
                                                f"it. {NOOP_RESULT} Instead: {CONNECTORS_HINT}.")
        self.noops.append((task, [f"Imported from Camunda: {label}{' ' + value if value else ''}."
                                  for _what, value, label in found] + ["Not supported here: this task does nothing."]))

    def _on_scriptTask(self, task: etree._Element) -> None:
        language = (task.get("scriptFormat") or "").strip().lower()
        resource = [task.attrib.pop(key) for key in vendor_keys(task, "resource")]
        script = task.find(bpmn_tag("script"))
        for definition in vendor_children(task, "script"):  # Zeebe: a FEEL expression as the script
            resource.append(definition.get("expression") or "")
            remove(definition)
        if resource or script is None or not (script.text or "").strip():
            self.add(task, "unsupported", "script_resource",
                     f"the script is not in the diagram{' (' + resource[0] + ')' if resource else ''}. "
                     f"{NOOP_RESULT} Write the script into the task, in Python.")
            self.noops.append((task, ["Imported from Camunda: an external script.", "Not supported here."]))
            return
        if language in ("", "python", "py", "jython", "python3"):
            if self.from_vendor:
                self.add(task, "mapped", "python_script",
                         "the script runs as restricted Python 3 (Camunda ran Jython): no imports, only the case "
                         "data and the helpers of docs/MODELING.md")
            task.set("scriptFormat", "python")
            return
        self.add(task, "unsupported", "script_language",
                 f"the script is {language}; complaintflow runs Python only. {NOOP_RESULT} The original is kept as "
                 f"a comment in the script: rewrite it in Python.")
        self.noops.append((task, [f"Imported from Camunda: a {language} script, not run here. The original:",
                                  *(script.text or "").strip().splitlines()]))

    def _on_task(self, task: etree._Element) -> None:
        self.add(task, "mapped", "plain_task",
                 "a plain task passes straight through in Camunda; here it becomes a script task that does nothing "
                 "(SpiffWorkflow would otherwise wait on it for a person)")
        self.noops.append((task, ["Imported from Camunda: a plain task, which does nothing."]))

    def _on_callActivity(self, call: etree._Element) -> None:
        for called in vendor_children(call, "calledElement"):
            process_id = called.attrib.pop("processId", None)
            called.attrib.pop("propagateAllChildVariables", None)
            if process_id and not call.get("calledElement") and not expression_dialect(process_id):
                call.set("calledElement", process_id)
                self.add(call, "mapped", "called_element", f"zeebe:calledElement -> calledElement {process_id!r}")
            elif process_id:
                self.add(call, "unsupported", "called_element",
                         f"zeebe:calledElement {process_id!r} is an expression or conflicts with calledElement: set "
                         f"calledElement to the called process id")
            remove(called)

    # -- expressions

    def _on_conditionExpression(self, element: etree._Element) -> None:
        self._expression(element, "condition")

    def _on_condition(self, element: etree._Element) -> None:
        self._expression(element, "condition")

    def _on_completionCondition(self, element: etree._Element) -> None:
        self._expression(element, "completion condition")

    def _on_loopCardinality(self, element: etree._Element) -> None:
        self._expression(element, "loop cardinality")

    def _expression(self, element: etree._Element, label: str) -> None:
        owner = owning_element(element)
        language = (element.get("language") or "").strip().lower()
        text = element.text or ""
        if language and language not in ("python", "juel", "feel", "http://www.omg.org/spec/feel/20140401"):
            message = (f"the {label} is written in {language}; complaintflow evaluates Python only: rewrite it "
                       f"in Python (e.g. amount > 1000 and approved)")
            self.add(owner, "unsupported", "expression_language", message)
            self.problems.append(problem_at(self.file, element_id(owner), element.sourceline, message))
            return
        if not text.strip():
            return
        self._apply(element, owner, translate(text), label)

    def _apply(self, element: etree._Element, owner: etree._Element, translation: Translation, label: str) -> None:
        if translation.python is None:
            self.add(owner, "unsupported", "expression",
                     f"the {label} {translation.source.strip()!r} is not translated ({translation.reason}): "
                     f"rewrite it in Python; the deploy check will point at it until then")
            return
        if translation.changed:
            element.text = translation.python
            element.attrib.pop("language", None)
            self.add(owner, "mapped", "expression" if label != "timer" else "timer",
                     f"{label} {translation.source.strip()!r} -> {translation.python}")

    def _on_timeDate(self, element: etree._Element) -> None:
        self._timer(element, "timeDate")

    def _on_timeDuration(self, element: etree._Element) -> None:
        self._timer(element, "timeDuration")

    def _on_timeCycle(self, element: etree._Element) -> None:
        self._timer(element, "timeCycle")

    def _timer(self, element: etree._Element, kind: str) -> None:
        if (element.text or "").strip():
            self._apply(element, owning_element(element), translate_timer(kind, element.text or ""), "timer")

    def _on_multiInstanceLoopCharacteristics(self, loop: etree._Element) -> None:
        owner = owning_element(loop)
        collection = next((loop.attrib.pop(k) for k in vendor_keys(loop, "collection")), None)
        item = next((loop.attrib.pop(k) for k in vendor_keys(loop, "elementVariable")), None)
        for zeebe in vendor_children(loop, "loopCharacteristics"):
            collection = collection or zeebe.attrib.pop("inputCollection", None)
            item = item or zeebe.attrib.pop("inputElement", None)
            for extra in ("outputCollection", "outputElement"):
                if zeebe.attrib.pop(extra, None):
                    self.add(owner, "unsupported", "loop_output",
                             "Zeebe output collections are not converted: use bpmn:loopDataOutputRef and "
                             "bpmn:outputDataItem")
            remove(zeebe)
        if collection is None:
            return
        name = translate(collection).python if expression_dialect(collection) else collection.strip()
        if loop.find(bpmn_tag("loopDataInputRef")) is not None or loop.find(bpmn_tag("loopCardinality")) is not None:
            self.add(owner, "ignored", "collection", "the loop already has a cardinality or an input collection")
            return
        if not name or not name.isidentifier():
            self.add(owner, "unsupported", "collection",
                     f"the collection {collection!r} is not a plain variable name: set bpmn:loopDataInputRef "
                     f"to the name of a list in the case data")
            return
        insert_in_order(loop, new_element("loopDataInputRef", name), LOOP_ORDER)
        message = f"collection {collection!r} -> loopDataInputRef {name}"
        if item:
            if item in self.ids or not re.match(r"^[A-Za-z_][\w.\-]*$", item):
                self.add(owner, "unsupported", "collection",
                         f"the element variable {item!r} is also an element id (or not a name): rename it and set "
                         f"bpmn:inputDataItem")
            else:
                data_item = new_element("inputDataItem", None)
                data_item.set("id", item)
                data_item.set("name", item)
                insert_in_order(loop, data_item, LOOP_ORDER)
                self.ids.add(item)
                message += f", element variable {item!r} -> inputDataItem {item}"
        self.add(owner, "mapped", "collection", message)

    # -- what is left of Camunda's and Zeebe's attributes and extensions

    def _vendor_leftovers(self) -> None:
        for element in list(self.root.iter()):
            if not isinstance(element.tag, str):
                continue
            owner = owning_element(element) if namespace_of(element.tag) in VENDOR_NAMESPACES else element
            for key in [k for k in element.attrib if namespace_of(k) in VENDOR_NAMESPACES]:
                self._leftover(owner, key, element.attrib.pop(key), attribute=True)
            if element.tag == bpmn_tag("extensionElements"):
                vendor = [c for c in element if isinstance(c.tag, str) and namespace_of(c.tag) in VENDOR_NAMESPACES]
                for child in vendor:
                    detail = " ".join(f"{etree.QName(k).localname}={v!r}" for k, v in child.attrib.items())
                    self._leftover(owning_element(child), child.tag, detail[:160], attribute=False)
                    remove(child)
        for extension in list(self.root.iter(bpmn_tag("extensionElements"))):
            if not any(isinstance(c.tag, str) for c in extension):
                remove(extension)

    def _leftover(self, owner: etree._Element, key: str, value: str, attribute: bool) -> None:
        prefix = VENDOR_NAMESPACES.get(namespace_of(key) or "", "vendor")
        local = etree.QName(key).localname
        shown = f"{prefix}:{local}"
        ignored = (IGNORED_ATTRIBUTES if attribute else IGNORED_EXTENSIONS).get(local)
        if ignored is not None:
            self.ignore(owner, ignored[0], shown, ignored[1])
            return
        unsupported = (UNSUPPORTED_ATTRIBUTES if attribute else UNSUPPORTED_EXTENSIONS).get(local)
        if unsupported is not None:
            what, why = unsupported
            detail = (f" {value!r}" if attribute else f" ({value})") if value else ""
            self.add(owner, "unsupported", what, f"{shown}{detail} is not supported: {why}")
            return
        kind = "attribute" if attribute else "extension"
        detail = (f" {value!r}" if attribute else f" ({value})") if value else ""
        self.add(owner, "unsupported", f"{prefix}_{kind}",
                 f"{shown}{detail} is not understood by complaintflow and was removed")

    def _flush_ignored(self) -> None:
        for (what, why), (labels, elements) in sorted(self.ignored.items()):
            ids = list(dict.fromkeys(element_id(e) or etree.QName(e).localname for e in elements))
            shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
            single = elements[0] if len(ids) == 1 else None
            self.report.append(entry(self.file, single, "ignored", what,
                                     f"{', '.join(labels)}: {why} (on {shown})"))

    # -- lanes: complaintflow routes each human task by its lane's role

    def _lanes_and_roles(self) -> None:
        lanes = list(self.root.iter(bpmn_tag("lane")))
        human = {el.get("id"): el for el in self.root.iter(*(bpmn_tag(t) for t in HUMAN_TASKS)) if el.get("id")}
        in_lane: dict[str, etree._Element] = {}
        for lane in lanes:  # document order: an inner lane comes after its outer lane and wins
            for ref in lane.findall(bpmn_tag("flowNodeRef")):
                if ref.text and ref.text.strip():
                    in_lane[ref.text.strip()] = lane
        for lane in reversed(lanes):  # inner lanes first: an outer lane may borrow a sub-lane's role
            self._lane_role(lane, human, in_lane)
        for task_id, task in human.items():
            role = self.task_roles.get(task_id)
            if role is None:
                continue
            lane = in_lane.get(task_id)
            if lane is None:
                if spiff_property(task, "role") is None:
                    set_spiff_property(task, "role", role)
                continue
            lane_role = lane.get(f"{{{CF_NS}}}role") or (lane.get("name") or "").strip()
            if ROLE_PATTERN.match(lane_role) and lane_role != role:
                self.add(task, "unsupported", "lane_overrides_task_role",
                         f"the task's groups give role {role}, but its lane {lane.get('id')!r} gives {lane_role}; "
                         f"the lane decides in complaintflow: move the task to a lane of role {role} if that is "
                         f"who should work it")

    def _lane_role(self, lane: etree._Element, human: dict, in_lane: dict) -> None:
        lane_id, name = lane.get("id") or "", (lane.get("name") or "").strip()
        current = lane.get(f"{{{CF_NS}}}role")
        if current and ROLE_PATTERN.match(current):
            return
        mapped = self.role_for(lane_id) or (self.role_for(name) if name else None)
        if mapped:
            lane.set(f"{{{CF_NS}}}role", mapped)
            self.add(lane, "mapped", "lane_role", f"lane {name or lane_id!r} -> cf:role {mapped} (role map)")
            return
        if ROLE_PATTERN.match(name):
            self.add(lane, "mapped", "lane_role", f"the lane name {name!r} is a role code")
            return
        own = [t for t, owning in in_lane.items() if owning is lane and t in human]
        roles = sorted({self.task_roles[t] for t in own if t in self.task_roles})
        unrouted = [t for t in own if t not in self.task_roles]
        if len(roles) == 1 and not unrouted:
            lane.set(f"{{{CF_NS}}}role", roles[0])
            self.add(lane, "mapped", "lane_role",
                     f"lane {name or lane_id!r} -> cf:role {roles[0]}, the role of the tasks in it")
            return
        if not own:
            inner = [child.get(f"{{{CF_NS}}}role") for child in lane.iter(bpmn_tag("lane"))
                     if child is not lane and child.get(f"{{{CF_NS}}}role")]
            if inner:
                lane.set(f"{{{CF_NS}}}role", inner[0])
                self.add(lane, "mapped", "lane_role",
                         f"lane {name or lane_id!r} holds no task of its own: cf:role {inner[0]} from its first "
                         f"sub-lane (its tasks follow their sub-lanes)")
                return
        if len(roles) > 1:
            why = f"its tasks have different roles ({', '.join(roles)})"
        elif own:
            why = f"tasks {', '.join(unrouted)} in it have no role"
        else:
            why = "it holds no user task to take a role from"
        self.add(lane, "unsupported", "lane_without_role",
                 f"lane {name or lane_id!r} has no role: {why}; complaintflow routes work by lane. Add a line "
                 f"`{name or lane_id} = <role>` to the role map (e.g. supervisor or dept:network)")


def split_groups(value: str) -> list[str]:
    value = value.strip()
    feel_list = re.match(r'^=\s*\[(.*)\]$', value)
    if feel_list:
        return [g.strip().strip('"') for g in feel_list.group(1).split(",") if g.strip().strip('"')]
    if value.startswith("="):
        return [value]
    return [g.strip() for g in value.split(",") if g.strip()]


def expression_dialect(value: str) -> str | None:
    stripped = value.strip()
    if stripped.startswith(("${", "#{")):
        return "JUEL"
    if stripped.startswith("="):
        return "FEEL"
    return None


def form_base(key: str) -> str | None:
    """``embedded:app:forms/approve-invoice.html`` -> ``approve-invoice``; None for an expression."""
    if expression_dialect(key) or "${" in key or "#{" in key:
        return None
    last = re.split(r"[:/\\]", key.strip())[-1]
    base = re.sub(r"\.(html?|form|json)$", "", last, flags=re.IGNORECASE)
    return base if re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,180}$", base) else None
