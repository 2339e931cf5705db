"""The Alembic migrations and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from screening.storage.db import Database
from screening.storage.models import Base


def test_models_match_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_sqlite_pragmas_are_on(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_every_table_has_named_constraints(db: Database) -> None:
    insp = inspect(db.engine)
    for table in Base.metadata.tables:
        pk = insp.get_pk_constraint(table)
        assert pk["constrained_columns"], table
        for uq in insp.get_unique_constraints(table):
            assert uq["name"], f"unnamed unique constraint on {table}"
