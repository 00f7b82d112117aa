"""Importing Camunda Modeler / bpmn.io diagrams (engine.camunda_import, engine.camunda_expressions).

Unit tests per mapping and per unsupported construct on small inline diagrams; the engine and
API path (convert, check with the working set, deploy); and every real Camunda example of the
shared third-party folder through both POST /process-definitions and POST .../import.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from lxml import etree

from engine import camunda_import
from engine.camunda_catalog import SPIFF_NS
from engine.camunda_expressions import translate, translate_timer
from engine.camunda_import import check_role_map, convert, parse_role_map
from engine.config import PROJECT_ROOT
from engine.definitions import BPMN_NS, CF_NS, ModelBuilder, to_model_files
from engine.errors import ValidationFailed
from engine.scripting import check_source
from engine.service import UploadedFile
from engine.viewer import SYSTEM

pytest_plugins = ["tests.web_fixtures"]

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "cf": CF_NS}
FORM = json.dumps({"type": "object", "properties": {"approved": {"type": "boolean", "title": "批准"}},
                   "required": ["approved"]}).encode()


def diagram(body: str, *, process: str = 'id="p" name="P" isExecutable="true"', before: str = "",
            definitions: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:camunda="{CAMUNDA}" xmlns:zeebe="{ZEEBE}"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://example.org" {definitions}>
  {before}
  <bpmn:process {process}>
{body}
  </bpmn:process>
</bpmn:definitions>""".encode()


def one(body: str, role_map: dict | None = None, forms: tuple[str, ...] = (), extra: list | None = None,
        **kwargs) -> tuple[etree._Element, list[dict], camunda_import.Conversion]:  # noqa: ANN003
    conversion = convert([("d.bpmn", diagram(body, **kwargs)), *(extra or [])], role_map, known_forms=forms)
    content = dict(conversion.files)["d.bpmn"]
    return etree.fromstring(content), conversion.report, conversion


def entries(report: list[dict], what: str, element_id: str | None = None) -> list[dict]:
    return [e for e in report if e["what"] == what and (element_id is None or e["element_id"] == element_id)]


def prop(root: etree._Element, element_id: str, name: str) -> str | None:
    found = root.xpath(f"//*[@id='{element_id}']/bpmn:extensionElements/spiffworkflow:properties/"
                       f"spiffworkflow:property[@name='{name}']/@value", namespaces=NS)
    return found[0] if found else None


def element(root: etree._Element, element_id: str) -> etree._Element:
    return root.xpath(f"//*[@id='{element_id}']")[0]


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def build_problems(files: list[tuple[str, bytes]]) -> list[dict]:
    return ModelBuilder().build(to_model_files(files, 10**7)).problems


USER = '<bpmn:userTask id="{id}" name="{name}" {attrs}/>'
# Start -> one user task -> end: the smallest process that deploys.
SIMPLE = ('<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="s1" sourceRef="S" targetRef="A"/>'
          '<bpmn:userTask id="A" name="A" {attrs}/>'
          '<bpmn:sequenceFlow id="s2" sourceRef="A" targetRef="E"/><bpmn:endEvent id="E"/>')


# --- expressions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("juel", "python"), [
    ("${approved}", "approved"),
    ("${!approved}", "not approved"),
    ("#{!approved}", "not approved"),
    ("${not approved}", "not approved"),
    ("${amount > 1000 && x == 'a'}", "amount > 1000 and x == 'a'"),
    ("${x eq 'y'}", "x == 'y'"),
    ("${a ne 1 and b lt 2 or c ge 3.5}", "a != 1 and b < 2 or c >= 3.5"),
    ("${empty x}", "x in (None, '', [], {})"),
    ("${x == null || y != true}", "x == None or y != True"),
    ("${!a == b}", "(not a) == b"),
    ("${!(a && b)}", "not (a and b)"),
    ("${a < b < c}", "(a < b) < c"),
    ("${n div 2 mod 3 + -m}", "n / 2 % 3 + -m"),
    ("${ok ? 'yes' : 'no'}", "'yes' if ok else 'no'"),
    ("${'it\\'s'}", '"it\'s"'),
    ("= amount > 1000 and not(approved)", "amount > 1000 and not approved"),
    ('= status = "open"', "status == 'open'"),
])
def test_simple_juel_and_feel_become_python(juel: str, python: str) -> None:
    translation = translate(juel)
    assert translation.python == python, translation.reason
    assert check_source(python, "eval") == []


def test_translated_operators_mean_what_juel_means() -> None:
    empty = translate("${empty x}").python
    assert [eval(empty, {"x": v}) for v in (None, "", [], {}, 0, False, "a", [1])] == [  # noqa: S307
        True, True, True, True, False, False, False, False]
    negation = translate("${!a == b}").python
    assert eval(negation, {"a": False, "b": True}) is True  # noqa: S307 - (not a) == b, not not (a == b)


