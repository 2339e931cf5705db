"""The web app's routes: every role boundary, CSRF, sign-in and its lock, bad input, blinding, escaping."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import func, select

from conftest import DEMO
from screening.records.ingest import import_files
from screening.records.searches import add_search
from screening.review.sampling import draw_sample
from screening.review.sets import create_set, set_settings
from screening.storage.db import Database
from screening.storage.models import Assignment, Batch, Decision, Record, User
from screening.team.auth import MAX_FAILURES, set_password
from screening.team.users import add_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from screening.web.app import create_app

PASSWORDS = {u: f"password-of-{u}" for u in ("alice", "bob", "carol", "pat", "ann")}


@pytest.fixture
def review(db: Database) -> Database:
    """Screeners alice and bob (a pair), carol (no batch), PI pat, admin ann; 50 demo records, a 10-record sample."""
    with db.transaction() as s:
        add_user(s, "ann", "admin")
        for name, role in (("alice", "screener"), ("bob", "screener"), ("carol", "screener"), ("pat", "pi")):
            add_user(s, name, role, actor="ann")
        for name, password in PASSWORDS.items():
            set_password(s, name, password, actor="ann")
        add_search(s, "pubmed", "PubMed")
        import_files(s, "pubmed", [DEMO / "pubmed_dinosaur.nbib"])
        create_set(s, "dino", all_records=True, criteria="Primary studies of dinosaur biology.", actor="pat")
        set_settings(s, "dino", include_terms=["dinosaur"], exclude_terms=["review"], reasons=["not primary"],
                     actor="pat")
        draw_sample(s, "dino", pairs=[("alice", "bob")], seed=1, batch_size=5, size=10, actor="pat")
    return db


@pytest.fixture
def client(review: Database) -> Iterator[TestClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield TestClient(create_app(review))


def token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/login", json={"username": user, "password": PASSWORDS[user]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def browser(client: TestClient, user: str) -> tuple[TestClient, str]:
    """Sign in through the form; returns the client (with its session cookie) and the page's CSRF token."""
    page = client.get("/login")
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": user, "password": PASSWORDS[user], "csrf": login_csrf, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/")
    return client, re.search(r'data-csrf="([^"]+)"', home.text).group(1)


def batch_one(review: Database) -> list[int]:
    with review.read() as s:
        b = s.scalar(select(Batch.id).where(Batch.number == 1))
        return sorted(set(s.scalars(select(Assignment.record_id).where(Assignment.batch_id == b))))


# --- the JSON API --------------------------------------------------------------------------------

