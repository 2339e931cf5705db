"""Retraining off the request path: a worker thread per app, one retrain per set at a time.

The web app and ``screening screen`` poke the retrainer after each single-phase decision. The worker reads the set's
inputs in a read transaction, trains with no transaction open (so no lock is held while it
computes), and stores the new ranking in one short write transaction; until then every
screener is served the last ranking. A poke while that set's retrain runs is remembered and
answered by one more pass, never by two retrains at once; and a set is retrained at most once
every ``MIN_SECONDS`` (20 screeners deciding at once would otherwise keep a retrain of a large
set running without pause, its writes queueing their decisions).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from screening.errors import Conflict
from screening.prioritise.service import compute_ranking, ranking_inputs, retrain_is_due, store_ranking
from screening.review.sets import get_set
from screening.storage.db import Database

log = logging.getLogger(__name__)
MIN_SECONDS = 30.0  # between two retrains of one set; the queue serves the last ranking meanwhile


class Retrainer:
    """Retrains sets in the background, each at most once at a time."""

    def __init__(self, db: Database, *, min_seconds: float = MIN_SECONDS) -> None:
        self.db = db
        self.min_seconds = min_seconds
        self.last: dict[str, float] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrain")
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.again: set[str] = set()
        self.closing = threading.Event()

    def poke(self, set_name: str) -> Future[None] | None:
        """Retrain ``set_name`` if it is due; returns the job, or None when one is already running."""
        with self.lock:
            if set_name in self.running:
                self.again.add(set_name)
                return None
            self.running.add(set_name)
        return self.pool.submit(self._run, set_name)

    def _run(self, set_name: str) -> None:
        try:
            while True:
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
            with self.db.read() as s:
                if not retrain_is_due(s, get_set(s, set_name)):
                    return
                inputs = ranking_inputs(s, set_name)
            ranking = compute_ranking(inputs)
            with self.db.transaction() as s:
                store_ranking(s, inputs, ranking)
        except Conflict:
            return  # too few decisions yet: the queue keeps its order
        except Exception:  # a background job has no caller to tell: log it, the next poke tries again
            log.exception("retraining set %s failed", set_name)

    def close(self) -> None:
        """Stop: a retrain under way finishes and is stored, one waiting its turn is dropped."""
        self.closing.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
