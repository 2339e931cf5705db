"""Train on labelled records, score the rest; the cadence of retraining in a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from screening.prioritise.models import DEFAULT, INCLUDE_RATIO, make_model, scores

RETRAIN_DIVISOR = 20  # once past 20 decisions, retrain after every 5% more


def retrain_due(since_last: int, n_labelled: int) -> bool:
    """Retrain after every decision while few are labelled (under 20), then after every 5% more.

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
    est = make_model(name, seed)
    y = np.asarray(labels)
    n_inc, n_exc = int(y.sum()), int(len(y) - y.sum())
    weight = np.where(y == 1, max(1.0, n_exc / (INCLUDE_RATIO * max(n_inc, 1))), 1.0)
    if name == "logistic":
        est.fit(X[labelled], y)  # balanced by its class_weight
    else:
        est.fit(X[labelled], y, sample_weight=weight)
    params = {**est.get_params(), "include_weight": float(weight.max())}
    return RankResult(np.asarray(scores(est, X), dtype=float), params, name, seed)
