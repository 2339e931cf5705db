"""Text features: TF-IDF over title, abstract and keywords, fitted once on every record of the pool.

Fitting on unscreened records too is legitimate (their text is known, their labels are not) and
lets the vocabulary and IDF weights reflect the whole pool from the first decision.

scikit-learn is imported where the features are computed, not at module import: it takes a
second to load and a command that does not rank should not pay for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from scipy.sparse import csr_matrix, load_npz, save_npz


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


FEATURES_VERSION = "tfidf-1-2-sublinear-maxdf0.95-v1"  # change when tfidf_matrix changes: old caches then miss
CACHE_KEEP = 4  # feature matrices kept on disk (the most recently used)
_memory: dict[str, csr_matrix] = {}


def cached_tfidf(texts: Sequence[str]) -> csr_matrix:
    """``tfidf_matrix(texts)``, computed once per distinct pool of texts.

    Fitting TF-IDF on 50,000 abstracts takes most of a minute while retraining on them takes a
    second, so a session (and each ``screening rank`` run) reuses the matrix: in memory within a
    process, and on disk across processes, in ``$SCREENING_CACHE`` (default
    ``~/.cache/screening``). The key is a hash of every text in order, so any change to the
    records (an edit, a dedup merge, a new import) computes the features again.
    """
    h = hashlib.sha256(FEATURES_VERSION.encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    key = h.hexdigest()
    if key in _memory:
        return _memory[key]
    folder = Path(os.environ.get("SCREENING_CACHE") or Path.home() / ".cache" / "screening") / "features"
    path = folder / f"{key}.npz"
    X = None
    if path.exists():
        try:
            X = load_npz(path).tocsr()
            path.touch()
        except (OSError, ValueError):
            X = None  # a damaged cache file is computed again
    if X is None:
        X = tfidf_matrix(texts)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{key}.{os.getpid()}.tmp.npz"
            save_npz(tmp, X, compressed=False)
            os.replace(tmp, path)
            for old in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEEP]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only home: the cache is an optimisation, never a requirement
    _memory.clear()
    _memory[key] = X
    return X
