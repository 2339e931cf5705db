"""The team backend: the same migrations and commands against a real PostgreSQL server.

`.ci/run` starts a server and sets SCREENING_TEST_PG_URL; without it these tests are skipped
(locally), never faked. The import tests run on our fixtures and, where ../shared is beside the
checkout, on the real vendor exports there too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from conftest import DEMO, SHARED_RIS, Cli, fresh_pg_database, shared_param

pytestmark = pytest.mark.postgres

MEDLINE = SHARED_RIS / "ovid_medline/medline.ris"  # real Ovid MEDLINE, 190 records
OVID = DEMO / "ovid_medline_dinosaur.ris"  # Ovid MEDLINE layout, 12 records (made by us)


@pytest.fixture
def pg(worker_id: str) -> Cli:
    """A fresh, migrated database on the real server, one per xdist worker."""
    cli = Cli(fresh_pg_database(worker_id))
    cli("init")
    return cli


@pytest.mark.parametrize(("medline", "embase", "n_medline", "n_embase"), [
    shared_param(MEDLINE, SHARED_RIS / "embase_com/_baseline_embase.ris", 190, 10, id="shared"),
    pytest.param(OVID, DEMO / "embase_dinosaur.ris", 12, 10, id="fixture"),
])
def test_postgres_migrate_import_dedup_export(pg: Cli, medline: Path, embase: Path, n_medline: int,
                                              n_embase: int) -> None:
    assert create_engine(pg.url).dialect.name == "postgresql"
    pg("search", "add", "medline", "--database", "MEDLINE", "--interface", "Ovid")
    pg("search", "add", "embase", "--database", "Embase", "--interface", "Embase.com")
    pg("import", medline, "--search", "medline")
    pg("import", embase, "--search", "embase")
    again = json.loads(pg("import", medline, "--search", "medline", "--json").output)
    assert again["records"] == 0 and again["files"][0]["skipped"] is True
    summary = json.loads(pg("dedup", "--json").output)
    total = n_medline + n_embase  # 200 with the real exports
    assert summary["records"] == total
    rows = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--all").output)))
    assert len(rows) == total
    assert sum(1 for r in rows if r["pmid"]) >= total
    searches = json.loads(pg("search", "list", "--json").output)
    assert {s["name"]: s["imported"] for s in searches} == {"medline": n_medline, "embase": n_embase}


@pytest.mark.parametrize("medline", [shared_param(MEDLINE, id="shared"), pytest.param(OVID, id="fixture")])
def test_postgres_failed_import_leaves_nothing(pg: Cli, tmp_path, medline: Path) -> None:
    bad = tmp_path / "garbage.ris"
    bad.write_bytes(bytes(range(256)) * 20)
    pg("search", "add", "s1", "--database", "MEDLINE")
    r = pg("import", medline, bad, "--search", "s1", ok=False)
    assert r.exit_code != 0 and "garbage.ris" in r.output
    rows = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--all").output)))
    assert rows == []


def test_postgres_dual_review_round(pg: Cli, tmp_path) -> None:
    ris = tmp_path / "set.ris"
    with open(ris, "w") as f:
        for i in range(40):
            f.write(f"TY  - JOUR\nID  - r{i}\nTI  - Study {i} of integrated care number {i * 7919}\n"
                    f"AU  - Author{i}, A\nPY  - 2010\nER  - \n\n")
    pg("search", "add", "m", "--database", "MEDLINE")
    pg("import", ris, "--search", "m")
    pg("dedup")
    for u, role in (("alice", "screener"), ("bob", "screener"), ("pat", "pi")):
        pg("user", "add", u, "--role", role)
    pg("set", "create", "s", "--all", "--as", "pat")
    pg("sample", "s", "--share", "0.25", "--batch-size", "5", "--pairs", "alice+bob", "--seed", "3", "--as", "pat")
    for u in ("alice", "bob"):
        for item in json.loads(pg("queue", "--as", u, "--set", "s", "--json").stdout):
            decision = "include" if (u == "alice" or item["record_id"] % 2) else "exclude"
            pg("decide", "--as", u, item["record_id"], decision)
    conflicts = json.loads(pg("conflicts", "s", "--as", "pat", "--json").stdout)
    assert conflicts and all(len(c["decisions"]) == 2 for c in conflicts)
    for c in conflicts:
        pg("resolve", "--as", "pat", c["record_id"], "include")
    agreement = json.loads(pg("agreement", "s", "--by", "pair", "--json").stdout)
    assert agreement[0]["n_items"] == 10
    pg("phase", "s", "single", "--as", "pat", "--force", "--reason", "postgres test")
    status = json.loads(pg("status", "s", "--json").stdout)
    assert status["phase"] == "single"
    assert sum(v["single_assigned"] for v in status["screeners"].values()) == 30
    included = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--set", "s", "--included").stdout)))
    assert len(included) == 10


def test_postgres_two_rankings_of_one_set_stored_at_once_follow_each_other(pg: Cli) -> None:
    """Two web workers that retrain one set at the same moment both store their ranking (the
    second after the first), instead of one failing on the scores' unique key."""
    import threading

    from sqlalchemy import func, insert, select

    from screening.prioritise.service import Ranking, RankingInputs, store_ranking
    from screening.records.searches import add_search
    from screening.review.sets import create_set, get_set
    from screening.storage.db import Database
    from screening.storage.models import ModelRun, Record, RecordScore
    from screening.team.users import add_user

    db = Database(pg.url)
    with db.transaction() as s:
        add_user(s, "pat", "pi")
        sid = add_search(s, "m", "MEDLINE").id
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [], "title": f"Record {i}"}
                                   for i in range(400)])
        create_set(s, "s", all_records=True, actor="pat")
        ids = list(s.scalars(select(Record.id).order_by(Record.id)))
        inputs = RankingInputs(get_set(s, "s").id, "s", ids, {}, [""] * len(ids))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def store(seed: int) -> None:
        ranking = Ranking([(rid, (i + seed) % 400 / 400 + 0.001) for i, rid in enumerate(ids)], "test", {}, seed,
                          0, 0, 0.0)
        try:
            with db.transaction() as s:
                start.wait(5)
                store_ranking(s, inputs, ranking)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 2
        assert s.scalar(select(func.count()).select_from(RecordScore)) == 400  # the second replaced the first
    db.dispose()


