"""Screening decisions: append-only events, the current decision, blinding, conflicts, finals.

Every decision is a row that is never updated or deleted. The current decision of a user on a
record is their latest event; a ``retract`` event (undo) withdraws it. Blinding is enforced
here, in one function (:func:`visible`), that every view (queue, history, status, conflicts,
exports) goes through: in the test phase nobody sees a partner's decision, reason or note until
the batch is reconciled, except a PI or admin who is not a member of that batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import NotAllowed, NotFound, ScreeningError
from screening.sets import get_set
from screening.storage.models import Assignment, Batch, Decision, Record, RecordScore, ScreeningSet, User
from screening.users import get_user, require_role

DECISIONS = ("include", "exclude", "maybe")
FINAL = ("include", "exclude")


def current(session: Session, set_id: int, *, kind: str = "screen") -> dict[tuple[int, int], Decision]:
    """The current (latest, not retracted) decision per (record, user) in a set."""
    out: dict[tuple[int, int], Decision] = {}
    for d in session.scalars(select(Decision).where(Decision.set_id == set_id, Decision.kind == kind)
                             .order_by(Decision.id)):
        key = (d.record_id, d.user_id)
        if d.decision == "retract":
            out.pop(key, None)
        else:
            out[key] = d
    return out


def _adjudications(session: Session, set_id: int) -> dict[int, Decision]:
    return {rid: d for (rid, _), d in sorted(current(session, set_id, kind="adjudicate").items(),
                                              key=lambda kv: kv[1].id)}


@dataclass
class BatchState:
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


def is_conflict(a: str, b: str) -> bool:
    """Two decisions disagree; a maybe against anything (even another maybe) needs a PI."""
    return a != b or "maybe" in (a, b)


def batch_states(session: Session, set_id: int) -> list[BatchState]:
    cur = current(session, set_id)
    adj = _adjudications(session, set_id)
    states: dict[int, BatchState] = {}
    for b in session.scalars(select(Batch).where(Batch.set_id == set_id).order_by(Batch.number)):
        states[b.id] = BatchState(b.id, b.number, (b.user_a, b.user_b), [])
    rows = session.execute(select(Assignment.batch_id, Assignment.record_id, Assignment.user_id).where(
        Assignment.set_id == set_id, Assignment.phase == "test").order_by(Assignment.batch_id, Assignment.position))
    seen: set[tuple[int, int]] = set()
    for batch_id, rid, uid in rows:
        st = states[batch_id]
        if (batch_id, rid) not in seen:
            st.records.append(rid)
            seen.add((batch_id, rid))
        if (rid, uid) in cur:
            st.decided[uid] = st.decided.get(uid, 0) + 1
    for st in states.values():
        a, b = st.users
        for rid in st.records:
            da, db = cur.get((rid, a)), cur.get((rid, b))
            if da and db and is_conflict(da.decision, db.decision):
                (st.resolved if rid in adj else st.conflicts).append(rid)
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


def _assignments(session: Session, user: User, record_id: int, set_name: str | None) -> Assignment:
    stmt = select(Assignment).where(Assignment.user_id == user.id, Assignment.record_id == record_id)
    if set_name:
        stmt = stmt.where(Assignment.set_id == get_set(session, set_name).id)
    found = list(session.scalars(stmt))
    if not found:
        if session.get(Record, record_id) is None:
            raise NotFound(f"no record {record_id}.")
        raise NotAllowed(f"record {record_id} is not assigned to {user.name}"
                         + (f" in set {set_name}" if set_name else "") + "; see `screening queue`.")
    if len({a.set_id for a in found}) > 1:
        raise ScreeningError(f"record {record_id} is in several of {user.name}'s sets; say which with --set.")
    return found[0]


def record_decision(session: Session, user_name: str, record_id: int, decision: str, *,
                    reason: str | None = None, note: str | None = None, set_name: str | None = None) -> Decision:
    """A screener's decision on an assigned record (a new event; earlier ones stay)."""
    if decision not in DECISIONS:
        raise ScreeningError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}.")
    user = get_user(session, user_name)
    a = _assignments(session, user, record_id, set_name)
    d = Decision(set_id=a.set_id, record_id=record_id, user_id=user.id, kind="screen", decision=decision,
                 reason=reason, note=note, phase=a.phase)
    session.add(d)
    session.flush()
    return d