@pytest.mark.parametrize("juel", [
    "${execution.getVariable('x')}", "${invoice.amount > 5}", "${task.assignee}", "${nrOfInstances > 2}",
    "${x} and ${y}", "${fn:contains(a, b)}", "${class}", "${list[0]}", "${ }", "${a ==}", "${_secret}",
])
def test_what_cannot_be_translated_safely_is_refused_with_a_reason(juel: str) -> None:
    translation = translate(juel)
    assert translation.python is None and translation.reason


def test_plain_text_is_left_alone() -> None:
    assert translate("approved and amount > 5").python == "approved and amount > 5"
    assert not translate("approved").changed


@pytest.mark.parametrize(("kind", "text", "python"), [
    ("timeDuration", "PT5M", '"PT5M"'),
    ("timeDuration", " P2DT3H ", '"P2DT3H"'),
    ("timeCycle", "R3/PT10M", '"R3/PT10M"'),
    ("timeDate", "2026-01-01T00:00:00Z", '"2026-01-01T00:00:00Z"'),
    ("timeDuration", "${reminder}", "reminder"),
    ("timeDate", '"2026-01-01T00:00:00+08:00"', '"2026-01-01T00:00:00+08:00"'),
])
def test_iso_timers_become_quoted_python_strings(kind: str, text: str, python: str) -> None:
    assert translate_timer(kind, text).python == python


@pytest.mark.parametrize(("kind", "text"), [
    ("timeCycle", "0/5 0/1 * 1/1 * ?"), ("timeDuration", "five minutes"), ("timeDate", "PT5M"),
    ("timeDuration", "${dateTime().plusDays(1)}"),
])
def test_timers_that_are_not_iso_are_refused(kind: str, text: str) -> None:
    assert translate_timer(kind, text).python is None


# --- roles -----------------------------------------------------------------------------------------


def test_a_candidate_group_that_is_a_role_code_becomes_the_task_role() -> None:
    root, report, _ = one(USER.format(id="Approve", name="审批", attrs='camunda:candidateGroups="supervisor"'))
    assert prop(root, "Approve", "role") == "supervisor"
    assert entries(report, "candidate_group", "Approve")[0]["kind"] == "mapped"
    assert entries(report, "candidate_group", "Approve")[0]["element_name"] == "审批"
    assert not element(root, "Approve").get(f"{{{CAMUNDA}}}candidateGroups")


def test_the_role_map_maps_groups_and_the_first_mapped_group_wins() -> None:
    root, report, _ = one(USER.format(id="A", name="A", attrs='camunda:candidateGroups="sales, management, it"'),
                          role_map={"management": "supervisor", "it": "dept:network"})
    assert prop(root, "A", "role") == "supervisor"
    assert "from the role map" in entries(report, "candidate_group", "A")[0]["message"]
    rest = entries(report, "extra_candidate_group", "A")[0]
    assert rest["kind"] == "unsupported" and "'sales'" in rest["message"] and "'it'" in rest["message"]


def test_a_group_nobody_mapped_is_reported_with_the_line_to_add() -> None:
    root, report, _ = one(USER.format(id="A", name="A", attrs='camunda:candidateGroups="accounting"'))
    assert prop(root, "A", "role") is None
    found = entries(report, "unmapped_group", "A")[0]
    assert found["kind"] == "unsupported" and "accounting = " in found["message"]


def test_role_map_keys_match_groups_case_insensitively_and_may_name_a_task() -> None:
    root, report, _ = one(USER.format(id="A", name="A", attrs='camunda:candidateGroups="Management"')
                          + USER.format(id="B", name="B", attrs='camunda:assignee="demo"'),
                          role_map={"management": "supervisor", "B": "dept:billing"})
    assert prop(root, "A", "role") == "supervisor"
    assert prop(root, "B", "role") == "dept:billing"
    assert entries(report, "role_by_task_id", "B")


def test_assignees_and_candidate_users_are_not_supported() -> None:
    _root, report, _ = one(USER.format(id="A", name="A", attrs='camunda:assignee="demo" '
                                                                'camunda:candidateUsers="mary,john"'))
    assert entries(report, "assignee", "A")[0]["kind"] == "unsupported"
    assert entries(report, "candidate_users", "A")[0]["kind"] == "unsupported"


def test_lanes_get_their_role_from_the_role_map_or_from_their_tasks() -> None:
    lanes = """<bpmn:laneSet id="Lanes">
      <bpmn:lane id="Lane_mgmt" name="Management"><bpmn:flowNodeRef>Review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_ops" name="Operations"><bpmn:flowNodeRef>Fix</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Check</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_mixed" name="Mixed"><bpmn:flowNodeRef>One</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Two</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_bots" name="Automated"><bpmn:flowNodeRef>Robot</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>"""
    tasks = "".join([
        USER.format(id="Review", name="R", attrs='camunda:assignee="boss"'),
        USER.format(id="Fix", name="F", attrs='camunda:candidateGroups="ops"'),
        USER.format(id="Check", name="C", attrs='camunda:candidateGroups="dept:network"'),
        USER.format(id="One", name="1", attrs='camunda:candidateGroups="intake"'),
        USER.format(id="Two", name="2", attrs='camunda:candidateGroups="dispatcher"'),
        '<bpmn:serviceTask id="Robot" camunda:class="a.B"/>',
    ])
    root, report, _ = one(lanes + tasks, role_map={"Management": "supervisor", "ops": "dept:network"})
    assert element(root, "Lane_mgmt").get(f"{{{CF_NS}}}role") == "supervisor"
    assert element(root, "Lane_ops").get(f"{{{CF_NS}}}role") == "dept:network"
    assert element(root, "Lane_mixed").get(f"{{{CF_NS}}}role") is None
    assert element(root, "Lane_bots").get(f"{{{CF_NS}}}role") is None
    assert prop(root, "Fix", "role") is None  # the lane routes it
    assert {e["element_id"] for e in entries(report, "lane_without_role")} == {"Lane_mixed", "Lane_bots"}
    assert "Automated = " in entries(report, "lane_without_role", "Lane_bots")[0]["message"]


