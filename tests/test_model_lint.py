"""Lint rules at validate/deploy time and in `complaintflow lint`: one finding per problem, pinned to its element."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from engine import definitions
from engine.clock import TestClock
from engine.errors import ModelInvalid
from engine.model_lint import RULES
from engine.service import UploadedFile

pytest_plugins = ["tests.web_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
FORMS = {p.name: p.read_bytes() for p in (ROOT / "forms").glob("*.json")}
FORM = "dispatch.json"  # any form of forms/


def thirdparty_dir() -> Path | None:
    for base in (ROOT.parent / "shared" / "thirdparty-bpmn", Path("/work/shared/thirdparty-bpmn")):
        if (base / "camunda-bpm-examples").is_dir():
            return base / "camunda-bpm-examples"
    return None


def diagram(body: str, lane: str = "", extra: str = "", process_id: str = "p") -> bytes:
    """A one-process diagram; ``lane`` lists the ids that sit in a lane with role dispatcher."""
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in lane.split())
    lanes = (f'<bpmn:laneSet id="LS_{process_id}"><bpmn:lane id="Lane_{process_id}" cf:role="dispatcher">{refs}'
             f"</bpmn:lane></bpmn:laneSet>") if refs else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:cf="http://complaintflow.org/schema/bpmn" id="D_{process_id}" targetNamespace="http://example.org/t">
{extra}
<bpmn:process id="{process_id}" name="测试" isExecutable="true">
{lanes}
{body}
</bpmn:process>
</bpmn:definitions>""".encode()


def user_task(task_id: str, incoming: str, outgoing: str, form: str | None = FORM, tag: str = "userTask") -> str:
    props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
             f'name="formJsonSchemaFilename" value="{form}"/></spiffworkflow:properties></bpmn:extensionElements>'
             if form else "")
    entered = f"<bpmn:incoming>{incoming}</bpmn:incoming>" if incoming else ""
    return (f'<bpmn:{tag} id="{task_id}" name="{task_id}">{props}{entered}'
            f"<bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:{tag}>")


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    inner = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition is not None else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{inner}</bpmn:sequenceFlow>'


START = '<bpmn:startEvent id="S"><bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>'


def linear(middle: str, first: str) -> str:
    """Start -> ``middle`` (entered by F0, left by F9) -> end."""
    return (START + middle + '<bpmn:endEvent id="E"><bpmn:incoming>F9</bpmn:incoming></bpmn:endEvent>'
            + flow("F0", "S", first))


def build(*files: tuple[str, bytes], forms: dict[str, bytes] | None = None) -> definitions.BuildResult:
    models = definitions.to_model_files(list(files), 10_000_000)
    return definitions.ModelBuilder(FORMS if forms is None else forms).build(models)


def lint(content: bytes, **kwargs) -> list[dict]:  # noqa: ANN003
    return build(("t.bpmn", content), **kwargs).findings


def by_rule(findings: list[dict], rule: str) -> list[dict]:
    return [f for f in findings if f["rule"] == rule]


def ids(findings: list[dict], rule: str) -> set[str | None]:
    return {f["element_id"] for f in by_rule(findings, rule)}


@pytest.fixture(autouse=True)
def _clock(clock: TestClock) -> TestClock:  # noqa: PT004 - every timer is evaluated on the test clock
    return clock


# --- roles and forms -------------------------------------------------------------------------------


def test_a_user_task_without_lane_role_is_an_error_pinned_to_it() -> None:
    body = linear(user_task("T1", "F0", "F1") + user_task("T2", "F1", "F9") + flow("F9", "T2", "E")
                  + flow("F1", "T1", "T2"), "T1")
    result = build(("t.bpmn", diagram(body, lane="T1")))
    [finding] = by_rule(result.findings, "task-no-role")
    assert finding["element_id"] == "T2" and finding["severity"] == "error" and finding["line"] == 8
    assert finding in result.problems  # an error: the deploy refuses the set


def test_role_expression_counts_as_a_role_and_is_compiled() -> None:
    props = ('<bpmn:extensionElements><spiffworkflow:properties>'
             '<spiffworkflow:property name="roleExpression" value="&quot;dept:&quot; +"/>'
             f'<spiffworkflow:property name="formJsonSchemaFilename" value="{FORM}"/>'
             '</spiffworkflow:properties></bpmn:extensionElements>')
    body = linear(f'<bpmn:userTask id="T">{props}<bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F9</bpmn:outgoing>'
                  f'</bpmn:userTask>' + flow("F9", "T", "E"), "T")
    findings = lint(diagram(body))
    assert ids(findings, "task-no-role") == set()
    assert ids(findings, "script") == {"T"}


