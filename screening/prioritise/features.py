"""Text features: TF-IDF over title, abstract and keywords, fitted once on every record of the pool.

Fitting on unscreened records too is legitimate (their text is known, their labels are not) and
lets the vocabulary and IDF weights reflect the whole pool from the first decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.sparse import csr_matrix


def record_text(title: str | None, abstract: str | None, keywords: Sequence[str] | str | None = None) -> str:
    kw = keywords if isinstance(keywords, str) else " ".join(keywords or [])
    return " ".join(x for x in (title, abstract, kw) if x)


def tfidf_matrix(texts: Sequence[str]) -> csr_matrix:
    """Word uni- and bigrams with sublinear tf; rare terms kept (they are often the telling ones),
    terms in over 95% of records dropped (ASReview 3's tuned TF-IDF)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95)
    try:
        return vec.fit_transform(texts).tocsr()
    except ValueError:  # every text empty or only stop words: fall back to single words, any frequency
        return TfidfVectorizer(min_df=1).fit_transform([t or "empty" for t in texts]).tocsr()
