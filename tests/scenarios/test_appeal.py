"""customer_appeal (客户申诉): one scenario per path, driven through the HTTP API with the test clock.

The regulator's gateway posts ``appeal_received``; the appeals desk registers it and the appellant
gets an SMS; each appeal type takes its own path to the outcome (和解 / 不认可 / 知晓), the report
to the regulator and the archive. A reminder falls at 75% of the time to the regulator's deadline,
and a missed deadline escalates. The clock starts at Mon 2026-03-02 09:00 Shanghai.
"""
from __future__ import annotations

import pytest

RECEIVED = "2026-03-02T01:00:00+00:00"
DEADLINE = "2026-03-06T10:00:00+00:00"  # the regulator's deadline, Fri 2026-03-06 18:00 Shanghai
REMIND = "2026-03-05T07:45:00+00:00"  # 75% of the 105 hours from receipt to the deadline
GREEN_DUE = "2026-03-03T01:00:00+00:00"  # green channel: 24 hours from receipt, sooner than the deadline
TICKET = "GXB-2026-000123"
PHONE = "13900139000"
APPEAL = {
    "regulator_ticket": TICKET, "appeal_type": "transfer", "appellant_name": "李四", "phone": PHONE,
    "complaint_number": "TS20260201000007", "deadline": "2026-03-06T18:00:00+08:00",
    "content": "宽带多次报修未解决，投诉后15日内未获答复",
}
LINKED = ["TS20260201000007", "TS20260215000003"]
GATEWAY = "regulator_gateway"


@pytest.fixture
def gateway(make_user) -> str:  # noqa: ANN001
    """The regulator's appeal gateway: an integration user that may only deliver messages."""
    return make_user(GATEWAY, ["gateway"])


def receive(api, gateway: str, **fields) -> str:  # noqa: ANN001
    result = api.message(gateway, "appeal_received", None, {**APPEAL, **fields}, expect=201)
    assert result["started"] is True and result["number"].startswith("SS20260302")
    return result["number"]


def work(api, number: str, bpmn_id: str, data: dict, user: str = "appeals", role: str | None = None,  # noqa: ANN001
         due: str | None = DEADLINE, priority: int = 20) -> dict:
    """Complete the case's open task ``bpmn_id`` from ``user``'s inbox, after checking its role and deadline."""
    task = api.task(number, user, bpmn_id)
    assert (task["role"], task["due_at"], task["priority"]) == (role or user, due, priority), task
    return api.complete(user, task, data)["case"]


def open_tasks(api, number: str) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(t["bpmn_id"], t["role"]) for t in api.case(number)["tasks"]]


def steps(api, number: str) -> list[tuple[str, str | None]]:  # noqa: ANN001
    """The appeal's own timeline: its elements, SMS and case events (not those of the called dispatch)."""
    return [(e["type"], e["bpmn_id"]) for e in api.case(number)["timeline"]
            if e["bpmn_id"] is None or "_appeal" in e["bpmn_id"]]


def completed(api, number: str) -> list[str]:  # noqa: ANN001
    return [bpmn_id for kind, bpmn_id in steps(api, number) if kind == "task_completed"]


def register(api, number: str, due: str = DEADLINE, priority: int = 20) -> dict:  # noqa: ANN001
    """申诉登记 links the original complaints; the appellant is then told by SMS."""
    case = work(api, number, "Task_appeal_register",
                {"linked_numbers": LINKED, "register_note": "原投诉两次，均未解决"}, due=due, priority=priority)
    assert case["data"]["linked_numbers"] == LINKED
    assert case["sms"][0] == {
        "phone": PHONE, "template": "appeal_contact", "status": "pending", "sent_at": None, "created_at": RECEIVED,
        "text": f"【中国联通】您的申诉（{TICKET}）已收到，工单号{number}，我们将与您联系。"}
    return case