# --- forms -------------------------------------------------------------------------------------


def test_an_embedded_form_key_uses_the_uploaded_json_form_of_the_same_name() -> None:
    root, report, conversion = one(
        USER.format(id="A", name="A", attrs='camunda:candidateGroups="supervisor" '
                                           'camunda:formKey="embedded:app:forms/approve-invoice.html"'),
        extra=[("approve-invoice.json", FORM)])
    assert prop(root, "A", "formJsonSchemaFilename") == "approve-invoice.json"
    assert entries(report, "form", "A")[0]["kind"] == "mapped"
    assert ("approve-invoice.json", FORM) in conversion.files  # the form travels with the diagram


def test_camunda_forms_and_form_refs_use_deployed_forms() -> None:
    root, _report, _ = one(
        USER.format(id="A", name="A", attrs='camunda:formKey="camunda-forms:deployment:review.form"')
        + USER.format(id="B", name="B", attrs='camunda:formRef="decide"'),
        forms=("review.json", "decide.json"))
    assert prop(root, "A", "formJsonSchemaFilename") == "review.json"
    assert prop(root, "B", "formJsonSchemaFilename") == "decide.json"


def test_a_form_that_is_not_at_hand_is_reported_with_the_file_to_upload() -> None:
    root, report, _ = one(USER.format(id="A", name="A", attrs='camunda:formKey="embedded:app:task-form.html"'))
    assert prop(root, "A", "formJsonSchemaFilename") is None
    found = entries(report, "form_not_found", "A")[0]
    assert found["message"] == "form task-form not found: upload a JSON Schema form named task-form.json"


def test_start_forms_and_generated_forms_are_not_supported() -> None:
    _root, report, _ = one('<bpmn:startEvent id="S" camunda:formKey="embedded:app:start.html">'
                           '<bpmn:extensionElements><camunda:formData><camunda:formField id="age" type="long"/>'
                           '</camunda:formData></bpmn:extensionElements></bpmn:startEvent>')
    assert entries(report, "start_form", "S") and entries(report, "generated_form", "S")


# --- conditions and timers -----------------------------------------------------------------------------

GATEWAY = """
    <bpmn:startEvent id="S"/><bpmn:sequenceFlow id="f0" sourceRef="S" targetRef="G"/>
    <bpmn:exclusiveGateway id="G" default="f3"/>
    <bpmn:sequenceFlow id="f1" sourceRef="G" targetRef="E1">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{c1}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="G" targetRef="E2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{c2}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="G" targetRef="E3"/>
    <bpmn:endEvent id="E1"/><bpmn:endEvent id="E2"/><bpmn:endEvent id="E3"/>"""


def test_juel_conditions_on_flows_become_python() -> None:
    root, report, _ = one(GATEWAY.format(c1="${amount &gt; 1000 &amp;&amp; region eq 'urban'}",
                                         c2="#{!approved}"))
    condition = root.xpath("//*[@id='f1']/bpmn:conditionExpression/text()", namespaces=NS)[0]
    assert condition == "amount > 1000 and region == 'urban'"
    assert root.xpath("//*[@id='f2']/bpmn:conditionExpression/text()", namespaces=NS)[0] == "not approved"
    assert {e["element_id"] for e in entries(report, "expression")} == {"f1", "f2"}


def test_an_untranslatable_condition_is_left_for_the_deploy_check_to_point_at() -> None:
    root, report, conversion = one(GATEWAY.format(c1="${execution.getVariable('x') == 1}", c2="${ok}"))
    assert root.xpath("//*[@id='f1']/bpmn:conditionExpression/text()", namespaces=NS)[0].startswith("${")
    found = entries(report, "expression", "f1")[0]
    assert found["kind"] == "unsupported" and "execution" in found["message"]
    problems = build_problems(conversion.files)
    assert any(p["element_id"] == "G" and "f1" not in (p["element_id"] or "") for p in problems)


def test_a_condition_in_another_script_language_blocks_the_import() -> None:
    _root, report, conversion = one(GATEWAY.format(c1="approved == true", c2="${ok}").replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approved',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">approved'))
    assert entries(report, "expression_language", "f1")
    assert [p["element_id"] for p in conversion.problems] == ["f1"] and conversion.problems[0]["line"]


