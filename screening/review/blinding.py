"""Blinding: what a viewer may learn of other people's decisions, decided in one place.

A test batch is screened blind by its pair. What anyone may learn about it depends on how far
it is (:func:`disclosure`):

* while the pair is still screening it (``open``, ``awaiting partner``): nothing derived from
  a decision (no conflict count, no statistic, no final decision, no event in a history);
* once both have finished (``complete``): its decisions are frozen (no screener may change or
  withdraw them, so nothing learnt can be used to game them) and aggregates may be shown:
  conflict counts and agreement statistics;
* once every record has a final decision (``reconciled``): everything, decision by decision,
  for the debrief.

A PI or admin who is not a member of the pair sees everything at once: they adjudicate, they
are not screening it. Every view (queue, history, status, agreement, conflicts, debrief,
exports) asks this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from screening.review.events import adjudications, current, is_conflict
from screening.storage.models import Assignment, Batch, Decision, User
from screening.team.users import MANAGERS


class Disclosure(IntEnum):
    """How much of a batch's decisions a viewer may learn, in increasing order."""

    NONE = 0  # the pair is still screening: nothing derived from a decision
    AGGREGATE = 1  # both finished, decisions frozen: counts and statistics
    FULL = 2  # reconciled (or a PI outside the pair): every decision, reason and note


@dataclass
class BatchState:
    """Where one test batch stands: who decided how much, and its conflicts."""

    batch_id: int
    number: int
    users: tuple[int, int]
    records: list[int]
    decided: dict[int, int] = field(default_factory=dict)  # user id -> records decided
    conflicts: list[int] = field(default_factory=list)  # records in conflict, not yet resolved
    resolved: list[int] = field(default_factory=list)  # records in conflict that the PI resolved
    final: int = 0  # records with a final decision: both agree, or the PI decided

    @property
    def complete(self) -> bool:
        """Both members have decided every record (or the PI has decided what they left)."""
        n = len(self.records)
        return self.final == n or min(self.decided.get(u, 0) for u in self.users) >= n

    @property
    def state(self) -> str:
        n = len(self.records)
        if self.final == n:
            return "reconciled"
        if self.complete:
            return "in conflict"
        return "awaiting partner" if max(self.decided.get(u, 0) for u in self.users) >= n else "open"


def batch_states(session: Session, set_id: int, *, batch_id: int | None = None) -> list[BatchState]:
    """Every test batch of a set (or just one) with its progress and conflicts, in batch order."""
    batches = select(Batch).where(Batch.set_id == set_id).order_by(Batch.number)
    assigned = select(Assignment.batch_id, Assignment.record_id, Assignment.user_id).where(
        Assignment.set_id == set_id, Assignment.phase == "test").order_by(Assignment.batch_id, Assignment.position)
    in_batch: list[int] | None = None
    if batch_id is not None:  # one batch: a decision's check reads only its records (writers hold the lock)
        batches = batches.where(Batch.id == batch_id)
        assigned = assigned.where(Assignment.batch_id == batch_id)
        in_batch = list(session.scalars(select(Assignment.record_id).where(Assignment.batch_id == batch_id)))
    cur = current(session, set_id, records=in_batch)
    adj = adjudications(session, set_id, records=in_batch)
    states: dict[int, BatchState] = {}
    for b in session.scalars(batches):
        states[b.id] = BatchState(b.id, b.number, (b.user_a, b.user_b), [])
    rows = session.execute(assigned)
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
            agreed = bool(da and db and not is_conflict(da.decision, db.decision))
            if da and db and not agreed:
                (state.resolved if rid in adj else state.conflicts).append(rid)
            state.final += agreed or rid in adj
    return list(states.values())


def disclosure(viewer: User | None, state: BatchState) -> Disclosure:
    """How much of ``state``'s batch ``viewer`` may learn (``None``: someone who did not say who they are)."""
    if state.state == "reconciled":
        return Disclosure.FULL
    if viewer is not None and viewer.role in MANAGERS and viewer.id not in state.users:
        return Disclosure.FULL
    return Disclosure.AGGREGATE if state.complete else Disclosure.NONE


def batch_of(session: Session, decision: Decision) -> int | None:
    """The test batch a decision's record is in for its set (None outside the test sample)."""
    return session.scalar(select(Assignment.batch_id).where(
        Assignment.set_id == decision.set_id, Assignment.record_id == decision.record_id,
        Assignment.phase == "test").limit(1))


def visible(session: Session, viewer: User | None, decision: Decision, *,
            states: dict[int, BatchState] | None = None) -> bool:
    """May ``viewer`` see ``decision`` (that it exists, its value, reason and note)?

    Own decisions: always. Decisions on records outside the test sample (single phase, and the
    PI's finals on them): yes. Anything on a test-sample record, a PI's final included: only with
    full disclosure of its batch.
    """
    if viewer is not None and decision.user_id == viewer.id:
        return True
    batch_id = batch_of(session, decision)
    if batch_id is None:
        return True
    if states is None:
        states = {s.batch_id: s for s in batch_states(session, decision.set_id)}
    return disclosure(viewer, states[batch_id]) is Disclosure.FULL


def frozen(state: BatchState) -> bool:
    """Decisions of a complete batch are frozen: the statistics, the gate and the PI rest on them."""
    return state.complete


_UNDONE_AND_DECIDED = select(  # built once: every decision runs it
    select(func.count()).select_from(Assignment).where(
        Assignment.batch_id == bindparam("batch_id"), Assignment.done.is_(False)).scalar_subquery(),
    select(func.count()).select_from(Decision).where(
        Decision.set_id == bindparam("set_id"), Decision.kind == "adjudicate",
        Decision.record_id.in_(select(Assignment.record_id).where(Assignment.batch_id == bindparam("batch_id"))))
    .scalar_subquery())


def frozen_batch(session: Session, set_id: int, batch_id: int) -> BatchState | None:
    """The batch's state if it is frozen, else None; cheap while the pair is still screening it.

    Every decision asks this, so the common answer (someone has records left, the PI has decided
    none of them) comes from the assignments' ``done`` flags in one query; the full state is
    worked out only when the batch may be complete.
    """
    undone, decided_by_pi = session.execute(_UNDONE_AND_DECIDED, {"batch_id": batch_id, "set_id": set_id}).one()
    if undone and not decided_by_pi:
        return None  # records left and no final decision on any of them: still open
    (state,) = batch_states(session, set_id, batch_id=batch_id)
    return state if frozen(state) else None
