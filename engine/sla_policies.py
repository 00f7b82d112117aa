"""Admin overrides of SLA policy limits.

processes/sla_policy.dmn gives the defaults (one row per applicable policy: name, policy, basis,
amount). An admin may set another limit for a policy code here; the clock-opening scripts ask
``sla_limit(policy)`` and an override wins over the DMN row. Only clocks opened afterwards use the
new limit: an open case keeps the deadline it was given. Every change leaves an audit event
(``sla_policy_changed``) in the same transaction.
"""
from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock
from .models import SlaPolicyOverride
from .sla import BASES

POLICY_CODE = re.compile(r"^[A-Za-z0-9_.%-]{1,64}$")
MAX_DAYS = 3650
# The longest limit on each basis: 3650 days, counted the basis's own way.
MAX_AMOUNT = {"hours": MAX_DAYS * 24, "business_hours": MAX_DAYS * 24, "working_days": MAX_DAYS,
              "calendar_days": MAX_DAYS}
WHOLE_DAY_BASES = ("working_days", "calendar_days")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _row(row: SlaPolicyOverride) -> dict[str, Any]:
    return {"policy": row.policy, "basis": row.basis, "amount": _number(row.amount),
            "updated_by": row.updated_by, "updated_at": row.updated_at.isoformat()}


def validate(policy: str, basis: str, amount: Any) -> int | float:
    """The amount as a number, or ValueError naming the field (``policy``, ``basis`` or ``amount``)."""
    if not isinstance(policy, str) or not POLICY_CODE.match(policy):
        raise ValueError(f"policy: not a policy code: {policy!r}")
    if basis not in BASES:
        raise ValueError(f"basis: must be one of {', '.join(BASES)}, not {basis!r}")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
        raise ValueError(f"amount: must be a number, not {amount!r}")
    if amount <= 0:
        raise ValueError(f"amount: must be greater than 0, not {amount!r}")
    if amount > MAX_AMOUNT[basis]:
        raise ValueError(f"amount: at most {MAX_AMOUNT[basis]} {basis} ({MAX_DAYS} days), not {amount!r}")
    if basis in WHOLE_DAY_BASES and not float(amount).is_integer():
        raise ValueError(f"amount: {basis} must be a whole number, not {amount!r}")
    return _number(amount)


def list_overrides(session: Session) -> list[dict[str, Any]]:
    return [_row(r) for r in session.scalars(select(SlaPolicyOverride).order_by(SlaPolicyOverride.policy))]


def set_override(session: Session, policy: str, basis: str, amount: Any, actor: str) -> dict[str, Any]:
    """Set (or replace) the limit of ``policy``; raises ValueError naming the field."""
    amount = validate(policy, basis, amount)
    row = session.get(SlaPolicyOverride, policy)
    previous = None if row is None else {"basis": row.basis, "amount": _number(row.amount)}
    if row is None:
        row = SlaPolicyOverride(policy=policy)
        session.add(row)
    row.basis, row.amount, row.updated_by, row.updated_at = basis, float(amount), actor, clock.now()
    session.flush()
    audit.record(session, "sla_policy_changed", actor,
                 data={"policy": policy, "basis": basis, "amount": amount, "previous": previous})
    return _row(row)


def clear_override(session: Session, policy: str, actor: str = "system") -> bool:
    """Back to the DMN default; False when the policy had no override."""
    row = session.get(SlaPolicyOverride, policy)
    if row is None:
        return False
    previous = {"basis": row.basis, "amount": _number(row.amount)}
    session.delete(row)
    session.flush()
    audit.record(session, "sla_policy_changed", actor,
                 data={"policy": policy, "basis": None, "amount": None, "previous": previous})
    return True


def lookup(session: Session) -> dict[str, dict[str, Any]]:
    """policy -> {basis, amount}: what the scripts' ``sla_limit(policy)`` returns (one query)."""
    return {r.policy: {"basis": r.basis, "amount": _number(r.amount)}
            for r in session.scalars(select(SlaPolicyOverride))}
