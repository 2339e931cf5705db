"""Blind dual review: Table 3 rebuilt, samples, pairs, blinding, PI adjudication, history, single phase."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import make_records, pairs_of, small_review
from screening.errors import NotAllowed
from screening.reports.table3 import render_table3, table3
from screening.review.conflicts import conflicts, final_decisions, resolve
from screening.review.decisions import history, record_decision, retract_last
from screening.review.phase import move_to_single
from screening.review.queue import queue
from screening.review.sampling import draw_sample
from screening.review.sets import add_hand_record, create_set
from screening.storage.models import Assignment, Batch, Decision, User
from screening.team.users import add_user

TABLE3 = [  # set, records from searches, added by hand, share, published n, pairs
    ("Access", 7965, 0, 0.25, 1992, "a1+a2,a3+a4,a5+a6"),
    ("MCP", 2160, 70, 0.25, 558, "m1+m2"),
    ("Community", 8772, 0, 0.20, 1755, "c1+c2,c1+c3"),
    ("Contracting", 2695, 0, 0.20, 540, "k1+k2,k1+k3,k2+k3"),
    ("Ways of working", 8843, 0, 0.20, 1770, "w1+w2,w1+w3,w2+w3"),
]


def test_table3_rebuilt(db) -> None:
    with db.transaction() as s:
        add_user(s, "pi", "pi")  # sets, hand-added records and samples are a PI's
        for name, n, by_hand, share, published, pairs in TABLE3:
            make_records(s, name, n)
            create_set(s, name, searches=[name], actor="pi")
            for i in range(by_hand):
                add_hand_record(s, name, title=f"Grey literature report {i}", source="grey literature", actor="pi")
            for u in sorted({u for p in pairs_of(pairs) for u in p}):
                add_user(s, u, "screener")
            total = n + by_hand
            size = None if math.ceil(share * total) == published else published  # 2695 x 20% = 539, 540 published
            res = draw_sample(s, name, pairs=pairs_of(pairs), seed=2016, batch_size=100, share=share, size=size,
                              actor="pi")
            assert res.size == published
            loads = Counter((a, b) for _, a, b, _ in res.batches)
            assert set(loads) == set(pairs_of(pairs))
            assert max(loads.values()) - min(loads.values()) <= 1
        rows = {r["set"]: r for r in table3(s)}
        md = render_table3(table3(s))
    assert rows["Access"]["test_screening"] == "25% (n = 1992)"
    assert rows["Access"]["pairs_screeners"] == "three pairs / six screeners"
    assert rows["MCP"]["records"] == "2230 (2160 from searches + 70 added by hand)"
    assert rows["MCP"]["pairs_screeners"] == "one pair / two screeners"
    assert rows["Community"]["test_screening"] == "20% (n = 1755)"
    assert rows["Community"]["pairs_screeners"] == "two pairs / three screeners"
    assert rows["Contracting"]["test_screening"] == "20% (n = 540)"
    assert rows["Contracting"]["pairs_screeners"] == "three pairs / three screeners"
    assert rows["Ways of working"]["records_screened"] == 8843
    assert sum(r["records_screened"] for r in rows.values()) == 30505
    assert "| Access | 7965 | 25% (n = 1992) | three pairs / six screeners |" in md


def assignment_of(db) -> list[tuple[int, int, int, int]]:
    with db.transaction() as s:
        return sorted(s.execute(select(Assignment.record_id, Assignment.user_id, Batch.number, Assignment.position)
                                .join(Batch, Batch.id == Assignment.batch_id)).all())


def test_same_seed_same_sample_batches_and_assignment(db, tmp_path: Path, template_db) -> None:
    import shutil

    from screening.storage.db import Database

    small_review(db)
    others = []
    for k, seed in enumerate((7, 8)):
        path = tmp_path / f"other{k}.db"
        shutil.copy(template_db, path)
        other = Database(f"sqlite:///{path}")
        small_review(other, seed=seed)
        others.append(assignment_of(other))
        other.dispose()
    assert assignment_of(db) == others[0]
    assert assignment_of(db) != others[1]
    with db.transaction() as s:
        from screening.storage.models import Sample

        sample = s.scalar(select(Sample))
        assert sample.seed == 7 and sample.batch_size == 5 and sample.share == 0.25 and sample.size == 10


def pair_record(db):
    """A test-sample record with its two screeners."""
    with db.transaction() as s:
        a = s.execute(select(Assignment.record_id, Batch.user_a, Batch.user_b)
                      .join(Batch, Batch.id == Assignment.batch_id).order_by(Assignment.record_id)).first()
        from screening.storage.models import User

        names = {u.id: u.name for u in s.scalars(select(User))}
        return a.record_id, names[a.user_a], names[a.user_b]


def batch_of(db, rid: int) -> int:
    """The number of the test batch a record is in."""
    with db.transaction() as s:
        return s.scalar(select(Batch.number).join(Assignment, Assignment.batch_id == Batch.id)
                        .where(Assignment.record_id == rid, Assignment.phase == "test"))


NOT_RECONCILED = "is not reconciled yet"


def test_blinding_holds_on_every_path(db, run) -> None:
    small_review(db)
    rid, first, second = pair_record(db)
    batch = batch_of(db, rid)
    with db.transaction() as s:
        record_decision(s, first, rid, "include", reason="zq-reason", note="zq-note")
    leaks = [
        json.dumps(run("queue", "--as", second, "--set", "access", "--json").stdout),
        run("status", "access", "--json").stdout,
        run("history", str(rid)).stdout,
        run("history", str(rid), "--as", second).stdout,
        run("export", "--format", "csv", "--all").stdout,
        run("export", "--format", "csv", "--set", "access", "--included").stdout,
        run("debrief", "access", "--batch", batch, "--as", second, ok=False).output,
    ]
    assert not any("zq-" in text for text in leaks)
    assert "zq-reason" in run("history", str(rid), "--as", first).stdout  # one's own decisions are visible
    # the screen command shows the partner nothing either
    out = run("screen", "--as", second, "--set", "access", input="q\n").stdout
    assert "zq-" not in out and "batch" in out


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_debrief_of_a_batch_in_conflict_is_refused_to_its_screeners(db, run, fmt: str) -> None:
    """Until the PI has resolved the batch's conflicts, a screener of the batch asking for its debrief
    is refused: a non-zero exit, a message saying the batch is not reconciled yet, and nothing of the
    partner's decision, reason or note."""
    small_review(db)
    rid, first, second = pair_record(db)
    batch = batch_of(db, rid)
    with db.transaction() as s:
        record_decision(s, first, rid, "include", reason="zq-reason", note="zq-note")
        record_decision(s, second, rid, "exclude")
    r = run("debrief", "access", "--batch", batch, "--as", second, "--format", fmt, ok=False)
    assert r.exit_code != 0
    assert f"batch {batch} {NOT_RECONCILED}" in r.output
    assert "zq-" not in r.output and "include" not in r.output and "Traceback" not in r.output
    # a PI outside the pair may look (to adjudicate), and sees both decisions
    assert "zq-reason" in run("debrief", "access", "--batch", batch, "--as", "pat", "--format", fmt).output


