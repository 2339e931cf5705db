"""Import benchmark: a generated 100,000-record RIS file into SQLite through the real CLI.

Prints records/s and the peak resident memory of the import process; memory must stay flat
(compare the 10,000- and 100,000-record runs). Usage: python bench/bench_import.py [N ...]
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCREENING = str(Path(sys.executable).with_name("screening"))
WORDS = ("care primary integrated community access model provider contract workforce navigator "
         "budget pooled hospital outcome randomised trial cohort patients services health policy "
         "evaluation quality cost effectiveness nurse general practice").split()


def make_ris(path: Path, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            title = " ".join(rng.choice(WORDS) for _ in range(12)).capitalize()
            abstract = " ".join(rng.choice(WORDS) for _ in range(180))
            f.write(f"TY  - JOUR\nID  - {i + 1}\nT1  - {title} {i}\n")
            for a in range(rng.randint(1, 6)):
                f.write(f"A1  - Author{rng.randint(1, 5000)}, {chr(65 + a)}.\n")
            f.write(f"Y1  - {rng.randint(2000, 2016)}//\nJF  - Journal of {rng.choice(WORDS).title()}\n"
                    f"JA  - J {rng.choice(WORDS).title()}\nVL  - {rng.randint(1, 80)}\nIS  - {rng.randint(1, 12)}\n"
                    f"SP  - {rng.randint(1, 900)}\nEP  - {rng.randint(901, 999)}\nN2  - {abstract}\n"
                    f"KW  - {rng.choice(WORDS)}\nKW  - {rng.choice(WORDS)}\nSN  - 1234-5678\n"
                    f"DO  - https://dx.doi.org/10.{rng.randint(1000, 9999)}/x{i}\nDB  - MEDLINE\nER  - \n\n")


def run(n: int, work: Path) -> tuple[float, float]:
    ris = work / f"gen_{n}.ris"
    make_ris(ris, n)
    db = f"sqlite:///{work}/bench_{n}.db"
    env = dict(os.environ, SCREENING_DB=db)
    subprocess.run([SCREENING, "init"], env=env, check=True, capture_output=True)
    subprocess.run([SCREENING, "search", "add", "gen", "--database", "MEDLINE"], env=env, check=True,
                   capture_output=True)
    os.sync()  # the generated file's dirty pages are written now, not while the import is timed
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([SCREENING, "import", str(ris), "--search", "gen"], env=env, capture_output=True,
                       text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"import failed: {r.stderr[-500:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    mb = max(peak, before) / 1024
    print(f"{n:>8} records  {ris.stat().st_size / 1e6:7.1f} MB file  {secs:6.2f} s  "
          f"{n / secs:8.0f} records/s  peak memory {mb:6.1f} MB", flush=True)
    return n / secs, mb


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as d:
        results = [run(n, Path(d)) for n in sizes]
    rate = results[-1][0]
    print(f"import: {rate:.0f} records/s on {sizes[-1]} records (target >= 20000); "
          f"peak memory {results[0][1]:.0f} MB at {sizes[0]} vs {results[-1][1]:.0f} MB at {sizes[-1]}")


if __name__ == "__main__":
    main()
