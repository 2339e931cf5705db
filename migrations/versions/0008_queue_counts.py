"""each screener's progress per set as a row (queue_count), not a count per next record

A next record showed the screener's progress by counting their assignments in the set: thousands of
index entries and row versions per request on PostgreSQL (1 ms of the server's time, most of a next
record). queue_count holds the two figures, filled here from assignment; ix_assignment_user_set,
which only that count needed, goes (every decision and every queue rewrite wrote an entry in it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:00:00

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_count",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["set_id"], ["screening_set.id"], name=op.f("fk_queue_count_set_id_screening_set")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_queue_count_user_id_app_user")),
        sa.PrimaryKeyConstraint("set_id", "user_id", name=op.f("pk_queue_count")),
    )
    op.execute("INSERT INTO queue_count (set_id, user_id, total, done)"
               " SELECT set_id, user_id, count(*), sum(CASE WHEN done THEN 1 ELSE 0 END)"
               " FROM assignment GROUP BY set_id, user_id")
    with op.batch_alter_table("assignment") as batch:
        batch.drop_index("ix_assignment_user_set")


def downgrade() -> None:
    with op.batch_alter_table("assignment") as batch:
        batch.create_index("ix_assignment_user_set", ["user_id", "set_id"], unique=False)
    op.drop_table("queue_count")
