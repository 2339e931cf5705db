"""Dedup benchmark through the real path: RIS file -> import -> dedup -> export -> score.

Every labelled set in ../shared/data/dedup with group ground truth is written as RIS (the RIS
ID tag carries the ground-truth id), imported into a fresh SQLite database, deduplicated and
exported with the `screening` command, then scored with bib-dedupe's group-aware metric
(see ../shared/data/dedup/README.md) and pairwise precision/recall. The two Beller sets, whose
EndNote XML only flags each record as in a duplicate set or not, go through the same path and
are scored by those flags. Published figures are
printed beside ours. Usage: python bench/bench_dedup.py [SET ...]
"""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from screening.dedup.normalise import is_erratum

SCREENING = str(Path(sys.executable).with_name("screening"))
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dedup"
# published sensitivity / lost papers (bib-dedupe output/current_results.md @ 9394e4e, data README)
PUBLISHED = {
    "asysd_diabetes": ((1.000, 0), (0.998, 0)),
    "asysd_neuroimaging": ((0.995, 0), (0.984, 3)),
    "asysd_cardiac": ((0.997, 0), (0.992, 4)),
    "asysd_srsr": ((0.996, 0), (0.975, 25)),
    "sra_cytology_screening": ((0.992, 0), (0.973, 1)),
    "sra_haematology": ((0.889, 0), (0.807, 0)),
}
csv.field_size_limit(10**9)