def test_timers_become_quoted_iso_strings_or_are_reported() -> None:
    body = """<bpmn:userTask id="T" camunda:candidateGroups="intake"/>
      <bpmn:boundaryEvent id="Remind" attachedToRef="T" cancelActivity="false">
        <bpmn:timerEventDefinition id="Def1"><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition>
      </bpmn:boundaryEvent>
      <bpmn:boundaryEvent id="Repeat" attachedToRef="T" cancelActivity="false">
        <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition>
      </bpmn:boundaryEvent>
      <bpmn:intermediateCatchEvent id="Until">
        <bpmn:timerEventDefinition><bpmn:timeDate>${due}</bpmn:timeDate></bpmn:timerEventDefinition>
      </bpmn:intermediateCatchEvent>
      <bpmn:intermediateCatchEvent id="Cron">
        <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle></bpmn:timerEventDefinition>
      </bpmn:intermediateCatchEvent>"""
    root, report, _ = one(body)
    texts = {e: root.xpath(f"//*[@id='{e}']//bpmn:timerEventDefinition/*/text()", namespaces=NS)[0]
             for e in ("Remind", "Repeat", "Until", "Cron")}
    assert texts == {"Remind": '"PT5M"', "Repeat": '"R3/PT10M"', "Until": "due", "Cron": "0 0 9 * * ?"}
    assert {e["element_id"] for e in entries(report, "timer")} == {"Remind", "Repeat", "Until"}
    assert "cron" in entries(report, "expression", "Cron")[0]["message"]


# --- automated tasks --------------------------------------------------------------------------------


@pytest.mark.parametrize(("attrs", "extension", "what"), [
    ('camunda:class="org.example.Charge"', "", "java_class"),
    ('camunda:delegateExpression="${chargeDelegate}"', "", "delegate_expression"),
    ('camunda:expression="${billing.charge(amount)}"', "", "java_expression"),
    ('camunda:type="external" camunda:topic="charge"', "", "external_task"),
    ("", "<camunda:connector><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>",
     "connector"),
    ("", '<zeebe:taskDefinition type="charge"/>', "zeebe_job"),
    ("", "", "service_task"),
])
def test_service_tasks_camunda_runs_become_script_tasks_that_do_nothing(attrs: str, extension: str,
                                                                        what: str) -> None:
    ext = f"<bpmn:extensionElements>{extension}</bpmn:extensionElements>" if extension else ""
    root, report, _ = one(f'<bpmn:serviceTask id="Charge" name="扣费" implementation="##WebService" {attrs}>{ext}'
                          f"<bpmn:incoming>x</bpmn:incoming></bpmn:serviceTask>")
    task = element(root, "Charge")
    assert local(task) == "scriptTask" and task.get("name") == "扣费" and task.get("implementation") is None
    script = task.find(f"{{{BPMN_NS}}}script").text
    assert check_source(script, "exec") == [] and script.rstrip().endswith("pass")
    assert task.find(f"{{{BPMN_NS}}}incoming") is not None  # flows stay attached
    found = entries(report, what, "Charge")[0]
    assert found["kind"] == "unsupported" and "does nothing" in found["message"] and "sms.send" in found["message"]
    assert not [k for k in task.attrib if k.startswith("{http://camunda.org")]


def test_a_script_in_another_language_is_kept_only_as_a_comment() -> None:
    root, report, _ = one('<bpmn:scriptTask id="Greet" scriptFormat="groovy">'
                          "<bpmn:script>println 'hello'; x = 1</bpmn:script></bpmn:scriptTask>"
                          '<bpmn:scriptTask id="Py" scriptFormat="python"><bpmn:script>y = 2</bpmn:script>'
                          "</bpmn:scriptTask>")
    script = element(root, "Greet").find(f"{{{BPMN_NS}}}script").text
    assert "# println 'hello'; x = 1" in script and "\nx = 1" not in script
    assert entries(report, "script_language", "Greet")[0]["kind"] == "unsupported"
    assert element(root, "Py").find(f"{{{BPMN_NS}}}script").text == "y = 2"
    assert entries(report, "python_script", "Py")[0]["kind"] == "mapped"


def test_a_plain_task_passes_through_instead_of_waiting_for_a_person() -> None:
    root, report, _ = one('<bpmn:task id="Note" name="Send notice"/>')
    assert local(element(root, "Note")) == "scriptTask"
    assert entries(report, "plain_task", "Note")[0]["kind"] == "mapped"


def test_a_decision_reference_names_the_dmn_decision() -> None:
    root, report, _ = one('<bpmn:businessRuleTask id="Rules" camunda:decisionRef="sla_policy" '
                          'camunda:resultVariable="policy" camunda:mapDecisionResult="singleResult"/>')
    called = root.xpath("//*[@id='Rules']/bpmn:extensionElements/spiffworkflow:calledDecisionId/text()",
                        namespaces=NS)
    assert called == ["sla_policy"] and entries(report, "decision", "Rules")
    assert entries(report, "result_variable", "Rules")


