"""Dedup robustness: corrupted copies of real duplicates must still merge; made-up look-alikes must not.

For every labelled set in ../shared/data/dedup with group ground truth, records that belong to a
duplicate group are copied and each copy is damaged the way real exports damage records (one kind
of damage per copy): spreadsheet dates in the pages, a year in the pages, pages in the issue
field, placeholders, Embase's source line in the journal field, DOIs as URLs or in ``[pii]``/``[doi]``
lists, a dropped DOI, the journal abbreviated, the authors in another format, the title in
translated-title brackets, fields shifted one column. Made-up look-alikes are added beside them:
the same column (editorial, editor's comments...) in every issue of a volume, a neighbouring
article on the adjacent pages whose title differs in one word, and another paper by the same
author on the same pages of another issue. Everything goes through ``find_duplicates`` in-process,
fields as they come (no reader in between), with the whole set around it (so blocking is real).

Printed: per kind of damage, the share of copies merged with the record they were copied from
(recall), and per kind of look-alike, how many were merged with anything (false merges).
Usage: python bench/dedup_robustness.py [SET ...] [--per-kind N]
"""

from __future__ import annotations

import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dedup import DATA, PUBLISHED, gold, read_records

from screening.dedup.core import DedupRecord, DedupResult, find_duplicates
from screening.dedup.normalise import FUNCTION_WORDS, first_page, last_page, split_authors

PER_KIND = 100  # copies of each kind per set (fewer when the set has fewer records the kind applies to)
LOOKALIKE_FAMILIES = 40  # families of look-alikes per set and kind
SEED = 13
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# ISO 4-style word abbreviations; other long words are cut to their first letters
ABBREVIATIONS = {"journal": "J", "international": "Int", "american": "Am", "medicine": "Med", "medical": "Med",
                 "clinical": "Clin", "research": "Res", "science": "Sci", "sciences": "Sci", "british": "Br",
                 "european": "Eur", "annals": "Ann", "archives": "Arch", "review": "Rev", "reviews": "Rev",
                 "society": "Soc", "proceedings": "Proc", "experimental": "Exp", "biology": "Biol",
                 "university": "Univ", "national": "Natl", "academy": "Acad", "association": "Assoc"}
STOP = {"of", "the", "and", "for", "in", "on", "&", "a"}
COLUMN_TITLES = ("Editorial", "Editor's Comments", "Editorial Notes", "Letter from the Editor", "In this issue",
                 "Book reviews", "Correction")
UNLISTED_COLUMNS = ("Notes from the field", "Senior scholars' forum", "Practitioner perspective")


@dataclass
class Corpus:
    """One set's records plus the copies and look-alikes made from them."""

    records: list[DedupRecord]
    copies: dict[str, list[tuple[int, int]]]  # kind -> (copy id, id of the record it was copied from)
    lookalikes: dict[str, list[list[int]]]  # kind -> families of ids that are all different items


def to_record(i: int, r: dict[str, str]) -> DedupRecord:
    authors = [a.strip() for a in (r.get("author") or "").replace(";", " and ").split(" and ") if a.strip()]
    m = re.search(r"\d{4}", r.get("year") or "")
    return DedupRecord(id=i, title=r.get("title") or "", authors=authors, year=int(m.group()) if m else None,
                       journal=r.get("journal") or "", volume=r.get("volume") or "", issue=r.get("number") or "",
                       pages=r.get("pages") or "", doi=r.get("doi") or "")


def _range(r: DedupRecord) -> tuple[int, int] | None:
    f, last = first_page(r.pages), last_page(r.pages)
    if f.isdigit() and last.isdigit() and int(last) > int(f) and r.pages.strip()[:1].isdigit():
        return int(f), int(last)
    return None


def _plain(value: str) -> bool:
    return value.strip().isdigit()


# --- kinds of damage: each returns the damaged copy, or None when it does not apply to the record ------

