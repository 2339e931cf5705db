"""Train on labelled records (and presumed excludes), score every record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from screening.prioritise.models import DEFAULT, make_model


@dataclass
class RankResult:
    scores: np.ndarray
    params: dict[str, Any]
    model: str
    seed: int


PRESUMED_SHARE = 10  # a tenth of the pool joins the training as presumed excludes
PRESUMED_MAX = 1000  # enough to describe the pool; more only slows retraining on large pools
PRESUMED_QUANTILE = 0.8  # drawn from the unscreened records a first model scores in its lower 80%


def presumed_excludes(first_scores: np.ndarray, labelled: np.ndarray, seed: int) -> np.ndarray:
    """Unscreened rows to train on as if excluded (Cormack & Grossman's "presumed non-relevant"
    documents in continuous active learning).

    The records screened so far are not a sample of the pool: after the first few they are the
    ones the model ranked highest, so their excludes are the near-misses, and a model trained on
    them alone has never seen an ordinary irrelevant record. A random sample of the unscreened
    records, a tenth of the pool (at most ``PRESUMED_MAX``), shows it what the bulk looks like.
    They are drawn from the lower ``PRESUMED_QUANTILE`` of a first model's scores, so the likely
    includes among them are left out. Drawn from the run's seed and the number of decisions, so a
    run is reproducible.
    """
    n = len(first_scores)
    rest = np.setdiff1d(np.arange(n), labelled)
    if not len(rest):
        return rest
    pool = rest[first_scores[rest] <= np.quantile(first_scores[rest], PRESUMED_QUANTILE)]
    k = min(len(pool), n // PRESUMED_SHARE, PRESUMED_MAX)
    if k <= 0:
        return rest[:0]
    return np.sort(np.random.RandomState((seed + len(labelled)) % 2**32).choice(pool, k, replace=False))


def train_and_score(X: Any, labelled: np.ndarray, labels: np.ndarray, *, model: str | None = None,
                    seed: int = 0) -> RankResult:
    """Scores for every row of ``X`` from a model trained on rows ``labelled`` with ``labels`` (0/1)
    and on :func:`presumed_excludes` chosen with a first model trained on the labelled rows alone."""
    name = model or DEFAULT
    labelled = np.asarray(labelled)
    labels = np.asarray(labels)
    first = make_model(name, seed).fit(X[labelled], labels).score(X)
    presumed = presumed_excludes(np.asarray(first, dtype=float), labelled, seed)
    rows = np.concatenate([labelled, presumed])
    y = np.concatenate([labels, np.zeros(len(presumed), dtype=labels.dtype)])
    est = make_model(name, seed).fit(X[rows], y)
    params = {**est.get_params(), "presumed_excludes": len(presumed), "presumed_quantile": PRESUMED_QUANTILE}
    return RankResult(np.asarray(est.score(X), dtype=float), params, name, seed)
