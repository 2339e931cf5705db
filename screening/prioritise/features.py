"""Text features: TF-IDF over title, abstract and keywords, fitted once on every record of the pool.

Fitting on unscreened records too is legitimate (their text is known, their labels are not) and
lets the vocabulary and IDF weights reflect the whole pool from the first decision.

The matrix is the one scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
max_df=0.95)`` gives: the same words, the same columns in the same order, the same values to the
last bit or two (a test compares them). It is computed without a string per bigram: words are
numbered in sorted order, a term is one integer (a word, or a pair of words), and one numpy sort
of (term, record) pairs gives every count, document frequency and column. Over some 10,000
records the words are read by worker processes, a chunk each, and merged.

A pool seen before is read from a cache; a pool that differs from a cached one by a few records
(an import, a dedup merge) is not fitted again: its new records are transformed with the cached
vocabulary and IDF weights, until the records changed since the fit reach a tenth of it.

scikit-learn is imported where it is needed, not at module import: it takes a second to load and
a command that does not rank should not pay for it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import threading
from array import array
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

# scikit-learn's default words, r"(?u)\b\w\w+\b", found faster: a search for a run of word characters
# never starts inside a word (the run it is part of was taken whole), so the boundaries are implied
TOKEN = re.compile(r"\w\w+")
MAX_DF = 0.95  # terms in more than 95% of records are dropped (ASReview 3's tuned TF-IDF)
PARALLEL_MIN_CHARS = 12_000_000  # below some 10,000 abstracts a worker process costs more than it saves
REFIT_SHARE = 0.10  # records added or removed since the fit, as a share of it, before a new fit
PACK_LIMIT = 2**62  # (term code, record) packed in one int64 while codes x records stay below this


def record_text(title: str | None, abstract: str | None, keywords: Sequence[str] | str | None = None) -> str:
    kw = keywords if isinstance(keywords, str) else " ".join(keywords or [])
    return " ".join(x for x in (title, abstract, kw) if x)


@dataclass
class Vocabulary:
    """A fitted vocabulary: the pool's words, the kept terms (as codes) and their IDF weights.

    With the words sorted and V of them, word ``w`` has code ``rank(w) * (V + 1)`` and bigram
    ``w1 w2`` has ``rank(w1) * (V + 1) + 1 + rank(w2)``. Codes sort as the terms do as strings
    ("ab" < "ab c" < "abc": a space sorts before any word character), so column ``j`` holds the
    term with the j-th smallest code, in scikit-learn's order.
    """

    words: list[str]  # every word of the fitted pool, sorted
    codes: np.ndarray  # int64, ascending: the code of each column's term
    idf: np.ndarray  # float64, one per column
    n_fit: int  # records the vocabulary was fitted on
    _index: dict[str, int] | None = field(default=None, repr=False)

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index


# ---------------------------------------------------------------------------------------- words


def _tokenize(texts: Sequence[str]) -> tuple[list[str], bytes, bytes]:
    """The words of some texts, numbered in order of first appearance: (words, ids, lengths), the last
    two int32 buffers (bytes travel cheaply back from a worker process)."""
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__
    ids, lengths = array("i"), array("i")
    findall, number = TOKEN.findall, vocab.__getitem__
    for t in texts:
        words = findall(t.lower())
        lengths.append(len(words))
        ids.extend(map(number, words))
    return list(vocab), ids.tobytes(), lengths.tobytes()


_chunks: list[Sequence[str]] = []  # the chunks a forked worker reads (inherited, never sent)


def _tokenize_chunk(i: int) -> tuple[list[str], bytes, bytes]:
    return _tokenize(_chunks[i])


def _tokenize_all(texts: Sequence[str]) -> list[tuple[list[str], bytes, bytes]]:
    """:func:`_tokenize` over chunks of ``texts``, in worker processes when the pool is large."""
    global _chunks
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or sum(map(len, texts)) < PARALLEL_MIN_CHARS:
        return [_tokenize(texts)]
    # fork: a worker starts in milliseconds with the texts in its memory (a spawned one would import
    # the command line and be sent the texts). Forking a process that runs other threads (the web
    # app) can deadlock the child, so there the words are read in this process.
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_tokenize(texts)]
    bounds = np.linspace(0, len(texts), 2 * workers + 1).astype(int)
    _chunks = [texts[a:b] for a, b in pairwise(bounds) if b > a]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_tokenize_chunk, range(len(_chunks)), chunksize=1)
    except OSError:  # no processes allowed here (a sandbox): one process it is
        return [_tokenize(texts)]
    finally:
        _chunks = []


def _merge(chunks: list[tuple[list[str], bytes, bytes]],
           index: dict[str, int] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every token as its word's rank in one sorted word list, and the texts' lengths in tokens.

    With ``index`` (a fitted vocabulary's word ranks) the ranks are its own, -1 for a word it lacks."""
    if index is None:
        words = sorted(set().union(*(c[0] for c in chunks)))
        index = {w: i for i, w in enumerate(words)}
        get = index.__getitem__
    else:
        words, get = [], lambda w: index.get(w, -1)
    ranks, lengths = [], []
    for local, ids, lens in chunks:
        lut = np.fromiter(map(get, local), dtype=np.int64, count=len(local))
        ranks.append(lut[np.frombuffer(ids, dtype=np.int32)])
        lengths.append(np.frombuffer(lens, dtype=np.int32))
    return words, np.concatenate(ranks), np.concatenate(lengths).astype(np.int64)