@pytest.mark.parametrize("member", ["decided", "partner"])
def test_debrief_of_an_open_batch_is_refused_to_its_screeners(db, run, member: str) -> None:
    small_review(db)
    rid, first, second = pair_record(db)
    batch = batch_of(db, rid)
    with db.transaction() as s:
        record_decision(s, first, rid, "include", reason="zq-reason", note="zq-note")
    r = run("debrief", "access", "--batch", batch, "--as", first if member == "decided" else second, ok=False)
    assert r.exit_code != 0 and f"batch {batch} {NOT_RECONCILED}" in r.output


def test_only_a_pi_lists_and_resolves_conflicts_and_finals_sit_beside_originals(db, run) -> None:
    small_review(db)
    rid, first, second = pair_record(db)
    with db.transaction() as s:
        record_decision(s, first, rid, "include")
        record_decision(s, second, rid, "maybe", reason="unclear population")
    r = run("conflicts", "access", "--as", first, "--json", ok=False)
    assert r.exit_code != 0 and "only a pi" in r.output.lower()
    with db.transaction() as s, pytest.raises(NotAllowed):
        resolve(s, first, rid, "include")
    items = json.loads(run("conflicts", "access", "--as", "pat", "--json").stdout)
    assert [c["record_id"] for c in items] == [rid]
    assert {d["user"]: d["decision"] for d in items[0]["decisions"]} == {first: "include", second: "maybe"}
    run("resolve", "--as", "pat", rid, "include", "--note", "meets criteria")
    assert json.loads(run("conflicts", "access", "--as", "pat", "--json").stdout) == []
    with db.transaction() as s:  # the batch is still open: a final decision would tell each screener the other's
        assert rid not in final_decisions(s)
        batch = s.scalar(select(Assignment.batch_id).where(Assignment.record_id == rid, Assignment.phase == "test"))
        rest = set(s.scalars(select(Assignment.record_id).where(Assignment.batch_id == batch))) - {rid}
        for other in rest:
            for user in (first, second):
                record_decision(s, user, other, "exclude")
    with db.transaction() as s:  # finished and agreed elsewhere: the batch is reconciled
        assert final_decisions(s)[rid] == "include"
        kinds = Counter((d.kind, d.decision) for d in s.scalars(select(Decision).where(Decision.record_id == rid)))
    assert kinds == Counter({("screen", "include"): 1, ("screen", "maybe"): 1, ("adjudicate", "include"): 1})


