"""The restricted script environment: what it refuses, stops and allows, and how it plugs into SpiffWorkflow."""
from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.scripting import (
    RestrictedEnvironment,
    RestrictedScriptEngine,
    ScriptConfigError,
    ScriptContext,
    ScriptDataError,
    ScriptLimitError,
    ScriptRejected,
    ScriptTimeout,
    _compiled,
    check_source,
    guarded_getattr,
    validate_workflow_spec,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


class FakeCalendar:
    """WorkCalendar's interface with trivial rules: weekdays are working days, windows 09-17 local."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, float]] = []

    def add_hours(self, start: datetime, hours: float) -> datetime:
        self.calls.append(("hours", start, hours))
        return start + timedelta(hours=hours)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        self.calls.append(("working_days", start, n))
        day = start.astimezone(SHANGHAI).date()
        for _ in range(n):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        self.calls.append(("business_hours", start, hours))
        return start + timedelta(hours=hours) if hours <= 8 else start + timedelta(days=1, hours=hours - 8)

    def add_calendar_days(self, start: datetime, n: int) -> datetime:
        self.calls.append(("calendar_days", start, n))
        day = start.astimezone(SHANGHAI).date() + timedelta(days=n)
        return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)


@pytest.fixture
def calendar() -> FakeCalendar:
    return FakeCalendar()


@pytest.fixture
def env(calendar: FakeCalendar) -> RestrictedEnvironment:
    context = ScriptContext(now=lambda: MONDAY_9AM, calendar=lambda: calendar)
    return RestrictedEnvironment(context, time_limit=0.2)


def in_thread(run: Callable[[], Any]) -> dict[str, Any]:
    """Run in a fresh thread (the limit must work off the main thread); a runaway thread fails the test."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:  # noqa: BLE001 - the test inspects whatever came out
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the time limit did not stop the script"
    return box


# --- refused before anything runs ----------------------------------------------------------------

ESCAPES = [
    ("import os", "exec", "import is not allowed"),
    ("from os import system", "exec", "import is not allowed"),
    ("__import__('os')", "eval", '"__import__"'),
    ("().__class__.__bases__[0].__subclasses__()", "eval", '"__class__"'),
    ("x.__globals__", "eval", '"__globals__"'),
    ("f.__code__", "eval", '"__code__"'),
    ("getattr(x, '__class__')", "eval", '"getattr" is not available'),
    ("'{0.__class__}'.format(1)", "eval", '"format" is not available'),
    ("'{x}'.format_map({'x': 1})", "eval", '"format_map" is not available'),
    ("f'{x.__class__}'", "eval", '"__class__"'),
    ("open('/etc/passwd')", "eval", '"open" is not available'),
    ("open('/etc/passwd').read()", "exec", '"open" is not available'),
    ("eval('1 + 1')", "eval", "Eval calls are not allowed"),
    ("exec('x = 1')", "exec", "Exec calls are not allowed"),
    ("compile('1', 'f', 'eval')", "eval", '"compile" is not available'),
    ("globals()", "eval", '"globals" is not available'),
    ("vars()", "eval", '"vars" is not available'),
    ("type(1)", "eval", '"type" is not available'),
    ("breakpoint()", "exec", '"breakpoint"'),
    ("[x for x in iter(int, 1)]", "eval", '"iter" is not available'),
    ("int.mro()", "eval", '"mro" is not available'),
    ("class A:\n    pass", "exec", "class definitions are not allowed"),
    ("try:\n    x = 1\nexcept:\n    pass", "exec", "bare except"),
    ("try:\n    x = 1\nexcept BaseException:\n    pass", "exec", '"BaseException"'),
    ("try:\n    x = 1\nfinally:\n    pass", "exec", "try/finally is not allowed"),
    ("raise SystemExit", "exec", '"SystemExit"'),
    ("_secret = 1", "exec", '"_secret"'),
    ("x = 1 +", "exec", "SyntaxError"),
]


@pytest.mark.parametrize(("source", "mode", "expected"), ESCAPES)
def test_check_source_names_each_escape(source: str, mode: str, expected: str) -> None:
    problems = check_source(source, mode)  # type: ignore[arg-type]
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("Line ") for p in problems)


