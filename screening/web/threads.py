"""Where a request's database work runs: reads on a few threads, writes on their own.

A write waits for the database's one writer (SQLite; on PostgreSQL for row locks) while reads go
on: a decision queued behind a long import must not hold a thread that a screener's next record
needs. On SQLite writes queue first come, first served on one thread (anyio's limiter is fair),
so the writer lock of :class:`screening.storage.db.Database` is rarely contended inside a worker.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request

from screening.storage.db import Database
from screening.team.auth import authenticate_all
from screening.web.security import request_token

T = TypeVar("T")

# Threads for reads in one worker process (anyio's default is 40). A request holds the GIL for
# most of its few milliseconds, so more threads only interleave requests: each finishes later.
READ_THREADS = 4
# How long a thread may keep the GIL while others wait for it (Python's default is 5 ms). A writer
# that returns from SQLite holding the database's writer lock waits for the GIL up to this long, once
# per statement, and every other writer waits with it: with 0.5 ms, 20 screeners on 2 workers were
# served 12% more requests per second (bench-web, SQLite, 2 runs each: 299-311/s against 270-274/s).
SWITCH_INTERVAL_S = 0.0005


# Decisions written together in one transaction at most (a savepoint each)
GROUP_MAX = 64
# How long a screener's read waits for a group of decisions that holds SQLite's writer lock: the
# group's thread then has the GIL to itself (its statements are not slowed by this worker's reads)
# while the other worker, waiting for the lock, serves reads. Never longer: a read never waits for
# a long write.
READ_YIELD_S = 0.02


def set_up(app: Starlette, db: Database) -> None:
    """The queue of the app's writes: one thread on SQLite, which has one writer anyway; on
    PostgreSQL, whose writers only wait for the rows they share, as many as for reads (one
    writer would serialise every decision behind the previous one's commit)."""
    sqlite = db.engine.dialect.name == "sqlite"
    app.state.writer = anyio.CapacityLimiter(1 if sqlite else READ_THREADS)
    app.state.group = Group(db, app.state.writer)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The worker's threads, set when it starts serving; its retrainer, closed when it stops."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = READ_THREADS
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    yield
    await anyio.to_thread.run_sync(app.state.retrainer.close)  # a retrain under way is stored first


async def write(request: Request, func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)``, which opens a write transaction, on the worker's writer thread."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=request.app.state.writer)


class Group:
    """Decisions that arrive while others are being written are written together in one
    transaction (group commit).

    Every decision of every worker passes through the database's one writer on SQLite, and what
    a transaction costs besides its statements (taking the writer lock from another process,
    BEGIN, COMMIT and its WAL pages, which consecutive decisions share) is paid once per group.
    Each decision stays all or nothing: one that fails is answered with its error and the others
    are stored; none is answered before the group is committed, and if the commit fails every one
    of them is answered with that error.

    A group is first written without savepoints: on PostgreSQL each SAVEPOINT and RELEASE is a round
    trip, and a round trip of a busy worker waits for the server and then for the GIL (a group of one
    decision took 16 ms, of nine round trips). Decisions rarely fail, so when one does the transaction
    is rolled back and the rest of the group is written again, each in its own savepoint (plain SQL
    on the session's connection: SQLAlchemy's nested transactions compile each savepoint's name anew
    and cost a fifth of a decision); after a failure the session forgets what it had loaded, so the
    next decision reads nothing the rolled-back one left behind. A group is written at most twice.
    """

    def __init__(self, db: Database, limiter: anyio.CapacityLimiter) -> None:
        self.db = db
        self.limiter = limiter
        self.open = threading.Event()  # cleared while a group holds the database's writer
        self.open.set()
        self.pending: list[tuple[Callable[[Session], Any], str | None, asyncio.Future[Any]]] = []
        self.draining: asyncio.Task[None] | None = None

    async def submit(self, work: Callable[[Session], T], token: str | None = None) -> T:
        """Run ``work(session)`` in the next group; its result (or its error) once committed. The
        ``token`` of the request is looked up with the group's others, in one statement."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.pending.append((work, token, future))
        if self.draining is None:
            self.draining = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                group, self.pending = self.pending[:GROUP_MAX], self.pending[GROUP_MAX:]
                try:
                    outcomes = await anyio.to_thread.run_sync(self._write, [w for w, _, _ in group],
                                                              [t for _, t, _ in group], limiter=self.limiter)
                except BaseException as exc:  # cancelled (the server stops): nobody waits for ever
                    for _, _, future in group:
                        _settle(future, (False, exc))
                    raise
                for (_, _, future), outcome in zip(group, outcomes, strict=True):
                    _settle(future, outcome)
        finally:
            self.draining = None

    def _write(self, works: list[Callable[[Session], Any]], tokens: list[str | None]) -> list[tuple[bool, Any]]:
        try:
            return self._together(works, tokens)
        except _Failed as failed:  # nothing of the group was stored: again, without the failed one
            rest = self._write_each(works[:failed.index] + works[failed.index + 1:])
            return [*rest[:failed.index], (False, failed.error), *rest[failed.index:]]

    def _together(self, works: list[Callable[[Session], Any]], tokens: list[str | None]) -> list[tuple[bool, Any]]:
        """The group in one transaction, no savepoints, its requests' tokens looked up at once;
        :class:`_Failed` (all rolled back) if a decision fails."""
        results: list[Any] = []
        try:
            with self.db.transaction() as session:
                self.open.clear()
                if len(tokens) > 1:
                    authenticate_all(session, tokens)
                for index, work in enumerate(works):
                    try:
                        results.append(work(session))
                        session.flush()
                    except Exception as exc:
                        raise _Failed(index, exc) from exc
        except _Failed:
            raise
        except Exception as exc:  # the group was not committed: nothing of it was stored
            return [(False, exc)] * len(works)
        finally:
            self.open.set()
        return [(True, result) for result in results]

    def _write_each(self, works: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
        """The group in one transaction, each decision in its own savepoint."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.transaction() as session:
                self.open.clear()
                conn = session.connection()
                for work in works:
                    conn.exec_driver_sql("SAVEPOINT decision")
                    try:
                        result = work(session)
                        session.flush()
                    except Exception as exc:  # this request's error, answered to it alone
                        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT decision")
                        session.expunge_all()  # nothing it read or made stays for the next one
                        session.info.clear()
                        outcomes.append((False, exc))
                    else:
                        outcomes.append((True, result))
                    conn.exec_driver_sql("RELEASE SAVEPOINT decision")
        except Exception as exc:  # the group was not committed: nothing of it was stored
            return [(False, exc)] * len(works)
        finally:
            self.open.set()
        return outcomes


class _Failed(Exception):
    """A decision of a group written without savepoints failed: the group's transaction is rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    """Answer a request's future on its own event loop (unless it was cancelled meanwhile)."""
    ok, value = outcome

    def settle() -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    loop = future.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        settle()
    else:
        loop.call_soon_threadsafe(settle)


def yield_to_writes(request: Request) -> None:
    """Let a group of decisions that holds the database's writer finish before this read starts
    (up to ``READ_YIELD_S``)."""
    group: Group = request.app.state.group
    group.open.wait(READ_YIELD_S)


async def grouped(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work(session)``, a decision, in the worker's next group of writes (:class:`Group`)."""
    group: Group = request.app.state.group
    return await group.submit(work, request_token(request))
