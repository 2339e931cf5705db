"""The move from test screening (in pairs) to single screening.

The move is a recorded event with the figures that justified it: the set's agreement gate
(:mod:`screening.review.gate`) must be met, or a PI forces it with a reason, which is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from screening.errors import Conflict, GateNotMet, InvalidValue
from screening.review.assignment import assign_single
from screening.review.blinding import batch_states
from screening.review.gate import evaluate_set_gate
from screening.review.sets import get_set
from screening.storage.models import SetEvent
from screening.team.users import manager


@dataclass
class PhaseResult:
    set: str
    assigned: dict[str, int]
    gate: dict[str, Any] | None
    forced: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def move_to_single(session: Session, set_name: str, pi_name: str, *, force: bool = False,
                   reason: str | None = None, weights: dict[str, float] | None = None) -> PhaseResult:
    """Close the test phase of a set when its gate is met (or a PI forces it, with a reason)."""
    pi = manager(session, pi_name, action="move a set to single screening")
    st = get_set(session, set_name)
    if st.phase == "single":
        added = assign_single(session, st, weights)
        return PhaseResult(st.name, added, None, False, ["already in single phase; new records assigned"])
    if force and not (reason and reason.strip()):
        raise InvalidValue("reason", "forcing the move needs a reason (it is recorded).")
    unfinished = [s.number for s in batch_states(session, st.id) if not s.complete]
    if unfinished:
        raise Conflict(f"batch(es) {', '.join(map(str, unfinished))} of set {set_name} are still being screened in "
                       "pairs; finish them (or, as PI, decide what a departed screener left) before the move.",
                       reason="batches_open")
    gate = evaluate_set_gate(session, st)
    if not gate.met and not force:
        raise GateNotMet(set_name, gate.reasons)
    st.phase = "single"
    assigned = assign_single(session, st, weights)
    session.add(SetEvent(set_id=st.id, kind="phase", actor=pi.name, payload={
        "phase": "single", "forced": bool(force and not gate.met), "reason": reason, "gate": gate.as_dict(),
        "assigned": assigned}))
    return PhaseResult(st.name, assigned, gate.as_dict(), bool(force and not gate.met), gate.reasons)
