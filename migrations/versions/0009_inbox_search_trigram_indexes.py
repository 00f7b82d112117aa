"""human_tasks: trigram indexes for the inbox text search (PostgreSQL only)

The inbox's ``q`` looks for a substring of the complaint number, the phone or the customer name
(ILIKE '%q%'). No btree can answer that, so it read every task in the user's queues: about a second
for a department of 270,000 open tasks. A GIN index of trigrams (pg_trgm) per column answers it from
the index for any query with three letters or digits in a row. Shorter queries (a surname, 张三) have
no trigram: engine/task_queries.py writes them so that these indexes are never used for them.

pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a role with CREATE on the
database may create it. Where the role may not, the migration logs a warning and makes no index;
the search still works, only without the indexes. A superuser can add them later:

    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX ix_human_tasks_complaint_number_trgm ON human_tasks USING gin (complaint_number gin_trgm_ops)
        WITH (fastupdate = off);
    CREATE INDEX ix_human_tasks_phone_trgm ON human_tasks USING gin (phone gin_trgm_ops) WITH (fastupdate = off);
    CREATE INDEX ix_human_tasks_customer_name_trgm ON human_tasks USING gin (customer_name gin_trgm_ops)
        WITH (fastupdate = off);

fastupdate is off: a new task's trigrams go into the index at once instead of a pending list that
every search reads whole until (auto)vacuum merges it, which after a burst of new tasks made a number
search about 4x dearer (56 against 15 ms at 100,000 open tasks). A task insert pays a few dozen GIN
entries for it.

Building them blocks writes to human_tasks while it runs (10 s for the benchmark's million open
tasks, more for varied real values). The downgrade drops the indexes and leaves the extension
(other schemas may use it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 06:00:00
"""
import logging

from alembic import op
from sqlalchemy import exc, text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ("complaint_number", "phone", "customer_name")
log = logging.getLogger(__name__)


def index_name(column: str) -> str:
    return f"ix_human_tasks_{column}_trgm"


def extension_ready(bind, name: str = "pg_trgm") -> bool:  # noqa: ANN001
    """Whether extension ``name`` is installed, creating it if the role may; a refusal is logged, not raised."""
    if bind.scalar(text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": name}):
        return True
    try:
        with bind.begin_nested():  # a failed CREATE must not abort the migration's transaction
            bind.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
    except exc.DBAPIError as error:
        log.warning("could not create extension %s (%s): the inbox text search works without its trigram indexes, "
                    "only slower; see migrations/versions/0009_inbox_search_trigram_indexes.py to add them",
                    name, str(error.orig).strip())
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not extension_ready(bind):
        return
    for column in COLUMNS:
        op.create_index(index_name(column), "human_tasks", [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"}, postgresql_with={"fastupdate": "off"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {index_name(column)}")