def test_a_user_task_without_form_is_a_warning_and_a_manual_task_needs_none() -> None:
    body = linear(user_task("T", "F0", "F1", form=None) + user_task("M", "F1", "F9", form=None, tag="manualTask")
                  + flow("F1", "T", "M") + flow("F9", "M", "E"), "T")
    result = build(("t.bpmn", diagram(body, lane="T M")))
    assert ids(result.findings, "task-no-form") == {"T"}
    assert result.problems == [] and [w["rule"] for w in result.warnings] == ["task-no-form"]
    assert [p.process_id for p in result.processes] == ["p"]  # a warning does not block


def test_a_missing_form_file_is_an_error() -> None:
    body = linear(user_task("T", "F0", "F9", form="nowhere.json") + flow("F9", "T", "E"), "T")
    [finding] = by_rule(lint(diagram(body, lane="T")), "form-missing")
    assert finding["element_id"] == "T" and "nowhere.json" in finding["message"] and finding["severity"] == "error"


# --- timers ------------------------------------------------------------------------------------------


def timer_diagram(kind: str, expression: str) -> bytes:
    body = linear(f'<bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F0</bpmn:incoming>'
                  f'<bpmn:outgoing>F9</bpmn:outgoing><bpmn:timerEventDefinition id="TD">'
                  f'<bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
                  + flow("F9", "Wait", "E"), "Wait")
    return diagram(body)


@pytest.mark.parametrize("kind,expression,expected", [
    ("timeDuration", "PT5M", 'write "PT5M" in quotes'),
    ("timeCycle", "R3/PT10M", 'write "R3/PT10M" in quotes'),
    ("timeDate", "2026-03-02T10:00:00Z", 'write "2026-03-02T10:00:00Z" in quotes'),
    ("timeDuration", "${duration}", "Camunda (JUEL) expression"),
    ("timeCycle", "0 0/5 * * * ?", "cron expression"),
    ("timeDuration", "", "is empty"),
    ("timeDuration", "due_in(hours=", "SyntaxError"),
    ("timeDate", "deadline_of(received_at)", "deadline_of() is not a function the script engine provides"),
    ("timeDate", "due_in(days=2)", "unexpected keyword argument 'days'"),
    ("timeDate", "due_in(hours=2, working_days=1, start=received_at)", "exactly one of hours="),
    ("timeDate", "share_of(received_at)", "missing a required argument"),
    ("timeDate", "&quot;PT5M&quot;", "a duration belongs in timeDuration"),
    ("timeDuration", "due_in(hours=4)", "not an ISO 8601 duration"),
    ("timeDuration", "&quot;P&quot;", "not an ISO 8601 duration"),
    ("timeDate", "&quot;2026-13-01T00:00:00+08:00&quot;", "not an ISO 8601 date-time"),
    ("timeDate", "4 * 3600", "gives int 14400"),
    ("timeCycle", "&quot;PT1H&quot;", "repeating interval"),
    ("timeDate", "share_of(now(), &quot;2026-01-01T00:00:00Z&quot;, 2)", "fails when evaluated: ValueError"),
])
def test_timer_expressions_that_cannot_work_are_errors(kind: str, expression: str, expected: str) -> None:
    findings = by_rule(lint(timer_diagram(kind, expression)), "timer-expression")
    assert len(findings) == 1, findings
    assert findings[0]["element_id"] == "Wait" and findings[0]["severity"] == "error"
    assert expected in findings[0]["message"], findings[0]["message"]
    assert not by_rule(lint(timer_diagram(kind, expression)), "script")  # reported once, under its rule


