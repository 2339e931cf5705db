"""The move from test screening (in pairs) to single screening, and the single-phase assignment.

The move is a recorded event with the figures that justified it: the set's agreement gate
(``screening.agreement_gate``) must be met, or a PI forces it with a reason, which is recorded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, ScreeningError
from screening.sampling import set_pairs
from screening.sets import get_set, kept_members
from screening.storage.models import Assignment, Sample, ScreeningSet, SetEvent, User
from screening.users import get_user, require_role


@dataclass
class PhaseResult:
    set: str
    assigned: dict[str, int]
    gate: dict[str, Any] | None
    forced: bool
    reasons: list[str] = field(default_factory=list)


def parse_weights(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        name, _, w = part.partition("=")
        try:
            out[name.strip()] = float(w)
        except ValueError:
            raise ScreeningError(f"--weights: {part!r} is not NAME=NUMBER.") from None
    return out


def assign_single(session: Session, st: ScreeningSet, weights: dict[str, float] | None = None) -> dict[str, int]:
    """Give every kept, unassigned record of the set to one screener: balanced, or by weights.

    Deterministic: records are shuffled with the seed of the set's first sample.
    """
    screeners = sorted({n for p in set_pairs(session, st) for n in p})
    if not screeners:
        raise ScreeningError(f"set {st.name} has no screeners yet: draw a sample with --pairs first.")
    users = {n: get_user(session, n) for n in screeners}
    weights = weights or {}
    unknown = set(weights) - set(screeners)
    if unknown:
        raise ScreeningError(f"--weights names {sorted(unknown)}, who do not screen set {st.name}.")
    assigned = set(session.scalars(select(Assignment.record_id).where(Assignment.set_id == st.id)))
    todo = [r for r in kept_members(session, st.id) if r not in assigned]
    seed = session.scalar(select(Sample.seed).where(Sample.set_id == st.id).order_by(Sample.id).limit(1)) or 0
    random.Random(seed).shuffle(todo)
    w = [weights.get(n, 1.0) for n in screeners]
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise ScreeningError("--weights must be zero or more and not all zero.")
    # largest-remainder apportionment: loads within one record of the weighted share
    quotas = [len(todo) * x / sum(w) for x in w]
    counts = [int(q) for q in quotas]
    for i in sorted(range(len(w)), key=lambda i: -(quotas[i] - counts[i]))[: len(todo) - sum(counts)]:
        counts[i] += 1
    rows, start, out = [], 0, {}
    for name, n in zip(screeners, counts, strict=True):
        for pos, rid in enumerate(todo[start:start + n], 1):
            rows.append({"set_id": st.id, "record_id": rid, "user_id": users[name].id, "batch_id": None,
                         "position": pos, "phase": "single"})
        out[name] = n
        start += n
    for i in range(0, len(rows), 5000):
        session.execute(insert(Assignment), rows[i:i + 5000])
    return out


def move_to_single(session: Session, set_name: str, pi_name: str, *, force: bool = False,
                   reason: str | None = None, weights: dict[str, float] | None = None) -> PhaseResult:
    """Close the test phase of a set when its gate is met (or a PI forces it, with a reason)."""
    pi = get_user(session, pi_name)
    require_role(pi, "pi", action="move a set to single screening")
    st = get_set(session, set_name)
    if st.phase == "single":
        added = assign_single(session, st, weights)
        return PhaseResult(st.name, added, None, False, ["already in single phase; new records assigned"])
    if force and not (reason and reason.strip()):
        raise ScreeningError("--force needs --reason TEXT (it is recorded).")
    from screening.agreement_gate import evaluate_set_gate

    gate = evaluate_set_gate(session, st)
    if not gate.met and not force:
        raise Conflict(f"the agreement gate of set {set_name} is not met: {'; '.join(gate.reasons)}. "
                       "Screen more batches (`screening sample --extend`), or use --force --reason TEXT.")
    st.phase = "single"
    assigned = assign_single(session, st, weights)
    session.add(SetEvent(set_id=st.id, kind="phase", actor=pi.name, payload={
        "phase": "single", "forced": bool(force and not gate.met), "reason": reason, "gate": gate.as_dict(),
        "assigned": assigned}))
    return PhaseResult(st.name, assigned, gate.as_dict(), bool(force and not gate.met), gate.reasons)


def screeners_of(session: Session, st: ScreeningSet) -> list[User]:
    return [get_user(session, n) for n in sorted({n for p in set_pairs(session, st) for n in p})]
