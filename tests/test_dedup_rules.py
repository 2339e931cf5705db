"""Deduplication rules for data the shared benchmark sets never showed (issue 13), one made-up pattern each.

Recurring column items, different papers under one citation, neighbouring articles, fields mangled by
reference managers and spreadsheets, and related (not duplicate) records. Every record here is made up.
"""

from __future__ import annotations

from typing import Any

import pytest

from screening.dedup.core import RELATIONS, DedupRecord, find_duplicates, judge_pair
from screening.dedup.normalise import (
    generic_title,
    issue_numbers,
    norm_doi,
    norm_title,
    notice,
    repair_citation,
    substituted_words,
    undate,
)

AUTHORS = ["Smith, John", "Doe, Ann"]
EDITOR = ["Halvorsen, Ingrid"]


def rec(i: int, title: str, **kw: Any) -> DedupRecord:
    fields: dict[str, Any] = {"authors": AUTHORS, "year": 2015, "journal": "Journal of Renal Physiology",
                              "volume": "12", "pages": "100-110"}
    fields.update(kw)
    return DedupRecord(id=i, title=title, **fields)


def verdict(a: DedupRecord, b: DedupRecord) -> tuple[str, dict[str, Any]]:
    decision, _, scores = judge_pair(a, b)
    groups = find_duplicates([a, b]).groups  # the same answer through blocking and grouping
    assert (groups == [sorted((a.id, b.id))]) == (decision == "dup"), (decision, scores)
    return decision, scores


def column(i: int, issue: str, doi: str = "", pages: str = "i-ii", title: str = "Editor's Comments",
           **kw: Any) -> DedupRecord:
    fields: dict[str, Any] = {"authors": EDITOR, "year": 2014, "journal": "Information Systems Quarterly",
                              "volume": "38", "issue": issue, "pages": pages, "doi": doi}
    fields.update(kw)
    return DedupRecord(id=i, title=title, **fields)


# --- 1. recurring items: the same column in every issue ------------------------------------------

@pytest.mark.parametrize("title", ["Editorial", "Editor's Comments", "Editorial Notes", "Letter from the Editor",
                                   "In this issue", "Book reviews", "Correction", "From the Editor-in-Chief",
                                   "EDITORIAL.", "Reviewers 2014"])
def test_column_titles_are_recognised(title: str) -> None:
    assert generic_title(norm_title(title))


@pytest.mark.parametrize("title", ["Editorial: the next decade of process mining research",
                                   "Introduction to the special issue on digital platforms",
                                   "Book reviews as a genre of scholarly communication"])
def test_titles_with_content_are_not_column_titles(title: str) -> None:
    assert not generic_title(norm_title(title))


def test_the_same_column_in_two_issues_is_two_items() -> None:
    a, b = column(1, "1", "10.9999/isq.2014.38.1.ed"), column(2, "2", "10.9999/isq.2014.38.2.ed")
    decision, scores = verdict(a, b)
    assert decision == "no" and scores["veto"] in ("different DOIs", "different issues")
    decision, scores = verdict(column(3, "1"), column(4, "2"))  # no DOIs: the issues decide
    assert decision == "no" and scores["veto"] == "different issues"
    # every issue of a volume: none merged
    issues = [column(10 + n, str(n), f"10.9999/isq.2014.38.{n}.ed", pages="iii-iv") for n in range(1, 5)]
    assert find_duplicates(issues).groups == []


def test_a_column_title_never_overrides_two_dois() -> None:
    # no issue numbers at all: "everything else identical" must not make two DOIs one
    a, b = column(1, "", "10.9999/isq.2014.38.1.ed"), column(2, "", "10.9999/isq.2014.38.2.ed")
    decision, scores = verdict(a, b)
    assert decision == "no" and scores["veto"] == "different DOIs"


def test_a_column_without_its_issue_goes_to_a_person_and_with_it_merges() -> None:
    decision, scores = verdict(column(1, "3"), column(2, ""))
    assert decision == "queue" and scores["doubt"] == "a column title: the citation decides"
    same = column(2, "3", journal="Inf Syst Q", authors=["Halvorsen I"], title="EDITOR'S COMMENTS.")
    assert verdict(column(1, "3"), same)[0] == "dup"  # one column from two databases
    assert verdict(column(1, "3", doi="10.9999/x.1"), column(2, "", doi="10.9999/x.1"))[0] == "dup"  # one DOI