# ---------------------------------------------------------------------------------------- counts


def _keys(ranks: np.ndarray, lengths: np.ndarray, n_words: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``term * n + row`` of every unigram and bigram in the texts (n of them); unknown words (rank
    -1) make no term. The term is its code, or, when code and row do not fit one integer together
    (millions of words), its rank among the codes present, returned second.

    Written in place into one buffer: on a large pool, memory touched is time."""
    n, m, base = len(lengths), len(ranks), n_words + 1
    keys = np.empty(2 * m - 1 if m else 0, dtype=np.int64)
    if not m:
        return keys, None
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    packed = base * base * max(n, 1) < PACK_LIMIT
    uni, bi = keys[:m], keys[m:]
    np.multiply(ranks, base * n if packed else base, out=uni)
    np.multiply(ranks[:-1], base, out=bi)
    bi += 1
    bi += ranks[1:]
    last = np.cumsum(lengths)[:-1] - 1  # a record's last word starts no bigram (empty records have none)
    drop = m + last[(last >= 0) & (last < m - 1)]
    unknown = ranks < 0
    if unknown.any():
        drop = np.concatenate([drop, np.flatnonzero(unknown), m + np.flatnonzero(unknown[1:] | unknown[:-1])])
    if packed:
        bi *= n
        uni += row
        bi += row[:-1]
        keys[drop] = -1  # sorted first, then left out: cheaper than a copy without them
        return keys, None
    keep = np.ones(len(keys), dtype=bool)
    keep[drop] = False
    rows = np.concatenate([row, row[:-1]])[keep]
    codes, terms = np.unique(keys[keep], return_inverse=True)
    return terms.ravel() * n + rows, codes


def _runs(keys: np.ndarray, n: int, codes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From sorted keys (any -1 first, left out): each distinct (term, row) as its term's code, its row
    and its count (tf)."""
    keys = keys[np.searchsorted(keys, 0):]
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    tf = np.diff(starts, append=len(keys)).astype(np.float64)
    code = keys[starts]
    row = code % n
    code //= n
    return (code if codes is None else codes[code]), row.astype(np.int32), tf


def _column_starts(code: np.ndarray) -> np.ndarray:
    new = np.empty(len(code), dtype=bool)
    new[:1] = True
    np.not_equal(code[1:], code[:-1], out=new[1:])
    return np.flatnonzero(new)


def _normalise(X: csr_matrix) -> csr_matrix:
    """Each row scaled to unit length (scikit-learn's own routine, so the values are its values)."""
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

    inplace_csr_row_normalize_l2(X)
    return X


def fit_tfidf(texts: Sequence[str]) -> tuple[csr_matrix, Vocabulary]:
    """Fit the vocabulary and IDF weights on ``texts``: their TF-IDF matrix and the vocabulary."""
    n = len(texts)
    words, ranks, lengths = _merge(_tokenize_all(texts))
    if not words:
        raise ValueError("empty vocabulary")
    keys, term_codes = _keys(ranks, lengths, len(words))
    del ranks
    keys.sort()
    code, row, tf = _runs(keys, n, term_codes)
    del keys
    starts = _column_starts(code)
    df = np.diff(starts, append=len(code))
    keep = df <= MAX_DF * n
    if not keep.any():
        raise ValueError("after pruning, no terms remain")
    codes = code[starts]
    if not keep.all():  # drop the columns of terms in too many records before building the matrix
        entry_kept = np.repeat(keep, df)
        code, row, tf = code[entry_kept], row[entry_kept], tf[entry_kept]
        codes, df = codes[keep], df[keep]
    idf = np.log((n + 1) / (df + 1.0)) + 1.0  # smoothed, as scikit-learn's
    np.log(tf, out=tf)
    tf += 1.0  # sublinear tf
    tf *= np.repeat(idf, df)  # entries are in column order here, so the weights repeat per column
    X = csc_matrix((tf, row, np.append(0, np.cumsum(df))), shape=(n, len(codes))).tocsr()
    X.has_sorted_indices = True  # a row is filled column by column, so its columns come in order
    return _normalise(X), Vocabulary(words, codes, idf, n)


def transform_tfidf(vocab: Vocabulary, texts: Sequence[str]) -> csr_matrix:
    """TF-IDF rows for ``texts`` with a fitted vocabulary (its columns and IDF weights); words and
    bigrams it does not know are left out, as scikit-learn's ``transform`` leaves them."""
    n = len(texts)
    _, ranks, lengths = _merge([_tokenize(texts)], vocab.index())
    keys, term_codes = _keys(ranks, lengths, len(vocab.words))
    if not len(keys) or not len(vocab.codes):
        return csr_matrix((n, len(vocab.codes)))
    keys.sort()
    code, row, tf = _runs(keys, n, term_codes)
    starts = _column_starts(code)
    counts = np.diff(starts, append=len(code))
    col = np.minimum(np.searchsorted(vocab.codes, code[starts]), len(vocab.codes) - 1)
    known = np.repeat(vocab.codes[col] == code[starts], counts)
    cols = np.repeat(col, counts)[known]
    np.log(tf, out=tf)
    tf += 1.0
    tf = tf[known] * vocab.idf[cols]
    X = csr_matrix((tf, (row[known], cols)), shape=(n, len(vocab.codes)))
    X.sort_indices()
    return _normalise(X)


def tfidf_matrix(texts: Sequence[str]) -> csr_matrix:
    """Word uni- and bigrams with sublinear tf; rare terms kept (they are often the telling ones),
    terms in over 95% of records dropped (ASReview 3's tuned TF-IDF)."""
    try:
        return fit_tfidf(texts)[0]
    except ValueError:  # every text empty or only stop words: fall back to single words, any frequency
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(min_df=1).fit_transform([t or "empty" for t in texts]).tocsr()


# ---------------------------------------------------------------------------------------- cache

FEATURES_VERSION = "tfidf-1-2-sublinear-maxdf0.95-v2"  # change when the features change: old caches then miss
CACHE_KEEP = 4  # cache files kept on disk (the most recently used)


@dataclass
class _Entry:
    """A pool's matrix in the cache, with what is needed to add records to it."""

    X: csr_matrix | None  # None until loaded (a candidate is first read for its digests alone)
    digests: np.ndarray  # uint64 per row: a hash of the row's text
    base: str  # key of the full fit whose vocabulary these rows use (the entry's own key if it is one)
    changed: int  # records added or removed since that fit
    n_fit: int  # records in that fit (0: no vocabulary to extend, e.g. the fallback of empty texts)
    vocab: Vocabulary | None = None  # the fit's vocabulary, loaded when records are to be added
    base_digests: np.ndarray | None = None  # the fit's rows, for a delta entry's row map
    local: int | None = None  # hash(tuple(texts)) in this process: the quick check for the same pool


_memory: dict[str, _Entry] = {}  # the last pool, within a process


def _digests(texts: Sequence[str]) -> np.ndarray:
    blake = hashlib.blake2b
    joined = b"".join([blake(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in texts])
    return np.frombuffer(joined, dtype=np.uint64).copy()


def _folder() -> Path:
    return Path(os.environ.get("SCREENING_CACHE") or Path.home() / ".cache" / "screening") / "features"


def cached_tfidf(texts: Sequence[str]) -> csr_matrix:
    """``tfidf_matrix(texts)``, computed once per pool of texts; a pool a few records away from a
    cached one takes the cached rows and transforms only its new records.

    Fitting TF-IDF on 50,000 abstracts takes seconds while retraining on them takes a fraction of
    one, so a session (and each ``screening rank`` run) reuses the matrix: in memory within a
    process, and on disk across processes, in ``$SCREENING_CACHE`` (default ``~/.cache/screening``).
    The key is a hash of every text in order, so any change to the records (an edit, a dedup
    merge, an import) makes a new matrix: from a cached one when the records added or removed
    since its fit are under a tenth of it (the others keep their rows, the new ones are
    transformed with its vocabulary and IDF weights), else by fitting anew.
    """
    local = hash((len(texts), *texts))  # Python's own string hash, cached on each string: a fraction of hashing
    for held in _memory.values():
        if held.local == local and held.X is not None and held.X.shape[0] == len(texts):
            return held.X
    digests = _digests(texts)
    h = hashlib.sha256(FEATURES_VERSION.encode())
    h.update(digests.tobytes())
    key = h.hexdigest()
    if key in _memory and _memory[key].X is not None:
        _memory[key].local = local
        return _memory[key].X
    folder = _folder()
    entry: _Entry | None = _load(folder, key, fit=False)
    if entry is None:
        entry = _extend(folder, key, texts, digests)
    if entry is None:
        try:
            X, vocab = fit_tfidf(texts)
        except ValueError:  # every text empty or only stop words: the fallback, with nothing to extend
            X, vocab = tfidf_matrix(texts), None
        entry = _Entry(X, digests, key, 0, vocab.n_fit if vocab else 0, vocab, digests)
        _save(folder, key, entry)
    _memory.clear()
    _memory[key] = entry
    entry.local = local
    assert entry.X is not None
    return entry.X


def _extend(folder: Path, key: str, texts: Sequence[str], digests: np.ndarray) -> _Entry | None:
    """The pool's matrix from the cached pool nearest to it, if few enough records changed since its fit."""
    candidates = [(k, e) for k, e in _memory.items() if e.X is not None]
    try:
        recent = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)[:CACHE_KEEP]
    except OSError:
        recent = []
    for path in recent:
        if path.stem not in _memory:
            peek = _load(folder, path.stem, peek=True)
            if peek is not None:
                candidates.append((path.stem, peek))
    best: tuple[int, str, _Entry] | None = None
    for k, cand in candidates:
        changed = cand.changed + int((~np.isin(digests, cand.digests)).sum()) + int(
            (~np.isin(cand.digests, digests)).sum())
        if cand.n_fit and changed <= REFIT_SHARE * cand.n_fit and (best is None or changed < best[0]):
            best = (changed, k, cand)
    if best is None:
        return None
    changed, k, cand = best
    if cand.X is None:
        loaded = _load(folder, k, fit=True)
        if loaded is None:
            return None
        cand = loaded
    if cand.vocab is None:
        cand.vocab = _load_vocabulary(folder, cand.base)
        if cand.vocab is None:
            return None
    assert cand.X is not None and cand.vocab is not None
    # each row from the cached pool when its text is there, else transformed with the fit's vocabulary
    src, fresh = _locate(cand.digests, digests)
    Xnew = transform_tfidf(cand.vocab, [texts[i] for i in fresh]) if len(fresh) else None
    src[fresh] = cand.X.shape[0] + np.arange(len(fresh))
    X = _rows(cand.X if Xnew is None else _stack(cand.X, Xnew), src)
    entry = _Entry(X, digests, cand.base, changed, cand.n_fit, cand.vocab, cand.base_digests)
    _save(folder, key, entry)
    return entry


def _locate(known: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each wanted digest, a row of ``known`` with it (-1 if none), and the positions with none."""
    if not len(known):
        return np.full(len(wanted), -1), np.arange(len(wanted))
    order = np.argsort(known, kind="stable")
    pos = np.minimum(np.searchsorted(known[order], wanted), len(order) - 1)
    found = known[order][pos] == wanted
    return np.where(found, order[pos], -1), np.flatnonzero(~found)


def _stack(A: csr_matrix, B: csr_matrix) -> csr_matrix:
    """A's rows then B's (scipy's vstack checks and copies more than two concatenations need)."""
    return csr_matrix((np.concatenate([A.data, B.data]), np.concatenate([A.indices, B.indices.astype(A.indices.dtype)]),
                       np.concatenate([A.indptr, B.indptr[1:].astype(A.indptr.dtype) + A.indptr[-1]])),
                      shape=(A.shape[0] + B.shape[0], A.shape[1]))


def _rows(X: csr_matrix, src: np.ndarray) -> csr_matrix:
    """Rows ``src`` of X (X itself when that is every row in order)."""
    if len(src) == X.shape[0] and np.array_equal(src, np.arange(len(src))):
        return X
    out = csr_matrix(X[src])
    out.sort_indices()
    return out


def _save(folder: Path, key: str, entry: _Entry) -> None:
    """Write an entry: a fit with its vocabulary, or a delta (the rows its fit lacks, and where the
    others are in the fit's matrix), which stays small however large the pool."""
    assert entry.X is not None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"digests": entry.digests, "changed": np.array([entry.changed]),
                                         "n_fit": np.array([entry.n_fit]),
                                         "base": np.frombuffer(entry.base.encode(), dtype=np.uint8)}
        X = entry.X
        if entry.base == key:
            if entry.vocab is not None:
                words = "\n".join(entry.vocab.words).encode("utf-8", "surrogatepass")
                arrays.update(words=np.frombuffer(words, dtype=np.uint8), codes=entry.vocab.codes,
                              idf=entry.vocab.idf)
        else:
            assert entry.base_digests is not None
            rowmap, own = _locate(entry.base_digests, entry.digests)
            rowmap[own] = -1 - np.arange(len(own))
            arrays["rowmap"] = rowmap
            X = _rows(X, own)
        arrays.update(data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape))
        tmp = folder / f"{key}.{os.getpid()}.tmp.npz"
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, folder / f"{key}.npz")
        for old in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEEP]:
            if old.stem != entry.base:  # the fit a delta stands on stays while the delta is in use
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home: the cache is an optimisation, never a requirement


