"""The PRISMA-S account of the searches (Rethlefsen et al. 2021): every search as it was run.

For each search: the database and the platform (interface) it was searched on, the date searched,
the date limits, the full strategy as run, the limits, filters and notes the search log holds, the
records the database reported against those imported (and kept after deduplication), and the
export files. Then the other methods (records added by hand, by where they came from) and how
duplicates were removed: the software and its version, the parameters of the latest automatic pass,
and the people's decisions that every pass keeps (PRISMA-S items 1-16).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from screening.reports.prisma import is_register, source_bucket
from screening.storage.models import DedupDecision, DedupPair, DedupRun, ImportFile, Record, Search

FORMATS = ("md", "csv", "json")
DEDUP_METHOD = (
    "screening dedup: an automatic pass over every record (candidate pairs from shared DOI/PMID and block keys on "
    "title, first author and year, volume and first page; title, author, journal, volume, page and year "
    "similarity scored with rapidfuzz; vetoes for errata, comments, conference abstracts, different identifiers "
    "or pages; accepted links grouped by union-find), doubtful pairs queued for a person, and people's merges, "
    "splits and links kept by every later pass"
)
LABELS_OF_BUCKETS = {"citations_results": "citation searching", "website_results": "websites",
                     "organisation_results": "organisations and other sources"}


def screening_version() -> str:
    try:
        return version("screening")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def searches_report(session: Session) -> dict[str, Any]:
    """Every search with what PRISMA-S asks of it, the other methods, and the deduplication."""
    imported = dict(session.execute(select(Record.search_id, func.count()).group_by(Record.search_id)).all())
    kept = dict(session.execute(select(Record.search_id, func.count()).where(Record.duplicate_of.is_(None))
                                .group_by(Record.search_id)).all())
    files: dict[int, list[dict[str, Any]]] = {}
    for f in session.scalars(select(ImportFile).order_by(ImportFile.id)):
        files.setdefault(f.search_id, []).append({
            "path": f.path, "format": f.format, "encoding": f.encoding, "records": f.n_records,
            "sha256": f.sha256, "imported_at": f.imported_at.isoformat(timespec="seconds")})
    searches = []
    for s in session.scalars(select(Search).order_by(Search.id)):
        n = imported.get(s.id, 0)
        searches.append({
            "name": s.name, "database": s.database, "register": is_register(s.database),
            "interface": s.interface, "searched": s.searched, "date_limits": s.date_limits,
            "strategy": s.strategy, "strategy_file": s.strategy_file,
            "limits_and_filters": s.notes,
            "hits_reported": s.hits_reported, "imported": n, "kept_after_dedup": kept.get(s.id, 0),
            "duplicates_removed": n - kept.get(s.id, 0),
            "hits_match": None if s.hits_reported is None else s.hits_reported == n,
            "export_files": list(s.export_files or []), "files_imported": files.get(s.id, []),
        })
    sources: Counter[str] = Counter(src or "not said" for src in session.scalars(
        select(Record.source).where(Record.search_id.is_(None))))
    last = session.scalar(select(DedupRun).order_by(DedupRun.id.desc()).limit(1))
    people: Counter[str] = Counter(d.split(":")[0] for d in session.scalars(select(DedupDecision.decision)))
    v = screening_version()
    return {
        "screening_version": v,
        "searches": searches,
        "other_methods": [{"source": k, "box": LABELS_OF_BUCKETS[source_bucket(k)], "records": n}
                          for k, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))],
        "deduplication": {
            "software": f"screening {v}", "method": DEDUP_METHOD,
            "automatic_passes": session.scalar(select(func.count()).select_from(DedupRun)) or 0,
            "last_pass": None if last is None else {"at": last.at.isoformat(timespec="seconds"),
                                                     "params": last.params, "counts": last.counts},
            "people_decisions": {k: people.get(k, 0) for k in ("merge", "split", "link", "unlink")},
            "pairs_awaiting_a_person": session.scalar(select(func.count()).select_from(DedupPair).where(
                DedupPair.status == "pending")) or 0,
            "duplicates_removed": session.scalar(select(func.count()).select_from(Record).where(
                Record.duplicate_of.is_not(None))) or 0,
        },
    }


CSV_COLUMNS = ["name", "database", "register", "interface", "searched", "date_limits", "limits_and_filters",
               "hits_reported", "imported", "kept_after_dedup", "duplicates_removed", "hits_match", "files_imported",
               "strategy", "dedup_software", "dedup_params"]


def render_searches(report: dict[str, Any], fmt: str) -> str:
    """The report as Markdown (one section per search, strategy verbatim), CSV (one row per search) or JSON."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    dedup = report["deduplication"]
    params = json.dumps((dedup["last_pass"] or {}).get("params") or {}, sort_keys=True)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        for s in report["searches"]:
            w.writerow({**{k: s.get(k) for k in CSV_COLUMNS if k in s},
                        "files_imported": "; ".join(f"{f['path']} ({f['records']} records, {f['format']})"
                                                    for f in s["files_imported"]),
                        "dedup_software": dedup["software"], "dedup_params": params})
        return buf.getvalue()
    return _markdown(report, params)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text.rstrip()}\n{ticks}"


