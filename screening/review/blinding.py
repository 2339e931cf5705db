"""Blinding: what a viewer may see of other people's decisions, decided in one place.

In the test phase nobody sees a partner's decision, reason or note until the batch is
reconciled, except a PI or admin who is not a member of that batch. Every view (queue,
history, status, conflicts, debrief, exports) asks :func:`visible`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.review.events import adjudications, current, is_conflict
from screening.storage.models import Assignment, Batch, Decision, User


@dataclass
class BatchState:
    """Where one test batch stands: who decided how much, and its conflicts."""

    batch_id: int
    number: int
    users: tuple[int, int]
    records: list[int]
    decided: dict[int, int] = field(default_factory=dict)  # user id -> records decided
    conflicts: list[int] = field(default_factory=list)  # records in conflict, not yet resolved
    resolved: list[int] = field(default_factory=list)

    @property
    def state(self) -> str:
        n = len(self.records)
        done = [self.decided.get(u, 0) for u in self.users]
        if min(done) < n:
            return "open" if max(done) < n else "awaiting partner"
        return "in conflict" if self.conflicts else "reconciled"


def batch_states(session: Session, set_id: int) -> list[BatchState]:
    """Every test batch of a set with its progress and conflicts, in batch order."""
    cur = current(session, set_id)
    adj = adjudications(session, set_id)
    states: dict[int, BatchState] = {}
    for b in session.scalars(select(Batch).where(Batch.set_id == set_id).order_by(Batch.number)):
        states[b.id] = BatchState(b.id, b.number, (b.user_a, b.user_b), [])
    rows = session.execute(select(Assignment.batch_id, Assignment.record_id, Assignment.user_id).where(
        Assignment.set_id == set_id, Assignment.phase == "test").order_by(Assignment.batch_id, Assignment.position))
    seen: set[tuple[int, int]] = set()
    for batch_id, rid, uid in rows:
        assert batch_id is not None  # test-phase assignments always have a batch
        state = states[batch_id]
        if (batch_id, rid) not in seen:
            state.records.append(rid)
            seen.add((batch_id, rid))
        if (rid, uid) in cur:
            state.decided[uid] = state.decided.get(uid, 0) + 1
    for state in states.values():
        first, second = state.users
        for rid in state.records:
            da, db = cur.get((rid, first)), cur.get((rid, second))
            if da and db and is_conflict(da.decision, db.decision):
                (state.resolved if rid in adj else state.conflicts).append(rid)
    return list(states.values())


def visible(session: Session, viewer: User | None, decision: Decision, *,
            states: dict[int, BatchState] | None = None) -> bool:
    """May ``viewer`` see ``decision`` (its value, reason and note)?

    Own decisions: always. Single-phase decisions and PI adjudications: yes. A test-phase
    decision of someone else: only once its batch is reconciled, or for a PI/admin who is not
    a member of that batch (they adjudicate; they are not screening it).
    """
    if viewer is not None and decision.user_id == viewer.id:
        return True
    if decision.kind == "adjudicate" or decision.phase != "test":
        return True
    batch_id = session.scalar(select(Assignment.batch_id).where(
        Assignment.set_id == decision.set_id, Assignment.record_id == decision.record_id,
        Assignment.user_id == decision.user_id, Assignment.phase == "test"))
    if batch_id is None:
        return False
    if states is None:
        states = {s.batch_id: s for s in batch_states(session, decision.set_id)}
    st = states.get(batch_id)
    if st is not None and st.state == "reconciled":
        return True
    return viewer is not None and viewer.role in ("pi", "admin") and viewer.id not in (st.users if st else ())