def spreadsheet_date(r: DedupRecord) -> DedupRecord | None:
    """"9-15" -> "Sep-15" (month and year), "1-6" -> "01-Jun", MEDLINE's "21-8" (21-28) -> "21-Aug"."""
    span = _range(r)
    if not span:
        return None
    first, last = span
    if first <= 12 and 13 <= last <= 99:
        return replace(r, pages=f"{MONTHS[first - 1]}-{last:02d}")
    if 13 <= first <= 31 and last // 10 == first // 10 and 1 <= last % 10 <= 9:
        return replace(r, pages=f"{first}-{MONTHS[last % 10 - 1]}")
    if first <= 31 and last <= 12:
        return replace(r, pages=f"{first:02d}-{MONTHS[last - 1]}")
    return None


def year_in_pages(r: DedupRecord) -> DedupRecord | None:
    return replace(r, pages=str(r.year)) if r.year and r.pages.strip() else None


def pages_in_issue(r: DedupRecord) -> DedupRecord | None:
    return replace(r, issue=f"pp {r.pages.strip()}", pages="") if _range(r) else None


def placeholder_pages(r: DedupRecord) -> DedupRecord | None:
    if not r.pages.strip():
        return None
    return replace(r, pages=("no pagination", "var.pagings", "n/a")[r.id % 3])


def source_line(r: DedupRecord) -> DedupRecord | None:
    if not (_plain(r.volume) and r.journal.strip()):
        return None
    issue = f" ({r.issue.strip()})" if r.issue.strip() and r.issue.strip().upper() != "NA" else ""
    pages = f"(pp {r.pages.strip()})" if _range(r) else "(no pagination)"
    return replace(r, journal=f"{r.journal.strip()}.{r.volume.strip()}{issue} {pages}", volume="", issue="",
                   pages="")


def doi_as_url(r: DedupRecord) -> DedupRecord | None:
    if not r.doi.strip().startswith("10."):
        return None
    doi = r.doi.strip()
    return replace(r, doi=f"https://doi.org/{doi}" if r.id % 2 else f"S0000-0000({r.id % 100:02d})00000-0 [pii] "
                                                                       f"{doi} [doi]")


def dropped_doi(r: DedupRecord) -> DedupRecord | None:
    return replace(r, doi="") if r.doi.strip() else None


def journal_abbreviated(r: DedupRecord) -> DedupRecord | None:
    words = [w for w in re.split(r"[\s.]+", r.journal.strip()) if w]
    if len(words) < 2 or not any(len(w) > 6 for w in words) or ":" in r.journal:  # no ISO 4 form of a meeting
        return None
    out = []
    for w in words:
        if w.lower() in STOP:
            continue
        out.append(ABBREVIATIONS.get(w.lower(), w[:5] if len(w) > 6 else w))
    return replace(r, journal=" ".join(out))


def author_format(r: DedupRecord) -> DedupRecord | None:
    names = [a for a in split_authors(r.authors) if a.strip()]
    if len(names) < 2:
        return None
    out = []
    for a in names:
        if "," in a:
            family, given = (p.strip() for p in a.split(",", 1))
        else:
            parts = a.split()
            family, given = " ".join(parts[:-1]) or a, parts[-1] if len(parts) > 1 else ""
        initials = "".join(w[0] for w in re.split(r"[\s.\-]+", given) if w)
        out.append(f"{'. '.join(initials)}. {family}" if initials else family)
    if r.id % 2:  # the list glued into one value, as some exports write it
        return replace(r, authors=[".".join(x.upper() for x in out)])
    return replace(r, authors=out)


def translated_brackets(r: DedupRecord) -> DedupRecord | None:
    t = r.title.strip().rstrip(".")
    return replace(r, title=f"[{t}]." + (" [Article in German]" if r.id % 2 else "")) if t else None


def shifted_fields(r: DedupRecord) -> DedupRecord | None:
    if not (_plain(r.volume) and _plain(r.issue) and r.pages.strip()):
        return None
    return replace(r, volume="", issue=r.volume, pages=r.issue)


