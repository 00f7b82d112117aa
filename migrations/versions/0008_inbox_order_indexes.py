"""human_tasks: indexes that hand out every inbox sort order for one role and for every queue

The inbox reads its first page by walking an index in the page's order and stops after a page
(and counts stop at a cap), so a page costs the same with 10,000 or 1,000,000 open tasks. One
role's queue had (role, due_at); every queue (a supervisor) and the priority and age orders had
none and sorted every visible task. (role, priority DESC, due_at) replaces (role, priority).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_tasks_due", "human_tasks", ["due_at"])
    op.create_index("ix_human_tasks_priority_due", "human_tasks", [sa.text("priority DESC"), "due_at"])
    op.create_index("ix_human_tasks_created", "human_tasks", ["created_at", "id"])
    op.create_index("ix_human_tasks_role_priority_due", "human_tasks", ["role", sa.text("priority DESC"), "due_at"])
    op.create_index("ix_human_tasks_role_created", "human_tasks", ["role", "created_at", "id"])
    op.drop_index("ix_human_tasks_role_priority", table_name="human_tasks")


def downgrade() -> None:
    op.create_index("ix_human_tasks_role_priority", "human_tasks", ["role", "priority"])
    op.drop_index("ix_human_tasks_role_created", table_name="human_tasks")
    op.drop_index("ix_human_tasks_role_priority_due", table_name="human_tasks")
    op.drop_index("ix_human_tasks_created", table_name="human_tasks")
    op.drop_index("ix_human_tasks_priority_due", table_name="human_tasks")
    op.drop_index("ix_human_tasks_due", table_name="human_tasks")