def investigate(api, number: str) -> None:  # noqa: ANN001
    """调查处理: the called complaint_dispatch, worked from the dispatcher's audit to the callback."""
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    assert api.case(number)["data"]["channel"] == "regulator"
    work(api, number, "Task_dispatch_audit",
         {"departments": ["broadband"], "dispatch_note": "申诉转办，请核查宽带故障"}, user="dispatcher", priority=10)
    work(api, number, "Task_dispatch_handle",
         {"handle_action": "handled", "handle_note": "更换光猫，线路已恢复", "problem_solved": True},
         user="broadband", role="dept:broadband", priority=10)
    work(api, number, "Task_dispatch_review", {"approved": True, "review_note": "处理属实"}, user="dispatcher",
         priority=10)
    work(api, number, "Task_dispatch_reply", {"reply_content": "宽带已修复", "reply_method": "电话"}, user="intake",
         priority=10)
    work(api, number, "Task_dispatch_callback", {"satisfaction": "一般", "resolved": True}, user="intake", priority=10)
    case = api.case(number)
    assert open_tasks(api, number) == [("Task_appeal_offer", "appeals")]
    # Back in the appeal, only the appeal's own clock is left.
    assert [c["name"] for c in case["sla"]] == ["appeal"]


def finish(api, number: str, outcome: str, due: str = DEADLINE, priority: int = 20) -> dict:  # noqa: ANN001
    """Record the outcome, tell the appellant, report to the regulator; the case ends archived."""
    work(api, number, "Task_appeal_outcome", {"outcome": outcome, "outcome_note": "已向申诉人说明"},
         due=due, priority=priority)
    case = work(api, number, "Task_appeal_report", {"report_text": f"处理结果：{outcome}"}, due=due, priority=priority)
    assert case["sms"][-1]["template"] == "appeal_result"
    assert case["sms"][-1]["text"] == f"【中国联通】您的申诉（{TICKET}）处理结果：{outcome}。"
    assert case["status"] == "completed" and case["tasks"] == [] and case["timers"] == []
    now = api.now().isoformat()
    assert (case["data"]["outcome"], case["data"]["reported_at"], case["data"]["archived_at"]) == (outcome, now, now)
    assert case["sla"] == [{"name": "appeal", "policy": "regulator_deadline", "basis": "hours", "due_at": DEADLINE,
                            "remind_at": REMIND, "breached": False, "paused": False, "met_at": now}]
    assert steps(api, number)[-11:] == [
        ("task_completed", "Task_appeal_outcome"), ("sms_queued", None),
        ("task_completed", "Task_appeal_result_sms"), ("task_ready", "Task_appeal_report"),
        ("task_completed", "Task_appeal_report"), ("task_completed", "Task_appeal_reported"),
        ("task_completed", "EndEvent_appeal_handled"), ("task_completed", "SubProcess_appeal_handle"),
        ("task_completed", "Task_appeal_archive"), ("task_completed", "EndEvent_appeal_archived"),
        ("case_completed", None)]
    return case


def test_appeal_is_registered_from_the_regulator_message(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway)
    case = api.case(number)
    assert case["process_id"] == "customer_appeal" and case["status"] == "running"
    data = case["data"]
    assert data["appeal"] == APPEAL
    assert (data["regulator_ticket"], data["appeal_type"], data["customer_name"], data["phone"]) == (
        TICKET, "transfer", "李四", PHONE)
    assert (data["original_number"], data["received_at"], data["deadline"], data["internal_due"]) == (
        "TS20260201000007", RECEIVED, DEADLINE, DEADLINE)
    assert data["deadline_missed"] is False
    assert case["sla"] == [{"name": "appeal", "policy": "regulator_deadline", "basis": "hours", "due_at": DEADLINE,
                            "remind_at": REMIND, "breached": False, "paused": False, "met_at": None}]
    assert case["timers"] == [{"bpmn_id": "Timer_appeal_remind", "due_at": REMIND},
                              {"bpmn_id": "Timer_appeal_deadline", "due_at": DEADLINE}]
    [task] = case["tasks"]
    assert (task["bpmn_id"], task["name"], task["role"], task["due_at"], task["priority"]) == (
        "Task_appeal_register", "申诉登记", "appeals", DEADLINE, 20)
    assert (task["phone"], task["customer_name"], task["form_name"]) == (PHONE, "李四", "appeal_register.json")
    assert api.tasks("escalation") == [] and case["sms"] == []
    assert steps(api, number) == [
        ("case_started", None), ("message_received", "StartEvent_appeal"),
        ("task_completed", "StartEvent_appeal"), ("task_completed", "Task_appeal_receive"),
        ("task_completed", "StartEvent_appeal_handle"), ("task_ready", "Task_appeal_register")]