def test_api_sign_in_and_tokens(client: TestClient) -> None:
    r = client.post("/api/login", json={"username": "alice", "password": "wrong"})
    wrong = r.json()
    assert r.status_code == 401 and wrong["error"].startswith("wrong user name or password")
    r = client.post("/api/login", json={"username": "nobody", "password": "whatever"})
    assert r.status_code == 401 and r.json() == wrong  # names are not probed
    assert client.get("/api/queue?set=dino").status_code == 401
    assert client.get("/api/queue?set=dino", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    r = client.post("/api/login", json={"username": "alice", "password": PASSWORDS["alice"]})
    assert r.status_code == 200 and r.json()["user"] == "alice" and r.json()["role"] == "screener"


def test_api_queue_decide_and_bad_input(client: TestClient, review: Database) -> None:
    alice = token(client, "alice")
    r = client.get("/api/queue?set=dino", headers=alice)
    assert r.status_code == 200 and r.json()["done"] == 0 and r.json()["total"] == 10
    rid = r.json()["record"]["record_id"]
    assert set(r.json()["record"]) >= {"record_id", "title", "abstract", "batch"}
    assert client.get("/api/queue?set=nope", headers=alice).status_code == 404
    for body, status in (({"record_id": rid, "decision": "perhaps"}, 400), ({"record_id": "x", "decision": "include"},
                         400), ({"decision": "include"}, 400), ({"record_id": 10**9, "decision": "include"}, 404),
                         ({"record_id": rid, "decision": "include", "note": 5}, 400)):
        r = client.post("/api/decisions", json=body, headers=alice)
        assert r.status_code == status, (body, r.text)
        assert "error" in r.json() and "Traceback" not in r.text
    r = client.post("/api/decisions", content=b"not json", headers=alice)
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    not_hers = next(x for x in range(1, 60) if x not in batch_one(review) and x not in _batch_two(review))
    assert client.post("/api/decisions", json={"record_id": not_hers, "decision": "include"},
                       headers=alice).status_code == 403
    r = client.post("/api/decisions", json={"record_id": rid, "decision": "include"}, headers=alice)
    assert r.status_code == 201 and isinstance(r.json()["decision_id"], int)
    assert client.get("/api/queue?set=dino", headers=alice).json()["done"] == 1


def _batch_two(review: Database) -> list[int]:
    with review.read() as s:
        return list(s.scalars(select(Assignment.record_id).where(Assignment.batch_id.is_not(None))))


def test_api_roles_blinding_and_frozen_batches(client: TestClient, review: Database) -> None:
    alice, bob, carol, pat = (token(client, u) for u in ("alice", "bob", "carol", "pat"))
    rids = batch_one(review)
    for i, rid in enumerate(rids):
        client.post("/api/decisions", json={"record_id": rid, "decision": "include", "note": f"zq-a{rid}"},
                    headers=alice)
        if i < 4:
            client.post("/api/decisions", json={"record_id": rid, "decision": "include" if i else "exclude",
                                                "note": f"zq-b{rid}"}, headers=bob)
    # batch 1 is open (bob has one left): nothing derived from bob's decisions reaches alice
    for path in ("/api/queue?set=dino", "/api/status?set=dino"):
        assert "zq-b" not in client.get(path, headers=alice).text
    status = client.get("/api/status?set=dino", headers=alice).json()
    assert status["batches"][0]["conflicts_open"] is None
    assert client.get("/api/status?set=dino", headers=pat).json()["batches"][0]["conflicts_open"] == 1
    assert client.get("/api/conflicts?set=dino", headers=alice).status_code == 403
    assert client.get("/api/conflicts?set=dino", headers=carol).status_code == 403
    client.post("/api/decisions", json={"record_id": rids[4], "decision": "include"}, headers=bob)
    # finished: frozen for its screeners, resolvable by the PI
    r = client.post("/api/decisions", json={"record_id": rids[0], "decision": "include"}, headers=bob)
    assert r.status_code == 409 and "frozen" in r.json()["error"]
    cases = client.get("/api/conflicts?set=dino", headers=pat).json()
    assert [c["record_id"] for c in cases] == [rids[0]]
    assert {d["note"] for d in cases[0]["decisions"]} == {f"zq-a{rids[0]}", f"zq-b{rids[0]}"}
    assert client.post("/api/resolve", json={"record_id": rids[0], "decision": "include"}, headers=bob
                       ).status_code == 403
    r = client.post("/api/resolve", json={"record_id": rids[1], "decision": "exclude"}, headers=pat)
    assert r.status_code == 409  # both included: not waiting for the PI, an override needs its reason
    r = client.post("/api/resolve", json={"record_id": rids[0], "decision": "maybe"}, headers=pat)
    assert r.status_code == 400
    r = client.post("/api/resolve", json={"record_id": rids[0], "decision": "include", "note": "ok"}, headers=pat)
    assert r.status_code == 200 and r.json()["decision"] == "include"
    assert client.get("/api/conflicts?set=dino", headers=pat).json() == []


# --- the browser pages ---------------------------------------------------------------------------

def test_pages_send_strangers_to_sign_in_and_keep_each_role_to_its_pages(client: TestClient) -> None:
    r = client.get("/sets/dino/screen", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/sets/dino/screen"
    alice, _ = browser(client, "alice")
    assert alice.get("/sets/dino/screen").status_code == 200
    for path in ("/sets/dino", "/sets/dino/conflicts", "/searches", "/dedup", "/users", "/sets/dino/recall.png"):
        r = alice.get(path)
        assert r.status_code == 403, path
        assert "only a" in r.text and "Traceback" not in r.text


def test_the_pi_and_the_admin_see_their_pages(review: Database) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pat, _ = browser(TestClient(create_app(review)), "pat")
        ann, _ = browser(TestClient(create_app(review)), "ann")
    for path in ("/sets/dino", "/sets/dino/conflicts", "/searches", "/dedup"):
        assert pat.get(path).status_code == 200, path
    assert pat.get("/users").status_code == 403
    assert ann.get("/users").status_code == 200 and "alice" in ann.get("/users").text
    assert pat.get("/sets/nope").status_code == 404


def test_forms_need_the_sessions_csrf_token(client: TestClient, review: Database) -> None:
    alice, csrf = browser(client, "alice")
    page = alice.get("/sets/dino/screen")
    rid = re.search(r'data-record-id="(\d+)"', page.text).group(1)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = alice.post("/sets/dino/decide", data={"record_id": rid, "decision": "include"}, headers=headers)
        assert r.status_code == 403 and "CSRF" in r.text
    with review.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 0
    r = alice.post("/sets/dino/decide", data={"record_id": rid, "decision": "include"},
                   headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and f'data-record-id="{rid}"' not in r.text and "data-record-id" in r.text
    r = alice.post("/sets/dino/undo", data={"csrf": csrf}, follow_redirects=False)  # a plain form: the field
    assert r.status_code == 303
    with review.read() as s:
        assert [d.decision for d in s.scalars(select(Decision).order_by(Decision.id))] == ["include", "retract"]
    r = client.post("/login", data={"username": "alice", "password": PASSWORDS["alice"], "csrf": "x"})
    assert r.status_code == 403  # the sign-in form has its own CSRF secret


def test_sign_in_locks_after_repeated_failures_and_sign_out_ends_the_session(client: TestClient,
                                                                             review: Database) -> None:
    alice, csrf = browser(client, "alice")
    session_cookie = next(c for c in client.cookies.jar if c.name == "screening_session")
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    alice.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert alice.get("/", follow_redirects=False).status_code == 303
    for _ in range(MAX_FAILURES):
        assert client.post("/api/login", json={"username": "bob", "password": "nope"}).status_code == 401
    r = client.post("/api/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    assert r.status_code == 401 and "locked" in r.json()["error"]
    unknown = client.post("/api/login", json={"username": "nobody", "password": "nope"})
    assert unknown.json() == r.json()  # a locked name answers as an unknown one: names cannot be probed
    with review.read() as s:
        user = s.scalar(select(User).where(User.name == "bob"))
        assert user.password_hash.startswith("$argon2") and PASSWORDS["bob"] not in user.password_hash


def test_titles_and_terms_are_escaped_and_highlighted(client: TestClient, review: Database) -> None:
    alice, _ = browser(client, "alice")
    rid = int(re.search(r'data-record-id="(\d+)"', alice.get("/sets/dino/screen").text).group(1))
    with review.transaction() as s:
        s.get_one(Record, rid).title = "<script>alert(1)</script> A dinosaur review"
    page = alice.get("/sets/dino/screen").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<mark class="inc">dinosaur</mark>' in page and '<mark class="exc">review</mark>' in page
    headers = alice.get("/sets/dino/screen").headers
    assert headers["x-frame-options"] == "DENY" and "script-src 'self'" in headers["content-security-policy"]


def test_the_pi_uploads_an_export_into_a_search(client: TestClient, review: Database, tmp_path: Path) -> None:
    pat, csrf = browser(client, "pat")
    with review.transaction() as s:
        add_search(s, "embase", "Embase")
    export = (DEMO / "embase_dinosaur.ris").read_bytes()
    r = pat.post("/searches/embase/import", data={"csrf": csrf}, files={"files": ("embase.ris", export)})
    assert r.status_code == 200 and "Imported 10 records into embase" in r.text
    r = pat.post("/searches/embase/import", data={"csrf": csrf}, files={"files": ("bad.ris", b"\x00\x01binary")})
    assert r.status_code == 400 and "bad.ris" in r.text and "screening-upload" not in r.text
    with review.read() as s:
        assert s.scalar(select(func.count()).select_from(Record).where(Record.search_id == 2)) == 10
    alice, csrf = browser(TestClient(create_app(review)), "alice")
    r = alice.post("/searches/embase/import", data={"csrf": csrf}, files={"files": ("embase.ris", export)})
    assert r.status_code == 403


def test_a_full_text_report_is_uploaded_and_served_to_its_screeners(client: TestClient, review: Database) -> None:
    from screening.review.conflicts import final_decisions
    from screening.review.decisions import record_decision
    from screening.review.fulltext import start_full_text

    with review.transaction() as s:
        for rid in sorted(set(_batch_two(review))):
            for u in ("alice", "bob"):
                record_decision(s, u, rid, "include")
    with review.transaction() as s:
        assert final_decisions(s)
        res = start_full_text(s, "dino", actor="pat", seed=1, screeners=["alice"])
    alice, csrf = browser(client, "alice")
    page = alice.get(f"/sets/{res.set}/screen")
    rid = int(re.search(r'data-record-id="(\d+)"', page.text).group(1))
    assert "Full text:" in page.text and "no file yet" in page.text
    r = alice.post(f"/sets/{res.set}/reports/{rid}", data={"csrf": csrf, "status": "retrieved"},
                   files={"file": ("paper.pdf", b"%PDF-1.4 the report")}, follow_redirects=False)
    assert r.status_code == 303
    r = alice.get(f"/sets/{res.set}/reports/{rid}/file")
    assert r.status_code == 200 and r.content == b"%PDF-1.4 the report"
    r = alice.post(f"/sets/{res.set}/decide", data={"record_id": rid, "decision": "exclude"},
                   headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 400 and "needs its reason" in r.text
    bob, bob_csrf = browser(TestClient(create_app(review)), "bob")
    assert bob.get(f"/sets/{res.set}/reports/{rid}/file").status_code == 403
    # nobody outside the set (nor a stranger) stores a file: refused before the file is kept
    store = Path(f"{review.url.removeprefix('sqlite:///')}.files")
    before = sorted(store.rglob("*"))
    r = bob.post(f"/sets/{res.set}/reports/{rid}", data={"csrf": bob_csrf, "status": "retrieved"},
                 files={"file": ("junk.pdf", b"%PDF-1.4 not bob's to add")}, follow_redirects=False)
    assert r.status_code == 403
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stranger = TestClient(create_app(review))
    r = stranger.post(f"/sets/{res.set}/reports/{rid}", data={"status": "retrieved"},
                      files={"file": ("junk.pdf", b"%PDF-1.4 a stranger's")}, follow_redirects=False)
    assert r.status_code in (303, 401, 403)
    assert sorted(store.rglob("*")) == before


def test_a_screener_may_not_run_a_dedup_pass(client: TestClient, review: Database) -> None:
    from screening.storage.models import DedupRun

    alice, csrf = browser(client, "alice")
    r = alice.post("/dedup", data={"csrf": csrf, "rerun": "1"}, follow_redirects=False)
    assert r.status_code == 403
    with review.read() as s:
        assert s.scalar(select(func.count()).select_from(DedupRun)) == 0


def test_the_pi_sees_the_prisma_diagram_and_downloads_the_bundle(client: TestClient, review: Database) -> None:
    import io
    import zipfile

    pat, _ = browser(client, "pat")
    r = pat.get("/sets/dino/prisma.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and "<text" in r.text
    assert 'src="/sets/dino/prisma.svg"' in pat.get("/sets/dino").text
    r = pat.get("/bundle.zip")
    assert r.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "screening-report/index.html" in names and any(n.endswith(".svg") for n in names)
    alice, _ = browser(TestClient(create_app(review)), "alice")
    assert alice.get("/bundle.zip").status_code == 403 and alice.get("/prisma.svg").status_code == 403


def test_a_decision_waiting_for_the_database_does_not_hold_up_the_next_record(review: Database) -> None:
    """Writes queue on the worker's writer thread; reads run on their own threads: while another
    process writes for a long time (an import), screeners still get their next record at once, and
    the waiting decision is stored when the writer lets go."""
    import sqlite3
    import threading
    import time

    path = review.engine.url.database
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(review)) as client:  # its lifespan runs: the worker's threads
            alice, bob = token(client, "alice"), token(client, "bob")
            rid = client.get("/api/queue?set=dino", headers=alice).json()["record"]["record_id"]
            writer = sqlite3.connect(path, isolation_level=None)
            writer.execute("BEGIN IMMEDIATE")  # another process's long write
            answers: list[int] = []
            post = threading.Thread(target=lambda: answers.append(client.post(
                "/api/decisions", json={"record_id": rid, "decision": "include"}, headers=alice).status_code))
            post.start()
            time.sleep(0.3)
            t0 = time.perf_counter()
            for _ in range(5):
                r = client.get("/api/queue?set=dino", headers=bob)
                assert r.status_code == 200 and r.json()["record"] is not None
            assert time.perf_counter() - t0 < 1.0
            assert answers == []  # the decision still waits
            writer.execute("COMMIT")
            writer.close()
            post.join(10)
            assert answers == [201]
    with review.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision).where(Decision.record_id == rid)) == 1


def serve_two_workers(url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, BinaryIO]:
    """`screening serve --workers 2` on a free port, its output in a log file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "serve.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "screening", "--db", url, "serve", "--port", str(port),
                             "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    return proc, port, log


def workers_up(proc: subprocess.Popen[bytes], port: int) -> list[int]:
    """Wait until both workers of `serve --workers 2` answer; their process ids."""
    import http.client
    import time

    deadline = time.monotonic() + 60
    while True:
        children = [int(p) for p in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
                    if "spawn_main" in open(f"/proc/{p}/cmdline").read()]  # not the resource tracker
        if len(children) == 2:
            try:
                for _ in range(2):  # connections go to the workers in turn: each has answered
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/login")
                    assert c.getresponse().read()
                    c.close()
                time.sleep(1.0)
                return children
            except OSError:
                pass
        assert proc.poll() is None and time.monotonic() < deadline, "serve --workers 2 did not start"
        time.sleep(0.2)


def test_serve_spreads_connections_over_its_workers_and_stops_cleanly(review: Database, tmp_path: Path) -> None:
    """`serve --workers 2`: the supervisor accepts and hands connections to the workers in turn, so 16
    screeners who connect at once are 8 and 8 (uvicorn's shared socket gave one worker nearly all, a
    socket per worker with SO_REUSEPORT a split by a hash: 13/3, 10/6 ...)."""
    import http.client
    import os
    import signal
    import subprocess
    import sys

    proc, port, log = serve_two_workers(review.url, tmp_path)
    conns: list[http.client.HTTPConnection] = []
    try:
        children = workers_up(proc, port)
        for _ in range(16):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/login")
            r = c.getresponse()
            assert r.status == 200
            r.read()
            conns.append(c)  # kept open (keep-alive), as a screener's browser does

        def established(pid: int) -> int:
            inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                      if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
            rows = [line.split() for line in open("/proc/net/tcp").read().splitlines()[1:]]
            return sum(1 for row in rows if int(row[1].split(":")[1], 16) == port and row[3] == "01"
                       and row[9] in inodes)

        per_worker = sorted(established(pid) for pid in children)
        assert per_worker == [8, 8], per_worker
        # a second server on the port is refused
        second = subprocess.run([sys.executable, "-m", "screening", "--db", review.url, "serve", "--port",
                                 str(port), "--workers", "2"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "Address already in use" in second.stderr, second.stderr
    finally:
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert code == 0, output
    assert "Traceback" not in output, output
    assert not any(_running(pid) for pid in children)


def test_decisions_written_together_stay_each_all_or_nothing(review: Database) -> None:
    """A group commit (web.threads.Group): a decision that fails is answered with its own error and
    the others of its group are stored; when the group's commit fails, every one of them is
    answered with the error and nothing is stored."""
    import asyncio

    import anyio
    from sqlalchemy import event

    from screening.errors import NotAllowed
    from screening.review.decisions import record_decision
    from screening.web.threads import Group

    rids = batch_one(review)
    group = Group(review, anyio.CapacityLimiter(1))

    def decide(user: str, rid: int, *, boom: str = ""):  # type: ignore[no-untyped-def]
        def work(s):  # type: ignore[no-untyped-def]
            if boom == "commit":  # the commit of the whole group fails
                def fail(session):  # type: ignore[no-untyped-def]
                    event.remove(s, "before_commit", fail)
                    raise RuntimeError("disk full")
                event.listen(s, "before_commit", fail)
            decision_id = record_decision(s, user, rid, "include").id
            if boom == "after":  # this decision fails once its statements have run
                raise RuntimeError("disk full")
            return decision_id
        return work

    async def together(*works):  # type: ignore[no-untyped-def]
        return await asyncio.gather(*(group.submit(w) for w in works), return_exceptions=True)

    first = asyncio.run(together(decide("alice", rids[0]), decide("carol", rids[1]), decide("bob", rids[1]),
                                 decide("alice", rids[4], boom="after"), decide("bob", rids[4])))
    assert isinstance(first[0], int) and isinstance(first[2], int)
    assert isinstance(first[1], NotAllowed)  # carol has no batch: her decision alone is refused
    assert isinstance(first[3], RuntimeError)  # its statements ran, then it failed: rolled back alone
    assert isinstance(first[4], int)  # and the next one of the group is stored
    failed = asyncio.run(together(decide("alice", rids[2]), decide("bob", rids[3], boom="commit")))
    assert all(isinstance(f, RuntimeError) and "disk full" in str(f) for f in failed)
    with review.read() as s:
        stored = set(s.execute(select(Decision.record_id, Decision.user_id)).all())
        names = dict(s.execute(select(User.id, User.name)).all())
    assert {(rid, names[uid]) for rid, uid in stored} == {(rids[0], "alice"), (rids[1], "bob"), (rids[4], "bob")}
    with review.read() as s:  # alice's rolled-back decision left her record undone
        assert not s.scalar(select(Assignment.done).join(User, User.id == Assignment.user_id).where(
            User.name == "alice", Assignment.record_id == rids[4]))


def test_a_group_without_failures_is_written_without_savepoints(review: Database) -> None:
    """Each SAVEPOINT is a round trip on PostgreSQL: a group whose decisions all succeed is one
    BEGIN ... COMMIT with no savepoint; one that fails has the rest written again, each in its own
    savepoint, once (two transactions, not one per failure)."""
    import asyncio

    import anyio
    from sqlalchemy import event

    from screening.errors import NotAllowed
    from screening.review.decisions import record_decision
    from screening.web.threads import Group

    rids = batch_one(review)
    group = Group(review, anyio.CapacityLimiter(1))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    event.listen(review.engine, "before_cursor_execute", seen)

    def decide(user: str, rid: int):  # type: ignore[no-untyped-def]
        return lambda s: record_decision(s, user, rid, "include").id

    async def together(*works):  # type: ignore[no-untyped-def]
        return await asyncio.gather(*(group.submit(w) for w in works), return_exceptions=True)

    ok = asyncio.run(together(decide("alice", rids[0]), decide("bob", rids[0]), decide("alice", rids[1])))
    assert all(isinstance(o, int) for o in ok)
    assert "SAVEPOINT" not in statements and statements.count("INSERT") == 3
    statements.clear()
    mixed = asyncio.run(together(decide("carol", rids[2]), decide("alice", rids[2]), decide("carol", rids[3]),
                                 decide("bob", rids[2])))
    assert [type(m) for m in mixed] == [NotAllowed, int, NotAllowed, int]
    assert statements.count("SAVEPOINT") == 3  # the second writing: alice, carol, bob; no third
    with review.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 5


def test_serve_with_workers_retrains_in_the_background(db: Database, tmp_path: Path) -> None:
    """Each worker of `serve --workers 2` retrains a single-phase set in a child process of its own
    after a decision (a daemonic worker could not start one: the retrain failed in the log)."""
    import http.client
    import json
    import signal
    import time

    from test_background import single_phase_set

    from screening.storage.models import ModelRun

    single_phase_set(db)
    with db.transaction() as s:
        set_password(s, "a", "a-long-password")
    proc, port, log = serve_two_workers(db.url, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("POST", "/api/login", json.dumps({"username": "a", "password": "a-long-password"}))
                auth = {"Authorization": "Bearer " + json.loads(c.getresponse().read())["token"]}
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve --workers 2 did not start"
                time.sleep(0.2)
        c.request("GET", "/api/queue?set=s", headers=auth)
        rid = json.loads(c.getresponse().read())["record"]["record_id"]
        c.request("POST", "/api/decisions", json.dumps({"record_id": rid, "decision": "exclude"}), headers=auth)
        assert c.getresponse().status == 201
        c.close()
        while True:
            with db.read() as s:
                if s.scalar(select(func.count()).select_from(ModelRun)):
                    break
            assert time.monotonic() < deadline + 60, "no ranking was stored"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert code == 0 and "Traceback" not in output, output


def test_serve_stops_while_a_retrain_is_under_way(db: Database, tmp_path: Path) -> None:
    """Ctrl+C while a worker's retraining process is starting or running: every process of `serve`
    ends within seconds, the retraining one too (a worker waited for ever on a retrain its process
    never ran, kept its database connections, and the supervisor was killed waiting for it)."""
    import http.client
    import json
    import signal
    import time

    from test_background import single_phase_set

    single_phase_set(db)
    with db.transaction() as s:
        set_password(s, "a", "a-long-password")
    proc, port, log = serve_two_workers(db.url, tmp_path)
    try:
        workers = workers_up(proc, port)
        everyone = set(workers)
        for pause in (0.0, 0.3, 0.6, 1.0, 1.5):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("POST", "/api/login", json.dumps({"username": "a", "password": "a-long-password"}))
            auth = {"Authorization": "Bearer " + json.loads(c.getresponse().read())["token"]}
            c.request("GET", "/api/queue?set=s", headers=auth)
            rid = json.loads(c.getresponse().read())["record"]["record_id"]
            c.request("POST", "/api/decisions", json.dumps({"record_id": rid, "decision": "exclude"}), headers=auth)
            assert c.getresponse().status == 201
            c.close()
            time.sleep(pause)
        for w in workers:  # the workers' retraining processes (started by one of their threads), by now
            for task in os.listdir(f"/proc/{w}/task"):
                everyone |= {int(p) for p in open(f"/proc/{w}/task/{task}/children").read().split()}
        assert len(everyone) > 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            code = None
            proc.kill()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_running(p) for p in everyone):
        time.sleep(0.1)
    left = [p for p in everyone if _running(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert code == 0 and not left, (code, left, output)


def test_a_worker_stopped_twice_still_stops_gracefully() -> None:
    """The supervisor closes a worker's channel and signals it: uvicorn took the SIGINT after the
    channel's end for a second Ctrl+C and forced the exit, skipping the app's shutdown (which stops
    the retraining process: the worker then waited for it for ever)."""
    import signal

    import uvicorn

    from screening.web.workers import HandedConnections

    left, right = socket.socketpair()
    with left, right:
        server = HandedConnections(uvicorn.Config("screening.web.app:app_from_environment", factory=True), left)
        server.should_exit = True  # the channel's end was read
        server.handle_exit(signal.SIGINT, None)
        server.handle_exit(signal.SIGTERM, None)
        assert server.should_exit and not server.force_exit


def _running(pid: int) -> bool:
    try:
        return "zombie" not in open(f"/proc/{pid}/status").read().lower()
    except FileNotFoundError:
        return False


def test_serve_passes_over_a_worker_that_stops_reading(review: Database, tmp_path: Path) -> None:
    """A worker that hangs (stopped here) must not stop the supervisor: once its queue of handed
    connections is full, new connections go to the other worker instead of waiting for it."""
    import http.client
    import os
    import signal

    proc, port, log = serve_two_workers(review.url, tmp_path)
    stopped = None
    try:
        children = workers_up(proc, port)
        stopped = children[0]
        os.kill(stopped, signal.SIGSTOP)
        for _ in range(1200):  # more than a Unix datagram queue holds (net.unix.max_dgram_qlen, 512)
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        answered = 0
        for _ in range(4):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                c.request("GET", "/login")
                answered += c.getresponse().status == 200
            except OSError:
                pass
            c.close()
        assert answered >= 3, answered
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def test_a_group_looks_up_its_screeners_tokens_in_one_statement(review: Database) -> None:
    """A group of decisions from several screeners asks for their tokens once, not once per decision
    (in a group each statement is a round trip that every decision of the group waits for); each
    decision is still answered as its own token's user, and a token nobody holds is refused."""
    import asyncio

    import anyio
    from sqlalchemy import event

    from screening.review.decisions import record_decision
    from screening.team.auth import authenticate, authenticate_all, sign_in
    from screening.web.threads import Group

    rids = batch_one(review)
    with review.transaction() as s:
        tokens = {u: sign_in(s, u, PASSWORDS[u], kind="api").token for u in ("alice", "bob")}
    group = Group(review, anyio.CapacityLimiter(1))
    asked: list[str] = []

    def seen(conn, _cursor, statement, *_) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE" and "FROM token" in statement:
            asked.append(statement)

    def decide(token: str, rid: int):  # type: ignore[no-untyped-def]
        def work(s):  # type: ignore[no-untyped-def]
            me = authenticate(s, token)
            if me is None:
                raise PermissionError("unknown token")
            return me.name, record_decision(s, me.name, rid, "include").id
        return work

    async def together():  # type: ignore[no-untyped-def]
        pairs = ((tokens["alice"], rids[0]), (tokens["bob"], rids[0]), (tokens["alice"], rids[1]))
        return await asyncio.gather(*(group.submit(decide(t, r), t) for t, r in pairs))

    event.listen(review.engine, "before_cursor_execute", seen)
    try:
        out = asyncio.run(together())
    finally:
        event.remove(review.engine, "before_cursor_execute", seen)
    assert [name for name, _ in out] == ["alice", "bob", "alice"]
    assert len(asked) == 1, asked  # one statement for the three decisions' tokens
    with review.read() as s:
        stored = {(rid, name) for rid, name in s.execute(select(Decision.record_id, User.name).join(
            User, User.id == Decision.user_id))}
    assert stored == {(rids[0], "alice"), (rids[0], "bob"), (rids[1], "alice")}
    event.listen(review.engine, "before_cursor_execute", seen)
    try:  # a token nobody holds, looked up with the others, is refused without asking again
        with review.transaction() as s:
            authenticate_all(s, [tokens["bob"], "nope", None])
            assert authenticate(s, "nope") is None and authenticate(s, tokens["bob"]).name == "bob"
    finally:
        event.remove(review.engine, "before_cursor_execute", seen)
    assert len(asked) == 2, asked
