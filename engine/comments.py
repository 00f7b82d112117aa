"""Comments on a case: short notes handlers leave for each other, newest last.

A comment belongs to a case (by its number), has an author and a time from the
engine clock, and is never edited. Who may comment is the caller's decision
(the web layer lets anyone who may open the case page comment on it).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit, clock
from .errors import NotFound, ValidationFailed
from .models import Base, ProcessInstance, User, UTCDateTime

MAX_LENGTH = 2000


class CaseComment(Base):
    __tablename__ = "case_comments"
    __table_args__ = (Index("ix_case_comments_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    business_key: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _instance(session: Session, number: str) -> ProcessInstance:
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == number))
    if instance is None:
        raise NotFound(f"case {number} not found")
    return instance


def add_comment(session: Session, number: str, author: str, body: object) -> dict:
    """Add a comment to case ``number`` in the caller's transaction; 422 for an empty or too long text."""
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("a comment needs some text", fields={"body": "required"})
    text = body.strip()
    if len(text) > MAX_LENGTH:
        raise ValidationFailed(f"a comment has at most {MAX_LENGTH} characters",
                               fields={"body": f"at most {MAX_LENGTH} characters"})
    instance = _instance(session, number)
    comment = CaseComment(instance_id=instance.id, business_key=number, author=author, body=text,
                          created_at=clock.now())
    session.add(comment)
    session.flush()
    audit.record(session, "comment_added", author, instance_id=instance.id, business_key=number,
                 data={"comment_id": comment.id})
    return _as_dict(comment, {})


def list_comments(session: Session, number: str) -> list[dict]:
    """The case's comments, oldest first, each with the author's display name."""
    instance = _instance(session, number)
    rows = list(session.scalars(select(CaseComment).where(CaseComment.instance_id == instance.id)
                                .order_by(CaseComment.id)))
    authors = {c.author for c in rows}
    names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(authors)))
                 .all()) if authors else {}
    return [_as_dict(c, names) for c in rows]


def _as_dict(comment: CaseComment, names: dict[str, str]) -> dict:
    return {"id": comment.id, "number": comment.business_key, "author": comment.author,
            "author_name": names.get(comment.author) or comment.author, "body": comment.body,
            "created_at": comment.created_at.isoformat()}
