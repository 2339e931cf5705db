"""Related records: typed links (erratum, retraction, update...) stored, reversible, exported, shown."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import select

from screening.dedup.core import DedupRecord, find_duplicates
from screening.storage.models import RecordLink

ARTICLE = ("TY  - JOUR\nTI  - Exercise therapy for knee osteoarthritis in older adults: a randomised trial\n"
           "AU  - Smith, John\nAU  - Jones, Kate\nPY  - 2018\nJO  - Journal of Knee Research\nVL  - 12\n"
           "IS  - 3\nSP  - 100\nEP  - 110\nDO  - 10.1000/jkr.2018.100\nER  - \n")
RETRACTION = ("TY  - JOUR\nTI  - Retraction notice to: Exercise therapy for knee osteoarthritis in older adults: a "
              "randomised trial\nAU  - Smith, John\nPY  - 2020\nJO  - Journal of Knee Research\nVL  - 14\nIS  - 1\n"
              "SP  - 5\nDO  - 10.1000/jkr.2020.5\nER  - \n")
OTHER = ("TY  - JOUR\nTI  - Walking programmes and hip pain after arthroplasty\nAU  - Brown, Ann\nPY  - 2019\n"
         "JO  - Hip Journal\nVL  - 7\nSP  - 1\nEP  - 9\nER  - \n")


def rows(run) -> dict[str, dict[str, str]]:
    """The kept records by the start of their title."""
    out = csv.DictReader(io.StringIO(run("export", "--format", "csv").stdout))
    return {r["title"][:20]: r for r in out}


def setup(run, tmp_path: Path, text: str) -> None:
    run("user", "add", "ann", "--role", "admin")
    run("search", "add", "s", "--database", "MEDLINE")
    path = tmp_path / "a.ris"
    path.write_text(text)
    run("import", path, "--search", "s")
    run("dedup")


def test_a_link_made_by_a_person_is_stored_exported_and_survives_every_rerun(run, tmp_path: Path) -> None:
    setup(run, tmp_path, ARTICLE + OTHER)
    by_title = rows(run)
    article, other = by_title["Exercise therapy for"]["record_id"], by_title["Walking programmes a"]["record_id"]
    run("dedup", "link", other, article, "--relation", "comment", "--as", "ann")
    for _ in range(2):  # a re-run keeps it
        run("dedup")
        by_title = rows(run)
        assert by_title["Exercise therapy for"]["related_to"] == other
        assert by_title["Exercise therapy for"]["relation"] == "comment"
        assert by_title["Walking programmes a"]["relation"] == "comment of"
    more = tmp_path / "b.ris"  # an incremental import brings a duplicate of the article: the link stays
    more.write_text(ARTICLE.replace("randomised", "randomized"))
    run("import", more, "--search", "s")
    run("dedup")
    assert rows(run)["Exercise therapy for"]["related_to"] == other
    shown = run("dedup", "show", article).stdout
    assert f"#{other} is its comment" in shown
    run("dedup", "unlink", article, other, "--as", "ann")
    run("dedup")
    assert rows(run)["Exercise therapy for"]["related_to"] == ""


def test_links_follow_the_kept_record_of_a_group(db, run, tmp_path: Path) -> None:
    setup(run, tmp_path, ARTICLE + ARTICLE.replace("randomised", "randomized") + OTHER)
    by_id = {r["record_id"]: r for r in csv.DictReader(io.StringIO(run("export", "--format", "csv", "--all").stdout))}
    copies = sorted(k for k, r in by_id.items() if r["title"].startswith("Exercise"))
    other = next(k for k, r in by_id.items() if r["title"].startswith("Walking"))
    removed = next(k for k in copies if by_id[k]["duplicate_of"])
    kept = by_id[removed]["duplicate_of"]
    run("dedup", "link", other, removed, "--relation", "erratum", "--as", "ann")  # linked to the removed copy
    with db.read() as s:
        links = s.execute(select(RecordLink.record_a, RecordLink.record_b, RecordLink.relation)).all()
    assert [tuple(x) for x in links] == [(int(other), int(kept), "erratum")]
    run("dedup", "split", removed, "--as", "ann")  # the copy is its own record again: the link goes where
    assert rows(run)["Walking programmes a"]["related_to"] == removed  # the person put it


def test_a_retracted_record_is_flagged_in_the_screening_queue(run, tmp_path: Path) -> None:
    setup(run, tmp_path, ARTICLE + RETRACTION + OTHER)
    by_title = rows(run)
    article, notice = by_title["Exercise therapy for"]["record_id"], by_title["Retraction notice to"]["record_id"]
    run("dedup", "link", notice, article, "--relation", "retraction", "--as", "ann")
    run("user", "add", "pat", "--role", "pi", "--as", "ann")
    for u in ("alice", "bob"):
        run("user", "add", u, "--role", "screener", "--as", "ann")
    run("set", "create", "knee", "--all", "--as", "pat")
    run("sample", "knee", "--size", "3", "--batch-size", "3", "--pairs", "alice+bob", "--seed", "1", "--as", "pat")
    items = {q["record_id"]: q for q in json.loads(run("queue", "--as", "alice", "--set", "knee", "--json").stdout)}
    assert items[int(article)]["retracted"] is True
    assert items[int(article)]["related"] == [{"record_id": int(notice), "relation": "retraction",
                                              "title": by_title["Retraction notice to"]["title"]}]
    assert items[int(notice)]["retracted"] is False and items[int(notice)]["related"][0]["relation"] == \
        "retraction of"
    screen = run("screen", "--as", "alice", "--set", "knee", input="s\n" * 3).stdout  # shows all three
    assert screen.count("RETRACTED") == 1 and f"Related: retraction #{notice}" in screen


def test_the_engine_links_a_retraction_to_its_article() -> None:
    article = DedupRecord(1, title="Exercise therapy for knee osteoarthritis in older adults: a randomised trial",
                          authors=["Smith, John", "Jones, Kate"], year=2018, journal="Journal of Knee Research",
                          volume="12", issue="3", pages="100-110", doi="10.1000/jkr.2018.100")
    notice = DedupRecord(2, title="Retraction notice to: Exercise therapy for knee osteoarthritis in older adults: "
                                  "a randomised trial", authors=["Smith, John"], year=2020,
                         journal="Journal of Knee Research", volume="14", issue="1", pages="5",
                         doi="10.1000/jkr.2020.5")
    result = find_duplicates([article, notice])
    assert result.groups == []
    assert [(lk.a, lk.b, lk.rule) for lk in result.related] == [(2, 1, "retraction")]
