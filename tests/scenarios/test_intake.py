"""complaint_intake, one test per path: first-contact solve, reopen into dispatch, repeat and channel upgrades,
the SLA policy table, and the reminder / escalation / statutory line on an open task.

Driven through the HTTP API with the test clock (the ``api`` fixture). Times are written in Beijing time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

CST = timezone(timedelta(hours=8))


# -- helpers (also used by test_dispatch.py) ---------------------------------------------------------------


def at(text: str) -> datetime:
    """A Beijing wall-clock time, e.g. at("2025-10-11T00:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def clocks(case: dict) -> dict[str, dict]:
    return {c["name"]: c for c in case["sla"]}


def deadlines(case: dict) -> dict[str, datetime]:
    return {c["name"]: when(c["due_at"]) for c in case["sla"]}


def open_tasks(api, number: str) -> list[tuple[str, str]]:  # noqa: ANN001
    """(bpmn_id, role) of each open task; every open task must have a deadline."""
    tasks = api.case(number)["tasks"]
    assert all(t["due_at"] for t in tasks), tasks
    return sorted((t["bpmn_id"], t["role"]) for t in tasks)


def sms_templates(case: dict) -> list[str]:
    return [m["template"] for m in case["sms"]]


def assert_in_order(timeline: list[tuple[str, str | None]], *expected: tuple[str, str | None]) -> None:
    """Each expected (event type, bpmn id) occurs in the timeline, in this order (others may come between)."""
    position = 0
    for item in expected:
        assert item in timeline[position:], (item, timeline[position:])
        position = timeline.index(item, position) + 1


def first_contact(api, number: str, solved: bool, solution: str = "已为您重置网络，恢复正常") -> dict:  # noqa: ANN001
    task = api.task(number, "intake", "Task_intake_first_contact")
    data = {"first_contact_solved": solved, "solution": solution} if solved else {"first_contact_solved": False}
    return api.complete("intake", task, data)["case"]


def callback(api, number: str, bpmn_id: str, satisfaction: str, resolved: bool) -> dict:  # noqa: ANN001
    task = api.task(number, "intake", bpmn_id)
    return api.complete("intake", task, {"satisfaction": satisfaction, "resolved": resolved,
                                         "callback_note": "电话回访"})["case"]


# -- first contact -------------------------------------------------------------------------------------------


def test_first_contact_solved_goes_to_reply_callback_and_archive(api) -> None:  # noqa: ANN001
    # Received the day before the National Day holiday (Oct 1-8 off, Oct 11 a make-up working day).
    api.set_clock("2025-09-30T10:00:00+08:00")
    case = api.start()
    number = case["number"]
    assert number.startswith("TS20250930")
    assert case["data"]["journey"] == "网络使用" and case["data"]["category_name"] == "移网上网"
    assert deadlines(case) == {
        "reply": at("2025-10-11T00:00"),      # 2 working days, receipt day not counted: Oct 9, Oct 10
        "resolve": at("2025-10-15T00:00"),    # 5 working days: Oct 9, 10, 11 (worked Saturday), 13, 14
        "closure": at("2025-10-02T10:00"),    # 48 h for a 3-star customer
        "statutory": at("2025-10-16T00:00"),  # 15 calendar days
    }
    assert {c["name"]: c["policy"] for c in case["sla"]} == {
        "reply": "mobile_reply_2wd", "resolve": "non_coverage_resolve_5wd", "closure": "closure_48h",
        "statutory": "statutory_15d"}
    assert when(clocks(case)["reply"]["remind_at"]) == at("2025-10-10T08:30")  # 75% of the working time
    assert open_tasks(api, number) == [("Task_intake_first_contact", "intake")]
    task = api.task(number, "intake", "Task_intake_first_contact")
    assert when(task["due_at"]) == at("2025-10-02T10:00")  # the earliest clock: closure
    assert sms_templates(case) == ["ack"]
    assert case["sms"][0]["phone"] == "13800138000"
    assert case["sms"][0]["text"] == f"【中国联通】您的投诉已受理，工单号{number}，我们将尽快处理并与您联系。"

    api.set_clock("2025-09-30T10:20:00+08:00")
    case = first_contact(api, number, solved=True)
    assert open_tasks(api, number) == [("Task_intake_callback", "intake")]
    # Solved at first contact: every clock but the statutory line is met; the callback is timed on it.
    assert {c["name"]: bool(c["met_at"]) for c in case["sla"]} == {
        "reply": True, "resolve": True, "closure": True, "statutory": False}
    assert when(api.task(number, "intake", "Task_intake_callback")["due_at"]) == at("2025-10-16T00:00")
    assert sms_templates(case) == ["ack", "reply", "callback"]
    assert case["sms"][1]["text"] == (f"【中国联通】您的投诉（工单号{number}）已处理：已为您重置网络，恢复正常。"
                                      "如有疑问请致电10010。")

    api.set_clock("2025-09-30T16:00:00+08:00")
    case = callback(api, number, "Task_intake_callback", "满意", True)
    assert case["status"] == "completed" and case["tasks"] == []
    assert case["data"]["outcome"] == "first_contact"
    assert when(case["data"]["archived_at"]) == at("2025-09-30T16:00")
    assert all(c["met_at"] and not c["breached"] for c in case["sla"])
    assert_in_order(
        api.timeline(number),
        ("case_started", None), ("sms_queued", None), ("task_completed", "Task_intake_ack_sms"),
        ("task_completed", "Task_intake_register"), ("task_completed", "Task_intake_classify"),
        ("task_completed", "Task_intake_sla_policy"), ("task_completed", "Task_intake_open_clocks"),
        ("task_ready", "Task_intake_first_contact"), ("task_completed", "Task_intake_first_contact"),
        ("task_completed", "Task_intake_fc_close"), ("task_completed", "Task_intake_reply_sms"),
        ("task_completed", "Task_intake_callback_sms"), ("task_ready", "Task_intake_callback"),
        ("task_completed", "Task_intake_callback"), ("task_completed", "Task_intake_archive"),
        ("task_completed", "EndEvent_intake_archived"), ("case_completed", None),
    )
    assert "Activity_intake_dispatch" not in [bpmn_id for _, bpmn_id in api.timeline(number)]


def test_unsolved_complaint_goes_to_dispatch(api) -> None:  # noqa: ANN001
    number = api.start()["number"]  # Mon 2026-03-02 09:00
    case = first_contact(api, number, solved=False)
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    assert case["data"]["outcome"] == "open" and case["data"]["reopen_count"] == 0
    assert when(api.task(number, "dispatcher", "Task_dispatch_audit")["due_at"]) == at("2026-03-04T09:00")
    assert_in_order(api.timeline(number), ("task_completed", "Task_intake_first_contact"),
                    ("task_completed", "Gateway_intake_first_contact"), ("task_completed", "StartEvent_dispatch"),
                    ("task_ready", "Task_dispatch_audit"))
    assert sms_templates(case) == ["ack"]


def test_unsatisfied_first_contact_callback_reopens_into_dispatch(api) -> None:  # noqa: ANN001
    number = api.start()["number"]  # Mon 2026-03-02 09:00
    first_contact(api, number, solved=True)
    api.set_clock("2026-03-02T15:00:00+08:00")
    case = callback(api, number, "Task_intake_callback", "不满意", False)
    assert case["status"] == "running" and case["data"]["reopen_count"] == 1
    assert open_tasks(api, number) == [("Task_dispatch_audit", "dispatcher")]
    assert sms_templates(case) == ["ack", "reply", "callback", "reopen"]
    closure = clocks(case)["closure"]
    # The reopened case gets a new 48 h closure limit from the reopening.
    assert when(closure["due_at"]) == at("2026-03-04T15:00") and closure["met_at"] is None
    assert when(api.task(number, "dispatcher", "Task_dispatch_audit")["due_at"]) == at("2026-03-04T15:00")
    assert_in_order(api.timeline(number), ("task_completed", "Task_intake_callback"),
                    ("task_completed", "Task_intake_reopen"), ("task_completed", "Task_intake_reopen_sms"),
                    ("task_completed", "Gateway_intake_dispatch_merge"), ("task_ready", "Task_dispatch_audit"))


# -- upgrades --------------------------------------------------------------------------------------------------


def assert_upgraded(api, number: str, reason: str) -> dict:  # noqa: ANN001
    case = api.case(number)
    assert case["status"] == "completed" and case["tasks"] == [] and case["sla"] == []
    assert case["data"]["outcome"] == "upgraded" and case["data"]["upgrade_reason"] == reason
    assert case["data"]["archived_at"]
    upgraded = case["data"]["upgrade_case"]["number"]
    assert upgraded.startswith("SJ") and case["links"]["derived"] == [upgraded]
    assert sms_templates(case) == ["ack"]
    assert_in_order(api.timeline(number), ("sms_queued", None), ("task_completed", "Task_intake_register"),
                    ("task_completed", "Gateway_intake_route"), ("case_linked", None),
                    ("task_completed", "Task_intake_upgrade"), ("task_completed", "Task_intake_archive"),
                    ("task_completed", "EndEvent_intake_upgraded"), ("case_completed", None))
    assert ("task_ready", "Task_intake_first_contact") not in api.timeline(number)
    linked = api.case(upgraded)
    assert linked["process_id"] == "upgraded_complaint"
    assert linked["data"]["original_number"] == number and linked["links"]["original"] == number
    assert linked["data"]["upgrade_reason"] == reason
    assert linked["data"]["phone"] == case["data"]["phone"]
    assert linked["data"]["original_received_at"] == case["data"]["received_at"]
    return case


def test_repeat_complaint_is_linked_and_upgraded(api) -> None:  # noqa: ANN001
    first = api.start()["number"]
    api.advance(hours=2)
    other = api.start(category="billing")["number"]  # another category: not a repeat
    assert api.case(other)["data"]["repeat_count"] == 0
    second = api.start()
    assert second["data"]["repeat_of"] == [first] and second["data"]["repeat_count"] == 1
    assert_upgraded(api, second["number"], "repeat")
    assert api.case(first)["status"] == "running"  # the earlier case goes on


@pytest.mark.parametrize("channel", ["10015", "regulator", "media"])
def test_upgrade_channels_go_straight_to_an_upgraded_complaint(api, channel: str) -> None:  # noqa: ANN001
    case = api.start(channel=channel)
    assert case["data"]["repeat_count"] == 0
    assert_upgraded(api, case["number"], "channel")


# -- SLA policy table ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields,received,expected", [
    # mobile, 2 working days across the 2026 Spring Festival (Feb 15-23 off, Feb 14 and 28 worked)
    ({}, "2026-02-13T10:00", {"reply": "2026-02-25T00:00", "resolve": "2026-02-28T00:00",
                              "closure": "2026-02-15T10:00", "statutory": "2026-03-01T00:00"}),
    # network coverage: no 5-working-day resolve limit; SVIP closes in 24 h
    ({"category": "network_coverage", "svip": True}, "2026-03-02T09:00",
     {"reply": "2026-03-05T00:00", "closure": "2026-03-03T09:00", "statutory": "2026-03-18T00:00"}),
    ({"business_line": "broadband", "category": "broadband_repair", "region": "urban", "star_level": 5},
     "2025-09-30T10:00", {"repair": "2025-10-01T10:00", "resolve": "2025-10-15T00:00",
                          "closure": "2025-10-01T10:00", "statutory": "2025-10-16T00:00"}),
    ({"business_line": "broadband", "category": "broadband_repair", "region": "suburban"},
     "2025-09-30T10:00", {"repair": "2025-10-01T22:00", "resolve": "2025-10-15T00:00",
                          "closure": "2025-10-02T10:00", "statutory": "2025-10-16T00:00"}),
    ({"business_line": "broadband", "category": "broadband_repair", "region": "rural"},
     "2025-09-30T10:00", {"repair": "2025-10-02T10:00", "resolve": "2025-10-15T00:00",
                          "closure": "2025-10-02T10:00", "statutory": "2025-10-16T00:00"}),
    ({"business_line": "broadband", "category": "broadband_install"}, "2025-09-30T10:00",
     {"install": "2025-10-03T10:00", "resolve": "2025-10-15T00:00", "closure": "2025-10-02T10:00",
      "statutory": "2025-10-16T00:00"}),
    ({"business_line": "converged", "category": "broadband_move", "star_level": 4}, "2026-03-02T09:00",
     {"install": "2026-03-05T09:00", "resolve": "2026-03-10T00:00", "closure": "2026-03-03T09:00",
      "statutory": "2026-03-18T00:00"}),
])
def test_sla_policy_opens_one_clock_per_policy(api, fields: dict, received: str, expected: dict) -> None:  # noqa: ANN001
    api.set_clock(f"{received}:00+08:00")
    case = api.start(**fields)
    assert deadlines(case) == {name: at(value) for name, value in expected.items()}
    assert all(not c["breached"] and not c["paused"] and c["met_at"] is None for c in case["sla"])
    earliest = min(at(value) for value in expected.values())
    assert when(api.task(case["number"], "intake", "Task_intake_first_contact")["due_at"]) == earliest


