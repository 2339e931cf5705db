"""a ranking's scores cost less to rewrite

record_score: keyed by (set, record), with no row id and no per-row foreign key to the record or the
run. A set's scores are derived data, replaced whole by each run from the set's own records, and on
PostgreSQL each of their 50,000 rows fired three foreign-key checks: 0.83 s of the server's time per
retrain, against 0.21 s without the record and run checks (the set's is kept: it costs little).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:00:00

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _scores() -> list[dict[str, object]]:
    rows = op.get_bind().execute(sa.text("SELECT set_id, record_id, score, run_id FROM record_score"))
    return [dict(r._mapping) for r in rows]


def upgrade() -> None:
    kept = _scores()
    op.drop_table("record_score")
    table = op.create_table(
        "record_score",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["set_id"], ["screening_set.id"], name=op.f("fk_record_score_set_id_screening_set")),
        sa.PrimaryKeyConstraint("set_id", "record_id", name=op.f("pk_record_score")),
    )
    if kept:
        op.bulk_insert(table, kept)


def downgrade() -> None:
    kept = _scores()
    op.drop_table("record_score")
    table = op.create_table(
        "record_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], name=op.f("fk_record_score_record_id_record")),
        sa.ForeignKeyConstraint(["run_id"], ["model_run.id"], name=op.f("fk_record_score_run_id_model_run")),
        sa.ForeignKeyConstraint(["set_id"], ["screening_set.id"], name=op.f("fk_record_score_set_id_screening_set")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_score")),
        sa.UniqueConstraint("set_id", "record_id", name=op.f("uq_record_score_set_id_record_id")),
    )
    if kept:
        op.bulk_insert(table, kept)