def test_a_collection_becomes_the_loop_input_and_the_element_variable_its_item() -> None:
    root, report, _ = one('<bpmn:userTask id="Each" camunda:candidateGroups="intake">'
                          '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}" '
                          'camunda:elementVariable="department"/></bpmn:userTask>')
    loop = element(root, "Each").find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    assert [local(c) for c in loop] == ["loopDataInputRef", "inputDataItem"]
    assert loop[0].text == "departments" and loop[1].get("id") == "department"
    assert entries(report, "collection", "Each")[0]["kind"] == "mapped"


# --- what else Camunda carries -----------------------------------------------------------------------


def test_input_output_listeners_and_variable_mappings_are_reported_and_removed() -> None:
    root, report, _ = one("""
      <bpmn:userTask id="A" camunda:candidateGroups="intake"><bpmn:extensionElements>
        <camunda:inputOutput><camunda:inputParameter name="x">1</camunda:inputParameter></camunda:inputOutput>
        <camunda:taskListener class="a.B" event="create"/>
      </bpmn:extensionElements></bpmn:userTask>
      <bpmn:callActivity id="Sub" calledElement="other"><bpmn:extensionElements>
        <camunda:in source="a" target="b"/><camunda:executionListener expression="${x}" event="end"/>
      </bpmn:extensionElements></bpmn:callActivity>""")
    assert entries(report, "input_output", "A") and entries(report, "listener", "A")
    assert entries(report, "variable_mapping", "Sub") and entries(report, "listener", "Sub")
    assert "preScript" in entries(report, "listener", "A")[0]["message"]
    assert entries(report, "called_process_missing", "Sub")
    assert not root.xpath("//*[namespace-uri()='http://camunda.org/schema/1.0/bpmn']")
    assert element(root, "Sub").find(f"{{{BPMN_NS}}}extensionElements") is None


def test_harmless_attributes_are_ignored_in_one_entry_per_kind() -> None:
    body = "".join(f'<bpmn:userTask id="T{i}" camunda:candidateGroups="intake" camunda:asyncBefore="true"/>'
                   for i in range(3))
    _root, report, _ = one(body, process='id="p" isExecutable="true" camunda:historyTimeToLive="P180D" '
                                         'camunda:versionTag="1.2"', definitions='exporter="Camunda Modeler"')
    async_entries = [e for e in report if e["what"] == "async"]
    assert len(async_entries) == 1 and async_entries[0]["kind"] == "ignored"
    assert all(f"T{i}" in async_entries[0]["message"] for i in range(3)) and async_entries[0]["element_id"] is None
    assert entries(report, "history_time_to_live", "p") and entries(report, "version_tag", "p")
    assert entries(report, "exporter")[0]["kind"] == "ignored"


def test_an_unknown_camunda_attribute_is_reported_not_silently_dropped() -> None:
    _root, report, _ = one('<bpmn:userTask id="A" camunda:candidateGroups="intake" camunda:fancyNew="1"/>')
    found = entries(report, "camunda_attribute", "A")[0]
    assert found["kind"] == "unsupported" and "camunda:fancyNew" in found["message"]


def test_zeebe_assignment_forms_and_jobs_are_read() -> None:
    root, report, _ = one("""
      <bpmn:userTask id="Z"><bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="=[&quot;management&quot;]" assignee="demo"/>
        <zeebe:formDefinition formKey="camunda-forms:bundled:approve"/>
      </bpmn:extensionElements></bpmn:userTask>
      <bpmn:sequenceFlow id="f" sourceRef="Z" targetRef="Z">
        <bpmn:conditionExpression>= amount &gt; 5 and not(flagged)</bpmn:conditionExpression></bpmn:sequenceFlow>""",
                          role_map={"management": "supervisor"}, forms=("approve.json",))
    assert prop(root, "Z", "role") == "supervisor"
    assert prop(root, "Z", "formJsonSchemaFilename") == "approve.json"
    assert entries(report, "assignee", "Z")
    assert root.xpath("//*[@id='f']/bpmn:conditionExpression/text()", namespaces=NS) == ["amount > 5 and not flagged"]
    assert not root.xpath(f"//*[namespace-uri()='{ZEEBE}']")


def test_element_ids_and_layout_are_kept() -> None:
    source = (PROJECT_ROOT / "tests" / "models" / "basic" / "processes" / "complaint_intake.bpmn").read_bytes()
    conversion = convert([("complaint_intake.bpmn", source)])
    ids_before = {e.get("id") for e in etree.fromstring(source).iter() if isinstance(e.tag, str) and e.get("id")}
    after = etree.fromstring(dict(conversion.files)["complaint_intake.bpmn"])
    assert {e.get("id") for e in after.iter() if isinstance(e.tag, str) and e.get("id")} == ids_before
    assert not conversion.problems
    assert not [e for e in conversion.report if e["kind"] == "unsupported"]  # already ours: nothing to do


