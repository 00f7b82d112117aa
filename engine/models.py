"""The database schema. Alembic migrations in migrations/ create it; nothing calls create_all."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC; SQLite gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import UTC

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# --- users and access -------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Only the SHA-256 of a token is stored; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- deployed models ----------------------------------------------------------


class Deployment(Base):
    """One upload or one deploy of processes/: the files exactly as given."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(255), default="")


class DeploymentFile(Base):
    __tablename__ = "deployment_files"
    __table_args__ = (UniqueConstraint("deployment_id", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn | form
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class ProcessDefinition(Base):
    """One version of one executable process; instances point at exactly one."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255), default="")
    # Hash over the BPMN, DMN and form files this version was built from.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    bpmn_filename: Mapped[str] = mapped_column(String(255))
    # SpiffWorkflow's serialized spec (and subprocess specs), stored once per version.
    spec_json: Mapped[str] = mapped_column(Text)
    # Per user/manual task: role, form, due and priority expressions read from the diagram.
    task_meta: Mapped[dict] = mapped_column(JSON, default=dict)
    start_messages: Mapped[list] = mapped_column(JSON, default=list)
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- running cases ---------------------------------------------------------------


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_phone_category", "phone", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running|suspended|completed|cancelled
    state_json: Mapped[bytes] = mapped_column(LargeBinary)
    # Business fields copied out of the case data for listing and reports.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    # Copied out for repeat-complaint lookups and links between cases.
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    original_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Optimistic lock: every save checks and bumps it.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class HumanTask(Base):
    """The inbox index: one row per open user or manual task, kept in step with the case."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_role_due", "role", "due_at"),
        Index("ix_human_tasks_assignee_due", "assignee", "due_at"),
        # The inbox walks these in sort order and stops after a page (migration 0008).
        Index("ix_human_tasks_role_priority_due", "role", text("priority DESC"), "due_at"),
        Index("ix_human_tasks_due", "due_at"),
        Index("ix_human_tasks_priority_due", text("priority DESC"), "due_at"),
        Index("ix_human_tasks_created", "created_at", "id"),
        Index("ix_human_tasks_role_created", "role", "created_at", "id"),
        # The inbox's text search (q): trigram indexes, PostgreSQL only (migration 0009, needs pg_trgm).
        *(Index(f"ix_human_tasks_{column}_trgm", column, postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"}, postgresql_with={"fastupdate": "off"})
          .ddl_if(dialect="postgresql")
          for column in ("complaint_number", "phone", "customer_name")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # user | manual
    role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    form: Mapped[str | None] = mapped_column(String(255), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    complaint_number: Mapped[str] = mapped_column(String(64), index=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    business_line: Mapped[str | None] = mapped_column(String(16), nullable=True)
    region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    city: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    customer_name: Mapped[str | None] = mapped_column(String(128), nullable=True)


# The inbox's one- and two-character name search (q = 李, 张伟): a GIN index over the name's distinct one- and
# two-character pieces, PostgreSQL only (migration 0010 makes it and the SQL function complaintflow_grams).
Index("ix_human_tasks_customer_name_grams", func.complaintflow_grams(HumanTask.customer_name),
      postgresql_using="gin", postgresql_with={"fastupdate": "off"}).ddl_if(dialect="postgresql")


class Timer(Base):
    """A waiting BPMN timer; the scheduler fires it and deletes it in one transaction."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # After a failed firing the timer waits until here before the next try.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class MessageWait(Base):
    """A case waiting for a named message, found by (name, correlation)."""

    __tablename__ = "message_waits"
    __table_args__ = (Index("ix_message_waits_lookup", "name", "correlation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    correlation: Mapped[str] = mapped_column(String(128))


class AuditEvent(Base):
    """Append-only: the migrations add triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_instance_id", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    business_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    bpmn_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class NumberSequence(Base):
    """Daily counters behind case numbers such as TS20261124000001."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


# --- calendar ---------------------------------------------------------------------


class CalendarYear(Base):
    """A year whose holiday arrangement is loaded; deadlines reaching past these fail."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarDay(Base):
    """An exception to the Monday-Friday rule: a public holiday or a make-up working day (调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(64), default="")


# --- notifications ------------------------------------------------------------------


class SmsMessage(Base):
    """The SMS outbox: written in the step that sends it, delivered afterwards with retries."""

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True, index=True)
    business_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseClock(Base):
    """Each SLA clock of each case, copied out of the case data on every save for the desk and reports."""

    __tablename__ = "case_clocks"
    __table_args__ = (
        Index("ix_case_clocks_open_due", "met_at", "due_at"),
        Index("ix_case_clocks_policy_due", "policy", "due_at"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str | None] = mapped_column(String(16), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)


# --- SLA policy overrides -------------------------------------------------------------


class SlaPolicyOverride(Base):
    """An admin's limit for one SLA policy code, winning over the DMN table's default for new clocks."""

    __tablename__ = "sla_policy_overrides"

    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    basis: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- sign-in rate limiting ------------------------------------------------------------------


class LoginFailure(Base):
    """One failed sign-in; kept for the throttle window only (engine/login_throttle.py)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
