"""Who screens what in the single phase: every remaining record to one screener of the set.

The test phase assigns records in batches to pairs (:mod:`screening.review.sampling`); once a
set moves to single screening, the rest is split across the set's screeners, balanced or by
weights, deterministically from the seed of the set's first sample.
"""

from __future__ import annotations

import math
import random

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue
from screening.review.counts import recount
from screening.review.sets import kept_members
from screening.storage.models import Assignment, Sample, ScreeningSet, User
from screening.team.users import get_user


def set_pairs(session: Session, st: ScreeningSet) -> list[tuple[str, str]]:
    """The pairs of a set's samples, in the order first used."""
    seen: dict[tuple[str, str], None] = {}
    for s in session.scalars(select(Sample).where(Sample.set_id == st.id).order_by(Sample.id)):
        for a, b in s.pairs:
            seen[(a, b)] = None
    return list(seen)


def screeners_of(session: Session, st: ScreeningSet) -> list[User]:
    """Everyone who screens the set (the members of its pairs, or the screeners named for a set
    screened singly from the start), by name."""
    names = {n for p in set_pairs(session, st) for n in p} | set((st.settings or {}).get("screeners") or [])
    return [get_user(session, n) for n in sorted(names)]


def apportion(n: int, weights: list[float]) -> list[int]:
    """Split ``n`` records by ``weights``, each share within one record of its exact quota
    (largest-remainder apportionment)."""
    total = sum(weights)
    quotas = [n * w / total for w in weights]
    counts = [int(q) for q in quotas]
    for i in sorted(range(len(weights)), key=lambda i: -(quotas[i] - counts[i]))[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_single(session: Session, st: ScreeningSet, weights: dict[str, float] | None = None) -> dict[str, int]:
    """Give every kept, unassigned record of the set to one screener: balanced, or by weights.

    Deterministic: records are shuffled with the seed of the set's first sample.
    """
    screeners = [u.name for u in screeners_of(session, st)]
    if not screeners:
        raise Conflict(f"set {st.name} has no screeners yet: draw a sample with pairs first.", reason="no_screeners")
    users = {n: get_user(session, n) for n in screeners}
    weights = weights or {}
    unknown = set(weights) - set(screeners)
    if unknown:
        raise InvalidValue("weights", f"the weights name {', '.join(sorted(unknown))}, who do not screen set "
                           f"{st.name}.", value=weights)
    w = [weights.get(n, 1.0) for n in screeners]
    if not all(math.isfinite(x) and x > 0 for x in w):
        raise InvalidValue("weights", "weights must be finite numbers above zero.", value=weights)
    assigned = set(session.scalars(select(Assignment.record_id).where(Assignment.set_id == st.id)))
    todo = [r for r in kept_members(session, st.id) if r not in assigned]
    seed = session.scalar(select(Sample.seed).where(Sample.set_id == st.id).order_by(Sample.id).limit(1))
    if seed is None:
        seed = int((st.settings or {}).get("seed") or 0)
    random.Random(seed).shuffle(todo)
    rows, start, out = [], 0, {}
    for name, n in zip(screeners, apportion(len(todo), w), strict=True):
        for pos, rid in enumerate(todo[start:start + n], 1):
            rows.append({"set_id": st.id, "record_id": rid, "user_id": users[name].id, "batch_id": None,
                         "position": pos, "phase": "single"})
        out[name] = n
        start += n
    for i in range(0, len(rows), 5000):
        session.execute(insert(Assignment), rows[i:i + 5000])
    recount(session, st.id)
    return out