@pytest.mark.parametrize(("source", "mode", "expected"), ESCAPES)
def test_escapes_are_rejected_at_run_time_too(env: RestrictedEnvironment, source: str, mode: str,
                                              expected: str) -> None:
    data = {"x": 1, "f": 2}
    with pytest.raises(ScriptRejected):
        if mode == "exec":
            env.execute(source, data)
        else:
            env.evaluate(source, data)
    assert data == {"x": 1, "f": 2}


def test_str_format_is_blocked_at_run_time_as_well() -> None:
    # Even an attribute name that slipped past the compile-time check could not reach format.
    for name in ("format", "format_map"):
        with pytest.raises((AttributeError, NotImplementedError)):
            guarded_getattr("{0.__class__}", name)
    with pytest.raises(AttributeError):
        guarded_getattr(str, "join")  # str.join(sep, items) would bypass the size guard
    with pytest.raises(AttributeError):
        guarded_getattr(1, "__class__")


def test_line_numbers_point_at_the_problem() -> None:
    assert check_source("x = 1\ny = 2\nimport os", "exec") == [
        "Line 3: import is not allowed; the helpers are available without importing"]


def test_normal_code_has_no_problems() -> None:
    assert check_source("total = sum(a['n'] for a in items)\nlabel = f'{total:>6}'", "exec") == []
    assert check_source("star_level >= 4 or svip", "eval") == []
    assert check_source("try:\n    n = int(s)\nexcept (ValueError, TypeError):\n    n = 0", "exec") == []


# --- stopped while running -----------------------------------------------------------------------


@pytest.mark.parametrize("script", [
    "while True: pass",
    "while True:\n    x = 1",
    "n = 0\nwhile n >= 0:\n    n += 1",
    "def forever():\n    while True:\n        yield 1\nbiggest = max(forever())",
    "def down(n):\n    return down(n + 1) if n < 900 else [i for i in range(10**6) for j in range(10**6)]\ndown(0)",
])
def test_endless_scripts_hit_the_time_limit(env: RestrictedEnvironment, script: str) -> None:
    data: dict[str, Any] = {"keep": 1}
    box = in_thread(lambda: env.execute(script, data))
    assert isinstance(box.get("error"), ScriptTimeout), box
    assert data == {"keep": 1}


def test_endless_expression_hits_the_time_limit(env: RestrictedEnvironment) -> None:
    box = in_thread(lambda: env.evaluate("[a for a in range(10**6) for b in range(10**6)]", {}))
    assert isinstance(box.get("error"), ScriptTimeout), box


@pytest.mark.parametrize("script", [
    "try:\n    while True: pass\nexcept Exception:\n    caught = True\n    while True: pass",
    "while True:\n    try:\n        while True: pass\n    except Exception:\n        continue",
])
def test_a_script_cannot_swallow_the_time_limit(env: RestrictedEnvironment, script: str) -> None:
    box = in_thread(lambda: env.execute(script, {}))
    assert isinstance(box.get("error"), ScriptTimeout), box


def test_a_nested_evaluation_cannot_turn_the_timeout_into_a_catchable_error(env: RestrictedEnvironment) -> None:
    # A helper that evaluates again runs under the outer deadline; only the outermost call reports.
    def inner() -> Any:
        return env.evaluate("[a for a in range(10**6) for b in range(10**6)]", {})

    script = "try:\n    inner()\nexcept Exception:\n    n = [a for a in range(10**6) for b in range(10**6)]"
    box = in_thread(lambda: env.execute(script, {}, {"inner": inner}))
    assert isinstance(box.get("error"), ScriptTimeout), box


