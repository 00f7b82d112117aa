"""complaint_dispatch, one test per path: parallel departments to archive, one return, two returns to the
supervisor, review sending work back, waiting for the customer (message and timeout) with the SLA clocks paused,
reopen once and upgrade on the second dissatisfaction, and the reminder / escalation on a department's task.

Driven through the HTTP API with the test clock (the ``api`` fixture). Times are written in Beijing time.
"""
from __future__ import annotations

from datetime import timedelta

from tests.scenarios.test_intake import (
    assert_in_order,
    at,
    callback,
    clocks,
    deadlines,
    first_contact,
    open_tasks,
    sms_templates,
    when,
)

MOBILE_DEADLINES = {  # a mobile complaint received Mon 2026-03-02 09:00 by a 3-star customer
    "reply": at("2026-03-05T00:00"), "resolve": at("2026-03-10T00:00"), "closure": at("2026-03-04T09:00"),
    "statutory": at("2026-03-18T00:00")}


def dispatched(api, **fields) -> str:  # noqa: ANN001, ANN003
    """A complaint the intake agent could not solve: it waits for the dispatcher's audit."""
    number = api.start(**fields)["number"]
    first_contact(api, number, solved=False)
    return number


def audit(api, number: str, *departments: str, user: str = "dispatcher") -> dict:  # noqa: ANN001
    task = api.task(number, user, "Task_dispatch_audit")
    return api.complete(user, task, {"departments": list(departments), "dispatch_note": "请核查处理"})["case"]


def handle(api, number: str, department: str, action: str = "handled", note: str = "已核查处理完毕",  # noqa: ANN001
           solved: bool = True) -> dict:
    task = api.task(number, department, "Task_dispatch_handle")
    assert task["role"] == f"dept:{department}"
    return api.complete(department, task, {"handle_action": action, "handle_note": note,
                                           "problem_solved": solved})["case"]


def review(api, number: str, approved: bool, note: str = "处理到位") -> dict:  # noqa: ANN001
    task = api.task(number, "dispatcher", "Task_dispatch_review")
    return api.complete("dispatcher", task, {"approved": approved, "review_note": note})["case"]


def reply(api, number: str, content: str = "基站已扩容，网络恢复正常") -> dict:  # noqa: ANN001
    task = api.task(number, "intake", "Task_dispatch_reply")
    return api.complete("intake", task, {"reply_content": content, "reply_method": "电话"})["case"]


def handle_roles(api, number: str) -> list[str]:  # noqa: ANN001
    return sorted(role for bpmn_id, role in open_tasks(api, number) if bpmn_id == "Task_dispatch_handle")


# -- the happy path ---------------------------------------------------------------------------------------------


