"""Ranking benchmark: `screening simulate` on every labelled set, 5 seeds, beside ASReview.

Prints per set the mean WSS@95 with its spread over seeds (standard deviation and range), recall
at 10%, ATD and seconds per run (wall time of the whole command, start-up included, and its CPU
time). When an ASReview executable exists (ASR_BIN, or a venv at $TMPDIR/check-asreview made with
`pip install asreview==3.0.8`; made here when missing, unless --no-asreview), it runs `asreview
simulate ... --ai elas_u4` on the same files and prior seeds, one run at a time as ours, and
prints both side by side with the time ratios: per simulation (ours over ASReview's on the same
set and seed; the worst is shown) and for the whole benchmark. Then the 50,000-record figures:
TF-IDF the first time, from the cache, with 1,000 records added, and a retrain + re-rank
(`compute_ranking` with the features cached).

Usage: python bench/bench_rank.py [--seeds 1,2,3,4,5] [--data DIR] [--no-asreview] [--no-50k] [SET ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import statistics
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
ASR_VENV = Path(tempfile.gettempdir()) / "check-asreview"
ASR = os.environ.get("ASR_BIN", str(ASR_VENV / "bin" / "asreview"))
GOAL_GAIN, GOAL_WORST, GOAL_RUN_RATIO, GOAL_TOTAL_RATIO = 2.0, -1.0, 0.5, 0.25


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(path: Path, seed: int, work: Path) -> tuple[list[int], float, float]:
    """Labels in the order screened, wall seconds and CPU seconds of one `screening simulate`."""
    out = work / f"{path.stem}_{seed}.csv"
    c0, t0 = children_cpu(), time.perf_counter()
    subprocess.run([SCREENING, "simulate", str(path), "--label-column", "label_included", "--seed", str(seed),
                    "--out", str(out)], check=True, capture_output=True)
    secs, cpu = time.perf_counter() - t0, children_cpu() - c0
    rows = sorted(csv.DictReader(open(out, encoding="utf-8")), key=lambda r: int(r["position"]))
    return [int(r["label"]) for r in rows], secs, cpu


def asreview(path: Path, seed: int, work: Path) -> tuple[list[int], float, float] | None:
    if not os.path.exists(ASR):
        return None
    out = work / f"asr_{path.stem}_{seed}.asreview"
    c0, t0 = children_cpu(), time.perf_counter()
    r = subprocess.run([ASR, "simulate", str(path), "--ai", "elas_u4", "--n-prior-included", "1",
                        "--n-prior-excluded", "1", "--prior-seed", str(seed), "--seed", "165", "-o", str(out)],
                       capture_output=True)
    secs, cpu = time.perf_counter() - t0, children_cpu() - c0
    if r.returncode != 0:
        return None
    d = tempfile.mkdtemp(dir=work)
    with zipfile.ZipFile(out) as z:
        z.extract("results.db", d)
    con = sqlite3.connect(os.path.join(d, "results.db"))
    labels = [x[0] for x in con.execute("select label from results order by rowid")]
    n = con.execute("select count(*) from record").fetchone()[0]
    return labels + [0] * (n - len(labels)), secs, cpu  # ASReview stops at the last relevant record


def ensure_asreview() -> None:
    """The ASReview venv the acceptance check uses, made when missing (a few minutes, once)."""
    if os.path.exists(ASR) or "ASR_BIN" in os.environ:
        return
    print(f"making the ASReview 3.0.8 venv at {ASR_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(ASR_VENV)], check=True)
    subprocess.run([str(ASR_VENV / "bin" / "pip"), "install", "-q", "asreview==3.0.8"], capture_output=True)


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def spread(xs: list[float]) -> str:
    """Standard deviation and range over seeds."""
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{sd:4.1f} [{min(xs):5.1f},{max(xs):5.1f}]"


def main(names: list[str], data: Path, seeds: tuple[int, ...], with_asr: bool) -> None:
    if with_asr:
        ensure_asreview()
    print(f"seeds {','.join(map(str, seeds))}; WSS@95 mean, sd [min,max] over seeds; s/run wall (CPU)")
    print(f"{'set':31} {'WSS@95':>6} {'sd  [min,  max]':>17} {'R@10%':>5} {'ATD%':>5} {'s/run':>11} | "
          f"{'ASReview':>8} {'sd  [min,  max]':>17} {'s/run':>11} | {'dWSS':>5} {'t ratio':>7} {'worst':>5}")
    gains, ours_wall, asr_wall, worst_ratio = [], 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory(prefix="bench-rank-") as tmp:
        for name in names:
            path = data / f"{name}.csv"
            o, a = [], []
            for s in seeds:  # one run at a time, ours then ASReview's, so both see the same machine
                o.append(ours(path, s, Path(tmp)))
                a.append(asreview(path, s, Path(tmp)) if with_asr else None)
            w = [wss(x[0]) or 0.0 for x in o]
            line = (f"{name[:31]:31} {mean(w):6.1f} {spread(w)} {mean([recall_at(x[0], 0.1) or 0 for x in o]):5.1f} "
                    f"{mean([atd(x[0]) or 0 for x in o]):5.2f} {mean([x[1] for x in o]):5.2f} "
                    f"({mean([x[2] for x in o]):4.2f}) |")
            if all(a):
                wa = [wss(x[0]) or 0.0 for x in a]  # type: ignore[index]
                ratios = [x[1] / y[1] for x, y in zip(o, a, strict=True)]  # type: ignore[index]
                gains.append(mean(w) - mean(wa))
                ours_wall += sum(x[1] for x in o)
                asr_wall += sum(x[1] for x in a)  # type: ignore[index]
                worst_ratio = max(worst_ratio, *ratios)
                line += (f" {mean(wa):8.1f} {spread(wa)} {mean([x[1] for x in a]):5.1f} "  # type: ignore[index]
                         f"({mean([x[2] for x in a]):4.1f}) | {mean(w) - mean(wa):+5.1f} "  # type: ignore[index]
                         f"{mean(ratios):7.2f} {max(ratios):5.2f}")
            else:
                line += " (ASReview not run; see ../shared/data/screening/README.md for its figures)"
            print(line, flush=True)
    if gains:
        print(f"mean WSS@95 gain over ASReview: {mean(gains):+.1f} points (goal {GOAL_GAIN:+.0f}); "
              f"worst set {min(gains):+.1f} (goal >= {GOAL_WORST:+.0f})")
        print(f"time: worst simulation at {worst_ratio:.2f} of ASReview's wall time on the same set and seed "
              f"(goal <= {GOAL_RUN_RATIO}); whole benchmark {ours_wall:.0f} s vs {asr_wall:.0f} s, ratio "
              f"{ours_wall / asr_wall:.2f} (goal <= {GOAL_TOTAL_RATIO})")


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def timed(f: object) -> tuple[object, float, float]:
    c0, t0 = cpu_self(), time.perf_counter()
    out = f()  # type: ignore[operator]
    return out, time.perf_counter() - t0, cpu_self() - c0


def retrain_50k() -> None:
    """50,000 synthetic records (a 20,000-word vocabulary, 150 words each): TF-IDF the first time, from the
    cache in a new process, with 1,000 records added; then retrain + re-rank as the web app's retrainer and
    `screening rank` do it (`compute_ranking`, features cached), on 2,000 decisions (1 in 20 included)."""
    import random

    from screening.prioritise import features
    from screening.prioritise.service import RankingInputs, compute_ranking

    rng = random.Random(1)
    words = [f"w{i}" for i in range(20000)]
    texts = [" ".join(rng.choice(words) for _ in range(150)) for _ in range(52_000)]
    pool, grown, other = texts[:50_000], texts[:51_000], texts[:50_000] + texts[51_000:]
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        os.environ["SCREENING_CACHE"] = cache
        _, first_w, first_c = timed(lambda: features.cached_tfidf(pool))
        features._memory.clear()  # as in a new process
        _, disk_w, _ = timed(lambda: features.cached_tfidf(pool))
        _, add_w, add_c = timed(lambda: features.cached_tfidf(grown))
        features._memory.clear()  # a new process adds another 1,000 to the pool: the fit is read from disk
        _, add2_w, add2_c = timed(lambda: features.cached_tfidf(other))
        labels = {i: int(i % 20 == 0) for i in range(2000)}
        inputs = RankingInputs(0, "bench", list(range(len(grown))), labels, grown)
        compute_ranking(inputs)  # the first ranking of a process imports scikit-learn
        runs = sorted(timed(lambda: compute_ranking(inputs))[1:] for _ in range(5))
    rank_w, rank_c = runs[len(runs) // 2]
    print(f"50,000 records: features {first_w:.1f} s the first time (CPU {first_c:.1f} s; goal <= 15 s), "
          f"{disk_w:.1f} s from the cache in a new process; 1,000 records added {add_w:.2f} s (CPU {add_c:.2f} s; "
          f"goal <= 1 s), {add2_w:.2f} s (CPU {add2_c:.2f} s) in a new process, from the disk cache")
    print(f"51,000 records, 2,000 decided: retrain + re-rank (compute_ranking, features cached) {rank_w:.2f} s, "
          f"CPU {rank_c:.2f} s (median of 5; goal <= 1 s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--no-asreview", action="store_true")
    ap.add_argument("--no-50k", action="store_true")
    args = ap.parse_args()
    main(args.sets or sorted(p.stem for p in args.data.glob("*.csv")), args.data,
         tuple(int(s) for s in args.seeds.split(",")), not args.no_asreview)
    if not args.no_50k:
        retrain_50k()
