"""Web benchmark: N screeners working through `screening serve` over HTTP at once, on SQLite and PostgreSQL.

A set of 50,000 records is built through the library (not the CLI import): users with passwords, the
records inserted in bulk, and
  * "test": a test-phase sample of 2,500 records per pair in batches of 100, pairs s0+s1, s2+s3, ...,
    so that each screener holds ~2,500 test records;
  * "single": a second 50,000-record set where a tiny sample (one one-record batch per pair) is
    decided, the PI forces the move to single screening (the other 49,990 records go to the
    screeners, ~2,500 each) and the set is ranked once, so priorities exist.
For each set, with the workers `screening serve` starts by default (one per core: 2 here) and with one
worker for comparison, `screening --db URL serve --workers W` runs as a
subprocess; every screener logs in through `POST /api/login`, then a separate client process
(asyncio, one keep-alive connection per screener, a minimal HTTP/1.1 client so that the client is
not what is measured) has every screener fetch its next record (`GET /api/queue?set=NAME`) and post
a decision (`POST /api/decisions`) as fast as it can: a short warm-up, then a fixed duration.
Prints per request kind requests/s and p50/p95/p99 latency (target p95 < 50 ms), then the checks:
every decision answered 201 is stored exactly once (Decision rows per record and user), nothing
stored without a 201, no record served again to a screener who had decided it; and the CPU used by
the client, the server's processes and PostgreSQL's over the run. Before each PostgreSQL run the
database is vacuumed and analysed (as pgbench does by default, and as autovacuum keeps a team server):
otherwise autovacuum reaches the 50,000 records and 75,000 assignments just written in the middle of a
run and the figures measure it.
Usage: python bench/bench_web.py [N_SCREENERS]   (make bench-web SCREENERS=N)
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import SCREENING, WORDS
from pg import _free_port, create_database, postgres_server

from screening.cli.web import default_workers
from screening.prioritise.service import rank_set
from screening.records.searches import add_search
from screening.review.decisions import record_decision
from screening.review.phase import move_to_single
from screening.review.sampling import draw_sample
from screening.review.sets import create_set, get_set
from screening.storage.db import Database
from screening.storage.migrate import upgrade
from screening.storage.models import Assignment, Decision, ModelRun, Record, User
from screening.team.auth import set_password
from screening.team.users import add_user

N_RECORDS = 50_000
PER_SCREENER_TEST = 2_500  # test records each screener holds (a pair shares its batches)
BATCH_SIZE = 100
WARMUP_S = 3.0
DURATION_S = 20.0
DEFAULT_WORKERS = default_workers()  # what `screening serve` starts here: one per core
WORKERS = tuple(sorted({1, DEFAULT_WORKERS}))  # one worker, for comparison, and the default
TARGET_P95_MS = 50.0
PASSWORD = "bench-web-password"
KINDS = ("next-record", "decision")


# ---------------------------------------------------------------- setup, through the library

def _texts(n: int, seed: int) -> list[tuple[str, str]]:
    """Titles and abstracts of the generated records: a pool of 2,000 mixed with the record's number."""
    rng = random.Random(seed)
    pool = [(" ".join(rng.choices(WORDS, k=12)).capitalize(), " ".join(rng.choices(WORDS, k=160)))
            for _ in range(2000)]
    out = []
    for i in range(n):
        t, a = pool[rng.randrange(2000)]
        out.append((f"{t} {i}", f"{a} {rng.choice(WORDS)} {i}"))
    return out


def _records(search_id: int, n: int, seed: int) -> list[dict[str, Any]]:
    return [{"search_id": search_id, "format": "ris", "raw": [], "title": t, "abstract": a,
             "authors": [f"Author{i % 977}, A."], "year": 2000 + i % 20, "journal": f"Journal {i % 53}",
             "keywords": [WORDS[i % len(WORDS)]], "position": i + 1}
            for i, (t, a) in enumerate(_texts(n, seed))]


def pairs_of(names: list[str]) -> list[tuple[str, str]]:
    pairs = [(names[i], names[i + 1]) for i in range(0, len(names) - 1, 2)]
    if len(names) % 2:  # an odd screener out pairs with the first
        pairs.append((names[-1], names[0]))
    return pairs


