"""human_tasks: an index of one- and two-character pieces of the customer name (PostgreSQL only)

The inbox's ``q`` of one or two characters (李, a surname; 张伟) has no trigram, so the indexes of 0009
cannot answer it: it walked the role's (role, due_at) index and read the whole queue for a rare name
(273,000 tasks of a department at a million open: 0.57-0.8 s for the page, 0.3 s for the count).

complaintflow_grams(value) is the set of distinct one- and two-character substrings of lower(value)
(NULL for NULL, {} for ''). A GIN index over it answers "q occurs in lower(customer_name)" for a q of one
or two characters exactly, as ``complaintflow_grams(customer_name) @> ARRAY[lower(q)]``: the same rows as
strpos(lower(customer_name), lower(q)) > 0 or ILIKE '%q%', from the index (engine/task_queries.py
text_search; it uses it for queries with a character outside ASCII, which only a name can hold).

The function is IMMUTABLE (an index expression must be): lower() of the database's collation, substr
and generate_series only. Unlike 0009 nothing here needs an extension or a superuser: the role that made
the tables may make a function and an index, so a failure fails the migration (the search calls the
function; it must not be left out quietly).

fastupdate is off, as for the trigram indexes: a new task's pieces (2n - 1 at most for a name of n
characters: 5 for 张伟明) go into the index at once instead of a pending list every search would read.

Building it blocks writes to human_tasks while it runs (21 s for the benchmark's million open tasks,
9.5 MB). ANALYZE then gathers the statistics of the pieces (1.4 s): without them the planner guesses
0.5% for every piece and cannot tell 李 (one name in 20: the ordered walk is cheaper) from a rare name.
The downgrade drops the index and the function.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:50:00
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTION = "complaintflow_grams"
INDEX = "ix_human_tasks_customer_name_grams"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT ARRAY(
        SELECT DISTINCT substr(lowered, start, size)
        FROM lower(value) AS lowered, generate_series(1, char_length(lowered)) AS start,
             generate_series(1, 2) AS size
        WHERE start + size - 1 <= char_length(lowered))
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_FUNCTION)
    # IF NOT EXISTS: a database given the index by hand (the SQL above and this) upgrades without error.
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON human_tasks USING gin ({FUNCTION}(customer_name)) "
               "WITH (fastupdate = off)")
    op.execute("ANALYZE human_tasks")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(text)")