def test_parallel_departments_then_review_reply_callback_and_archive(api) -> None:  # noqa: ANN001
    number = dispatched(api)  # Mon 2026-03-02 09:00
    case = api.case(number)
    assert deadlines(case) == MOBILE_DEADLINES
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    assert when(api.task(number, "dispatcher", "Task_dispatch_audit")["due_at"]) == at("2026-03-04T09:00")

    api.set_clock("2026-03-02T10:00:00+08:00")
    audit(api, number, "network", "billing")
    assert handle_roles(api, number) == ["dept:billing", "dept:network"]
    for department in ("network", "billing"):
        assert when(api.task(number, department, "Task_dispatch_handle")["due_at"]) == at("2026-03-04T09:00")
    assert api.tasks("broadband", q=number) == []  # other departments do not see it

    api.set_clock("2026-03-02T16:00:00+08:00")
    handle(api, number, "network", note="基站故障已修复")
    assert open_tasks(api, number) == [("Task_dispatch_handle", "dept:billing")]
    api.set_clock("2026-03-03T10:00:00+08:00")
    case = handle(api, number, "billing", note="已退还流量费")
    assert open_tasks(api, number) == [("Task_dispatch_review", "dispatcher")]
    assert [(r["department"], r["note"]) for r in case["data"]["handled_results"]] == [
        ("network", "基站故障已修复"), ("billing", "已退还流量费")]

    api.set_clock("2026-03-03T11:00:00+08:00")
    case = review(api, number, approved=True)
    met = {c["name"]: when(c["met_at"]) for c in case["sla"]}
    assert met == {"closure": at("2026-03-03T11:00"), "resolve": at("2026-03-03T11:00"), "reply": None,
                   "statutory": None}
    assert open_tasks(api, number) == [("Task_dispatch_reply", "intake")]
    assert when(api.task(number, "intake", "Task_dispatch_reply")["due_at"]) == at("2026-03-05T00:00")  # reply clock

    api.set_clock("2026-03-03T14:00:00+08:00")
    case = reply(api, number)
    assert when(clocks(case)["reply"]["met_at"]) == at("2026-03-03T14:00")
    assert open_tasks(api, number) == [("Task_dispatch_callback", "intake")]
    assert when(api.task(number, "intake", "Task_dispatch_callback")["due_at"]) == at("2026-03-18T00:00")
    assert sms_templates(case) == ["ack", "reply", "callback"]
    assert case["sms"][1]["text"] == (f"【中国联通】您的投诉（工单号{number}）已处理：基站已扩容，网络恢复正常。"
                                      "如有疑问请致电10010。")
    assert all(m["phone"] == "13800138000" for m in case["sms"])

    api.set_clock("2026-03-04T10:00:00+08:00")
    case = callback(api, number, "Task_dispatch_callback", "一般", True)
    assert case["status"] == "completed" and case["tasks"] == []
    assert case["data"]["outcome"] == "resolved" and case["data"]["satisfaction"] == "一般"
    assert when(case["data"]["archived_at"]) == at("2026-03-04T10:00")
    assert all(c["met_at"] and not c["breached"] for c in case["sla"])
    assert_in_order(
        api.timeline(number),
        ("task_completed", "Task_intake_first_contact"), ("task_completed", "StartEvent_dispatch"),
        ("task_ready", "Task_dispatch_audit"), ("task_completed", "Task_dispatch_audit"),
        ("task_completed", "Task_dispatch_assign"), ("task_ready", "Task_dispatch_handle"),
        ("task_completed", "Task_dispatch_collect"), ("task_ready", "Task_dispatch_review"),
        ("task_completed", "Task_dispatch_review_met"), ("task_ready", "Task_dispatch_reply"),
        ("task_completed", "Task_dispatch_reply_sms"), ("task_completed", "Task_dispatch_replied"),
        ("task_completed", "Task_dispatch_callback_sms"), ("task_ready", "Task_dispatch_callback"),
        ("task_completed", "Task_dispatch_callback_result"), ("task_completed", "EndEvent_dispatch_resolved"),
        ("task_completed", "Activity_intake_dispatch"), ("task_completed", "Task_intake_archive"),
        ("task_completed", "EndEvent_intake_archived"), ("case_completed", None),
    )


# -- returns ------------------------------------------------------------------------------------------------------


def test_a_department_returns_a_wrong_dispatch_and_the_dispatcher_dispatches_again(api) -> None:  # noqa: ANN001
    number = dispatched(api)
    audit(api, number, "billing")
    api.set_clock("2026-03-02T11:00:00+08:00")
    case = handle(api, number, "billing", action="return", note="非计费问题，应派网络部", solved=False)
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    assert case["data"]["return_count"] == 1
    assert case["data"]["return_log"] == [
        {"department": "billing", "reason": "非计费问题，应派网络部", "at": "2026-03-02T03:00:00+00:00"}]
    assert when(api.task(number, "dispatcher", "Task_dispatch_audit")["due_at"]) == at("2026-03-04T09:00")

    audit(api, number, "network")
    assert handle_roles(api, number) == ["dept:network"]
    handle(api, number, "network")
    assert open_tasks(api, number) == [("Task_dispatch_review", "dispatcher")]
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_collect"),
                    ("task_completed", "Task_dispatch_count_return"),
                    ("task_completed", "Gateway_dispatch_return_count"), ("task_ready", "Task_dispatch_audit"),
                    ("task_completed", "Task_dispatch_audit"), ("task_ready", "Task_dispatch_handle"))
    assert "Task_dispatch_supervisor" not in [bpmn_id for _, bpmn_id in api.timeline(number)]