DAMAGE: dict[str, Callable[[DedupRecord], DedupRecord | None]] = {
    "spreadsheet date in pages": spreadsheet_date, "year in pages": year_in_pages,
    "pages in issue (pp ...)": pages_in_issue, "placeholder pages": placeholder_pages,
    "source line in journal": source_line, "DOI as URL or [doi] list": doi_as_url, "DOI dropped": dropped_doi,
    "journal abbreviated": journal_abbreviated, "author format": author_format,
    "translated-title brackets": translated_brackets, "fields shifted one column": shifted_fields,
}


# --- look-alikes: made-up records that are different items ----------------------------------------

def columns(r: DedupRecord, new_id: Callable[[], int], *, dois: bool, titles: Sequence[str]) -> list[DedupRecord]:
    """The same column by one editor on the same pages of four issues of a volume."""
    title = titles[r.id % len(titles)]
    slug = re.sub(r"[^a-z]+", "", r.journal.lower())[:12] or "journal"
    out = []
    for issue in range(1, 5):
        out.append(DedupRecord(id=new_id(), title=title, authors=r.authors[:1], year=r.year, journal=r.journal,
                               volume=r.volume, issue=str(issue), pages="iii-iv",
                               doi=f"10.99999/{slug}.{r.volume}.{issue}.ed" if dois else ""))
    return out


def neighbour(r: DedupRecord, new_id: Callable[[], int], words: Sequence[str], *, pages: bool) -> list[DedupRecord]:
    """The article on the next pages of the same issue, by the same authors, its title one content word
    different (with its pages, or without them as some databases have it)."""
    span = _range(r)
    tokens = r.title.split()
    candidates = [k for k, w in enumerate(tokens) if len(re.sub(r"\W", "", w)) >= 6 and w.isalpha()]
    if not span or not candidates:
        return []
    k = candidates[r.id % len(candidates)]
    old = re.sub(r"\W", "", tokens[k]).lower()
    start = r.id % len(words)
    replacement = next((w for w in list(words[start:]) + list(words[:start])
                        if abs(len(w) - len(old)) <= 3 and w[:3] != old[:3] and w not in r.title.lower()), None)
    if replacement is None:
        return []
    first, last = span
    title = " ".join([*tokens[:k], replacement, *tokens[k + 1:]])
    return [replace(r, id=new_id(), title=title, doi="", pages=f"{last}-{2 * last - first}" if pages else "")]


def same_pages_other_issue(r: DedupRecord, new_id: Callable[[], int], titles: Sequence[str]) -> list[DedupRecord]:
    """Another paper by the same author on the same pages of another issue of the volume."""
    if not (_range(r) and _plain(r.issue) and _plain(r.volume)):
        return []
    title = titles[r.id % len(titles)]
    if title == r.title:
        return []
    return [replace(r, id=new_id(), doi="", issue=str(int(r.issue) + 1), title=title)]


