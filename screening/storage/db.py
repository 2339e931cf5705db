"""Engines and sessions (the schema's migrations are in :mod:`screening.storage.migrate`).

SQLite is the embedded default and PostgreSQL the team backend; nothing here or in the
queries elsewhere is SQLite-only. SQLite pragmas are set on *our* engine's connections only
(WAL for concurrent readers while one screener writes, foreign keys on), never globally.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from screening.errors import DatabaseError

try:
    import fcntl
except ImportError:  # Windows: writers of other processes wait on SQLite's own lock alone
    fcntl = None  # type: ignore[assignment]

DEFAULT_URL = "sqlite:///screening.db"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another to finish before giving up
# Connections kept open for reuse: at least as many as the threads that use the database at once (the
# web app's read and write threads, ``screening.web.threads``, and its retrainer). Beyond the pool a
# connection is opened for one session and closed after it: on SQLite its pragmas run again, on
# PostgreSQL a server process is forked, each costing more than the request itself.
POOL_SIZE = 12
LOCK_POLL_S = 0.00025  # how often a writer of another process tries the inter-process writer lock


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``--db`` first, then ``SCREENING_DB``, then ``sqlite:///screening.db``."""
    return explicit or os.environ.get("SCREENING_DB") or DEFAULT_URL


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine with the pragmas our SQLite use needs, bound to this engine alone.

    ``read_only`` (PostgreSQL): connections in autocommit whose every statement runs read-only."""
    try:
        engine = create_engine(url, future=True)
        if isinstance(engine.pool, QueuePool):  # not SQLite in memory, which has one connection per thread
            options = {"isolation_level": "AUTOCOMMIT"} if read_only else {}
            engine = create_engine(url, future=True, pool_size=POOL_SIZE, max_overflow=POOL_SIZE, **options)
    except Exception as exc:  # bad URL or missing driver: a user error
        raise DatabaseError(url, f"cannot use database URL {url!r}: {exc}.", reason="bad_url") from exc
    if read_only and engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: object) -> None:
            dbapi_conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            # pysqlite's own transaction handling would BEGIN lazily and break SAVEPOINTs;
            # let SQLAlchemy emit BEGIN itself (documented pysqlite workaround).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # first: the pragmas below may need a lock another connection holds, and must wait for it
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            # 8 KiB pages hold a whole record with its abstract (no overflow chains): imports write
            # about 40% less. Only takes effect when the file is created; before WAL, which fixes it.
            cur.execute("PRAGMA page_size=8192")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # BEGIN IMMEDIATE for the write sessions (see Database), a deferred BEGIN otherwise
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}".rstrip())

    return engine


def check_schema(engine: Engine) -> None:
    """Fail with a clear message when the database was never initialised."""
    if not inspect(engine).has_table("alembic_version"):
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(shown, f"the database {shown} has no schema yet.", reason="no_schema")


class Database:
    """One database: an engine plus session factories. Transactions belong to the caller.

    Writes go through :meth:`transaction`, reads through :meth:`read`. On SQLite a write
    transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock at once, so a writer
    that must wait for another waits (up to ``BUSY_TIMEOUT_MS``) instead of failing half-way
    when a plain ``BEGIN`` that read first tries to upgrade its lock ("database is locked":
    12-15% of decisions failed so with 8 screeners deciding at once). Readers never take the
    write lock and, in WAL mode, never wait for a writer, even a long import.

    A SQLite database is created only by ``screening init`` (``create=True``): a mistyped path
    is an error, not a new empty database.
    """

    def __init__(self, url: str | None = None, *, create: bool = False) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        path = self.engine.url.database
        if (self.engine.dialect.name == "sqlite" and not create and path and path != ":memory:"
                and not path.startswith("file:") and not Path(path).exists()):
            raise DatabaseError(self.url, f"there is no database at {path}.", reason="no_database")
        self.writes = sessionmaker(self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)
        # PostgreSQL: a read's statements run each on its own (autocommit) on connections that cannot
        # write: BEGIN and COMMIT were two of a screener's five round trips for a next record, and under
        # READ COMMITTED a transaction gave its statements no common snapshot anyway. Snapshots (exports,
        # reports) are READ ONLY REPEATABLE READ transactions ended with COMMIT: psycopg forgets every
        # prepared statement on a ROLLBACK (0.7 of the server's 1.3 ms for a next record, planned again).
        pg = self.engine.dialect.name == "postgresql"
        self._commit_snapshots = pg
        self._read_engine = make_engine(self.url, read_only=True) if pg else self.engine
        self.reads = sessionmaker(self._read_engine, expire_on_commit=False)
        self.snapshots = sessionmaker(
            self.engine.execution_options(postgresql_readonly=True, isolation_level="REPEATABLE READ")
            if pg else self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Threads of this process queue on a lock, then processes
        # (the web app's workers, a CLI import beside them) on an flock of a file beside the database,
        # re-tried every quarter millisecond. SQLite's own busy handler, still there for writers that
        # are not ours, sleeps 1, 2, 5 ... 100 ms between tries: a decision could wait a hundred times
        # longer than the write it waited for.
        sqlite = self.engine.dialect.name == "sqlite"
        self._one_writer = threading.Lock() if sqlite else None
        self._lock_path = f"{path}-writer" if (sqlite and fcntl is not None and path and path != ":memory:"
                                               and not path.startswith("file:")) else None
        self._lock_fd: int | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error."""
        if self._one_writer is None:
            with self.writes() as session, session.begin():
                yield session
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        if not self._one_writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise self._busy()
        try:
            locked = self._lock_processes(deadline)
            try:
                with self.writes() as session, session.begin():
                    yield session
            finally:
                if locked:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)  # type: ignore[arg-type]
        finally:
            self._one_writer.release()

    def _lock_processes(self, deadline: float) -> bool:
        """Take the inter-process writer lock (False where there is no file to lock, or it cannot be
        created: SQLite's own lock still keeps writers apart)."""
        if self._lock_path is None:
            return False
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self._lock_path = None
                return False
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise self._busy() from None
                time.sleep(LOCK_POLL_S)

    def _busy(self) -> DatabaseError:
        return DatabaseError(self.url, "the database is busy: another writer has held it for "
                             f"{BUSY_TIMEOUT_MS / 1000:.0f} s. Nothing was stored; try again.", reason="busy")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session that reads and writes nothing. On SQLite its statements share one snapshot; on
        PostgreSQL each sees what was committed when it ran (as in a READ COMMITTED transaction)."""
        with self.reads() as session:  # closing ends it and detaches what was read, still readable:
            session.begin()  # views render it after the session
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session in one read transaction whose statements all see the database as it was when the
        first ran, on every backend: a report's figures agree with each other while a team screens, and
        an export streams its rows from it (PostgreSQL's server-side cursors need a transaction)."""
        with self.snapshots() as session:
            session.begin()
            yield session
            if self._commit_snapshots:
                session.commit()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