def test_a_second_return_goes_to_the_supervisor(api) -> None:  # noqa: ANN001
    number = dispatched(api)
    audit(api, number, "billing")
    handle(api, number, "billing", action="return", note="非计费问题", solved=False)
    audit(api, number, "channel")
    api.set_clock("2026-03-02T15:00:00+08:00")
    case = handle(api, number, "channel", action="return", note="非渠道问题", solved=False)
    assert case["data"]["return_count"] == 2
    assert [r["department"] for r in case["data"]["return_log"]] == ["billing", "channel"]
    assert open_tasks(api, number) == [("Task_dispatch_supervisor", "supervisor")]
    assert when(api.task(number, "supervisor", "Task_dispatch_supervisor")["due_at"]) == at("2026-03-04T09:00")

    task = api.task(number, "supervisor", "Task_dispatch_supervisor")
    api.complete("supervisor", task, {"departments": ["network"], "supervisor_note": "信号问题，由网络部处理"})
    assert handle_roles(api, number) == ["dept:network"]
    handle(api, number, "network")
    assert open_tasks(api, number) == [("Task_dispatch_review", "dispatcher")]
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_count_return"),
                    ("task_ready", "Task_dispatch_supervisor"), ("task_completed", "Task_dispatch_supervisor"),
                    ("task_completed", "Gateway_dispatch_handle_merge"), ("task_ready", "Task_dispatch_handle"))


# -- result review ------------------------------------------------------------------------------------------------


def test_result_review_sends_the_work_back_to_the_departments(api) -> None:  # noqa: ANN001
    number = dispatched(api, business_line="converged", category="broadband_network")
    audit(api, number, "network", "broadband")
    handle(api, number, "network")
    handle(api, number, "broadband", note="已上门", solved=False)
    case = review(api, number, approved=False, note="宽带问题未解决，请重新处理")
    assert case["data"]["handled_results"] == [] and case["data"]["departments"] == ["broadband", "network"]
    assert handle_roles(api, number) == ["dept:broadband", "dept:network"]
    assert {c["name"]: c["met_at"] for c in case["sla"]} == {"closure": None, "resolve": None, "statutory": None}

    handle(api, number, "network")
    handle(api, number, "broadband", note="已更换光猫，网速恢复")
    review(api, number, approved=True)
    assert open_tasks(api, number) == [("Task_dispatch_reply", "intake")]
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_review"),
                    ("task_completed", "Task_dispatch_send_back"), ("task_ready", "Task_dispatch_handle"),
                    ("task_completed", "Task_dispatch_review"), ("task_completed", "Task_dispatch_review_met"))


# -- waiting for the customer -----------------------------------------------------------------------------------


def test_waiting_for_customer_information_pauses_and_resumes_the_sla_clocks(api) -> None:  # noqa: ANN001
    api.set_clock("2026-02-13T10:00:00+08:00")  # Friday before the Spring Festival (Feb 15-23 off, Feb 14 worked)
    number = dispatched(api)
    before = {"reply": at("2026-02-25T00:00"), "resolve": at("2026-02-28T00:00"), "closure": at("2026-02-15T10:00"),
              "statutory": at("2026-03-01T00:00")}
    assert deadlines(api.case(number)) == before
    audit(api, number, "network", "billing")
    handle(api, number, "billing")
    api.set_clock("2026-02-13T12:00:00+08:00")
    case = handle(api, number, "network", action="need_customer_info", note="请客户提供故障发生的具体地址",
                  solved=False)
    assert case["data"]["need_customer_info"] is True
    assert all(c["paused"] for c in case["sla"]) and deadlines(case) == before
    assert open_tasks(api, number) == []
    assert {t["bpmn_id"]: when(t["due_at"]) for t in case["timers"]} == {
        "Timer_dispatch_wait_timeout": at("2026-02-15T12:00")}  # the customer has 48 h

    api.set_clock("2026-02-15T10:00:00+08:00")  # no reminder or escalation fires while paused
    assert open_tasks(api, number) == []
    api.message("intake", "customer_info_received", number, {"address": "北京市朝阳区某小区3号楼"})
    case = api.case(number)
    assert not any(c["paused"] for c in case["sla"])
    # Paused 46 h: natural-time limits move 46 h; working-day limits move by the working time paused,
    # 1.5 working days (half of Fri Feb 13, the worked Saturday Feb 14, none of the holiday Feb 15).
    assert deadlines(case) == {"reply": at("2026-02-26T12:00"), "resolve": at("2026-03-02T12:00"),
                               "closure": at("2026-02-17T08:00"), "statutory": at("2026-03-02T22:00")}
    assert case["data"]["customer_info"] == {"address": "北京市朝阳区某小区3号楼"}
    assert handle_roles(api, number) == ["dept:network"]  # only the department that asked handles again
    assert when(api.task(number, "network", "Task_dispatch_handle")["due_at"]) == at("2026-02-17T08:00")
    handle(api, number, "network")
    case = api.case(number)
    assert [r["department"] for r in case["data"]["handled_results"]] == ["billing", "network"]
    assert open_tasks(api, number) == [("Task_dispatch_review", "dispatcher")]
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_pause"),
                    ("message_received", "Task_dispatch_wait_customer"),
                    ("task_completed", "Task_dispatch_wait_customer"), ("task_completed", "Task_dispatch_resume"),
                    ("task_ready", "Task_dispatch_handle"))


