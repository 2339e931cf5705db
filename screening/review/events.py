"""The decision log read back: each user's current decision per record, and the PI's finals.

Every decision is a row that is never updated or deleted. The current decision of a user on a
record is their latest event; a ``retract`` event (undo) withdraws it. Everything else in the
review (blinding, conflicts, agreement, exports) is derived from this log.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.storage.models import Decision

DECISIONS = ("include", "exclude", "maybe")  # what a screener may decide
FINAL = ("include", "exclude")  # what a final decision may be


def current(session: Session, set_id: int, *, kind: str = "screen",
            records: Collection[int] | None = None) -> dict[tuple[int, int], Decision]:
    """The current (latest, not retracted) decision per (record, user) in a set (or some of its records)."""
    out: dict[tuple[int, int], Decision] = {}
    stmt = select(Decision).where(Decision.set_id == set_id, Decision.kind == kind).order_by(Decision.id)
    if records is not None:
        stmt = stmt.where(Decision.record_id.in_(list(records)))
    for d in session.scalars(stmt):
        key = (d.record_id, d.user_id)
        if d.decision == "retract":
            out.pop(key, None)
        else:
            out[key] = d
    return out


def adjudications(session: Session, set_id: int, records: Collection[int] | None = None) -> dict[int, Decision]:
    """The PI's current final decision per record of a set (the latest, whoever the PI)."""
    return {rid: d for (rid, _), d in sorted(current(session, set_id, kind="adjudicate", records=records).items(),
                                              key=lambda kv: kv[1].id)}


def is_conflict(a: str, b: str) -> bool:
    """Two decisions disagree; a maybe against anything (even another maybe) needs a PI."""
    return a != b or "maybe" in (a, b)