# --- input that is not a Camunda diagram ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "what"), [
    ("broken.bpmn", b"<bpmn:definitions xmlns:bpmn='x'><unclosed>", "unreadable_file"),
    ("xxe.bpmn", b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>',
     "unreadable_file"),
    ("decision.bpmn", b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>', "not_bpmn"),
    ("garbage.bpmn", bytes(range(256)) * 4, "unreadable_file"),
    ("empty.bpmn", b"", "unreadable_file"),
    ("huge.bpmn", b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>", "unreadable_file"),
])
def test_a_file_that_is_not_a_readable_diagram_is_a_finding_not_a_crash(name: str, content: bytes,
                                                                        what: str) -> None:
    conversion = convert([(name, content)])
    assert conversion.files == []
    assert entries(conversion.report, what)[0]["file"] == name
    assert [p["file"] for p in conversion.problems] == [name]


def test_files_that_are_no_model_are_left_out_with_a_hint() -> None:
    conversion = convert([("task-form.html", b"<form/>"), ("x.form", b"{}"), ("my diagram.xml",
                                                                          diagram("<bpmn:startEvent id='S'/>"))])
    assert [name for name, _ in conversion.files] == ["my_diagram.bpmn"]
    hints = {e["file"]: e["message"] for e in entries(conversion.report, "unsupported_file")}
    assert "x.json" not in hints["x.form"] and ".json" in hints["x.form"] and ".json" in hints["task-form.html"]
    assert entries(conversion.report, "renamed_file")[0]["file"] == "my_diagram.bpmn"


def test_a_file_given_twice_blocks_the_import() -> None:
    conversion = convert([("a.bpmn", diagram("")), ("a.bpmn", diagram(""))])
    assert len(conversion.files) == 1 and conversion.problems[0]["file"] == "a.bpmn"


def test_the_role_map_text_is_read_line_by_line_and_checked() -> None:
    assert parse_role_map("management = supervisor\n# comment\n\nit=dept:network  # ops") == {
        "management": "supervisor", "it": "dept:network"}
    with pytest.raises(ValidationFailed) as bad_role:
        parse_role_map("management = boss")
    assert "role_map" in bad_role.value.fields
    with pytest.raises(ValidationFailed):
        parse_role_map("management supervisor")
    with pytest.raises(ValidationFailed):
        check_role_map(["management"])


# --- the engine: convert, check, deploy, run -----------------------------------------------------------

RUNNABLE = """
    <bpmn:laneSet id="Lanes">
      <bpmn:lane id="Lane_front" name="Front office"><bpmn:flowNodeRef>Begin</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Review</bpmn:flowNodeRef><bpmn:flowNodeRef>Charge</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Decide</bpmn:flowNodeRef><bpmn:flowNodeRef>Done</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Rejected</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_back" name="Back office"><bpmn:flowNodeRef>Approve</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Begin" name="收到"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Begin" targetRef="Review"/>
    <bpmn:userTask id="Review" name="初审" camunda:candidateGroups="frontline" camunda:asyncBefore="true"
                   camunda:formKey="embedded:app:forms/review.html"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Review" targetRef="Charge"/>
    <bpmn:serviceTask id="Charge" name="扣费" camunda:class="org.example.Charge"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Charge" targetRef="Decide"/>
    <bpmn:exclusiveGateway id="Decide" name="批准?" default="f5"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Decide" targetRef="Approve">
      <bpmn:conditionExpression>${approved &amp;&amp; amount gt 1000}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="Decide" targetRef="Rejected"/>
    <bpmn:userTask id="Approve" name="复核" camunda:candidateGroups="management"/>
    <bpmn:sequenceFlow id="f6" sourceRef="Approve" targetRef="Done"/>
    <bpmn:endEvent id="Done"/><bpmn:endEvent id="Rejected"/>"""


def test_an_imported_diagram_deploys_and_runs_with_its_roles(engine) -> None:  # noqa: ANN001
    files = [UploadedFile("refund.bpmn", diagram(RUNNABLE, process='id="refund" name="退款" isExecutable="true"')),
             UploadedFile("review.json", FORM)]
    role_map = {"frontline": "intake", "management": "supervisor"}
    checked = engine.import_models(files, "owner", role_map)
    assert checked["deployed"] is None
    assert not [p for p in checked["problems"] if p.get("severity", "error") == "error"], checked["problems"]
    assert not [d for d in engine.list_definitions() if d["process_id"] == "refund"]  # nothing stored yet
    result = engine.import_models(files, "owner", role_map, deploy=True)
    assert [d["process_id"] for d in result["deployed"]["definitions"] if d["created"]] == ["refund"]

    case = engine.start("refund", {"amount": 5000}, "owner")
    [review] = case["tasks"]
    assert (review["bpmn_id"], review["role"]) == ("Review", "intake")
    assert engine.get_task(review["id"], SYSTEM)["form"]["required"] == ["approved"]
    after = engine.complete(review["id"], SYSTEM, {"approved": True})["case"]
    [approve] = after["tasks"]  # the Java task passed straight through; the JUEL condition held
    assert (approve["bpmn_id"], approve["role"]) == ("Approve", "supervisor")