@pytest.mark.parametrize("kind,expression", [
    ("timeDuration", "&quot;PT5M&quot;"),
    ("timeDuration", "&quot;P2DT3H&quot;"),
    ("timeDate", "due_in(hours=4)"),
    ("timeDate", "working_days(2)"),
    ("timeDate", "due_in(working_days=2, start=received_at)"),
    ("timeDate", 'sla_clocks["reply"]["due_at"]'),
    ("timeDate", "customer_wait_until"),
    ("timeDate", "&quot;2026-03-05T09:00:00+08:00&quot;"),
    ("timeDate", "share_of(now(), due_in(hours=8), 0.75)"),
    ("timeCycle", "&quot;R3/PT1H&quot;"),
    ("timeCycle", "&quot;R/2026-03-02T09:00:00+08:00/P1D&quot;"),
    ("timeDuration", "&quot;PT%dH&quot; % hours_allowed"),
    ("timeDuration", "a * b * c * d * e"),  # valid Python over case data, not a cron line
])
def test_good_timer_expressions_pass(kind: str, expression: str) -> None:
    assert by_rule(lint(timer_diagram(kind, expression)), "timer-expression") == []


def test_a_timer_date_without_offset_is_a_warning() -> None:
    result = build(("t.bpmn", timer_diagram("timeDate", "&quot;2026-03-05T09:00:00&quot;")))
    [finding] = result.warnings
    assert finding["rule"] == "timer-expression" and "UTC offset" in finding["message"]
    assert result.problems == []


def test_timers_are_evaluated_on_the_engine_clock(clock: TestClock) -> None:
    assert by_rule(lint(timer_diagram("timeDuration", "working_days(2)")), "timer-expression")
    [finding] = by_rule(lint(timer_diagram("timeDuration", "now()")), "timer-expression")
    assert "gives '2026-03-02T01:00:00+00:00', not an ISO 8601 duration" in finding["message"]
    assert "(a date-time belongs in timeDate)" in finding["message"]
    clock.set(datetime(2099, 3, 2, tzinfo=UTC))
    [finding] = by_rule(lint(timer_diagram("timeDuration", "now()")), "timer-expression")
    assert "2099-03-02T00:00:00+00:00" in finding["message"]
    # 2099 has no holiday data: a working-day deadline cannot be computed then, so it is not judged.
    assert by_rule(lint(timer_diagram("timeDuration", "working_days(2)")), "timer-expression") == []


def test_a_timer_without_any_time_is_an_error_once() -> None:
    body = linear('<bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F0</bpmn:incoming>'
                  '<bpmn:outgoing>F9</bpmn:outgoing><bpmn:timerEventDefinition id="TD"/>'
                  '</bpmn:intermediateCatchEvent>' + flow("F9", "Wait", "E"), "Wait")
    findings = lint(diagram(body))
    assert ids(findings, "timer-expression") == {"Wait"}
    assert not [f for f in findings if "Time Specification" in f["message"]]  # the parser's copy is dropped


# --- gateways ----------------------------------------------------------------------------------------


def gateway(kind: str = "exclusiveGateway", default: str | None = None, conditions: tuple = ("x", "not x"),
            extra_flows: str = "") -> bytes:
    attribute = f' default="{default}"' if default else ""
    body = (START + f'<bpmn:{kind} id="G" name="分支?"{attribute}><bpmn:incoming>F0</bpmn:incoming></bpmn:{kind}>'
            + flow("F0", "S", "G")
            + "".join(flow(f"FA{i}", "G", f"E{i}", c) + f'<bpmn:endEvent id="E{i}"/>' for i, c in enumerate(conditions))
            + extra_flows)
    return diagram(body)


def test_a_diverging_gateway_without_default_is_an_error() -> None:
    for kind in ("exclusiveGateway", "inclusiveGateway"):
        findings = lint(gateway(kind))
        [finding] = by_rule(findings, "gateway-no-default")
        assert finding["element_id"] == "G" and finding["severity"] == "error" and "分支?" in finding["message"]
    assert by_rule(lint(gateway(default="FA1", conditions=("x", None))), "gateway-no-default") == []


def test_a_merge_with_one_outgoing_flow_needs_no_default() -> None:
    body = (START + '<bpmn:exclusiveGateway id="G"><bpmn:incoming>F0</bpmn:incoming></bpmn:exclusiveGateway>'
            + flow("F0", "S", "G") + flow("F1", "G", "E") + '<bpmn:endEvent id="E"/>')
    assert [f for f in lint(diagram(body)) if f["rule"].startswith("gateway")] == []


def test_gateway_flows_conditions_and_default() -> None:
    findings = lint(gateway(default="FA1", conditions=("x", "y", None)))
    assert ids(findings, "gateway-default-condition") == {"FA1"}
    assert ids(findings, "gateway-flow-no-condition") == {"FA2"}
    assert by_rule(findings, "gateway-default-condition")[0]["severity"] == "warning"
    # SpiffWorkflow's own "Non-default exclusive outgoing sequence flow without condition" is not repeated.
    assert not by_rule(findings, "parse")
    elsewhere = lint(gateway(default="F0"))
    assert "not one of its outgoing flows" in by_rule(elsewhere, "gateway-no-default")[0]["message"]