def test_the_previous_tracer_is_restored(env: RestrictedEnvironment) -> None:
    def outer_tracer(frame: Any, event: str, arg: Any) -> None:
        return None

    saved = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        env.execute("x = 1", {})
        assert sys.gettrace() is outer_tracer
        with pytest.raises(ScriptTimeout):
            env.execute("while True: pass", {})
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(saved)


def test_time_limit_is_configurable() -> None:
    generous = RestrictedEnvironment(time_limit=5.0)
    data: dict[str, Any] = {}
    generous.execute("n = 0\nfor i in range(200000):\n    n += i", data)
    assert data["n"] == sum(range(200000))
    with pytest.raises(ValueError):
        RestrictedEnvironment(time_limit=0)


BOMBS = [
    "x = 10**10**10",
    "x = 'a'*10**9",
    "x = [0] * 10**9",
    "x = 10**9 * 'a'",
    "x = 2 ** 100000",
    "x = pow(10, 10**9)",
    "x = 1 << 10**9",
    "x = 2\nx **= 10**9",
    "x = 'ab'\nx *= 10**9",
    "x = list(range(10**10))",
    "x = range(10**18)",
    "s = 'x'\nfor i in range(40):\n    s = s + s",
    "a = [0]\nfor i in range(40):\n    a.extend(a)",
    "a = [0]\nfor i in range(40):\n    a = [*a, *a]",
    "x = '%999999999d' % 1",
    "x = '%*d' % (10**9, 1)",
    "x = f'{1:999999999}'",
    "x = 'a'.ljust(10**9)",
    "x = ','.join(['a' * 999999] * 1000)",
    "x = 'aaaa'.replace('', 'b' * 999999)",
    "x = round(5, -10**8)",
]


@pytest.mark.parametrize("script", BOMBS)
def test_size_bombs_are_refused_before_they_run(env: RestrictedEnvironment, script: str) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(ScriptLimitError, match="refused"):
        env.execute(script, data)
    assert data == {}


def test_sum_of_lists_is_refused(env: RestrictedEnvironment) -> None:
    with pytest.raises(TypeError, match="numbers only"):
        env.execute("x = sum([[0] * 1000] * 1000, [])", {})


