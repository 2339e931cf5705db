"""Deduplication while screening is under way: queues follow the merges.

Dedup may merge a record after it was sampled or assigned (a later import brought its twin,
or a person merged it by hand). The kept record then takes the removed one's place in every
queue, unless someone has already decided the removed one: those decisions are kept where
they are (the record is flagged by dedup) and the change is reported to the PI as a set event.
The commands that deduplicate (``dedup``, ``dedup merge``, ``dedup split``, ``dedup review``,
``dedup link``, ``dedup unlink``) go through this module so that queues never hold a removed
duplicate nobody has decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from screening.dedup import service
from screening.dedup.service import DedupSummary
from screening.review.counts import recount
from screening.storage.models import Assignment, Decision, Record, SetEvent, SetMember


@dataclass
class QueueChanges:
    """What following the merges changed in the screening queues, per set id."""

    moved: dict[int, list[list[int]]] = field(default_factory=dict)  # [removed, kept, user]: kept took its place
    dropped: dict[int, list[list[int]]] = field(default_factory=dict)  # [removed, kept, user]: kept was there already
    decided: dict[int, list[int]] = field(default_factory=dict)  # removed records already decided: left as they are

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> int:
        return sum(map(len, self.moved.values())) + sum(map(len, self.dropped.values()))


def follow_merges(session: Session) -> QueueChanges:
    """Put each kept record in the place of its removed duplicates that nobody has decided yet."""
    out = QueueChanges()
    parent = {rid: dup for rid, dup in session.execute(select(Record.id, Record.duplicate_of).where(
        Record.duplicate_of.is_not(None), Record.id.in_(select(Assignment.record_id)))) if dup is not None}
    if not parent:
        return out
    rows = list(session.scalars(select(Assignment).where(Assignment.record_id.in_(list(parent)))))
    decided = {(s, r) for s, r in session.execute(select(Decision.set_id, Decision.record_id).where(
        Decision.record_id.in_(list(parent))))}
    by_record: dict[tuple[int, int], list[Assignment]] = defaultdict(list)
    for a in rows:
        by_record[(a.set_id, a.record_id)].append(a)  # a test record's pair moves together
    for (set_id, removed), assignments in sorted(by_record.items()):
        if (set_id, removed) in decided:
            out.decided.setdefault(set_id, []).append(removed)
            continue
        kept = _root(parent, removed)
        holders = set(session.scalars(select(Assignment.user_id).where(
            Assignment.set_id == set_id, Assignment.record_id == kept)))
        for a in assignments:
            if holders:  # the kept record is screened in this set already: the twin just leaves the queue
                session.execute(delete(Assignment).where(Assignment.id == a.id))
                out.dropped.setdefault(set_id, []).append([removed, kept, a.user_id])
            else:
                session.execute(update(Assignment).where(Assignment.id == a.id).values(record_id=kept))
                out.moved.setdefault(set_id, []).append([removed, kept, a.user_id])
        if not holders and session.scalar(select(SetMember.id).where(
                SetMember.set_id == set_id, SetMember.record_id == kept)) is None:
            session.add(SetMember(set_id=set_id, record_id=kept, added_via=f"dedup: kept record of {removed}"))
    for set_id in set(out.dropped):  # a screener holds one record fewer there
        recount(session, set_id)
    for set_id in set(out.moved) | set(out.dropped) | set(out.decided):
        session.add(SetEvent(set_id=set_id, kind="dedup", actor=None, payload={
            "moved": out.moved.get(set_id, []), "dropped": out.dropped.get(set_id, []),
            "decided_duplicates": out.decided.get(set_id, [])}))
    session.flush()
    return out


def _root(parent: dict[int, int], rid: int) -> int:
    while rid in parent:
        rid = parent[rid]
    return rid


def deduplicate(session: Session, *, progress: Callable[[int], None] | None = None
                ) -> tuple[DedupSummary, QueueChanges]:
    """An automatic dedup pass, then the queues follow its merges."""
    summary = service.run_dedup(session, progress=progress)
    return summary, follow_merges(session)


def merge(session: Session, a: int, b: int, *, by: str | None, note: str | None = None) -> QueueChanges:
    """A person merges two records (and their groups); the queues follow."""
    service.merge_records(session, a, b, by=by, note=note)
    return follow_merges(session)


def split(session: Session, record_id: int, *, by: str | None, note: str | None = None) -> tuple[int, QueueChanges]:
    """A person takes a record out of its group; the queues follow the regrouping."""
    n = service.split_record(session, record_id, by=by, note=note)
    return n, follow_merges(session)


def link(session: Session, notice: int, article: int, relation: str, *, by: str | None,
         note: str | None = None) -> QueueChanges:
    """A person links two related records; the pass that stores the link may merge new records: queues follow."""
    service.link_records(session, notice, article, relation, by=by, note=note)
    return follow_merges(session)


def unlink(session: Session, a: int, b: int, *, by: str | None, note: str | None = None) -> QueueChanges:
    """A person says two records are not related; the pass that drops the link may merge new records too."""
    service.unlink_records(session, a, b, by=by, note=note)
    return follow_merges(session)


def answer(session: Session, a: int, b: int, duplicates: bool, *, by: str | None) -> None:
    """A person's answer on a queued pair (recorded; applied by the next :func:`deduplicate`)."""
    service.record_decision(session, a, b, "merge" if duplicates else "split", by=by)
