"""sla_policy_overrides: admin-edited SLA limits that win over the DMN defaults for new clocks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_policy_overrides",
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy"),
    )


def downgrade() -> None:
    op.drop_table("sla_policy_overrides")