def retract_last(session: Session, user_name: str, *, set_name: str | None = None) -> Decision | None:
    """Undo: withdraw the user's latest standing decision (a new ``retract`` event)."""
    user = get_user(session, user_name)
    stmt = select(Decision).where(Decision.user_id == user.id, Decision.kind == "screen").order_by(Decision.id.desc())
    if set_name:
        stmt = stmt.where(Decision.set_id == get_set(session, set_name).id)
    withdrawn: set[tuple[int, int]] = set()
    for d in session.scalars(stmt):
        key = (d.set_id, d.record_id)
        if d.decision == "retract":
            withdrawn.add(key)
            continue
        if key in withdrawn:
            continue
        r = Decision(set_id=d.set_id, record_id=d.record_id, user_id=user.id, kind="screen", decision="retract",
                     reason=f"undo of decision {d.id}", phase=d.phase)
        session.add(r)
        session.flush()
        return d
    return None


def queue(session: Session, user_name: str, *, set_name: str | None = None, include_done: bool = False
          ) -> list[dict[str, Any]]:
    """The user's records to screen, test batches first (in batch order), then single phase by priority.

    Nothing here tells anything about other users' decisions.
    """
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
    items = []
    for a, sname in rows:
        done = (a.set_id, a.record_id) in mine
        if done and not include_done:
            continue
        items.append((a, sname, done))
    # test batches keep their random order (agreement must not be biased by ranking); single phase by score
    items.sort(key=lambda t: (t[0].phase != "test", batch_no.get(t[0].batch_id or 0, 0),
                              0.0 if t[0].phase == "test" else -scores.get((t[0].set_id, t[0].record_id), 0.0),
                              t[0].position, t[0].record_id))
    recs = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_([a.record_id for a, _, _ in items])))}
    out = []
    for a, sname, _done in items:
        r = recs[a.record_id]
        entry = {"record_id": r.id, "title": r.title, "abstract": r.abstract, "authors": list(r.authors or []),
                 "year": r.year, "journal": r.journal, "keywords": list(r.keywords or []), "set": sname,
                 "batch": batch_no.get(a.batch_id) if a.batch_id else None, "position": a.position,
                 "phase": a.phase, "score": scores.get((a.set_id, a.record_id))}
        if include_done:
            own = mine.get((a.set_id, a.record_id))
            entry["my_decision"] = own.decision if own else None
        out.append(entry)
    return out


def conflicts(session: Session, set_name: str, pi_name: str) -> list[dict[str, Any]]:
    """Records a PI must decide: disagreements and maybes of the test phase, maybes of the single phase."""
    pi = get_user(session, pi_name)
    require_role(pi, "pi", action="list or resolve conflicts")
    st = get_set(session, set_name)
    cur = current(session, st.id)
    adj = _adjudications(session, st.id)
    users = {u.id: u.name for u in session.scalars(select(User))}
    states = batch_states(session, st.id)
    out = []
    for s in states:
        if pi.id in s.users and s.state in ("open", "awaiting partner"):
            continue  # a PI screening this batch must not see the partner's decisions yet
        for rid in s.conflicts:
            ds = [cur[(rid, u)] for u in s.users]
            out.append({"record_id": rid, "batch": s.number, "phase": "test", "decisions": [
                {"user": users[d.user_id], "decision": d.decision, "reason": d.reason, "note": d.note} for d in ds]})
    single = select(Assignment.record_id, Assignment.user_id).where(Assignment.set_id == st.id,
                                                                    Assignment.phase == "single")
    for rid, uid in session.execute(single):
        d = cur.get((rid, uid))
        if d is not None and d.decision == "maybe" and rid not in adj:
            out.append({"record_id": rid, "batch": None, "phase": "single", "decisions": [
                {"user": users[uid], "decision": d.decision, "reason": d.reason, "note": d.note}]})
    titles = dict(session.execute(select(Record.id, Record.title).where(
        Record.id.in_([c["record_id"] for c in out]))).all())
    for c in out:
        c["title"] = titles.get(c["record_id"])
    return out


