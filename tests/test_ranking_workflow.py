"""Ranking in the workflow: the same seed gives the same order, test-phase batches keep theirs, the
direct model fits are scikit-learn's, and progress shows what stopping costs."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata
from sqlalchemy import insert, select

from screening.prioritise import features
from screening.prioritise.models import MODELS, average_ranks, balanced_weights, make_model
from screening.prioritise.service import compute_ranking, ranking_inputs
from screening.prioritise.simulate import simulate, simulate_file
from screening.prioritise.stopping import recall_costs

TOPIC = "knee arthroplasty outcome randomised".split()
OTHER = "care model community access provider budget workforce navigator primary".split()


def texts_and_labels(n: int = 400, seed: int = 2) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        inc = i % 12 == 0
        words = [rng.choice(OTHER) for _ in range(20)] + ([rng.choice(TOPIC) for _ in range(4)] if inc else [])
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(int(inc))
    return texts, labels


# ------------------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_order_whatever_the_cache(tmp_path: Path, monkeypatch) -> None:
    texts, labels = texts_and_labels()
    path = tmp_path / "d.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "abstract", "label_included"])
        w.writerows([t[:20], t, y] for t, y in zip(texts, labels, strict=True))
    a = simulate_file(path, "label_included", 7, tmp_path / "a.csv")
    features._memory.clear()
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path / "other-cache"))
    b = simulate_file(path, "label_included", 7, tmp_path / "b.csv")
    assert a.order == b.order and (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert simulate_file(path, "label_included", 8, tmp_path / "c.csv").order != a.order


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_ranks_deterministically(model: str) -> None:
    texts, labels = texts_and_labels(200)
    first = simulate(texts, labels, seed=3, model=model)
    assert simulate(texts, labels, seed=3, model=model).order == first.order
    assert first.wss95 is not None and first.wss95 > 40  # the topic words give the includes away


def test_a_ranking_computed_twice_is_the_same(db) -> None:
    from test_background import decide_a_few, single_phase_set

    single_phase_set(db)
    decide_a_few(db, "a", 3)
    with db.read() as s:
        inputs = ranking_inputs(s, "s")
    first = compute_ranking(inputs)
    features._memory.clear()  # the second from the disk cache
    again = compute_ranking(inputs)
    assert first.scored == again.scored and first.params == again.params
    assert compute_ranking(inputs, seed=1).scored != first.scored or first.labelled < 40


# ------------------------------------------------------------------------------ test-phase batches


def test_batch_queues_keep_their_order_through_ranking_and_retraining(db) -> None:
    """Neither `screening rank` nor the web app's retrainer reorders a test-phase batch: agreement
    statistics need its random order. Only single-phase assignments take a score."""
    from screening.prioritise.background import Retrainer
    from screening.prioritise.service import rank_set
    from screening.records.searches import add_search
    from screening.review.decisions import record_decision
    from screening.review.queue import queue
    from screening.review.sampling import draw_sample
    from screening.review.sets import create_set
    from screening.storage.models import Assignment, ModelRun, Record
    from screening.team.users import add_user

    with db.transaction() as s:
        for name, role in (("a", "screener"), ("b", "screener"), ("pi", "pi")):
            add_user(s, name, role)
        sid = add_search(s, "m", "MEDLINE").id
        s.execute(insert(Record), [{"search_id": sid, "format": "ris", "raw": [],
                                    "title": f"{'knee arthroplasty' if i % 5 == 0 else 'care model'} {i}",
                                    "abstract": "knee" if i % 5 == 0 else "care"} for i in range(200)])
        create_set(s, "s", all_records=True, actor="pi")
        draw_sample(s, "s", pairs=[("a", "b")], seed=4, batch_size=20, size=60, actor="pi")
    with db.read() as s:
        before = {u: [q.record_id for q in queue(s, u, set_name="s")] for u in ("a", "b")}
        priority = dict(s.execute(select(Assignment.id, Assignment.priority)).all())
    with db.transaction() as s:  # the first batch decided, includes and excludes among them
        titles = {r.id: r.title for r in s.scalars(select(Record))}
        assert 0 < sum(titles[rid].startswith("knee") for rid in before["a"][:20]) < 20
        for rid in before["a"][:20]:
            for u in ("a", "b"):
                record_decision(s, u, rid, "include" if titles[rid].startswith("knee") else "exclude")
    with db.transaction() as s:
        rank_set(s, "s")  # an explicit ranking in the test phase
    retrainer = Retrainer(db)
    retrainer.poke("s").result(timeout=60)  # the retrainer: not due outside the single phase
    retrainer.close()
    with db.read() as s:
        for u in ("a", "b"):
            assert [q.record_id for q in queue(s, u, set_name="s")] == before[u][20:]
        assert dict(s.execute(select(Assignment.id, Assignment.priority)).all()) == priority
        assert s.scalar(select(ModelRun.id).order_by(ModelRun.id.desc())) == 1  # only the explicit ranking


# -------------------------------------------------------------------------------------- the models


@pytest.mark.parametrize("name", ["svm", "nb", "logistic"])
def test_direct_fits_are_the_estimators_own(name: str) -> None:
    texts, labels = texts_and_labels(300)
    X = features.tfidf_matrix(texts)
    y = np.asarray(labels)
    rows = np.arange(0, 300, 3)  # a third of the pool: many columns absent from the training rows
    model = make_model(name, 5).fit(X[rows], y[rows])
    assert model.linear is not None  # fitted without the estimator's fit
    est = make_model(name, 5).estimator
    est.fit(X[rows], y[rows], sample_weight=balanced_weights(y[rows], make_model(name, 5).ratio))
    if hasattr(est, "decision_function"):
        expected = est.decision_function(X)
    else:
        logp = est.predict_log_proba(X)
        expected = logp[:, 1] - logp[:, 0]
    np.testing.assert_allclose(model.score(X), expected, rtol=1e-9, atol=1e-9)


def test_average_ranks_are_scipys() -> None:
    x = np.round(np.random.RandomState(1).randn(500), 1)  # many ties
    assert (average_ranks(x) == rankdata(x)).all()


# ------------------------------------------------------------------------ what stopping costs


def test_recall_costs_on_a_hand_computed_order() -> None:
    labels = [1, 0, 1, 0, 0, 1, 0, 0, 0, 1] + [0] * 10  # 4 includes in 20 records
    got = {round(c.recall * 100): c for c in recall_costs(labels)}
    assert (got[80].includes, got[80].screened, got[80].saved) == (4, 10, 10)  # ceil(3.2) = 4: the 4th, at 10
    assert (got[90].screened, got[95].screened, got[99].screened) == (10, 10, 10)
    assert got[80].saved_share == 0.5
    assert recall_costs([1, 1, 0, 0], (0.5,))[0].screened == 1


def test_progress_shows_what_stopping_costs(db, run) -> None:
    from test_background import decide_a_few, single_phase_set

    single_phase_set(db, n=200)
    from screening.prioritise.background import Retrainer

    retrainer = Retrainer(db)
    for _ in range(4):
        decide_a_few(db, "a", 10)
        retrainer.poke("s").result(timeout=60)
    retrainer.close()
    out = run("progress", "s").stdout
    assert "what stopping costs" in out and "simulation: the 70 records decided so far" in out
    lines = [line.split() for line in out.splitlines() if line.strip().startswith(("80%", "90%", "95%", "99%"))]
    assert len(lines) == 4
    data = json.loads(run("progress", "s", "--json").stdout)
    costs = data["costs"]
    assert costs["decided"] == data["screened"] == 70 and costs["includes"] == data["relevant_found"]
    assert [c["recall"] for c in costs["own"]] == [0.8, 0.9, 0.95, 0.99]
    assert len(costs["simulated"]) == 4 and costs["seeds"] == [1, 2, 3]
    assert all(0 <= c["saved"] <= costs["simulated_pool"] for c in costs["simulated"])
    assert "70 records decided so far" in costs["basis"]
