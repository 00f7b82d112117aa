"""The user directory as the web UI needs it: who is signed in, display names, who can take a task."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Database
from .models import User, UserRole
from .users import roles_of
from .viewer import Viewer


def active_viewer(db: Database, username: str) -> Viewer | None:
    """The viewer for an active user name (roles read afresh), or None when unknown or inactive."""
    if not username:
        return None
    with db.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            return None
        return Viewer(user.username, roles_of(session, user.id))


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """User name -> display name (the user name itself when none is set)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(sorted(wanted))))
    return {username: display or username for username, display in rows}


def users_with_role(session: Session, role: str | None) -> list[dict]:
    """Active users holding ``role`` (every active user for None), sorted by user name."""
    query = select(User).where(User.active.is_(True)).order_by(User.username)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return [{"username": u.username, "display_name": u.display_name or u.username} for u in session.scalars(query)]