def setup(url: str, screeners: int) -> None:
    """Users, two searches of N_RECORDS records each, the test-phase set and the single-phase set."""
    t0 = time.perf_counter()
    upgrade(url)
    db = Database(url)
    names = [f"s{i}" for i in range(screeners)]
    pairs = pairs_of(names)
    with db.transaction() as s:
        add_user(s, "pat", "pi")
        for n in names:
            add_user(s, n, "screener")
            set_password(s, n, PASSWORD)
        for k, name in enumerate(("test", "single")):
            sid = add_search(s, name, "MEDLINE").id
            rows = _records(sid, N_RECORDS, seed=k + 1)
            for i in range(0, len(rows), 5000):
                s.execute(insert(Record), rows[i:i + 5000])
    with db.transaction() as s:
        create_set(s, "test", searches=["test"], actor="pat")
        draw_sample(s, "test", pairs=pairs, seed=1, batch_size=BATCH_SIZE,
                    size=min(N_RECORDS, PER_SCREENER_TEST * len(pairs)), actor="pat")
    t1 = time.perf_counter()
    # single phase: one tiny batch per pair, decided (both screeners agree), then the PI forces the move
    with db.transaction() as s:
        create_set(s, "single", searches=["single"], actor="pat")
        sample = draw_sample(s, "single", pairs=pairs, seed=2, batch_size=1, size=max(len(pairs), 2), actor="pat")
        sid = get_set(s, "single").id
    with db.transaction() as s:
        tiny = list(s.execute(select(Assignment.record_id, User.name).join(User, User.id == Assignment.user_id)
                              .where(Assignment.set_id == sid).order_by(Assignment.record_id)))
        for k, (rid, user) in enumerate(tiny):
            record_decision(s, user, rid, "include" if (k // 2) % 2 == 0 else "exclude", set_name="single")
    with db.transaction() as s:
        moved = move_to_single(s, "single", "pat", force=True, reason="bench")
    t2 = time.perf_counter()
    with db.transaction() as s:
        ranked = rank_set(s, "single")
    t3 = time.perf_counter()
    db.dispose()
    per = sorted(moved.assigned.values())
    sampled = min(N_RECORDS, PER_SCREENER_TEST * len(pairs))
    print(f"  setup: {screeners} screeners in {len(pairs)} pairs; set test: {sampled} "
          f"of {N_RECORDS} records sampled in batches of {BATCH_SIZE} ({t1 - t0:.1f} s); set single: {sample.size} "
          f"records decided, forced move, {sum(per)} records assigned ({per[0]}-{per[-1]} per screener) "
          f"({t2 - t1:.1f} s), ranked {ranked.scored} records ({t3 - t2:.1f} s)", flush=True)


# ---------------------------------------------------------------- the server and CPU accounting

def _ticks(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, utime+stime in clock ticks, command name) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), comm


def cpu_snapshot(root: int) -> dict[str, Any]:
    """CPU ticks of the server's process tree, of every postgres process, and of the machine."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            t = _ticks(int(entry))
            if t is not None:
                procs[int(entry)] = t
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, _) in procs.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return {"server": {p: procs[p][1] for p in tree if p in procs},
            "postgres": {p: t for p, (_, t, comm) in procs.items() if comm.startswith("postgres")},
            "busy": sum(cpu) - cpu[3] - cpu[4], "all": sum(cpu), "t": time.perf_counter()}


def cpu_used(a: dict[str, Any], b: dict[str, Any], kind: str) -> float:
    """Seconds of CPU used between two snapshots by a group of processes (new ones count from zero)."""
    hz = os.sysconf("SC_CLK_TCK")
    return float(sum(t - a[kind].get(p, 0) for p, t in b[kind].items()) / hz)


def start_server(url: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    out = open(log, "wb")
    srv = subprocess.Popen([SCREENING, "--db", url, "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(workers)], stdout=out, stderr=out)
    t0 = time.time()
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/login")
            if c.getresponse().status == 200:
                c.close()
                break
        except OSError:
            pass
        if srv.poll() is not None or time.time() - t0 > 60:
            sys.exit(f"screening serve did not start (exit {srv.poll()}); see {log}")
        time.sleep(0.2)
    time.sleep(0.5 * workers)  # let every worker process come up
    return srv, port


def stop_server(srv: subprocess.Popen[bytes]) -> None:
    srv.send_signal(signal.SIGINT)
    try:
        srv.wait(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()


def login(port: int, names: list[str]) -> dict[str, str]:
    tokens = {}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for n in names:
        c.request("POST", "/api/login", json.dumps({"username": n, "password": PASSWORD}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit(f"login as {n}: {r.status} {body[:200]!r}")
        tokens[n] = json.loads(body)["token"]
    c.close()
    return tokens


# ---------------------------------------------------------------- the client (its own process)

class Conn:
    """One keep-alive HTTP/1.1 connection; a request is written whole and the answer read by Content-Length."""

    def __init__(self, port: int, counter: list[int]) -> None:
        self.port = port
        self.counter = counter
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer.close()
                self.writer = None
                if attempt == 2:
                    raise
                continue  # the server closed an idle keep-alive connection before reading: resend once
            self.counter[0] += 1
            status = int(head[9:12])
            low = head.lower()
            i = low.index(b"content-length:") + 15
            n = int(low[i:low.index(b"\r\n", i)])
            return status, await self.reader.readexactly(n)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def screener(port: int, user: str, token: str, set_name: str, t_measure: float, t_stop: float,
                   lat: dict[str, list[float]], log: list[tuple[Any, ...]], errors: list[str], counter: list[int]
                   ) -> None:
    conn = Conn(port, counter)
    auth = f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    get = f"GET /api/queue?set={set_name} HTTP/1.1\r\n{auth}\r\n".encode()
    try:
        while time.perf_counter() < t_stop:  # a fetched record is always decided, even after the stop
            t0 = time.perf_counter()
            status, body = await conn.request(get)
            t1 = time.perf_counter()
            if t0 >= t_measure:
                lat["next-record"].append(t1 - t0)
            if status != 200:
                errors.append(f"next-record {user}: {status} {body[:200]!r}")
                await asyncio.sleep(0.05)
                continue
            rec = json.loads(body)["record"]
            if rec is None:
                log.append(("empty",))
                return
            rid = rec["record_id"]
            log.append(("served", rid))
            payload = json.dumps({"record_id": rid, "decision": "include" if rid % 4 == 0 else "exclude",
                                  "set": set_name}).encode()
            post = (f"POST /api/decisions HTTP/1.1\r\n{auth}Content-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
            t2 = time.perf_counter()
            status, body = await conn.request(post)
            t3 = time.perf_counter()
            if t2 >= t_measure:
                lat["decision"].append(t3 - t2)
            if status == 201:
                log.append(("decided", rid, json.loads(body)["decision_id"]))
            else:
                log.append(("refused", rid, status))
                errors.append(f"decision {user} record {rid}: {status} {body[:200]!r}")
    except Exception as exc:  # a broken connection ends this screener; reported
        errors.append(f"{user}: {exc!r}"[:300])
    finally:
        conn.close()


async def clients(port: int, tokens: dict[str, str], set_name: str, warmup: float, duration: float
                  ) -> dict[str, Any]:
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    logs: dict[str, list[tuple[Any, ...]]] = {u: [] for u in tokens}
    errors: list[str] = []
    t_measure = time.perf_counter() + warmup
    t_stop = t_measure + duration
    counter = [0]
    await asyncio.gather(*(screener(port, u, tok, set_name, t_measure, t_stop, lat, logs[u], errors, counter)
                           for u, tok in tokens.items()))
    return {"lat": lat, "logs": logs, "errors": errors, "end": time.perf_counter(), "t_measure": t_measure,
            "requests": counter[0]}


def client_process(port: int, tokens: dict[str, str], set_name: str, warmup: float, duration: float,
                   out: Any) -> None:
    c0, w0 = os.times(), time.perf_counter()
    res = asyncio.run(clients(port, tokens, set_name, warmup, duration))
    c1, w1 = os.times(), time.perf_counter()
    res["cpu"] = (c1.user - c0.user) + (c1.system - c0.system)
    res["wall"] = w1 - w0
    out.put(res)


# ---------------------------------------------------------------- one run and its checks

def pct(xs: list[float], q: int) -> float:
    if len(xs) < 2:
        return float("nan") if not xs else xs[0] * 1000
    return statistics.quantiles(xs, n=100)[q - 1] * 1000


class SetState:
    """What the runs on one set have done so far: each screener's decided records (served-twice check)."""

    def __init__(self) -> None:
        self.decided: dict[str, set[int]] = defaultdict(set)


def run(backend: str, url: str, set_name: str, workers: int, names: list[str], state: SetState,
        work: Path) -> bool:
    db = Database(url)
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    with db.read() as s:
        set_id = get_set(s, set_name).id
        before = s.scalar(select(func.max(Decision.id))) or 0
        runs_before = s.scalar(select(func.max(ModelRun.id))) or 0
    log = work / f"serve-{backend}-{set_name}-{workers}.log"
    srv, port = start_server(url, workers, log)
    try:
        tokens = login(port, names)
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        a = cpu_snapshot(srv.pid)
        proc = ctx.Process(target=client_process, args=(port, tokens, set_name, WARMUP_S, DURATION_S, out))
        proc.start()
        res = None
        while res is None:
            try:
                res = out.get(timeout=1)
            except queue.Empty:
                if not proc.is_alive():
                    sys.exit(f"the client process died (exit {proc.exitcode})")
        proc.join()
        b = cpu_snapshot(srv.pid)
    finally:
        stop_server(srv)
    # the checks, against the database
    with db.read() as s:
        stored = list(s.execute(select(Decision.id, Decision.record_id, User.name)
                                .join(User, User.id == Decision.user_id)
                                .where(Decision.set_id == set_id, Decision.id > before)))
        doubled = s.scalar(select(func.count()).select_from(
            select(Decision.record_id, Decision.user_id).where(Decision.set_id == set_id, Decision.kind == "screen")
            .group_by(Decision.record_id, Decision.user_id).having(func.count() > 1).subquery())) or 0
        retrains = list(s.scalars(select(ModelRun.seconds).where(ModelRun.set_id == set_id,
                                                                  ModelRun.id > runs_before)))
    db.dispose()
    by_id = {did: (rid, user) for did, rid, user in stored}
    posted = 0
    lost = 0
    served_again = 0  # a record served again to a screener who had decided it (201)
    reserved_after_refusal = 0
    empty = 0
    for user, events in res["logs"].items():
        refused: set[int] = set()
        for ev in events:
            if ev[0] == "served":
                if ev[1] in state.decided[user]:
                    served_again += 1
                if ev[1] in refused:
                    reserved_after_refusal += 1
            elif ev[0] == "decided":
                posted += 1
                if by_id.get(ev[2]) != (ev[1], user):
                    lost += 1
                state.decided[user].add(ev[1])
            elif ev[0] == "refused":
                refused.add(ev[1])
            else:
                empty += 1
    acknowledged = {ev[2] for events in res["logs"].values() for ev in events if ev[0] == "decided"}
    unacknowledged = len(set(by_id) - acknowledged)
    span = res["end"] - res["t_measure"]
    wall = b["t"] - a["t"]
    server_cpu, pg_cpu = cpu_used(a, b, "server"), cpu_used(a, b, "postgres")
    machine = (b["busy"] - a["busy"]) / (b["all"] - a["all"]) * os.cpu_count() if b["all"] > a["all"] else 0.0
    ok = True
    label = f"{backend:10} {set_name:6} {workers} worker{'s' if workers > 1 else ' '}"
    judged = workers == DEFAULT_WORKERS
    for kind in KINDS:
        xs = sorted(res["lat"][kind])
        p95 = pct(xs, 95)
        good = bool(xs) and p95 < TARGET_P95_MS
        ok = ok and good
        print(f"{label}  {kind:11} {len(names):>3} screeners {len(xs):>6} requests {len(xs) / span:7.1f}/s  "
              f"p50 {pct(xs, 50):6.1f} ms  p95 {p95:6.1f} ms  p99 {pct(xs, 99):6.1f} ms  "
              + (f"(target p95 < {TARGET_P95_MS:.0f} ms)  {'ok' if good else 'FALLS SHORT'}" if judged else
                 f"(not the default: for comparison){'' if good else f'  above {TARGET_P95_MS:.0f} ms'}"), flush=True)
    sound = lost == 0 and doubled == 0 and unacknowledged == 0 and served_again == 0 and not res["errors"]
    print(f"{label}  checks: {posted} decisions answered 201, stored {len(stored)}: lost {lost}, doubled {doubled}, "
          f"stored without a 201 {unacknowledged}; served again after a decision {served_again}; "
          f"errors {len(res['errors'])}{f', queues emptied {empty}' if empty else ''}"
          + (f"; background retrains {len(retrains)} ({sum(retrains):.1f} s)" if retrains else "") + "  "
          f"{'ok' if sound else 'FALLS SHORT'}", flush=True)
    others = machine - (res["cpu"] + server_cpu + pg_cpu) / wall
    print(f"{label}  CPU over {wall:.1f} s in cores (of {os.cpu_count()}): client {res['cpu'] / wall:.2f}, "
          f"server {server_cpu / wall:.2f}" + (f", postgres {pg_cpu / wall:.2f}" if backend != "sqlite" else "")
          + f", other processes {max(others, 0.0):.2f}; server CPU per request "
          f"{(server_cpu + pg_cpu) / max(res['requests'], 1) * 1000:.1f} ms"
          + (" (with postgres)" if backend != "sqlite" else "")
          + f", client {res['cpu'] / max(res['requests'], 1) * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    for e in res["errors"][:5]:
        print(f"  error: {e}")
    if reserved_after_refusal:
        print(f"  {reserved_after_refusal} records served again after a refused decision")
    lines = log.read_text(errors="replace").splitlines()
    bad = [i for i, ln in enumerate(lines) if any(w in ln for w in ("Traceback", "ERROR", "Exception", "locked"))]
    if bad:
        # what was raised: the first unindented line after each traceback (its exception and message)
        raised = [next((ln for ln in lines[i + 1:] if ln and not ln.startswith((" ", "Traceback"))), "")
                  for i in bad if lines[i].startswith("Traceback")]
        print(f"  server log ({log.name}): {len(bad)} error lines: " + " | ".join(
            raised[:3] or [lines[i] for i in bad[:3]])[:600])
        sound = False
    return ok, sound


def bench(backend: str, url: str, screeners: int, work: Path) -> list[tuple[int, bool, bool]]:
    """(workers, p95 under target, every decision stored once and no error) of each run."""
    print(f"{backend}:", flush=True)
    setup(url, screeners)
    names = [f"s{i}" for i in range(screeners)]
    oks = []
    for set_name in ("test", "single"):
        state = SetState()
        for w in WORKERS:
            oks.append((w, *run(backend, url, set_name, w, names, state, work)))
    return oks


def main() -> None:
    screeners = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    oks: list[tuple[int, bool, bool]] = []
    backends = 0
    with tempfile.TemporaryDirectory(prefix="bench-web-") as d:
        work = Path(d)
        os.environ.setdefault("SCREENING_CACHE", str(work / "cache"))  # TF-IDF features of the rank step
        oks += bench("sqlite", f"sqlite:///{d}/bench.db", screeners, work)
        backends += 1
        with postgres_server() as base:
            if base is not None:
                oks += bench("postgresql", create_database(base, "bench_web"), screeners, work)
                backends += 1
    judged = [fast for w, fast, _ in oks if w == DEFAULT_WORKERS]
    sound = [ok for _, _, ok in oks]
    verdict = ("p95 < 50 ms for next-record and decision, every decision stored once"
               if all(judged) and all(sound) else "FALLS SHORT")
    others = [fast for w, fast, _ in oks if w != DEFAULT_WORKERS]
    print(f"web: {verdict} (`screening serve` as it starts here, {DEFAULT_WORKERS} worker(s), one per core: "
          f"{sum(judged)}/{len(judged)} runs under {TARGET_P95_MS:.0f} ms"
          + (f"; --workers 1, for comparison: {sum(others)}/{len(others)}" if others else "")
          + f"; every decision stored once, no error: {sum(sound)}/{len(sound)} runs; {screeners} screeners over "
          f"HTTP on {backends} backend(s), test and single phase, {DURATION_S:.0f} s each)")


if __name__ == "__main__":
    main()
