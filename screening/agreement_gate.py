"""Agreement in the workflow: ratings per batch, pair, screener and set, the gate, the debrief.

Ratings are the screeners' current decisions on test-sample records. Per set, the two
members of each batch are treated as two rater slots (first and second member), so that
Cohen's kappa is defined even when three screeners form three pairs; per pair and per
screener the raters are the people themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.agreement import agreement
from screening.decisions import batch_states, current, final_decisions, visible
from screening.errors import ScreeningError
from screening.sets import get_set
from screening.storage.models import Record, ScreeningSet, SetEvent, User
from screening.users import get_user

STATISTICS = {"kappa": ("cohen_kappa", "value"), "ac1": ("gwet_ac1", "value"), "pabak": ("pabak", None),
              "alpha": ("krippendorff_alpha", None)}


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
            raise ScreeningError(f"gate statistic must be one of {', '.join(STATISTICS)}, not {rule.statistic!r}.")
        if rule.last_k < 1 or rule.min_items < 0:
            raise ScreeningError("gate: last_k must be at least 1 and min_items zero or more.")
        return rule

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

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


@dataclass
class BatchRatings:
    number: int
    users: tuple[str, str]
    ratings: list[tuple[int, str, str]]  # (record, user name, decision)
    complete: bool


def batch_ratings(session: Session, st: ScreeningSet) -> list[BatchRatings]:
    cur = current(session, st.id)
    names = {u.id: u.name for u in session.scalars(select(User))}
    out = []
    for s in batch_states(session, st.id):
        ratings = []
        for rid in s.records:
            for uid in s.users:
                d = cur.get((rid, uid))
                if d is not None:
                    ratings.append((rid, names[uid], d.decision))
        out.append(BatchRatings(s.number, (names[s.users[0]], names[s.users[1]]), ratings,
                                s.state in ("in conflict", "reconciled")))
    return out


def _slots(batches: list[BatchRatings]) -> list[tuple[int, str, str]]:
    """Ratings with the batch's first and second member as two rater slots."""
    out = []
    for b in batches:
        for rid, user, decision in b.ratings:
            out.append((rid, "first" if user == b.users[0] else "second", decision))
    return out


def agreement_by(session: Session, set_name: str, by: str = "batch", batch: int | None = None) -> list[dict[str, Any]]:
    """Agreement entries per batch, pair, screener or for the whole set (contract shape + keys)."""
    st = get_set(session, set_name)
    batches = [b for b in batch_ratings(session, st) if batch is None or b.number == batch]
    if batch is not None and not batches:
        raise ScreeningError(f"set {set_name} has no batch {batch}.")
    if by == "batch":
        return [{"batch": b.number, "pair": list(b.users), **agreement(b.ratings)} for b in batches]
    if by == "pair":
        pairs: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
        for b in batches:
            pairs[tuple(sorted(b.users))].extend(b.ratings)  # type: ignore[index]
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
    if by == "set":
        return [{"set": st.name, **agreement(_slots(batches))}]
    raise ScreeningError(f"--by must be batch, pair, screener or set, not {by!r}.")


def gate_rule(st: ScreeningSet) -> GateRule:
    return GateRule.from_dict(st.gate)


def set_gate(session: Session, set_name: str, rule: dict[str, Any], *, actor: str | None = None) -> GateRule:
    """Change a set's gate (recorded as an event, with the old rule)."""
    st = get_set(session, set_name)
    new = GateRule.from_dict({**gate_rule(st).to_dict(), **rule})
    session.add(SetEvent(set_id=st.id, kind="gate", actor=actor, payload={"old": st.gate, "new": new.to_dict()}))
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
    whole = agreement(_slots(done))
    recent = agreement(_slots(last))
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


def debrief(session: Session, set_name: str, batch: int, viewer_name: str | None = None) -> list[dict[str, Any]]:
    """The disagreements of a batch with both decisions, reasons, notes and the PI's final."""
    st = get_set(session, set_name)
    viewer = get_user(session, viewer_name) if viewer_name else None
    states = {s.batch_id: s for s in batch_states(session, st.id)}
    target = next((s for s in states.values() if s.number == batch), None)
    if target is None:
        raise ScreeningError(f"set {set_name} has no batch {batch}.")
    cur = current(session, st.id)
    adj = current(session, st.id, kind="adjudicate")
    finals = {rid: d for (rid, _), d in adj.items()}
    names = {u.id: u.name for u in session.scalars(select(User))}
    titles = dict(session.execute(select(Record.id, Record.title).where(Record.id.in_(target.records))).all())
    out = []
    for rid in target.conflicts + target.resolved:
        ds = [cur[(rid, u)] for u in target.users]
        if not all(visible(session, viewer, d, states=states) for d in ds):
            raise ScreeningError(f"batch {batch} is not reconciled yet; its decisions stay blind until the PI has "
                                 "resolved every conflict (a PI who is not in the pair may look now with --as).")
        fin = finals.get(rid)
        out.append({"record_id": rid, "title": titles.get(rid),
                    "decisions": [{"user": names[d.user_id], "decision": d.decision, "reason": d.reason,
                                   "note": d.note} for d in ds],
                    "final": fin.decision if fin else None, "final_by": names[fin.user_id] if fin else None,
                    "final_note": fin.note if fin else None})
    return sorted(out, key=lambda x: x["record_id"])


def plot_agreement(entries: list[dict[str, Any]], rule: GateRule | None, path: str) -> None:
    """Kappa and AC1 per batch with their 95% intervals and the gate line, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = [e["batch"] for e in entries]
    for key, label, shift, colour in (("cohen_kappa", "Cohen's kappa", -0.08, "tab:blue"),
                                      ("gwet_ac1", "Gwet's AC1", 0.08, "tab:orange")):
        pts = [(x + shift, (e.get(key) or {}).get("value"), (e.get(key) or {}).get("ci95"))
               for x, e in zip(xs, entries, strict=True)]
        pts = [p for p in pts if p[1] is not None]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                        yerr=[[p[1] - (p[2] or [p[1]])[0] for p in pts], [(p[2] or [0, p[1]])[1] - p[1] for p in pts]],
                        fmt="o-", capsize=3, label=label, color=colour)
    if rule is not None:
        ax.axhline(rule.threshold, linestyle="--", color="grey", label=f"gate: {rule.statistic} >= {rule.threshold}")
    ax.set_xlabel("batch")
    ax.set_ylabel("agreement")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(xs)
    ax.legend(loc="lower right")
    ax.set_title("Agreement per test-screening batch (95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
