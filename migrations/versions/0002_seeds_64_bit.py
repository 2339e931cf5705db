"""seeds are 64-bit integers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 08:00:00

A seed above 2**31 was stored by SQLite and refused by PostgreSQL (its INTEGER is 32-bit);
the library accepts seeds up to 2**63 - 1 on both.

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("sample", "model_run"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("seed", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    for table in ("sample", "model_run"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("seed", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