def test_an_import_with_a_broken_file_is_never_deployed(engine) -> None:  # noqa: ANN001
    files = [UploadedFile("good.bpmn", diagram(SIMPLE.format(attrs='camunda:candidateGroups="intake"'),
                                               process='id="good" isExecutable="true"')),
             UploadedFile("bad.bpmn", b"<definitions")]
    result = engine.import_models(files, "owner", deploy=True)
    assert result["deployed"] is None and any(p["file"] == "bad.bpmn" for p in result["problems"])
    assert not [d for d in engine.list_definitions() if d["process_id"] == "good"]


def test_a_problem_without_an_element_is_pointed_at_the_call_that_causes_it(engine) -> None:  # noqa: ANN001
    body = ('<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="a" sourceRef="S" targetRef="Call"/>'
            '<bpmn:callActivity id="Call" calledElement="nowhere_process"/>'
            '<bpmn:sequenceFlow id="b" sourceRef="Call" targetRef="E"/><bpmn:endEvent id="E"/>')
    result = engine.import_models([UploadedFile("calls.bpmn", diagram(body))], "owner")
    assert entries(result["report"], "called_process_missing", "Call")
    assert result["problems"] and all(p["element_id"] for p in result["problems"])
    assert any(p["element_id"] == "Call" and p["line"] for p in result["problems"])


# --- the API ------------------------------------------------------------------------------------------


def _post(client: FlaskClient, headers: dict, files: list[tuple[str, bytes]], **fields: str):  # noqa: ANN202
    from io import BytesIO

    data: dict = {"files": [(BytesIO(content), name) for name, content in files], **fields}
    return client.post("/api/v1/process-definitions/import", data=data, headers=headers,
                       content_type="multipart/form-data")


def test_the_import_api_is_for_process_owners(client: FlaskClient, headers_for) -> None:  # noqa: ANN001
    files = [("a.bpmn", diagram(USER.format(id="A", name="A", attrs='camunda:candidateGroups="intake"')))]
    assert _post(client, headers_for("dispatcher"), files).status_code == 403
    assert _post(client, {}, files).status_code == 401
    owner = headers_for("owner")
    response = _post(client, owner, files, role_map='{"x": "supervisor"}')
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"report", "problems", "deployed", "files"} and body["deployed"] is None
    assert entries(body["report"], "candidate_group", "A")
    not_multipart = client.post("/api/v1/process-definitions/import", json={}, headers=owner)
    assert not_multipart.status_code == 415


@pytest.mark.parametrize(("fields", "status", "field"), [
    ({"role_map": '{"management": "boss"}'}, 422, "role_map"),
    ({"role_map": "{not json"}, 400, "role_map"),
    ({"role_map": "management supervisor"}, 422, "role_map"),
    ({"deploy": "maybe"}, 400, "deploy"),
])
def test_bad_import_fields_are_named(client: FlaskClient, headers_for, fields: dict, status: int,  # noqa: ANN001
                                     field: str) -> None:
    response = _post(client, headers_for("owner"), [("a.bpmn", diagram(""))], **fields)
    assert response.status_code == status
    assert field in response.get_json()["error"]["fields"]


def test_deploy_true_deploys_through_the_api_and_the_role_map_may_be_lines(client: FlaskClient,  # noqa: ANN001
                                                                         headers_for) -> None:
    files = [("claims.bpmn", diagram(SIMPLE.format(attrs='camunda:candidateGroups="ops"'),
                                     process='id="claims" isExecutable="true"'))]
    owner = headers_for("owner")
    response = _post(client, owner, files, role_map="ops = dept:network", deploy="true")
    body = response.get_json()
    assert response.status_code == 200 and body["deployed"], body["problems"]
    assert body["deployed"]["definitions"][0]["process_id"] == "claims"
    listed = client.get("/api/v1/process-definitions", headers=owner).get_json()["items"]
    assert [d["version"] for d in listed if d["process_id"] == "claims"] == [1]


# --- real diagrams nobody here wrote -------------------------------------------------------------------


def _third_party_dir() -> Path | None:
    for candidate in (PROJECT_ROOT.parent / "shared" / "thirdparty-bpmn" / "camunda-bpm-examples",
                      Path("/work/shared/thirdparty-bpmn/camunda-bpm-examples")):
        if candidate.is_dir():
            return candidate
    return None


THIRD_PARTY = _third_party_dir()
THIRD_PARTY_FILES = sorted(p.name for p in THIRD_PARTY.glob("*.bpmn")) if THIRD_PARTY else []
NO_THIRD_PARTY = "the third-party Camunda examples (shared/thirdparty-bpmn/camunda-bpm-examples) are not here"


def _third_party(name: str) -> bytes:
    if THIRD_PARTY is None:
        pytest.skip(NO_THIRD_PARTY)
    return (THIRD_PARTY / name).read_bytes()


def _pointed(problems: list[dict]) -> None:
    for found in problems:
        assert found.get("element_id") or (found.get("file") and found.get("line")), found


