"""Deduplication: the tricky cases one by one, then the database side (incremental, manual, screened)."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from screening.dedup.core import DedupRecord, find_duplicates, judge_pair
from screening.dedup.service import run_dedup
from screening.storage.db import Database


def rec(i: int, title: str, authors: list[str] | None = None, year: int | None = 2015, journal: str = "Lancet",
        volume: str = "385", pages: str = "100-110", doi: str = "", **kw) -> DedupRecord:
    return DedupRecord(id=i, title=title, authors=authors if authors is not None else ["Smith, John", "Doe, Ann"],
                       year=year, journal=journal, volume=volume, pages=pages, doi=doi, **kw)


def merged(*records: DedupRecord, **kw) -> bool:
    result = find_duplicates(list(records), **kw)
    return any(len(g) == len(records) for g in result.groups)


T = "Integrated care models for older people: a systematic review of randomised trials"

# --- the judge, rule by rule -------------------------------------------------------------------
# One made-up pair per rule, in the order the judge applies them (README "Deduplication rules"):
# the vetoes and their exceptions, the confirmations, the doubts that go to a person, the title
# thresholds. Each case names its rule and the verdict ("dup", "queue" or "no"); ``explains`` is
# what the stored explanation must say (the veto, the doubt, the confirmation, the rule).

DOI = "10.1000/care.2015.100"
MOBILISE = "Effects of early mobilisation after hip surgery in elderly patients"
HOME = "Home-based exercise for frail older adults: a randomised trial"
BARE = {"journal": "", "volume": "", "pages": ""}  # only title, authors and year
OTHERS = ["Okafor, Chidi", "Lind, Maja"]


def case(name: str, a: DedupRecord, b: DedupRecord, verdict: str, **explains: Any) -> Any:
    return pytest.param(a, b, verdict, explains, id=f"{name} -> {verdict}")


JUDGE_CASES = [
    # vetoes: reasons two records are certainly different, and what outweighs each one
    case("veto: erratum/comment/reply vs article", rec(1, T, doi=DOI), rec(2, f"Erratum: {T}", doi=DOI), "no",
         veto="erratum/comment/reply vs article"),
    case("veto: conference abstract vs full paper", rec(1, T, pub_type="Journal Article"),
         rec(2, T, pub_type="Conference Abstract", volume="12", pages="S45"), "no",
         veto="conference abstract vs full paper"),
    case("veto: different DOIs (updated Cochrane review)",
         rec(1, T, year=2006, doi="10.1002/14651858.cd000133.pub2", journal="Cochrane Database Syst Rev", volume="",
             pages="CD000133"),
         rec(2, T, year=2012, doi="10.1002/14651858.cd000133.pub3", journal="Cochrane Database Syst Rev", volume="",
             pages="CD000133"), "no", veto="different DOIs"),
    case("veto: different DOIs (joint publication in two journals)",
         rec(1, "Periodontal bacterial invasion and infection: contribution to atherosclerotic pathology",
             journal="J Periodontol", volume="84", pages="S30-S50", doi="10.1902/jop.2013.1340012"),
         rec(2, "Periodontal bacterial invasion and infection: contribution to atherosclerotic pathology",
             journal="J Clin Periodontol", volume="40", pages="S30-50", doi="10.1111/jcpe.12079"), "no",
         veto="different DOIs"),
    case("veto exception: different DOIs, everything else identical", rec(1, T, pages="100", doi="10.1000/a.1"),
         rec(2, T, pages="100", doi="10.1000/b.2"), "dup", rule="fuzzy"),
    case("veto exception: different DOIs, cited alike (one DOI in two forms)",
         rec(1, "Clinical review 12: " + T, doi="10.1000/care.100"), rec(2, T, pages="100-10", doi="10.1000/c.15.100"),
         "dup", citation=True),
    case("veto: different PMIDs", rec(1, T, pmid="11111111"), rec(2, T, pmid="22222222"), "no",
         veto="different PMIDs"),
    case("veto: years differ", rec(1, T, year=2010), rec(2, T, year=2013), "no", veto="years differ"),
    case("veto exception: years differ, same DOI and title (the issue number as the year)",
         rec(1, T, doi="10.1210/endrevbnz002", year=2019, pages="", volume=""),
         rec(2, T, doi="10.1210/endrev/bnz002", year=1862, pages="", volume=""), "dup", rule="doi"),
    case("veto: different first pages", rec(1, T, pages="100-110"), rec(2, T, pages="200-210"), "no",
         veto="different first pages"),
    case("veto exception: different pages, an article number against printed pages", rec(1, T, pages="e12724"),
         rec(2, T, pages="100-110"), "dup", pages=False),
    case("veto exception: different pages, same DOI", rec(1, T, doi=DOI), rec(2, T, doi=DOI, pages="300-310"),
         "dup", rule="doi", pages=False),
    case("veto exception: fields shifted one column are no page conflict", rec(1, T, volume="", issue="26", pages="9"),
         rec(2, T, volume="26", issue="9", pages="1746"), "dup", shifted=True),
    case("veto: different volumes", rec(1, T, volume="385"), rec(2, T, volume="386"), "no",
         veto="different volumes"),
    case("veto exception: different volumes, a supplement filed as its own journal",
         rec(1, T, journal="Lancet Suppl", volume="7", pages="31-41"),
         rec(2, T, journal="Lancet", volume="385", issue="SUPPL. 7", pages="31-41"), "dup", volume=True),
    case("veto: different issues (the same column in two issues)",
         rec(1, "Editorial", issue="1", pages="i-ii"), rec(2, "Editorial", issue="2", pages="i-ii"), "no",
         veto="different issues"),
    case("veto exception: different issues, one database's issue mistyped under a specific title",
         rec(1, T, issue="32"), rec(2, T, issue="36"), "dup", issue=False),
    case("veto: different DOIs, a column title never counts as everything else identical",
         rec(1, "In this issue", pages="1", doi="10.1000/a.1"), rec(2, "In this issue", pages="1", doi="10.1000/b.2"),
         "no", veto="different DOIs"),
    case("veto: different authors", rec(1, T, authors=OTHERS, **BARE),
         rec(2, T, authors=["Tanaka, Hiro", "Rossi, Paolo"], **BARE), "no", veto="different authors"),
    case("veto exception: different authors, the identifier and every detail agree",
         rec(1, T, doi=DOI, authors=OTHERS), rec(2, T, doi=DOI), "dup", rule="doi"),
    # confirmations: bibliographic evidence that the two are one publication
    case("confirmation: same citation under a translated title", rec(1, MOBILISE, pages="2001-2009"),
         rec(2, "Mobilisation precoce apres chirurgie de la hanche chez le sujet age", pages="2001-9"), "dup",
         citation=True),
    case("confirmation: identifier and every detail agree under a re-worded title", rec(1, HOME, pages="100", doi=DOI),
         rec(2, "Exercise at home for frail older adults: randomised controlled trial", pages="100", doi=DOI), "dup",
         rule="doi"),
    case("confirmation: identifier and a title contained in the other",
         rec(1, "Abuse potential of gabapentinoids", doi=DOI, volume=""),
         rec(2, "Abuse potential of gabapentinoids: a systematic review of human studies", doi=DOI), "dup",
         contained=True),
    case("confirmation: identifier, journal and authors agree with a similar title", rec(1, T, doi=DOI, pages=""),
         rec(2, "Integrated models of care for older people: a review of randomised trials", doi=DOI), "dup",
         rule="doi"),
    case("confirmation: one meeting abstract under two names of its proceedings",
         rec(1, T, journal="Journal of Hip Research. Conference: 5th World Congress on Hip Care", volume="9",
             pages=""),
         rec(2, T, journal="5th World Congress on Hip Care", volume="9", pages=""), "dup", journal=False),
    case("confirmation: pages, title and authors agree under two names of the journal", rec(1, T, volume=""),
         rec(2, T, journal="Journal of Hip Care"), "dup", journal=False, pages=True),
    case("confirmation: volume and pages agree under two names of the journal", rec(1, T, authors=[]),
         rec(2, T, authors=[], journal="Journal of Hip Care"), "dup", journal=False, volume=True, pages=True),
    # verdict: the title thresholds, and the doubts a person settles
    case("verdict: near-identical title, years one apart (e-pub and print)", rec(1, T, year=2015),
         rec(2, T, year=2016), "dup", year=False),
    case("verdict: same identifier, similar title, details missing",
         rec(1, T, doi="10.1000/xyz123", volume="", pages=""), rec(2, T + ".", doi="10.1000/xyz123", journal="",
                                                                  authors=[]), "dup", rule="doi"),
    case("verdict: journal, volume and pages confirm a similar title", rec(1, T, pages="100"),
         rec(2, "Integrated care models for older persons: systematic review of randomized trials", pages="100"),
         "dup"),
    case("queue: numbers in the titles differ", rec(1, "Conference abstracts part 1 moderated posters", pages=""),
         rec(2, "Conference abstracts part 2 moderated posters", pages=""), "queue",
         doubt="numbers in the titles differ"),
    case("queue: same identifier, different journal and pages",
         rec(1, "Statins in sepsis: a cohort", doi=DOI, journal="Crit Care", pages="P12"),
         rec(2, "Fluids in sepsis: a cohort", doi=DOI, journal="Intensive Care Med", pages="P47"), "queue",
         doubt="same identifier, different journal and pages"),
    # two chapters of one book series: one series DOI, different pages
    case("queue: same identifier, title not confirmed",
         rec(1, "Dopamine agonists in animal models of Parkinson's disease", doi="10.1159/000327701", pages="1-20"),
         rec(2, "Transgenic mouse models of Alzheimer's disease", doi="10.1159/000327701", pages="21-40"), "queue",
         rule="doi"),
    case("queue: different journals", rec(1, T, pages=""), rec(2, T, journal="Journal of Hip Care", pages=""),
         "queue", doubt="different journals"),
    case("queue: near-identical title, no authors and nothing else agreeing",
         rec(1, T, authors=[], year=2015, **BARE), rec(2, T, authors=[], year=2016, **BARE), "queue"),
    case("queue: near-identical title, years differ and the authors only partly agree",
         rec(1, T, year=2015, **BARE), rec(2, T, authors=["Smith, John", "Brown, Kim"], year=2016, **BARE), "queue"),
    case("queue: similar title and authors, too few details", rec(1, T, **BARE),
         rec(2, "Integrated models of care for older people: a review of randomised trials", **BARE), "queue"),
    case("queue: a column title without the whole citation", rec(1, "Editorial", issue="3"), rec(2, "Editorial"),
         "queue", doubt="a column title: the citation decides"),
    case("queue: a title word differs (neighbouring articles on adjacent pages)",
         rec(1, "Effects of serotonin on renal blood flow in the rat", pages="212-215"),
         rec(2, "Effects of histamine on renal blood flow in the rat", pages="215-219"), "queue", adjacent=True,
         doubt="a title word differs (serotonin / histamine)"),
    case("no: dissimilar titles", rec(1, T, volume="", pages=""),
         rec(2, "Knee pain in runners: a cohort study", volume="", pages=""), "no"),
    case("no: a title missing", rec(1, "", authors=["Smith, John"]), rec(2, T), "no"),
]


@pytest.mark.parametrize("a, b, verdict, explains", JUDGE_CASES)
def test_judge_rule_by_rule(a: DedupRecord, b: DedupRecord, verdict: str, explains: dict[str, Any]) -> None:
    decision, rule, scores = judge_pair(a, b)
    assert decision == verdict, scores
    said = {"rule": rule, **scores}
    assert {k: said.get(k) for k in explains} == explains, said
    if not {"veto", "doubt"} & set(explains):
        assert "veto" not in scores and "doubt" not in scores, scores
    result = find_duplicates([a, b])  # the same verdict through blocking, the pre-filter and the groups
    assert (result.groups == [[a.id, b.id]]) == (verdict == "dup")
    assert any({q.a, q.b} == {a.id, b.id} for q in result.queue) == (verdict == "queue")


# --- duplicates that must be found --------------------------------------------------------------

def test_cosmetic_differences_merge() -> None:
    a = rec(1, T)
    b = rec(2, "INTEGRATED CARE MODELS FOR OLDER PEOPLE - A SYSTEMATIC REVIEW OF RANDOMISED TRIALS.",
            authors=["Smith J", "Doe A"], journal="The Lancet", pages="100-10")
    assert merged(a, b)


def test_language_marker_html_and_translated_brackets_merge() -> None:
    a = rec(1, "Effect of <i>tai chi</i> on balance in older adults")
    b = rec(2, "[Effect of tai chi on balance in older adults]. [Article in Chinese]")
    c = rec(3, "Effect of tai chi on balance in older adults [Chinese]")
    assert merged(a, b, c)


def test_journal_abbreviation_and_glued_authors_merge() -> None:
    a = rec(1, T, authors=["Milner T. D.Okhovat S.Clement W. A."], journal="J Am Med Assoc", pages="")
    b = rec(2, T, authors=["Milner Thomas D.Okhovat SalehClement William A."],
            journal="Journal of the American Medical Association", pages="")
    assert merged(a, b)


# --- not duplicates ------------------------------------------------------------------------------

def test_erratum_comment_and_reply_do_not_merge_with_the_article() -> None:
    article = rec(1, T, doi="10.1000/abc")
    for i, title in enumerate([f"Erratum: {T}", f"Correction to: {T}", f"Comment on: {T}", f"Reply to: {T}"], 2):
        assert not merged(article, rec(i, title, doi="10.1000/abc")), title


def test_medline_erratum_annotation_is_not_an_erratum() -> None:
    assert merged(rec(1, T), rec(2, T + " [Erratum in: Lancet. 2016;387:10]"))


def test_same_title_different_authors_does_not_merge() -> None:
    a = rec(1, "Editorial", authors=["Smith, John"], volume="", pages="")
    b = rec(2, "Editorial", authors=["Garcia, Maria"], volume="", pages="")
    c = rec(3, T, authors=["Brown, A", "Green, B", "White, C"], volume="", pages="")
    d = rec(4, T, authors=["Zhou, X", "Kumar, Y", "Novak, Z"], volume="", pages="")
    assert not merged(a, b) and not merged(c, d)


def test_one_citation_under_a_translated_title_is_one_article() -> None:
    """Same journal, year, volume, page range and authors: the same article, whatever the title says."""
    a = rec(1, "Acute brain death abolishes the cardioprotective effects of ischemic preconditioning in the rabbit",
            journal="Transplantation", volume="69", pages="2001-2002")
    b = rec(2, "Preconditioning versus brain death in clinical transplantation", journal="Transplantation",
            volume="69", pages="2001-2")
    assert merged(a, b)
    other_authors = rec(3, b.title, authors=["Jones, Peter", "Brown, Kim"], journal="Transplantation",
                        volume="69", pages="2001-2")
    assert not merged(a, other_authors)
    one_page = [rec(4, "Abstract 12: statins in sepsis", pages="S20"), rec(5, "Abstract 13: fluids in sepsis",
                                                                         pages="S20")]
    assert not merged(*one_page)  # one supplement page holds many abstracts


def test_pii_in_doi_field_is_ignored() -> None:
    a = rec(1, "Alpha study of one thing", doi="S0140-6736(20)30001-1 [pii]", pages="", volume="")
    b = rec(2, "Beta study of another thing", doi="S0140-6736(20)30001-1 [pii]", pages="", volume="")
    assert not merged(a, b)


# --- groups, constraints, kept record, scale -----------------------------------------------------

def test_journal_abbreviations_either_way_but_not_a_sister_journal() -> None:
    from screening.dedup.normalise import journal_match, norm_journal

    def same(a: str, b: str) -> bool:
        return journal_match(norm_journal(a), norm_journal(b))

    assert same("Annals of Thoracic Surgery", "Ann Thorac Surg")  # as many words: either may be the abbreviation
    assert same("Clin Sci (Lond)", "Clinical Science")  # NLM's place of publication
    assert same("Proc Natl Acad Sci U S A", "Proceedings of the National Academy of Sciences of the United States "
                "of America")  # letters dropped inside a word
    assert not same("J Periodontol", "J Clin Periodontol")  # a word of the full title skipped: another journal


def test_author_lists_that_lost_their_separators_or_their_order_merge() -> None:
    t = "Comparative study of ACE inhibitors and other antihypertensive agents on proteinuria in diabetic patients"
    glued = rec(1, t, authors=["BOHLEN LDECOURTEN MWEIDMANN P"])
    tidy = rec(2, t, authors=["Bohlen L.", "de Courten M.", "Weidmann P."])
    assert merged(glued, tidy)
    given_first = rec(3, t, authors=["Jin-Ming C.", "Xiao-Qi G."])
    family_first = rec(4, t, authors=["Chen J. M.", "Gong X. Q."])
    assert merged(given_first, family_first)
    assert not merged(rec(5, t, authors=["Jones P.", "Brown K."]), tidy)


def test_numbers_lost_from_a_title_are_no_conflict_but_other_numbers_are() -> None:
    a = rec(1, "Ischemic preconditioning and diazoxide limit mitochondrial Ca2+ overload during reperfusion")
    b = rec(2, "Ischemic preconditioning and diazoxide limit mitochondrial Ca overload during reperfusion")
    assert merged(a, b)
    # without a shared citation to settle it, each title having a number the other lacks goes to a person
    a2 = rec(3, a.title, pages="", volume="")
    c = rec(4, "Ischemic preconditioning and diazoxide limit mitochondrial Ca3+ overload during reperfusion",
            pages="", volume="")
    assert not merged(a2, c)
    assert any({q.a, q.b} == {3, 4} for q in find_duplicates([a2, c]).queue)


def test_a_supplement_abstract_is_not_the_paper_whose_pages_it_falls_in() -> None:
    t = "Convergent functional genomics of genome-wide association data for bipolar disorder"
    abstract = rec(1, t, journal="Biol Psychiatry", volume="65", pages="170S")
    paper = rec(2, t, journal="Am J Med Genet B Neuropsychiatr Genet", volume="150B", pages="155-81")
    assert not merged(abstract, paper)
    same_issue = rec(3, t, volume="25", pages="S189-S190")
    article = rec(4, t, volume="25", pages="1223-1237")
    assert not merged(same_issue, article)  # "S189" is a supplement page, not an article number


def test_a_correction_notice_citing_the_article_is_an_erratum() -> None:
    # Web of Science and Embase title a correction with the citation of the article it corrects
    article = rec(1, T, volume="360", pages="542-544")
    wos = rec(2, f"{T} (vol 360, pg 542, 2009)", volume="360", pages="2487")
    embase = rec(3, f"{T} (Lancet (2009) 360 (542-544))", volume="360", pages="2487")
    assert not merged(article, wos) and not merged(article, embase)
    assert merged(wos, embase)  # the one notice from two databases
    from screening.dedup.normalise import is_erratum

    assert is_erratum(wos.title) and is_erratum(embase.title)
    # a parenthesis that is not a citation of another article leaves a title alone
    assert not is_erratum(f"{T} (Lancet: results (2009))") and not is_erratum("Outcomes (2000-2010) of surgery")
    assert merged(rec(4, f"{T} (Lancet: results (2009))", pages="542-544"), rec(5, f"{T} (Lancet: results (2009))",
                                                                                pages="542-544"))


def test_fields_shifted_one_column_are_not_a_page_conflict() -> None:
    # one export put the volume in the issue field and the issue in the pages field
    shifted = rec(1, T, volume="", issue="26", pages="9")
    full = rec(2, T, volume="26", issue="9", pages="1746")
    assert merged(shifted, full)
    assert not merged(rec(3, T, volume="", issue="25", pages="9"), full)


def test_a_supplement_filed_as_its_own_journal_is_the_same_volume() -> None:
    medline = rec(1, T, journal="J Rheumatol Suppl", volume="51", pages="31-41")
    embase = rec(2, T, journal="Journal of Rheumatology", volume="25", issue="SUPPL. 51", pages="31-41")
    assert merged(medline, embase)
    assert not merged(rec(3, T, journal="J Rheumatol", volume="51", pages="31-41"), embase)


def test_a_doi_with_its_prefix_written_twice_is_the_same_doi() -> None:
    a = rec(1, T, doi="10.3779/j.issn.1009-3419.2018.11.07", journal="Zhongguo Fei Ai Za Zhi")
    b = rec(2, T, doi="10.3779/10.3779/j.issn.1009-3419.2018.11.07", journal="Chinese Journal of Lung Cancer")
    assert merged(a, b)


def test_one_citation_under_two_forms_of_its_doi_is_one_article() -> None:
    a = rec(1, "Clinical review 138: " + T, journal="J Clin Endocrinol Metab", volume="86", pages="5108-17",
            doi="10.1210/jcem.86.11.7983")
    b = rec(2, T, journal="Journal of Clinical Endocrinology & Metabolism", volume="86", pages="5108-5117",
            doi="10.1210/jc.86.11.5108")
    assert merged(a, b)
    assert not merged(a, rec(3, T, journal="J Clin Endocrinol Metab", volume="86", pages="5120-5127",
                             doi="10.1210/jc.86.11.5120"))


def test_page_ranges_written_with_unicode_dashes_agree() -> None:
    # Cochrane CENTRAL writes U+2010 hyphens ("187\u2010192"), MEDLINE "187-92"
    assert merged(rec(1, T, pages="187\u2010192"), rec(2, T, pages="187-92"))
    assert merged(rec(3, T, pages="S12\u2014S15"), rec(4, T, pages="S12-15"))
    assert not merged(rec(5, T, pages="187\u2010192"), rec(6, T, pages="287-92"))


def test_one_meeting_abstract_under_two_names_of_its_proceedings() -> None:
    a = rec(1, T, journal="Journal of Thrombosis and Haemostasis. Conference: 23rd Congress of the ISTH",
            volume="9", pages="")
    b = rec(2, T, journal="23rd Congress of the International Society on Thrombosis and Haemostasis", volume="9",
            pages="")
    assert merged(a, b)
    # an abstract and a paper in another journal whose volume happens to be the same number
    paper = rec(3, T, journal="World Neurosurg", volume="9", pages="432-449")
    assert not merged(a, paper)


def test_cannot_link_holds_transitively_and_must_link_applies() -> None:
    a, b, c = rec(1, T), rec(2, T), rec(3, T)
    result = find_duplicates([a, b, c], cannot_link=[(1, 3)])
    assert not any({1, 3} <= set(g) for g in result.groups)
    d = rec(4, "Something else entirely about knees", authors=["Other, O"])
    result = find_duplicates([a, d], must_link=[(1, 4)])
    assert result.groups == [[1, 4]]


def test_kept_record_is_the_most_complete_or_the_screened_one() -> None:
    bare = rec(1, T, pages="")
    full = rec(2, T, doi="10.1000/k", abstract="Background. Methods. Results.")
    assert find_duplicates([bare, full]).kept == [2]
    bare.locked = True
    assert find_duplicates([bare, full]).kept == [1]


def test_blocking_keeps_comparisons_near_linear() -> None:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(3000)]
    records = [rec(i, " ".join(rng.choice(words) for _ in range(9)), authors=[f"Author{rng.randint(1, 4000)}, A"],
                   year=rng.randint(1990, 2020), volume=str(rng.randint(1, 99)), pages=str(rng.randint(1, 999)))
               for i in range(5000)]
    result = find_duplicates(records)
    assert result.comparisons < 5000 * 20  # all pairs would be 12.5 million
    assert result.groups == []


def test_deterministic() -> None:
    records = [rec(1, T), rec(2, T + "."), rec(3, "Other title about hips", authors=["X, Y"])]
    assert find_duplicates(records).groups == find_duplicates(list(reversed(records))).groups


# --- through the database and the CLI ------------------------------------------------------------

def write_ris(path: Path, records: list[tuple[str, str, str]]) -> None:
    with open(path, "w") as f:
        for rid, title, author in records:
            f.write(f"TY  - JOUR\nID  - {rid}\nTI  - {title}\nAU  - {author}\nPY  - 2015\nJO  - Lancet\n"
                    "VL  - 385\nSP  - 100\nEP  - 110\nER  - \n\n")


def export(run) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(run("export", "--format", "csv", "--all").stdout))
    return {r["ris_id"]: r for r in rows}


def same_group(rows: dict[str, dict[str, str]], a: str, b: str) -> bool:
    root = lambda k: rows[k]["duplicate_of"] or rows[k]["record_id"]  # noqa: E731
    return root(a) == root(b)


def test_incremental_split_merge_and_rerun(run, tmp_path: Path) -> None:
    run("user", "add", "ann", "--role", "admin")  # merges and splits are decided by a PI or admin
    run("search", "add", "medline", "--database", "MEDLINE")
    run("search", "add", "embase", "--database", "Embase")
    write_ris(tmp_path / "m.ris", [("m1", T, "Smith, John"), ("m2", "Hip fractures in care homes", "Lee, K")])
    run("import", tmp_path / "m.ris", "--search", "medline")
    assert json.loads(run("dedup", "--json").stdout)["removed"] == 0
    write_ris(tmp_path / "e.ris", [("e1", T.upper(), "Smith J"), ("e2", "Knee pain in runners", "Ng, P")])
    run("import", tmp_path / "e.ris", "--search", "embase")
    summary = json.loads(run("dedup", "--json").stdout)
    assert summary["removed"] == 1 and summary["groups"] == 1
    rows = export(run)
    assert same_group(rows, "e1", "m1")
    shown = run("dedup", "show", rows["m1"]["record_id"]).stdout
    assert "fuzzy" in shown and "title" in shown
    # a person splits them; the next automatic pass respects it
    run("dedup", "split", rows["e1"]["record_id"], "--as", "ann")
    run("dedup")
    rows = export(run)
    assert rows["e1"]["duplicate_of"] == "" and rows["m1"]["duplicate_of"] == ""
    # a person merges two different records; it survives a re-run
    run("dedup", "merge", rows["m2"]["record_id"], rows["e2"]["record_id"], "--as", "ann")
    run("dedup")
    rows = export(run)
    assert same_group(rows, "e2", "m2")
    assert len([r for r in rows.values() if not r["duplicate_of"]]) == 3
    assert "MEDLINE" in run("export", "--format", "csv").stdout
    # a pass that changes nothing writes no record
    written: list[int] = []
    database = Database(run.url)

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE RECORD"):
            written.append(len(parameters) if executemany else 1)

    event.listen(database.engine, "before_cursor_execute", count)
    with database.transaction() as s:
        run_dedup(s)
    database.dispose()
    assert written == [] and export(run) == rows


def test_duplicate_found_after_screening_is_flagged_and_keeps_decisions(run, db, tmp_path: Path) -> None:
    from sqlalchemy import select

    from screening.storage.models import Decision, Record, ScreeningSet, User

    run("search", "add", "medline", "--database", "MEDLINE")
    run("search", "add", "embase", "--database", "Embase")
    write_ris(tmp_path / "m.ris", [("m1", T, "Smith, John")])
    write_ris(tmp_path / "e.ris", [("e1", T + ".", "Smith J")])
    run("import", tmp_path / "m.ris", "--search", "medline")
    run("import", tmp_path / "e.ris", "--search", "embase")
    with db.transaction() as s:  # both were screened before anyone deduplicated
        u = User(name="ann", role="screener")
        st = ScreeningSet(name="access")
        s.add_all([u, st])
        s.flush()
        for r in s.scalars(select(Record)):
            s.add(Decision(set_id=st.id, record_id=r.id, user_id=u.id, decision="include", phase="test"))
    summary = json.loads(run("dedup", "--json").stdout)
    assert summary["removed"] == 1 and summary["flagged"] == 1
    with db.transaction() as s:
        assert s.query(Decision).count() == 2
        flagged = s.scalars(select(Record).where(Record.duplicate_of.is_not(None))).one()
        assert "after screening" in flagged.dedup_flag


@pytest.mark.parametrize("answer, kept", [("y\n", 1), ("n\n", 2)])
def test_review_queue_in_the_terminal(run, tmp_path: Path, answer: str, kept: int) -> None:
    run("user", "add", "ann", "--role", "admin")
    run("search", "add", "s", "--database", "MEDLINE")
    with open(tmp_path / "q.ris", "w") as f:  # same title, years one apart, nothing else: doubtful
        for rid, year in (("a", 2015), ("b", 2016)):
            f.write(f"TY  - JOUR\nID  - {rid}\nTI  - {T}\nPY  - {year}\nER  - \n\n")
    run("import", tmp_path / "q.ris", "--search", "s")
    assert json.loads(run("dedup", "--json").stdout)["queued"] == 1
    out = run("dedup", "review", "--as", "ann", input=answer).stdout
    assert "pair 1 of 1" in out
    assert len([r for r in export(run).values() if not r["duplicate_of"]]) == kept
    assert json.loads(run("dedup", "--json").stdout)["queued"] == 0  # answered pairs never come back