def test_an_unknown_recurring_title_is_kept_apart_by_its_issue() -> None:
    a = column(1, "1", title="Issues and opinions")
    b = column(2, "2", title="Issues and opinions")
    assert verdict(a, b)[0] == "no"


@pytest.mark.parametrize("issue_a, issue_b, agree", [
    ("3", "3", True), ("3-4", "4", True), ("No. 3", "3", True), ("12 Pt 2", "12", True),
    ("3", "4", False), ("Suppl 2", "4", None), ("S3", "3", None), ("MAY", "5", None), ("", "5", None),
])
def test_issue_numbers_are_compared_only_when_both_are_plain(issue_a: str, issue_b: str, agree: bool | None) -> None:
    a, b = rec(1, "Tubular transport of urate in the isolated perfused kidney", issue=issue_a), \
        rec(2, "Tubular transport of urate in the isolated perfused kidney", issue=issue_b, pages="100-110")
    _, scores = verdict(a, b)
    assert scores.get("issue") is agree, scores


def test_issue_parsing() -> None:
    assert issue_numbers("3-4") == (frozenset({"3", "4"}), False)
    assert issue_numbers("5 Suppl 2") == (frozenset(), True)
    assert issue_numbers("Spring") == (frozenset(), False)


def test_a_field_shifted_into_the_issue_is_no_other_issue() -> None:
    t = "Tubular transport of urate in the isolated perfused kidney"
    # one export wrote the article number into the issue field, the other the real issue
    assert verdict(rec(1, t, issue="93", pages="93"), rec(2, t, issue="1", pages="93"))[0] == "dup"
    assert verdict(rec(1, t, issue="12", volume="12"), rec(2, t, issue="4"))[0] == "dup"  # the volume twice


def test_one_database_with_a_wrong_issue_does_not_split_a_specific_title() -> None:
    t = "Tubular transport of urate in the isolated perfused kidney of the rat"
    decision, _ = verdict(rec(1, t, issue="32", pages="5900-19"), rec(2, t, issue="36", pages="5900-5919"))
    assert decision == "dup"
    # ... but a short title on the same pages of two issues is two items
    assert verdict(rec(1, "Urate", issue="32"), rec(2, "Urate", issue="36"))[0] == "no"


# --- 2. different papers under one citation ------------------------------------------------------

def test_two_titles_on_one_page_range_of_two_issues_are_two_papers() -> None:
    a = rec(1, "Tubular transport of urate in the isolated perfused kidney", issue="2")
    b = rec(2, "Glomerular filtration in hibernating ground squirrels", issue="5")
    assert verdict(a, b)[0] == "no"
    # the same citation under a re-worded (translated) title, same issue: one paper
    c = rec(3, "Transport tubulaire de l'urate dans le rein isole perfuse", issue="2")
    decision, scores = verdict(a, c)
    assert decision == "dup" and scores.get("citation") is True


def test_a_record_without_its_issue_does_not_chain_two_papers_into_one_group() -> None:
    t = "Tubular transport of urate in the isolated perfused kidney"
    a = rec(1, t, issue="2")
    b = rec(2, t.upper(), issue="")  # the same paper from a database that dropped the issue
    c = rec(3, "Glomerular filtration in hibernating ground squirrels", issue="5")  # same pages, issue 5
    assert judge_pair(b, c)[0] == "dup"  # cited alike under "another title", the issue unknown in one
    assert find_duplicates([a, b, c]).groups == [[1, 2]]  # ... but never in a group with the issue-2 paper
    columns = [column(10 + n, str(n)) for n in (1, 2)] + [column(20, "")]
    assert all(len(g) < 3 for g in find_duplicates(columns).groups)


# --- 3. neighbouring articles ----------------------------------------------------------------------

SEROTONIN = "Effects of serotonin on renal blood flow in the rat"
HISTAMINE = "Effects of histamine on renal blood flow in the rat"


def test_neighbouring_articles_are_not_merged() -> None:
    decision, scores = verdict(rec(1, SEROTONIN, pages="212-215"), rec(2, HISTAMINE, pages="215-219"))
    assert decision != "dup" and scores.get("pages") is None and scores.get("adjacent") is True
    # pages missing in one: the word decides, a person settles it
    decision, scores = verdict(rec(1, SEROTONIN, pages=""), rec(2, HISTAMINE, pages="215-219"))
    assert decision == "queue" and "serotonin / histamine" in scores["doubt"]
    a = rec(3, "Inhibition of viral replication by ribavirin in cultured hepatocytes", pages="")
    b = rec(4, "Inhibition of viral replication by amantadine in cultured hepatocytes", pages="")
    assert verdict(a, b)[0] == "queue"


