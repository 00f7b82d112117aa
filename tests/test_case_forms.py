"""engine.case_forms: titles and value names of the fields in a case's task forms."""
from __future__ import annotations

import json

import pytest

from engine import case_forms
from engine.errors import NotFound
from engine.service import UploadedFile
from tests.conftest import BASIC_DIR
from tests.ui_support import COMPLAINT


def test_labels_from_forms() -> None:
    labels = case_forms.labels_from_forms([
        {"properties": {"action": {"type": "string", "title": "处理方式", "enum": ["handled", "return"],
                                   "x-enumNames": ["已处理", "退单"]},
                        "depts": {"type": "array", "title": "部门", "items": {"enum": ["network"],
                                                                              "x-enumNames": ["网络"]}},
                        "level": {"oneOf": [{"const": 1, "title": "一级"}]},
                        "note": {"type": "string"}}},
        {"properties": {"action": {"title": "别的"}}}, "not a form",
    ])
    assert labels["action"] == {"title": "处理方式", "options": {"handled": "已处理", "return": "退单"}}
    assert labels["depts"]["options"] == {"network": "网络"} and labels["level"]["options"] == {"1": "一级"}
    assert labels["note"] == {"title": "note", "options": {}}


def test_field_labels_of_a_case_prefer_its_own_deployment(engine) -> None:  # noqa: ANN001
    number = engine.start_complaint(COMPLAINT, "intake")["number"]
    with engine.db.read() as session:
        labels = case_forms.field_labels(session, number)
    assert labels["dispatch_note"]["title"] == "派单说明" and labels["resolved"]["title"] == "已解决"
    form = json.loads((BASIC_DIR / "forms" / "dispatch.json").read_text(encoding="utf-8"))
    form["properties"]["dispatch_note"]["title"] = "新标题"
    bpmn = (BASIC_DIR / "processes" / "complaint_intake.bpmn").read_bytes()
    engine.deploy([UploadedFile("complaint_intake.bpmn", bpmn),
                   UploadedFile("dispatch.json", json.dumps(form, ensure_ascii=False).encode())], "owner")
    newer = engine.start_complaint({**COMPLAINT, "phone": "13900000000"}, "intake")["number"]
    with engine.db.read() as session:
        assert case_forms.field_labels(session, number)["dispatch_note"]["title"] == "派单说明"
        assert case_forms.field_labels(session, newer)["dispatch_note"]["title"] == "新标题"
        assert case_forms.field_labels(session, newer)["resolved"]["title"] == "已解决"  # from the older deployment
        with pytest.raises(NotFound):
            case_forms.field_labels(session, "TS20260302999999")
