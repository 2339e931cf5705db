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


def test_the_scores_of_a_ranking_survive_the_move_to_a_key_of_set_and_record(tmp_path) -> None:
    """0007 rebuilds record_score (keyed by set and record, fewer foreign keys): the scores stored
    before it are still there after it, and after going back down again."""
    import sqlite3

    from alembic import command
    from sqlalchemy import text

    from screening.storage.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    old = Database(url)
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO screening_set (id, name, phase, gate, created_at, settings, stage)"
                          " VALUES (1, 's', 'single', '{}', '2026-01-01', '{}', 'title_abstract')"))
        conn.execute(text("INSERT INTO model_run (id, set_id, model, params, seed, n_labelled, n_included, seconds, at)"
                          " VALUES (7, 1, 'm', '{}', 0, 2, 1, 0.1, '2026-01-01')"))
    old.dispose()
    with sqlite3.connect(tmp_path / "old.db") as raw:  # foreign keys off: no search behind the two records
        for rid in (1, 2):
            raw.execute("INSERT INTO record (id, format, raw, authors, accessions, issn, keywords, urls, created_at)"
                        " VALUES (?, 'ris', '[]', '[]', '[]', '[]', '[]', '[]', '2026-01-01')", (rid,))
        raw.execute("INSERT INTO record_score (set_id, record_id, score, run_id)"
                    " VALUES (1, 1, 0.25, 7), (1, 2, 1.0, 7)")
    raw.close()
    scores = "SELECT set_id, record_id, score, run_id FROM record_score ORDER BY record_id"
    upgrade(url)
    new = Database(url)
    with new.engine.connect() as conn:
        assert conn.execute(text(scores)).all() == [(1, 1, 0.25, 7), (1, 2, 1.0, 7)]
        assert [c["name"] for c in inspect(conn).get_columns("record_score")] == ["set_id", "record_id", "score",
                                                                                   "run_id"]
    new.dispose()
    command.downgrade(alembic_config(url), "0006")
    back = Database(url)
    with back.engine.connect() as conn:
        assert conn.execute(text(scores)).all() == [(1, 1, 0.25, 7), (1, 2, 1.0, 7)]
    back.dispose()