def test_a_shared_boundary_page_is_no_agreement_but_no_conflict_either() -> None:
    # one database's range is one article off: identical titles and authors still merge
    assert verdict(rec(1, SEROTONIN, pages="945-948"), rec(2, SEROTONIN, pages="948-961"))[0] == "dup"


@pytest.mark.parametrize("a, b", [
    ("Randomised trial of haemoglobin targets in paediatric anaemia",
     "Randomized trial of hemoglobin targets in pediatric anemia"),
    (SEROTONIN, "Effects of serotnin on renal blood flow in the rat"),  # a typo
    (SEROTONIN, "Effects of serotonin on renal blood flow in rats"),  # article dropped, plural
    ("Role of TNF-\u03b1 in septic shock in mice", "Role of TNF-alpha in septic shock in mice"),
    ("Effects of <i>Ginkgo biloba</i> on memory", "Effects of Ginkgo biloba on memory"),
    ("Health care costs of tumour surgery in older adults", "Healthcare costs of tumor surgery in older adults"),
    ("Centre-based programme of behaviour therapy", "Center-based program of behavior therapy"),
])
def test_cosmetic_title_differences_still_merge(a: str, b: str) -> None:
    assert substituted_words(norm_title(a), norm_title(b)) is None
    assert verdict(rec(1, a, pages=""), rec(2, b, pages=""))[0] == "dup"


@pytest.mark.parametrize("a, b", [
    (SEROTONIN, HISTAMINE), ("Hypertension in the elderly", "Hypotension in the elderly"),
    ("Hepatitis B with ascites", "Hepatitis B without ascites"), ("Obesity in men", "Obesity in women"),
    ("Drug uptake in vitro", "Drug uptake in vivo"),
])
def test_a_substantive_word_replaced_is_found(a: str, b: str) -> None:
    assert substituted_words(norm_title(a), norm_title(b)) is not None


# --- 4. fields mangled by reference managers and spreadsheets -----------------------------------

@pytest.mark.parametrize("value, repaired", [("Sep-15", "9-15"), ("10-Dec", "10-12"), ("01-Jun", "1-6"),
                                             ("21-Aug", "21-8"), ("Jan-59", "1-59"), ("100-110", "100-110"),
                                             ("Spring-12", "Spring-12")])
def test_spreadsheet_dates_become_ranges_again(value: str, repaired: str) -> None:
    assert undate(value) == repaired


@pytest.mark.parametrize("fields, expected", [
    (("J", "12", "3", "Sep-15"), ("J", "12", "3", "9-15")),
    (("J", "12", "01-Feb", "100-110"), ("J", "12", "1-2", "100-110")),
    (("J", "12", "3", "2015"), ("J", "12", "3", "")),  # the year in the pages field
    (("J", "50", "pp S337-S338", ""), ("J", "50", "", "S337-S338")),  # pages in the issue field
    (("J", "12", "3", "no pagination"), ("J", "12", "3", "")),
    (("J", "12", "3", "var.pagings"), ("J", "12", "3", "")),
    (("J", "12", "n/a", "n/a"), ("J", "12", "", "")),
    (("Journal of Renal Physiology.12 (3) (no pagination)", "", "", ""),
     ("Journal of Renal Physiology", "12", "3", "")),
    (("Journal of Renal Physiology.12 (3) (pp 101-109)", "", "", ""), ("Journal of Renal Physiology", "12", "3",
                                                                        "101-109")),
    (("Journal of Hepatology. 50 (SUPPL. 1) (pp S337-S338), 2009.", "", "", ""),
     ("Journal of Hepatology", "50", "SUPPL. 1", "S337-S338")),
    (("J", "16 (1) (no pagination)", "143", ""), ("J", "16", "1", "143")),  # Embase's source line in the volume
    (("J", "12", "e0137960", ""), ("J", "12", "", "e0137960")),  # an article number in the issue field
    (("Proc (Bayl Univ Med Cent)", "", "", ""), ("Proc (Bayl Univ Med Cent)", "", "", "")),  # a name, not a source
])
def test_citation_repairs(fields: tuple[str, str, str, str], expected: tuple[str, str, str, str]) -> None:
    cit = repair_citation(*fields, 2015)
    assert (cit.journal, cit.volume, cit.issue, cit.pages) == expected


