"""What a PI decides: the conflicts of a set, their resolution, and the final decision per record."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import Ambiguous, Conflict, InvalidValue, NotFound
from screening.review.blinding import BatchState, Disclosure, batch_states, disclosure
from screening.review.events import FINAL, adjudications, current
from screening.review.sets import check_exclusion_reason, get_set
from screening.storage.limits import check_int64
from screening.storage.models import Assignment, Decision, Record, ScreeningSet, User
from screening.team.users import get_user, require_role


@dataclass
class ShownDecision:
    """A screener's decision as shown to someone allowed to see it."""

    user: str
    decision: str
    reason: str | None
    note: str | None

    @classmethod
    def of(cls, d: Decision, names: dict[int, str]) -> ShownDecision:
        return cls(names[d.user_id], d.decision, d.reason, d.note)


@dataclass
class ConflictCase:
    """A record waiting for the PI: the screeners' decisions side by side."""

    record_id: int
    batch: int | None  # None in the single phase (a maybe)
    phase: str
    decisions: list[ShownDecision]
    title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def conflicts(session: Session, set_name: str, pi_name: str, *, record_id: int | None = None
              ) -> list[ConflictCase]:
    """Records a PI must decide: disagreements and maybes of the test phase, maybes of the single phase.

    With ``record_id``, only that record's case if it is one (reading its batch alone: resolving
    one record must not scan a 100,000-record set)."""
    pi = get_user(session, pi_name)
    require_role(pi, "pi", action="list or resolve conflicts")
    st = get_set(session, set_name)
    only = [record_id] if record_id is not None else None
    cur = current(session, st.id, records=only)
    adj = adjudications(session, st.id, records=only)
    users = {u.id: u.name for u in session.scalars(select(User))}
    out: list[ConflictCase] = []
    states: list[BatchState] = []
    if record_id is None:
        states = batch_states(session, st.id)
    elif (batch_id := session.scalar(select(Assignment.batch_id).where(
            Assignment.set_id == st.id, Assignment.record_id == record_id, Assignment.phase == "test").limit(1))):
        states = batch_states(session, st.id, batch_id=batch_id)
    for s in states:
        if disclosure(pi, s) is Disclosure.NONE:
            continue  # a PI screening this batch must not see the partner's decisions before both finish
        for rid in s.conflicts:
            if record_id is None or rid == record_id:
                out.append(ConflictCase(rid, s.number, "test",
                                        [ShownDecision.of(cur[(rid, u)], users) for u in s.users]))
    single = select(Assignment.record_id, Assignment.user_id).where(Assignment.set_id == st.id,
                                                                    Assignment.phase == "single")
    if record_id is not None:
        single = single.where(Assignment.record_id == record_id)
    for rid, uid in session.execute(single):
        d = cur.get((rid, uid))
        if d is not None and d.decision == "maybe" and rid not in adj:
            out.append(ConflictCase(rid, None, "single", [ShownDecision.of(d, users)]))
    titles = dict(session.execute(select(Record.id, Record.title).where(
        Record.id.in_([c.record_id for c in out]))).all())
    for c in out:
        c.title = titles.get(c.record_id)
    return out


def resolve(session: Session, pi_name: str, record_id: int, decision: str, *, note: str | None = None,
            set_name: str | None = None, override: str | None = None, reason: str | None = None) -> Decision:
    """The PI's final decision on a record, stored beside the screeners' originals.

    A PI resolves what waits for them: a conflict, a maybe, a record dedup flagged after
    screening had started. Anything else (a record both screeners agreed on, one nobody has
    decided yet, a correction after the debrief) is an override, which needs its reason: it is
    recorded with the decision. A final decision never changes the agreement statistics or the
    gate, which rest on the screeners' own decisions.
    """
    pi = get_user(session, pi_name)
    require_role(pi, "pi", action="resolve conflicts")
    if decision not in FINAL:
        raise InvalidValue("decision", f"a final decision is include or exclude, not {decision!r}.", value=decision)
    check_int64(record_id, "record_id", what="a record id")
    set_ids = set(session.scalars(select(Assignment.set_id).where(Assignment.record_id == record_id)))
    if set_name:
        sid = get_set(session, set_name).id
        if sid not in set_ids:
            raise NotFound("record", record_id, f"record {record_id} is not being screened in set {set_name}.")
        set_ids = {sid}
    if not set_ids:
        raise NotFound("record", record_id, f"record {record_id} is not being screened in any set.")
    if len(set_ids) > 1:
        raise Ambiguous(record_id, sorted(session.scalars(select(ScreeningSet.name).where(
            ScreeningSet.id.in_(set_ids)))))
    set_id = set_ids.pop()
    if override is not None and not override.strip():
        raise InvalidValue("override", "an override needs its reason (it is recorded).")
    if override is None and not _waits_for_pi(session, set_id, record_id, pi.name):
        raise Conflict(f"record {record_id} is not waiting for a PI (no conflict, maybe or dedup flag); "
                       "changing its final decision is an override, with a reason.", reason="not_a_conflict")
    st = session.get_one(ScreeningSet, set_id)
    check_exclusion_reason(st, decision, reason)
    if override and reason:  # a full-text exclusion's reason is counted by PRISMA: it keeps the field
        note = f"override: {override.strip()}" + (f"; {note}" if note else "")
    elif override:
        reason = f"override: {override.strip()}"
    d = Decision(set_id=set_id, record_id=record_id, user_id=pi.id, kind="adjudicate", decision=decision,
                 reason=reason, note=note, phase="final")
    session.add(d)
    session.flush()
    return d


def _waits_for_pi(session: Session, set_id: int, record_id: int, pi_name: str) -> bool:
    """A conflict or maybe the PI may see, one they resolved before, or a record dedup flagged."""
    st = session.get_one(ScreeningSet, set_id)
    if record_id in adjudications(session, set_id):
        return True  # the PI revisits their own decision on a conflict
    if conflicts(session, st.name, pi_name, record_id=record_id):
        return True
    rec = session.get(Record, record_id)
    return rec is not None and rec.dedup_flag is not None


def final_decisions(session: Session, set_id: int | None = None) -> dict[int, str]:
    """The final decision per record: the PI's if any, else the pair's agreement, each once the record's
    batch is reconciled (before that, a final decision would tell one screener the other's); else the
    single screener's."""
    set_ids = [set_id] if set_id is not None else list(session.scalars(select(ScreeningSet.id)))
    out: dict[int, str] = {}
    for sid in set_ids:
        cur = current(session, sid)
        blind = {rid for s in batch_states(session, sid) if disclosure(None, s) is not Disclosure.FULL
                 for rid in s.records}  # a pair's agreement is final only once its batch is reconciled
        by_record: dict[int, list[str]] = defaultdict(list)
        assigned: dict[int, int] = defaultdict(int)
        for rid, uid in session.execute(select(Assignment.record_id, Assignment.user_id).where(
                Assignment.set_id == sid)):
            assigned[rid] += 1
            if (rid, uid) in cur:
                by_record[rid].append(cur[(rid, uid)].decision)
        for rid, ds in by_record.items():
            if rid not in blind and len(ds) == assigned[rid] and len(set(ds)) == 1 and ds[0] in FINAL:
                out[rid] = ds[0]
        for rid, d in adjudications(session, sid).items():
            if rid not in blind:  # a PI outside the pair may resolve early: final once the batch is reconciled
                out[rid] = d.decision
    return out
