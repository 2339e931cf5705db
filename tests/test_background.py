"""Retraining off the request path: the queue serves the last ranking until a whole new one is stored."""

from __future__ import annotations

import dataclasses
import threading
import time

from sqlalchemy import func, insert, select

from screening.prioritise.background import Retrainer, retrain
from screening.prioritise.service import compute_ranking, ranking_inputs, store_ranking
from screening.records.searches import add_search
from screening.review.decisions import record_decision
from screening.review.phase import move_to_single
from screening.review.queue import next_record
from screening.review.sampling import draw_sample
from screening.review.sets import create_set
from screening.storage.db import Database
from screening.storage.models import Assignment, ModelRun, Record, RecordScore, User
from screening.team.users import add_user


def single_phase_set(db: Database, n: int = 300) -> None:
    """A set moved to single screening after a 30-record sample; knee records (1 in 7) are the includes."""
    with db.transaction() as s:
        for name, role in (("a", "screener"), ("b", "screener"), ("pi", "pi")):
            add_user(s, name, role)
        sid = add_search(s, "m", "MEDLINE").id
        knee = "knee arthroplasty outcome"
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [],
                                    "title": f"{knee if i % 7 == 0 else 'community care model'} {i}",
                                    "abstract": "knee surgery" if i % 7 == 0 else "primary care"} for i in range(n)])
        create_set(s, "s", all_records=True, actor="pi")
        draw_sample(s, "s", pairs=[("a", "b")], seed=1, batch_size=30, size=30, actor="pi")
    with db.transaction() as s:
        rids = list(s.scalars(select(Assignment.record_id).where(Assignment.user_id == 1)))
        titles = {r.id: r.title for r in s.scalars(select(Record).where(Record.id.in_(rids)))}
        assert any(t.startswith("knee") for t in titles.values())  # the seed draws includes and excludes
        for rid in rids:
            for u in ("a", "b"):
                record_decision(s, u, rid, "include" if titles[rid].startswith("knee") else "exclude")
        move_to_single(s, "s", "pi", force=True, reason="test")


def decide_a_few(db: Database, user: str, k: int) -> None:
    with db.transaction() as s:
        for _ in range(k):
            item = next_record(s, user, "s").item
            assert item is not None
            record_decision(s, user, item.record_id, "include" if "knee" in (item.title or "") else "exclude")


def test_the_retrainer_ranks_in_the_background_and_the_queue_follows(db: Database) -> None:
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrainer = Retrainer(db, min_seconds=0)
    job = retrainer.poke("s")
    assert job is not None
    job.result(timeout=60)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 1
        nxt = next_record(s, "a", "s").item
        assert nxt is not None and nxt.phase == "single" and nxt.score is not None and nxt.score > 0.9
        assert "knee" in (nxt.title or "")  # the likeliest include first
    assert retrainer.poke("s").result(timeout=60) is None  # not due again yet: nothing retrained
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 1
    retrainer.close()


def test_a_reader_never_sees_half_a_ranking(db: Database) -> None:
    single_phase_set(db)
    with db.transaction() as s:
        inputs = ranking_inputs(s, "s")
    first = compute_ranking(inputs)
    with db.transaction() as s:
        store_ranking(s, inputs, first)
    second = compute_ranking(inputs, seed=1)
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            with db.read() as s:
                seen.append(tuple(s.execute(select(func.count(func.distinct(RecordScore.run_id)),
                                                   func.count()).select_from(RecordScore)).one()))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(3):
        with db.transaction() as s:
            store_ranking(s, inputs, second)
    stop.set()
    thread.join()
    assert seen and all(runs == 1 and rows == len(first.scored) for runs, rows in seen)


