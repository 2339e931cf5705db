"""Normalised fields derived from a raw record, one function per format.

The raw record is never changed; these functions can be run again on stored raw tags (an
export re-imported yields the same fields). Vendors put identifiers in odd places
(``../shared/data/ris/README.md``): DOIs in ``DO``, ``L1``-``L3``, ``UR``, ``N1`` or ``M3``, often
as URLs; PMIDs in Ovid's ``ID``, Embase.com's ``C5``, Scopus's ``C2``, Cochrane's ``C3``, EndNote's
``AN`` or inside ``N1`` text (EBSCOhost's, CINAHL's with an "NLM" prefix); accession numbers in
``AN`` (Web of Science, Cochrane, ProQuest, EBSCOhost), ``U2``, ``N1`` or a URL. Each rule below says
which vendor it is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from screening.readers.types import RecordFields

DOI_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.I)
YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# EBSCOhost notes: "PMID: 33343428" (APA PsycInfo), "PMID: NLM26012345." (CINAHL writes NLM before the number)
PMID_IN_TEXT_RE = re.compile(r"\bPMID:?\s*(?:NLM)?(\d{1,9})\b", re.I)
PUBMED_IN_C3_RE = re.compile(r"PUBMED\s+(\d{1,9})", re.I)
EMBASE_IN_C3_RE = re.compile(r"EMBASE\s+(\d+)", re.I)
ACCESSION_IN_N1_RE = re.compile(r"Accession Number:\s*([\w\-.:]+)", re.I)
AN_IN_URL_RE = re.compile(r"[?&]AN=([^&\s]+)", re.I)
EID_IN_URL_RE = re.compile(r"eid=(2-s2\.0-\d+)", re.I)
OVID_MEDLINE_LINK_RE = re.compile(r"[?&]D=(med|prem|mesx|medl|pmnm)", re.I)
PROQUEST_DOCUMENT_RE = re.compile(r"proquest\.com/docview/(\d+)", re.I)
# Vendor copyright notices: kept apart from the abstract text (EBSCO appends them as a second
# AB; Elsevier and others end the abstract with them).
COPYRIGHT_VALUE_RE = re.compile(
    r"copyright|\(c\)\s*\d{4}|©|all rights reserved|is the property of .{0,200} may not be copied", re.I
)
# The trailing sentences of an abstract that are a notice ("Copyright © 2020 Elsevier Ltd. All
# rights reserved.", "This article is protected by copyright. All rights reserved."): see
# ``notice_start``, which finds them in linear time (a single regular expression for "one or more
# sentences holding a notice word, to the end" backtracks exponentially on a sentence that holds
# the word several times and is followed by one that does not).
NOTICE_WORD_RE = re.compile(r"copyright|©|\(c\)\s*\d{4}|all rights reserved", re.I)
SENTENCE_END_RE = re.compile(r"[.!?]")
SENTENCE_START_RE = re.compile(r"(?<=[.!?\]])\s")  # a sentence may begin after this space
AUTHOR_LIST_PART_RE = re.compile(r"^[^\d,]+ [A-Z]{1,4}$")  # "van der Helm JJ": surname + initials


def tag_values(raw: Iterable[tuple[str, str] | list[str]]) -> dict[str, list[str]]:
    """Every non-blank value of every tag, stripped, in order."""
    out: dict[str, list[str]] = {}
    for tag, value in raw:
        if value and (value := value.strip()):
            if tag in out:
                out[tag].append(value)
            else:
                out[tag] = [value]
    return out


def first(tags: dict[str, list[str]], *names: str) -> str | None:
    """The first value of the first of ``names`` that the record has (values are never blank)."""
    for name in names:
        if name in tags:
            return tags[name][0]
    return None


def clean_doi(text: str | None) -> str | None:
    """A bare, lower-case DOI from a value, URL or note (``https://doi.org/``, ``doi:``, ``[doi]``)."""
    if not text:
        return None
    m = DOI_RE.search(unquote(text))
    if not m:
        return None
    doi = m.group(0).rstrip(".,;)]}>'")
    # a URL query or fragment after the DOI belongs to the link, not to the DOI
    for stop in ("&", "?", "#"):
        if stop in doi:
            doi = doi.split(stop, 1)[0]
    return doi.lower()


def find_doi(tags: dict[str, list[str]], order: Iterable[str]) -> str | None:
    for tag in order:
        for v in tags.get(tag, ()):
            doi = clean_doi(v)
            if doi:
                return doi
    return None


def parse_year(*values: str | None) -> int | None:
    for v in values:
        if v:
            m = YEAR_RE.search(v)
            if m:
                return int(m.group(1))
    return None


def join_pages(start: str | None, end: str | None) -> str | None:
    start = (start or "").strip()
    end = (end or "").strip()
    if start and end and end != start and "-" not in start:
        return f"{start}-{end}"
    return start or end or None


def notice_start(text: str, pos: int = 0) -> int | None:
    """Where the notice sentences that end ``text`` begin (at ``pos`` or later), or None.

    A sentence runs to ``.``, ``!`` or ``?`` (or the end of the text); a notice sentence holds
    "copyright", "©", "(c) 2020" or "all rights reserved". The notice is the longest run of notice
    sentences reaching the end of the text (blanks may follow) that begins at the start of the text
    or after a sentence end (or closing bracket) and a space. A space after such an end, inside a
    sentence that has the word later on, may begin the run too ("[Abstract] Copyright ...").
    Linear in the text: every character is looked at a constant number of times.
    """
    words = [m.start() for m in NOTICE_WORD_RE.finditer(text, pos)]
    if not words:
        return None
    stops = [m.end() for m in SENTENCE_END_RE.finditer(text, pos)] + [len(text)]  # sentence i ends at stops[i]
    last_word = [-1] * len(stops)  # where the last notice word of each sentence begins
    i = 0
    for w in words:  # (a word holds no sentence end, so it lies within one sentence)
        while stops[i] <= w:
            i += 1
        last_word[i] = w
    # walk back from the end while sentences are notices: the text after the last sentence end may be blank
    first = len(stops) - 1
    if last_word[first] < 0 and text[stops[first - 1] if first else pos:].strip():
        return None
    while first > 0 and last_word[first - 1] >= 0:
        first -= 1
    begin = stops[first - 1] if first else pos
    # the first place in that run where a notice may begin and a notice word still follows in its sentence
    if pos == 0 and first == 0 and last_word[0] >= 0:
        return 0
    i = first
    for m in SENTENCE_START_RE.finditer(text, max(pos, begin - 1)):
        at = m.end()
        while i < len(stops) and stops[i] <= at:
            i += 1
        if i == len(stops):
            break
        if last_word[i] >= at:
            return at
    return None


def strip_trailing_note(value: str) -> str:
    """``value`` without a parenthesised note that ends it: "1234-5678 (Print)" -> "1234-5678".

    What ``re.sub(r"\\s*\\(.*?\\)\\s*$", "", value)`` did, without its quadratic backtracking on
    long runs of spaces or of opening brackets.
    """
    text = value.rstrip()
    if not text.endswith(")"):
        return value
    close = len(text) - 1
    opening = text.find("(", text.rfind("\n", 0, close) + 1, close)
    if opening < 0:
        return value
    return text[:opening].rstrip()


def split_abstract(values: list[str]) -> tuple[str | None, str | None]:
    """All abstract parts joined; vendor copyright notices returned apart.

    A short value that is only a notice (EBSCOhost's second ``AB``: "Copyright of X is the
    property of ...") goes to the notices whole; a notice at the end of an abstract is cut off.
    """
    parts: list[str] = []
    notices: list[str] = []
    for v in values:
        v = v.strip()
        if not v:
            continue
        tail = v[-700:].lower()
        if "copyright" in tail or "©" in tail or "(c)" in tail or "rights reserved" in tail or "property of" in tail:
            if len(v) < 700 and notice_start(v) == 0:
                notices.append(v)
                continue
            if len(v) < 700 and COPYRIGHT_VALUE_RE.search(v) and v.lower().startswith(("copyright", "©", "(c)")):
                notices.append(v)
                continue
            at = notice_start(v, max(0, len(v) - 700))
            if at:
                notices.append(v[at:].strip())
                v = v[:at].rstrip()
        if v and v not in parts:
            parts.append(v)
    return ("\n\n".join(parts) or None), ("\n".join(dict.fromkeys(notices)) or None)


def split_authors(values: list[str]) -> list[str]:
    """Authors one per value; Ovid's Cochrane CENTRAL puts all of them in one comma-separated A1."""
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v.count(",") < 2:  # "Smith, J." or "Smith J": one author (the common case, kept cheap)
            if v:
                out.append(v)
            continue
        parts = [p.strip() for p in v.split(",")]
        if len(parts) >= 3 and all(AUTHOR_LIST_PART_RE.match(p) for p in parts if p):
            out.extend(p for p in parts if p)
        else:
            out.append(v)
    return out


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if v and v not in seen:
            seen[v] = None
    return list(seen)


def fields_from_ris(raw: Iterable[tuple[str, str] | list[str]]) -> RecordFields:
    """Fields of a RIS record from any vendor (Ovid, EBSCOhost, Embase.com, Scopus, WoS, ...)."""
    t = tag_values(raw)
    f = RecordFields()
    f.ris_type = first(t, "TY")
    f.ris_id = first(t, "ID")
    f.title = first(t, "TI", "T1", "CT", "BT")
    f.abstract, f.copyright = split_abstract(t.get("AB", []) + t.get("N2", []))
    f.authors = split_authors(t.get("AU", []) or t.get("A1", []))
    f.year = parse_year(first(t, "PY"), first(t, "Y1"), first(t, "DA"), first(t, "Y2"))
    journal_full = first(t, "JF", "T2", "JO", "J2", "JA")
    f.journal = journal_full
    jo = first(t, "JO")
    f.journal_abbrev = first(t, "JA", "J2") or (jo if jo and jo != journal_full else None)
    f.volume = first(t, "VL")
    f.issue = first(t, "IS", "CP")
    f.pages = join_pages(first(t, "SP"), first(t, "EP")) or first(t, "C7")
    # DO first; then the vendors' link and note tags (EBSCO L3, Ovid ERIC L1, Embase L2, ...)
    f.doi = find_doi(t, ("DO", "L3", "L1", "L2", "UR", "LK", "M3", "N1"))
    f.database = "; ".join(_unique(t["DB"])) if "DB" in t else None
    f.urls = _unique(v for v in t.get("UR", []) + t.get("L1", []) + t.get("L2", []) if "://" in v)
    f.issn = _unique(strip_trailing_note(v) if "(" in v else v for v in t.get("SN", ()))
    f.language = first(t, "LA")
    f.keywords = _unique(k for v in t.get("KW", []) for k in (v.split(";") if ";" in v else [v]))
    f.pub_type = first(t, "M3", "PT") or f.ris_type
    f.pmid, f.accessions = _ris_identifiers(t, f)
    return f


def _proquest_documents(t: dict[str, list[str]]) -> set[str]:
    """The ProQuest document ids the record's links name (``UR  - https://search.proquest.com/docview/<id>``)."""
    return {m.group(1) for v in t.get("UR", ()) if (m := PROQUEST_DOCUMENT_RE.search(v))}


def _ris_identifiers(t: dict[str, list[str]], f: RecordFields) -> tuple[str | None, dict[str, str]]:
    acc: dict[str, str] = {}
    pmid: str | None = None
    links = " ".join(t.get("L2", []) + t.get("UR", []) + t.get("L1", []))
    db = (f.database or "").lower()
    ovid_id = first(t, "ID")
    an = first(t, "AN")
    # Ovid MEDLINE: ID is the PMID (the record links point at D=med.../prem/mesx segments).
    if ovid_id and ovid_id.isdigit() and (OVID_MEDLINE_LINK_RE.search(links) or "medline" in db):
        pmid = ovid_id
    # Embase.com: PMID in C5, Embase accession (L...) in U2.
    c5 = first(t, "C5")
    if not pmid and c5 and c5.strip().isdigit() and ("embase" in db or "medline" in db or first(t, "U2")):
        pmid = c5.strip()
    u2 = first(t, "U2")
    if u2 and re.fullmatch(r"L\d+", u2.strip()):
        acc["embase"] = u2.strip()
    # Scopus: PMID in C2 (EndNote's C2 is a PMCID, which starts with PMC).
    c2 = first(t, "C2")
    if not pmid and c2 and c2.strip().isdigit():
        pmid = c2.strip()
    elif c2 and c2.strip().upper().startswith("PMC"):
        acc["pmcid"] = c2.strip()
    # Cochrane Library: C3 "PUBMED 38407106,EMBASE 643589775"
    for c3 in t.get("C3", []):
        m = PUBMED_IN_C3_RE.search(c3)
        if m and not pmid:
            pmid = m.group(1)
        m = EMBASE_IN_C3_RE.search(c3)
        if m:
            acc.setdefault("embase", m.group(1))
    # EndNote (records from PubMed): AN is the PMID when the data provider is NLM.
    dp = (first(t, "DP") or "").lower()
    if not pmid and an and an.isdigit() and (dp == "nlm" or "pubmed" in dp):
        pmid = an
    # EBSCOhost and others: "PMID: 33343428" inside the notes; CINAHL's "PMID: NLM26012345".
    if not pmid:
        for v in t.get("N1", []):
            m = PMID_IN_TEXT_RE.search(v)
            if m:
                pmid = m.group(1)
                break
    # Accession numbers, named by where they come from.
    if an:
        document = an.partition(";")[0].strip()
        if an.upper().startswith("WOS:"):  # Web of Science (and Zotero's exports of its records)
            acc["wos"] = an
        elif an.upper().startswith("CN-"):  # Cochrane Library: the CENTRAL number
            acc["cochrane"] = an
        elif an == pmid:  # EndNote, records from PubMed: the PMID, read above
            pass
        elif "proquest" in db or document in _proquest_documents(t):
            # ProQuest: its document id (the UR is .../docview/<id>), then, after "; ", the accession number of
            # the database that indexed it ("1667951314; 201502295", Sociological Abstracts)
            acc["proquest"] = document
            if indexed := an.partition(";")[2].strip():
                acc["accession"] = indexed
        elif dp == "ebscohost" and "psyh" in db.split("; "):  # EBSCOhost APA PsycInfo: APA's accession number
            acc["psycinfo"] = an
        else:
            acc["accession"] = an
    if ovid_id and ovid_id != pmid:
        if ovid_id.upper().startswith("CN-"):
            acc["cochrane"] = ovid_id
        elif not (ovid_id.isdigit() and "DP" in t and dp == "nlm"):
            acc.setdefault("id", ovid_id)
    for v in t.get("N1", []):
        m = ACCESSION_IN_N1_RE.search(v)
        if m:
            acc.setdefault("accession", m.group(1).rstrip(".;"))
            break
    for v in t.get("UR", []):
        m = AN_IN_URL_RE.search(v)
        if m:
            acc.setdefault("accession", unquote(m.group(1)))
        m = EID_IN_URL_RE.search(v)
        if m:
            acc["scopus"] = m.group(1)
    return pmid, acc


def fields_from_nbib(raw: Iterable[tuple[str, str] | list[str]]) -> RecordFields:
    """Fields of a PubMed MEDLINE (.nbib) record."""
    t = tag_values(raw)
    f = RecordFields()
    f.pmid = first(t, "PMID")
    f.title = first(t, "TI", "BTI")
    f.abstract, f.copyright = split_abstract(t.get("AB", []))
    f.authors = list(t.get("AU", [])) or list(t.get("FAU", []))
    f.year = parse_year(first(t, "DP"), first(t, "DEP"), first(t, "EDAT"))
    f.journal = first(t, "JT")
    f.journal_abbrev = first(t, "TA")
    f.volume = first(t, "VI")
    f.issue = first(t, "IP")
    f.pages = first(t, "PG")
    dois = [v for v in t.get("LID", []) + t.get("AID", []) if v.rstrip().endswith("[doi]")]
    f.doi = clean_doi(dois[0]) if dois else None
    f.language = first(t, "LA")
    f.keywords = _unique(t.get("OT", []) + t.get("MH", []))
    f.pub_type = first(t, "PT")
    f.issn = _unique(strip_trailing_note(v) for v in t.get("IS", []))
    f.database = "PubMed"
    f.ris_type = "JOUR"
    pmc = first(t, "PMC")
    if pmc:
        f.accessions["pmcid"] = pmc
    return f


def fields_from_wos(raw: Iterable[tuple[str, str] | list[str]]) -> RecordFields:
    """Fields of a Web of Science plain-text record."""
    t = tag_values(raw)
    f = RecordFields()
    f.title = first(t, "TI")
    f.abstract, f.copyright = split_abstract(t.get("AB", []))
    f.authors = list(t.get("AU", [])) or list(t.get("AF", []))
    f.year = parse_year(first(t, "PY"), first(t, "EA"))
    f.journal = first(t, "SO")
    f.journal_abbrev = first(t, "JI", "J9")
    f.volume = first(t, "VL")
    f.issue = first(t, "IS")
    f.pages = join_pages(first(t, "BP"), first(t, "EP")) or first(t, "AR")
    f.doi = clean_doi(first(t, "DI"))
    f.pmid = first(t, "PM")
    ut = first(t, "UT")
    if ut:
        f.accessions["wos"] = ut
    f.language = first(t, "LA")
    f.keywords = _unique(k for v in t.get("DE", []) + t.get("ID", []) for k in v.split(";"))
    f.pub_type = first(t, "DT", "PT")
    f.issn = _unique(t.get("SN", []) + t.get("EI", []))
    f.database = "Web of Science"
    f.ris_type = "JOUR"
    return f


# Column aliases for CSV exports (Scopus, and any title/abstract spreadsheet), lower-case.
CSV_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "primary title", "ti", "document title"),
    "abstract": ("abstract", "ab", "abstract note", "summary"),
    "authors": ("authors", "author", "au", "author names"),
    "year": ("year", "publication year", "py", "pubyear", "date"),
    "journal": ("source title", "journal", "journal/book", "secondary title", "publication title", "so"),
    "journal_abbrev": ("abbreviated source title", "journal abbreviation", "ja"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "number", "is"),
    "page_start": ("page start", "sp"),
    "page_end": ("page end", "ep"),
    "pages": ("pages", "pg"),
    "doi": ("doi", "do"),
    "pmid": ("pubmed id", "pmid", "pubmed_id"),
    "keywords": ("author keywords", "keywords", "kw", "index keywords"),
    "language": ("language of original document", "language", "la"),
    "pub_type": ("document type", "publication type", "type"),
    "id": ("record_id", "id", "key"),
    "eid": ("eid",),
    "issn": ("issn",),
}


