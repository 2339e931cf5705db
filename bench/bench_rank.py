"""Ranking benchmark: `screening simulate` on every labelled set, 5 seeds, beside ASReview.

Prints WSS@95, recall at 10%, ATD and seconds per run (wall time of the whole command, start-up
included). When an ASReview executable exists (ASR_BIN, or a venv at $TMPDIR/check-asreview made
with `pip install asreview==3.0.8`), it runs `asreview simulate ... --ai elas_u4` on the same
files and prior seeds and prints both side by side with the ratios.
Usage: python bench/bench_rank.py [SET ...]
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from screening.prioritise.metrics import atd, recall_at, wss

SCREENING = str(Path(sys.executable).with_name("screening"))
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "screening"
SEEDS = (1, 2, 3, 4, 5)
ASR = os.environ.get("ASR_BIN", os.path.join(tempfile.gettempdir(), "check-asreview", "bin", "asreview"))


def ours(path: Path, seed: int, work: Path) -> tuple[list[int], float]:
    out = work / f"{path.stem}_{seed}.csv"
    t0 = time.perf_counter()
    subprocess.run([SCREENING, "simulate", str(path), "--label-column", "label_included", "--seed", str(seed),
                    "--out", str(out)], check=True, capture_output=True)
    secs = time.perf_counter() - t0
    rows = sorted(csv.DictReader(open(out, encoding="utf-8")), key=lambda r: int(r["position"]))
    return [int(r["label"]) for r in rows], secs


def asreview(path: Path, seed: int, work: Path) -> tuple[list[int], float] | None:
    if not os.path.exists(ASR):
        return None
    out = work / f"asr_{path.stem}_{seed}.asreview"
    t0 = time.perf_counter()
    r = subprocess.run([ASR, "simulate", str(path), "--ai", "elas_u4", "--n-prior-included", "1",
                        "--n-prior-excluded", "1", "--prior-seed", str(seed), "--seed", "165", "-o", str(out)],
                       capture_output=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        return None
    d = tempfile.mkdtemp(dir=work)
    with zipfile.ZipFile(out) as z:
        z.extract("results.db", d)
    con = sqlite3.connect(os.path.join(d, "results.db"))
    labels = [x[0] for x in con.execute("select label from results order by rowid")]
    n = con.execute("select count(*) from record").fetchone()[0]
    return labels + [0] * (n - len(labels)), secs


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in DATA.glob("*.csv"))
    print(f"{'set':32} {'WSS@95':>7} {'R@10%':>6} {'ATD%':>5} {'s/run':>6} | {'ASReview WSS':>12} {'s/run':>6} | "
          f"{'dWSS':>5} {'time ratio':>10}")
    gains = []
    with tempfile.TemporaryDirectory(prefix="bench-rank-") as tmp:
        for name in names:
            path = DATA / f"{name}.csv"
            o = [ours(path, s, Path(tmp)) for s in SEEDS]
            a = [asreview(path, s, Path(tmp)) for s in SEEDS]
            w = mean([wss(x[0]) for x in o])
            r10 = mean([recall_at(x[0], 0.1) for x in o])
            at = mean([atd(x[0]) for x in o])
            t = mean([x[1] for x in o])
            line = f"{name:32} {w:7.1f} {r10:6.1f} {at:5.2f} {t:6.2f} |"
            if all(a):
                wa = mean([wss(x[0]) for x in a])  # type: ignore[index]
                ta = mean([x[1] for x in a])  # type: ignore[index]
                gains.append(w - wa)
                line += f" {wa:12.1f} {ta:6.1f} | {w - wa:+5.1f} {t / ta:10.2f}"
            else:
                line += " (ASReview not installed; see ../shared/data/screening/README.md for its figures)"
            print(line, flush=True)
    if gains:
        print(f"mean WSS@95 gain over ASReview: {mean(gains):+.1f} points (goal +2)")




def retrain_50k() -> None:
    """Retrain and re-rank 50,000 records, with the features as a session and `screening rank` get them:
    computed once, then read from the feature cache (a fresh process reads them from disk)."""
    import random

    import numpy as np

    from screening.prioritise import features
    from screening.prioritise.training import train_and_score

    rng = random.Random(1)
    words = [f"w{i}" for i in range(20000)]
    texts = [" ".join(rng.choice(words) for _ in range(150)) for _ in range(50_000)]
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        os.environ["SCREENING_CACHE"] = cache
        t0 = time.perf_counter()
        features.cached_tfidf(texts)
        t1 = time.perf_counter()
        features._memory.clear()  # as in a new process
        X = features.cached_tfidf(texts)
        t2 = time.perf_counter()
    labelled = np.arange(2000)
    y = np.array([1 if i % 20 == 0 else 0 for i in labelled])
    train_and_score(X, labelled, y, seed=1)
    t3 = time.perf_counter()
    print(f"50,000 records: features {t1 - t0:.1f} s the first time, {t2 - t1:.1f} s from the cache; "
          f"retrain + re-rank {t3 - t2:.2f} s (goal <= 2 s)")


if __name__ == "__main__":
    main()
    retrain_50k()
