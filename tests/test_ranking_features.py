"""TF-IDF features: scikit-learn's matrix without its cost, in parallel, cached, and extended in place."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from screening.prioritise import features

TEXTS = [
    "Knee osteoarthritis: a trial of exercise vs. rest in 2,000 adults",
    "",  # an empty record (no title, no abstract)
    "a b c",  # only one-letter words: no term at all
    "Über die Wirkung von Zink bei Morbus Wilson — eine Studie (n=12)",
    "snake_case tokens and CamelCase and x2 and 42 and ½ and 中文 文本",
    "knee knee knee pain pain",
    "Mesenchymal stem cells for knee osteoarthritis: a randomised controlled trial",
    "the the the of of of and",
] + [f"the of and record {i} about knee pain" for i in range(12)]


def sklearn_tfidf(texts: list[str]) -> tuple[csr_matrix, list[str]]:
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95)
    X = vec.fit_transform(texts).tocsr()
    X.sort_indices()
    return X, list(vec.get_feature_names_out())


def assert_same(A: csr_matrix, B: csr_matrix) -> None:
    """Same shape, same nonzeros in the same columns, values equal to rounding (the last bit or two)."""
    A, B = csr_matrix(A), csr_matrix(B)
    A.sort_indices()
    B.sort_indices()
    assert A.shape == B.shape
    assert (A.indptr == B.indptr).all() and (A.indices == B.indices).all()
    np.testing.assert_allclose(A.data, B.data, rtol=1e-12, atol=1e-15)


def test_the_matrix_is_scikit_learns() -> None:
    ours, vocab = features.fit_tfidf(TEXTS)
    theirs, names = sklearn_tfidf(TEXTS)
    assert_same(ours, theirs)
    # the columns are the same terms: decode each column's code back into words
    base = len(vocab.words) + 1
    decoded = [vocab.words[c // base] + ("" if c % base == 0 else " " + vocab.words[c % base - 1])
               for c in vocab.codes.tolist()]
    assert decoded == names
    everywhere = [t + " common" for t in TEXTS]  # a word in every record is dropped (max_df), as is its bigram
    assert_same(features.fit_tfidf(everywhere)[0], sklearn_tfidf(everywhere)[0])
    assert features.fit_tfidf(everywhere)[1].words.index("common") >= 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAbéß_1 -\n.中z")), max_size=40), min_size=2, max_size=12))
def test_any_texts_give_scikit_learns_matrix(texts: list[str]) -> None:
    try:
        theirs, _ = sklearn_tfidf(texts)
    except ValueError:  # scikit-learn finds no term (or prunes them all): so must we
        with pytest.raises(ValueError):
            features.fit_tfidf(texts)
        return
    assert_same(features.fit_tfidf(texts)[0], theirs)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_the_faster_word_pattern_finds_the_same_words(text: str) -> None:
    assert features.TOKEN.findall(text.lower()) == re.findall(r"(?u)\b\w\w+\b", text.lower())


def test_worker_processes_give_the_same_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    words = [f"w{i}" for i in range(300)] + ["knee", "hip", "trial"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 40))) for _ in range(400)]
    one, _ = features.fit_tfidf(texts)
    monkeypatch.setattr(features, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(features.os, "cpu_count", lambda: 2)
    chunks = features._tokenize_all(texts)
    assert len(chunks) == 4  # two chunks per worker, read by forked workers
    assert (features.fit_tfidf(texts)[0] != one).nnz == 0


def test_words_and_records_too_many_to_pack_are_counted_another_way(monkeypatch: pytest.MonkeyPatch) -> None:
    packed, _ = features.fit_tfidf(TEXTS)
    monkeypatch.setattr(features, "PACK_LIMIT", 0)  # as if (term, record) did not fit one integer
    assert (features.fit_tfidf(TEXTS)[0] != packed).nnz == 0


def test_new_records_are_transformed_with_the_fitted_vocabulary() -> None:
    X, vocab = features.fit_tfidf(TEXTS)
    assert_same(features.transform_tfidf(vocab, TEXTS), X)  # the fitted records themselves: the same rows
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95).fit(TEXTS)
    new = ["knee pain after a randomised trial of unheard-of words", "", "zinc zinc in Wilson"]
    assert_same(features.transform_tfidf(vocab, new), vec.transform(new))


def pool(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(500)] + ["knee", "arthroplasty"]
    return [" ".join(rng.choice(words) for _ in range(30)) for _ in range(n)]


def test_adding_a_few_records_keeps_the_cached_rows_and_transforms_the_new(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path))
    texts = pool(300)
    base = features.cached_tfidf(texts)
    vocab = features._memory[next(iter(features._memory))].vocab
    added = pool(20, seed=2)  # 20 new records: under a tenth of the 300 fitted
    grown = features.cached_tfidf(texts + added)
    assert grown.shape == (320, base.shape[1])  # the fitted columns: no refit
    assert (grown[:300] != base).nnz == 0
    assert_same(grown[300:], features.transform_tfidf(vocab, added))
    files = sorted((tmp_path / "features").glob("*.npz"), key=lambda p: p.stat().st_size)
    assert len(files) == 2 and files[0].stat().st_size < files[1].stat().st_size / 5  # the delta is small
    # in a new process: the grown pool from the disk (the fit's rows and the delta's own)
    features._memory.clear()
    assert (features.cached_tfidf(texts + added) != grown).nnz == 0
    # another process removes 10 records and adds 5, in another order: still within a tenth, no refit
    features._memory.clear()
    other = pool(5, seed=3) + texts[10:][::-1]
    X = features.cached_tfidf(other)
    assert X.shape[1] == base.shape[1]
    assert (X[5:] != base[10:][::-1]).nnz == 0
    assert_same(X[:5], features.transform_tfidf(vocab, other[:5]))


def test_a_tenth_changed_since_the_fit_fits_anew(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path))
    texts = pool(200)
    features.cached_tfidf(texts)
    step1 = texts + pool(15, seed=2)  # 15 of 200 changed: extended
    assert features.cached_tfidf(step1).shape[1] == features.fit_tfidf(texts)[0].shape[1]
    step2 = step1 + pool(10, seed=3)  # 25 changed since the fit: over a tenth, fitted anew
    assert_same(features.cached_tfidf(step2), features.tfidf_matrix(step2))
    step3 = step2[:-1]  # and the new fit is the one later changes count from
    assert features.cached_tfidf(step3).shape[1] == features.tfidf_matrix(step2).shape[1]


def test_a_damaged_cache_file_is_computed_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path))
    texts = pool(50)
    first = features.cached_tfidf(texts)
    (path,) = (tmp_path / "features").glob("*.npz")
    path.write_bytes(b"not a matrix")
    features._memory.clear()
    assert (features.cached_tfidf(texts) != first).nnz == 0


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch) -> None:
    (tmp_path / "features").write_text("a file where the folder should be")
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path))
    texts = pool(40)
    assert (features.cached_tfidf(texts) != features.tfidf_matrix(texts)).nnz == 0
    assert features.cached_tfidf(texts + pool(2, seed=9)).shape[0] == 42
