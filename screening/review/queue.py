"""A screener's queue: test batches first in their fixed random order, then single phase by priority.

Nothing here tells anything about other users' decisions. Retraining the priority model when
enough decisions arrived is the prioritisation layer's business
(``screening.prioritise.background.Retrainer``), off the path of the screener who asks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from screening.dedup.service import Related, related_to
from screening.review.events import current
from screening.review.sets import get_set
from screening.storage.models import (
    Assignment,
    Batch,
    Decision,
    QueueCount,
    Record,
    RecordLink,
    RecordScore,
    ScreeningSet,
)
from screening.team.users import get_user


@dataclass
class QueueItem:
    """One record to screen, with what a screener sees of it and where it stands."""

    record_id: int
    title: str | None
    abstract: str | None
    authors: list[str]
    year: int | None
    journal: str | None
    keywords: list[str]
    set: str
    batch: int | None  # the batch number in the test phase, None in the single phase
    position: int
    phase: str
    score: float | None  # priority score in the single phase, once ranked
    my_decision: str | None = None  # the screener's own current decision (with ``include_done``)
    related: list[Related] = field(default_factory=list)  # errata, retractions, updates... beside the record

    @property
    def retracted(self) -> bool:
        """A retraction notice is linked to this record: the screener must see it."""
        return any(r.relation == "retraction" for r in self.related)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "retracted": self.retracted}


def queue(session: Session, user_name: str, *, set_name: str | None = None, include_done: bool = False
          ) -> list[QueueItem]:
    """The user's records to screen, test batches first (in batch order), then single phase by priority."""
    user = get_user(session, user_name)
    stmt = select(Assignment, ScreeningSet.name).join(ScreeningSet, ScreeningSet.id == Assignment.set_id).where(
        Assignment.user_id == user.id)
    if set_name:
        stmt = stmt.where(Assignment.set_id == get_set(session, set_name).id)
    rows = list(session.execute(stmt))
    set_ids = {a.set_id for a, _ in rows}
    mine: dict[tuple[int, int], Decision] = {}
    scores: dict[tuple[int, int], float] = {}
    for sid in set_ids:
        for (rid, uid), d in current(session, sid).items():
            if uid == user.id:
                mine[(sid, rid)] = d
        for rid, sc in session.execute(select(RecordScore.record_id, RecordScore.score).where(
                RecordScore.set_id == sid)):
            scores[(sid, rid)] = sc
    batch_no = dict(session.execute(select(Batch.id, Batch.number).where(Batch.set_id.in_(set_ids))).all())
    items = [(a, sname) for a, sname in rows if include_done or (a.set_id, a.record_id) not in mine]
    # test batches keep their random order (agreement must not be biased by ranking); single phase by score
    items.sort(key=lambda t: (t[0].phase != "test", batch_no.get(t[0].batch_id or 0, 0),
                              0.0 if t[0].phase == "test" else -scores.get((t[0].set_id, t[0].record_id), 0.0),
                              t[0].position, t[0].record_id))
    ids = [a.record_id for a, _ in items]
    recs = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(ids)))}
    links = related_to(session, ids)
    out = []
    for a, sname in items:
        r = recs[a.record_id]
        own = mine.get((a.set_id, a.record_id))
        out.append(QueueItem(r.id, r.title, r.abstract, list(r.authors or []), r.year, r.journal,
                             list(r.keywords or []), sname, batch_no.get(a.batch_id) if a.batch_id else None,
                             a.position, a.phase, scores.get((a.set_id, a.record_id)),
                             own.decision if own else None, links.get(r.id, [])))
    return out


@dataclass
class QueueProgress:
    """How far a screener is in the part of their queue a record belongs to (its batch, or single phase)."""

    set: str
    batch: int | None
    batch_index: int | None  # 1-based among the screener's batches of the set
    batches: int  # how many batches of the set the screener has
    done: int
    total: int
    batch_numbers: list[int] = field(default_factory=list)

    def describe(self) -> str:
        if self.batch is None:
            return f"single screening, {self.done}/{self.total} done"
        return f"batch {self.batch} ({self.batch_index} of your {self.batches} batches), {self.done}/{self.total} done"


def batch_progress(session: Session, user_name: str, set_name: str, batch: int | None) -> QueueProgress:
    """How far the user is in test batch ``batch`` of a set (or in its single phase, ``None``): a count
    over their assignments there, so the terminal shows it beside each record at no cost."""
    user = get_user(session, user_name)
    st = get_set(session, set_name)
    mine = (Assignment.user_id == user.id, Assignment.set_id == st.id)
    numbers = sorted(session.scalars(select(Batch.number).join(Assignment, Assignment.batch_id == Batch.id)
                                     .where(*mine).distinct()))
    part = select(func.count(), func.coalesce(func.sum(case((Assignment.done, 1), else_=0)), 0)).where(*mine)
    if batch is None:
        part = part.where(Assignment.phase == "single")
    else:
        part = part.join(Batch, Batch.id == Assignment.batch_id).where(Batch.number == batch)
    total, done = session.execute(part).one()
    index = numbers.index(batch) + 1 if batch in numbers else None
    return QueueProgress(st.name, batch, index, len(numbers), int(done), int(total), numbers)


