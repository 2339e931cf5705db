"""Retraining off the request path: a process per app, one retrain per set at a time.

The web app and ``screening screen`` poke the retrainer after each single-phase decision. A
thread here schedules; the retrain itself runs in a child process at a lower CPU priority, so it
neither holds this process's interpreter lock nor takes a core from requests (in a web worker, a
retrain of 50,000 records on a thread took the lock for seconds: next-record p95 80 ms, decisions
141 ms, throughput down by half, while it ran). The child reads the set's inputs in a read
transaction, trains with no transaction open (so no lock is held while it computes), and stores
the new ranking in short write transactions: the scores, then the head of every screener's queue,
then the rest of the queues, paced, a few hundred records at a time. A screener is served the last
ranking until the head of their queue is stored, and the new ranking's best records from then on;
a decision waits for one step at most (50,000 records in one transaction held every decision for
0.6 s on SQLite, 2.5 s on PostgreSQL; a screener's whole queue in one statement, 50-90 ms on
PostgreSQL).

A poke while that set's retrain runs is remembered and answered by one more pass, never by two
retrains at once; and a set is retrained at most once every ``MIN_SECONDS`` (20 screeners
deciding at once would otherwise keep a retrain of a large set running without pause, its writes
queueing their decisions).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from screening.errors import Conflict
from screening.prioritise.service import (
    compute_ranking,
    queue_owners,
    queue_priorities,
    ranking_inputs,
    retrain_is_due,
    store_scores,
    write_priorities,
)
from screening.review.sets import get_set
from screening.storage.db import Database

try:
    import fcntl
except ImportError:  # Windows: no lock between processes; the set's row lock still orders the stores
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
MIN_SECONDS = 30.0  # between two retrains of one set; the queue serves the last ranking meanwhile
NICENESS = 10  # the retraining process's CPU priority below the server's (Unix; ignored elsewhere)
# How long closing waits for a retrain under way to be stored before its process is stopped (its
# transaction then rolls back and the last ranking stays): `serve` gives a worker 30 s to stop.
CLOSE_WAIT_S = 15.0
STEP = 200  # records of a queue rewritten per transaction (PostgreSQL: ~4 ms of row locks)
PACE = 2.0  # after each step past the first of a queue, a pause of this many times the step's time
_databases: dict[str, Database] = {}  # in the retraining process: one engine per database


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        os.nice(NICENESS)


class _Spawned(SpawnContext):
    """Spawned, not forked (a web worker runs threads, which a fork copies in whatever state they
    are), and remembered, so that closing can stop a process that does not finish."""

    def __init__(self) -> None:
        super().__init__()
        self.started: weakref.WeakSet[SpawnProcess] = weakref.WeakSet()

    def Process(self, *args: Any, **kwargs: Any) -> SpawnProcess:  # type: ignore[override]
        process = SpawnProcess(*args, **kwargs)
        self.started.add(process)
        return process


def _process(context: _Spawned) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_lower_priority)


@contextmanager
def _only_retrain(url: str, set_name: str) -> Iterator[bool]:
    """Whether no other process retrains this set now (an flock in the temporary folder): each web
    worker has its own retrainer, and two of them ranking a set at once do the work twice (a
    retrain of 50,000 records took a core for seconds)."""
    if fcntl is None:
        yield True
        return
    key = hashlib.sha256(f"{url}\n{set_name}".encode()).hexdigest()[:16]
    try:
        fd = os.open(os.path.join(tempfile.gettempdir(), f"screening-retrain-{key}.lock"), os.O_RDWR | os.O_CREAT,
                     0o600)
    except OSError:  # not ours to open: retrain anyway, the set's row lock still orders the stores
        yield True
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)  # releases the lock


def retrain(url: str, set_name: str) -> None:
    """Retrain ``set_name`` if it is due and no other process is retraining it, and store the ranking
    (run in the retraining process)."""
    db = _databases.get(url) or _databases.setdefault(url, Database(url))
    with _only_retrain(url, set_name) as mine:
        if mine:
            _retrain(db, set_name)


def reorder_queues(db: Database, set_id: int, run_id: int, scores: Mapping[int, float], users: list[int]) -> None:
    """The screeners' queues in the new ranking, top first, ``STEP`` records a transaction.

    Each step holds its rows for milliseconds (a queue of 2,300 in one statement held them for
    50-90 ms on PostgreSQL, and a decision on one of them, with the writes grouped with it, waited).
    The first step of every queue goes at once: from then on each screener is served the new
    ranking's best records (see :func:`queue_priorities`). The rest follows paced, a pause of twice
    the step's own time after each, so the rewrite takes at most a third of the database's time
    beside the screeners' requests (as PostgreSQL's autovacuum paces itself): on PostgreSQL the
    whole of a 50,000-record set is some 2 s of the server's CPU, and unpaced it raised the
    decisions' p95 by 10-20 ms while it ran."""
    with db.read() as s:
        queues = [queue_priorities(s, set_id, run_id, scores, user_id) for user_id in users]
    for rows in queues:
        with db.transaction() as s:
            write_priorities(s, rows[:STEP])
    for i in range(STEP, max(map(len, queues), default=0), STEP):
        for rows in queues:
            if i < len(rows):
                started = time.monotonic()
                with db.transaction() as s:
                    write_priorities(s, rows[i:i + STEP])
                time.sleep(PACE * (time.monotonic() - started))


