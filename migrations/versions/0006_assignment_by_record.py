"""a decision finds its assignment by record and user in one index seek

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:00:00

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignment") as batch:
        batch.create_index("ix_assignment_record_user", ["record_id", "user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assignment") as batch:
        batch.drop_index("ix_assignment_record_user")