@dataclass
class NextRecord:
    """A screener's next record in a set (None when nothing is left) and how far they are."""

    item: QueueItem | None
    done: int
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.item.as_dict() if self.item else None, "done": self.done, "total": self.total}


# A screener's next record, built once (every request runs them; building costs more than running).
_MINE = (Assignment.user_id == bindparam("user_id"), Assignment.set_id == bindparam("set_id"))
# the screener's progress: one row (see review.counts), not a count over their thousands of assignments
_COUNTED = (QueueCount.set_id == bindparam("set_id"), QueueCount.user_id == bindparam("user_id"))
_TOTAL = func.coalesce(select(QueueCount.total).where(*_COUNTED).scalar_subquery(), 0)
_DONE = func.coalesce(select(QueueCount.done).where(*_COUNTED).scalar_subquery(), 0)
_PROGRESS = select(_TOTAL, _DONE)
# the score shown is the record's in the latest ranking (the priority orders the queue: see
# prioritise.service.queue_priorities), looked up for the one row picked
_PICK = (select(Assignment.record_id, Assignment.position, Assignment.phase, RecordScore.score, Batch.number,
                Record.title, Record.abstract, Record.authors, Record.year, Record.journal, Record.keywords)
         .join(Record, Record.id == Assignment.record_id).outerjoin(Batch, Batch.id == Assignment.batch_id)
         .outerjoin(RecordScore, and_(RecordScore.set_id == Assignment.set_id,
                                      RecordScore.record_id == Assignment.record_id)))
# LIMIT 1 written into the SQL, not a bound parameter: PostgreSQL plans a prepared statement once
# (a generic plan) only when that plan is not costlier than planning for each call, and with an unknown
# LIMIT it assumes a tenth of the rows are wanted, so every call was planned again (0.7 ms of 1.3)
_ONE: ColumnElement[int] = literal_column("1")
_NEXT_TEST = (_PICK.where(*_MINE, Assignment.done.is_(False), Assignment.batch_id.is_not(None))
              .order_by(Assignment.batch_id, Assignment.position).limit(_ONE))
# (in the single phase every test batch is finished: nothing is left there)
_NEXT_SINGLE = (_PICK.where(*_MINE, Assignment.done.is_(False), Assignment.phase == "single")
                .order_by(Assignment.priority.desc(), Assignment.position).limit(_ONE))


def _with_progress(pick: Select[Any]) -> Select[Any]:
    """The picked record with the screener's progress and whether anything is linked to it, in one
    statement (computed once, for the one row picked): a next record is a screener's busiest read."""
    one = pick.subquery()
    linked = exists().where(or_(RecordLink.record_a == one.c.record_id, RecordLink.record_b == one.c.record_id))
    return select(one, _TOTAL.label("total"), _DONE.label("done"), linked.label("linked"))


_NEXT = {"test": _with_progress(_NEXT_TEST), "single": _with_progress(_NEXT_SINGLE)}


def next_record(session: Session, user_name: str, set_name: str, *, skip: Collection[int] = ()) -> NextRecord:
    """The screener's next undecided record: the first of their test batches in order (test phase),
    or the likeliest include by the latest ranking (single phase). One index seek
    (``ix_assignment_next_*``) whatever the length of the queue, and only the columns shown.
    ``skip``: records the screener put aside this session (the terminal's [s]kip)."""
    user = get_user(session, user_name)
    st = get_set(session, set_name)
    mine = {"user_id": user.id, "set_id": st.id}
    phase = "test" if st.phase == "test" else "single"
    stmt = _NEXT[phase]
    if skip:
        pick = _NEXT_TEST if phase == "test" else _NEXT_SINGLE
        stmt = _with_progress(pick.where(Assignment.record_id.not_in(list(skip))))
    row = session.execute(stmt, mine).first()
    if row is None:
        total, done = session.execute(_PROGRESS, mine).one()
        return NextRecord(None, int(done), int(total))
    related = related_to(session, [row.record_id]).get(row.record_id, []) if row.linked else []
    item = QueueItem(row.record_id, row.title, row.abstract, list(row.authors or []), row.year, row.journal,
                     list(row.keywords or []), st.name, row.number, row.position, row.phase,
                     row.score if row.phase == "single" else None, None, related)
    return NextRecord(item, int(row.done), int(row.total))


def sets_to_screen(session: Session, user_name: str) -> list[str]:
    """The sets in which the user has records left to screen, oldest set first."""
    user = get_user(session, user_name)
    return list(session.scalars(select(ScreeningSet.name).where(ScreeningSet.id.in_(
        select(Assignment.set_id).where(Assignment.user_id == user.id, Assignment.done.is_(False))))
        .order_by(ScreeningSet.id)))