@pytest.mark.parametrize("value, doi", [
    ("https://doi.org/10.1000/renal.2015.100", "10.1000/renal.2015.100"),
    ("http://dx.doi.org/10.1000%2Frenal.2015.100", "10.1000/renal.2015.100"),
    ("S0140-6736(15)00001-1 [pii] 10.1000/renal.2015.100 [doi]", "10.1000/renal.2015.100"),
    ("10.1000/renal.2015.100[doi]", "10.1000/renal.2015.100"),
    ("doi: 10.1000/RENAL.2015.100.", "10.1000/renal.2015.100"),
    ("S0140-6736(15)00001-1 [pii]", ""),
])
def test_dois_as_exports_write_them(value: str, doi: str) -> None:
    assert norm_doi(value) == doi


def test_mangled_copies_merge_with_the_clean_record() -> None:
    t = "Tubular transport of urate in the isolated perfused kidney"
    clean = rec(1, t, issue="3", pages="9-15", doi="10.1000/renal.2015.9")
    for i, copy in enumerate([
        rec(2, t, issue="3", pages="Sep-15"),
        rec(3, t, issue="3", pages="2015"),
        rec(4, t, issue="pp 9-15", pages=""),
        rec(5, t, journal="Journal of Renal Physiology.12 (3) (pp 9-15)", volume="", issue="", pages=""),
        rec(6, t, issue="3", pages="no pagination", doi="https://doi.org/10.1000/RENAL.2015.9"),
        rec(7, t, issue="3", doi="S0022-0000(15)00009-1 [pii] 10.1000/renal.2015.9 [doi]", pages=""),
    ], 2):
        assert verdict(clean, copy)[0] == "dup", i
    # the repaired pages disagree with another article's: kept apart
    assert verdict(rec(8, t, issue="3", pages="Oct-19"), clean)[0] == "no"


def test_a_translated_title_in_brackets_keeps_its_words_whatever_its_first_word() -> None:
    # MEDLINE's notes ("[Review]", "[Editorial]") come after the title; a title in brackets is the title
    assert norm_title("[Editorial: early detection of autism in primary care]. [Article in German]") == \
        "editorial early detection of autism in primary care"
    assert norm_title("Early detection of autism [Review] [23 refs]") == "early detection of autism"
    assert notice("[Correction to: Early detection of autism in primary care]. [Article in German]") == \
        ("erratum", "Early detection of autism in primary care")
    a = rec(1, "[Editorial overview: stress and behaviour in rodents]. [Article in German]", doi="10.1000/x.1")
    b = rec(2, "Editorial overview: stress and behaviour in rodents", doi="10.1000/x.1")
    assert verdict(a, b)[0] == "dup"


# --- 5. related records: linked, not merged -------------------------------------------------------

ARTICLE = "Tubular transport of urate in the isolated perfused kidney of the rat"


def related(*records: DedupRecord) -> list[tuple[int, int, str]]:
    result = find_duplicates(list(records))
    assert result.groups == [], result.groups
    return sorted((lk.a, lk.b, lk.rule) for lk in result.related)


@pytest.mark.parametrize("title, relation", [
    (f"Correction to: {ARTICLE}", "erratum"), (f"Erratum: {ARTICLE}", "erratum"),
    (f"{ARTICLE} (vol 12, pg 100, 2015)", "erratum"),
    (f"Retraction notice to \"{ARTICLE}\" [J Renal Physiol 12 (2015) 100-110]", "retraction"),
    (f"Retracted: {ARTICLE}", "retraction"), (f"WITHDRAWN: {ARTICLE}", "retraction"),
    (f"Comment on: {ARTICLE}", "comment"), (f"Re: {ARTICLE}", "comment"),
    (f"Reply to: {ARTICLE}", "reply"), (f"{ARTICLE} - Author's reply", "reply"),
    (f"Reprint of: {ARTICLE}", "reprint"),
])
def test_a_notice_is_linked_to_its_article(title: str, relation: str) -> None:
    article = rec(1, ARTICLE, doi="10.1000/renal.2015.100")
    note = rec(2, title, year=2016, volume="13", issue="1", pages="5", doi="10.1000/renal.2016.5",
               authors=["Okafor, Chidi"])
    assert notice(title)[0] == relation
    assert related(article, note) == [(2, 1, relation)]


