"""Train on labelled records, score the rest; the cadence of retraining in a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from screening.prioritise.models import DEFAULT, make_model

RETRAIN_DIVISOR = 10  # once past 20 decisions, retrain after every 10% more


def retrain_due(since_last: int, n_labelled: int) -> bool:
    """Retrain after every decision while few are labelled (under 20), then after every 10% more.

    Early decisions change the ranking most (one more include can reorder everything), later ones
    barely do; retraining on a geometric schedule keeps a session responsive and a simulation of
    50,000 records fast. A real session and ``screening simulate`` use this same function.
    """
    return since_last >= max(1, n_labelled // RETRAIN_DIVISOR)


@dataclass
class RankResult:
    scores: np.ndarray
    params: dict[str, Any]
    model: str
    seed: int


def train_and_score(X: Any, labelled: np.ndarray, labels: np.ndarray, *, model: str | None = None,
                    seed: int = 0) -> RankResult:
    """Scores for every row of ``X`` from a model trained on rows ``labelled`` with ``labels`` (0/1)."""
    name = model or DEFAULT
    est = make_model(name, seed).fit(X[labelled], np.asarray(labels))
    return RankResult(np.asarray(est.score(X), dtype=float), est.get_params(), name, seed)