def test_closing_does_not_wait_out_the_pause_between_retrains(db: Database) -> None:
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrainer = Retrainer(db, min_seconds=600)
    first = retrainer.poke("s")
    assert first is not None
    first.result(timeout=60)
    decide_a_few(db, "a", 20)
    assert retrainer.poke("s") is not None  # due again, but it waits out the pause first
    started = time.monotonic()
    retrainer.close()
    assert time.monotonic() - started < 10  # not 600 s
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 1  # the waiting retrain was dropped


def test_closing_stops_a_retrain_that_does_not_finish_in_time(db: Database) -> None:
    """A worker that stops must not wait for ever on its retraining process (one kept a stopped
    `serve` worker alive with its connections): past the wait, the process is stopped, its
    transaction rolls back, nothing half-stored stays, and later pokes are ignored."""
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrainer = Retrainer(db, min_seconds=0)
    job = retrainer.poke("s")
    assert job is not None
    deadline = time.monotonic() + 30
    while not any(p.is_alive() for p in list(retrainer.context.started)):  # its process is starting
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    retrainer.close(wait=0.0)
    assert time.monotonic() - started < 10
    assert job.done() and not any(p.is_alive() for p in list(retrainer.context.started))
    assert retrainer.poke("s") is None  # closed: nothing starts again
    with db.read() as s:
        runs = s.scalar(select(func.count()).select_from(ModelRun))
        scores = s.scalar(select(func.count()).select_from(RecordScore))
    assert (runs, scores) == (0, 0)  # stopped before it stored: nothing of it


def test_screening_in_the_terminal_retrains_beside_the_screener(db: Database, run) -> None:
    """`screening screen` on a single-phase set: the queue is served at once in the last ranking, a
    retrain runs in the background, and it is stored by the time the screener quits."""
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 0
    out = run("screen", "--as", "b", "--set", "s", input="e\nq\n").stdout
    assert "1 decision(s) this session" in out
    with db.read() as s:
        runs = list(s.scalars(select(ModelRun)))
        assert len(runs) == 1 and runs[0].n_labelled >= 4  # the sample's decisions and the singles
        assert next_record(s, "b", "s").item.score is not None  # the queue follows the new ranking


def test_the_next_record_never_waits_for_a_retrain(db: Database) -> None:
    """The retrain runs in a child process (it starts, loads scikit-learn, trains): meanwhile a screener's
    next record is served at once, in the last stored ranking, and a decision is stored; the new ranking
    arrives whole afterwards."""
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrainer = Retrainer(db, min_seconds=0)
    job = retrainer.poke("s")
    assert job is not None
    t0 = time.monotonic()
    with db.read() as s:
        served = next_record(s, "a", "s").item
    assert served is not None and served.score is None  # no ranking stored yet
    with db.transaction() as s:  # a decision is not held up either
        record_decision(s, "a", served.record_id, "exclude")
    assert time.monotonic() - t0 < 1.0
    assert not job.done()  # all of it while the retrain was under way
    job.result(timeout=120)
    retrainer.close()
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 1
        assert next_record(s, "a", "s").item.score is not None


def test_each_screeners_queue_follows_the_stored_scores(db: Database) -> None:
    """The retrainer stores the scores, then reorders each screener's queue in transactions of its own:
    afterwards every single-phase record still to screen has the run's id plus its new score."""
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrain(db.url, "s")
    with db.read() as s:
        scores = dict(s.execute(select(RecordScore.record_id, RecordScore.score)).all())
        run = s.scalar(select(ModelRun.id))
        rows = s.execute(select(Assignment.user_id, Assignment.record_id, Assignment.priority, Assignment.done)
                         .where(Assignment.phase == "single")).all()
    assert {u for u, *_ in rows} == {1, 2}  # both screeners' queues
    assert all(p == run + scores[r] for _, r, p, done in rows if not done)


