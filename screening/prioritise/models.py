"""Classifiers by name. Each is a scikit-learn estimator whose parameters are stored with each run.

Class balance follows ASReview's "balanced" sample weights: whatever the counts, the includes
together weigh ``ratio`` times the excludes together, and the weights sum to the number of
training records (so the SVM's C means the same at 2 and at 2,000 decisions). Includes are rare
and a missed include costs most, so the classifier must not learn "exclude everything".

scikit-learn is imported by the factories that use it, not at module import: it takes most of a
second to load, and commands that only list the models' names should not pay for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.sparse import csr_matrix, issparse

from screening.errors import InvalidValue

SVM_RATIO = 9.8  # includes' total weight over excludes' (ASReview elas_u4's tuned balance)
SVM_C = 0.3  # elas_u4 has 0.11; beside naive Bayes and presumed excludes, 0.3 ranks better (see _svm)
SVM_TOL = 1e-2  # liblinear's stopping tolerance: at 1e-4 (scikit-learn's) C 0.3 costs 1.6x the time
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
class Linear:
    """A fitted linear score, kept compact: weights on the terms present in training, one shared
    weight (``rest``) for every other term, and an intercept. Scoring spreads them over a scratch
    vector as long as the vocabulary, one per thread and reused, so a retrain on millions of terms
    allocates nothing of that size."""

    cols: np.ndarray  # columns with their own weight
    weights: np.ndarray
    rest: float  # the weight of every other column
    intercept: float
    n_features: int

    def score(self, X: Any) -> np.ndarray:
        w = _scratch(self.n_features, np.float64)
        w.fill(self.rest)
        w[self.cols] = self.weights
        return np.asarray(X @ w, dtype=float).ravel() + self.intercept


_scratch_local = threading.local()


def _scratch(n: int, dtype: Any) -> np.ndarray:
    """A vector of ``n`` items of ``dtype`` owned by this thread, its contents undefined."""
    key = np.dtype(dtype).str
    buffers: dict[str, np.ndarray] = _scratch_local.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None or len(buf) < n:
        buf = buffers[key] = np.empty(n, dtype=dtype)
    return buf[:n]


@dataclass
class Balanced:
    """A scikit-learn classifier trained with :func:`balanced_weights` at its own ratio.

    The linear SVM, the liblinear logistic regression and the multinomial naive Bayes are fitted
    without the estimator's ``fit``: the SVM and the regression by the same liblinear call with
    the same arguments (so the same coefficients), naive Bayes by its two-line formula. Their
    ``fit`` checks its input each time at a cost larger than a retrain on a few hundred records,
    and a simulation retrains a hundred times. Any other estimator (or setting) uses its ``fit``.
    """

    name: str
    estimator: Any
    ratio: float
    linear: Linear | None = field(default=None, repr=False)

    def fit(self, X: Any, y: np.ndarray) -> Balanced:
        w = balanced_weights(y, self.ratio)
        self.linear = _direct_fit(self.estimator, X, np.asarray(y), w)
        if self.linear is None:
            self.estimator.fit(X, y, sample_weight=w)
        return self

    def score(self, X: Any) -> np.ndarray:
        """A relevance score per row (higher: more likely an include), whatever the estimator offers."""
        if self.linear is not None:
            return self.linear.score(X)
        est = self.estimator
        if hasattr(est, "decision_function"):
            return np.asarray(est.decision_function(X), dtype=float)
        logp = np.asarray(est.predict_log_proba(X), dtype=float)
        return np.asarray(logp[:, 1] - logp[:, 0])

    def get_params(self) -> dict[str, Any]:
        return {**self.estimator.get_params(), "balance_ratio": self.ratio}


def _direct_fit(est: Any, X: Any, y: np.ndarray, w: np.ndarray) -> Linear | None:
    """The linear score ``est.fit(X, y, sample_weight=w)`` would give, or None to call it.

    Only the columns (terms) present in the training rows are fitted: a term no training record
    has gets no weight from the SVM or the regression, and from naive Bayes the same log odds for
    every such term. On 50,000 records with millions of terms, the work then grows with the
    records trained on, not with the pool. Naive Bayes' score is its log odds, log P(include|x) -
    log P(exclude|x): one product with the difference of the classes' word log probabilities.
    """
    if not issparse(X) or X.format != "csr" or set(np.unique(y)) != {0, 1}:
        return None
    p = est.get_params()
    kind = type(est).__name__
    n_features = X.shape[1]
    present = _scratch(n_features, np.bool_)
    present[X.indices] = True  # the scratch is all False between calls
    cols = np.flatnonzero(present)
    present[cols] = False
    position = _scratch(n_features, np.int32)  # a present column's index among the present ones
    position[cols] = np.arange(len(cols), dtype=np.int32)
    Xc = csr_matrix((X.data, position[X.indices], X.indptr), shape=(X.shape[0], len(cols)))
    if kind == "MultinomialNB" and p["fit_prior"] and p["class_prior"] is None:
        Y = np.column_stack([(1 - y) * w, y * w]).astype(np.float64)
        fc = np.asarray(Xc.T @ Y, dtype=np.float64).T  # word counts per class, of the terms present
        total = fc.sum(axis=1) + p["alpha"] * n_features  # every term's smoothed count, per class
        absent = float(np.log(total[0]) - np.log(total[1]))  # the log odds of a term no record has
        prior = np.log(Y.sum(axis=0))
        return Linear(cols, np.log(fc[1] + p["alpha"]) - np.log(fc[0] + p["alpha"]) + absent, absent,
                      float(prior[1] - prior[0]), n_features)
    if kind == "LinearSVC" and (p["penalty"], p["loss"], p["multi_class"]) == ("l2", "squared_hinge", "ovr") \
            and (p["dual"] is True or (p["dual"] == "auto" and X.shape[0] < n_features)):
        solver = 1  # liblinear's L2-regularised L2-loss SVC, dual
    elif kind == "LogisticRegression" and p["solver"] == "liblinear" and not p["dual"] \
            and p.get("l1_ratio") in (None, 0, 0.0) and p.get("penalty") in ("l2", "deprecated"):
        solver = 0  # liblinear's L2-regularised logistic regression, primal
    else:
        return None
    if not p["fit_intercept"] or p["class_weight"] is not None or X.dtype != np.float64 \
            or p["intercept_scaling"] <= 0:
        return None
    from sklearn.svm import _liblinear as liblinear

    liblinear.set_verbosity_wrap(0)
    seed = np.random.RandomState(p["random_state"]).randint(np.iinfo("i").max)
    raw, _ = liblinear.train_wrap(Xc, np.require(y.astype(np.float64), requirements="W"), True, solver, p["tol"],
                                  float(p["intercept_scaling"]), p["C"], np.ones(2), p["max_iter"], seed, 0.1,
                                  np.ascontiguousarray(w, dtype=np.float64))
    return Linear(cols, raw[0, :-1].copy(), 0.0, float(p["intercept_scaling"] * raw[0, -1]), n_features)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (``scipy.stats.rankdata``'s default, without scipy.stats)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return np.asarray((ends - (counts - 1) / 2.0)[inverse.ravel()], dtype=float)


@dataclass
class RankSum:
    """Several balanced classifiers; a record's score is the sum of its ranks under each."""

    members: list[Balanced]

    def fit(self, X: Any, y: np.ndarray) -> RankSum:
        for m in self.members:
            m.fit(X, y)
        return self

    def score(self, X: Any) -> np.ndarray:
        return np.asarray(np.sum([average_ranks(m.score(X)) for m in self.members], axis=0), dtype=float)

    def get_params(self) -> dict[str, Any]:
        return {m.name: m.get_params() for m in self.members}


def _svm(seed: int) -> Balanced:
    """Linear SVM, C=0.3, includes weighted 9.8 to 1 (ASReview 3's default model, elas_u4, has C=0.11).

    In the ensemble, with presumed excludes, C 0.3 found 95% of the includes earlier than 0.11 on
    21 labelled SYNERGY reviews that none of the other settings were chosen on: +0.8 WSS@95 points
    on a group of 11 and +0.3 on the other 10 (means over sets of seeds 1-10; no set more than
    1.8 below), and +0.1 on the 7 benchmark sets (seeds 6-10). C 0.05 was 1.3 and 0.5 points below
    0.11 there, C 0.4 and 0.5 about as good as 0.3. A larger C takes liblinear more passes to
    converge; with the tolerance at 1e-2 a retrain costs less than C 0.11 at 1e-4 did, and the
    rankings were as good.
    """
    from sklearn.svm import LinearSVC

    return Balanced("svm", LinearSVC(C=SVM_C, tol=SVM_TOL, random_state=seed), SVM_RATIO)


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
