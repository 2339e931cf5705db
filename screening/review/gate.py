"""The agreement gate of a set: when test screening in pairs may give way to single screening.

A set's gate is a rule (a statistic, a threshold, the last K batches, a minimum number of
items), stored with the set and changed only by a recorded event. It is judged on completed
batches only, with the same statistics as every agreement report.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from screening.agreement import agreement
from screening.errors import InvalidValue
from screening.review.ratings import batch_ratings, slots
from screening.review.sets import get_set
from screening.storage.models import ScreeningSet, SetEvent
from screening.team.users import manager

STATISTICS = {"kappa": ("cohen_kappa", "value"), "ac1": ("gwet_ac1", "value"), "pabak": ("pabak", None),
              "alpha": ("krippendorff_alpha", None)}
STATISTIC_RANGE = (-1.0, 1.0)  # every statistic above is at most 1 (perfect) and, in practice, at least -1


@dataclass
class GateRule:
    """When test screening may stop: ``statistic`` >= ``threshold`` on the last ``last_k`` completed
    batches and on the whole sample so far, with at least ``min_items`` items in the sample."""

    statistic: str = "kappa"
    threshold: float = 0.6
    min_items: int = 100
    last_k: int = 1

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> GateRule:
        rule = cls(**(d or {}))
        if rule.statistic not in STATISTICS:
            raise InvalidValue("statistic", f"the gate's statistic must be one of {', '.join(STATISTICS)}, "
                               f"not {rule.statistic!r}.", value=rule.statistic)
        low, high = STATISTIC_RANGE
        if not (math.isfinite(rule.threshold) and low <= rule.threshold <= high):
            raise InvalidValue("threshold", f"the gate's threshold must be a number from {low} to {high}, "
                               f"not {rule.threshold}.", value=rule.threshold)
        if rule.last_k < 1:
            raise InvalidValue("last_k", f"the gate judges at least the last batch, not {rule.last_k}.",
                               value=rule.last_k)
        if not 1 <= rule.min_items <= 10**9:
            raise InvalidValue("min_items", f"the gate needs at least 1 item, not {rule.min_items}.",
                               value=rule.min_items)
        if rule.last_k > 10**6:
            raise InvalidValue("last_k", f"the gate cannot judge the last {rule.last_k} batches.", value=rule.last_k)
        return rule

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def value(self, stats: dict[str, Any]) -> float | None:
        key, sub = STATISTICS[self.statistic]
        v = stats.get(key)
        return (v or {}).get("value") if sub else v


@dataclass
class GateResult:
    met: bool
    rule: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"met": self.met, "rule": self.rule, "figures": self.figures, "reasons": self.reasons}


def gate_rule(st: ScreeningSet) -> GateRule:
    return GateRule.from_dict(st.gate)


def set_gate(session: Session, set_name: str, rule: dict[str, Any], *, actor: str | None = None) -> GateRule:
    """Change a set's gate (a PI or admin; recorded as an event, with the old rule)."""
    who = manager(session, actor, action="change a set's agreement gate")
    st = get_set(session, set_name)
    unknown = set(rule) - set(GateRule.__dataclass_fields__)
    if unknown:
        raise InvalidValue(sorted(unknown)[0], f"a gate has no setting {sorted(unknown)[0]!r}.")
    new = GateRule.from_dict({**gate_rule(st).to_dict(), **rule})
    session.add(SetEvent(set_id=st.id, kind="gate", actor=who.name, payload={"old": st.gate, "new": new.to_dict()}))
    st.gate = new.to_dict()
    return new


def evaluate_set_gate(session: Session, st: ScreeningSet) -> GateResult:
    """Is agreement good enough to move the set to single screening? Uses completed batches only."""
    rule = gate_rule(st)
    done = [b for b in batch_ratings(session, st) if b.complete]
    result = GateResult(False, rule.to_dict())
    if not done:
        result.reasons.append("no batch has been screened by both members yet")
        return result
    last = done[-rule.last_k:]
    whole = agreement(slots(done))
    recent = agreement(slots(last))
    v_whole, v_recent = rule.value(whole), rule.value(recent)
    result.figures = {"statistic": rule.statistic, "whole_sample": v_whole, "whole_sample_items": whole["n_items"],
                      "last_batches": [b.number for b in last], "last": v_recent, "last_items": recent["n_items"],
                      "whole": whole, "recent": recent}
    if whole["n_items"] < rule.min_items:
        result.reasons.append(f"only {whole['n_items']} items screened in pairs; the gate needs {rule.min_items}")
    for label, v in (("whole sample", v_whole), (f"last {len(last)} batch(es)", v_recent)):
        if v is None:
            result.reasons.append(f"{rule.statistic} on the {label} is undefined")
        elif v < rule.threshold:
            result.reasons.append(f"{rule.statistic} on the {label} is {v:.3f} < {rule.threshold}")
    result.met = not result.reasons
    if result.met:
        result.reasons.append(f"{rule.statistic} >= {rule.threshold} on the whole sample ({v_whole:.3f}) and "
                              f"the last {len(last)} batch(es) ({v_recent:.3f}), {whole['n_items']} items")
    return result
