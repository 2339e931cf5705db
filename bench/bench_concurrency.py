"""Concurrency benchmark: N screeners deciding at once, with an import running beside them.

On SQLite and on PostgreSQL (see bench/pg.py), N processes each decide their 200 assigned
records as fast as they can, one transaction per decision, while another process imports a
generated 30,000-record RIS file into the same database. Prints decisions/s, latency
percentiles and failures (target 0: a decision waits for the import, it is never lost), and
checks that every decision is stored exactly once.
Usage: python bench/bench_concurrency.py [N_WRITERS]
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import SCREENING, make_ris
from pg import create_database, postgres_server

from screening.records.searches import add_search
from screening.review.decisions import record_decision
from screening.review.sampling import draw_sample
from screening.review.sets import create_set
from screening.storage.db import Database
from screening.storage.migrate import upgrade
from screening.storage.models import Assignment, Decision, Record, User
from screening.team.users import add_user

PER_WRITER = 200
IMPORT_RECORDS = 30_000


def setup(url: str, writers: int) -> None:
    upgrade(url)
    db = Database(url)
    names = [f"s{i}" for i in range(writers)]
    with db.transaction() as s:
        add_user(s, "pat", "pi")
        for n in names:
            add_user(s, n, "screener")
        sid = add_search(s, "m", "MEDLINE").id
        add_search(s, "big", "EMBASE")
        n_records = PER_WRITER * writers // 2
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [], "title": f"Record {i}"}
                                   for i in range(n_records)])
        create_set(s, "access", all_records=True, actor="pat")
        pairs = [(names[i], names[i + 1]) for i in range(0, writers - 1, 2)]
        draw_sample(s, "access", pairs=pairs, seed=1, batch_size=25, size=n_records, actor="pat")
    db.dispose()


def writer(url: str, user: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = Database(url)
    with db.read() as s:
        uid = s.scalar(select(User.id).where(User.name == user))
        mine = list(s.scalars(select(Assignment.record_id).where(Assignment.user_id == uid)))
    latencies, failures = [], []
    for rid in mine:
        t0 = time.perf_counter()
        try:
            with db.transaction() as s:
                record_decision(s, user, rid, "include" if rid % 3 else "exclude")
        except Exception as exc:  # counted and reported: the target is none
            failures.append(repr(exc)[:200])
        latencies.append(time.perf_counter() - t0)
    out.put((latencies, failures))
    db.dispose()


def run(backend: str, url: str, writers: int, ris: Path) -> bool:
    setup(url, writers)
    env = dict(os.environ, SCREENING_DB=url)
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=writer, args=(url, f"s{i}", out)) for i in range(writers)]
    t0 = time.perf_counter()
    imp = subprocess.Popen([SCREENING, "import", str(ris), "--search", "big"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    _, err = imp.communicate(timeout=600)
    import_s = time.perf_counter() - t0
    lat = sorted(x for r in results for x in r[0])
    failures = [f for r in results for f in r[1]]
    db = Database(url)
    with db.read() as s:
        stored = s.scalar(select(func.count()).select_from(Decision)) or 0
        distinct = s.scalar(select(func.count()).select_from(
            select(Decision.record_id, Decision.user_id).distinct().subquery())) or 0
        imported = s.scalar(select(func.count()).select_from(Record).where(Record.search_id == 2)) or 0
    db.dispose()
    q = statistics.quantiles(lat, n=100)
    ok = not failures and stored == distinct == len(lat) and imp.returncode == 0 and imported == IMPORT_RECORDS
    print(f"{backend:10} {writers:>3} writers {len(lat):>6} decisions {len(lat) / elapsed:8.0f}/s  "
          f"p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:7.1f} ms  p99 {q[98] * 1000:7.1f} ms  "
          f"failures {len(failures)}  stored {stored} (once each: {stored == distinct})  "
          f"import beside them: {imported} records, {'ok' if imp.returncode == 0 else 'FAILED'} "
          f"({import_s:.1f} s)  {'ok' if ok else 'FALLS SHORT'}", flush=True)
    for f in failures[:3]:
        print(f"  failure: {f}")
    if imp.returncode != 0:
        print(f"  import: {err.strip()[-300:]}")
    return ok


def main() -> None:
    writers = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    oks = []
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as d:
        ris = Path(d) / "big.ris"
        make_ris(ris, IMPORT_RECORDS, seed=2)
        oks.append(run("sqlite", f"sqlite:///{d}/bench.db", writers, ris))
        with postgres_server() as base:
            if base is not None:
                oks.append(run("postgresql", create_database(base, "bench_concurrency"), writers, ris))
    print(f"concurrency: {'0 failures, every decision stored once' if all(oks) else 'FALLS SHORT'} "
          f"({writers} writers on {len(oks)} backend(s), an import of {IMPORT_RECORDS} records beside them)")


if __name__ == "__main__":
    main()