def test_a_reorder_leaves_decided_records_as_they_were_served(db: Database) -> None:
    """A retrain rewrites the priorities of the records still to screen only: a decided record keeps
    the priority it was served at (rewriting every decided one cost a row version each, for nothing)."""
    single_phase_set(db)
    decide_a_few(db, "a", 3)
    retrain(db.url, "s")
    done = select(Assignment.id, Assignment.priority).where(Assignment.phase == "single", Assignment.done.is_(True))
    with db.read() as s:
        before = dict(s.execute(done).all())
    decide_a_few(db, "a", 5)
    with db.read() as s:
        served = {i: p for i, p in s.execute(done).all() if i not in before}
    assert len(served) == 5 and all(p > 0 for p in served.values())  # decided in the first ranking's order
    decide_a_few(db, "b", 20)
    with db.read() as s:
        retrain_is_due_now = s.scalar(select(func.count()).select_from(ModelRun))
    assert retrain_is_due_now == 1
    retrain(db.url, "s")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 2
        after = dict(s.execute(select(Assignment.id, Assignment.priority).where(Assignment.id.in_(list(served)))).all())
        scores = dict(s.execute(select(RecordScore.record_id, RecordScore.score)).all())
        run = s.scalar(select(func.max(ModelRun.id)))
        todo = s.execute(select(Assignment.record_id, Assignment.priority).where(
            Assignment.phase == "single", Assignment.done.is_(False))).all()
    assert after == served
    assert all(p == run + scores[r] for r, p in todo)


def test_a_set_is_retrained_by_one_process_at_a_time(db: Database) -> None:
    """Each web worker has a retrainer: while one retrains a set, another's turn is skipped (it would
    do the same work again), and it retrains once the first is done."""
    from screening.prioritise.background import _only_retrain

    single_phase_set(db)
    decide_a_few(db, "a", 3)
    with _only_retrain(db.url, "s") as mine:  # as if another worker's retraining process held the set
        assert mine
        retrain(db.url, "s")
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(ModelRun)) == 0
    retrain(db.url, "s")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ModelRun)) == 1


