"""Identifiers vendors write in notes and accession tags, read at import so that dedup can use them.

One small made-up record per vendor pattern (what each vendor writes is in ../shared/data/ris/README.md
and was checked on the real exports there), then the rules on the real exports themselves. No real
export comes from CINAHL proper (the README's "Gaps"), so its "PMID: NLM..." note is tested on a
made-up record only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SHARED_RIS, shared_param
from screening.readers import fields, open_file
from screening.readers.types import RecordFields


def ris(*lines: str) -> RecordFields:
    """The fields of one made-up RIS record, given as "XX  - value" lines."""
    raw = [(line[:2], line[6:]) for line in lines]
    return fields.fields_from_ris([("TY", "JOUR"), ("TI", "A made-up title"), *raw])


# --- EBSCOhost CINAHL: the PMID in a note, after "NLM" ---------------------------------------------

def test_cinahl_pmid_after_nlm_in_a_note_is_the_pmid() -> None:
    f = ris("N1  - Accession Number: 109876543. Language: English. Entry Date: 20150612. Revision Date: "
            "20150710. Publication Type: Article. Journal Subset: Biomedical. PMID: NLM26012345.",
            "DB  - rzh", "DP  - EBSCOhost")
    assert f.pmid == "26012345"
    assert f.accessions == {"accession": "109876543"}


@pytest.mark.parametrize("note", ["PMID: NLM26012345", "PMID:NLM26012345;", "pmid: nlm26012345 Journal Subset: x",
                                  "Publication Type: Journal Article. PMID: 26012345."])
def test_the_pmid_note_is_read_with_or_without_nlm(note: str) -> None:
    assert ris(f"N1  - {note}", "DP  - EBSCOhost").pmid == "26012345"


@pytest.mark.parametrize("note", ["NLM UID: 101264945", "NLM26012345", "PMID: NLM", "PMID: NLMX26012345",
                                  "PMID: NLM2601234567890"])
def test_an_nlm_number_that_is_no_pmid_note_is_not_read(note: str) -> None:
    # a journal's NLM id, an NLM number without "PMID:", or digits that run on (no PMID has ten or more)
    assert ris(f"N1  - {note}", "DP  - EBSCOhost").pmid is None


def test_a_pmid_the_record_gives_in_its_own_tag_wins_over_the_note() -> None:
    # Ovid MEDLINE: ID is the PMID; a note naming another one does not replace it
    f = ris("ID  - 32487818", "DB  - Ovid MEDLINE(R)", "N1  - PMID: NLM26012345")
    assert f.pmid == "32487818"


# --- EBSCOhost APA PsycInfo: AN is APA's accession number, the PMID is in a note ---------------------

def test_ebscohost_psycinfo_an_is_the_psycinfo_accession() -> None:
    f = ris("ID  - 2020-98025-001", "AN  - 2020-98025-001",
            "N1  - Accession Number: 2020-98025-001. PMID: 33343428 Partial author list: First Author & "
            "Affiliation: Doe, Jane; Somewhere",
            "UR  - https://search.ebscohost.com/login.aspx?direct=true&db=psyh&AN=2020-98025-001&site=ehost-live",
            "DP  - EBSCOhost", "DB  - psyh")
    assert f.pmid == "33343428"
    assert f.accessions["psycinfo"] == "2020-98025-001"


def test_an_from_another_ebscohost_database_stays_a_plain_accession() -> None:
    # only APA PsycInfo's AN is known to be APA's number (no real export has AN from another EBSCO database)
    f = ris("AN  - 176404503", "DP  - EBSCOhost", "DB  - aph")
    assert f.accessions == {"accession": "176404503"}


# --- ProQuest: AN is the document id, then the indexing database's accession number -----------------

def test_proquest_an_is_the_document_id() -> None:
    f = ris("AN  - 2385861734", "UR  - https://search.proquest.com/docview/2385861734?accountid=14630",
            "DB  - ProQuest Central; Sociological Abstracts")
    assert f.accessions == {"proquest": "2385861734"}


def test_proquest_an_with_the_database_accession_after_it() -> None:
    # DB names only the indexing database here: the document id in the link says it is ProQuest's
    f = ris("AN  - 1667951314; 201502295", "UR  - https://search.proquest.com/docview/1667951314?accountid=14630",
            "DB  - Sociological Abstracts")
    assert f.accessions == {"proquest": "1667951314", "accession": "201502295"}
    assert f.pmid is None


def test_an_that_no_link_or_database_ties_to_proquest_stays_a_plain_accession() -> None:
    f = ris("AN  - 1667951314; 201502295", "UR  - https://search.proquest.com/docview/999?accountid=1",
            "DB  - Sociological Abstracts")
    assert f.accessions == {"accession": "1667951314; 201502295"}


# --- the AN rules that were there before, unchanged ---------------------------------------------------

@pytest.mark.parametrize(("lines", "pmid", "accessions"), [
    (("AN  - WOS:000409042300011",), None, {"wos": "WOS:000409042300011"}),  # Web of Science, Zotero
    (("AN  - CN-00778158", "C3  - PUBMED 38407106,EMBASE 643589775"), "38407106",
     {"cochrane": "CN-00778158", "embase": "643589775"}),  # Cochrane Library
    (("AN  - 29657938", "DP  - NLM", "ID  - 895"), "29657938", {}),  # EndNote, records from PubMed
    (("AN  - X-123",), None, {"accession": "X-123"}),  # anyone else
])
def test_the_other_an_rules(lines: tuple[str, ...], pmid: str | None, accessions: dict[str, str]) -> None:
    f = ris(*lines)
    assert (f.pmid, f.accessions) == (pmid, accessions)


# --- on the real exports ---------------------------------------------------------------------------

def records(path: Path) -> list[tuple[dict[str, list[str]], RecordFields]]:
    _, parsed = open_file(path)
    return [(fields.tag_values(r.raw), r.fields) for r in parsed]


@pytest.mark.parametrize("path", [shared_param(SHARED_RIS / "proquest/proquest.ris", id="shared/proquest")])
def test_every_real_proquest_record_has_its_document_id(path: Path) -> None:
    found = records(path)
    assert len(found) == 66
    for tags, f in found:
        document, _, indexed = tags["AN"][0].partition(";")
        assert f.accessions["proquest"] == document.strip() in fields._proquest_documents(tags)
        assert f.accessions.get("accession") == (indexed.strip() or None)
    assert sum(1 for _, f in found if "accession" in f.accessions) == 29  # "1667951314; 201502295"


@pytest.mark.parametrize("path", [shared_param(SHARED_RIS / "ebscohost_apa_psycinfo/psycinfo_64.ris",
                                               id="shared/ebscohost_apa_psycinfo")])
def test_every_real_ebscohost_psycinfo_record_has_its_accession_and_notes_pmids(path: Path) -> None:
    found = records(path)
    assert len(found) == 64
    assert all(f.accessions["psycinfo"] == tags["AN"][0] for tags, f in found)
    assert sum(1 for _, f in found if f.pmid) == 27  # "PMID: 33343428" in N1
