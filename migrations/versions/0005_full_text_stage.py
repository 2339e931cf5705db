"""the full-text stage: sets of reports, and the retrieval of each report

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00

A full-text set holds the title/abstract includes of its parent set; report_event records
whether each report was sought, retrieved (with its file) or not retrieved (with why).

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screening_set") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=20), nullable=False, server_default="title_abstract"))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_screening_set_parent_id_screening_set"), "screening_set",
                                 ["parent_id"], ["id"])
    op.create_table(
        "report_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('sought', 'retrieved', 'not_retrieved')", name=op.f("ck_report_event_status")),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], name=op.f("fk_report_event_record_id_record")),
        sa.ForeignKeyConstraint(["set_id"], ["screening_set.id"], name=op.f("fk_report_event_set_id_screening_set")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_event")),
    )
    with op.batch_alter_table("report_event") as batch:
        batch.create_index("ix_report_event_set_record", ["set_id", "record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_event") as batch:
        batch.drop_index("ix_report_event_set_record")
    op.drop_table("report_event")
    with op.batch_alter_table("screening_set") as batch:
        batch.drop_constraint(batch.f("fk_screening_set_parent_id_screening_set"), type_="foreignkey")
        batch.drop_column("parent_id")
        batch.drop_column("stage")