def read_records(d: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for p in sorted(d.iterdir()):
        op = gzip.open if p.name.endswith(".gz") else open
        if p.name.startswith("records_pre_merged"):
            with op(p, "rt", encoding="utf-8", errors="replace") as f:
                rows += list(csv.DictReader(f))
        elif p.name.startswith("final_labelled_"):
            with op(p, "rt", encoding="latin-1") as f:
                for r in csv.DictReader(f):
                    rows.append({"ID": "id_" + r["RecordID"].zfill(7), "author": r["Author"], "year": r["Year"],
                                 "title": r["Title"], "journal": r["Journal"], "volume": r["Volume"],
                                 "number": r["Number"], "pages": r["Pages"], "abstract": r["Abstract"],
                                 "doi": r["DOI"], "isbn": r["ISBN"]})
    return rows


def gold(d: Path) -> dict[str, str]:
    g: dict[str, str] = {}
    with open(d / "merged_record_ids.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ids = row["merged_ids"].split(";")
            for i in ids:
                g[i] = ids[0]
    return g


def to_ris(rows: list[dict[str, str]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for r in rows:
            out.write(f"TY  - JOUR\nID  - {r['ID']}\n")
            authors = (r.get("author") or "").replace(";", " and ").split(" and ")
            for a in [a.strip() for a in authors if a.strip()]:
                out.write(f"AU  - {a}\n")
            for tag, col in (("TI", "title"), ("PY", "year"), ("JO", "journal"), ("VL", "volume"),
                             ("IS", "number"), ("AB", "abstract"), ("DO", "doi"), ("SN", "isbn")):
                v = " ".join((r.get(col) or "").split())
                if v:
                    out.write(f"{tag}  - {v}\n")
            p = (r.get("pages") or "").strip()
            if p:
                sp, _, ep = p.partition("-")
                out.write(f"SP  - {sp.strip()}\n")
                if ep.strip():
                    out.write(f"EP  - {ep.strip()}\n")
            out.write("ER  - \n\n")


def by_design(a: dict[str, str], b: dict[str, str]) -> bool:
    """Two gold-merged records the issue says to keep apart: an erratum/comment/reply and its article,
    or two versions of a review that a series updates (Cochrane, BMJ Clinical Evidence): other DOI or year."""
    if is_erratum(a.get("title", "")) != is_erratum(b.get("title", "")):
        return True
    series = ("cochrane", "clin evid", "clinical evidence")
    if all(any(k in (r.get("journal") or "").lower() for k in series) for r in (a, b)):
        return (a.get("doi") or "").lower() != (b.get("doi") or "").lower() or a.get("year") != b.get("year")
    return False


def score(pred_root: dict[str, str], gold_of: dict[str, str], ids: list[str],
          rows: dict[str, dict[str, str]] | None = None) -> dict[str, float]:
    """bib-dedupe's group-aware sensitivity and lost papers, plus pairwise precision/recall.

    ``designed``: copies left apart that the issue asks to keep apart (see ``by_design``); the
    sensitivity is reported both as published (they count as misses) and with them counted right.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        groups[gold_of.get(i, i)].append(i)
    tp = fn = fp = designed = 0
    for members in groups.values():
        kept = [m for m in members if pred_root[m] == m]
        if not kept:
            fp += 1
            tp += len(members) - 1
        else:
            tp += len(members) - len(kept)
            fn += len(kept) - 1
            if rows and len(kept) > 1:
                designed += sum(1 for k in kept[1:] if any(by_design(rows[k], rows[o]) for o in kept if o != k))
    c2 = lambda n: n * (n - 1) // 2  # noqa: E731
    inter = Counter((gold_of.get(i, i), pred_root[i]) for i in ids)
    tp_pairs = sum(c2(n) for n in inter.values())
    pred_pairs = sum(c2(n) for n in Counter(pred_root[i] for i in ids).values())
    gold_pairs = sum(c2(len(m)) for m in groups.values())
    return {"sensitivity": tp / max(tp + fn, 1), "lost": fp, "designed": designed,
            "sens_by_design": (tp + designed) / max(tp + fn, 1), "pair_precision": tp_pairs / max(pred_pairs, 1),
            "pair_recall": tp_pairs / max(gold_pairs, 1)}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run one command; return its wall seconds and peak memory (MB) from its own rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    if status != 0:
        err = proc.stderr.read().decode()[-400:] if proc.stderr else ""
        sys.exit(f"{' '.join(args[:2])} failed: {err}")
    return secs, usage.ru_maxrss / 1024


def pipeline(name: str, rows: list[dict[str, str]], work: Path) -> tuple[dict[str, str], float, float]:
    """rows -> RIS -> import -> dedup -> export: each record's kept record (by RIS ID), seconds, peak MB."""
    ris = work / f"{name}.ris"
    to_ris(rows, ris)
    env = dict(os.environ, SCREENING_DB=f"sqlite:///{work}/{name}.db")
    subprocess.run([SCREENING, "init"], env=env, check=True, capture_output=True)
    subprocess.run([SCREENING, "search", "add", "bench", "--database", "MEDLINE"], env=env, check=True,
                   capture_output=True)
    t_imp, m_imp = timed([SCREENING, "import", str(ris), "--search", "bench"], env)
    t_dd, m_dd = timed([SCREENING, "dedup", "--json"], env)
    out = work / f"{name}.csv"
    subprocess.run([SCREENING, "export", "--format", "csv", "--all", "--out", str(out)], env=env, check=True,
                   capture_output=True)
    with open(out, encoding="utf-8") as f:
        ex = list(csv.DictReader(f))
    rid = {e["record_id"]: e["ris_id"] for e in ex}
    parent = {e["ris_id"]: rid.get(e["duplicate_of"]) if e["duplicate_of"] else None for e in ex}

    def root(i: str) -> str:
        for _ in range(100):
            if not parent.get(i):
                break
            i = parent[i]  # type: ignore[assignment]
        return i

    return {i: root(i) for i in parent}, t_imp + t_dd, max(m_imp, m_dd)


def bench(name: str, work: Path) -> dict[str, float]:
    d = DATA / name
    rows = read_records(d)
    roots, secs, peak = pipeline(name, rows, work)
    m = score(roots, gold(d), list(roots), {r["ID"]: r for r in rows})
    m.update(records=len(rows), seconds=secs, peak_mb=peak)
    return m


def read_endnote_xml(path: Path) -> list[dict[str, str]]:
    """An EndNote XML export as bench rows, ID = the record's position (as in caption_labels.csv)."""
    import xml.etree.ElementTree as ET

    def text(rec: ET.Element, where: str) -> str:
        e = rec.find(where)
        return " ".join("".join(e.itertext()).split()) if e is not None else ""

    rows = []
    with gzip.open(path) as f:
        for i, rec in enumerate(ET.parse(f).getroot().iter("record"), 1):
            authors = [" ".join("".join(a.itertext()).split()) for a in rec.findall("contributors/authors/author")]
            rows.append({"ID": str(i), "author": " and ".join(authors), "year": text(rec, "dates/year"),
                         "title": text(rec, "titles/title"),
                         "journal": text(rec, "periodical/full-title") or text(rec, "titles/secondary-title"),
                         "volume": text(rec, "volume"), "number": text(rec, "number"), "pages": text(rec, "pages"),
                         "abstract": text(rec, "abstract"), "doi": text(rec, "electronic-resource-num"),
                         "isbn": text(rec, "isbn")})
    return rows


def bench_flagged(name: str, work: Path) -> str:
    """A set labelled only by a "Duplicate" flag per record (Beller): flagged records we put in a group,
    and unflagged records we put in one (false merges)."""
    d = DATA / name
    rows = read_endnote_xml(next(d.glob("*.xml.gz")))
    with open(d / "caption_labels.csv", encoding="utf-8") as f:
        flagged = {r["position"] for r in csv.DictReader(f) if r["in_duplicate_set"] == "1"}
    roots, secs, peak = pipeline(name, rows, work)
    sizes = Counter(roots.values())
    grouped = {i for i, r in roots.items() if sizes[r] > 1}
    return (f"{name:24} {len(rows):>7} records, {len(flagged)} flagged as in a duplicate set: "
            f"{len(grouped & flagged)} of them grouped ({len(grouped & flagged) / max(len(flagged), 1):.4f}), "
            f"{len(grouped - flagged)} unflagged records grouped; {secs:.1f} s, {peak:.0f} MB")


FLAGGED = ("beller_copper", "beller_tafenoquine")


def main() -> None:
    names = [n for n in sys.argv[1:] if n not in FLAGGED] if sys.argv[1:] else list(PUBLISHED)
    flagged = [n for n in sys.argv[1:] if n in FLAGGED] if sys.argv[1:] else list(FLAGGED)
    print(f"{'set':24} {'records':>7} {'sens':>6} {'lost':>4} {'pair P':>7} {'pair R':>7} {'import+dedup s':>14} "
          f"{'peak MB':>7} | bib-dedupe sens/lost | ASySD sens/lost | kept apart by design: copies, sens")
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        for name in names:
            m = bench(name, Path(tmp))
            (bs, bl), (as_, al) = PUBLISHED.get(name, ((float("nan"), -1), (float("nan"), -1)))
            ok = m["sensitivity"] >= bs and m["lost"] <= 1 and m["pair_precision"] >= 0.999
            print(f"{name:24} {m['records']:>7} {m['sensitivity']:6.4f} {m['lost']:>4} {m['pair_precision']:7.4f} "
                  f"{m['pair_recall']:7.4f} {m['seconds']:14.1f} {m['peak_mb']:7.0f} | "
                  f"{bs:.3f} / {bl:<9} | {as_:.3f} / {al:<9} | {m['designed']:>4}, {m['sens_by_design']:.4f}  "
                  f"{'ok' if ok else 'BELOW TARGET'}", flush=True)
        if flagged:
            print("sets labelled only by a per-record Duplicate flag (no groups, no published figures):")
        for name in flagged:
            print(bench_flagged(name, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
