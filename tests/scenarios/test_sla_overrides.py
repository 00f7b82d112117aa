"""An admin's SLA limit (engine.sla_policies) wins over the DMN default for new clocks; open cases keep theirs.

Driven through the HTTP API with the test clock; the override is set in the test's database as the admin
page would set it. Times are written in Beijing time.
"""
from __future__ import annotations

from datetime import datetime

from engine import sla_policies
from tests.scenarios.test_intake import at, clocks, deadlines
from webapp import state


def override(api, policy: str, basis: str, amount: float) -> None:  # noqa: ANN001
    with state(api.app).db.write() as session:
        sla_policies.set_override(session, policy, basis, amount, "admin")


def test_a_new_complaint_uses_the_overridden_limit_and_an_older_case_keeps_its_deadline(api) -> None:  # noqa: ANN001
    api.set_clock("2026-03-02T09:00:00+08:00")  # a Monday
    older = api.start()["number"]
    before = deadlines(api.case(older))
    assert before["closure"] == at("2026-03-04T09:00")  # the DMN default: 48 h for a 3-star customer
    assert before["reply"] == at("2026-03-05T00:00")    # the DMN default: 2 working days

    override(api, "closure_48h", "hours", 36)
    override(api, "mobile_reply_2wd", "working_days", 3)
    api.advance(hours=1)
    newer = api.case(api.start(phone="13900139000")["number"])  # another customer: not a repeat
    assert deadlines(newer) == {
        "closure": at("2026-03-03T22:00"),     # 36 h from 10:00
        "reply": at("2026-03-06T00:00"),       # 3 working days: Mar 3, 4, 5
        "resolve": before["resolve"],          # no override: the DMN's 5 working days
        "statutory": before["statutory"],
    }
    newest_clocks = clocks(newer)
    assert newest_clocks["closure"]["policy"] == "closure_48h"  # the policy code stays; only the limit changed
    first_contact = api.task(newer["number"], "intake", "Task_intake_first_contact")
    assert first_contact["due_at"] is not None and \
        datetime.fromisoformat(first_contact["due_at"]) == at("2026-03-03T22:00")  # the earliest clock
    assert deadlines(api.case(older)) == before  # the open case keeps its deadlines

    with state(api.app).db.write() as session:
        sla_policies.clear_override(session, "closure_48h", "admin")
    # Reset to the DMN default: the next complaint gets 48 h again, the overridden one keeps 36 h.
    reset = api.case(api.start(phone="13700137000")["number"])
    assert deadlines(reset)["closure"] == at("2026-03-04T10:00")
    assert deadlines(reset)["reply"] == at("2026-03-06T00:00")  # still overridden
    assert deadlines(api.case(newer["number"]))["closure"] == at("2026-03-03T22:00")


def test_an_upgraded_complaint_uses_the_overridden_statutory_limit(api) -> None:  # noqa: ANN001
    api.set_clock("2026-03-02T09:00:00+08:00")
    override(api, "statutory_15d", "calendar_days", 10)
    complaint = api.start(channel="10015")
    [upgraded] = complaint["links"]["derived"]
    upgraded_deadlines = deadlines(api.case(upgraded))
    assert upgraded_deadlines["statutory"] == at("2026-03-13T00:00")  # 10 calendar days: Mar 3 .. Mar 12
    assert upgraded_deadlines["closure"] == at("2026-03-04T09:00")    # closure_48h: no override, 48 h
