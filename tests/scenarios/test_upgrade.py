"""upgraded_complaint (升级投诉): one scenario per path, driven through the HTTP API with the test clock.

An upgrade is linked to its original ticket(s); the escalation desk contacts the customer within
2 hours and coordinates a department's investigation under the supervisor's eye (督办: a press at
75% of the closure limit); the supervisor reviews (and may send it back); the customer gets the
reply by SMS; a callback and a root-cause record follow, and the case ends archived. The statutory
15-day line runs from the original complaint. The clock starts at Mon 2026-03-02 09:00 Shanghai.
"""
from __future__ import annotations

from tests.scenarios.conftest import COMPLAINT

RECEIVED = "2026-03-02T01:00:00+00:00"
CONTACT_DUE = "2026-03-02T03:00:00+00:00"  # 2 hours
CLOSURE_DUE = "2026-03-04T01:00:00+00:00"  # 48 hours for a 3-star customer
CLOSURE_REMIND = "2026-03-03T13:00:00+00:00"  # 75% of 48 hours
STATUTORY_DUE = "2026-03-17T16:00:00+00:00"  # 15 calendar days: 24:00 Shanghai on Tue 2026-03-17
STATUTORY_REMIND = "2026-03-13T18:15:00+00:00"
PHONE = COMPLAINT["phone"]


def start_upgrade(api, **fields) -> tuple[str, str]:  # noqa: ANN001
    """A 10015-channel complaint (or ``fields``) through POST /complaints; the intake upgrades it at once.

    Returns (original complaint number, upgraded complaint number).
    """
    complaint = api.start(**{"channel": "10015", **fields})
    [number] = complaint["links"]["derived"]
    assert number.startswith("SJ2026030")
    assert api.case(number)["links"] == {"original": complaint["number"], "derived": []}
    return complaint["number"], number


def work(api, number: str, bpmn_id: str, data: dict, user: str = "escalation", role: str | None = None,  # noqa: ANN001
         due: str | None = CLOSURE_DUE) -> dict:
    """Complete the case's open task ``bpmn_id`` from ``user``'s inbox, after checking its role and deadline."""
    task = api.task(number, user, bpmn_id)
    assert (task["role"], task["due_at"]) == (role or user, due), task
    return api.complete(user, task, data)["case"]


def open_tasks(api, number: str) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(t["bpmn_id"], t["role"]) for t in api.case(number)["tasks"]]


def investigate(api, number: str, department: str, user: str) -> dict:  # noqa: ANN001
    """督办: the desk names the department, the department (by roleExpression) handles it."""
    work(api, number, "Task_upgrade_coordinate", {"department": department, "supervision_note": "48小时内查明原因"})
    assert open_tasks(api, number) == [("Task_upgrade_handle", f"dept:{department}")]
    assert api.tasks("escalation", q=number) == []
    return work(api, number, "Task_upgrade_handle",
                {"findings": "流量包未生效导致超额计费", "resolution": "已退还多收的流量费30元", "resolved": True},
                user=user, role=f"dept:{department}")


def close(api, number: str, satisfaction: str, callback_due: str) -> dict:  # noqa: ANN001
    """Callback and root-cause record; the case ends archived."""
    work(api, number, "Task_upgrade_callback", {"satisfaction": satisfaction, "callback_note": "已回访"},
         due=callback_due)
    case = work(api, number, "Task_upgrade_root_cause",
                {"root_cause_category": "billing", "root_cause": "流量包生效延迟",
                 "improvement": "订购后实时校验生效状态"}, due=None)
    assert case["status"] == "completed" and case["tasks"] == [] and case["timers"] == []
    assert case["data"]["satisfaction"] == satisfaction
    assert case["data"]["archived_at"] == api.now().isoformat()
    assert api.timeline(number)[-4:] == [
        ("task_completed", "Task_upgrade_root_cause"), ("task_completed", "Task_upgrade_archive"),
        ("task_completed", "EndEvent_upgrade_archived"), ("case_completed", None)]
    return case