def test_a_notice_about_another_article_or_a_column_is_not_linked() -> None:
    article = rec(1, ARTICLE)
    assert related(article, rec(2, "Comment on: Glomerular filtration in hibernating ground squirrels",
                                pages="5")) == []
    assert related(rec(3, "Editorial", pages="1"), rec(4, "Correction to: Editorial", pages="9")) == []


def test_a_retraction_is_linked_wherever_the_article_appears() -> None:
    paper = rec(1, ARTICLE, doi="10.1000/renal.2015.100")
    abstract = rec(2, ARTICLE, journal="Kidney Week 2014: Abstracts", volume="25", issue="Suppl 1", pages="S45",
                   year=2014)
    notice_ = rec(3, f"Retraction: {ARTICLE}", year=2017, volume="14", pages="1", authors=[])
    links = related(paper, abstract, notice_)
    assert (3, 1, "retraction") in links and (3, 2, "retraction") in links
    assert (2, 1, "abstract") in links


def cochrane(i: int, doi: str, year: int, title: str = "Antiviral drugs for acute kidney injury in adults",
             **kw: Any) -> DedupRecord:
    fields: dict[str, Any] = {"authors": AUTHORS, "year": year, "journal": "Cochrane Database Syst Rev",
                              "volume": "", "issue": str(year % 9 + 1), "pages": "CD012345", "doi": doi}
    fields.update(kw)
    return DedupRecord(id=i, title=title, **fields)


def test_versions_of_a_review_are_updates_the_newer_first() -> None:
    v1 = cochrane(1, "10.1002/14651858.CD012345", 2010)
    v2 = cochrane(2, "10.1002/14651858.CD012345.pub2", 2014)
    v3 = cochrane(3, "10.1002/14651858.CD012345.pub3", 2019, title="Antiviral agents for acute kidney injury")
    links = related(v1, v2, v3)
    assert (2, 1, "update") in links and (3, 2, "update") in links and (3, 1, "update") in links
    # a record without its DOI is placed in the series by its CD number and ordered by its year
    bare = cochrane(4, "", 2019, journal="Cochrane Database of Systematic Reviews", issue="8")
    assert (4, 2, "update") in related(v2, bare)
    # a review is no version of another review
    other = cochrane(5, "10.1002/14651858.CD054321.pub2", 2014, pages="CD054321")
    assert related(v1, other) == []


def test_a_meeting_abstract_and_the_later_paper_are_linked() -> None:
    abstract = rec(1, ARTICLE, journal="Journal of Renal Physiology. Conference: 31st Renal Week", volume="10",
                   issue="Suppl 2", pages="S112", year=2013)
    paper = rec(2, ARTICLE + ".", journal="Kidney International", volume="88", pages="431-440", year=2014,
                authors=[*AUTHORS, "Lind, Maja"])
    assert related(abstract, paper) == [(1, 2, "abstract")]
    # two abstracts of one work at two meetings are no abstract-and-paper pair
    other_meeting = rec(3, ARTICLE, journal="European Renal Association Congress Abstracts", volume="29",
                        issue="Suppl 3", pages="iii210", year=2014)
    assert related(abstract, other_meeting) == []
    # one word changed: another study
    other = rec(4, ARTICLE.replace("rat", "mouse"), journal="Kidney International", volume="88", pages="441-450",
                year=2014)
    assert related(abstract, other) == []


def test_a_translated_article_is_linked_to_its_original() -> None:
    original = rec(1, f"[{ARTICLE}]", journal="Rossiiskii Fiziologicheskii Zhurnal", volume="101", pages="55-63",
                   year=2015, authors=["Ivanov, Petr", "Petrova, Olga"])
    english = rec(2, ARTICLE, journal="Neuroscience and Behavioral Physiology", volume="46", pages="301-309",
                  year=2016, authors=["Ivanov P", "Petrova O"])
    assert related(original, english) == [(2, 1, "translation")]


def test_related_links_use_the_fixed_vocabulary_and_never_join_groups() -> None:
    assert RELATIONS == ("erratum", "retraction", "comment", "reply", "update", "abstract", "reprint", "translation")
    a, b = rec(1, ARTICLE), rec(2, ARTICLE.upper(), journal="J Renal Physiol")
    note = rec(3, f"Erratum: {ARTICLE}", volume="13", pages="9", year=2016)
    result = find_duplicates([a, b, note])
    assert result.groups == [[1, 2]]
    assert len(result.related) == 1 and result.related[0].a == 3 and result.related[0].rule == "erratum"
    assert all(lk.rule in RELATIONS for lk in result.related)