def test_history_is_append_only(db, run) -> None:
    small_review(db)
    rid, first, _ = pair_record(db)
    with db.transaction() as s:
        record_decision(s, first, rid, "include")
    with db.transaction() as s:
        before = [(d.id, d.decision, d.at) for d in s.scalars(select(Decision))]
    run("decide", "--as", first, rid, "exclude", "--reason", "wrong setting")
    run("undo", "--as", first)
    with db.transaction() as s:
        after = [(d.id, d.decision, d.at) for d in s.scalars(select(Decision).order_by(Decision.id))]
        events = history(s, rid, first)
    assert after[: len(before)] == before  # nothing earlier changed
    assert [d for _, d, _ in after] == ["include", "exclude", "retract"]
    assert [e.decision for e in events] == ["include", "exclude", "retract"]
    with db.transaction() as s:  # after the undo the record is back in the queue
        assert rid in [q.record_id for q in queue(s, first, set_name="access")]


def finish_test_batches(db, decision: str = "exclude") -> None:
    """Both members of every test batch decide all its records (the move to single screening waits for that)."""
    from screening.storage.models import User

    with db.transaction() as s:
        names = {u.id: u.name for u in s.scalars(select(User))}
        for rid, uid in s.execute(select(Assignment.record_id, Assignment.user_id).where(Assignment.phase == "test")):
            record_decision(s, names[uid], rid, decision)


def test_single_phase_covers_every_remaining_record_once(db, run) -> None:
    small_review(db, n=203)
    r = run("phase", "access", "single", "--as", "pat", ok=False)
    assert r.exit_code != 0 and "still being screened in pairs" in r.output  # nobody has screened yet
    r = run("phase", "access", "single", "--as", "pat", "--force", "--reason", "pilot", ok=False)
    assert r.exit_code != 0 and "still being screened in pairs" in r.output  # not even by force
    finish_test_batches(db)
    r = run("phase", "access", "single", "--as", "pat", ok=False)
    assert r.exit_code != 0 and "gate" in r.output  # 51 items screened in pairs: the gate (100 items) is not met
    run("phase", "access", "single", "--as", "pat", "--force", "--reason", "pilot")
    with db.transaction() as s:
        single = list(s.execute(select(Assignment.record_id, Assignment.user_id).where(Assignment.phase == "single")))
        test = {rid for (rid,) in s.execute(select(Assignment.record_id).where(Assignment.phase == "test"))}
    records = [rid for rid, _ in single]
    assert len(records) == len(set(records)) == 203 - len(test)
    assert not set(records) & test
    loads = Counter(uid for _, uid in single)
    assert max(loads.values()) - min(loads.values()) <= 1
    status = json.loads(run("status", "access", "--json").stdout)
    assert status["phase"] == "single"
    with db.transaction() as s:
        from screening.storage.models import SetEvent

        event = s.scalar(select(SetEvent).where(SetEvent.kind == "phase"))
    assert event.actor == "pat" and event.payload["forced"] is True and event.payload["reason"] == "pilot"
    assert event.payload["gate"]["met"] is False


def test_weights_split_the_rest(db) -> None:
    small_review(db, n=103)
    finish_test_batches(db)
    with db.transaction() as s:
        res = move_to_single(s, "access", "pat", force=True, reason="test", weights={"alice": 2, "bob": 1, "carol": 1})
    assert sum(res.assigned.values()) == 103 - 26 and abs(res.assigned["alice"] - 2 * res.assigned["bob"]) <= 2


