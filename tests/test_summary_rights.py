"""What the short reply (``?view=summary``) of POST /complaints and POST /tasks/{id}/complete shows: exactly
the open tasks the full reply (``view=full``) and GET /complaints/{number} show the same caller, never more.

Two twin cases (two customers) are worked step by step by the same users with the test clock standing
still: case A with ``?view=summary``, case B with the full reply. After each step A's summary must equal
what GET shows that user of A (the same tasks, same order, same fields), and B's full reply what GET
shows of B; A's and B's task lists must match field for field but for the task id, case number and
phone. Where the case has open tasks the caller may not see (another department's, the next desk's),
the test checks they exist, so a summary that listed them would fail it.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.test_api_contract import COMPLAINT

pytest_plugins = ["tests.web_fixtures"]

Headers = Callable[[str], dict]
SUMMARY_KEYS = {"number", "process_id", "status", "tasks"}
DISPATCH = {"departments": ["network", "billing"], "dispatch_note": "请网络部、计费部分别核查"}
HANDLED = {"handle_action": "handled", "handle_note": "已核查处理完毕", "problem_solved": True}


def seen(client: FlaskClient, headers_for: Headers, user: str, number: str) -> list[dict]:
    """The open tasks GET /complaints/{number} shows ``user``."""
    response = client.get(f"/api/v1/complaints/{number}", headers=headers_for(user))
    assert response.status_code == 200, (user, number, response.get_json())
    return response.get_json()["tasks"]


def twin(tasks: list[dict]) -> list[dict]:
    """Tasks as comparable between the twin cases: without the task id, case number and phone, and in an
    order of their own. Tasks made in the same step (network's and billing's) share created_at, and each
    case orders those by task id, a random UUID: the twins' orders of them may differ."""
    alike = [{k: v for k, v in task.items() if k not in ("id", "complaint_number", "phone")} for task in tasks]
    return sorted(alike, key=lambda task: (task["created_at"], task["role"] or "", task["bpmn_id"]))


def task_of(client: FlaskClient, headers_for: Headers, user: str, number: str, bpmn_id: str,
            role: str | None = None) -> dict:
    """The one open task ``bpmn_id`` (of ``role``, when given) of case ``number`` in ``user``'s inbox."""
    response = client.get(f"/api/v1/tasks?q={number}&page_size=200", headers=headers_for(user))
    found = [t for t in response.get_json()["items"] if t["complaint_number"] == number and t["bpmn_id"] == bpmn_id
             and role in (None, t["role"])]
    assert len(found) == 1, (user, number, bpmn_id, found)
    return found[0]


class Twins:
    """Cases A (worked with ?view=summary) and B (full replies), each step by the same user on both."""

    def __init__(self, client: FlaskClient, headers_for: Headers, starter: str = "intake") -> None:
        self.client, self.headers_for = client, headers_for
        replies = {}
        for name, query, phone in (("a", "?view=summary", "18600000001"), ("b", "", "18600000002")):
            # Two customers: the same one twice would make B a repeat complaint, upgraded at once.
            response = client.post(f"/api/v1/complaints{query}", json={**COMPLAINT, "phone": phone},
                                   headers=headers_for(starter))
            assert response.status_code == 201, response.get_json()
            replies[name] = response.get_json()
        self.a, self.b = replies["a"]["number"], replies["b"]["number"]
        self.check(starter, replies["a"], replies["b"])

    def step(self, user: str, bpmn_id: str, data: dict, role: str | None = None) -> list[dict]:
        """``user`` completes their task ``bpmn_id`` in both cases; the summary's tasks (checked) are returned."""
        replies = {}
        for name, number, query in (("a", self.a, "?view=summary"), ("b", self.b, "")):
            task = task_of(self.client, self.headers_for, user, number, bpmn_id, role)
            response = self.client.post(f"/api/v1/tasks/{task['id']}/complete{query}", json={"data": data},
                                        headers=self.headers_for(user))
            assert response.status_code == 200, (user, bpmn_id, response.get_json())
            assert response.get_json()["task_id"] == task["id"]
            replies[name] = response.get_json()["case"]
        self.check(user, replies["a"], replies["b"])
        return replies["a"]["tasks"]

    def check(self, user: str, summary: dict, full: dict) -> None:
        assert set(summary) == SUMMARY_KEYS, summary
        assert summary["number"] == self.a and full["number"] == self.b
        assert (summary["status"], summary["process_id"]) == (full["status"], full["process_id"])
        assert summary["tasks"] == seen(self.client, self.headers_for, user, self.a), user
        assert full["tasks"] == seen(self.client, self.headers_for, user, self.b), user
        assert twin(summary["tasks"]) == twin(full["tasks"]), user

    def hidden_from(self, user: str) -> list[dict]:
        """Open tasks of case A that ``user`` does not see (the supervisor sees every task)."""
        shown = {t["id"] for t in seen(self.client, self.headers_for, user, self.a)}
        return [t for t in seen(self.client, self.headers_for, "supervisor", self.a) if t["id"] not in shown]


