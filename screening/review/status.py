"""Progress of a set: per batch (state), per screener, single phase. Counts only: no decisions leak."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.review.blinding import batch_states
from screening.review.events import current
from screening.review.sets import get_set, kept_members
from screening.storage.models import Assignment, User


def set_status(session: Session, set_name: str) -> dict[str, Any]:
    st = get_set(session, set_name)
    names = {u.id: u.name for u in session.scalars(select(User))}
    cur = current(session, st.id)
    batches = []
    for s in batch_states(session, st.id):
        batches.append({"batch": s.number, "pair": [names[u] for u in s.users], "records": len(s.records),
                        "progress": {names[u]: s.decided.get(u, 0) for u in s.users}, "state": s.state,
                        "conflicts_open": len(s.conflicts), "conflicts_resolved": len(s.resolved)})
    per_user: dict[str, dict[str, int]] = {}
    for rid, uid, phase in session.execute(select(Assignment.record_id, Assignment.user_id, Assignment.phase).where(
            Assignment.set_id == st.id)):
        p = per_user.setdefault(names[uid], {"test_assigned": 0, "test_done": 0, "single_assigned": 0,
                                             "single_done": 0})
        p[f"{phase}_assigned"] += 1
        p[f"{phase}_done"] += (rid, uid) in cur
    members = kept_members(session, st.id)
    return {"set": st.name, "phase": st.phase, "records": len(members), "batches": batches, "screeners": per_user}