def test_a_queue_rewritten_in_steps_serves_the_new_ranking_from_the_first_step(db: Database, monkeypatch) -> None:
    """The retrainer rewrites a screener's queue top first, a few records a transaction (one statement
    for the whole queue held its rows, and the decisions waiting on them, for up to 90 ms): after the
    first step the next record is already the new ranking's best, and the whole queue follows it after
    the last step, each step its own transaction."""
    from sqlalchemy import event

    from screening.prioritise import background
    from screening.prioritise.service import queue_priorities, store_scores

    single_phase_set(db)
    decide_a_few(db, "a", 3)
    with db.transaction() as s:
        inputs = ranking_inputs(s, "s")
    with db.transaction() as s:
        store_ranking(s, inputs, compute_ranking(inputs))
    decide_a_few(db, "a", 10)
    with db.transaction() as s:
        inputs = ranking_inputs(s, "s")
    ranked = compute_ranking(inputs, seed=1)
    # a new ranking that turns the order upside down, so that its best record is not the old one's
    second = dataclasses.replace(ranked, scored=[(rid, 1.0 - share + 1e-6) for rid, share in ranked.scored])
    with db.transaction() as s:
        run = store_scores(s, inputs, second).run_id
        user = s.scalar(select(Assignment.user_id).where(Assignment.phase == "single", Assignment.done.is_(False)))
    scores = dict(second.scored)
    with db.read() as s:
        todo = set(s.scalars(select(Assignment.record_id).where(Assignment.user_id == user,
                                                                Assignment.phase == "single",
                                                                Assignment.done.is_(False))))
        new_order = sorted(todo, key=lambda r: (-scores[r], r))
        name = s.scalar(select(User.name).where(User.id == user))
        old_first = next_record(s, name, "s").item
    assert old_first is not None and old_first.record_id != new_order[0]  # the new ranking changes the top
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    monkeypatch.setattr(background, "STEP", 3)
    real_write = background.write_priorities
    seen_after_first: list[int] = []

    def write_and_look(s, rows):  # type: ignore[no-untyped-def]
        real_write(s, rows)
        if not seen_after_first:
            s.flush()
            item = next_record(s, name, "s").item
            seen_after_first.append(item.record_id if item else -1)

    monkeypatch.setattr(background, "write_priorities", write_and_look)
    background.reorder_queues(db, inputs.set_id, run, scores, [user])
    assert seen_after_first == [new_order[0]]  # the first step alone serves the new ranking's best
    assert len(commits) == -(-len(todo) // 3)  # a transaction per step of three
    with db.read() as s:
        assert [r for r, _ in sorted(s.execute(select(Assignment.record_id, Assignment.priority).where(
            Assignment.user_id == user, Assignment.phase == "single", Assignment.done.is_(False))),
            key=lambda t: -t[1])] == new_order
        assert queue_priorities(s, inputs.set_id, run, scores, user)[0][1] == run + scores[new_order[0]]
        item = next_record(s, name, "s").item
    assert item is not None and item.score == scores[new_order[0]]  # the score shown is the record's, not the priority


def test_a_ranking_reads_each_records_title_abstract_and_keywords(db: Database) -> None:
    """The set's texts are read in one statement, keywords as stored JSON parsed on our side: each
    record's text is its title, abstract and keywords, as the simulations read them."""
    from sqlalchemy import update

    from screening.prioritise.features import record_text
    from screening.prioritise.service import _texts_of

    single_phase_set(db, n=40)
    with db.transaction() as s:
        s.execute(update(Record).where(Record.id == 3).values(keywords=["Knee", "Arthroplasty, Replacement"]))
        s.execute(update(Record).where(Record.id == 4).values(keywords=[]))
        inputs = ranking_inputs(s, "s")
        assert inputs.texts == _texts_of(s, inputs.members)
    by_id = dict(zip(inputs.members, inputs.texts, strict=True))
    assert by_id[3] == record_text("community care model 2", "primary care", ["Knee", "Arthroplasty, Replacement"])
    assert by_id[3].endswith("Knee Arthroplasty, Replacement") and by_id[4] == "community care model 3 primary care"


def test_the_head_of_every_queue_is_rewritten_first_and_the_rest_paced(db: Database, monkeypatch) -> None:
    """With two screeners, both queues' first steps are stored before any later step of either (so
    neither waits for the other's whole queue), and every later step is followed by a pause, so a
    rewrite of a large set never takes the database from the screeners for long."""
    from screening.prioritise import background
    from screening.prioritise.service import queue_owners, store_scores

    single_phase_set(db)
    decide_a_few(db, "a", 3)
    with db.transaction() as s:
        inputs = ranking_inputs(s, "s")
    ranking = compute_ranking(inputs)
    with db.transaction() as s:
        run = store_scores(s, inputs, ranking).run_id
        owners = queue_owners(s, inputs.set_id)
        holder = dict(s.execute(select(Assignment.id, Assignment.user_id)).all())
    assert len(owners) == 2
    monkeypatch.setattr(background, "STEP", 50)
    written: list[int] = []
    pauses: list[float] = []
    real_write = background.write_priorities

    def write(s, rows):  # type: ignore[no-untyped-def]
        written.append(holder[rows[0][0]])
        real_write(s, rows)

    monkeypatch.setattr(background, "write_priorities", write)
    monkeypatch.setattr(background.time, "sleep", pauses.append)
    background.reorder_queues(db, inputs.set_id, run, dict(ranking.scored), owners)
    assert sorted(written[:2]) == sorted(owners)  # the two heads first
    assert len(written) > 4 and len(pauses) == len(written) - 2 and all(p >= 0 for p in pauses)
    with db.read() as s:
        todo = s.execute(select(Assignment.record_id, Assignment.priority).where(
            Assignment.phase == "single", Assignment.done.is_(False))).all()
    scores = dict(ranking.scored)
    assert all(p == run + scores[r] for r, p in todo)  # and in the end every queue follows the ranking
