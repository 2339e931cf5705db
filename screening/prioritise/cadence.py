"""When to retrain: the same cadence for a real screening session and for a simulation."""

from __future__ import annotations

RETRAIN_DIVISOR = 10  # once past 20 decisions, retrain after every 10% more


def retrain_due(since_last: int, n_labelled: int) -> bool:
    """Retrain after every decision while few are labelled (under 20), then after every 10% more.

    Early decisions change the ranking most (one more include can reorder everything), later ones
    barely do; retraining on a geometric schedule keeps a session responsive and a simulation of
    50,000 records fast. A real session and ``screening simulate`` use this same function.
    """
    return since_last >= max(1, n_labelled // RETRAIN_DIVISOR)