# --- reachability ------------------------------------------------------------------------------------


def test_unreachable_elements_are_warnings() -> None:
    body = (linear(user_task("T", "F0", "F9") + flow("F9", "T", "E"), "T")
            + user_task("Orphan", "", "F5") + '<bpmn:endEvent id="E2"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>'
            + flow("F5", "Orphan", "E2")
            + '<bpmn:boundaryEvent id="B_orphan" attachedToRef="Orphan"><bpmn:timerEventDefinition>'
              '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>')
    result = build(("t.bpmn", diagram(body, lane="T Orphan")))
    found = by_rule(result.findings, "unreachable")
    assert {f["element_id"] for f in found} == {"Orphan", "E2"}  # not its boundary event: Orphan is reported
    assert all(f["severity"] == "warning" for f in found) and result.problems == []


def test_boundary_events_event_subprocesses_and_subprocesses_are_reachable() -> None:
    body = (linear(
        '<bpmn:subProcess id="Sub"><bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F9</bpmn:outgoing>'
        '<bpmn:startEvent id="SubStart"><bpmn:outgoing>SF1</bpmn:outgoing></bpmn:startEvent>'
        + user_task("Inner", "SF1", "SF2")
        + '<bpmn:endEvent id="SubEnd"><bpmn:incoming>SF2</bpmn:incoming></bpmn:endEvent>'
        + flow("SF1", "SubStart", "Inner") + flow("SF2", "Inner", "SubEnd")
        + user_task("InnerOrphan", "", "SF3") + '<bpmn:endEvent id="SubEnd2"/>' + flow("SF3", "InnerOrphan", "SubEnd2")
        + "</bpmn:subProcess>" + flow("F9", "Sub", "E"), "Sub")
        + '<bpmn:boundaryEvent id="Late" attachedToRef="Sub" cancelActivity="false"><bpmn:outgoing>FB</bpmn:outgoing>'
          '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
          '</bpmn:boundaryEvent>' + '<bpmn:endEvent id="LateEnd"><bpmn:incoming>FB</bpmn:incoming></bpmn:endEvent>'
        + flow("FB", "Late", "LateEnd")
        + '<bpmn:subProcess id="OnMessage" triggeredByEvent="true">'
          '<bpmn:startEvent id="EvStart"><bpmn:outgoing>EF1</bpmn:outgoing><bpmn:timerEventDefinition>'
          '<bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>'
          '<bpmn:endEvent id="EvEnd"><bpmn:incoming>EF1</bpmn:incoming></bpmn:endEvent>'
        + flow("EF1", "EvStart", "EvEnd") + "</bpmn:subProcess>")
    assert ids(lint(diagram(body, lane="Sub Inner InnerOrphan")), "unreachable") == {"InnerOrphan", "SubEnd2"}


# --- messages ----------------------------------------------------------------------------------------

MESSAGES = '<bpmn:message id="Msg_done" name="case_done"/><bpmn:message id="Msg_anon"/>'


def thrower(message_ref: str | None, element: str = "intermediateThrowEvent", extra: str = "") -> bytes:
    ref = f' messageRef="{message_ref}"' if message_ref else ""
    body = linear(f'<bpmn:{element} id="Send"><bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F9</bpmn:outgoing>'
                  f'<bpmn:messageEventDefinition id="MD"{ref}/></bpmn:{element}>' + flow("F9", "Send", "E"), "Send")
    return diagram(body, extra=MESSAGES + extra, process_id="sender")


def catcher() -> bytes:
    body = linear('<bpmn:intermediateCatchEvent id="Receive"><bpmn:incoming>F0</bpmn:incoming>'
                  '<bpmn:outgoing>F9</bpmn:outgoing><bpmn:messageEventDefinition id="MDC" messageRef="Msg_c"/>'
                  '</bpmn:intermediateCatchEvent>' + flow("F9", "Receive", "E"), "Receive")
    return diagram(body, extra='<bpmn:message id="Msg_c" name="case_done"/>', process_id="receiver")


