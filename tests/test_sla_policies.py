"""Admin overrides of SLA policy limits (engine.sla_policies): validation, lookup and the audit trail."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import sla_policies
from engine.db import Database
from engine.models import AuditEvent


def events(db: Database) -> list[tuple]:
    with db.read() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.type == "sla_policy_changed")
                                    .order_by(AuditEvent.id)))
        return [(e.actor, e.instance_id, dict(e.data)) for e in rows]


def test_set_list_lookup_and_clear_with_audit_events(db: Database) -> None:
    with db.write() as session:
        assert sla_policies.lookup(session) == {}
        saved = sla_policies.set_override(session, "closure_48h", "hours", 36, "admin")
        assert saved["policy"] == "closure_48h" and saved["amount"] == 36 and saved["updated_by"] == "admin"
    with db.write() as session:
        sla_policies.set_override(session, "closure_48h", "business_hours", 30.5, "boss")
        sla_policies.set_override(session, "mobile_reply_2wd", "working_days", 3.0, "admin")
    with db.read() as session:
        assert sla_policies.lookup(session) == {"closure_48h": {"basis": "business_hours", "amount": 30.5},
                                                "mobile_reply_2wd": {"basis": "working_days", "amount": 3}}
        listed = sla_policies.list_overrides(session)
        assert [o["policy"] for o in listed] == ["closure_48h", "mobile_reply_2wd"]
        assert listed[0]["updated_by"] == "boss"
        assert isinstance(listed[1]["amount"], int)
    with db.write() as session:
        assert sla_policies.clear_override(session, "closure_48h", "admin") is True
        assert sla_policies.clear_override(session, "closure_48h", "admin") is False
    with db.read() as session:
        assert set(sla_policies.lookup(session)) == {"mobile_reply_2wd"}
    assert events(db) == [
        ("admin", None, {"policy": "closure_48h", "basis": "hours", "amount": 36, "previous": None}),
        ("boss", None, {"policy": "closure_48h", "basis": "business_hours", "amount": 30.5,
                        "previous": {"basis": "hours", "amount": 36}}),
        ("admin", None, {"policy": "mobile_reply_2wd", "basis": "working_days", "amount": 3, "previous": None}),
        ("admin", None, {"policy": "closure_48h", "basis": None, "amount": None,
                         "previous": {"basis": "business_hours", "amount": 30.5}}),
    ]


@pytest.mark.parametrize(("basis", "amount", "field"), [
    ("weeks", 2, "basis"),
    (None, 2, "basis"),
    ("hours", 0, "amount"),
    ("hours", -1, "amount"),
    ("hours", "36", "amount"),
    ("hours", True, "amount"),
    ("hours", float("nan"), "amount"),
    ("hours", float("inf"), "amount"),
    ("hours", 3650 * 24 + 1, "amount"),
    ("business_hours", 3650 * 24 + 0.5, "amount"),
    ("calendar_days", 3651, "amount"),
    ("working_days", 3651, "amount"),
    ("working_days", 1.5, "amount"),
])
def test_invalid_limits_are_refused_naming_the_field(db: Database, basis: object, amount: object,
                                                     field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"), db.write() as session:
        sla_policies.set_override(session, "closure_48h", basis, amount, "admin")
    with db.read() as session:
        assert sla_policies.lookup(session) == {}
    assert events(db) == []


def test_the_largest_limits_and_bad_policy_codes(db: Database) -> None:
    with db.write() as session:
        sla_policies.set_override(session, "statutory_15d", "calendar_days", 3650, "admin")
        sla_policies.set_override(session, "closure_24h", "hours", 3650 * 24, "admin")
    for code in ("", "x" * 65, "bad code", None):
        with pytest.raises(ValueError, match="^policy:"), db.write() as session:
            sla_policies.set_override(session, code, "hours", 1, "admin")
