"""Saved inbox filters: a user's named queries, optionally shared with one role.

A filter is a small dict of inbox query parameters (the same names as
``GET /api/v1/tasks`` plus ``scope``). A user sees their own filters and those
shared with a role they hold. Sharing is limited to the owner's own roles, except
for a supervisor, who may share with any role. Saving under an existing name
replaces that filter.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import clock
from .errors import Forbidden, NotFound, ValidationFailed
from .models import Base, User, UTCDateTime
from .users import is_valid_role
from .viewer import Viewer

QUERY_KEYS = frozenset({"scope", "role", "category", "business_line", "region", "city", "tier", "overdue",
                        "due_within_hours", "q", "sort"})
MAX_NAME = 64
MAX_VALUE = 100
MAX_PER_USER = 50


class SavedFilter(Base):
    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    query: Mapped[dict] = mapped_column(JSON, default=dict)
    shared_role: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _owner(session: Session, viewer: Viewer) -> User:
    user = session.scalar(select(User).where(User.username == viewer.username))
    if user is None:
        raise NotFound(f"no user named {viewer.username!r}")
    return user


def clean_query(query: object) -> dict[str, str]:
    """The query with empty values dropped; 422 for unknown keys or values that are not short strings."""
    if not isinstance(query, dict):
        raise ValidationFailed("a filter is an object of query parameters", fields={"query": "expected an object"})
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    for key, value in query.items():
        if key not in QUERY_KEYS:
            problems[str(key)[:40]] = "unknown filter parameter"
        elif value is None or value == "":
            continue
        elif not isinstance(value, str) or len(value) > MAX_VALUE:
            problems[key] = f"a string of at most {MAX_VALUE} characters"
        else:
            clean[key] = value
    if problems:
        raise ValidationFailed("the filter has invalid parameters", fields=problems)
    return clean


def save_filter(session: Session, viewer: Viewer, name: object, query: object,
                shared_role: str | None = None) -> dict:
    """Create or replace the viewer's filter called ``name``."""
    problems: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip():
        problems["name"] = "required"
    elif len(name.strip()) > MAX_NAME:
        problems["name"] = f"at most {MAX_NAME} characters"
    shared_role = shared_role or None
    if shared_role is not None and not is_valid_role(shared_role):
        problems["shared_role"] = "not a role"
    if problems:
        raise ValidationFailed("the filter cannot be saved", fields=problems)
    if shared_role is not None and shared_role not in viewer.roles and not viewer.has_role("supervisor"):
        raise Forbidden(f"you may share filters only with your own roles, not {shared_role}")
    clean = clean_query(query)
    owner = _owner(session, viewer)
    label = name.strip()  # type: ignore[union-attr]
    existing = session.scalar(select(SavedFilter).where(SavedFilter.owner_id == owner.id, SavedFilter.name == label))
    if existing is None:
        count = len(session.scalars(select(SavedFilter.id).where(SavedFilter.owner_id == owner.id)).all())
        if count >= MAX_PER_USER:
            raise ValidationFailed(f"at most {MAX_PER_USER} saved filters per user",
                                   fields={"name": "too many saved filters"})
        existing = SavedFilter(owner_id=owner.id, name=label, created_at=clock.now())
        session.add(existing)
    existing.query = clean
    existing.shared_role = shared_role
    session.flush()
    return _as_dict(existing, viewer.username, viewer)


def list_filters(session: Session, viewer: Viewer) -> list[dict]:
    """The viewer's own filters, then those shared with their roles; each sorted by name."""
    rows = session.execute(
        select(SavedFilter, User.username).join(User, User.id == SavedFilter.owner_id)
        .where(or_(User.username == viewer.username, SavedFilter.shared_role.in_(sorted(viewer.roles))))
    ).all()
    items = [_as_dict(f, owner, viewer) for f, owner in rows]
    return sorted(items, key=lambda f: (not f["mine"], f["name"], f["id"]))


def get_filter(session: Session, viewer: Viewer, filter_id: int) -> dict:
    for item in list_filters(session, viewer):
        if item["id"] == filter_id:
            return item
    raise NotFound(f"no saved filter {filter_id}")


def delete_filter(session: Session, viewer: Viewer, filter_id: int) -> None:
    """Delete one of the viewer's own filters (a supervisor may delete any)."""
    row = session.execute(select(SavedFilter, User.username).join(User, User.id == SavedFilter.owner_id)
                          .where(SavedFilter.id == filter_id)).first()
    if row is None:
        raise NotFound(f"no saved filter {filter_id}")
    saved, owner = row
    if owner != viewer.username and not viewer.has_role("supervisor"):
        if saved.shared_role in viewer.roles:
            raise Forbidden("only its owner may delete a shared filter")
        raise NotFound(f"no saved filter {filter_id}")
    session.delete(saved)
    session.flush()


def _as_dict(saved: SavedFilter, owner: str, viewer: Viewer) -> dict:
    return {"id": saved.id, "name": saved.name, "query": dict(saved.query or {}), "shared_role": saved.shared_role,
            "owner": owner, "mine": owner == viewer.username}