def test_a_message_event_needs_a_named_message() -> None:
    for ref in (None, "Msg_anon", "Msg_nowhere"):
        findings = build(("s.bpmn", thrower(ref)), ("r.bpmn", catcher())).findings
        assert ids(findings, "message-unnamed") == {"Send"}, (ref, findings)
        assert all(f["severity"] == "error" for f in by_rule(findings, "message-unnamed"))


def test_a_thrown_message_nobody_catches_without_correlation_is_an_error() -> None:
    [finding] = by_rule(lint(thrower("Msg_done")), "message-no-correlation")
    assert finding["element_id"] == "Send" and "case_done" in finding["message"]
    assert ids(lint(thrower("Msg_done", element="endEvent")), "message-no-correlation") == {"Send"}
    # Caught by a process of the same deployment (another file): deliverable.
    assert by_rule(build(("s.bpmn", thrower("Msg_done")), ("r.bpmn", catcher())).findings,
                   "message-no-correlation") == []


def correlation(expression: str, second_property: bool = False) -> str:
    other = ('<bpmn:correlationProperty id="CP_region" name="region"><bpmn:correlationPropertyRetrievalExpression '
             'messageRef="Msg_other"><bpmn:formalExpression>region</bpmn:formalExpression>'
             '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>'
             '<bpmn:collaboration id="C"><bpmn:participant id="P" processRef="sender"/>'
             '<bpmn:correlationKey id="Key" name="case_key"><bpmn:correlationPropertyRef>CP_number'
             '</bpmn:correlationPropertyRef><bpmn:correlationPropertyRef>CP_region</bpmn:correlationPropertyRef>'
             '</bpmn:correlationKey></bpmn:collaboration><bpmn:message id="Msg_other" name="other"/>'
             if second_property else "")
    return ('<bpmn:correlationProperty id="CP_number" name="number"><bpmn:correlationPropertyRetrievalExpression '
            f'messageRef="Msg_done"><bpmn:formalExpression>{expression}</bpmn:formalExpression>'
            '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>' + other)


def test_correlation_keys_make_a_thrown_message_deliverable_and_need_retrieval_expressions() -> None:
    assert by_rule(lint(thrower("Msg_done", extra=correlation("complaint_number"))), "message-no-correlation") == []
    empty = by_rule(lint(thrower("Msg_done", extra=correlation(""))), "message-no-correlation")
    assert {f["element_id"] for f in empty} == {"CP_number", "Send"}
    assert any("empty retrieval expression" in f["message"] for f in empty)
    partial = by_rule(lint(thrower("Msg_done", extra=correlation("complaint_number", second_property=True))),
                      "message-no-correlation")
    # The key correlates both properties: each message carrying one must carry the other.
    assert {(f["element_id"], "case_done" in f["message"] or "other" in f["message"]) for f in partial} == {
        ("CP_region", True), ("CP_number", True)}


def test_a_catch_event_needs_no_correlation_key() -> None:
    findings = lint(catcher())
    assert by_rule(findings, "message-no-correlation") == [] and by_rule(findings, "message-unnamed") == []


# --- whole sets of files -----------------------------------------------------------------------------


def test_our_processes_lint_clean() -> None:
    files = [(p.name, p.read_bytes()) for p in sorted((ROOT / "processes").iterdir()) if p.suffix in (".bpmn", ".dmn")]
    result = build(*files)
    assert result.findings == []
    assert len(result.processes) == 4


def test_existing_problems_carry_rule_and_severity() -> None:
    bad_form = build(("t.bpmn", lint_ok := diagram(linear(user_task("T", "F0", "F9") + flow("F9", "T", "E"), "T"),
                                                     lane="T")), ("f.json", b'{"type": 12}'))
    assert [(p["rule"], p["severity"]) for p in bad_form.problems] == [("form-invalid", "error")]
    assert build(("t.bpmn", lint_ok)).findings == []
    broken = build(("t.bpmn", b"<not-closed"))
    assert [(p["rule"], p["severity"]) for p in broken.problems] == [("parse", "error")]
    reserved = build(("t.bpmn", lint_ok.replace(b'id="E"', b'id="End"').replace(b'"E"', b'"End"')))
    assert "reserved-id" in {p["rule"] for p in reserved.problems}
    lane = build(("t.bpmn", lint_ok.replace(b'cf:role="dispatcher"', b'cf:role="Team A"')))
    assert {"lane-role", "task-no-role"} <= {p["rule"] for p in lane.problems}
    for found in (bad_form, broken, reserved, lane):
        assert all(p["rule"] in RULES and p["severity"] in ("error", "warning") for p in found.findings)