def _retrain(db: Database, set_name: str) -> None:
    try:
        with db.read() as s:
            if not retrain_is_due(s, get_set(s, set_name)):
                return
            inputs = ranking_inputs(s, set_name)
        ranking = compute_ranking(inputs)
        with db.transaction() as s:
            run_id = store_scores(s, inputs, ranking).run_id
            owners = queue_owners(s, inputs.set_id)
        reorder_queues(db, inputs.set_id, run_id, dict(ranking.scored), owners)
    except Conflict:
        return  # too few decisions yet: the queue keeps its order
    except Exception:  # a background job has no caller to tell: log it, the next poke tries again
        log.exception("retraining set %s failed", set_name)


class Retrainer:
    """Retrains sets in the background, each at most once at a time."""

    def __init__(self, db: Database, *, min_seconds: float = MIN_SECONDS) -> None:
        self.db = db
        self.min_seconds = min_seconds
        self.last: dict[str, float] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrain")
        self.context = _Spawned()
        self.processes = _process(self.context)  # started at the first retrain
        self.jobs: weakref.WeakSet[Future[None]] = weakref.WeakSet()
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.again: set[str] = set()
        self.closing = threading.Event()

    def poke(self, set_name: str) -> Future[None] | None:
        """Retrain ``set_name`` if it is due; returns the job, or None when one is already running."""
        with self.lock:
            if self.closing.is_set():
                return None
            if set_name in self.running:
                self.again.add(set_name)
                return None
            self.running.add(set_name)
            job = self.pool.submit(self._run, set_name)
            self.jobs.add(job)
        return job

    def _run(self, set_name: str) -> None:
        try:
            while not self.closing.is_set():
                wait = self.last.get(set_name, -math.inf) + self.min_seconds - time.monotonic()
                if wait > 0 and self.closing.wait(wait):
                    return  # closed while waiting: the last ranking stays
                self._once(set_name)
                self.last[set_name] = time.monotonic()
                with self.lock:
                    if set_name not in self.again:
                        return
                    self.again.discard(set_name)
        finally:
            with self.lock:
                self.running.discard(set_name)

    def _once(self, set_name: str) -> None:
        try:
            self.processes.submit(retrain, self.db.url, set_name).result()
        except Exception:  # the process died (killed, out of memory): a new one serves the next poke
            if self.closing.is_set():
                return  # stopped by close()
            log.exception("retraining set %s failed", set_name)
            self.processes = _process(self.context)

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Stop: a retrain under way has ``wait`` seconds to finish and be stored, then its process is
        stopped (its transaction rolls back: the last ranking stays); one waiting its turn is dropped."""
        with self.lock:
            self.closing.set()
            jobs = list(self.jobs)
        self.pool.shutdown(wait=False, cancel_futures=True)  # a job not started is cancelled, never done
        if wait_for([j for j in jobs if not j.cancelled()], timeout=wait).not_done:
            log.warning("a retrain did not finish within %.0f s of stopping: its process is stopped", wait)
            for process in list(self.context.started):
                if process.is_alive():
                    process.kill()
        self.pool.shutdown(wait=True)
        self.processes.shutdown(wait=True, cancel_futures=True)
