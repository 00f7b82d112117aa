"""The process-version API (webapp/api_versions.py): versions, one version, diff, migration preview and
migration, with their roles and the errors that name the wrong field."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.test_api_auth import assert_error
from tests.versions_support import APPROVED, Cases, deploy_original, deploy_recheck
from webapp import state

pytest_plugins = ["tests.web_fixtures"]

BASE = "/api/v1/process-definitions"
Headers = Callable[[str], dict]


@pytest.fixture
def cases(app: Flask, deployed: dict) -> Cases:
    return Cases(state(app).engine)


@pytest.fixture
def changed(app: Flask, cases: Cases) -> dict:
    """One case on v1 at 审核派发, then complaint_dispatch with 复核 deployed (v2 of it and its callers)."""
    number = cases.at_audit()
    deploy_recheck(state(app).engine)
    return {"v1_case": number}


def test_versions_of_a_process(client: FlaskClient, headers_for: Headers, changed: dict) -> None:
    for user in ("owner", "supervisor", "admin"):
        response = client.get(f"{BASE}/complaint_intake/versions", headers=headers_for(user))
        assert response.status_code == 200, user
    body = response.get_json()
    assert body["process_id"] == "complaint_intake" and body["latest_version"] == 2
    assert [(v["version"], v["running"], v["deployed_by"]) for v in body["versions"]] == [(2, 0, "owner"),
                                                                                          (1, 1, "owner")]
    dispatch = client.get(f"{BASE}/complaint_dispatch/versions", headers=headers_for("owner")).get_json()
    assert [c["process_id"] for c in dispatch["called_by"]] == ["complaint_intake", "customer_appeal"]
    assert_error(client.get(f"{BASE}/complaint_intake/versions", headers=headers_for("intake")), 403, "forbidden")
    assert_error(client.get(f"{BASE}/complaint_intake/versions"), 401, "unauthorized")
    assert_error(client.get(f"{BASE}/nothing_here/versions", headers=headers_for("owner")), 404, "not_found")


def test_one_version_with_its_bpmn(client: FlaskClient, headers_for: Headers, changed: dict) -> None:
    response = client.get(f"{BASE}/complaint_dispatch/versions/2", headers=headers_for("supervisor"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == 2 and body["bpmn_filename"] == "complaint_dispatch.bpmn"
    assert body["xml"].startswith("<?xml") and 'id="Task_dispatch_recheck"' in body["xml"]
    assert body["tasks"]["Task_dispatch_recheck"] == {
        "name": "复核", "kind": "user", "role": "supervisor", "role_expression": None, "form": "recheck.json",
        "due": None, "priority": None}
    for missing in ("3", "0", "abc"):
        assert_error(client.get(f"{BASE}/complaint_dispatch/versions/{missing}", headers=headers_for("owner")),
                     404, "not_found")
    assert_error(client.get(f"{BASE}/complaint_dispatch/versions/1", headers=headers_for("dispatcher")), 403)


def test_diff_of_two_versions(client: FlaskClient, headers_for: Headers, changed: dict) -> None:
    response = client.get(f"{BASE}/complaint_intake/diff?from=1&to=2", headers=headers_for("admin"))
    assert response.status_code == 200
    body = response.get_json()
    dispatch = next(p for p in body["processes"] if p["process_id"] == "complaint_dispatch")
    assert {e["id"] for e in dispatch["added"]} == {"Task_dispatch_recheck", "Flow_dispatch_rechecked"}
    assert {e["id"]: e["attributes"] for e in dispatch["changed"]}["Flow_dispatch_to_reply"] == ["targetRef"]

    error = assert_error(client.get(f"{BASE}/complaint_intake/diff?to=2", headers=headers_for("owner")), 400)
    assert error["fields"] == {"from": "required: a version number"}
    error = assert_error(client.get(f"{BASE}/complaint_intake/diff?from=x&to=-1", headers=headers_for("owner")), 400)
    assert set(error["fields"]) == {"from", "to"}
    error = assert_error(client.get(f"{BASE}/complaint_intake/diff?from=2&to=2", headers=headers_for("owner")), 422)
    assert error["fields"] == {"to": "must differ from from"}
    assert_error(client.get(f"{BASE}/complaint_intake/diff?from=1&to=5", headers=headers_for("owner")), 404)


def test_migration_preview_is_for_owners(client: FlaskClient, headers_for: Headers, changed: dict) -> None:
    response = client.get(f"{BASE}/complaint_intake/migrations?to=2", headers=headers_for("owner"))
    assert response.status_code == 200
    body = response.get_json()
    assert [(c["number"], c["version"], c["can_move"]) for c in body["cases"]] == [(changed["v1_case"], 1, True)]
    assert body["cases"][0]["waiting_at"][0]["bpmn_id"] == "Task_dispatch_audit"
    assert_error(client.get(f"{BASE}/complaint_intake/migrations?to=2", headers=headers_for("supervisor")), 403)
    error = assert_error(client.get(f"{BASE}/complaint_intake/migrations", headers=headers_for("owner")), 400)
    assert error["fields"] == {"to": "required: a version number"}
    assert_error(client.get(f"{BASE}/complaint_intake/migrations?to=8", headers=headers_for("owner")), 404)


def test_migrating_cases(app: Flask, client: FlaskClient, headers_for: Headers, cases: Cases,
                         changed: dict) -> None:
    engine = state(app).engine
    stuck = cases.at_review()  # on v2
    cases.complete(stuck, "Task_dispatch_review", APPROVED)  # waits at 复核
    deploy_original(engine)  # v3 without 复核
    body = {"to_version": 3, "cases": [changed["v1_case"], stuck]}
    assert_error(client.post(f"{BASE}/complaint_intake/migrations", json=body, headers=headers_for("supervisor")),
                 403, "forbidden")
    assert_error(client.post(f"{BASE}/complaint_intake/migrations", json=body), 401)

    response = client.post(f"{BASE}/complaint_intake/migrations", json=body, headers=headers_for("owner"))
    assert response.status_code == 200
    result = response.get_json()
    assert (result["migrated"], result["failed"]) == (1, 1)
    moved, blocked = result["results"]
    assert (moved["number"], moved["migrated"], moved["from_version"], moved["to_version"]) == (
        changed["v1_case"], True, 1, 3)
    assert (blocked["number"], blocked["migrated"]) == (stuck, False)
    assert blocked["reasons"][0]["code"] == "waits_at_removed"
    case = client.get(f"/api/v1/complaints/{changed['v1_case']}", headers=headers_for("supervisor")).get_json()
    assert case["version"] == 3
    assert [(e["type"], e["actor"], e["data"]["from_version"], e["data"]["to_version"])
            for e in case["timeline"] if e["type"] == "case_migrated"] == [("case_migrated", "owner", 1, 3)]


@pytest.mark.parametrize(("body", "fields"), [
    ({"cases": ["TS1"]}, {"to_version": "required"}),
    ({"to_version": "2", "cases": ["TS1"]}, {"to_version": "a version number (a whole number from 1)"}),
    ({"to_version": True, "cases": ["TS1"]}, {"to_version": "a version number (a whole number from 1)"}),
    ({"to_version": 0, "cases": ["TS1"]}, {"to_version": "a version number (a whole number from 1)"}),
    ({"to_version": 2}, {"cases": "required"}),
    ({"to_version": 2, "cases": []}, {"cases": "a non-empty list of case numbers"}),
    ({"to_version": 2, "cases": "TS1"}, {"cases": "a non-empty list of case numbers"}),
    ({"to_version": 2, "cases": ["TS1", 7]},
     {"cases": "each case number must be a non-empty string of at most 64 characters"}),
    ({"to_version": 2, "cases": ["TS1"] * 501}, {"cases": "at most 500 case numbers at a time"}),
    ({"to_version": 2, "cases": ["TS1"], "force": True}, {"force": "unknown field"}),
])
def test_a_wrong_migration_body_is_422_naming_the_field(client: FlaskClient, headers_for: Headers, changed: dict,
                                                        body: dict, fields: dict) -> None:
    response = client.post(f"{BASE}/complaint_intake/migrations", json=body, headers=headers_for("owner"))
    assert assert_error(response, 422, "validation_failed")["fields"] == fields


def test_migrating_to_an_unknown_version_or_process_is_404(client: FlaskClient, headers_for: Headers,
                                                           changed: dict) -> None:
    body = {"to_version": 9, "cases": [changed["v1_case"]]}
    assert_error(client.post(f"{BASE}/complaint_intake/migrations", json=body, headers=headers_for("owner")), 404)
    body = {"to_version": 1, "cases": [changed["v1_case"]]}
    assert_error(client.post(f"{BASE}/unknown_process/migrations", json=body, headers=headers_for("owner")), 404)
    assert_error(client.post(f"{BASE}/complaint_intake/migrations", data="to_version=2",
                             headers={**headers_for("owner"), "Content-Type": "text/plain"}), 415)