def _markdown(report: dict[str, Any], params: str) -> str:
    said = "not recorded"
    lines = ["# Searches (PRISMA-S)", "",
             "| search | database | platform | date searched | records reported | imported | kept after dedup |",
             "|---|---|---|---|---:|---:|---:|"]
    for s in report["searches"]:
        reported = "" if s["hits_reported"] is None else str(s["hits_reported"])
        flag = " (differs)" if s["hits_match"] is False else ""
        lines.append(f"| {_cell(s['name'])} | {_cell(s['database'])} | {_cell(s['interface'] or '')} | "
                     f"{s['searched'] or ''} | {reported}{flag} | {s['imported']} | {s['kept_after_dedup']} |")
    for s in report["searches"]:
        lines += ["", f"## {s['name']}: {s['database']}" + (" (trial register)" if s["register"] else ""), "",
                  f"- Database: {s['database']}", f"- Platform (interface): {s['interface'] or said}",
                  f"- Date searched: {s['searched'] or said}", f"- Date limits: {s['date_limits'] or 'none recorded'}",
                  f"- Limits, filters and notes: {s['limits_and_filters'] or 'none recorded'}",
                  f"- Records reported by the database: "
                  f"{said if s['hits_reported'] is None else s['hits_reported']}",
                  f"- Records imported: {s['imported']}" + (
                      " (DIFFERS from the number reported)" if s["hits_match"] is False else ""),
                  f"- Kept after deduplication: {s['kept_after_dedup']} ({s['duplicates_removed']} duplicates "
                  "removed)"]
        if s["strategy_file"]:
            lines.append(f"- Strategy file: {s['strategy_file']}")
        for f in s["files_imported"]:
            lines.append(f"- Export file: {f['path']} ({f['records']} records, {f['format']}, {f['encoding']}, "
                         f"imported {f['imported_at']})")
        lines += ["", "Strategy as run:", "", _fence(s["strategy"]) if s["strategy"] else "(not recorded)"]
    if report["other_methods"]:
        lines += ["", "## Other methods (records added by hand)", "", "| source | counted as | records |",
                  "|---|---|---:|"]
        lines += [f"| {_cell(o['source'])} | {o['box']} | {o['records']} |" for o in report["other_methods"]]
    d = report["deduplication"]
    lines += ["", "## Deduplication", "", f"- Software: {d['software']}", f"- Method: {d['method']}",
              f"- Automatic passes: {d['automatic_passes']}"]
    if d["last_pass"]:
        lines.append(f"- Latest pass: {d['last_pass']['at']}, parameters {params}")
    p = d["people_decisions"]
    lines += [f"- Decisions by people: {p['merge']} merges, {p['split']} splits, {p['link']} links, "
              f"{p['unlink']} unlinks; {d['pairs_awaiting_a_person']} doubtful pairs awaiting a person",
              f"- Duplicates removed: {d['duplicates_removed']}"]
    return "\n".join(lines) + "\n"
