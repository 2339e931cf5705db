"""Where a request's database work runs: reads on a few threads, writes on their own.

A write waits for the database's one writer (SQLite; on PostgreSQL for row locks) while reads go
on: a decision queued behind a long import must not hold a thread that a screener's next record
needs. On SQLite writes queue first come, first served on one thread (anyio's limiter is fair),
so the writer lock of :class:`screening.storage.db.Database` is rarely contended inside a worker.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request

T = TypeVar("T")

# Threads for reads in one worker process (anyio's default is 40). A request holds the GIL for
# most of its few milliseconds, so more threads only interleave requests: each finishes later.
READ_THREADS = 4
# How long a thread may keep the GIL while others wait for it (Python's default is 5 ms). A writer
# that returns from SQLite holding the database's writer lock waits for the GIL up to this long, once
# per statement, and every other writer waits with it: with 0.5 ms, 20 screeners on 2 workers were
# served 12% more requests per second (bench-web, SQLite, 2 runs each: 299-311/s against 270-274/s).
SWITCH_INTERVAL_S = 0.0005


def set_up(app: Starlette) -> None:
    """The queue of the app's writes: one thread on SQLite, which has one writer anyway; on
    PostgreSQL, whose writers only wait for the rows they share, as many as for reads (one
    writer would serialise every decision behind the previous one's commit)."""
    sqlite = app.state.db.engine.dialect.name == "sqlite"
    app.state.writer = anyio.CapacityLimiter(1 if sqlite else READ_THREADS)


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    """The worker's threads, set when it starts serving."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = READ_THREADS
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    yield


async def write(request: Request, func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)``, which opens a write transaction, on the worker's writer thread."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=request.app.state.writer)