def test_preprocess_settled_quickly_by_the_appeals_desk(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="preprocess")
    register(api, number)
    case = work(api, number, "Task_appeal_preprocess", {"quick_settled": True, "preprocess_note": "退还多收费用"})
    assert open_tasks(api, number) == [("Task_appeal_outcome", "appeals")]
    case = finish(api, number, "和解")
    assert [s["template"] for s in case["sms"]] == ["appeal_contact", "appeal_result"]
    assert steps(api, number)[6:] == [
        ("task_completed", "Task_appeal_register"), ("sms_queued", None),
        ("task_completed", "Task_appeal_contact_sms"), ("task_completed", "Gateway_appeal_type"),
        ("task_ready", "Task_appeal_preprocess"),
        ("task_completed", "Task_appeal_preprocess"), ("task_completed", "Gateway_appeal_quick"),
        ("task_completed", "Gateway_appeal_outcome"), ("task_ready", "Task_appeal_outcome"),
        ("task_completed", "Task_appeal_outcome"), ("sms_queued", None),
        ("task_completed", "Task_appeal_result_sms"), ("task_ready", "Task_appeal_report"),
        ("task_completed", "Task_appeal_report"), ("task_completed", "Task_appeal_reported"),
        ("task_completed", "EndEvent_appeal_handled"), ("task_completed", "SubProcess_appeal_handle"),
        ("task_completed", "Task_appeal_archive"), ("task_completed", "EndEvent_appeal_archived"),
        ("case_completed", None)]


def test_preprocess_not_settled_is_investigated_then_settled(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="preprocess")
    register(api, number)
    work(api, number, "Task_appeal_preprocess", {"quick_settled": False, "preprocess_note": "需装维部门核查"})
    investigate(api, number)
    work(api, number, "Task_appeal_offer", {"settlement_offer": "赠送三个月宽带提速", "offer_accepted": True})
    finish(api, number, "和解")
    ran = completed(api, number)
    assert ran.index("Task_appeal_preprocess") < ran.index("Call_appeal_investigate") < ran.index("Task_appeal_offer")


def test_transfer_is_investigated_through_dispatch_and_settled(api, gateway) -> None:  # noqa: ANN001
    """The happy path: 转办 → investigation (complaint_dispatch) → settlement accepted → 和解."""
    number = receive(api, gateway)
    register(api, number)
    investigate(api, number)
    work(api, number, "Task_appeal_offer", {"settlement_offer": "赔偿两个月宽带费", "offer_accepted": True})
    case = finish(api, number, "和解")
    assert [s["template"] for s in case["sms"]] == ["appeal_contact", "reply", "callback", "appeal_result"]
    ran = completed(api, number)
    assert ran[ran.index("Gateway_appeal_type"):ran.index("Task_appeal_offer") + 1] == [
        "Gateway_appeal_type", "Gateway_appeal_investigate", "Task_appeal_prepare", "Call_appeal_investigate",
        "Task_appeal_investigated", "Gateway_appeal_offer_merge", "Task_appeal_offer"]
    assert "Task_appeal_mediate" not in ran


def test_refused_settlement_goes_to_mediation_and_is_acknowledged(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway)
    register(api, number)
    investigate(api, number)
    work(api, number, "Task_appeal_offer", {"settlement_offer": "赔偿一个月宽带费", "offer_accepted": False})
    assert open_tasks(api, number) == [("Task_appeal_mediate", "appeals")]
    work(api, number, "Task_appeal_mediate", {"mediation_result": "申诉人了解处理依据，不再要求赔偿"})
    finish(api, number, "知晓")
    ran = completed(api, number)
    assert ran.index("Task_appeal_offer") < ran.index("Task_appeal_mediate") < ran.index("Task_appeal_outcome")


def test_mediation_appeal_goes_straight_to_mediation_and_is_not_accepted(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="mediation")
    register(api, number)
    assert open_tasks(api, number) == [("Task_appeal_mediate", "appeals")]
    work(api, number, "Task_appeal_mediate", {"mediation_result": "管局主持调解，申诉人坚持全额赔偿"})
    finish(api, number, "不认可")
    ran = completed(api, number)
    assert "Call_appeal_investigate" not in ran and "Task_appeal_offer" not in ran
    assert ran.index("Gateway_appeal_type") < ran.index("Task_appeal_mediate") < ran.index("Task_appeal_outcome")


