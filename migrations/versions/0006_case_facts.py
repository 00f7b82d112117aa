"""case_facts: one reporting row per case; report_settings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00

Rows are written by engine/case_facts.py in the transaction that saves the case;
cases saved before this revision are filled by ``complaintflow reports backfill``.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CLOCKS = ("closure", "reply", "resolve", "install", "repair")
STAGES = ("accept", "dispatch", "handle", "review", "callback")


def upgrade() -> None:
    clock_columns = []
    for name in CLOCKS:
        clock_columns += [
            sa.Column(f"{name}_policy", sa.String(length=64), nullable=True),
            sa.Column(f"{name}_due_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column(f"{name}_met_at", sa.DateTime(timezone=True), nullable=True),
        ]
    op.create_table(
        "case_facts",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("star_level", sa.Integer(), nullable=True),
        sa.Column("svip", sa.Boolean(), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("business_line", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        # The departments the case went to, as ",billing,network," (sorted): a split groups by it, no join.
        sa.Column("departments", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        *clock_columns,
        sa.Column("first_contact_solved", sa.Boolean(), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("upgraded_to", sa.String(length=64), nullable=True),
        sa.Column("original_number", sa.String(length=64), nullable=True),
        sa.Column("satisfaction", sa.String(length=8), nullable=True),
        sa.Column("appeal_ticket", sa.String(length=64), nullable=True),
        sa.Column("appeal_type", sa.String(length=32), nullable=True),
        sa.Column("appeal_outcome", sa.String(length=8), nullable=True),
        sa.Column("appeal_valid", sa.Boolean(), nullable=True),
        sa.Column("appeal_invalid_reason", sa.String(length=128), nullable=True),
        sa.Column("appeal_issue", sa.String(length=64), nullable=True),
        sa.Column("appeal_repeat", sa.Boolean(), nullable=True),
        *[sa.Column(f"{stage}_seconds", sa.Float(), nullable=True) for stage in STAGES],
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id"),
        sa.UniqueConstraint("number", name="uq_case_facts_number"),
    )
    # Every report filters one process over a range of days (Asia/Shanghai) and groups by day.
    op.create_index("ix_case_facts_process_day", "case_facts", ["process_id", "received_day"])
    op.create_table(
        "report_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("report_settings")
    op.drop_index("ix_case_facts_process_day", table_name="case_facts")
    op.drop_table("case_facts")