def reply_text(number: str) -> str:
    return f"【中国联通】您的投诉（工单号{number}）已处理：已退还多收的流量费30元。如有疑问请致电10010。"


def test_upgrade_happy_path(api) -> None:  # noqa: ANN001
    original, number = start_upgrade(api)
    case = api.case(number)
    assert case["process_id"] == "upgraded_complaint" and case["status"] == "running"
    data = case["data"]
    assert (data["original_number"], data["linked_numbers"], data["channel"], data["upgrade_reason"]) == (
        original, [original], "10015", "channel")
    assert (data["received_at"], data["original_received_at"], data["contact_due"]) == (
        RECEIVED, RECEIVED, CONTACT_DUE)
    assert [(c["name"], c["policy"], c["due_at"], c["remind_at"], c["met_at"]) for c in case["sla"]] == [
        ("closure", "closure_48h", CLOSURE_DUE, CLOSURE_REMIND, None),
        ("statutory", "statutory_15d", STATUTORY_DUE, STATUTORY_REMIND, None)]
    assert case["sms"] == [{"phone": PHONE, "template": "upgrade", "status": "pending", "sent_at": None,
                            "created_at": RECEIVED,
                            "text": f"【中国联通】您的投诉已升级处理，升级工单号{number}，专席将在2小时内与您联系。"}]
    [task] = case["tasks"]
    assert (task["bpmn_id"], task["name"], task["role"], task["due_at"], task["form_name"]) == (
        "Task_upgrade_contact", "首次联系客户", "escalation", CONTACT_DUE, "upgrade_contact.json")

    api.advance(hours=1)
    work(api, number, "Task_upgrade_contact", {"contacted": True, "contact_note": "客户要求退还多扣流量费"},
         due=CONTACT_DUE)
    assert open_tasks(api, number) == [("Task_upgrade_coordinate", "escalation")]
    investigate(api, number, "billing", "billing")
    assert api.case(number)["timers"] == []  # handled before the 75% press
    assert open_tasks(api, number) == [("Task_upgrade_review", "supervisor")]

    api.advance(hours=2)
    case = work(api, number, "Task_upgrade_review", {"review_approved": True, "review_note": "处理得当"},
                user="supervisor")
    replied_at = "2026-03-02T04:00:00+00:00"
    assert case["data"]["replied_at"] == replied_at
    assert case["sms"][-1] == {"phone": PHONE, "template": "reply", "status": "pending", "sent_at": None,
                               "created_at": replied_at, "text": reply_text(number)}
    assert {c["name"]: (c["met_at"], c["breached"]) for c in case["sla"]} == {
        "closure": (replied_at, False), "statutory": (replied_at, False)}

    api.advance(hours=20)
    case = close(api, number, "满意", callback_due="2026-03-03T04:00:00+00:00")
    assert case["data"]["root_cause_category"] == "billing"
    assert [s["template"] for s in case["sms"]] == ["upgrade", "reply"]
    assert api.timeline(number) == [
        ("case_started", None),
        ("task_completed", "StartEvent_upgrade"), ("task_completed", "Gateway_upgrade_entry"),
        ("task_completed", "Task_upgrade_register"), ("sms_queued", None), ("task_completed", "Task_upgrade_sms"),
        ("task_ready", "Task_upgrade_contact"),
        ("task_completed", "Task_upgrade_contact"), ("task_completed", "Gateway_upgrade_rework"),
        ("task_ready", "Task_upgrade_coordinate"),
        ("task_completed", "Task_upgrade_coordinate"), ("task_ready", "Task_upgrade_handle"),
        ("task_completed", "Task_upgrade_handle"), ("task_ready", "Task_upgrade_review"),
        ("task_completed", "Task_upgrade_review"), ("task_completed", "Gateway_upgrade_review"),
        ("sms_queued", None), ("task_completed", "Task_upgrade_reply_sms"),
        ("task_completed", "Task_upgrade_replied"), ("task_ready", "Task_upgrade_callback"),
        ("task_completed", "Task_upgrade_callback"), ("task_ready", "Task_upgrade_root_cause"),
        ("task_completed", "Task_upgrade_root_cause"), ("task_completed", "Task_upgrade_archive"),
        ("task_completed", "EndEvent_upgrade_archived"), ("case_completed", None)]


