"""One folder a PI can send to co-authors: the PRISMA diagram, the searches, Table 3, agreement,
the exclusion reasons and the included records, tied together by an ``index.html``.

Everything is read in the caller's (read) transaction, so the files agree with one another; each
file is written atomically (:func:`screening.reports.output.atomic_write`), and the PRISMA check
runs before anything is written, so a diagram that does not add up leaves the folder as it was.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import OutputFileError
from screening.reports.export import export_records
from screening.reports.output import atomic_write
from screening.reports.plots import agreement_png
from screening.reports.prisma import check_flow, prisma_counts, render_prisma
from screening.reports.searches_report import render_searches, screening_version, searches_report
from screening.reports.table3 import render_table3, table3
from screening.review.blinding import batch_states
from screening.review.fulltext import exclusion_reasons
from screening.review.gate import gate_rule
from screening.review.ratings import agreement_by
from screening.storage.models import Record, ScreeningSet


@dataclass
class BundleFile:
    name: str
    title: str
    about: str


@dataclass
class Bundle:
    folder: str
    files: list[BundleFile] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "files": [f.name for f in self.files]}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "set"


AGREEMENT_COLUMNS = ["set", "batch", "pair", "n_items", "percent_agreement", "cohen_kappa", "cohen_kappa_ci_low",
                     "cohen_kappa_ci_high", "gwet_ac1", "gwet_ac1_ci_low", "gwet_ac1_ci_high", "pabak",
                     "fleiss_kappa", "krippendorff_alpha", "prevalence_index", "bias_index", "undefined"]


def _agreement_csv(set_name: str, entries: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=AGREEMENT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for e in entries:
        row: dict[str, Any] = {"set": set_name, "batch": e["batch"], "pair": " + ".join(e["pair"]),
                               "n_items": e.get("n_items")}
        for key in ("percent_agreement", "pabak", "fleiss_kappa", "krippendorff_alpha", "prevalence_index",
                    "bias_index"):
            v = e.get(key)
            row[key] = v.get("value") if isinstance(v, dict) else v
        for key in ("cohen_kappa", "gwet_ac1"):
            stat = e.get(key) or {}
            ci = stat.get("ci95") or [None, None]
            row[key], row[f"{key}_ci_low"], row[f"{key}_ci_high"] = stat.get("value"), ci[0], ci[1]
        row["undefined"] = "; ".join(f"{k}: {v}" for k, v in (e.get("undefined") or {}).items())
        w.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def write_bundle(session: Session, folder: str | Path, *, set_name: str | None = None) -> Bundle:
    """Write the bundle into ``folder`` (created if need be); returns what was written."""
    counts = prisma_counts(session, set_name)
    check_flow(counts)  # before any file: a diagram that does not add up writes nothing
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputFileError(str(target), "it is a file; give a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFileError(str(target), f"{(exc.strerror or str(exc)).lower()}; check that you may write "
                              "there") from None
    bundle = Bundle(str(target))

    def put(name: str, data: str | bytes, title: str, about: str) -> None:
        with atomic_write(target / name, binary=isinstance(data, bytes)) as fh:
            fh.write(data)
        bundle.files.append(BundleFile(name, title, about))

    put("prisma.svg", render_prisma(counts, "svg"), "PRISMA 2020 flow diagram (SVG)",
        "Vector drawing: every word and number is text.")
    put("prisma.png", render_prisma(counts, "png"), "PRISMA 2020 flow diagram (PNG)", "For slides and documents.")
    put("prisma.md", render_prisma(counts, "md"), "PRISMA 2020 boxes (table)", "Every box and its number.")
    put("prisma.json", render_prisma(counts, "json"), "PRISMA 2020 counts (JSON)",
        "The keys of the PRISMA2020 R package's template, and ours.")
    put("prisma.csv", render_prisma(counts, "csv"), "PRISMA 2020 template (CSV)",
        "Upload to the PRISMA2020 Shiny app (estech.shinyapps.io/prisma_flowdiagram) to redraw or restyle it.")
    report = searches_report(session)
    put("searches.md", render_searches(report, "md"), "Searches (PRISMA-S)",
        "Every search as run: database, platform, dates, limits, the full strategy, records reported and "
        "imported, and how duplicates were removed.")
    put("searches.csv", render_searches(report, "csv"), "Searches (PRISMA-S, CSV)", "One row per search.")
    rows = table3(session)
    put("table3.md", render_table3(rows, "md"), "Table 3", "Per set: records screened, test-screening share, "
        "pairs and screeners.")
    put("table3.csv", render_table3(rows, "csv"), "Table 3 (CSV)", "The same as a spreadsheet.")

    sets = list(session.scalars(select(ScreeningSet).order_by(ScreeningSet.id)))
    if set_name is not None:
        scope = counts["set"]
        sets = [s for s in sets if s.name == scope or (s.parent_id is not None and any(
            p.name == scope and p.id == s.parent_id for p in sets))]
    for st in sets:
        if not batch_states(session, st.id):
            continue
        entries = agreement_by(session, st.name, "batch")
        if not entries:
            continue
        base = f"agreement-{slug(st.name)}"
        put(f"{base}.csv", _agreement_csv(st.name, entries), f"Agreement per batch: {st.name}",
            "Cohen's kappa, Gwet's AC1 (95% intervals), PABAK and more, per finished test batch.")
        put(f"{base}.png", agreement_png(entries, gate_rule(st)), f"Agreement per batch (plot): {st.name}",
            "Kappa and AC1 per batch with the gate's threshold.")

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["set", "record_id", "title", "year", "reason"])
    n_reasons = 0
    for st in sets:
        if st.stage != "full_text":
            continue
        reasons = exclusion_reasons(session, st.id)
        titles = dict(session.execute(select(Record.id, Record.title).where(Record.id.in_(list(reasons)))).all()) \
            if reasons else {}
        years = dict(session.execute(select(Record.id, Record.year).where(Record.id.in_(list(reasons)))).all()) \
            if reasons else {}
        for rid in sorted(reasons):
            w.writerow([st.name, rid, titles.get(rid) or "", years.get(rid) or "", reasons[rid]])
            n_reasons += 1
    put("exclusion-reasons.csv", buf.getvalue(), "Reports excluded at full text, with reasons",
        f"{n_reasons} report(s), one row each (the PRISMA diagram counts them per reason).")

    ft_of = {s.parent_id: s for s in sets if s.stage == "full_text"}
    targets = [(s.name, ft_of[s.id], "full text") if s.id in ft_of else (s.name, s, "title and abstract")
               for s in sets if s.stage != "full_text"]
    for name, st, stage in targets:
        base = "included" if len(targets) == 1 else f"included-{slug(name)}"
        for fmt in ("ris", "csv"):
            fh = io.StringIO()
            n = export_records(session, fh, fmt, set_name=st.name, included=True)
            put(f"{base}.{fmt}", fh.getvalue(), f"Included records of {st.name} ({fmt.upper()})",
                f"{n} record(s) whose final decision at {stage} is include.")
    put("index.html", _index(bundle, counts), "This page", "")
    return bundle


def _index(bundle: Bundle, counts: dict[str, Any]) -> str:
    e = html.escape
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    scope = f"set {counts['set']} and its full-text stage" if counts.get("set") else "the whole review"
    rows = "\n".join(f'<tr><td><a href="{e(f.name)}">{e(f.name)}</a></td><td>{e(f.title)}</td><td>{e(f.about)}</td>'
                     "</tr>" for f in bundle.files)
    summary = [("Records identified from databases and registers", counts["database_results"]
                + counts["register_results"]),
               ("Records identified by other methods", counts["website_results"] + counts["organisation_results"]
                + counts["citations_results"]),
               ("Duplicates removed", counts["duplicates"]), ("Records screened", counts["records_screened"]),
               ("Records excluded", counts["records_excluded"]),
               ("Reports sought for retrieval", counts["dbr_sought_reports"] + counts["other_sought_reports"]),
               ("Reports assessed for eligibility", counts["dbr_assessed"] + counts["other_assessed"]),
               ("Studies included", counts["new_studies"]), ("Reports of included studies", counts["new_reports"])]
    facts = "\n".join(f"<tr><td>{e(k)}</td><td class=n>{v:,}</td></tr>" for k, v in summary)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Review report: {e(scope)}</title>
<style>
body {{ font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; line-height: 1.4; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
</style>
</head>
<body>
<h1>Review report</h1>
<p>Scope: {e(scope)}. Written {e(when)} by screening {e(screening_version())}.</p>
<h2>PRISMA 2020 flow diagram</h2>
<p><img src="prisma.svg" alt="PRISMA 2020 flow diagram: the numbers are in prisma.md"></p>
<table>
{facts}
</table>
<h2>Files</h2>
<table>
<tr><th>file</th><th>what</th><th>about</th></tr>
{rows}
</table>
</body>
</html>
"""