def test_waiting_for_the_customer_times_out_after_48_hours(api) -> None:  # noqa: ANN001
    number = dispatched(api)  # Mon 2026-03-02 09:00
    audit(api, number, "network")
    api.set_clock("2026-03-02T12:00:00+08:00")
    handle(api, number, "network", action="need_customer_info", note="请客户提供终端型号", solved=False)
    api.set_clock("2026-03-04T12:00:00+08:00")
    assert all(c["paused"] for c in api.case(number)["sla"])
    api.advance(seconds=1)
    case = api.case(number)
    assert not any(c["paused"] for c in case["sla"])
    assert case["data"]["customer_info"] is None
    # 48 h 1 s paused (the timer fires on the first tick after its instant): natural-time limits move by that;
    # working-day limits by 2 working days and a second, so the reply limit (Thu Mar 5 24:00) moves past the
    # weekend to one second into Monday.
    second = timedelta(seconds=1)
    assert deadlines(case) == {"reply": at("2026-03-09T00:00") + second, "resolve": at("2026-03-12T00:00") + second,
                               "closure": at("2026-03-06T09:00") + second,
                               "statutory": at("2026-03-20T00:00") + second}
    assert handle_roles(api, number) == ["dept:network"]
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_pause"),
                    ("task_completed", "Timer_dispatch_wait_timeout"), ("task_completed", "Task_dispatch_resume"),
                    ("task_ready", "Task_dispatch_handle"))
    assert ("timer_fired", "Timer_dispatch_wait_timeout") in api.timeline(number)


# -- reopen and upgrade -------------------------------------------------------------------------------------------


def work_to_callback(api, number: str) -> None:  # noqa: ANN001
    audit(api, number, "network")
    handle(api, number, "network")
    review(api, number, approved=True)
    reply(api, number)


def test_unresolved_callback_reopens_once_and_a_second_dissatisfaction_upgrades(api) -> None:  # noqa: ANN001
    number = dispatched(api)
    work_to_callback(api, number)
    api.set_clock("2026-03-03T10:00:00+08:00")
    case = callback(api, number, "Task_dispatch_callback", "一般", False)  # "一般" but not resolved: reopen
    assert case["status"] == "running" and case["data"]["reopen_count"] == 1
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    closure = clocks(case)["closure"]
    assert when(closure["due_at"]) == at("2026-03-05T10:00") and closure["met_at"] is None  # a new 48 h limit
    assert when(api.task(number, "dispatcher", "Task_dispatch_audit")["due_at"]) == at("2026-03-05T10:00")
    assert sms_templates(case) == ["ack", "reply", "callback", "reopen"]
    assert case["sms"][3]["text"] == f"【中国联通】您对工单{number}的处理不满意，我们已重新处理，将尽快与您联系。"

    work_to_callback(api, number)
    api.set_clock("2026-03-04T10:00:00+08:00")
    case = callback(api, number, "Task_dispatch_callback", "不满意", True)
    assert case["status"] == "completed" and case["tasks"] == []
    assert case["data"]["outcome"] == "upgraded" and case["data"]["archived_at"]
    assert sms_templates(case) == ["ack", "reply", "callback", "reopen", "reply", "callback"]
    upgraded = case["data"]["upgrade_case"]["number"]
    assert case["links"]["derived"] == [upgraded]
    linked = api.case(upgraded)
    assert linked["process_id"] == "upgraded_complaint" and linked["data"]["original_number"] == number
    assert linked["data"]["upgrade_reason"] == "dissatisfied"
    assert_in_order(api.timeline(number), ("task_completed", "Task_dispatch_reopen"),
                    ("task_completed", "Task_dispatch_reopen_sms"), ("task_ready", "Task_dispatch_audit"),
                    ("task_completed", "Task_dispatch_callback_result"), ("case_linked", None),
                    ("task_completed", "Task_dispatch_upgrade"), ("task_completed", "EndEvent_dispatch_upgraded"),
                    ("task_completed", "Task_intake_archive"), ("task_completed", "EndEvent_intake_upgraded"),
                    ("case_completed", None))


