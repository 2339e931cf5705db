"""SQLite under contention: parallel writers wait their turn, readers never wait, nothing is lost."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from conftest import Cli
from screening.records.searches import add_search
from screening.review.decisions import record_decision
from screening.review.sampling import draw_sample
from screening.review.sets import create_set
from screening.storage.db import Database
from screening.storage.models import Assignment, Decision, Record, User
from screening.team.users import add_user

SCREENERS = [f"s{i}" for i in range(8)]


def eight_screeners(db: Database, n: int = 200) -> None:
    """Four pairs of screeners, each pair with batches of a 200-record test sample."""
    with db.transaction() as s:
        add_user(s, "pat", "pi")
        for name in SCREENERS:
            add_user(s, name, "screener")
        sid = add_search(s, "m", "MEDLINE").id
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [], "title": f"Record {i}"}
                                   for i in range(n)])
        create_set(s, "access", all_records=True, actor="pat")
        pairs = [(SCREENERS[i], SCREENERS[i + 1]) for i in range(0, 8, 2)]
        draw_sample(s, "access", pairs=pairs, seed=3, batch_size=25, size=n, actor="pat")


def decide_everything(url: str, user: str, failures: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = Database(url)
    with db.read() as s:
        uid = s.scalar(select(User.id).where(User.name == user))
        mine = list(s.scalars(select(Assignment.record_id).where(Assignment.user_id == uid)))
    failed = 0
    for rid in mine:  # one transaction per decision, as a screener's clicks arrive
        t0 = time.perf_counter()
        try:
            with db.transaction() as s:
                record_decision(s, user, rid, "include" if rid % 3 else "exclude")
        except Exception as exc:  # counted, not raised: the point is how many fail
            print(f"FAILED after {time.perf_counter() - t0:.3f}s: {exc!r}")
            failed += 1
    failures.put(failed)
    db.dispose()


def test_eight_processes_deciding_at_once_lose_nothing(db: Database, db_url: str) -> None:
    eight_screeners(db)
    ctx = multiprocessing.get_context("spawn")  # separate processes, as screeners on one machine
    failures: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=decide_everything, args=(db_url, u, failures)) for u in SCREENERS]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [failures.get(timeout=5) for _ in procs] == [0] * 8
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 400  # 200 records x 2 screeners, once each
        assert s.scalar(select(func.count(func.distinct(Decision.record_id * 100 + Decision.user_id)))) == 400


def hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    """A long import, as SQLite sees it: a write transaction open for ``seconds``."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO search (name, database, export_files, created_at) VALUES ('big', 'x', '[]', '2026')")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_reads_go_on_and_a_write_waits_during_a_long_write(db: Database, db_url: str) -> None:
    eight_screeners(db, n=100)
    path = Path(db_url.removeprefix("sqlite:///"))
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 2.0, started))
    holder.start()
    started.wait(5)
    run = Cli(db_url)
    t0 = time.perf_counter()
    assert run("status", "access", "--json").exit_code == 0  # readers do not wait for the writer
    assert run("queue", "--as", "s0", "--set", "access", "--json").exit_code == 0
    assert time.perf_counter() - t0 < 1.5
    rid = int(__import__("json").loads(run("queue", "--as", "s0", "--set", "access", "--json").stdout)[0]["record_id"])
    run("decide", "--as", "s0", rid, "include")  # waits for the lock, then is stored
    holder.join()
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1


def test_a_write_blocked_too_long_is_refused_with_a_clear_message(db: Database, db_url: str, monkeypatch) -> None:
    eight_screeners(db, n=100)
    import screening.storage.db as storage

    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 300)
    path = Path(db_url.removeprefix("sqlite:///"))
    started = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 2.0, started))
    holder.start()
    started.wait(5)
    run = Cli(db_url)
    with db.read() as s:
        uid = s.scalar(select(User.id).where(User.name == "s0"))
        rid = s.scalar(select(Assignment.record_id).where(Assignment.user_id == uid).limit(1))
    r = run("decide", "--as", "s0", rid, "include", ok=False)
    holder.join()
    assert r.exit_code == 1 and "busy" in r.output and "try again" in r.output and "Traceback" not in r.output
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 0


def test_processes_queue_on_the_writer_lock_and_the_next_follows_at_once(db: Database, db_url: str,
                                                                          monkeypatch) -> None:
    """Writers of other processes (the web app's workers, a CLI beside them) hold an flock of
    ``<database>-writer`` while they write: a writer here waits for it, goes on as soon as it is
    released (not after SQLite's busy back-off of up to 100 ms a try), and gives up with a clear
    message when it is held too long. The lock is held here by a second open file description,
    which flock treats as another process."""
    import fcntl
    import os

    import screening.storage.db as storage
    from screening.errors import DatabaseError

    eight_screeners(db, n=100)
    path = db_url.removeprefix("sqlite:///") + "-writer"
    with db.transaction() as s:  # the file exists once a write happened
        add_user(s, "ann", "admin")
    other = os.open(path, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    done = threading.Event()

    def write() -> None:
        with db.transaction() as s:
            add_user(s, "bea", "screener", actor="ann")
        done.set()

    t = threading.Thread(target=write)
    t.start()
    assert not done.wait(0.5)  # it waits for the other process
    released = time.perf_counter()
    fcntl.flock(other, fcntl.LOCK_UN)
    assert done.wait(5)
    assert time.perf_counter() - released < 0.25
    t.join()
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 300)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        with pytest.raises(DatabaseError, match="busy"), db.transaction() as s:
            add_user(s, "cid", "screener", actor="ann")
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.name.in_(["bea", "cid"]))) == 1
