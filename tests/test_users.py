"""engine.users: password hashing, sign-in, API tokens and the demo users."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from engine import users
from engine.clock import TestClock
from engine.db import Database
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import ApiToken, User, UserRole
from engine.viewer import Viewer


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(users, "password_hasher", hasher)
    return hasher


def _add(db: Database, username: str, roles: list[str], password: str = "s3cret", **kwargs: str) -> None:
    with db.write() as session:
        users.create_user(session, username, password, roles, **kwargs)


# --- hashing -----------------------------------------------------------------------------


def test_password_hash_is_salted_argon2id_with_the_library_defaults() -> None:
    first = users.hash_password("correct horse")
    second = users.hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert "correct horse" not in first
    assert first != second  # a fresh salt each time
    assert f"m={PasswordHasher().memory_cost}" in first
    assert users.verify_password(first, "correct horse")
    assert not users.verify_password(first, "correct horsf")
    assert not users.verify_password("not a hash", "correct horse")


def test_create_user_stores_a_hash_not_the_password(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "zhang", ["intake"], password="pa55word", display_name="张三")
    with db.read() as session:
        user = session.scalar(select(User).where(User.username == "zhang"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert "pa55word" not in user.password_hash
        assert user.display_name == "张三"
        assert user.created_at == clock.now()


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        "intake",
        "dispatcher",
        "escalation",
        "appeals",
        "supervisor",
        "owner",
        "admin",
        "gateway",
        "dept:network",
        "dept:city_01",
    ],
)
def test_valid_roles(role: str) -> None:
    assert users.is_valid_role(role)
    assert users.validate_roles([role]) == {role}


@pytest.mark.parametrize(
    "role", ["boss", "dept:", "dept:Network", "dept:1st", "dept:net-work", "Intake", " intake", ""]
)
def test_invalid_roles_are_refused_naming_the_role(role: str) -> None:
    assert not users.is_valid_role(role)
    with pytest.raises(ValidationFailed) as caught:
        users.validate_roles(["intake", role])
    assert repr(role) in caught.value.message
    assert caught.value.fields == {"roles": f"unknown role {role!r}"}


def test_create_user_refuses_bad_roles_and_changes_nothing(
    db: Database, clock: TestClock, fast_hashing
) -> None:
    with pytest.raises(ValidationFailed):
        _add(db, "li", ["dispatcher", "dept:Billing"])
    with db.read() as session:
        assert session.scalar(select(User).where(User.username == "li")) is None


def test_create_user_refuses_a_taken_name(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "wang", ["intake"])
    with pytest.raises(Conflict):
        _add(db, "wang", ["owner"])


@pytest.mark.parametrize("username", ["", "has space", "x" * 65, "-dash"])
def test_create_user_refuses_bad_names(db: Database, clock: TestClock, fast_hashing, username: str) -> None:
    with pytest.raises(ValidationFailed):
        _add(db, username, ["intake"])


def test_set_roles_replaces_the_roles(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "zhao", ["intake", "dispatcher"])
    with db.write() as session:
        assert users.set_roles(session, "zhao", ["dept:billing"]) == {"dept:billing"}
    viewer = users.authenticate(db, "zhao", "s3cret")
    assert viewer == Viewer("zhao", frozenset({"dept:billing"}))
    with pytest.raises(NotFound), db.write() as session:
        users.set_roles(session, "nobody", ["intake"])
    with pytest.raises(ValidationFailed), db.write() as session:
        users.set_roles(session, "zhao", ["root"])
    with db.read() as session:
        assert set(session.scalars(select(UserRole.role))) == {"dept:billing"}


# --- authenticate ------------------------------------------------------------------------


def test_authenticate(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "qian", ["dispatcher", "supervisor"])
    assert users.authenticate(db, "qian", "s3cret") == Viewer("qian", frozenset({"dispatcher", "supervisor"}))
    assert users.authenticate(db, "qian", "wrong") is None
    assert users.authenticate(db, "qian", "") is None
    assert users.authenticate(db, "QIAN", "s3cret") is None
    assert users.authenticate(db, "nobody", "s3cret") is None


def test_inactive_users_cannot_sign_in(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "sun", ["intake"])
    with db.write() as session:
        session.scalar(select(User).where(User.username == "sun")).active = False
    assert users.authenticate(db, "sun", "s3cret") is None


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        self.verified.append(str(hash))
        return super().verify(hash, password)


def test_an_unknown_user_still_costs_one_verification(
    db: Database, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(users, "password_hasher", hasher)
    assert users.authenticate(db, "ghost", "whatever") is None
    assert len(hasher.verified) == 1
    assert hasher.verified[0].startswith("$argon2id$")


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(
    db: Database, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "password_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    _add(db, "zhou", ["owner"])
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    monkeypatch.setattr(users, "password_hasher", stronger)
    assert users.authenticate(db, "zhou", "s3cret") is not None
    with db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "zhou"))
    assert "m=128,t=2,p=1" in stored
    assert users.authenticate(db, "zhou", "s3cret") is not None


# --- tokens ------------------------------------------------------------------------------


def test_a_token_is_random_and_only_its_sha256_is_stored(
    db: Database, clock: TestClock, fast_hashing
) -> None:
    _add(db, "wu", ["appeals"])
    token = users.issue_token(db, "wu", ttl_hours=12)
    other = users.issue_token(db, "wu", ttl_hours=12)
    assert token != other
    assert re.fullmatch(r"[A-Za-z0-9_\-]{43}", token)
    with db.read() as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    assert [row.token_hash for row in rows] == [
        hashlib.sha256(token.encode()).hexdigest(),
        hashlib.sha256(other.encode()).hexdigest(),
    ]
    assert rows[0].created_at == clock.now()
    assert rows[0].expires_at == clock.now() + timedelta(hours=12)
    assert users.viewer_for_token(db, token) == Viewer("wu", frozenset({"appeals"}))


def test_a_token_expires_by_the_clock(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "zheng", ["owner"])
    token = users.issue_token(db, "zheng", ttl_hours=2)
    clock.advance(2 * 3600 - 1)
    assert users.viewer_for_token(db, token) is not None
    clock.advance(1)
    assert users.viewer_for_token(db, token) is None
    assert users.purge_expired_tokens(db) == 1
    with db.read() as session:
        assert session.scalar(select(ApiToken)) is None


def test_unknown_empty_and_revoked_tokens_give_no_viewer(
    db: Database, clock: TestClock, fast_hashing
) -> None:
    _add(db, "feng", ["intake"])
    token = users.issue_token(db, "feng", ttl_hours=1)
    assert users.viewer_for_token(db, "") is None
    assert users.viewer_for_token(db, token + "x") is None
    assert (
        users.viewer_for_token(db, hashlib.sha256(token.encode()).hexdigest()) is None
    )  # the stored hash is no key
    assert users.revoke_token(db, token) is True
    assert users.viewer_for_token(db, token) is None
    assert users.revoke_token(db, token) is False


def test_tokens_follow_role_changes_and_deactivation(db: Database, clock: TestClock, fast_hashing) -> None:
    _add(db, "chen", ["intake"])
    token = users.issue_token(db, "chen", ttl_hours=1)
    with db.write() as session:
        users.set_roles(session, "chen", ["supervisor"])
    assert users.viewer_for_token(db, token) == Viewer("chen", frozenset({"supervisor"}))
    with db.write() as session:
        session.scalar(select(User).where(User.username == "chen")).active = False
    assert users.viewer_for_token(db, token) is None


def test_no_token_for_an_unknown_user(db: Database, clock: TestClock) -> None:
    with pytest.raises(NotFound):
        users.issue_token(db, "nobody", ttl_hours=1)


# --- demo users --------------------------------------------------------------------------

DESIGN_DEMO_ROLES = {
    "intake": {"intake"},
    "dispatcher": {"dispatcher"},
    "network": {"dept:network"},
    "billing": {"dept:billing"},
    "broadband": {"dept:broadband"},
    "channel": {"dept:channel"},
    "enterprise": {"dept:enterprise"},
    "escalation": {"escalation"},
    "appeals": {"appeals"},
    "supervisor": {"supervisor"},
    "owner": {"owner"},
    "admin": {"admin"},
}


def test_demo_users_are_the_ones_design_md_names() -> None:
    assert {demo.username: set(demo.roles) for demo in users.DEMO_USERS} == DESIGN_DEMO_ROLES
    for demo in users.DEMO_USERS:
        assert re.search(r"[\u4e00-\u9fff]", demo.display_name), demo


def test_seed_demo_users_is_idempotent(db: Database, clock: TestClock, fast_hashing) -> None:
    created = users.seed_demo_users(db)
    assert sorted(created) == sorted(DESIGN_DEMO_ROLES)
    with db.read() as session:
        hashes = dict(session.execute(select(User.username, User.password_hash)).all())
    for username, roles in DESIGN_DEMO_ROLES.items():
        assert users.authenticate(db, username, "demo") == Viewer(username, frozenset(roles))

    assert users.seed_demo_users(db) == []
    assert users.seed_demo_users(db, password="other") == []
    with db.read() as session:
        assert dict(session.execute(select(User.username, User.password_hash)).all()) == hashes
        assert session.scalar(select(UserRole.role).where(UserRole.role == "dept:network")) == "dept:network"
        assert len(session.scalars(select(UserRole)).all()) == len(DESIGN_DEMO_ROLES)


def test_seed_demo_users_keeps_a_changed_password(db: Database, clock: TestClock, fast_hashing) -> None:
    users.seed_demo_users(db, only=["owner"])
    with db.write() as session:
        users.set_password(session, "owner", "changed")
    assert users.seed_demo_users(db) == sorted(
        set(DESIGN_DEMO_ROLES) - {"owner"}, key=list(DESIGN_DEMO_ROLES).index
    )
    assert users.authenticate(db, "owner", "changed") is not None
    assert users.authenticate(db, "owner", "demo") is None