def test_screen_in_the_terminal_records_decisions_with_reason_and_undo(db, run) -> None:
    small_review(db)
    _, first, _ = pair_record(db)
    out = run("screen", "--as", first, "--set", "access", input="i\nr\nnot primary care\ne\nu\nm\nq\n").stdout
    assert "Criteria: Include primary care models." in out and "of your" in out
    with db.transaction() as s:
        ds = [(d.decision, d.reason) for d in s.scalars(select(Decision).order_by(Decision.id))]
    assert ds == [("include", None), ("exclude", "not primary care"), ("retract", ds[2][1]), ("maybe", None)]


def test_screen_without_a_set_works_through_every_set_with_records_left(db, run) -> None:
    small_review(db)
    _, first, _ = pair_record(db)
    with db.read() as s:
        mine = s.scalar(select(func.count()).select_from(Assignment).join(User, User.id == Assignment.user_id)
                        .where(User.name == first))
    out = run("screen", "--as", first, input="i\n" * mine).stdout
    assert f"nothing left to screen for {first}; {mine} decision(s) this session" in out
    assert "batch 1 (1 of your " in out and "0/5 done" in out and "4/5 done" in out
    out = run("screen", "--as", first, input="q\n").stdout
    assert f"nothing left to screen for {first}; 0 decision(s)" in out


def test_decisions_import_is_all_or_nothing(db, run, tmp_path: Path) -> None:
    small_review(db)
    rid, first, second = pair_record(db)
    good = tmp_path / "d.csv"
    good.write_text(f"record_id,user,decision,reason\n{rid},{first},include,\n{rid},{second},exclude,too old\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"record_id,user,decision\n{rid},{first},include\n{rid},nobody,exclude\n")
    r = run("decisions", "import", bad, ok=False)
    assert r.exit_code != 0 and "line 3" in r.output
    with db.transaction() as s:
        assert s.query(Decision).count() == 0
    run("decisions", "import", good)
    with db.transaction() as s:
        assert s.query(Decision).count() == 2
        assert len(conflicts(s, "access", "pat")) == 1


def test_extending_the_sample_is_one_recorded_command(db, run) -> None:
    small_review(db, n=100)  # 25 records in 5 batches of 5, pairs in turn
    r = run("sample", "access", "--share", "0.25", "--batch-size", "5", "--pairs", "alice+bob", "--seed", "9",
            "--as", "pat", ok=False)
    assert r.exit_code != 0 and "--extend" in r.output
    out = run("sample", "access", "--extend", "--batches", "2", "--batch-size", "5",
              "--pairs", "alice+bob,alice+carol,bob+carol", "--seed", "9", "--as", "pat").stdout
    assert "batch 6: bob + carol" in out and "batch 7: alice + bob" in out  # the rotation goes on
    with db.transaction() as s:
        from screening.storage.models import Sample

        samples = list(s.scalars(select(Sample).order_by(Sample.id)))
        test = [rid for (rid,) in s.execute(select(Assignment.record_id).where(Assignment.phase == "test"))]
    assert [x.seed for x in samples] == [7, 9] and samples[1].params["extends"] is True
    assert len(set(test)) == 35 and len(test) == 70  # no record drawn twice, two screeners each


def test_undo_reads_decisions_a_page_at_a_time_in_the_same_order(db) -> None:
    from screening.review.decisions import _newest_first

    small_review(db)
    _, first, _ = pair_record(db)
    with db.transaction() as s:
        rids = list(s.scalars(select(Assignment.record_id).join(User, User.id == Assignment.user_id)
                              .where(User.name == first).order_by(Assignment.record_id)))[:7]
        for rid in rids:
            record_decision(s, first, rid, "include")
        retract_last(s, first)
        stmt = select(Decision).order_by(Decision.id.desc())
        everything = [d.id for d in s.scalars(stmt)]
        assert len(everything) == 8
        for page in (1, 3, 8, 100):
            assert [d.id for d in _newest_first(s, stmt, page=page)] == everything


def test_one_records_conflict_is_the_same_as_in_the_whole_list(db) -> None:
    """resolve() asks about one record without scanning the set: the answer matches the full list."""
    from screening.review.conflicts import conflicts

    small_review(db)
    rid, first, second = pair_record(db)
    with db.transaction() as s:
        record_decision(s, first, rid, "include")
        record_decision(s, second, rid, "exclude")
    with db.read() as s:
        everything = conflicts(s, "access", "pat")
        assert [c.record_id for c in everything] == [rid]
        assert conflicts(s, "access", "pat", record_id=rid) == everything
        others = s.scalars(select(Assignment.record_id).where(Assignment.record_id != rid)).all()
        assert all(conflicts(s, "access", "pat", record_id=o) == [] for o in set(others))
