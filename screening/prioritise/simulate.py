"""Replay a labelled review: the labels are the oracle, the order is ours.

It starts from one random include and one random exclude chosen by the seed (positions 1 and
2; drawn as ASReview draws its priors for the same seed), retrains on the same cadence as a
real session (:func:`screening.prioritise.cadence.retrain_due`) and screens the highest-scored
record next. Once the last include is found it stops retraining (nothing after it changes a
metric) and lists the rest in the last ranking's order.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from screening.errors import InputFileError
from screening.prioritise.cadence import retrain_due
from screening.prioritise.features import record_text, tfidf_matrix
from screening.prioritise.metrics import atd, recall_at, wss
from screening.prioritise.stopping import RECALL_LEVELS, RecallCost, StoppingCosts, recall_costs
from screening.prioritise.training import train_and_score


@dataclass
class SimulationResult:
    order: list[int]  # row indexes in the order screened
    labels: list[int]  # labels in that order
    wss95: float | None
    recall10: float | None
    recall20: float | None
    atd: float | None
    retrains: int
    seconds: float


def read_labelled(path: str | Path, label_column: str) -> tuple[list[str], list[str], list[int]]:
    """Texts, record ids and 0/1 labels of a labelled CSV."""
    path = str(path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(path, f"cannot open ({exc.strerror}).") from None
    csv.field_size_limit(1 << 30)
    texts, ids, labels = [], [], []
    with fh:
        reader = csv.DictReader(fh)
        cols = {c.lower(): c for c in reader.fieldnames or []}
        if label_column not in (reader.fieldnames or []):
            raise InputFileError(path, f"no column {label_column!r} (columns: {', '.join(reader.fieldnames or [])}).",
                                 line=1, hint="Give the label column with --label-column.")
        if "title" not in cols and "abstract" not in cols:
            raise InputFileError(path, "no title or abstract column.", line=1)
        for n, row in enumerate(reader, 1):
            raw = (row.get(label_column) or "").strip()
            try:
                label = int(float(raw))
            except ValueError:
                raise InputFileError(path, f"label {raw!r} is not 0 or 1.", line=reader.line_num,
                                     hint="Labels must be 0 (excluded) or 1 (included).") from None
            if label not in (0, 1):
                raise InputFileError(path, f"label {label} is not 0 or 1.", line=reader.line_num)
            texts.append(record_text(row.get(cols.get("title", "")), row.get(cols.get("abstract", "")),
                                     row.get(cols.get("keywords", "")) or None))
            ids.append((row.get(cols["record_id"]) if "record_id" in cols else None) or str(n))
            labels.append(label)
    if 1 not in labels or 0 not in labels:
        raise InputFileError(path, "a simulation needs at least one included and one excluded record.")
    return texts, ids, labels


def simulate(texts: list[str], labels: list[int], *, seed: int, model: str | None = None) -> SimulationResult:
    t0 = time.perf_counter()
    X = tfidf_matrix(texts)
    y = np.asarray(labels)
    # the priors as `asreview simulate --prior-seed SEED` draws them, so both tools start from the
    # same two records and a benchmark compares the rankings, not the luck of the draw
    order = [int(np.random.RandomState(seed).choice(np.flatnonzero(y == inc), 1, replace=False)[0]) for inc in (1, 0)]
    done = np.zeros(len(y), dtype=bool)
    done[order] = True
    retrains = 0
    queue: list[int] = []
    since = 0
    left = int(y.sum()) - 1  # includes not yet screened
    while len(order) < len(y):
        # once every include is found no later order can change a metric: ASReview's simulate stops
        # there; this one lists the rest in the last ranking's order, without retraining for them
        if not queue or (left and retrain_due(since, len(order))):
            idx = np.asarray(order)
            res = train_and_score(X, idx, y[idx], model=model, seed=seed)
            retrains += 1
            rest = np.flatnonzero(~done)
            # highest score first; ties by position for determinism
            queue = rest[np.lexsort((rest, -res.scores[rest]))].tolist()
            since = 0
        nxt = queue.pop(0)
        while done[nxt]:
            nxt = queue.pop(0)
        order.append(nxt)
        done[nxt] = True
        since += 1
        left -= int(y[nxt])
    got = [labels[i] for i in order]
    return SimulationResult(order, got, wss(got), recall_at(got, 0.10), recall_at(got, 0.20), atd(got), retrains,
                            time.perf_counter() - t0)


def simulate_file(path: str | Path, label_column: str, seed: int, out_path: str | Path,
                  model: str | None = None) -> SimulationResult:
    """Simulate a review of a labelled CSV and write every record in the order screened."""
    texts, ids, labels = read_labelled(path, label_column)
    result = simulate(texts, labels, seed=seed, model=model)
    with open(out_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["position", "record_id", "label"])
        for pos, i in enumerate(result.order, 1):
            w.writerow([pos, ids[i], labels[i]])
    return result


COST_SEEDS = (1, 2, 3)  # simulations behind `screening progress`'s table of what stopping costs
COST_POOL_MAX = 4000  # decided records simulated at most (a random sample beyond): seconds, not minutes


def stopping_costs(texts: list[str], labels: list[int], *, model: str | None = None,
                   levels: tuple[float, ...] = RECALL_LEVELS) -> StoppingCosts:
    """What stopping at each recall level costs, on the records decided so far (``labels`` in the order
    decided): in that order, and in simulations of those records with their decisions as the oracle
    (the model and cadence of a real session, seeds :data:`COST_SEEDS`, averaged)."""
    n, r = len(labels), int(sum(labels))
    own = recall_costs(labels, levels)
    idx = np.arange(n)
    if n > COST_POOL_MAX:
        idx = np.sort(np.random.RandomState(0).choice(n, COST_POOL_MAX, replace=False))
    sub_t, sub_y = [texts[i] for i in idx], [labels[i] for i in idx]
    runs = []
    if 0 < sum(sub_y) < len(sub_y):
        runs = [recall_costs(simulate(sub_t, sub_y, seed=s, model=model).labels, levels) for s in COST_SEEDS]
    simulated = [RecallCost(lv, runs[0][k].includes, float(np.mean([x[k].screened for x in runs])),
                            float(np.mean([x[k].saved for x in runs])),
                            float(np.mean([x[k].saved_share for x in runs])))
                 for k, lv in enumerate(levels)] if runs else []
    sample = f"a random sample of {len(idx)} of the {n} records decided so far" if len(idx) < n else \
        f"the {n} records decided so far"
    basis = (f"{sample} ({sum(sub_y)} includes) screened again in the model's order, the team's decisions "
             f"as the oracle, with the model and retraining cadence of a real session, from seeds "
             f"{COST_SEEDS[0]}-{COST_SEEDS[-1]} (mean). Includes not found yet are in neither column: this "
             f"is what stopping saves and misses among the includes known today, not a promise for the "
             f"records left") if runs else "none: it needs at least one include and one exclude decided"
    return StoppingCosts(n, r, own, simulated, len(idx), list(COST_SEEDS) if runs else [], basis)