@pytest.mark.parametrize("name", THIRD_PARTY_FILES or [pytest.param("-", marks=pytest.mark.skip(NO_THIRD_PARTY))])
def test_every_third_party_diagram_imports_without_crashing(name: str, client: FlaskClient,  # noqa: ANN001
                                                           headers_for) -> None:
    content = _third_party(name)
    conversion = convert([(name, content)], {"management": "supervisor", "accounting": "dept:billing"})
    assert conversion.report and all(e["kind"] in ("mapped", "unsupported", "ignored") for e in conversion.report)
    owner = headers_for("owner")
    from io import BytesIO

    raw = client.post("/api/v1/process-definitions", data={"files": [(BytesIO(content), name)]}, headers=owner,
                      content_type="multipart/form-data")
    assert raw.status_code in (200, 201, 422), raw.get_data(as_text=True)[:500]
    if raw.status_code == 422:
        _pointed(raw.get_json()["error"]["problems"])
    imported = _post(client, owner, [(name, content)], role_map="management = supervisor")
    assert imported.status_code == 200, imported.get_data(as_text=True)[:500]
    body = imported.get_json()
    _pointed(body["problems"])
    assert [f["filename"] for f in body["files"]] == [name]
    deployed = _post(client, owner, [(name, content)], role_map="management = supervisor", deploy="true")
    assert deployed.status_code == 200
    assert (deployed.get_json()["deployed"] is None) == any(
        p.get("severity", "error") == "error" for p in deployed.get_json()["problems"])


@pytest.mark.parametrize(("name", "role_map", "task", "form"), [
    ("usertask_task-form-embedded__loanApproval.bpmn", {"UserTask_1": "supervisor"}, "UserTask_1", "task-form.json"),
    ("usertask_task-form-embedded-bpmn-events__invoicePayment.bpmn",
     {"Task_16y91ka": "dept:billing", "Task_1a2twqz": "dept:billing", "Task_0q869n2": "supervisor"},
     "Task_16y91ka", "task-form.json"),
])
def test_a_third_party_diagram_deploys_after_import_and_runs(engine, name: str, role_map: dict,  # noqa: ANN001
                                                            task: str, form: str) -> None:
    content = _third_party(name)
    result = engine.import_models([UploadedFile(name, content), UploadedFile(form, FORM)], "owner", role_map,
                                  deploy=True)
    assert result["deployed"] is not None, result["problems"]
    [process_id] = [d["process_id"] for d in result["deployed"]["definitions"] if d["created"]]
    case = engine.start(process_id, {}, "owner")
    [first] = case["tasks"]
    assert (first["bpmn_id"], first["role"]) == (task, role_map[task])
    assert engine.get_task(first["id"], SYSTEM)["form"]["properties"]["approved"]["type"] == "boolean"



def test_two_third_party_diagrams_that_call_each_other_import_together(engine) -> None:  # noqa: ANN001
    names = ["testing_assert__camunda-testing-job-announcement.bpmn",
             "testing_assert__camunda-testing-job-announcement-publication.bpmn"]
    files = [UploadedFile(name, _third_party(name)) for name in names]
    role_map = {"Automated": "supervisor", "Management": "supervisor", "HR": "dept:hr"}
    result = engine.import_models(files, "owner", role_map)
    assert not entries(result["report"], "called_process_missing")
    assert not entries(result["report"], "lane_without_role")
    lanes = etree.fromstring(next(f["content"] for f in result["files"] if f["filename"] == names[0]).encode())
    assert {lane.get("name"): lane.get(f"{{{CF_NS}}}role") for lane in lanes.iter(f"{{{BPMN_NS}}}lane")} == {
        "Automated": "supervisor", "Management": "supervisor", "HR": "dept:hr"}
    _pointed(result["problems"])
    assert not [p for p in result["problems"] if "was not found" in p["message"]]


def test_a_call_to_a_deployed_process_is_checked_with_the_working_set(engine) -> None:  # noqa: ANN001
    body = ('<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="a" sourceRef="S" targetRef="Call"/>'
            '<bpmn:callActivity id="Call" calledElement="complaint_intake"/>'
            '<bpmn:sequenceFlow id="b" sourceRef="Call" targetRef="E"/><bpmn:endEvent id="E"/>')
    result = engine.import_models([UploadedFile("wrapper.bpmn", diagram(body))], "owner")
    assert not entries(result["report"], "called_process_missing")
    assert not [p for p in result["problems"] if p.get("severity", "error") == "error"], result["problems"]


def test_our_own_models_pass_through_unchanged_in_meaning() -> None:
    """Importing processes/ (already complaintflow's) maps nothing away and still builds without errors."""
    files = [(p.name, p.read_bytes()) for p in sorted((PROJECT_ROOT / "processes").iterdir())
             if p.suffix in (".bpmn", ".dmn")]
    files += [(p.name, p.read_bytes()) for p in sorted((PROJECT_ROOT / "forms").glob("*.json"))]
    conversion = convert(files)
    assert not conversion.problems
    assert not [e for e in conversion.report if e["kind"] == "unsupported"], conversion.report
    assert not [e for e in conversion.report if e["what"] in ("plain_task", "form", "candidate_group")]
    assert build_problems(conversion.files) == []