# -- deadlines on an open task ----------------------------------------------------------------------------------


def test_reminder_at_75_percent_escalation_at_the_deadline_and_the_statutory_line(api) -> None:  # noqa: ANN001
    number = api.start()["number"]  # Mon 2026-03-02 09:00, closure 48 h: the first-contact task is due Mar 4 09:00
    timers = {t["bpmn_id"]: when(t["due_at"]) for t in api.case(number)["timers"]}
    assert timers == {"Timer_intake_first_contact_remind": at("2026-03-03T21:00"),
                      "Timer_intake_first_contact_overdue": at("2026-03-04T09:00"),
                      "Timer_intake_first_contact_statutory": at("2026-03-18T00:00")}

    api.set_clock("2026-03-03T21:00:00+08:00")  # a timer fires on the first scheduler tick after its instant
    assert ("task_completed", "Timer_intake_first_contact_remind") not in api.timeline(number)
    api.advance(seconds=1)
    case = api.case(number)
    assert case["data"]["reminded_clock"] == "closure"
    assert when(case["data"]["reminded_at"]) == at("2026-03-03T21:00:01")
    assert open_tasks(api, number) == [("Task_intake_first_contact", "intake")]
    assert_in_order(api.timeline(number), ("task_completed", "Timer_intake_first_contact_remind"),
                    ("task_completed", "Task_intake_remind"), ("task_completed", "EndEvent_intake_reminded"))

    api.set_clock("2026-03-04T09:00:00+08:00")
    assert open_tasks(api, number) == [("Task_intake_first_contact", "intake")]
    assert clocks(api.case(number))["closure"]["breached"] is False
    api.advance(seconds=1)
    case = api.case(number)
    assert clocks(case)["closure"]["breached"] is True
    assert open_tasks(api, number) == [("Task_intake_escalate", "escalation"), ("Task_intake_first_contact", "intake")]
    desk = api.task(number, "escalation", "Task_intake_escalate")
    assert when(desk["due_at"]) == at("2026-03-04T11:00:01")  # the desk acts within 2 hours
    assert api.task(number, "intake", "Task_intake_first_contact")["overdue"] is True
    api.complete("escalation", desk, {"supervise_note": "已督促受理员今日内处理"})
    assert open_tasks(api, number) == [("Task_intake_first_contact", "intake")]
    assert case["data"]["appeal_risk"] is False

    api.set_clock("2026-03-18T00:00:00+08:00")
    assert api.case(number)["data"]["appeal_risk"] is False
    api.advance(seconds=1)  # past the 15th day after receipt: the customer may now appeal
    case = api.case(number)
    assert case["data"]["appeal_risk"] is True
    assert clocks(case)["statutory"]["breached"] is True
    assert_in_order(api.timeline(number), ("task_completed", "Timer_intake_first_contact_overdue"),
                    ("task_ready", "Task_intake_escalate"), ("task_completed", "Task_intake_escalate"),
                    ("task_completed", "Timer_intake_first_contact_statutory"),
                    ("task_completed", "Task_intake_appeal_risk"))
    assert sms_templates(case) == ["ack"]
