"""The PRISMA 2020 flow diagram of a review with known numbers, the searches report (PRISMA-S), the bundle.

The review: four databases and a trial register with duplicates across two of them, one database in no
set (removed for other reasons), records added by hand (citation chasing, a website, grey literature),
a dual-screened test sample with a conflict the PI resolves, single screening stopped early on the
stopping rule, a register set still awaiting a decision, and full-text stages (one screened singly,
one in pairs) with reports not retrieved, exclusions with reasons, and two included reports of one study.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.dom.minidom
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import Cli, pairs_of
from screening.prioritise.service import stop_screening
from screening.reports import prisma
from screening.reports.prisma import PrismaMismatch, check_flow, is_register, prisma_counts, render_prisma
from screening.reports.svg import text_width, wrap
from screening.review.conflicts import conflicts, resolve
from screening.review.decisions import record_decision
from screening.review.fulltext import record_report, start_full_text
from screening.review.phase import move_to_single
from screening.review.sampling import draw_sample
from screening.storage.db import Database
from screening.storage.models import Assignment, Record, ScreeningSet, User

DBS = {"MEDLINE": range(0, 20), "Embase": range(10, 30), "CINAHL": range(40, 42), "ClinicalTrials.gov": range(50, 53)}


def work(i: int) -> str:
    return (f"TY  - JOUR\nTI  - Integrated primary care navigator study number {i}: cohort {i} of {i * 37}\n"
            f"AU  - Zed{i:03d}, Q\nPY  - {2005 + i % 15}\nJO  - Journal of Care {i % 7}\nVL  - {10 + i % 9}\n"
            f"SP  - {100 + i}\nDO  - 10.9999/care.{i:05d}\nAB  - Abstract of work {i}.\nER  - \n\n")


def wid(title: str | None) -> int:
    m = re.search(r"cohort (\d+) of", title or "")
    return int(m.group(1)) if m else -1


HAND = {"Smith 2015: navigators in general practice": "citation chasing",
        "Jones 2018: navigators and access": "Citations of included studies",
        "Navigator programme evaluation (NHS website)": "website",
        "Charity report on care navigation": "grey literature"}


def build(db: Database, run: Cli, tmp_path: Path) -> dict[str, Any]:
    """The review; returns the record ids by role, for the expectations."""
    for name, ids in DBS.items():
        path = tmp_path / f"{name}.ris"
        path.write_text("".join(work(i) for i in ids), encoding="utf-8")
        key = name.lower().replace(".", "")
        run("search", "add", key, "--database", name, "--interface", "Ovid" if name != "ClinicalTrials.gov" else
            "clinicaltrials.gov", "--searched", "2016-12-01", "--hits", len(ids), "--date-limits", "2000-2016")
        run("import", path, "--search", key)
    run("dedup")
    for u, role in (("ann", "screener"), ("ben", "screener"), ("pia", "pi")):
        run("user", "add", u, "--role", role)
    run("set", "create", "main", "--search", "medline", "--search", "embase", "--as", "pia")
    run("set", "create", "trials", "--search", "clinicaltrialsgov", "--as", "pia")
    with db.transaction() as s:
        draw_sample(s, "main", pairs=pairs_of("ann+ben"), seed=5, batch_size=5, size=10, actor="pia")
        draw_sample(s, "trials", pairs=pairs_of("ann+ben"), seed=5, batch_size=2, size=2, actor="pia")
    with db.read() as s:
        titles = dict(s.execute(select(Record.id, Record.title)).all())
    for title, source in HAND.items():
        run("set", "add-record", "main", "--title", title, "--source", source, "--as", "pia")
    with db.read() as s:
        hand = {t: rid for rid, t in s.execute(select(Record.id, Record.title).where(Record.search_id.is_(None)))}
        names = {u.id: u.name for u in s.scalars(select(User))}
        main_id = s.scalar(select(ScreeningSet.id).where(ScreeningSet.name == "main"))
        test = [(rid, names[uid], set_id) for rid, uid, set_id in s.execute(
            select(Assignment.record_id, Assignment.user_id, Assignment.set_id).order_by(Assignment.id))]

    def rule(rid: int) -> str:
        return "include" if wid(titles.get(rid)) % 3 == 0 else "exclude"

    disputed = next(rid for rid, _, set_id in test if rule(rid) == "exclude" and set_id == main_id)
    with db.transaction() as s:  # the test phase: ben disagrees once, the PI resolves it
        for rid, user, set_id in test:
            if set_id == main_id:
                record_decision(s, user, rid, "include" if (user == "ben" and rid == disputed) else rule(rid))
    with db.transaction() as s:
        assert [c.record_id for c in conflicts(s, "main", "pia")] == [disputed]
        resolve(s, "pia", disputed, "exclude", note="not a study of navigators")
        move_to_single(s, "main", "pia", force=True, reason="a small test review")
    with db.read() as s:
        single = sorted((rid, names[uid]) for rid, uid in s.execute(select(
            Assignment.record_id, Assignment.user_id).where(Assignment.phase == "single")))
    db_single = [(rid, u) for rid, u in single if rid not in hand.values()]
    left = [rid for rid, _ in db_single if rule(rid) == "exclude"][-3:]  # never screened: the stopping rule
    hand_choice = {hand["Smith 2015: navigators in general practice"]: "include",
                   hand["Jones 2018: navigators and access"]: "include",
                   hand["Navigator programme evaluation (NHS website)"]: "exclude"}
    with db.transaction() as s:
        for rid, user in single:
            if rid in hand.values():
                if rid in hand_choice:
                    record_decision(s, user, rid, hand_choice[rid], set_name="main")
            elif rid not in left:
                record_decision(s, user, rid, rule(rid), set_name="main")
    with db.transaction() as s:
        stop_screening(s, "main", actor="pia", force=True, reason="deadline")
    # the register set: its sample decided (one include, one exclude), the third record awaits
    trials = sorted(rid for rid, _, set_id in test if set_id != main_id)
    assert len(trials) == 4  # two records, two screeners
    trial_ids = sorted(set(trials))
    with db.transaction() as s:
        for rid in trial_ids:
            for user in ("ann", "ben"):
                record_decision(s, user, rid, "include" if rid == trial_ids[0] else "exclude", set_name="trials")
    # the full-text stages
    with db.transaction() as s:
        ft = start_full_text(s, "main", actor="pia", seed=3, screeners=["ann"])
        ft_trials = start_full_text(s, "trials", actor="pia", seed=3, pairs=pairs_of("ann+ben"), batch_size=5)
    with db.read() as s:
        ft_members = sorted(s.scalars(select(Assignment.record_id).join(
            ScreeningSet, ScreeningSet.id == Assignment.set_id).where(ScreeningSet.name == ft.set)))
    db_reports = [rid for rid in ft_members if rid not in hand.values()]
    assert len(db_reports) == 10  # works 0, 3, ..., 27
    not_retrieved, excluded_pop, excluded_design, waiting = db_reports[0], db_reports[1:3], db_reports[3], \
        db_reports[4]
    included = db_reports[5:]
    hand_nr = hand["Jones 2018: navigators and access"]
    hand_in = hand["Smith 2015: navigators in general practice"]
    with db.transaction() as s:
        record_report(s, ft.set, not_retrieved, "not_retrieved", actor="ann", reason="no library holds it")
        record_report(s, ft.set, hand_nr, "not_retrieved", actor="pia", reason="author did not reply")
        for rid in [*included, hand_in]:
            record_report(s, ft.set, rid, "retrieved", actor="ann")
            record_decision(s, "ann", rid, "include", set_name=ft.set)
        for rid in excluded_pop:
            record_decision(s, "ann", rid, "exclude", reason="wrong population", set_name=ft.set)
        record_decision(s, "ann", excluded_design, "exclude", reason="wrong study design", set_name=ft.set)
        for user in ("ann", "ben"):
            record_decision(s, user, trial_ids[0], "include", set_name=ft_trials.set)
    # two included reports are one study (a conference abstract of the paper)
    run("dedup", "link", included[0], included[1], "--relation", "abstract", "--as", "pia")
    return {"waiting": waiting, "left": left, "ft": ft.set}


EXPECTED = {
    "database_results": 42, "database_specific_results": {"MEDLINE": 20, "Embase": 20, "CINAHL": 2},
    "register_results": 3, "register_specific_results": {"ClinicalTrials.gov": 3},
    "website_results": 1, "organisation_results": 1, "citations_results": 2,
    "duplicates": 10, "excluded_automatic": 0, "excluded_other": 2,
    "records_screened": 33,  # 30 from MEDLINE + Embase, 3 from the register
    "records_excluded": 21,  # 17 + 1 by the screeners, 3 never screened when main stopped
    "dbr_sought_reports": 11, "dbr_notretrieved_reports": 1, "dbr_assessed": 9,
    "dbr_excluded": {"wrong population": 2, "wrong study design": 1},
    "other_sought_reports": 2, "other_notretrieved_reports": 1, "other_assessed": 1, "other_excluded": {},
    "new_studies": 6, "new_reports": 7, "total_studies": 6, "total_reports": 7,
    "previous_studies": 0, "previous_reports": 0,
    "records_excluded_by_screeners": 18, "records_excluded_by_stopping_rule": 3, "records_awaiting_screening": 1,
    "dbr_reports_awaiting": 1, "dbr_included_reports": 6,
    "other_duplicates": 0, "other_excluded_other": 0, "other_records_screened": 4, "other_records_excluded": 2,
    "other_records_excluded_by_screeners": 1, "other_records_excluded_by_stopping_rule": 1,
    "other_records_awaiting_screening": 0, "other_reports_awaiting": 0, "other_included_reports": 1,
}


@pytest.fixture
def review(db: Database, run: Cli, tmp_path: Path) -> dict[str, Any]:
    return build(db, run, tmp_path)


def svg_numbers(svg: str) -> tuple[xml.dom.minidom.Document, list[int]]:
    doc = xml.dom.minidom.parseString(svg)
    text = " ".join(n.data for t in doc.getElementsByTagName("text") for n in t.childNodes
                    if n.nodeType == n.TEXT_NODE)
    return doc, [int(x) for x in re.findall(r"\d+", text.replace(",", ""))]


def box_text(doc: xml.dom.minidom.Document, key: str) -> str:
    for g in doc.getElementsByTagName("g"):
        if g.getAttribute("id") == f"box-{key}":
            return " ".join(n.data for t in g.getElementsByTagName("text") for n in t.childNodes)
    raise AssertionError(f"no box {key}")


def test_every_box_of_the_json_csv_and_svg(review: dict[str, Any], run: Cli) -> None:
    counts = json.loads(run("report", "prisma", "--format", "json").stdout)
    for key, want in EXPECTED.items():
        assert counts[key] == want, f"{key}: {counts[key]!r}, expected {want!r}"
    assert set(prisma.TEMPLATE_KEYS) <= set(counts)
    assert counts["stopped_sets"][0]["set"] == "main" and counts["stopped_sets"][0]["forced"] is True
    assert all(isinstance(counts[k], int) for k in prisma.TEMPLATE_KEYS if k not in prisma.LIST_KEYS)

    # the CSV is the template, rows in its order, with our numbers; lists as "Name, n; Name, n"
    rows = list(csv.DictReader(io.StringIO(run("report", "prisma", "--format", "csv").stdout)))
    assert list(rows[0]) == list(prisma.TEMPLATE_COLUMNS)
    assert [r["data"] for r in rows] == [t[0] for t in prisma.TEMPLATE]
    by = {r["data"]: r for r in rows if r["data"] != "NA"}
    for key, want in EXPECTED.items():
        if key not in by:
            continue
        if isinstance(want, dict):
            parsed = {k: int(v) for k, v in (p.rsplit(", ", 1) for p in by[key]["n"].split("; "))} if want else {}
            assert parsed == want or (not want and by[key]["n"] == "0"), key
        else:
            assert by[key]["n"] == str(want), key
    assert "3 not screened: stopping rule" in by["records_excluded"]["boxtext"]
    assert "1 still awaiting a decision" in by["records_screened"]["boxtext"]

    # the SVG holds the same numbers, each in its box
    doc, numbers = svg_numbers(run("report", "prisma", "--format", "svg").stdout)
    for key in ("database_results", "register_results", "duplicates", "excluded_other", "records_screened",
                "records_excluded", "dbr_sought_reports", "dbr_notretrieved_reports", "dbr_assessed", "new_studies",
                "new_reports", "other_sought_reports", "other_assessed"):
        assert EXPECTED[key] in numbers, key
    assert "Databases (n = 42)" in box_text(doc, "database_results")
    assert "MEDLINE (n = 20)" in box_text(doc, "database_results")
    assert "Registers (n = 3)" in box_text(doc, "database_results")
    assert "Duplicate records removed (n = 10)" in box_text(doc, "duplicates")
    assert "Records removed for other reasons (n = 2)" in box_text(doc, "duplicates")
    assert "Records screened (n = 33)" in box_text(doc, "records_screened")
    assert "still awaiting a decision (n = 1)" in box_text(doc, "records_screened")
    excluded = box_text(doc, "records_excluded")
    assert "Records excluded (n = 21)" in excluded and "excluded by the stopping rule (n = 3)" in excluded
    assert "by the screeners (n = 18)" in excluded
    assert "Reports sought for retrieval (n = 11)" in box_text(doc, "dbr_sought_reports")
    assert "Reports not retrieved (n = 1)" in box_text(doc, "dbr_notretrieved_reports")
    assert "Reports assessed for eligibility (n = 9)" in box_text(doc, "dbr_assessed")
    reasons = box_text(doc, "dbr_excluded")
    assert "wrong population (n = 2)" in reasons and "wrong study design (n = 1)" in reasons
    assert "Citation searching (n = 2)" in box_text(doc, "website_results")
    assert "Websites (n = 1)" in box_text(doc, "website_results")
    assert "Studies included in review (n = 6)" in box_text(doc, "new_studies")
    assert "Reports of included studies (n = 7)" in box_text(doc, "new_studies")

    md = run("report", "prisma", "--format", "md").stdout
    assert "| Screening | Records screened | 33 |" in md and "| - wrong population | 2 |" in md
    assert "stopped" in md and "deadline" in md


def test_one_set_and_its_full_text_stage(review: dict[str, Any], run: Cli) -> None:
    counts = json.loads(run("report", "prisma", "--set", "main", "--format", "json").stdout)
    assert counts["set"] == "main"
    assert counts["database_specific_results"] == {"MEDLINE": 20, "Embase": 20} and counts["register_results"] == 0
    assert counts["duplicates"] == 10 and counts["excluded_other"] == 0 and counts["records_screened"] == 30
    assert counts["records_excluded"] == 20 and counts["records_excluded_by_stopping_rule"] == 3
    assert counts["dbr_sought_reports"] == 10 and counts["dbr_included_reports"] == 5
    assert counts["citations_results"] == 2 and counts["other_sought_reports"] == 2
    same = json.loads(run("report", "prisma", "--set", review["ft"], "--format", "json").stdout)
    assert same == counts  # the full-text set names its title/abstract set
    trials = json.loads(run("report", "prisma", "--set", "trials", "--format", "json").stdout)
    assert trials["register_specific_results"] == {"ClinicalTrials.gov": 3} and trials["database_results"] == 0
    assert trials["records_awaiting_screening"] == 1 and trials["new_reports"] == 1
    assert trials["website_results"] == 0
    r = run("report", "prisma", "--set", "nope", "--format", "json", ok=False)
    assert r.exit_code == 1 and "no set named 'nope'" in r.output


def test_a_diagram_that_does_not_add_up_is_refused(review: dict[str, Any], db: Database, run: Cli,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with db.read() as s:
        counts = prisma_counts(s)
    check_flow(counts)
    bad = {**counts, "duplicates": counts["duplicates"] + 1}
    with pytest.raises(PrismaMismatch) as err:
        render_prisma(bad, "svg")
    assert err.value.box == "Records screened" and err.value.shown == 33 and err.value.expected == 32
    assert "duplicates (11)" in str(err.value)
    for key, value in (("dbr_assessed", 8), ("dbr_excluded", {"wrong population": 3, "wrong study design": 1}),
                       ("records_excluded_by_stopping_rule", 2), ("new_studies", 8), ("other_assessed", 2),
                       ("database_specific_results", {"MEDLINE": 20}), ("records_screened", -1)):
        with pytest.raises(PrismaMismatch):
            check_flow({**counts, key: value})
    # and through the command: a one-line error naming the box and the numbers, nothing written
    monkeypatch.setattr("screening.cli.reports.prisma_counts", lambda s, name: bad)
    out = Path(run.url.removeprefix("sqlite:///")).parent / "bad.svg"
    r = run("report", "prisma", "--format", "svg", "--out", out, ok=False)
    assert r.exit_code == 1 and "do not add up" in r.output and "Records screened shows 33" in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_the_svg_opens_and_the_png_is_drawn(review: dict[str, Any], run: Cli, tmp_path: Path) -> None:
    svg_path, png_path = tmp_path / "prisma.svg", tmp_path / "prisma.png"
    run("report", "prisma", "--format", "svg", "--out", svg_path)
    run("report", "prisma", "--format", "png", "--out", png_path)
    doc = xml.dom.minidom.parse(str(svg_path))
    root = doc.documentElement
    assert root.tagName == "svg" and root.getAttribute("font-family") == "sans-serif"
    ids = {g.getAttribute("id") for g in doc.getElementsByTagName("g")}
    for key in ("newstud", "othstud", "database_results", "duplicates", "records_screened", "records_excluded",
                "dbr_sought_reports", "dbr_notretrieved_reports", "dbr_assessed", "dbr_excluded", "website_results",
                "other_sought_reports", "other_notretrieved_reports", "other_assessed", "other_excluded",
                "new_studies", "identification", "screening", "included"):
        assert f"box-{key}" in ids, key
        g = next(g for g in doc.getElementsByTagName("g") if g.getAttribute("id") == f"box-{key}")
        assert g.getElementsByTagName("text"), f"box {key} has no text"
    assert len(doc.getElementsByTagName("path")) >= 14  # the arrows
    # every text fits its box
    for g in doc.getElementsByTagName("g"):
        rects = g.getElementsByTagName("rect")
        if not rects or g.getAttribute("id") in ("box-identification", "box-screening", "box-included"):
            continue
        x, w = float(rects[0].getAttribute("x")), float(rects[0].getAttribute("width"))
        for t in g.getElementsByTagName("text"):
            text = "".join(n.data for n in t.childNodes)
            left = float(t.getAttribute("x"))
            if t.getAttribute("text-anchor") == "middle":
                left -= text_width(text, 12, bold=t.getAttribute("font-weight") == "bold") / 2
            assert x <= left and left + text_width(text, 12, bold=t.getAttribute("font-weight") == "bold") <= x + w
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_a_review_without_records_added_by_hand_has_no_other_methods_column(db: Database, run: Cli,
                                                                            tmp_path: Path) -> None:
    path = tmp_path / "m.ris"
    path.write_text("".join(work(i) for i in range(6)) + work(0), encoding="utf-8")
    run("search", "add", "m", "--database", "MEDLINE")
    run("import", path, "--search", "m")
    run("dedup")
    counts = json.loads(run("report", "prisma", "--format", "json").stdout)
    assert counts["database_results"] == 7 and counts["duplicates"] == 1 and counts["excluded_other"] == 6
    assert counts["records_screened"] == 0 and counts["new_studies"] == 0
    doc, _ = svg_numbers(run("report", "prisma", "--format", "svg").stdout)
    ids = {g.getAttribute("id") for g in doc.getElementsByTagName("g")}
    assert "box-othstud" not in ids and "box-website_results" not in ids and "box-records_screened" in ids


def test_the_searches_report_names_every_search_and_the_dedup(review: dict[str, Any], run: Cli) -> None:
    md = run("report", "searches", "--format", "md").stdout
    for name in DBS:
        assert name in md
    assert "ClinicalTrials.gov (trial register)" in md and "Date limits: 2000-2016" in md
    assert "## Deduplication" in md and "screening " in md and "title_sure" in md
    data = json.loads(run("report", "searches", "--format", "json").stdout)
    medline = next(s for s in data["searches"] if s["database"] == "MEDLINE")
    assert medline["hits_reported"] == 20 and medline["imported"] == 20 and medline["hits_match"] is True
    assert medline["interface"] == "Ovid" and medline["searched"] == "2016-12-01"
    dup_removed = sum(s["duplicates_removed"] for s in data["searches"])
    assert dup_removed == 10 == data["deduplication"]["duplicates_removed"]
    assert data["deduplication"]["people_decisions"]["link"] == 1
    assert {o["source"]: o["box"] for o in data["other_methods"]}["grey literature"] == \
        "organisations and other sources"
    rows = list(csv.DictReader(io.StringIO(run("report", "searches", "--format", "csv").stdout)))
    assert [r["database"] for r in rows] == list(DBS) and rows[0]["hits_reported"] == "20"


def test_the_bundle(review: dict[str, Any], run: Cli, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    r = run("report", "bundle", out)
    assert "index.html" in r.output
    names = {p.name for p in out.iterdir()}
    for name in ("prisma.svg", "prisma.png", "prisma.csv", "prisma.json", "searches.md", "table3.md",
                 "agreement-main.csv", "agreement-main.png", "exclusion-reasons.csv", "included-main.ris",
                 "included-main.csv", "included-trials.ris", "index.html"):
        assert name in names, name
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="prisma.png"' in index and 'src="prisma.svg"' in index
    reasons = list(csv.DictReader(open(out / "exclusion-reasons.csv", encoding="utf-8")))
    assert sorted(r["reason"] for r in reasons) == ["wrong population", "wrong population", "wrong study design"]
    included = list(csv.DictReader(open(out / "included-main.csv", encoding="utf-8")))
    assert len(included) == 6  # five from the databases, one added by hand (the full-text includes)
    assert (out / "included-main.ris").read_text(encoding="utf-8").count("ER  -") == 6
    agreement = list(csv.DictReader(open(out / "agreement-main.csv", encoding="utf-8")))
    assert [a["batch"] for a in agreement] == ["1", "2"]
    r = run("report", "bundle", out / "prisma.svg", ok=False)
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_registers_and_wrapping() -> None:
    assert is_register("ClinicalTrials.gov") and is_register("WHO ICTRP") and is_register("EU Clinical Trials Register")
    assert not is_register("Cochrane Central Register of Controlled Trials") and not is_register("MEDLINE")
    assert prisma.source_bucket("citation chasing") == "citations_results"
    assert prisma.source_bucket("website") == "website_results"
    assert prisma.source_bucket("grey literature") == "organisation_results"
    lines = wrap("Records marked as ineligible by automation tools (n = 0)", 150, 12)
    assert len(lines) == 3 and all(text_width(x, 12) <= 150 for x in lines) and " ".join(lines).endswith("(n = 0)")
    assert wrap("x" * 80, 100, 12)[0] and all(text_width(x, 12) <= 100 for x in wrap("x" * 80, 100, 12))
