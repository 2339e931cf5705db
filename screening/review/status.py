"""Progress of a set: per batch (state), per screener, single phase. Counts only: no decisions leak."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.review.blinding import Disclosure, batch_states, disclosure
from screening.review.events import current
from screening.review.sets import get_set, kept_members
from screening.storage.models import Assignment, User
from screening.team.users import get_user


def set_status(session: Session, set_name: str, viewer_name: str | None = None) -> dict[str, Any]:
    """Progress of a set. Conflict counts of a batch appear once its pair has finished it (or for a
    PI outside the pair): before that they would tell the pair how the partner decided."""
    st = get_set(session, set_name)
    viewer = get_user(session, viewer_name) if viewer_name else None
    names = {u.id: u.name for u in session.scalars(select(User))}
    cur = current(session, st.id)
    batches = []
    for s in batch_states(session, st.id):
        shown = disclosure(viewer, s) is not Disclosure.NONE
        batches.append({"batch": s.number, "pair": [names[u] for u in s.users], "records": len(s.records),
                        "progress": {names[u]: s.decided.get(u, 0) for u in s.users}, "state": s.state,
                        "conflicts_open": len(s.conflicts) if shown else None,
                        "conflicts_resolved": len(s.resolved) if shown else None})
    per_user: dict[str, dict[str, int]] = {}
    for rid, uid, phase in session.execute(select(Assignment.record_id, Assignment.user_id, Assignment.phase).where(
            Assignment.set_id == st.id).order_by(Assignment.user_id, Assignment.id)):
        p = per_user.setdefault(names[uid], {"test_assigned": 0, "test_done": 0, "single_assigned": 0,
                                             "single_done": 0})
        p[f"{phase}_assigned"] += 1
        p[f"{phase}_done"] += (rid, uid) in cur
    members = kept_members(session, st.id)
    return {"set": st.name, "phase": st.phase, "records": len(members), "batches": batches, "screeners": per_user}