def resolve(session: Session, pi_name: str, record_id: int, decision: str, *, note: str | None = None,
            set_name: str | None = None) -> Decision:
    """The PI's final decision on a record, stored beside the screeners' originals."""
    pi = get_user(session, pi_name)
    require_role(pi, "pi", action="resolve conflicts")
    if decision not in FINAL:
        raise ScreeningError(f"a final decision is include or exclude, not {decision!r}.")
    set_ids = set(session.scalars(select(Assignment.set_id).where(Assignment.record_id == record_id)))
    if set_name:
        sid = get_set(session, set_name).id
        if sid not in set_ids:
            raise NotFound(f"record {record_id} is not being screened in set {set_name}.")
        set_ids = {sid}
    if not set_ids:
        raise NotFound(f"record {record_id} is not being screened in any set.")
    if len(set_ids) > 1:
        raise ScreeningError(f"record {record_id} is in several sets; say which with --set.")
    d = Decision(set_id=set_ids.pop(), record_id=record_id, user_id=pi.id, kind="adjudicate", decision=decision,
                 note=note, phase="final")
    session.add(d)
    session.flush()
    return d


def final_decisions(session: Session, set_id: int | None = None) -> dict[int, str]:
    """The final decision per record: the PI's if any, else the pair's agreement, else the single screener's."""
    set_ids = [set_id] if set_id is not None else list(session.scalars(select(ScreeningSet.id)))
    out: dict[int, str] = {}
    for sid in set_ids:
        cur = current(session, sid)
        by_record: dict[int, list[str]] = defaultdict(list)
        assigned: dict[int, int] = defaultdict(int)
        for rid, uid in session.execute(select(Assignment.record_id, Assignment.user_id).where(
                Assignment.set_id == sid)):
            assigned[rid] += 1
            if (rid, uid) in cur:
                by_record[rid].append(cur[(rid, uid)].decision)
        for rid, ds in by_record.items():
            if len(ds) == assigned[rid] and len(set(ds)) == 1 and ds[0] in FINAL:
                out[rid] = ds[0]
        for rid, d in _adjudications(session, sid).items():
            out[rid] = d.decision
    return out


def history(session: Session, record_id: int, viewer_name: str | None = None) -> list[dict[str, Any]]:
    """Every event on a record, oldest first; what the viewer may not see yet is masked."""
    if session.get(Record, record_id) is None:
        raise NotFound(f"no record {record_id}.")
    viewer = get_user(session, viewer_name) if viewer_name else None
    users = {u.id: u.name for u in session.scalars(select(User))}
    sets = {s.id: s.name for s in session.scalars(select(ScreeningSet))}
    cache: dict[int, dict[int, BatchState]] = {}
    out = []
    for d in session.scalars(select(Decision).where(Decision.record_id == record_id).order_by(Decision.id)):
        if d.set_id not in cache:
            cache[d.set_id] = {s.batch_id: s for s in batch_states(session, d.set_id)}
        shown = visible(session, viewer, d, states=cache[d.set_id])
        out.append({"at": d.at.isoformat(timespec="seconds"), "set": sets[d.set_id], "user": users[d.user_id],
                    "kind": d.kind, "phase": d.phase, "decision": d.decision if shown else "(blinded)",
                    "reason": d.reason if shown else None, "note": d.note if shown else None})
    return out