@pytest.mark.parametrize("starter", ["intake", "supervisor"])
def test_a_new_complaints_summary_shows_the_starter_what_the_full_reply_does(
        client: FlaskClient, headers_for: Headers, deployed: dict, starter: str) -> None:
    Twins(client, headers_for, starter)


@pytest.mark.parametrize("auditor", ["dispatcher", "supervisor"])
def test_each_step_s_summary_shows_the_caller_only_what_the_full_view_does(
        client: FlaskClient, headers_for: Headers, deployed: dict, auditor: str) -> None:
    cases = Twins(client, headers_for)
    cases.step("intake", "Task_intake_first_contact", {"first_contact_solved": False})

    tasks = cases.step(auditor, "Task_dispatch_audit", DISPATCH)
    handling = [t for t in seen(client, headers_for, "supervisor", cases.a) if t["bpmn_id"] == "Task_dispatch_handle"]
    assert sorted(t["role"] for t in handling) == ["dept:billing", "dept:network"]
    if auditor == "dispatcher":  # the departments' tasks are theirs, not the dispatcher's
        assert tasks == [] and len(cases.hidden_from("dispatcher")) == 2
    else:  # the supervisor sees every queue: both, in the full view's order
        assert [t["id"] for t in tasks] == [t["id"] for t in handling]

    # A department handler finishing their part must not see the other department's task.
    tasks = cases.step("network", "Task_dispatch_handle", HANDLED)
    assert tasks == []
    assert [t["role"] for t in cases.hidden_from("network")] == ["dept:billing"]

    tasks = cases.step("billing", "Task_dispatch_handle", HANDLED)
    assert tasks == [] and [t["role"] for t in cases.hidden_from("billing")] == ["dispatcher"]

    tasks = cases.step("dispatcher", "Task_dispatch_review", {"approved": True, "review_note": "处理到位"})
    assert tasks == [] and [t["role"] for t in cases.hidden_from("dispatcher")] == ["intake"]


def test_a_task_assigned_to_the_caller_shows_in_both_views(client: FlaskClient, headers_for: Headers,
                                                           deployed: dict) -> None:
    cases = Twins(client, headers_for)
    cases.step("intake", "Task_intake_first_contact", {"first_contact_solved": False})
    cases.step("dispatcher", "Task_dispatch_audit", DISPATCH)
    headers_for("network")  # the user exists
    for number in (cases.a, cases.b):  # the supervisor hands billing's task to the network handler
        billing = task_of(client, headers_for, "billing", number, "Task_dispatch_handle")
        response = client.post(f"/api/v1/tasks/{billing['id']}/reassign", json={"assignee": "network"},
                               headers=headers_for("supervisor"))
        assert response.status_code == 200, response.get_json()
    tasks = cases.step("network", "Task_dispatch_handle", HANDLED, role="dept:network")
    assert [(t["role"], t["assignee"]) for t in tasks] == [("dept:billing", "network")]
    assert cases.hidden_from("network") == []
