"""Each screener's progress (records held, records done) is kept as counts beside the queue: whatever
the review does to the assignments, the counts are what counting the assignments would give."""

from __future__ import annotations

from sqlalchemy import case, func, insert, select
from test_background import single_phase_set

from screening.records.searches import add_search
from screening.review.decisions import record_decision, retract_last
from screening.review.merges import merge
from screening.review.queue import next_record
from screening.review.sampling import draw_sample
from screening.review.sets import create_set
from screening.storage.db import Database
from screening.storage.models import Assignment, Decision, QueueCount, Record, User
from screening.team.users import add_user


def counted(db: Database) -> dict[tuple[int, int], tuple[int, int]]:
    with db.read() as s:
        return {(r.set_id, r.user_id): (r.total, r.done) for r in s.scalars(select(QueueCount))}


def truth(db: Database) -> dict[tuple[int, int], tuple[int, int]]:
    with db.read() as s:
        return {(sid, uid): (total, done) for sid, uid, total, done in s.execute(
            select(Assignment.set_id, Assignment.user_id, func.count(),
                   func.sum(case((Assignment.done, 1), else_=0))).group_by(Assignment.set_id, Assignment.user_id))}


def test_the_counts_follow_decisions_undos_the_move_to_single_and_merges(db: Database) -> None:
    counts_follow_the_review(db)


def counts_follow_the_review(db: Database) -> None:
    """(also run on PostgreSQL, where a decision and its count are one statement: test_postgres)"""
    single_phase_set(db, n=120)  # a sample decided by both, then the move to single screening
    assert counted(db) == truth(db) and any(done for _, done in counted(db).values())
    with db.transaction() as s:
        first = next_record(s, "a", "s").item
        assert first is not None
        record_decision(s, "a", first.record_id, "exclude")
        record_decision(s, "a", first.record_id, "include")  # a second decision on a done record: no new count
        second = next_record(s, "a", "s").item
        assert second is not None
        record_decision(s, "a", second.record_id, "maybe")
    assert counted(db) == truth(db)
    with db.transaction() as s:
        retract_last(s, "a", set_name="s")  # the record is to screen again
    assert counted(db) == truth(db)
    with db.read() as s:
        a = s.scalar(select(User.id).where(User.name == "a"))
        nxt = next_record(s, "a", "s")
        never_decided = Assignment.record_id.not_in(select(Decision.record_id))
        undone = s.scalars(select(Assignment.record_id).where(Assignment.user_id == a, Assignment.done.is_(False),
                                                              Assignment.phase == "single", never_decided)
                           .order_by(Assignment.record_id)).all()
    assert (nxt.total, nxt.done) == counted(db)[(1, a)]  # what the screener is shown
    # a merge of two records both still to screen in the set: the removed one leaves its screener's queue
    with db.transaction() as s:
        b_undone = s.scalars(select(Assignment.record_id).where(Assignment.user_id != a,
                                                                Assignment.done.is_(False),
                                                                Assignment.phase == "single", never_decided)
                             .order_by(Assignment.record_id)).all()
        changes = merge(s, undone[-1], b_undone[-1], by="pi")
    assert changes.dropped  # one of the two left a queue
    assert counted(db) == truth(db)


def test_a_second_sample_counts_again_and_keeps_what_was_done(db: Database) -> None:
    """A second draw adds batches to the screeners' queues: the set is counted again from its
    assignments, and the records already done there stay counted as done."""
    with db.transaction() as s:
        for name, role in (("a", "screener"), ("b", "screener"), ("pi", "pi")):
            add_user(s, name, role)
        sid = add_search(s, "m", "MEDLINE").id
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [], "title": f"record {i}"}
                                   for i in range(80)])
        create_set(s, "s", all_records=True, actor="pi")
        draw_sample(s, "s", pairs=[("a", "b")], seed=1, batch_size=10, size=20, actor="pi")
    with db.transaction() as s:
        for _ in range(5):
            item = next_record(s, "a", "s").item
            assert item is not None
            record_decision(s, "a", item.record_id, "exclude")
    assert {v for v in counted(db).values()} == {(20, 5), (20, 0)}
    with db.transaction() as s:
        draw_sample(s, "s", pairs=[("a", "b")], seed=2, batch_size=10, size=20, actor="pi", extend=True)
    assert counted(db) == truth(db)
    assert {v for v in counted(db).values()} == {(40, 5), (40, 0)}
    with db.read() as s:
        nxt = next_record(s, "a", "s")
    assert (nxt.total, nxt.done) == (40, 5)


def test_the_migration_counts_an_existing_review(tmp_path) -> None:
    """0008 fills queue_count from the assignments of a review made before it."""
    from alembic import command

    from screening.storage.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    db = Database(url)
    single_phase_set(db, n=60)
    want = truth(db)
    db.dispose()
    command.downgrade(alembic_config(url), "0007")
    upgrade(url)
    db = Database(url)
    assert counted(db) == want and any(done for _, done in want.values())
    db.dispose()
