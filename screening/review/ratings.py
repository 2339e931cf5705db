"""Agreement in the workflow: the screeners' ratings per batch, pair, screener and set.

Ratings are the screeners' current decisions on test-sample records. Per set, the two
members of each batch are treated as two rater slots (first and second member), so that
Cohen's kappa is defined even when three screeners form three pairs; per pair and per
screener the raters are the people themselves. The statistics come from
:mod:`screening.agreement`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.agreement import agreement
from screening.errors import InvalidValue, NotFound
from screening.review.blinding import Disclosure, batch_states, disclosure
from screening.review.conflicts import final_decisions
from screening.review.events import current
from screening.review.sets import get_set
from screening.storage.models import ScreeningSet, User
from screening.team.users import get_user

GROUPINGS = ("batch", "pair", "screener", "set")


@dataclass
class BatchRatings:
    number: int
    users: tuple[str, str]
    ratings: list[tuple[int, str, str]]  # (record, user name, decision)
    complete: bool


def batch_ratings(session: Session, st: ScreeningSet, viewer: User | None = None) -> list[BatchRatings]:
    """The ratings of every batch the viewer may have statistics of (for no one in particular: the
    batches both members have finished)."""
    cur = current(session, st.id)
    names = {u.id: u.name for u in session.scalars(select(User))}
    out = []
    for s in batch_states(session, st.id):
        if disclosure(viewer, s) is Disclosure.NONE:
            continue  # the pair is still screening it: no statistic may hint at the partner's decisions
        ratings = []
        for rid in s.records:
            for uid in s.users:
                d = cur.get((rid, uid))
                if d is not None:
                    ratings.append((rid, names[uid], d.decision))
        out.append(BatchRatings(s.number, (names[s.users[0]], names[s.users[1]]), ratings, s.complete))
    return out


def slots(batches: list[BatchRatings]) -> list[tuple[int, str, str]]:
    """Ratings with the batch's first and second member as two rater slots."""
    out = []
    for b in batches:
        for rid, user, decision in b.ratings:
            out.append((rid, "first" if user == b.users[0] else "second", decision))
    return out


def agreement_by(session: Session, set_name: str, by: str = "batch", batch: int | None = None,
                 viewer_name: str | None = None) -> list[dict[str, Any]]:
    """Agreement entries per batch, pair, screener or for the whole set (contract shape + keys).

    Only batches whose pair has finished them count (all of them for a PI outside the pair).
    """
    st = get_set(session, set_name)
    viewer = get_user(session, viewer_name) if viewer_name else None
    if by not in GROUPINGS:
        raise InvalidValue("by", f"agreement is grouped by {', '.join(GROUPINGS)}, not {by!r}.", value=by)
    if batch is not None and not any(s.number == batch for s in batch_states(session, st.id)):
        raise NotFound("batch", batch, f"set {set_name} has no batch {batch}.")
    batches = [b for b in batch_ratings(session, st, viewer) if batch is None or b.number == batch]
    if by == "batch":
        return [{"batch": b.number, "pair": list(b.users), **agreement(b.ratings)} for b in batches]
    if by == "pair":
        pairs: dict[tuple[str, ...], list[tuple[int, str, str]]] = defaultdict(list)
        for b in batches:
            pairs[tuple(sorted(b.users))].extend(b.ratings)
        return [{"pair": list(p), **agreement(r)} for p, r in pairs.items()]
    if by == "screener":
        finals = final_decisions(session, st.id)
        people = sorted({u for b in batches for u in b.users})
        out = []
        for person in people:
            partner_ratings, final_ratings = [], []
            for b in batches:
                if person not in b.users:
                    continue
                for rid, user, decision in b.ratings:
                    partner_ratings.append((rid, person if user == person else "partner", decision))
                    if user == person:
                        final_ratings.append((rid, person, decision))
                        if rid in finals:
                            final_ratings.append((rid, "final", finals[rid]))
            out.append({"screener": person, **agreement(partner_ratings), "with_final": agreement(final_ratings)})
        return out
    return [{"set": st.name, **agreement(slots(batches))}]
