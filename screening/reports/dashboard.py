"""A set at a glance for its PI: progress, agreement per batch, the gate, conflicts, ranking progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from screening.errors import Conflict
from screening.prioritise.service import progress
from screening.prioritise.stopping import StoppingEstimate
from screening.review.conflicts import conflicts
from screening.review.gate import GateResult, evaluate_set_gate, gate_rule
from screening.review.ratings import agreement_by
from screening.review.sets import SetSettings, get_set
from screening.review.status import set_status
from screening.team.users import manager


@dataclass
class Dashboard:
    name: str
    phase: str
    criteria: str | None
    settings: SetSettings
    status: dict[str, Any]
    agreement: list[dict[str, Any]]  # per batch, each with its kappa and interval
    gate: GateResult
    gate_rule: dict[str, Any]
    conflicts_open: int
    stopping: StoppingEstimate | None  # single phase: the stopping test and estimated recall


def set_dashboard(session: Session, set_name: str, viewer_name: str | None) -> Dashboard:
    """Everything a PI watches on one set (a PI or admin only)."""
    who = manager(session, viewer_name, action="see a set's dashboard")
    st = get_set(session, set_name)
    stopping = None
    if st.phase == "single":
        try:
            stopping, _ = progress(session, set_name)
        except Conflict:
            stopping = None
    return Dashboard(
        st.name, st.phase, st.criteria, SetSettings.of(st), set_status(session, set_name, who.name),
        agreement_by(session, set_name, "batch", None, who.name), evaluate_set_gate(session, st),
        gate_rule(st).to_dict(), len(conflicts(session, set_name, who.name)) if who.role == "pi" else 0, stopping)
