"""Service-task connectors: SMS into the outbox and linked cases, in the step's own transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ProcessFault
from engine.models import ProcessInstance, SmsMessage
from engine.service import TaskFilters
from engine.viewer import Viewer
from tests.conftest import deploy_test_model

SUPERVISOR = Viewer("supervisor", frozenset({"supervisor"}))


@pytest.fixture
def flow(engine):  # noqa: ANN001, ANN201
    deploy_test_model(engine, "connectors_flow.bpmn", "timer_wait.bpmn")
    return engine


def test_sms_and_linked_case_and_computed_roles(flow, db):  # noqa: ANN001
    case = flow.start("connectors_flow", {"phone": "13800138000", "sms_template": "ack",
                                          "departments": ["network", "billing"]}, "intake")
    number = case["number"]
    assert case["sms"] == [{"phone": "13800138000", "template": "ack", "status": "pending", "sent_at": None,
                            "created_at": "2026-03-02T01:00:00+00:00",
                            "text": f"【中国联通】您的投诉已受理，工单号{number}，我们将尽快处理并与您联系。"}]
    upgrade = case["data"]["upgrade"]["number"]
    assert upgrade.startswith("CF") and case["links"] == {"original": None, "derived": [upgrade]}
    linked = flow.get_case(upgrade, SUPERVISOR)
    assert linked["data"]["original_number"] == number and linked["data"]["phone"] == "13800138000"
    assert linked["links"]["original"] == number
    assert linked["timers"][0]["due_at"] == "2026-03-02T02:00:00+00:00"
    roles = sorted(t["role"] for t in flow.list_tasks(SUPERVISOR, TaskFilters(q=number))["items"])
    assert roles == ["dept:billing", "dept:network"]
    billing = flow.list_tasks(Viewer("b", frozenset({"dept:billing"})), TaskFilters())["items"]
    assert [t["complaint_number"] for t in billing] == [number]
    assert ("case_linked", None) in [(e["type"], e["bpmn_id"]) for e in case["timeline"]]


@pytest.mark.parametrize("data,message", [
    ({"phone": "13800138000", "sms_template": "nonsense", "departments": []}, "unknown SMS template"),
    ({"phone": "not-a-phone", "sms_template": "ack", "departments": []}, "is not a phone number"),
    ({"phone": "13800138000", "sms_template": "ack", "departments": ["Bad Dept"]}, "not a role code"),
])
def test_a_failing_connector_or_role_rolls_back_everything(flow, db, data, message):  # noqa: ANN001
    with pytest.raises(ProcessFault, match=message):
        flow.start("connectors_flow", data, "intake")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 0
