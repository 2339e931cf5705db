"""web accounts, set settings, and a screener's next record in one index seek

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00

- app_user gains a password hash (argon2) and the failed-login count and lock of the web app;
  token holds signed-in sessions and API tokens (their SHA-256 only).
- screening_set gains settings: highlight terms and exclusion reasons for its screeners.
- assignment gains ``done`` and ``priority``, derived from the decision log and the latest
  ranking, with the indexes that make "my next record" one index seek; ``done`` is back-filled
  from the decisions already recorded; ``priority`` is 0 until the next ranking writes it.

Migrations must work on SQLite (batch mode) and PostgreSQL, and keep old data readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.create_table(
        "token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_token_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token")),
        sa.UniqueConstraint("digest", name=op.f("uq_token_digest")),
    )
    with op.batch_alter_table("token") as batch:
        batch.create_index(batch.f("ix_token_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("screening_set") as batch:
        batch.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("assignment") as batch:
        batch.add_column(sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("priority", sa.Float(), nullable=False, server_default="0"))
        batch.create_index("ix_assignment_next_test", ["user_id", "set_id", "done", "batch_id", "position"])
        batch.create_index("ix_assignment_next_single", ["user_id", "set_id", "done", "priority"])
    # done = the screener's latest screening event on the record is a decision, not an undo
    op.execute(sa.text("""
        UPDATE assignment SET done = (
            SELECT d.decision <> 'retract' FROM decision d
            WHERE d.set_id = assignment.set_id AND d.record_id = assignment.record_id
              AND d.user_id = assignment.user_id AND d.kind = 'screen'
            ORDER BY d.id DESC LIMIT 1)
        WHERE EXISTS (SELECT 1 FROM decision d WHERE d.set_id = assignment.set_id
                      AND d.record_id = assignment.record_id AND d.user_id = assignment.user_id
                      AND d.kind = 'screen')"""))
    # priority stays 0 (unranked) until the next ranking of each set writes it


def downgrade() -> None:
    with op.batch_alter_table("assignment") as batch:
        batch.drop_index("ix_assignment_next_single")
        batch.drop_index("ix_assignment_next_test")
        batch.drop_column("priority")
        batch.drop_column("done")
    with op.batch_alter_table("screening_set") as batch:
        batch.drop_column("settings")
    with op.batch_alter_table("token") as batch:
        batch.drop_index(batch.f("ix_token_user_id"))
    op.drop_table("token")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
        batch.drop_column("password_hash")
