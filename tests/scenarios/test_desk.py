"""The escalation desk over the API: at-risk after the reminder, overdue after the deadline, breach rates, CSV."""
from __future__ import annotations


def test_desk_shows_at_risk_then_overdue_with_groups_rates_and_csv(api) -> None:  # noqa: ANN001
    number = api.start(city="上海")["number"]
    closure = {c["name"]: c for c in api.case(number)["sla"]}["closure"]
    assert closure["remind_at"] == "2026-03-03T13:00:00+00:00" and closure["due_at"] == "2026-03-04T01:00:00+00:00"
    assert api.get("escalation", "/api/v1/desk")["cases"] == []

    api.set_clock("2026-03-03T13:00:01+00:00")
    desk = api.get("escalation", "/api/v1/desk")
    assert [(c["number"], c["status"]) for c in desk["cases"]] == [(number, "at_risk")]
    assert [c["name"] for c in desk["cases"][0]["clocks"]] == ["closure"]

    api.set_clock("2026-03-04T01:00:01+00:00")
    desk = api.get("supervisor", "/api/v1/desk")
    case = desk["cases"][0]
    assert case["status"] == "overdue" and case["city"] == "上海" and case["category"] == "mobile_data"
    assert {"key": "上海", "overdue": 1, "at_risk": 0} in desk["groups"]["city"]
    assert desk["groups"]["department"] and all(g["overdue"] + g["at_risk"] >= 1 for g in desk["groups"]["department"])
    today = {r["policy"]: r for r in desk["breach_rates"]["today"]}
    assert today[closure["policy"]] == {"policy": closure["policy"], "total": 1, "breached": 1, "rate": 1.0}
    assert desk["breach_rates"]["month"] and desk["breach_rates"]["week"]

    response = api.client.get("/api/v1/desk/cases.csv", headers=api.headers_for("escalation"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("number,status,process") and any(number in line and "closure" in line for line in lines)
    api.get("network", "/api/v1/desk", expect=403)