def test_green_channel_is_expedited_with_a_24_hour_internal_limit(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="green_channel")
    assert api.case(number)["data"]["internal_due"] == GREEN_DUE
    register(api, number, due=GREEN_DUE, priority=30)
    api.advance(hours=3)
    work(api, number, "Task_appeal_expedite", {"expedite_result": "当日恢复宽带并减免当月月租"},
         due=GREEN_DUE, priority=30)
    assert open_tasks(api, number) == [("Task_appeal_offer", "appeals")]
    work(api, number, "Task_appeal_offer", {"settlement_offer": "减免当月月租", "offer_accepted": True},
         due=GREEN_DUE, priority=30)
    finish(api, number, "和解", due=GREEN_DUE, priority=30)
    assert "Call_appeal_investigate" not in completed(api, number)


def test_green_channel_keeps_the_regulator_deadline_when_it_is_sooner(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="green_channel", deadline="2026-03-02T21:00:00+08:00")
    data = api.case(number)["data"]
    assert data["deadline"] == data["internal_due"] == "2026-03-02T13:00:00+00:00"
    assert api.task(number, "appeals", "Task_appeal_register")["due_at"] == "2026-03-02T13:00:00+00:00"


def test_missed_deadline_reminds_at_75_percent_then_escalates(api, gateway) -> None:  # noqa: ANN001
    number = receive(api, gateway, appeal_type="mediation")
    register(api, number)
    api.set_clock("2026-03-05T07:44:59+00:00")
    assert "reminded_at" not in api.case(number)["data"]
    api.set_clock("2026-03-05T07:45:01+00:00")
    case = api.case(number)
    assert case["data"]["reminded_at"] == "2026-03-05T07:45:01+00:00"
    assert [t["bpmn_id"] for t in case["timers"]] == ["Timer_appeal_deadline"]
    assert open_tasks(api, number) == [("Task_appeal_mediate", "appeals")]  # the reminder opens no task

    api.set_clock("2026-03-06T10:00:01+00:00")
    case = api.case(number)
    assert case["data"]["deadline_missed"] is True
    assert case["sla"][0]["breached"] is True and case["timers"] == []
    assert open_tasks(api, number) == [("Task_appeal_mediate", "appeals"), ("Task_appeal_escalate", "escalation")]
    escalation = api.task(number, "escalation", "Task_appeal_escalate")
    assert (escalation["name"], escalation["due_at"], escalation["priority"]) == ("超期升级处理", None, 30)
    assert api.task(number, "appeals", "Task_appeal_mediate")["overdue"] is True
    assert ("timer_fired", "Timer_appeal_remind") in steps(api, number)
    assert steps(api, number)[-4:] == [
        ("task_completed", "Timer_appeal_deadline"), ("task_completed", "Task_appeal_mark_missed"),
        ("timer_fired", "Timer_appeal_deadline"), ("task_ready", "Task_appeal_escalate")]

    # The appeal is still worked to its end; the escalation desk closes its own task.
    work(api, number, "Task_appeal_mediate", {"mediation_result": "申诉人接受解释"})
    work(api, number, "Task_appeal_outcome", {"outcome": "知晓", "outcome_note": "超期后完成调解"})
    case = work(api, number, "Task_appeal_report", {"report_text": "已超期，说明原因并反馈结果"})
    assert case["status"] == "running" and case["data"]["archived_at"] == "2026-03-06T10:00:01+00:00"
    assert open_tasks(api, number) == [("Task_appeal_escalate", "escalation")]
    case = work(api, number, "Task_appeal_escalate", {"escalation_note": "已向管局说明超期原因"},
                user="escalation", due=None, priority=30)
    assert case["status"] == "completed" and case["data"]["deadline_missed"] is True
    assert case["sla"][0]["breached"] is True and case["sla"][0]["met_at"] == "2026-03-06T10:00:01+00:00"


def test_an_appeal_without_a_deadline_offset_is_refused_and_nothing_starts(api, gateway) -> None:  # noqa: ANN001
    error = api.message(gateway, "appeal_received", None, {**APPEAL, "deadline": "2026-03-06T18:00:00"}, expect=500)
    assert "needs a UTC offset" in error["error"]["message"]
    assert api.tasks("appeals") == []
