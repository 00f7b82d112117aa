"""Users, roles, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi's defaults). API tokens are
random strings shown once; only their SHA-256 is stored, with an expiry taken
from the injectable clock. Nothing here imports Flask.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import clock, login_throttle
from .db import Database
from .errors import Conflict, NotFound, ValidationFailed
from .models import ApiToken, User, UserRole
from .viewer import Viewer

log = logging.getLogger(__name__)

# Roles of people, from DESIGN.md, plus ``gateway``: the role of integration
# (machine) users such as the regulator's appeal gateway. A gateway user may
# only deliver messages (POST /api/v1/messages/{name}); it sees no inbox.
FIXED_ROLES = frozenset(
    {"intake", "dispatcher", "escalation", "appeals", "supervisor", "owner", "admin", "gateway"}
)
DEPARTMENT_ROLE = re.compile(r"^dept:[a-z][a-z0-9_]*$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    display_name: str


# Named after their role (DESIGN.md, "Configuration and demo"); password "demo".
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("intake", ("intake",), "受理员"),
    DemoUser("dispatcher", ("dispatcher",), "派单员"),
    DemoUser("network", ("dept:network",), "网络部处理员"),
    DemoUser("billing", ("dept:billing",), "计费部处理员"),
    DemoUser("broadband", ("dept:broadband",), "宽带装维处理员"),
    DemoUser("channel", ("dept:channel",), "营业渠道处理员"),
    DemoUser("enterprise", ("dept:enterprise",), "政企部处理员"),
    DemoUser("escalation", ("escalation",), "升级投诉专席"),
    DemoUser("appeals", ("appeals",), "申诉专员"),
    DemoUser("supervisor", ("supervisor",), "班长"),
    DemoUser("owner", ("owner",), "流程管理员"),
    DemoUser("admin", ("admin",), "系统管理员"),
)

# argon2-cffi's defaults (Argon2id, RFC 9106 low-memory profile). Tests may
# swap in cheaper parameters by replacing this attribute.
password_hasher = PasswordHasher()


# --- roles and passwords ------------------------------------------------------


def is_valid_role(role: str) -> bool:
    return role in FIXED_ROLES or bool(DEPARTMENT_ROLE.match(role))


def validate_roles(roles: Iterable[str]) -> frozenset[str]:
    """The roles as a set, or ValidationFailed naming the first bad code."""
    if isinstance(roles, str):  # a lone string would be read as its characters
        roles = [roles]
    checked = set()
    for role in roles:
        if not isinstance(role, str) or not is_valid_role(role):
            raise ValidationFailed(
                f"unknown role {role!r}: expected one of {', '.join(sorted(FIXED_ROLES))} "
                f"or dept:<code> with code [a-z][a-z0-9_]*",
                fields={"roles": f"unknown role {role!r}"},
            )
        checked.add(role)
    return frozenset(checked)


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


# --- users --------------------------------------------------------------------


def create_user(
    session: Session, username: str, password: str, roles: Iterable[str], display_name: str = ""
) -> User:
    """Add a user in the caller's transaction; Conflict when the name is taken."""
    if not isinstance(username, str) or not USERNAME.match(username):
        raise ValidationFailed(
            f"invalid user name {username!r}: 1-64 letters, digits or _ . @ -",
            fields={"username": "invalid user name"},
        )
    if not password:
        raise ValidationFailed("a password is required", fields={"password": "required"})
    checked = validate_roles(roles)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", fields={"username": "already exists"})
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(checked))
    session.flush()
    return user


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def set_roles(session: Session, username: str, roles: Iterable[str]) -> frozenset[str]:
    """Replace a user's roles in the caller's transaction."""
    checked = validate_roles(roles)
    user = _user(session, username)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(checked))
    session.flush()
    return checked


def set_active(session: Session, username: str, active: bool) -> None:
    """Deactivate (or reactivate) a user in the caller's transaction; a deactivated user is out at once."""
    _user(session, username).active = bool(active)
    session.flush()


