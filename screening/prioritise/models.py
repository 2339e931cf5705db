"""Classifiers by name. Each is a scikit-learn estimator whose parameters are stored with each run.

Class balance follows ASReview's "balanced" sample weights: whatever the counts, the includes
together weigh ``ratio`` times the excludes together, and the weights sum to the number of
training records (so the SVM's C means the same at 2 and at 2,000 decisions). Includes are rare
and a missed include costs most, so the classifier must not learn "exclude everything".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from screening.errors import InvalidValue

SVM_RATIO = 9.8  # includes' total weight over excludes' (ASReview elas_u4's tuned balance)
NB_RATIO = 1.2  # the same for naive Bayes (ASReview elas_u3's)


def balanced_weights(y: np.ndarray, ratio: float) -> np.ndarray:
    """Sample weights giving the includes ``ratio`` times the excludes' total weight, summing to n."""
    y = np.asarray(y)
    n_inc, n_exc = int(y.sum()), int(len(y) - y.sum())
    if n_inc == 0 or n_exc == 0:
        return np.ones(len(y))
    w = np.where(y == 1, 1.0, n_inc / (ratio * n_exc))
    return np.asarray(w * (len(y) / w.sum()))


class Model(Protocol):
    """What the ranking needs of a model: fit on labelled rows, score any rows, report its parameters."""

    def fit(self, X: Any, y: np.ndarray) -> Model: ...

    def score(self, X: Any) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...


@dataclass
class Balanced:
    """A scikit-learn classifier trained with :func:`balanced_weights` at its own ratio."""

    name: str
    estimator: Any
    ratio: float

    def fit(self, X: Any, y: np.ndarray) -> Balanced:
        self.estimator.fit(X, y, sample_weight=balanced_weights(y, self.ratio))
        return self

    def score(self, X: Any) -> np.ndarray:
        """A relevance score per row (higher: more likely an include), whatever the estimator offers."""
        est = self.estimator
        if hasattr(est, "decision_function"):
            return np.asarray(est.decision_function(X), dtype=float)
        if hasattr(est, "feature_log_prob_") and len(est.classes_) == 2:
            # naive Bayes' log odds, log P(include|x) - log P(exclude|x), in one product with the
            # difference of the classes' word log probabilities (predict_log_proba computes both
            # classes' likelihoods and normalises them, three times the work for the same order)
            flp, prior = est.feature_log_prob_, est.class_log_prior_
            return np.asarray(X @ (flp[1] - flp[0]), dtype=float).ravel() + float(prior[1] - prior[0])
        logp = np.asarray(est.predict_log_proba(X), dtype=float)
        return np.asarray(logp[:, 1] - logp[:, 0])

    def get_params(self) -> dict[str, Any]:
        return {**self.estimator.get_params(), "balance_ratio": self.ratio}


@dataclass
class RankSum:
    """Several balanced classifiers; a record's score is the sum of its ranks under each."""

    members: list[Balanced]

    def fit(self, X: Any, y: np.ndarray) -> RankSum:
        for m in self.members:
            m.fit(X, y)
        return self

    def score(self, X: Any) -> np.ndarray:
        from scipy.stats import rankdata

        return np.asarray(np.sum([rankdata(m.score(X)) for m in self.members], axis=0), dtype=float)

    def get_params(self) -> dict[str, Any]:
        return {m.name: m.get_params() for m in self.members}


def _svm(seed: int) -> Balanced:
    """Linear SVM, C=0.11, includes weighted 9.8 to 1 (ASReview 3's default model, elas_u4)."""
    from sklearn.svm import LinearSVC

    return Balanced("svm", LinearSVC(C=0.11, random_state=seed), SVM_RATIO)


def _nb(seed: int) -> Balanced:
    """Multinomial naive Bayes, alpha 3.822, balance 1.2 (ASReview's elas_u3)."""
    from sklearn.naive_bayes import MultinomialNB

    return Balanced("nb", MultinomialNB(alpha=3.822), NB_RATIO)


def _logistic(seed: int) -> Balanced:
    """L2 logistic regression, C=10, balance 9.8."""
    from sklearn.linear_model import LogisticRegression

    return Balanced("logistic", LogisticRegression(C=10.0, max_iter=1000, solver="liblinear", random_state=seed),
                    SVM_RATIO)


def _ensemble(seed: int) -> RankSum:
    """The SVM and the naive Bayes, each ranking every record; a record's score is the sum of its ranks.

    The two err differently (a margin on TF-IDF vs word likelihoods), and on the shared
    benchmark sets the sum was never more than a point below ASReview on any set, where each
    alone was several points below on some set.
    """
    return RankSum([_svm(seed), _nb(seed)])


# The registry: every ranking model by name, the first the default. The CLI's --model choices,
# `simulate --model` and the stored runs all read it. (scikit-learn is imported by the factories,
# not here: it takes a second to load and only training needs it.)
MODELS: dict[str, Callable[[int], Model]] = {"ensemble": _ensemble, "svm": _svm, "logistic": _logistic, "nb": _nb}
DEFAULT = next(iter(MODELS))


def make_model(name: str | None, seed: int) -> Model:
    """A fresh, unfitted model from the registry: ``fit(X, y)`` then ``score(X)``."""
    factory = MODELS.get(name or DEFAULT)
    if factory is None:
        raise InvalidValue("model", f"unknown model {name!r}; available: {', '.join(MODELS)}.", value=name)
    return factory(seed)
