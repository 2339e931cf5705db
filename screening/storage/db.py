"""Engines, sessions and the Alembic configuration.

SQLite is the embedded default and PostgreSQL the team backend; nothing here or in the
queries elsewhere is SQLite-only. SQLite pragmas are set on *our* engine's connections only
(WAL for concurrent readers while one screener writes, foreign keys on), never globally.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from screening.errors import DatabaseError

DEFAULT_URL = "sqlite:///screening.db"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another to finish before giving up
# The top-level migrations/ folder, installed as the package ``screening.migrations`` (see
# pyproject.toml), so a wheel carries it and `screening init` works from any directory.
MIGRATIONS = Path(str(files("screening.migrations")))


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``--db`` first, then ``SCREENING_DB``, then ``sqlite:///screening.db``."""
    return explicit or os.environ.get("SCREENING_DB") or DEFAULT_URL


def make_engine(url: str) -> Engine:
    """An engine with the pragmas our SQLite use needs, bound to this engine alone."""
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # bad URL or missing driver: a user error
        raise DatabaseError(url, f"cannot use database URL {url!r}: {exc}.", reason="bad_url") from exc
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            # pysqlite's own transaction handling would BEGIN lazily and break SAVEPOINTs;
            # let SQLAlchemy emit BEGIN itself (documented pysqlite workaround).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # 8 KiB pages hold a whole record with its abstract (no overflow chains): imports write
            # about 40% less. Only takes effect when the file is created; before WAL, which fixes it.
            cur.execute("PRAGMA page_size=8192")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def alembic_config(url: str) -> Config:
    """Alembic's configuration built in code, so no alembic.ini has to be found at run time."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (``screening init``)."""
    command.upgrade(alembic_config(url), revision)


def check_schema(engine: Engine) -> None:
    """Fail with a clear message when the database was never initialised."""
    if not inspect(engine).has_table("alembic_version"):
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(shown, f"the database {shown} has no schema yet.", reason="no_schema")


class Database:
    """One database: an engine plus a session factory. Transactions belong to the caller."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        ``bulk=True`` (large imports) lets SQLite write the transaction straight into the
        database file with a rollback journal instead of through the write-ahead log, when no
        other connection has the database open: WAL writes every page twice (log, then
        checkpoint), which was a third of a 100,000-record import. The rollback journal is as
        atomic; ``synchronous=FULL`` makes it as durable. WAL is restored afterwards. With another
        connection open SQLite keeps WAL and nothing changes.
        """
        switched = bulk and self.engine.dialect.name == "sqlite" and _journal(self.engine, "DELETE") == "delete"
        try:
            with self.sessions() as session, session.begin():
                yield session
        finally:
            if switched:
                _journal(self.engine, "WAL")

    def dispose(self) -> None:
        self.engine.dispose()


def _journal(engine: Engine, mode: str) -> str:
    """Set SQLite's journal mode outside any transaction; returns the mode SQLite kept.

    Leaving WAL needs the database to itself: with another connection open SQLite refuses
    ("database is locked"), at once since the wait is set to zero here, and WAL stays.
    """
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA busy_timeout=0")
        try:
            got = str(cur.execute(f"PRAGMA journal_mode={mode}").fetchone()[0]).lower()
        except sqlite3.OperationalError:
            got = "wal"
        cur.execute("PRAGMA synchronous=FULL" if got == "delete" else "PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()
        return got
    finally:
        raw.close()
