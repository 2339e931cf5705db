"""Engines, sessions and the Alembic configuration.

SQLite is the embedded default and PostgreSQL the team backend; nothing here or in the
queries elsewhere is SQLite-only. SQLite pragmas are set on *our* engine's connections only
(WAL for concurrent readers while one screener writes, foreign keys on), never globally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from screening.errors import ScreeningError

DEFAULT_URL = "sqlite:///screening.db"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``--db`` first, then ``SCREENING_DB``, then ``sqlite:///screening.db``."""
    return explicit or os.environ.get("SCREENING_DB") or DEFAULT_URL


def make_engine(url: str) -> Engine:
    """An engine with the pragmas our SQLite use needs, bound to this engine alone."""
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # bad URL or missing driver: a user error
        raise ScreeningError(
            f"cannot use database URL {url!r}: {exc}. Give an SQLAlchemy URL such as "
            "sqlite:///screening.db or postgresql+psycopg://user@host/dbname."
        ) from exc
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # pysqlite's own transaction handling would BEGIN lazily and break SAVEPOINTs;
            # let SQLAlchemy emit BEGIN itself (documented pysqlite workaround).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

    return engine


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    """Alembic's configuration built in code, so no alembic.ini has to be found at run time."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (``screening init``)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def check_schema(engine: Engine) -> None:
    """Fail with a clear message when the database was never initialised."""
    if not inspect(engine).has_table("alembic_version"):
        raise ScreeningError(
            f"the database {engine.url.render_as_string(hide_password=True)} has no schema yet: "
            "run `screening init` first (or pass --db / SCREENING_DB for another database)."
        )


class Database:
    """One database: an engine plus a session factory. Transactions belong to the caller."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