def test_review_sends_the_case_back_for_another_investigation(api) -> None:  # noqa: ANN001
    _, number = start_upgrade(api)
    work(api, number, "Task_upgrade_contact", {"contacted": True, "contact_note": "客户反映上网慢"}, due=CONTACT_DUE)
    investigate(api, number, "billing", "billing")
    work(api, number, "Task_upgrade_review", {"review_approved": False, "review_note": "属网络问题，改派网络部"},
         user="supervisor")
    assert open_tasks(api, number) == [("Task_upgrade_coordinate", "escalation")]
    assert [s["template"] for s in api.case(number)["sms"]] == ["upgrade"]  # nothing told to the customer yet
    investigate(api, number, "network", "network")
    work(api, number, "Task_upgrade_review", {"review_approved": True, "review_note": "同意"}, user="supervisor")
    case = close(api, number, "不满意", callback_due="2026-03-03T01:00:00+00:00")
    assert case["data"]["department"] == "network"
    timeline = case["timeline"]
    assert [e["data"]["role"] for e in timeline if e["type"] == "task_completed"
            and e["bpmn_id"] == "Task_upgrade_handle"] == ["dept:billing", "dept:network"]
    assert [e["data"]["form_data"]["review_approved"] for e in timeline if e["type"] == "task_completed"
            and e["bpmn_id"] == "Task_upgrade_review"] == [False, True]
    assert [e["bpmn_id"] for e in timeline if e["type"] == "task_completed"
            and e["bpmn_id"] == "Gateway_upgrade_rework"] == ["Gateway_upgrade_rework"] * 2


def test_supervisor_presses_the_department_at_75_percent(api) -> None:  # noqa: ANN001
    _, number = start_upgrade(api)
    work(api, number, "Task_upgrade_contact", {"contacted": True, "contact_note": "已联系"}, due=CONTACT_DUE)
    work(api, number, "Task_upgrade_coordinate", {"department": "network", "supervision_note": "尽快处理"})
    assert api.case(number)["timers"] == [{"bpmn_id": "Timer_upgrade_press", "due_at": CLOSURE_REMIND}]
    api.set_clock("2026-03-03T12:59:59+00:00")
    assert open_tasks(api, number) == [("Task_upgrade_handle", "dept:network")]
    api.set_clock("2026-03-03T13:00:01+00:00")
    assert open_tasks(api, number) == [("Task_upgrade_handle", "dept:network"), ("Task_upgrade_press", "supervisor")]
    assert api.timeline(number)[-3:] == [
        ("task_completed", "Timer_upgrade_press"), ("timer_fired", "Timer_upgrade_press"),
        ("task_ready", "Task_upgrade_press")]
    work(api, number, "Task_upgrade_press", {"press_note": "已电话催办网络部"}, user="supervisor")
    assert open_tasks(api, number) == [("Task_upgrade_handle", "dept:network")]
    work(api, number, "Task_upgrade_handle",
         {"findings": "小区基站故障", "resolution": "已退还多收的流量费30元", "resolved": True},
         user="network", role="dept:network")
    work(api, number, "Task_upgrade_review", {"review_approved": True, "review_note": "同意"}, user="supervisor")
    case = api.case(number)
    assert case["sms"][-1]["text"] == reply_text(number)
    assert {c["name"]: c["breached"] for c in case["sla"]} == {"closure": False, "statutory": False}
    close(api, number, "一般", callback_due="2026-03-04T13:00:01+00:00")
    assert ("task_completed", "EndEvent_upgrade_pressed") in api.timeline(number)


