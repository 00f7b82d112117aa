"""case_clocks: each case's SLA clocks, for the escalation desk and reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_clocks",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "name"),
    )
    op.create_index("ix_case_clocks_open_due", "case_clocks", ["met_at", "due_at"])
    op.create_index("ix_case_clocks_policy_due", "case_clocks", ["policy", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_case_clocks_policy_due", table_name="case_clocks")
    op.drop_index("ix_case_clocks_open_due", table_name="case_clocks")
    op.drop_table("case_clocks")