def csv_column_map(header: Iterable[str]) -> dict[str, str]:
    """Which column of this header holds which field (first alias present wins)."""
    lower = {h.strip().lower().lstrip("\ufeff"): h for h in header if h}
    out: dict[str, str] = {}
    for field_name, aliases in CSV_ALIASES.items():
        for a in aliases:
            if a in lower:
                out[field_name] = lower[a]
                break
    return out


def fields_from_csv(raw: Iterable[tuple[str, str] | list[str]], columns: dict[str, str] | None = None) -> RecordFields:
    """Fields of a CSV row (raw = (column, value) pairs)."""
    row = {k: v for k, v in raw}
    cols = columns or csv_column_map(row)

    def get(name: str) -> str | None:
        col = cols.get(name)
        v = row.get(col) if col else None
        return v.strip() if v and v.strip() else None

    f = RecordFields()
    f.title = get("title")
    f.abstract, f.copyright = split_abstract([get("abstract") or ""])
    if f.abstract and f.abstract.strip().lower() in ("[no abstract available]", "no abstract available"):
        f.abstract = None
    authors = get("authors") or ""
    sep = ";" if ";" in authors else (" and " if " and " in authors else ";")
    f.authors = [a.strip() for a in authors.split(sep) if a.strip()]
    f.year = parse_year(get("year"))
    f.journal = get("journal")
    f.journal_abbrev = get("journal_abbrev")
    f.volume = get("volume")
    f.issue = get("issue")
    f.pages = join_pages(get("page_start"), get("page_end")) or get("pages")
    f.doi = clean_doi(get("doi"))
    f.pmid = get("pmid")
    f.language = get("language")
    kws = [get("keywords") or ""]
    f.keywords = _unique(k for v in kws for k in v.split(";"))
    f.pub_type = get("pub_type")
    f.ris_id = get("id")
    eid = get("eid")
    if eid:
        f.accessions["scopus"] = eid
    issn = get("issn")
    if issn:
        f.issn = _unique(issn.split(";"))
    f.ris_type = "JOUR"
    return f
