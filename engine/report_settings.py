"""Report settings an admin keeps in the database: the customer count behind 申诉率 (appeals per million).

The count changes slowly and is known to the business, not to this system, so an admin
enters it (API ``PUT /api/v1/reports/settings`` or the reports page); every change leaves an
audit event (``report_setting_changed``). Unset, the appeal rate is shown without a value.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit, clock
from .errors import ValidationFailed
from .models import Base, UTCDateTime

CUSTOMER_COUNT = "customer_count"
# More customers than any carrier has: a typo guard, not a business rule.
MAX_CUSTOMERS = 10_000_000_000


class ReportSetting(Base):
    __tablename__ = "report_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def customer_count(session: Session) -> int | None:
    row = session.get(ReportSetting, CUSTOMER_COUNT)
    return int(row.value) if row is not None else None


def settings(session: Session) -> dict:
    row = session.get(ReportSetting, CUSTOMER_COUNT)
    return {"customer_count": int(row.value) if row else None,
            "updated_by": row.updated_by if row else None,
            "updated_at": row.updated_at.isoformat() if row else None}


def parse_customer_count(value: object) -> int:
    """A whole number of customers from 1 up; ValidationFailed naming ``customer_count`` otherwise."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("customer_count must be a whole number",
                               fields={"customer_count": "a whole number of customers, e.g. 12000000"})
    if not 1 <= value <= MAX_CUSTOMERS:
        raise ValidationFailed("customer_count is out of range",
                               fields={"customer_count": f"from 1 to {MAX_CUSTOMERS}"})
    return value


def set_customer_count(session: Session, value: object, actor: str) -> dict:
    count = parse_customer_count(value)
    row = session.get(ReportSetting, CUSTOMER_COUNT)
    previous = int(row.value) if row is not None else None
    if row is None:
        row = ReportSetting(name=CUSTOMER_COUNT)
        session.add(row)
    row.value, row.updated_by, row.updated_at = str(count), actor, clock.now()
    session.flush()
    audit.record(session, "report_setting_changed", actor,
                 data={"name": CUSTOMER_COUNT, "value": count, "previous": previous})
    return settings(session)
