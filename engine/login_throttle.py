"""Rate limiting of sign-ins (UI form and API token), shared by every app process through the database.

A user name is refused after ``per_user`` failures within ``window`` (whatever the address, so a
password cannot be guessed from many addresses), and an address after ``per_client`` failures
(so one address cannot try many user names). A successful sign-in clears that user's failures from
that address. Refused attempts are not checked and not counted: the password is never tried while
the limit holds, and the lockout does not grow while someone keeps hammering.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .errors import TooManyRequests
from .models import LoginFailure


@dataclass(frozen=True)
class ThrottleLimits:
    per_user: int = 5
    per_client: int = 20
    window: timedelta = timedelta(minutes=15)


def check(session: Session, username: str, client: str, now: datetime, limits: ThrottleLimits) -> None:
    """Raise TooManyRequests (with the seconds to wait) when this user name or address is over its limit."""
    since = now - limits.window
    for column, value, limit, what in (
        (LoginFailure.username, username, limits.per_user, "this user name"),
        (LoginFailure.client, client, limits.per_client, "this address"),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(column == value, LoginFailure.at > since)
        ).one()
        if count >= limit:
            wait = max(1, math.ceil((oldest + limits.window - now).total_seconds()))
            raise TooManyRequests(
                f"too many failed sign-ins for {what}: try again in {math.ceil(wait / 60)} minute(s)", wait)


def record_failure(session: Session, username: str, client: str, now: datetime, limits: ThrottleLimits) -> None:
    session.add(LoginFailure(username=username[:64], client=client[:64], at=now))
    # Old rows are of no use once out of the window; dropping them here keeps the table small.
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - limits.window))


def record_success(session: Session, username: str, client: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client))