def test_postgres_a_decision_is_not_held_up_while_a_ranking_is_stored(pg: Cli) -> None:
    """The retrainer's scores are written under the set's row lock; a decision's foreign key check locks
    that row too (KEY SHARE), so the store must take FOR NO KEY UPDATE, not FOR UPDATE, or every
    decision of the set waits for the scores of 50,000 records."""
    from sqlalchemy import text
    from test_background import single_phase_set

    from screening.prioritise.service import compute_ranking, ranking_inputs, store_scores
    from screening.review.decisions import record_decision
    from screening.review.queue import next_record
    from screening.storage.db import Database

    db = Database(pg.url)
    single_phase_set(db)
    with db.read() as s:
        inputs = ranking_inputs(s, "s")
    ranking = compute_ranking(inputs)
    with db.transaction() as storing:
        store_scores(storing, inputs, ranking)  # not committed yet: its locks are held
        with db.transaction() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting on a lock fails here instead
            item = next_record(s, "a", "s").item
            assert item is not None
            record_decision(s, "a", item.record_id, "exclude")
    with db.read() as s:
        assert next_record(s, "a", "s").item.record_id != item.record_id
    db.dispose()


def test_postgres_reads_keep_their_prepared_statements(pg: Cli) -> None:
    """psycopg forgets its prepared statements on every ROLLBACK: reads end with COMMIT (in READ ONLY
    transactions), so a screener's next record is planned once per connection, not on every request."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from test_background import single_phase_set

    from screening.review.queue import next_record
    from screening.storage.db import Database

    db = Database(pg.url)
    single_phase_set(db)
    for _ in range(12):  # prepared after 5 runs; PostgreSQL keeps a generic plan after 5 more
        with db.read() as s:
            assert next_record(s, "a", "s").item is not None
    with db.read() as s:
        plans = s.execute(text("SELECT generic_plans FROM pg_prepared_statements "
                               "WHERE statement LIKE '%anon_1.record_id%'")).scalars().all()
    assert plans and max(plans) > 0
    with pytest.raises(DBAPIError, match="read-only"), db.read() as s:  # a read never writes
        s.execute(text("UPDATE app_user SET failed_logins = 0"))
    db.dispose()


def test_postgres_reads_run_each_statement_alone_and_snapshots_hold_still(pg: Cli) -> None:
    """A read sends no BEGIN or COMMIT (two of a next record's five round trips): each statement is
    its own transaction, as under READ COMMITTED. A snapshot (reports, exports) sees nothing that is
    committed after its first statement, and neither can write."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from screening.storage.db import Database

    db = Database(pg.url)
    pg("user", "add", "ann", "--role", "admin")
    users = text("SELECT count(*) FROM app_user")

    def add_user(name: str) -> None:
        with db.transaction() as w:
            w.execute(text("INSERT INTO app_user (name, role, created_at, failed_logins) "
                           "VALUES (:n, 'screener', now(), 0)"), {"n": name})

    with db.read() as s:
        first = s.execute(text("SELECT now()")).scalar()
        time.sleep(0.01)
        assert s.execute(text("SELECT now()")).scalar() != first  # a transaction would keep its start time
        before = s.execute(users).scalar()
        add_user("bea")
        assert s.execute(users).scalar() == before + 1
    with db.snapshot() as s:
        before = s.execute(users).scalar()
        add_user("cy")
        assert s.execute(users).scalar() == before
    for session in (db.read, db.snapshot):
        with pytest.raises(DBAPIError, match="read-only"), session() as s:
            s.execute(text("UPDATE app_user SET failed_logins = 0"))
    db.dispose()


def test_postgres_decision_is_one_statement_and_marks_its_record_done(pg: Cli) -> None:
    """On PostgreSQL a decision and its assignment's done flag are one statement (a data-modifying
    WITH: a round trip fewer in the group every decision of a web worker waits for); the record is
    then done for its screener and not for the partner, and the event is stored once."""
    from sqlalchemy import event, func, select
    from test_background import single_phase_set

    from screening.review.decisions import record_decision
    from screening.review.queue import next_record
    from screening.storage.db import Database
    from screening.storage.models import Assignment, Decision, User

    db = Database(pg.url)
    single_phase_set(db)
    written: list[str] = []
    with db.read() as s:
        item = next_record(s, "a", "s").item
        assert item is not None
    event.listen(db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: written.append(statement.lstrip().split()[0].upper()))
    with db.transaction() as s:
        decision = record_decision(s, "a", item.record_id, "exclude")
    assert written.count("INSERT") + written.count("UPDATE") + written.count("WITH") == 1, written
    with db.read() as s:
        done = dict(s.execute(select(User.name, Assignment.done).join(User, User.id == Assignment.user_id)
                              .where(Assignment.record_id == item.record_id)).all())
        assert done["a"] is True and not any(v for k, v in done.items() if k != "a")
        assert s.scalar(select(func.count()).select_from(Decision).where(Decision.id == decision.id)) == 1
        assert next_record(s, "a", "s").item.record_id != item.record_id
    db.dispose()


def test_postgres_scores_are_stored_in_one_statement(pg: Cli) -> None:
    """A set's scores go to PostgreSQL as one INSERT (psycopg ran an executemany as a statement per
    row: 50,000 took the server 1.6 s beside the screeners), every score as ranked, replacing the last."""
    from sqlalchemy import event, select
    from test_background import single_phase_set

    from screening.prioritise.service import compute_ranking, ranking_inputs, store_scores
    from screening.storage.db import Database
    from screening.storage.models import RecordScore

    db = Database(pg.url)
    single_phase_set(db)
    with db.read() as s:
        inputs = ranking_inputs(s, "s")
    ranking = compute_ranking(inputs)
    assert len(ranking.scored) > 10
    inserts: list[bool] = []

    def seen(_conn, _cursor, statement, _params, _context, many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO RECORD_SCORE"):
            inserts.append(many)

    event.listen(db.engine, "before_cursor_execute", seen)
    for _ in range(2):  # the second replaces the first
        with db.transaction() as s:
            store_scores(s, inputs, ranking)
    event.remove(db.engine, "before_cursor_execute", seen)
    assert inserts == [False, False]  # one statement each, not an executemany
    with db.read() as s:
        stored = dict(s.execute(select(RecordScore.record_id, RecordScore.score)
                                .where(RecordScore.set_id == inputs.set_id)).all())
    assert stored == pytest.approx(dict(ranking.scored))
    db.dispose()


def test_postgres_counts_follow_decisions_undos_and_merges(pg: Cli) -> None:
    """The screener's progress is counted in the decision's own statement on PostgreSQL (a WITH)."""
    from test_counts import counts_follow_the_review

    from screening.storage.db import Database

    db = Database(pg.url)
    try:
        counts_follow_the_review(db)
    finally:
        db.dispose()