def test_reasonable_sizes_still_work(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {}
    env.execute("a = 2 ** 4000 > 0\nb = len('-' * 1000)\nc = [0] * 3 + [1]\nd = '%5d|' % 42\n"
                "e = 'x'.ljust(4, '.')\nf = ', '.join(['a', 'b'])\ng = 7 % 3\nh = 1 << 10", data)
    assert data == {"a": True, "b": 1000, "c": [0, 0, 0, 1], "d": "   42|", "e": "x...", "f": "a, b",
                    "g": 1, "h": 1024}


# --- what scripts may do -------------------------------------------------------------------------


def test_script_computes_fields(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"star_level": 5, "svip": False, "items": [{"n": 2}, {"n": 3}]}
    env.execute(
        "total = sum(i['n'] for i in items)\n"
        "tier = 'high' if star_level >= 4 or svip else 'normal'\n"
        "names = sorted({'b', 'a'})\n"
        "try:\n    bad = int('x')\nexcept ValueError as exc:\n    bad = -1\n"
        "items.append({'n': total})\n",
        data)
    assert data == {"star_level": 5, "svip": False, "items": [{"n": 2}, {"n": 3}, {"n": 5}],
                    "total": 5, "tier": "high", "names": ["a", "b"], "bad": -1}


def test_condition(env: RestrictedEnvironment) -> None:
    assert env.evaluate("star_level >= 4 or svip", {"star_level": 5, "svip": False}) is True
    assert env.evaluate("channel in ('10015', 'regulator')", {"channel": "10010"}) is False
    assert env.evaluate("dmninputexpr > 3", {}, {"dmninputexpr": 4}) is True


def test_expressions_cannot_hand_out_lazy_code(env: RestrictedEnvironment) -> None:
    # A generator would run later, outside the time limit.
    with pytest.raises(ScriptDataError):
        env.evaluate("(x for x in items)", {"items": [1]})
    with pytest.raises(ScriptDataError):
        env.evaluate("lambda: 1", {})


def test_data_stays_json_clean(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"old": 1, "gone": 2}
    env.execute("pair = (1, (2, 3))\nhelper = lambda v: v\nlazy = (i for i in range(3))\n"
                "view = {'a': 1}.keys()\nstamp = now()\ndel gone\nprint('debug output is discarded')", data)
    assert data == {"old": 1, "pair": [1, [2, 3]], "stamp": "2026-03-02T01:00:00+00:00"}


@pytest.mark.parametrize(("script", "message"), [
    ("regions = {'north', 'south'}", "regions holds a set"),
    ("x = {'a': [1, {2}]}", "x['a'][1] holds a set"),
    ("x = {1: 'a'}", "keys must be strings"),
    ("x = float('inf')", "JSON cannot hold"),
    ("x = b'bytes'", "holds a bytes"),
    ("x = [1]\nx.append(x)", "contains itself"),
    ("x = [lambda: 1]", "holds a function"),
])
def test_non_json_data_is_an_error_and_changes_nothing(env: RestrictedEnvironment, script: str,
                                                       message: str) -> None:
    data: dict[str, Any] = {"keep": [1]}
    with pytest.raises(ScriptDataError, match=re.escape(message)):
        env.execute("keep.append(2)\n" + script, data)
    assert data == {"keep": [1]}


def test_a_failing_script_changes_nothing(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"n": 1, "log": []}
    with pytest.raises(ZeroDivisionError):
        env.execute("n = 2\nlog.append('x')\nboom = 1 / 0", data)
    assert data == {"n": 1, "log": []}


def test_task_data_cannot_hijack_exception_handlers(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"ValueError": 1, "s": "x"}
    env.execute("try:\n    n = int(s)\nexcept ValueError:\n    n = 0", data)
    assert data["n"] == 0


def test_compiled_code_is_cached() -> None:
    env = RestrictedEnvironment()
    before = _compiled.cache_info().hits
    for _ in range(3):
        env.evaluate("amount > 100", {"amount": 150})
    assert _compiled.cache_info().hits >= before + 2


# --- deadline helpers ------------------------------------------------------------------------------


def test_due_in_with_the_fake_calendar_and_a_fixed_clock(env: RestrictedEnvironment,
                                                         calendar: FakeCalendar) -> None:
    ev = env.evaluate
    assert ev("now()", {}) == "2026-03-02T01:00:00+00:00"
    assert ev("due_in(working_days=2)", {}) == "2026-03-04T16:00:00+00:00"  # 24:00 Wed, Shanghai
    assert ev("working_days(2)", {}) == "2026-03-04T16:00:00+00:00"
    assert ev("due_in(hours=72)", {}) == "2026-03-05T01:00:00+00:00"
    assert ev("hours(1.5)", {}) == "2026-03-02T02:30:00+00:00"
    assert ev("business_hours(4)", {}) == "2026-03-02T05:00:00+00:00"
    assert ev("calendar_days(15)", {}) == "2026-03-17T16:00:00+00:00"
    assert ev("due_in(hours=24, start='2026-03-06T18:00:00+08:00')", {}) == "2026-03-07T10:00:00+00:00"
    assert ev("working_days(1, start=received)", {"received": "2026-03-06T10:00:00Z"}) == \
        "2026-03-09T16:00:00+00:00"  # Friday -> Monday
    # The calendar always gets timezone-aware UTC instants.
    assert all(start.tzinfo is not None and start.utcoffset() == timedelta(0) for _, start, _ in calendar.calls)


@pytest.mark.parametrize("expression", [
    "due_in()",
    "due_in(hours=1, working_days=1)",
    "due_in(hours=1, start='2026-03-02T09:00:00')",  # no offset
    "due_in(hours=1, start='soon')",
])
def test_due_in_rejects_unclear_requests(env: RestrictedEnvironment, expression: str) -> None:
    with pytest.raises(ValueError):
        env.evaluate(expression, {})


def test_share_of_gives_the_reminder_instant(env: RestrictedEnvironment) -> None:
    assert env.evaluate("share_of('2026-03-02T01:00:00+00:00', '2026-03-04T16:00:00+00:00', 0.75)", {}) == \
        "2026-03-04T00:15:00+00:00"
    assert env.evaluate("share_of(opened, due_in(hours=8), 0.5)", {"opened": "2026-03-02T09:00:00+08:00"}) == \
        "2026-03-02T05:00:00+00:00"
    with pytest.raises(ValueError):
        env.evaluate("share_of(now(), now(), 1.5)", {})


def test_iso_and_parse_iso(env: RestrictedEnvironment) -> None:
    assert env.evaluate("iso('2026-03-02T09:00:00+08:00')", {}) == "2026-03-02T01:00:00+00:00"
    assert env.evaluate("parse_iso('1970-01-01T00:01:00Z')", {}) == 60.0
    assert env.evaluate("iso(parse_iso(now()) + 3600)", {}) == "2026-03-02T02:00:00+00:00"
    assert env.evaluate("parse_iso(due) < parse_iso(now())", {"due": "2026-03-01T00:00:00Z"}) is True


def test_sla_limit_uses_the_configured_lookup() -> None:
    policies = {"reply_mobile": {"limit": 2, "basis": "working_days"}}
    env = RestrictedEnvironment(ScriptContext(now=lambda: MONDAY_9AM, sla_lookup=policies.__getitem__))
    assert env.evaluate("sla_limit('reply_mobile')['limit']", {}) == 2
    unconfigured = RestrictedEnvironment(ScriptContext(now=lambda: MONDAY_9AM))
    with pytest.raises(ScriptConfigError, match="no SLA policy lookup"):
        unconfigured.evaluate("sla_limit('reply_mobile')", {})
    with pytest.raises(ScriptConfigError, match="no work calendar"):
        unconfigured.evaluate("working_days(2)", {})


def test_engine_validate_keeps_syntax_errors_for_dmn() -> None:
    engine = RestrictedScriptEngine()
    engine.validate("amount > 100")
    with pytest.raises(SyntaxError):
        engine.validate("> 100")  # DMN then retries as "v > 100"
    with pytest.raises(ScriptRejected):
        engine.validate("__import__('os')")


# --- SpiffWorkflow integration ------------------------------------------------------------------

BPMN_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://complaintflow.org/test">"""

TINY = BPMN_HEAD + """
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>x = 1 + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>to_two</bpmn:outgoing><bpmn:outgoing>to_other</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_two"><bpmn:incoming>to_two</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_other"><bpmn:incoming>to_other</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gw"/>
    <bpmn:sequenceFlow id="to_two" sourceRef="gw" targetRef="end_two">
      <bpmn:conditionExpression>x == 2</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_other" sourceRef="gw" targetRef="end_other">
      <bpmn:conditionExpression>x != 2</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""

TIMER = BPMN_HEAD + """
  <bpmn:process id="waits" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>due_in(hours=2)</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

MALICIOUS = BPMN_HEAD + """
  <bpmn:process id="evil" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="steal"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>import os
os.system('id')</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>x = ().__class__.__bases__[0]</spiffworkflow:preScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="deadline" attachedToRef="review">
      <bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>open('/etc/passwd').read()</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="gw"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>ok</bpmn:outgoing><bpmn:outgoing>sneaky</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_ok"><bpmn:incoming>ok</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_sneaky"><bpmn:incoming>sneaky</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="steal"/>
    <bpmn:sequenceFlow id="f2" sourceRef="steal" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="gw"/>
    <bpmn:sequenceFlow id="f5" sourceRef="deadline" targetRef="end_sneaky"/>
    <bpmn:sequenceFlow id="ok" sourceRef="gw" targetRef="end_ok">
      <bpmn:conditionExpression>approved</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="sneaky" sourceRef="gw" targetRef="end_sneaky">
      <bpmn:conditionExpression>__import__('os').system('id') == 0</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""


DECIDE = BPMN_HEAD + """
  <bpmn:process id="decides" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>level</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

LEVEL_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://example.org">
  <decision id="level" name="level">
    <decisionTable id="level_table" hitPolicy="UNIQUE">
      <input id="in_stars" label="stars"><inputExpression id="ie" typeRef="integer"><text>stars</text>
      </inputExpression></input>
      <output id="out_level" label="level" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&gt;= 4</text></inputEntry>
        <outputEntry id="o1"><text>OUTPUT</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>&lt; 4</text></inputEntry>
        <outputEntry id="o2"><text>"normal"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def parse(xml: str, process_id: str, dmn: str | None = None) -> tuple[Any, dict]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    if dmn is not None:
        parser.add_dmn_str(dmn.encode())
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def completed_ids(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]


def test_a_bpmn_process_runs_on_the_restricted_engine(env: RestrictedEnvironment) -> None:
    spec, subprocesses = parse(TINY, "tiny")
    assert validate_workflow_spec(spec, subprocesses) == []
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine(environment=env))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data == {"x": 2}
    assert completed_ids(workflow) == ["start", "compute", "gw", "end_two"]