def test_third_party_diagrams_get_findings_with_element_ids_and_never_raise() -> None:
    folder = thirdparty_dir()
    if folder is None:
        pytest.skip("the third-party diagrams (../shared/thirdparty-bpmn/camunda-bpm-examples) are not here")
    paths = sorted(folder.glob("*.bpmn"))
    assert paths
    for path in paths:
        findings = build((path.name, path.read_bytes())).findings
        assert findings, path.name
        assert all(f["rule"] in RULES and f["file"] == path.name for f in findings), findings
        assert any(f["element_id"] and f["line"] for f in findings), (path.name, findings)
    cron = build(*(("x.bpmn", (folder / "clients_java__order-handling.bpmn").read_bytes()),)).findings
    assert "cron expression" in by_rule(cron, "timer-expression")[0]["message"]


# --- deploy, API and CLI -----------------------------------------------------------------------------


def test_deploy_fails_only_on_errors_and_returns_warnings(engine) -> None:  # noqa: ANN001
    warned = diagram(linear(user_task("T", "F0", "F9", form=None) + flow("F9", "T", "E"), "T"), lane="T")
    result = engine.deploy([UploadedFile("warned.bpmn", warned)], "owner")
    assert result["definitions"][0]["process_id"] == "p"
    assert [w["rule"] for w in result["warnings"]] == ["task-no-form"]
    with pytest.raises(ModelInvalid) as err:
        engine.deploy([UploadedFile("g.bpmn", gateway(conditions=("x", "y")))], "owner")
    assert [p["rule"] for p in err.value.problems] == ["gateway-no-default"]
    assert all(p["severity"] == "error" for p in err.value.problems)
    findings = engine.validate([UploadedFile("warned.bpmn", warned)])
    assert [(f["rule"], f["severity"]) for f in findings] == [("task-no-form", "warning")]


def test_validate_api_lists_warnings_and_errors_with_rule_and_severity(
        client: FlaskClient, headers_for: Callable[[str], dict]) -> None:
    owner = headers_for("owner")

    def validate(content: bytes) -> dict:
        response = client.post("/api/v1/process-definitions/validate", headers=owner,
                               data={"files": [(io.BytesIO(content), "t.bpmn")]}, content_type="multipart/form-data")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    warned = validate(diagram(linear(user_task("T", "F0", "F9", form=None) + flow("F9", "T", "E"), "T"), lane="T"))
    assert warned["valid"] is True
    assert [(p["rule"], p["severity"], p["element_id"]) for p in warned["problems"]] == [
        ("task-no-form", "warning", "T")]
    failed = validate(gateway(conditions=("x", "y")))
    assert failed["valid"] is False
    assert [(p["rule"], p["severity"], p["element_id"]) for p in failed["problems"]] == [
        ("gateway-no-default", "error", "G")]
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["ModelProblem"]
    assert {"rule", "severity"} <= set(schema["properties"])


LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): \[(?P<rule>[a-z-]+)\] (?P<element>\S+): (?P<message>.+)$")


def test_cli_lint_prints_one_line_per_finding_and_exits_1_on_errors(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from complaintflow.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    (tmp_path / "bad.bpmn").write_bytes(gateway(conditions=("x", "y")))
    (tmp_path / "warned.bpmn").write_bytes(
        diagram(linear(user_task("T", "F0", "F9", form=None) + flow("F9", "T", "E"), "T"), lane="T", process_id="w"))
    runner = CliRunner()
    bad = runner.invoke(main, ["lint", str(tmp_path / "bad.bpmn")])
    assert bad.exit_code == 1, bad.output
    first = LINE.match(bad.output.splitlines()[0])
    assert first and first["file"] == "bad.bpmn" and first["rule"] == "gateway-no-default" and first["element"] == "G"
    assert first["line"] == "8"
    warned = runner.invoke(main, ["lint", str(tmp_path / "warned.bpmn")])
    assert warned.exit_code == 0, warned.output
    line = LINE.match(warned.output.splitlines()[0])
    assert line and line["rule"] == "task-no-form" and line["message"].startswith("warning: ")
    assert warned.output.splitlines()[-1] == "0 error(s), 1 warning(s)"
    clean = runner.invoke(main, ["lint", str(ROOT / "processes")])
    assert clean.exit_code == 0 and clean.output.strip() == "no problems", clean.output
