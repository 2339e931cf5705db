"""Classifiers by name. Each is a scikit-learn estimator whose parameters are stored with each run."""

from __future__ import annotations

from typing import Any

from screening.errors import ScreeningError

DEFAULT = "svm"
INCLUDE_RATIO = 9.8  # excludes per include the training data is weighted to, at most (ASReview's balance ratio)


def make_model(name: str | None, seed: int) -> Any:
    """A fresh estimator. Class weights are balanced: includes are rare, and missing one costs most.

    * ``svm``: linear SVM (C=0.11), includes up-weighted to at most 9.8 excludes per include; the
      default: ASReview's best-performing published configuration, and fast.
    * ``logistic``: L2 logistic regression (C=10, balanced classes); slower, similar ranking.
    * ``nb``: complement naive Bayes (alpha 0.5), the fastest, the classic TF-IDF baseline.
    """
    name = name or DEFAULT
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000, solver="liblinear",
                                  random_state=seed)
    if name == "svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=0.11, random_state=seed)
    if name == "nb":
        from sklearn.naive_bayes import ComplementNB

        return ComplementNB(alpha=0.5)
    raise ScreeningError(f"unknown model {name!r}; available: logistic, svm, nb.")


MODELS = ("logistic", "svm", "nb")


def scores(model: Any, X: Any) -> Any:
    """A relevance score per row, whatever the estimator offers."""
    if hasattr(model, "decision_function"):
        return model.decision_function(X)
    return model.predict_proba(X)[:, 1]
