"""webapp.ui.schema_form: widgets from JSON Schema, submitted values back to JSON, and error wording.

Also renders every form in forms/ through the task page's field macro, so a new
form with a type the UI cannot show is caught here.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask, render_template_string
from jsonschema import Draft202012Validator
from werkzeug.datastructures import MultiDict

from engine.config import PROJECT_ROOT
from webapp.ui import schema_form
from webapp.ui.templating import remaining_text, span_text, value_text

pytest_plugins = ["tests.web_fixtures"]

SCHEMA = {
    "type": "object",
    "required": ["department", "note", "resolved", "departments", "count"],
    "properties": {
        "department": {"type": "string", "title": "部门", "enum": ["network", "billing"]},
        "method": {"type": "string", "enum": ["电话", "短信"], "x-enumNames": ["打电话", "发短信"]},
        "level": {"type": "integer", "oneOf": [{"const": 1, "title": "一级"}, {"const": 2, "title": "二级"}]},
        "short": {"type": "string", "maxLength": 20},
        "note": {"type": "string", "title": "说明", "minLength": 1, "maxLength": 2000, "description": "写清楚"},
        "free": {"type": "string"},
        "forced": {"type": "string", "maxLength": 2000, "x-widget": "input"},
        "resolved": {"type": "boolean", "title": "已解决"},
        "callback": {"type": "boolean", "title": "需要回访", "default": True},
        "departments": {"type": "array", "items": {"type": "string", "enum": ["network", "billing"],
                                                   "x-enumNames": ["网络", "计费"]}},
        "numbers": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{14}$"}},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "amount": {"type": "number", "multipleOf": 0.01},
        "visit_at": {"type": "string", "format": "date-time"},
        "visit_day": {"type": "string", "format": "date"},
        "extra": {"type": "object"},
        "hidden": {"type": "string", "readOnly": True},
    },
}


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.test_request_context():
        yield app


def by_name(fields: list) -> dict:
    return {f.name: f for f in fields}


def test_widgets_by_schema(ctx: Flask) -> None:
    fields = by_name(schema_form.fields_of(SCHEMA))
    assert "hidden" not in fields
    assert fields["department"].widget == "select" and fields["department"].options == [
        ("network", "网络"), ("billing", "计费")]  # department codes get their names
    assert fields["method"].options == [("电话", "打电话"), ("短信", "发短信")]
    assert fields["level"].widget == "select" and fields["level"].options == [("1", "一级"), ("2", "二级")]
    assert fields["short"].widget == "input" and fields["short"].attrs == {"maxlength": 20}
    assert fields["note"].widget == "textarea" and fields["note"].description == "写清楚"
    assert fields["free"].widget == "textarea" and fields["forced"].widget == "input"
    assert fields["resolved"].widget == "radio" and fields["resolved"].required
    assert fields["callback"].widget == "checkbox" and fields["callback"].value is True
    assert fields["departments"].widget == "checkboxes" and fields["departments"].options[1] == ("billing", "计费")
    assert fields["numbers"].widget == "lines"
    assert fields["count"].widget == "number" and fields["count"].attrs == {"min": 0, "max": 10, "step": 1}
    assert fields["amount"].attrs == {"step": 0.01}
    assert fields["visit_at"].widget == "datetime" and fields["visit_day"].widget == "date"
    assert fields["extra"].widget == "json"
    assert [f.name for f in schema_form.fields_of(SCHEMA)][:3] == ["department", "method", "level"]
    assert schema_form.fields_of(None) == [] and schema_form.fields_of({"type": "object"}) == []


def test_submitted_values_become_typed_json(ctx: Flask) -> None:
    form = MultiDict([
        ("department", "network"), ("level", "2"), ("short", "  短  "), ("note", "第一行\n第二行 "), ("free", ""),
        ("resolved", "false"), ("callback__present", "1"), ("departments", "network"), ("departments", "billing"),
        ("departments__present", "1"), ("numbers", "TS20260302000001\n\n TS20260302000002 "), ("count", "3"),
        ("amount", "12.50"), ("visit_at", "2026-03-03T10:30"), ("visit_day", "2026-03-04"),
        ("extra", '{"a": 1}'), ("unknown", "x"),
    ])
    data = schema_form.parse(SCHEMA, form)
    assert data == {
        "department": "network", "level": 2, "short": "短", "note": "第一行\n第二行 ", "resolved": False,
        "callback": False, "departments": ["network", "billing"], "numbers": ["TS20260302000001", "TS20260302000002"],
        "count": 3, "amount": 12.5, "visit_at": "2026-03-03T10:30:00+08:00", "visit_day": "2026-03-04",
        "extra": {"a": 1},
    }


def test_values_that_do_not_convert_go_to_the_engine_as_text(ctx: Flask) -> None:
    data = schema_form.parse(SCHEMA, MultiDict([("count", "three"), ("extra", "{oops"), ("visit_at", "soon"),
                                                ("resolved", "maybe"), ("departments__present", "1")]))
    assert data == {"count": "three", "extra": "{oops", "visit_at": "soon", "resolved": "maybe", "departments": []}
    assert schema_form.parse(None, MultiDict([("a", "b")])) == {}


def test_values_and_errors_are_shown_again(ctx: Flask) -> None:
    values = {"departments": ["billing"], "resolved": True, "numbers": ["A", "B"],
              "visit_at": "2026-03-03T02:30:00+00:00"}
    errors = {"note": "required", "count": "12 is greater than the maximum of 10"}
    fields = by_name(schema_form.fields_of(SCHEMA, values=values, errors=errors))
    assert fields["departments"].checked("billing") and not fields["departments"].checked("network")
    assert fields["resolved"].checked("true") and not fields["resolved"].checked("false")
    assert fields["numbers"].text == "A\nB" and fields["visit_at"].text == "2026-03-03T10:30"
    assert fields["note"].error == "此项必填。" and fields["count"].error == "不能大于 10。"
    assert fields["short"].error is None


@pytest.mark.parametrize(("prop", "message", "expected"), [
    ({"type": "string", "enum": ["a"]}, "'x' is not one of ['a']", "请从选项中选择。"),
    ({"type": "integer"}, "'x' is not of type 'integer'", "请输入整数。"),
    ({"type": "number"}, "'x' is not of type 'number'", "请输入数字。"),
    ({"type": "boolean"}, "'x' is not of type 'boolean'", "请选择是或否。"),
    ({"type": "string"}, "5 is not of type 'string'", "填写的类型不正确。"),
    ({"type": "integer", "minimum": 1}, "0 is less than the minimum of 1", "不能小于 1。"),
    ({"type": "string", "maxLength": 200}, "'xxx' is too long", "最多 200 个字。"),
    ({"type": "array", "maxItems": 5}, "[1, 2, 3, 4, 5, 6] is too long", "最多 5 项。"),
    ({"type": "string", "minLength": 1}, "'' should be non-empty", "此项必填。"),
    ({"type": "string", "minLength": 5}, "'ab' is too short", "至少 5 个字。"),
    ({"type": "array", "minItems": 1}, "[] should be non-empty", "至少选择 1 项。"),
    ({"type": "string", "pattern": "^a$"}, "'b' does not match '^a$'", "格式不正确。"),
    ({"type": "array"}, "[1, 1] has non-unique elements", "每个值只能出现一次。"),
    ({"type": "string"}, "something else", "something else"),
])
def test_engine_messages_are_worded_for_people(ctx: Flask, prop: dict, message: str, expected: str) -> None:
    assert schema_form.field_error(prop, message) == expected


FORMS = sorted((PROJECT_ROOT / "forms").glob("*.json"))


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_form_in_forms_renders_and_round_trips(ctx: Flask, path) -> None:  # noqa: ANN001
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    fields = schema_form.fields_of(schema)
    assert [f.name for f in fields] == [n for n, p in schema["properties"].items() if not p.get("readOnly")]
    html = render_template_string('{% from "_form_fields.html" import form_field %}'
                                  '{% for f in fields %}{{ form_field(f) }}{% endfor %}', fields=fields)
    for field in fields:
        assert f'data-field="{field.name}"' in html
        assert field.widget != "json", f"{path.name}: {field.name} has no proper widget"
    assert schema_form.parse(schema, MultiDict()) == {}  # nothing filled in: nothing sent, "required" decides


def test_time_wording(ctx: Flask) -> None:
    assert span_text(2 * 86400 + 3 * 3600) == "2天3小时" and span_text(2 * 86400) == "2天"
    assert span_text(3 * 3600 + 20 * 60) == "3小时20分" and span_text(3600) == "1小时"
    assert span_text(-12 * 60) == "12分钟" and span_text(30) == "不到1分钟"
    assert remaining_text({"state": "ok", "basis": "working_days", "remaining": 2.46}) == "剩余 2.5 个工作日"
    assert remaining_text({"state": "warn", "basis": "business_hours", "remaining": 5400}) == "剩余 1.5 个工作小时"
    assert remaining_text({"state": "overdue", "basis": "hours", "remaining": -3900}) == "已超时 1小时5分"
    assert remaining_text({"state": "none"}) == "无时限" and remaining_text(None) == "无时限"
    assert value_text("departments", ["network", "billing"]) == "网络、计费"
    assert value_text("x", True) == "是" and value_text("x", None) == "—" and value_text("x", {"a": 1}) == '{"a": 1}'
    assert value_text("category", "billing") == "计费" and value_text("x", []) == "—"