def build(name: str, per_kind: int) -> Corpus:
    d = DATA / name
    rows = read_records(d)
    gold_of = gold(d)
    records = [to_record(i, r) for i, r in enumerate(rows, 1)]
    in_group = [rec for rec, row in zip(records, rows, strict=True) if row["ID"] in gold_of]
    rng = random.Random(SEED)
    rng.shuffle(in_group)
    next_id = [len(records) + 1]

    def new_id() -> int:
        next_id[0] += 1
        return next_id[0]

    copies: dict[str, list[tuple[int, int]]] = defaultdict(list)
    used: set[int] = set()
    extra: list[DedupRecord] = []
    for kind, damage in DAMAGE.items():
        for src in in_group:
            if len(copies[kind]) >= per_kind:
                break
            if src.id in used or (copy := damage(src)) is None:
                continue
            used.add(src.id)
            copy = replace(copy, id=new_id())
            extra.append(copy)
            copies[kind].append((copy.id, src.id))
    lookalikes: dict[str, list[list[int]]] = defaultdict(list)
    words = sorted({w.lower() for r in records for w in re.findall(r"[A-Za-z]{6,}", r.title)} - FUNCTION_WORDS)
    titles = [r.title for r in records if len(r.title) > 40]
    sources = [r for r in records if r.journal.strip() and _plain(r.volume) and r.year and r.authors]
    rng.shuffle(sources)
    makers: dict[str, Callable[[DedupRecord], list[DedupRecord]]] = {
        "recurring column, DOIs per issue": lambda r: columns(r, new_id, dois=True, titles=COLUMN_TITLES),
        "recurring column, no DOIs": lambda r: columns(r, new_id, dois=False, titles=COLUMN_TITLES),
        "recurring column, unlisted title": lambda r: columns(r, new_id, dois=False, titles=UNLISTED_COLUMNS),
        "neighbouring article, adjacent pages": lambda r: neighbour(r, new_id, words, pages=True),
        "neighbouring article, pages missing": lambda r: neighbour(r, new_id, words, pages=False),
        "another paper, same pages, other issue": lambda r: same_pages_other_issue(r, new_id, titles),
    }
    for kind, make in makers.items():
        for src in sources:
            if len(lookalikes[kind]) >= LOOKALIKE_FAMILIES:
                break
            family = make(src)
            if not family:
                continue
            extra.extend(family)
            # a made-up column family stands alone; a neighbour or another paper must stay apart from its source
            lookalikes[kind].append([f.id for f in family] + ([] if kind.startswith("recurring") else [src.id]))
    return Corpus(records + extra, dict(copies), dict(lookalikes))


def score(corpus: Corpus, result: DedupResult) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    root: dict[int, int] = {}
    for group in result.groups:
        for m in group:
            root[m] = group[0]
    recall = {kind: (sum(1 for c, s in pairs if root.get(c, c) == root.get(s, s)), len(pairs))
              for kind, pairs in corpus.copies.items()}
    false = {}
    for kind, families in corpus.lookalikes.items():
        merged = total = 0
        for ids in families:
            roots = [root.get(i, i) for i in ids]
            total += len(ids) - 1 if not kind.startswith("recurring") else len(ids)
            merged += len(roots) - len(set(roots))  # members that joined another member of the family
        false[kind] = (merged, total)
    return recall, false


def run(names: Sequence[str], per_kind: int = PER_KIND,
        dedup: Callable[[list[DedupRecord]], DedupResult] = find_duplicates) -> list[str]:
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    t0 = time.perf_counter()
    for name in names:
        corpus = build(name, per_kind)
        r, f = score(corpus, dedup(corpus.records))
        for kind, (ok, n) in r.items():
            recall[kind][0] += ok
            recall[kind][1] += n
        for kind, (bad, n) in f.items():
            false[kind][0] += bad
            false[kind][1] += n
    lines = [f"robustness ({', '.join(names)}; {time.perf_counter() - t0:.0f} s): damaged copies of records in "
             "duplicate groups, merged with the record they were copied from",
             f"  {'damage':38} {'copies':>6} {'merged':>6} {'recall':>7}"]
    for kind in DAMAGE:
        ok, n = recall.get(kind, [0, 0])
        lines.append(f"  {kind:38} {n:>6} {ok:>6} {ok / max(n, 1):7.3f}")
    ok_all, n_all = sum(v[0] for v in recall.values()), sum(v[1] for v in recall.values())
    lines.append(f"  {'all damage':38} {n_all:>6} {ok_all:>6} {ok_all / max(n_all, 1):7.3f}")
    lines.append(f"  {'look-alikes that must stay apart':38} {'items':>6} {'merged':>6}  (false merges)")
    for kind, (bad, n) in false.items():
        lines.append(f"  {kind:38} {n:>6} {bad:>6}")
    return lines


def main() -> None:
    args = sys.argv[1:]
    per_kind = PER_KIND
    if "--per-kind" in args:
        k = args.index("--per-kind")
        per_kind = int(args[k + 1])
        del args[k:k + 2]
    for line in run(args or list(PUBLISHED), per_kind):
        print(line, flush=True)


if __name__ == "__main__":
    main()