def _load(folder: Path, key: str, *, peek: bool = False, fit: bool = True) -> _Entry | None:
    """An entry from disk, None when absent or damaged. ``peek``: its digests and counts only; else
    its matrix (a delta's assembled from its fit's rows) and, with ``fit``, the fit's vocabulary."""
    path = folder / f"{key}.npz"
    try:
        with np.load(path) as z:
            entry = _Entry(None, z["digests"], bytes(z["base"]).decode(), int(z["changed"][0]), int(z["n_fit"][0]))
            if peek:
                return entry
            X = csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            if "rowmap" in z.files:
                base = _load(folder, entry.base, fit=fit)
                if base is None or base.X is None:
                    return None
                rowmap = z["rowmap"]
                entry.X = _rows(_stack(base.X, X), np.where(rowmap >= 0, rowmap,
                                                                            base.X.shape[0] - 1 - rowmap))
                entry.vocab, entry.base_digests = base.vocab, base.digests
            else:
                entry.X, entry.base_digests = X, entry.digests
                if fit:
                    entry.vocab = _vocabulary(z, entry.n_fit)
        path.touch()
        return entry
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError):
        return None  # a damaged or missing file is computed again


def _vocabulary(z: Any, n_fit: int) -> Vocabulary | None:
    if "words" not in z.files:
        return None
    words = bytes(z["words"]).decode("utf-8", "surrogatepass").split("\n")
    return Vocabulary(words, z["codes"], z["idf"], n_fit)


def _load_vocabulary(folder: Path, key: str) -> Vocabulary | None:
    """The vocabulary of the fit cached as ``key`` (its matrix is not read)."""
    try:
        with np.load(folder / f"{key}.npz") as z:
            return _vocabulary(z, int(z["n_fit"][0]))
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError):
        return None