# -- deadlines on a department's task -----------------------------------------------------------------------------


def test_reminder_and_escalation_on_a_department_task(api) -> None:  # noqa: ANN001
    number = dispatched(api, business_line="broadband", category="broadband_repair", region="urban")
    case = api.case(number)
    assert deadlines(case)["repair"] == at("2026-03-03T09:00")  # urban repair: 24 h
    audit(api, number, "broadband")
    task = api.task(number, "broadband", "Task_dispatch_handle")
    assert when(task["due_at"]) == at("2026-03-03T09:00")  # timed on the earliest clock, the repair limit

    api.set_clock("2026-03-03T03:00:00+08:00")  # 75% of 24 h
    assert "reminded_at" not in api.case(number)["data"]
    api.advance(seconds=1)
    assert api.case(number)["data"]["reminded_clock"] == "repair"
    assert ("task_completed", "Timer_dispatch_handle_remind") in api.timeline(number)

    api.set_clock("2026-03-03T09:00:01+08:00")
    assert open_tasks(api, number) == [("Task_dispatch_escalate", "escalation"),
                                       ("Task_dispatch_handle", "dept:broadband")]
    assert clocks(api.case(number))["repair"]["breached"] is True
    desk = api.task(number, "escalation", "Task_dispatch_escalate")
    assert when(desk["due_at"]) == at("2026-03-03T11:00:01")
    api.complete("escalation", desk, {"supervise_note": "督促宽带装维今日修复"})
    handle(api, number, "broadband", note="已更换光猫")
    # The next step is timed on the next clock still running (closure, due Mar 4 09:00), not on the breached one.
    assert when(api.task(number, "dispatcher", "Task_dispatch_review")["due_at"]) == at("2026-03-04T09:00")
    assert open_tasks(api, number) == [("Task_dispatch_review", "dispatcher")]
    assert_in_order(api.timeline(number), ("task_completed", "Timer_dispatch_handle_remind"),
                    ("task_completed", "Task_dispatch_remind"), ("task_completed", "Timer_dispatch_handle_overdue"),
                    ("task_ready", "Task_dispatch_escalate"), ("task_completed", "Task_dispatch_escalate"))


def test_an_open_supervision_keeps_the_case_open_until_the_desk_closes_it(api) -> None:  # noqa: ANN001
    number = dispatched(api)
    audit(api, number, "network")
    api.set_clock("2026-03-04T09:00:01+08:00")  # the department's task passes the 48 h closure limit
    assert open_tasks(api, number) == [("Task_dispatch_escalate", "escalation"),
                                       ("Task_dispatch_handle", "dept:network")]
    handle(api, number, "network")
    review(api, number, approved=True)
    reply(api, number)
    case = callback(api, number, "Task_dispatch_callback", "满意", True)
    # The work is done, but the escalation desk's supervision is part of the case: it closes the case.
    assert case["status"] == "running" and "archived_at" not in case["data"]
    assert open_tasks(api, number) == [("Task_dispatch_escalate", "escalation")]
    api.set_clock("2026-03-04T10:00:00+08:00")
    api.complete("escalation", api.task(number, "escalation", "Task_dispatch_escalate"), {"supervise_note": "已办结"})
    case = api.case(number)
    assert case["status"] == "completed" and case["data"]["outcome"] == "resolved"
    assert when(case["data"]["archived_at"]) == at("2026-03-04T10:00")
