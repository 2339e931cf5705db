"""When may the team stop screening? A statistical rule and the simple heuristic, side by side.

The statistical rule is Callaghan & Müller-Hansen (2020, Systematic Reviews 9:273): treat the
last n records screened as a sample drawn without replacement from the records that were
unscreened when that sample began; test H0 "recall is below the target" with the hypergeometric
distribution; take the smallest p-value over every n. Below ``alpha`` (e.g. 0.05), the team may
stop with confidence 1 - alpha that recall is at least the target. It is conservative: screening
in priority order finds relevant records faster than random sampling would.

The heuristic ("N excludes in a row") is shown beside it because teams use it; it has no
guarantee.

scipy.stats is imported where it is used: it takes a third of a second to load, and the web app's
pages and most commands import this module without testing anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RECALL_LEVELS = (0.80, 0.90, 0.95, 0.99)  # the recalls at which `screening progress` shows what stopping costs


@dataclass
class RecallCost:
    """What stopping at one recall costs and saves: records screened to reach it, and those left."""

    recall: float  # share of the includes (found so far) reached
    includes: int  # includes that recall needs: ceil(recall x includes found)
    screened: float  # records screened to reach it (a mean over seeds for a simulation)
    saved: float  # records of the pool left unscreened at that point
    saved_share: float  # saved / pool


@dataclass
class StoppingCosts:
    """What stopping would have cost at each recall level, in the team's own order and in a simulation.

    Both read the records decided so far, with the includes found so far as 100%: the includes not
    found yet are in neither, so they show what stopping earlier would have saved against what it
    would have missed among the includes known today, not a guarantee for the records unscreened.
    """

    decided: int  # records decided so far
    includes: int  # includes among them
    own: list[RecallCost]  # in the order the team decided them
    simulated: list[RecallCost]  # in simulations of the decided records (labels as oracle)
    simulated_pool: int  # records simulated (the decided ones, or a random sample of them)
    seeds: list[int]
    basis: str  # one sentence on what the simulation is based on

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def recall_costs(labels: Sequence[int], levels: Sequence[float] = RECALL_LEVELS) -> list[RecallCost]:
    """For each recall level, the records screened (in this order) when it was reached, and the rest."""
    y = np.asarray(labels, dtype=int)
    n, r = len(y), int(y.sum())
    found = np.cumsum(y)
    out = []
    for level in levels:
        need = max(1, math.ceil(level * r - 1e-9)) if r else 0
        at = int(np.searchsorted(found, need) + 1) if r else 0
        out.append(RecallCost(level, need, at, n - at, (n - at) / n if n else 0.0))
    return out


@dataclass
class StoppingEstimate:
    screened: int
    total: int
    relevant_found: int
    recall_target: float
    p_value: float | None  # H0: recall < target
    can_stop: bool
    confidence: float
    estimated_relevant: float | None  # estimated total relevant records in the pool
    estimated_recall: float | None
    recall_interval: tuple[float, float] | None
    excludes_in_a_row: int
    heuristic_stop: bool
    heuristic_n: int
    costs: StoppingCosts | None = None  # what stopping at each recall costs (``screening progress``)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hypergeometric_p(labels: Sequence[int], total: int, recall_target: float = 0.95) -> float | None:
    """The smallest p-value of H0 "recall < target" over every recent window (Callaghan & Müller-Hansen)."""
    from scipy.stats import hypergeom

    y = np.asarray(labels, dtype=int)
    r_seen = int(y.sum())
    if len(y) == 0 or r_seen == 0:
        return None
    window = y[::-1]
    n = np.arange(1, len(window) + 1)
    k = np.cumsum(window)  # relevant in the last n
    r_before = r_seen - k  # relevant found before the window began
    urn = total - len(y) + n  # records unscreened when the window began
    k_min = np.floor(r_seen / recall_target) + 1 - r_before  # fewest relevant in the urn if recall < target
    valid = (k_min <= urn) & (k_min >= 0)
    if not valid.any():
        return None
    p = hypergeom.cdf(k[valid], urn[valid], k_min[valid], n[valid])
    return float(min(1.0, p.min()))


def estimate(labels: Sequence[int], total: int, *, recall_target: float = 0.95, alpha: float = 0.05,
             heuristic_n: int | None = None, window: int | None = None) -> StoppingEstimate:
    """Where screening stands: statistical stopping test, estimated recall, and the heuristic."""
    from scipy.stats import beta

    y = list(labels)
    found = sum(y)
    p = hypergeometric_p(y, total, recall_target)
    run = 0
    for v in reversed(y):
        if v:
            break
        run += 1
    hn = heuristic_n or max(50, math.ceil(0.05 * total))
    # recent screening as a (conservative) sample of what is left: Clopper-Pearson on the last window
    w = window or max(50, math.ceil(0.05 * total))
    recent = y[-w:]
    remaining = total - len(y)
    est = rec = None
    interval = None
    if recent and found:
        k, n = sum(recent), len(recent)
        hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        est = found + remaining * k / n
        rec = found / est if est else None
        worst = found + remaining * float(hi)
        best = found if k == 0 else found + remaining * float(beta.ppf(0.025, k, n - k + 1))
        interval = (found / worst, found / best)
    return StoppingEstimate(len(y), total, found, recall_target, p, p is not None and p < alpha, 1 - alpha, est, rec,
                            interval, run, run >= hn, hn)


def recall_curve(labels: Sequence[int]) -> tuple[list[int], list[int]]:
    """Records screened vs relevant found, for the progress plot."""
    xs, ys, found = [], [], 0
    for i, v in enumerate(labels, 1):
        found += v
        xs.append(i)
        ys.append(found)
    return xs, ys