def list_users(session: Session) -> list[dict]:
    """Every user with their roles, sorted by user name."""
    roles: dict[int, list[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
        roles.setdefault(user_id, []).append(role)
    return [{"username": u.username, "display_name": u.display_name, "active": u.active,
             "created_at": u.created_at, "roles": roles.get(u.id, [])}
            for u in session.scalars(select(User).order_by(User.username))]


def set_password(session: Session, username: str, password: str) -> None:
    if not password:
        raise ValidationFailed("a password is required", fields={"password": "required"})
    _user(session, username).password_hash = hash_password(password)


def roles_of(session: Session, user_id: int) -> frozenset[str]:
    return frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))


def sign_in(db: Database, username: str, password: str, client: str,
            limits: login_throttle.ThrottleLimits | None = None) -> Viewer | None:
    """``authenticate`` behind the sign-in rate limit: raises TooManyRequests while it holds."""
    limits = limits or login_throttle.ThrottleLimits()
    with db.read() as session:
        login_throttle.check(session, username, client, clock.now(), limits)
    viewer = authenticate(db, username, password)
    with db.write() as session:
        if viewer is None:
            login_throttle.record_failure(session, username, client, clock.now(), limits)
        else:
            login_throttle.record_success(session, username, client)
    return viewer


def authenticate(db: Database, username: str, password: str) -> Viewer | None:
    """The viewer for a correct user name and password, else None.

    An unknown or inactive user still costs one hash verification, so the answer
    time does not tell which user names exist.
    """
    with db.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            verify_password(_dummy_hash(password_hasher), password)
            return None
        if not verify_password(user.password_hash, password):
            return None
        viewer = Viewer(user.username, roles_of(session, user.id))
        stale = password_hasher.check_needs_rehash(user.password_hash)
    if stale:
        with db.write() as session:
            _user(session, username).password_hash = hash_password(password)
    return viewer


# --- tokens -------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(db: Database, username: str, ttl_hours: float) -> str:
    """A new bearer token for an active user, valid ``ttl_hours`` from the clock's now."""
    token = secrets.token_urlsafe(32)
    issued = clock.now()
    with db.write() as session:
        user = _user(session, username)
        if not user.active:
            raise NotFound(f"no active user named {username!r}")
        session.add(
            ApiToken(
                token_hash=token_digest(token),
                user_id=user.id,
                created_at=issued,
                expires_at=issued + timedelta(hours=ttl_hours),
            )
        )
    return token


def viewer_for_token(db: Database, token: str) -> Viewer | None:
    """The token's user, or None when it is unknown, expired or the user is inactive."""
    if not token:
        return None
    with db.read() as session:
        row = session.execute(
            select(ApiToken.expires_at, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_digest(token))
        ).first()
        if row is None:
            return None
        expires_at, user = row
        if expires_at <= clock.now() or not user.active:
            return None
        return Viewer(user.username, roles_of(session, user.id))


def token_expiry(db: Database, token: str) -> str | None:
    """When a token expires, as an ISO string; None when unknown."""
    with db.read() as session:
        expires_at = session.scalar(
            select(ApiToken.expires_at).where(ApiToken.token_hash == token_digest(token))
        )
    return expires_at.isoformat() if expires_at else None


def revoke_token(db: Database, token: str) -> bool:
    """Delete a token; True when it existed."""
    with db.write() as session:
        result = session.execute(delete(ApiToken).where(ApiToken.token_hash == token_digest(token)))
        return bool(result.rowcount)


def purge_expired_tokens(db: Database) -> int:
    with db.write() as session:
        result = session.execute(delete(ApiToken).where(ApiToken.expires_at <= clock.now()))
        return int(result.rowcount or 0)


# --- demo ---------------------------------------------------------------------


def seed_demo_users(db: Database, password: str = "demo", only: Iterable[str] | None = None) -> list[str]:
    """Create the missing demo users (all, or those named in ``only``); returns the names created.

    Idempotent: existing users are left as they are, also when several
    processes seed at once.
    """
    wanted = set(only) if only is not None else None
    created: list[str] = []
    for demo in DEMO_USERS:
        if wanted is not None and demo.username not in wanted:
            continue
        try:
            with db.write() as session:
                if session.scalar(select(User.id).where(User.username == demo.username)) is not None:
                    continue
                create_user(session, demo.username, password, demo.roles, demo.display_name)
        except IntegrityError:  # another process created it between our check and insert
            log.info("demo user %s was created concurrently", demo.username)
            continue
        created.append(demo.username)
    return created