def test_repeat_complaint_is_upgraded_and_linked_to_every_ticket(api) -> None:  # noqa: ANN001
    """An internal trigger: the same SVIP customer complains again about the same thing."""
    first = api.start(svip=True)["number"]
    repeat, number = start_upgrade(api, channel="10010", svip=True)
    data = api.case(number)["data"]
    assert (data["upgrade_reason"], data["repeat_of"], data["linked_numbers"]) == (
        "repeat", [first], [repeat, first])
    assert [(c["name"], c["policy"], c["due_at"]) for c in api.case(number)["sla"]] == [
        ("closure", "closure_24h", "2026-03-03T01:00:00+00:00"), ("statutory", "statutory_15d", STATUTORY_DUE)]
    task = api.task(number, "escalation", "Task_upgrade_contact")
    assert (task["due_at"], task["priority"], task["tier"]) == (CONTACT_DUE, 30, "svip")


def test_dissatisfied_twice_upgrade_keeps_the_statutory_line_of_the_original(api) -> None:  # noqa: ANN001
    """An internal trigger: unsatisfied at callback twice (complaint_dispatch upgrades), a day after receipt."""
    original = api.start()["number"]
    api.complete("intake", api.task(original, "intake", "Task_intake_first_contact"), {"first_contact_solved": False})
    for satisfaction in ("不满意", "不满意"):
        for bpmn_id, user, data in [
            ("Task_dispatch_audit", "dispatcher", {"departments": ["network"], "dispatch_note": "核查网络"}),
            ("Task_dispatch_handle", "network", {"handle_action": "handled", "handle_note": "已优化",
                                                 "problem_solved": True}),
            ("Task_dispatch_review", "dispatcher", {"approved": True, "review_note": "同意"}),
            ("Task_dispatch_reply", "intake", {"reply_content": "网络已优化", "reply_method": "电话"}),
        ]:
            api.complete(user, api.task(original, user, bpmn_id), data)
        api.advance(hours=12)
        api.complete("intake", api.task(original, "intake", "Task_dispatch_callback"),
                     {"satisfaction": satisfaction, "resolved": False})
    [number] = api.case(original)["links"]["derived"]
    case = api.case(number)
    assert case["links"]["original"] == original and case["data"]["upgrade_reason"] == "dissatisfied"
    assert case["data"]["received_at"] == "2026-03-03T01:00:00+00:00"
    assert case["data"]["original_received_at"] == RECEIVED
    assert [(c["name"], c["started_at"], c["due_at"]) for c in case["data"]["sla_clocks"].values()] == [
        ("statutory", RECEIVED, STATUTORY_DUE),  # from the original complaint, not from the upgrade
        ("closure", "2026-03-03T01:00:00+00:00", "2026-03-05T01:00:00+00:00")]
    assert open_tasks(api, number) == [("Task_upgrade_contact", "escalation")]


def test_upgrade_requested_message_starts_an_upgrade(api) -> None:  # noqa: ANN001
    """The second entry: an upgrade request from outside (e.g. media), by message."""
    original_received = "2026-02-27T10:30:00+08:00"  # Fri; +15 days is Sat 03-14, so the line moves to Mon 03-16
    payload = {"phone": PHONE, "customer_name": "张三", "channel": "media", "business_line": "mobile",
               "category": "mobile_data", "region": "urban", "city": "北京", "description": "媒体曝光：上网慢",
               "original_number": "TS20260227000042", "original_received_at": original_received}
    result = api.message("supervisor", "upgrade_requested", None, payload, expect=201)
    number = result["number"]
    assert result["started"] is True and number.startswith("SJ20260302")
    case = api.case(number)
    assert case["data"]["upgrade_request"] == payload
    assert (case["data"]["upgrade_reason"], case["data"]["linked_numbers"]) == ("channel", ["TS20260227000042"])
    assert [c["due_at"] for c in case["sla"]] == [CLOSURE_DUE, "2026-03-16T16:00:00+00:00"]
    assert open_tasks(api, number) == [("Task_upgrade_contact", "escalation")]
    assert [s["template"] for s in case["sms"]] == ["upgrade"]
    assert ("task_completed", "Task_upgrade_read_request") in api.timeline(number)