def test_a_timer_expression_gives_an_iso_deadline(clock: Any, calendar: FakeCalendar) -> None:
    spec, subprocesses = parse(TIMER, "waits")
    engine = RestrictedScriptEngine(ScriptContext(now=clock.now, calendar=lambda: calendar), time_limit=0.5)
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
    workflow.do_engine_steps()
    waiting = workflow.get_tasks(state=TaskState.WAITING)
    assert [t.task_spec.bpmn_id for t in waiting] == ["wait"]
    assert waiting[0]._get_internal_data("event_value") == "2026-03-02T03:00:00+00:00"
    clock.advance(2 * 3600 + 1)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert workflow.is_completed()


def test_a_script_that_runs_away_inside_a_workflow_fails_the_task(env: RestrictedEnvironment) -> None:
    spec, subprocesses = parse(TINY.replace("x = 1 + 1", "while True: pass"), "tiny")
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine(environment=env))
    error = in_thread(workflow.do_engine_steps).get("error")
    assert isinstance(error, WorkflowTaskException), repr(error)
    assert error.error_type == "ScriptTimeout"
    assert error.task.task_spec.bpmn_id == "compute"
    assert not workflow.is_completed()


def test_validate_workflow_spec_flags_each_element() -> None:
    spec, subprocesses = parse(MALICIOUS, "evil")
    problems = validate_workflow_spec(spec, subprocesses)
    by_element: dict[str, list[str]] = {}
    for found in problems:
        by_element.setdefault(found["element_id"], []).append(found["message"])
    assert set(by_element) == {"steal", "review", "deadline", "gw"}
    assert any(m.startswith("script: Line 1: import is not allowed") for m in by_element["steal"])
    assert any(m.startswith("pre-script:") and "__class__" in m for m in by_element["review"])
    assert any(m.startswith("timer expression:") and '"open"' in m for m in by_element["deadline"])
    assert all("condition on the flow to end_sneaky" in m for m in by_element["gw"])


def test_dmn_tables_run_on_the_restricted_engine_and_are_checked(env: RestrictedEnvironment) -> None:
    spec, subprocesses = parse(DECIDE, "decides", LEVEL_DMN.replace("OUTPUT", '"priority"'))
    assert validate_workflow_spec(spec, subprocesses) == []
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine(environment=env))
    workflow.get_tasks(state=TaskState.READY)[0].data["stars"] = 5
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data["level"] == "priority"

    spec, subprocesses = parse(DECIDE, "decides", LEVEL_DMN.replace("OUTPUT", "().__class__"))
    problems = validate_workflow_spec(spec, subprocesses)
    assert [p["element_id"] for p in problems] == ["decide"]
    assert problems[0]["message"].startswith("DMN level_table rule 1 output: ")
