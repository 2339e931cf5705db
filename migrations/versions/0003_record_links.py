"""related records: typed links between records that are not duplicates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 08:00:00

Errata, retractions, comments, replies, updated reviews, conference abstracts and their
papers are kept apart by dedup and linked, so screeners see them beside the record.

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_a", sa.Integer(), nullable=False),
        sa.Column("record_b", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("record_a <> record_b", name=op.f("ck_record_link_no_self_link")),
        sa.ForeignKeyConstraint(["record_a"], ["record.id"], name=op.f("fk_record_link_record_a_record")),
        sa.ForeignKeyConstraint(["record_b"], ["record.id"], name=op.f("fk_record_link_record_b_record")),
        sa.ForeignKeyConstraint(["run_id"], ["dedup_run.id"], name=op.f("fk_record_link_run_id_dedup_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_link")),
        sa.UniqueConstraint("record_a", "record_b", "relation", name=op.f("uq_record_link_record_a_record_b_relation")),
    )
    with op.batch_alter_table("record_link") as batch:
        batch.create_index(batch.f("ix_record_link_record_a"), ["record_a"], unique=False)
        batch.create_index(batch.f("ix_record_link_record_b"), ["record_b"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_link") as batch:
        batch.drop_index(batch.f("ix_record_link_record_b"))
        batch.drop_index(batch.f("ix_record_link_record_a"))
    op.drop_table("record_link")
