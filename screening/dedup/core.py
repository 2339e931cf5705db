"""Duplicate detection over plain records: identifiers, blocking, rapidfuzz scores, groups.

The rules, in the order they run (each says what it is for):

0. **Normalisation** (``_normalise``): fields as reference managers and spreadsheets mangle them
   are repaired or treated as missing first (``normalise.repair_citation``: spreadsheet dates,
   placeholders, Embase's source line, pages in the issue field; ``norm_doi``: DOIs in URLs and
   ``[pii]``/``[doi]`` lists); column titles ("Editorial") and notices ("Correction to: X") are
   recognised.
1. **Identifiers.** Records sharing a normalised DOI or PMID are candidates, not verdicts: a
   DOI can be shared by an article and its erratum/comment/reply, or be a journal/series DOI,
   so the pair must also pass the same plausibility checks as any other pair (titles agree,
   neither is an erratum of the other). Identifier matches then need less title similarity.
2. **Blocking.** Candidate pairs come only from records that share a block key: normalised
   title prefix, title suffix, first author + year, year + volume + first page, and the two
   rarest title words. Blocks larger than ``MAX_BLOCK`` are skipped (they carry no signal), so
   comparisons grow about linearly with the number of records.
3. **Measures**, once per candidate pair (``measure`` -> ``PairContext``): title similarity
   (rapidfuzz ``ratio`` on normalised titles, 0-1), author similarity (name words, the whole list's
   letters, initials: see ``_author_sim``), journal agreement (ISO 4 abbreviation aware),
   volume/issue/pages/year agreement (two ranges sharing only a boundary page neither agree nor
   conflict). The scores are the explanation stored with the pair.
4. **Vetoes** (``vetoes``, the classic false positives): an erratum/comment/reply against the
   article; a conference abstract against the full paper; both DOIs present and different (updated
   Cochrane reviews, "pub2"); different PMIDs; years more than one apart (one year is allowed: e-pub
   vs print); different first pages, volumes or issues when both are known (recurring columns,
   two papers on one page range of two issues); the same title by different authors. Each veto
   keeps its exceptions: a wrong identifier, year, page, volume or issue in one database is common,
   so an identifier or an otherwise identical record outweighs it.
5. **Confirmations** (``confirmations`` -> ``Evidence``): bibliographic evidence that the two are
   one publication: the same citation under a translated title, the identifier with every detail
   agreeing, a title contained in the other, one meeting abstract under two names of its
   proceedings, agreeing pages.
6. **Verdict** (``verdict``): a veto says "no"; a column title is decided by the identifier or the
   whole citation; then the confirmations; then the doubts a person settles (numbers in the titles
   differ, one identifier on two journals' pages, different journals); then the title thresholds:
   a near-identical title (>= 0.95) with the other evidence agreeing or missing is a duplicate; a
   similar title (>= 0.85) that the bibliographic details confirm (journal, volume, first page) is
   a duplicate too; anything in between goes to the queue. A duplicate by the thresholds whose
   titles differ in a replaced content word, without agreeing pages, goes to the queue instead.
7. **Groups.** Union-find over accepted links, strongest first; a manual split (cannot-link)
   is never crossed, even transitively, nor a pair kept apart by its issues (``KEEP_APART``); a
   manual merge (must-link) is applied first.
8. **Related records** (``related``): pairs that are not duplicates but an erratum, retraction,
   comment, reply, reprint, newer version, meeting abstract or translation of one another are
   returned as typed links (``DedupResult.related``, ``RELATIONS``), never merged.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from screening.dedup.normalise import (
    CONFERENCE_RE,
    DASHES,
    NON_ALNUM_RE,
    Citation,
    author_names,
    content_words,
    first_page,
    fold,
    generic_title,
    is_erratum,
    issue_numbers,
    journal_match,
    last_page,
    norm_doi,
    norm_journal,
    norm_number,
    norm_title,
    notice,
    publication_kind,
    repair_citation,
    roman_page,
    split_authors,
    substituted_words,
    surname,
    translated_title,
)

# --- blocking: which pairs are compared at all ----------------------------------------------------
MAX_BLOCK = 60  # a block this large is a common prefix or author, not evidence
# identifier blocks are never skipped, but one journal or series DOI shared by hundreds of records
# is cut here, so a bad identifier cannot make the comparisons quadratic
MAX_ID_BLOCK = MAX_BLOCK * 4
BLOCK_TITLE_MIN = 12  # letters a title needs before its start and end are keys ("Editorial" is no evidence)
BLOCK_AFFIX = 28  # letters of the title's start and of its end that make its prefix and suffix keys
RARE_WORD_MIN = 3  # letters a title word needs to be a rare-word key ("of", "in" are never rare)
RARE_WORDS = 2  # the title's rarest words, taken together, make one key

# --- title similarity (rapidfuzz ratio on normalised titles, 0-1) ----------------------------------
FUZZ_SCALE = 100  # rapidfuzz scores run 0-100
TITLE_IDENTICAL = 0.99  # the same title but for a typo: with the rest identical, a second DOI is a database's error
TITLE_OUTWEIGHS_AUTHORS = 0.98  # with the identifier and every detail agreeing, outweighs a garbled author list
TITLE_SURE = 0.95  # near-identical titles: duplicates unless something else disagrees
TITLE_WITH_ID = 0.90  # same DOI/PMID: subtitles and punctuation may differ; translations go to a person
TITLE_WITH_PAGES = 0.90  # pages and authors agreeing with a title this close outweigh two names of a journal
TITLE_WITH_DETAILS = 0.85  # similar titles confirmed by journal + volume + first page
TITLE_QUEUE = 0.80  # below this, never a duplicate; between this and the above, a person decides
TITLE_WITH_ID_AND_DETAILS = 0.6  # the identifier and every detail agreeing outweigh a title re-worded this far
TITLE_SERIES = 0.5  # two versions of one review (one CD number) may be retitled this far
TITLE_TRANSLATED = 0.3  # a translated title still this similar to the other is the same article cited alike
TITLE_PREFIX_MIN = 40  # characters a title needs to be the same as a longer one it starts (subtitle appended)
CONTAINED_TITLE_MIN = 15  # characters a title needs to be the other minus its subtitle (with the identifier)
SPECIFIC_TITLE_WORDS = 4  # content words a title needs before it, not its issue, identifies an article

# --- authors (0-1, see _author_sim), pages, years ----------------------------------------------------
AUTHORS_AGREE = 0.9  # the same people, whatever the database did to the names
AUTHORS_SIMILAR = 0.8  # close enough to support a similar title; also what initials agreeing author by author give
AUTHORS_DIFFERENT = 0.5  # surnames this different mean different papers with the same title
GLUED_MIN_LETTERS = 8  # letters both lists need before they are compared as one string
INITIALS_MIN_AUTHORS = 2  # one author's initials agreeing is chance
INITIALS_MIN_LETTERS = 2  # nor do single initials ("J") tell authors apart
YEARS_APART = 1  # years further apart than this are different papers (one year apart: e-pub vs print)
SHORT_RANGE_SPAN = 3  # last minus first page of a range short enough that a single page in it is the article
LAST_PAGE_MIN_DIGITS = 2  # a one-digit last page agreeing is chance, not a typo in the first page
DETAILS_CONFIRM = 2  # how many of journal, volume and pages must agree to confirm a similar title
SCORE_DIGITS = 3  # scores are stored rounded: an explanation for a person, not a measurement
# the order scores appear in an explanation; a veto reports those measured up to its own check
SCORE_ORDER = ("title", "authors", "shifted", "pages", "adjacent", "volume", "issue", "journal", "year")
LINK_STRENGTH = {"doi": 2, "pmid": 2, "fuzzy": 1}  # identifier links are accepted before fuzzy ones
# vetoes that make two records different items for their whole groups: a chain of links through a
# record that lacks the field (no issue, no DOI) never joins them
KEEP_APART = frozenset({"different issues"})
# the kinds of related (not duplicate) records a link may name: ``Link.a`` is the notice or derived
# item (the erratum, retraction, comment, reply, newer version, conference abstract, reprint,
# translation), ``Link.b`` the article it relates to
RELATIONS = ("erratum", "retraction", "comment", "reply", "update", "abstract", "reprint", "translation")


@dataclass
class DedupRecord:
    """The fields deduplication compares, as imported (normalised here, not by the caller)."""

    id: int
    title: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    journal_abbrev: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    accessions: dict[str, str] = field(default_factory=dict)
    issn: list[str] = field(default_factory=list)
    abstract: str = ""
    pub_type: str = ""
    source: str = ""
    locked: bool = False  # already screened: preferred as the kept record, never silently removed


@dataclass
class Link:
    a: int
    b: int
    rule: str  # "doi", "pmid", "fuzzy", "manual"
    scores: dict[str, Any]


@dataclass
class DedupResult:
    groups: list[list[int]]  # each of size >= 2; the kept record is in ``kept``
    kept: list[int]
    links: list[Link]
    queue: list[Link]
    comparisons: int
    params: dict[str, Any] = field(default_factory=dict)
    related: list[Link] = field(default_factory=list)  # related, not duplicates: ``rule`` is one of RELATIONS


@dataclass
class _Norm:
    title: str
    surnames: list[str]
    names: frozenset[str]
    glued: str  # the author list's letters only: "BOHLEN LDECOURTEN M" == "Bohlen L.de Courten M."
    initials: tuple[str, ...]  # per author, its name words' first letters, sorted
    numbers: tuple[str, ...]
    year: int | None
    journals: list[str]
    volume: str
    issue: str
    issue_numbers: frozenset[str]  # the issue's numbers ("3-4" -> {3, 4}); empty when unknown or a supplement
    supplement: str  # the supplement's number ("SUPPL. 51" in the issue or volume field)
    suppl_journal: bool  # MEDLINE's "J Rheumatol Suppl": the supplement number is its volume
    page: str
    last: str
    article_number: bool
    elocator: bool  # an online article number ("e0137960"): a paper's, never an abstract book's page
    doi: str
    pmid: str
    erratum: bool
    kind: str
    generic: bool  # a column title every issue carries ("Editorial", "In this issue"): no evidence of identity
    # what related-record detection reads (see ``related``)
    notice: str  # "erratum", "retraction", "comment", "reply", "reprint", "abstract" (a summary), or ""
    core: str  # the normalised title of the article a notice is about (the title itself for an article)
    meeting: bool  # a meeting abstract: a conference source, or a single page of a supplement
    series: str  # a review updated in versions: Cochrane's CD number, a DOI's stem before ".pubN", BMJ Clin Evid
    version: int  # the version in the series (".pub3" -> 3; the first version 1; 0 when unknown)
    translated: bool  # the title is marked as translated ("[...]", "[Article in Russian]", ". Russian")


CORPORATE_RE = re.compile(r"\b(?:study|group|trial|consortium|collaborat\w*|investigators|committee|society|"
                          r"association|network|working party|task force)\b", re.I)
NON_LETTER_RE = re.compile(r"[^a-z]+")
SUPPLEMENT_RE = re.compile(r"\bsup(?:p|pl|plement)?\.?\s*(\d+)", re.I)
DOUBLED_DOI_PREFIX_RE = re.compile(r"^(10\.\d{4,9}/)(?=\1)")
# "e12724", "a1754": an article number; "S189" is a supplement page, not one
ARTICLE_NUMBER_RE = re.compile(r"\s*[a-rt-z]\d{3,}", re.I)
ELOCATOR_RE = re.compile(r"^\s*e\d{4,}\s*$", re.I)
MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "anonymous", "[anonymous]", "anon"}
# a DOI with a version (Cochrane's "10.1002/14651858.CD001869.pub5"), on the letters-and-digits form
VERSIONED_DOI_RE = re.compile(r"^(10\.\S+?)\.pub(\d+)$")
COCHRANE_ID_RE = re.compile(r"cd\d{6}")
COCHRANE_DOI = "10.1002/14651858."
CLIN_EVID_RE = re.compile(r"\bclin(?:ical)? evid")


def _given(value: str) -> str:
    """Missing-value markers that exports write as text ("NA" from R, "Anonymous") count as missing."""
    v = (value or "").strip()
    return "" if v.lower() in MISSING else v


def _pages(pages: str) -> tuple[str, str]:
    """First and last page; front matter numbered in roman ("iii-iv") as "r3", "r4", so it is compared too."""
    first, last = first_page(pages), last_page(pages)
    if not first and not any(ch.isdigit() for ch in pages):
        start, _, end = pages.translate(DASHES).partition("-")
        if (lo := roman_page(start)) is not None:
            hi = roman_page(end)
            return f"r{lo}", (f"r{hi}" if hi is not None else "")
    return first, last


def _normalise(r: DedupRecord) -> _Norm:
    # a corporate author ("ASCUS-LSIL Triage Study Group") tells nothing about the personal authors
    authors = [a for a in r.authors if _given(a) and not CORPORATE_RE.search(a)]
    each = split_authors(authors)
    surnames = [s for s in (surname(a) for a in each) if s]
    # volume, issue and pages as the publication has them (spreadsheet dates, source lines, placeholders)
    cit = repair_citation(_given(r.journal), _given(r.volume), _given(r.issue), _given(r.pages), r.year)
    journals = [j for j in {norm_journal(cit.journal), norm_journal(_given(r.journal_abbrev))} if j]
    full_doi = DOUBLED_DOI_PREFIX_RE.sub("", norm_doi(r.doi))  # "10.3779/10.3779/j.issn..."
    doi = NON_ALNUM_RE.sub("", full_doi)  # "10.1210/endrevbnz002" and "10.1210/endrev/bnz002" are one DOI
    numbers, in_supplement = issue_numbers(cit.issue)
    page, last = _pages(cit.pages)
    t = norm_title(r.title)
    kind, about = notice(r.title)
    series, version = _series(full_doi, cit, journals, t)
    in_suppl = SUPPLEMENT_RE.search(f"{cit.issue} {cit.volume}")
    suppl_journal = any(j.endswith((" suppl", " supplement")) for j in journals)
    stated = publication_kind(r.pub_type)
    return _Norm(
        title=t, surnames=surnames, names=frozenset(author_names(authors)),
        glued=NON_LETTER_RE.sub("", fold(" ".join(authors))),
        initials=tuple("".join(sorted(w[0] for w in NON_LETTER_RE.split(fold(a)) if w)) for a in each),
        numbers=tuple(sorted(re.findall(r"\d+", t.replace(" ", "")))), year=r.year, journals=journals,
        volume=norm_number(cit.volume), issue=norm_number(cit.issue),
        issue_numbers=frozenset() if in_supplement else numbers,
        supplement=in_suppl.group(1).lstrip("0") if in_suppl else "", suppl_journal=suppl_journal,
        page=page, last=last,
        article_number=bool(ARTICLE_NUMBER_RE.match(cit.pages)), elocator=bool(ELOCATOR_RE.match(cit.pages)),
        doi=doi, pmid=(r.pmid or "").strip(),
        erratum=bool(kind) or is_erratum(r.title), kind=stated, generic=generic_title(t),
        notice=kind, core=norm_title(about) if kind else t,
        meeting=stated == "conference" or any(CONFERENCE_RE.search(j) for j in journals) or (
            (in_supplement or bool(in_suppl) or suppl_journal) and not (last and page and last != page)),
        series=series, version=version, translated=translated_title(r.title),
    )


def _series(doi: str, cit: Citation, journals: list[str], title: str) -> tuple[str, int]:
    """The review series a record is a version of, and its version: Cochrane's CD number (from the DOI,
    or from the pages of a record without one), a DOI's stem before ".pubN", BMJ Clinical Evidence's
    title (one topic updated every few years)."""
    if m := VERSIONED_DOI_RE.match(doi):
        cd = COCHRANE_ID_RE.search(m.group(1))
        return (cd.group(0) if cd else m.group(1)), int(m.group(2))
    if doi.startswith(COCHRANE_DOI) and (cd := COCHRANE_ID_RE.search(doi)):
        return cd.group(0), 1  # a review's first version has no ".pub" suffix
    if any("cochrane" in j for j in journals):
        for value in (cit.pages, cit.issue, cit.volume):
            if m := COCHRANE_ID_RE.fullmatch(value.strip().lower()):
                return m.group(0), 0
    if any(CLIN_EVID_RE.search(j) for j in journals) and title:
        return f"clin evid {title}", 0
    return "", 0


def _blocks(norms: list[_Norm]) -> Iterable[list[int]]:
    """Index lists sharing a key; several keys so one bad field cannot hide a duplicate."""
    df: Counter[str] = Counter()
    tokens = []
    for n in norms:
        toks = {t for t in n.title.split() if len(t) >= RARE_WORD_MIN}
        tokens.append(toks)
        df.update(toks)
    keys: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, n in enumerate(norms):
        compact = n.title.replace(" ", "")
        if len(compact) >= BLOCK_TITLE_MIN:
            keys[("tp", compact[:BLOCK_AFFIX])].append(i)
            keys[("ts", compact[-BLOCK_AFFIX:])].append(i)
        if n.surnames and n.year:
            keys[("ay", f"{n.surnames[0]}|{n.year}")].append(i)
        if n.volume and n.page:
            keys[("vp", f"{n.year or ''}|{n.volume}|{n.page}")].append(i)
            keys[("vpa", f"{n.volume}|{n.page}|{n.surnames[0] if n.surnames else ''}")].append(i)
        rare = sorted(tokens[i], key=lambda t: (df[t], t))[:RARE_WORDS]
        if len(rare) == RARE_WORDS:
            keys[("rt", "|".join(sorted(rare)))].append(i)
        if n.notice and n.core != n.title and len(core := n.core.replace(" ", "")) >= BLOCK_TITLE_MIN:
            keys[("tp", core[:BLOCK_AFFIX])].append(i)  # "Correction to: X" beside X
        if n.series:
            keys[("series", n.series)].append(i)  # the versions of one review, however retitled
        if n.doi:
            keys[("doi", n.doi)].append(i)
        if n.pmid:
            keys[("pmid", n.pmid)].append(i)
    for (kind, _), idx in keys.items():
        if len(idx) < 2:
            continue
        if len(idx) > MAX_BLOCK and kind not in ("doi", "pmid"):
            continue
        yield idx[:MAX_ID_BLOCK]


def _within(page: str, other: _Norm) -> bool:
    """A single page that ends, or lies inside, the other record's short page range ("488" vs "487-488").

    Only short ranges: a one-page abstract inside a long article's range is a conference abstract
    in a supplement, not the article ("170S" vs "155-81").
    """
    if not (page.isdigit() and other.page.isdigit() and other.last.isdigit()):
        return False
    return page == other.last or (int(other.page) <= int(page) <= int(other.last)
                                  and int(other.last) - int(other.page) <= SHORT_RANGE_SPAN)


def _prefix_sim(a: str, b: str) -> float:
    """A title that is the start of the other (a translated title or subtitle appended) counts as the same."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= TITLE_PREFIX_MIN and long_.startswith(short):
        return TITLE_SURE
    return 0.0


def _title_similarity(x: _Norm, y: _Norm, ratio: float) -> float:
    """rapidfuzz's ratio of the two titles (0-100) as 0-1, raised for a title that starts the other."""
    sim = ratio / FUZZ_SCALE
    if sim < TITLE_SURE:
        sim = max(sim, _prefix_sim(x.title, y.title))
    return sim


def _author_sim(x: _Norm, y: _Norm) -> float | None:
    """How far the author lists agree, 0-1, or None when one is missing.

    The best of three views, each robust to one way databases mangle names: the share of the
    shorter list's name words found in the other (formats and order); the letters of the whole
    list compared as one string, up to the shorter's length ("BOHLEN LDECOURTEN MWEIDMANN P" is
    "Bohlen L.de Courten M.Weidmann P." with the separators lost; a truncated list); and the
    authors' initials, author by author ("Chen J. M." is "Jin-Ming C." written given name first).
    """
    if not x.names or not y.names:
        return None
    small, big = (x.names, y.names) if len(x.names) <= len(y.names) else (y.names, x.names)
    sim = len(small & big) / len(small)
    n = min(len(x.glued), len(y.glued))
    if sim < 1 and n >= GLUED_MIN_LETTERS:
        sim = max(sim, fuzz.ratio(x.glued[:n], y.glued[:n]) / FUZZ_SCALE)
    if (sim < AUTHORS_SIMILAR and len(x.initials) >= INITIALS_MIN_AUTHORS and x.initials == y.initials
            and min(map(len, x.initials)) >= INITIALS_MIN_LETTERS):
        sim = AUTHORS_SIMILAR  # similar, never agreeing: initials alone do not name the people
    return sim


def _same_citation(x: _Norm, y: _Norm) -> bool:
    """Same year, volume and page range (several pages: one page of a supplement holds many abstracts),
    and the same issue when both have one (two papers one author published on the same pages of one
    volume's different issues are two papers)."""
    return bool(x.year and x.year == y.year and x.volume and x.volume == y.volume and x.page and x.page == y.page
                and x.last and x.last == y.last and x.last != x.page and _issues_agree(x, y) is not False)


def _meeting(x: _Norm) -> bool:
    """The record's source names a meeting (its proceedings or a journal's conference supplement)."""
    return any(CONFERENCE_RE.search(j) for j in x.journals)


def _supplement_volume(x: _Norm, y: _Norm) -> bool:
    """x is filed under the supplement's own title, its volume the supplement number of y's issue."""
    return x.suppl_journal and bool(x.volume) and x.volume in (y.supplement, y.issue)


def _shifted(x: _Norm, y: _Norm) -> bool:
    """x's fields moved one column in an export: no volume, its issue is y's volume and its first
    page y's issue ("IS 26, SP 9" for "VL 26, IS 9, SP 1746")."""
    return bool(not x.volume and x.issue and x.issue == y.volume and x.page and x.page == y.issue)


def _numbers_conflict(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Numbers in one title that the other lacks *and* vice versa ("Part 1" vs "Part 2").

    A title whose numbers are a subset of the other's lost them in an export (subscripts and
    superscripts: "Ca2+" -> "Ca", "F2t" -> "F"; "alpha1A" -> "alphaIA") or gained a part number
    ("... skeletal muscle. 1. Protection ..."): the other details decide those.
    """
    if a == b:
        return False
    ca, cb = Counter(a), Counter(b)
    return bool(ca - cb) and bool(cb - ca)


def _pages_agree(x: _Norm, y: _Norm) -> bool:
    """The first pages agree, or the last pages, or a single page lies in the other's short range.

    A typo in one end of the range is common ("2141-2147" vs "2142-2147"): either end agreeing is
    enough; "488" vs "487-488" agrees too.
    """
    return x.page == y.page or bool(x.last and x.last == y.last and len(x.last) >= LAST_PAGE_MIN_DIGITS) or (
        (not x.last and _within(x.page, y)) or (not y.last and _within(y.page, x)))


def _adjacent(x: _Norm, y: _Norm) -> bool:
    """Two page ranges that share only a boundary page ("212-215" / "215-219"): neighbouring articles, or
    one database's range one article off. Not agreement (the title has to decide), and not a conflict."""
    return bool(x.last and y.last and x.page != y.page and (x.last == y.page or y.last == x.page))


def _issues_agree(x: _Norm, y: _Norm) -> bool | None:
    """Whether the issues agree: None when either is unknown, a supplement, or a field shifted into it.

    Only plain issue numbers are compared ("3", "3-4", "No. 3"); an issue that is either record's
    article number (its single page: "IS 791" beside "SP 791") or year is a field written in the wrong
    column, not another issue.
    """
    if not x.issue_numbers or not y.issue_numbers:
        return None
    if x.issue_numbers & y.issue_numbers:
        return True
    if _shifted(x, y) or _shifted(y, x):
        return None
    # an article number (a single page) or the year written into the issue field
    numbers = {n.page for n in (x, y) if n.page and not n.last} | {str(n.year) for n in (x, y) if n.year}
    if (x.issue_numbers | y.issue_numbers) & numbers:
        return None
    return False


def _volumes_agree(x: _Norm, y: _Norm) -> bool:
    """The same volume, or one filed as its supplement's own journal.

    MEDLINE files a supplement as its own journal ("J Rheumatol Suppl", volume 51) where Embase
    has the journal's volume and "SUPPL. 51" as the issue.
    """
    return x.volume == y.volume or _supplement_volume(x, y) or _supplement_volume(y, x)


@dataclass(frozen=True)
class PairContext:
    """What is measured once per candidate pair; the three stages read it and recompute nothing."""

    title_sim: float
    author: float | None  # None when either author list is missing
    journal: bool | None  # None when either journal is missing
    same_doi: bool
    same_pmid: bool
    scores: dict[str, Any]  # the explanation stored with the pair, in SCORE_ORDER

    @property
    def same_id(self) -> bool:
        return self.same_doi or self.same_pmid

    @property
    def rule(self) -> str:
        return "doi" if self.same_doi else "pmid" if self.same_pmid else "fuzzy"

    @property
    def authors_agree(self) -> bool:
        return (self.author or 0) >= AUTHORS_AGREE

    @property
    def authors_similar(self) -> bool:
        return (self.author or 0) >= AUTHORS_SIMILAR

    @property
    def authors_allow(self) -> bool:
        """The author lists are missing or similar: they do not speak against the pair."""
        return self.author is None or self.author >= AUTHORS_SIMILAR

    @property
    def every_detail(self) -> bool:
        """The identifier, and pages, volume, journal and year all known and agreeing."""
        return self.same_id and all(self.scores.get(k) for k in ("pages", "volume", "journal", "year"))

    def scores_until(self, last: str) -> dict[str, Any]:
        """The scores up to ``last`` in SCORE_ORDER: what had been measured when a veto was checked."""
        rank = SCORE_ORDER.index(last)
        return {k: v for k, v in self.scores.items() if SCORE_ORDER.index(k) <= rank}


def measure(x: _Norm, y: _Norm, title_sim: float) -> PairContext:
    """The pair's similarities and agreements, computed once."""
    author = _author_sim(x, y)
    journal = any(journal_match(a, b) for a in x.journals for b in y.journals) if x.journals and y.journals \
        else None
    return PairContext(title_sim=title_sim, author=author, journal=journal, same_doi=bool(x.doi and x.doi == y.doi),
                       same_pmid=bool(x.pmid and x.pmid == y.pmid), scores=_scores(x, y, title_sim, author, journal))


def _scores(x: _Norm, y: _Norm, title_sim: float, author: float | None, journal: bool | None) -> dict[str, Any]:
    """The explanation: each detail present only when both records have it."""
    scores: dict[str, Any] = {"title": round(title_sim, SCORE_DIGITS),
                              "authors": None if author is None else round(author, SCORE_DIGITS)}
    if _shifted(x, y) or _shifted(y, x):
        scores["shifted"] = True  # one record's issue and page are the other's volume and issue
    elif _adjacent(x, y):
        scores["adjacent"] = True  # one ends where the other starts: neither agreement nor a conflict
    elif x.page and y.page:
        scores["pages"] = _pages_agree(x, y)
    if x.volume and y.volume:
        scores["volume"] = _volumes_agree(x, y)
    if (issues := _issues_agree(x, y)) is not None:
        scores["issue"] = issues
    if journal is not None:
        scores["journal"] = journal
    if x.year and y.year:
        scores["year"] = x.year == y.year
    return scores


def _identical(x: _Norm, y: _Norm, ctx: PairContext) -> bool:
    """Title, authors, year, first page, volume, issue and journal all agree: not a joint publication (one
    consensus report printed in two journals, each with its DOI), so a second DOI is a database's error.

    Never for a column title ("Editorial", "In this issue"): the same column by the same editor on the same
    pages of every issue of a volume is one item per issue, each with its own DOI."""
    return (ctx.title_sim >= TITLE_IDENTICAL and ctx.authors_agree and x.year == y.year and x.page == y.page
            and not (x.volume and y.volume and x.volume != y.volume) and ctx.journal is not False
            and ctx.scores.get("issue") is not False and not (x.generic or y.generic))


def _cited_alike(x: _Norm, y: _Norm, ctx: PairContext) -> bool:
    """The same journal, year, volume, page range and authors: one article, whatever its title or DOI says
    ("jc.86.11.5108" / "jcem.86.11.7983": one DOI in two forms; a series heading added to the title)."""
    return bool(_same_citation(x, y) and ctx.journal and ctx.authors_agree and not (x.generic or y.generic))


def _issue_mistyped(x: _Norm, y: _Norm, ctx: PairContext) -> bool:
    """One specific title (not a column's; several content words), by the same authors, starting on the
    same numbered page of the same volume and journal in the same year: one database's issue is wrong
    ("Curr Pharm Des 18(32):5900" / "18(36):5900"). A recurring column, or two papers on one page range
    under different titles, never passes."""
    return bool(ctx.title_sim >= TITLE_SURE and not (x.generic or y.generic) and x.page.isdigit()
                and x.page == y.page and ctx.scores.get("volume") and ctx.journal and ctx.authors_agree
                and x.year == y.year and min(content_words(x.title), content_words(y.title)) >= SPECIFIC_TITLE_WORDS)


def _one_item(x: _Norm, y: _Norm, ctx: PairContext) -> bool:
    """A reprint under its own identifier, pages and volume, and the same title once one database's
    marker is taken off ("X (Reprinted from J Clin Periodontol 40:S30)" / "X"): one item, however one
    database labels it. (An erratum or comment is never the article, whatever details it repeats.)"""
    return bool({x.notice, y.notice} <= {"reprint", ""} and ctx.same_id and ctx.scores.get("pages")
                and ctx.scores.get("volume") and fuzz.ratio(x.core, y.core) >= TITLE_SURE * FUZZ_SCALE)


def _years_apart(x: _Norm, y: _Norm) -> bool:
    return bool(x.year and y.year and abs(x.year - y.year) > YEARS_APART)


@dataclass(frozen=True)
class Veto:
    """One reason the two records are different, as the explanation words it."""

    reason: str
    measured: str  # the last score (SCORE_ORDER) measured when this check ran: the explanation stops there


def vetoes(x: _Norm, y: _Norm, ctx: PairContext) -> Iterator[Veto]:
    """Reasons the two records are certainly different, in the order they are checked; the first decides.

    Each exception says what outweighs the veto: a wrong identifier, page or volume in one database
    is common, so an identifier or an otherwise identical record overrules those details.
    """
    if (x.erratum != y.erratum or (x.notice and y.notice and x.notice != y.notice)) and not _one_item(x, y, ctx):
        yield Veto("erratum/comment/reply vs article", "title")
    if x.kind and y.kind and x.kind != y.kind:
        yield Veto("conference abstract vs full paper", "title")
    if x.doi and y.doi and x.doi != y.doi and not (_identical(x, y, ctx) or _cited_alike(x, y, ctx)):
        yield Veto("different DOIs", "authors")  # updated Cochrane reviews (".pub2"), joint publications
    if x.pmid and y.pmid and x.pmid != y.pmid:
        yield Veto("different PMIDs", "authors")
    # an identifier and the title outweigh a wrong year (an issue number or a typo in the year field)
    if _years_apart(x, y) and not (ctx.same_id and ctx.title_sim >= TITLE_SURE):
        yield Veto("years differ", "authors")
    # an article number ("e12724", "a1754") against printed pages is not a conflict
    if ctx.scores.get("pages") is False and not ctx.same_id and x.article_number == y.article_number:
        yield Veto("different first pages", "pages")
    if ctx.scores.get("volume") is False and not ctx.same_id:
        yield Veto("different volumes", "volume")
    # recurring items (the editorial of every issue) and two papers on the same pages of two issues
    if ctx.scores.get("issue") is False and not ctx.same_id and not _issue_mistyped(x, y, ctx):
        yield Veto("different issues", "issue")
    # the identifier, every detail and the title agreeing outweigh a garbled author list. (Checked
    # before the same-citation confirmation, which needs authors >= AUTHORS_AGREE: they never meet.)
    if ctx.author is not None and ctx.author < AUTHORS_DIFFERENT and not (
            ctx.every_detail and ctx.title_sim >= TITLE_OUTWEIGHS_AUTHORS):
        yield Veto("different authors", "year")


@dataclass(frozen=True)
class Evidence:
    """What ``confirmations`` found: bibliographic evidence that the two records are one publication."""

    citation: bool  # cited alike (journal, year, volume, page range, authors) under a similar-enough title
    identified: bool  # the identifier and every detail agree; the title is re-worded at most
    contained: bool  # the identifier, and a title that is the other without its subtitle or series heading
    identifier_journal_authors: bool  # the identifier, a similar title, the journal and the authors agree
    same_abstract: bool  # one meeting abstract under two names of its proceedings
    pages_confirm: bool  # pages, a close title and the authors agree (whatever the journal names say)
    volume_and_pages: bool  # volume and pages both known and agreeing
    details: int  # how many of journal, volume and pages agree


def confirmations(x: _Norm, y: _Norm, ctx: PairContext) -> Evidence:
    """Bibliographic evidence that the records are the same; only asked once no veto applies."""
    s = ctx.scores
    pages_not_against = s.get("pages") is not False  # different pages: abstracts of one supplement
    short, long_ = sorted((x.title, y.title), key=len)
    return Evidence(
        citation=_cited_alike(x, y, ctx) and ctx.title_sim >= TITLE_TRANSLATED,
        identified=ctx.every_detail and ctx.title_sim >= TITLE_WITH_ID_AND_DETAILS and ctx.authors_allow,
        contained=ctx.same_id and len(short) >= CONTAINED_TITLE_MIN and short in long_ and pages_not_against,
        identifier_journal_authors=(ctx.same_id and ctx.title_sim >= TITLE_QUEUE and bool(ctx.journal)
                                    and ctx.authors_agree and pages_not_against),
        same_abstract=_same_abstract(x, y, ctx),
        pages_confirm=bool(s.get("pages")) and ctx.title_sim >= TITLE_WITH_PAGES and ctx.authors_agree,
        volume_and_pages=bool(s.get("volume") and s.get("pages")),
        details=sum(1 for v in (ctx.journal, s.get("volume"), s.get("pages")) if v),
    )


def _same_abstract(x: _Norm, y: _Norm, ctx: PairContext) -> bool:
    """One meeting abstract under two names of its proceedings ("J Thromb Haemost. Conference" /
    "23rd Congress of the ISTH"): the same title, authors, year and volume, pages not disagreeing."""
    s = ctx.scores
    return bool(ctx.title_sim >= TITLE_IDENTICAL and ctx.authors_agree and s.get("year") and s.get("volume")
                and s.get("pages") is not False and _meeting(x) and _meeting(y))


def verdict(x: _Norm, y: _Norm, ctx: PairContext) -> tuple[str, dict[str, Any]]:
    """"dup", "queue" or "no" with its explanation: a veto decides first, then the confirmations,
    then the doubts that need a person, then the title thresholds."""
    veto = next(vetoes(x, y, ctx), None)
    if veto is not None:
        return "no", {**ctx.scores_until(veto.measured), "veto": veto.reason}
    if x.generic or y.generic:
        return _column_verdict(x, y, ctx)
    found = confirmations(x, y, ctx)
    if found.citation:  # one article under a translated or re-worded title
        return "dup", {**ctx.scores, "citation": True}
    if found.identified:
        return "dup", ctx.scores
    if _numbers_conflict(x.numbers, y.numbers) and x.title and y.title:
        return "queue", {**ctx.scores, "doubt": "numbers in the titles differ"}  # "Part 1" vs "Part 2"
    if ctx.same_id:
        return _identifier_verdict(ctx, found)
    if not x.title or not y.title:
        return "no", ctx.scores
    decision, scores = _title_verdict(x, y, ctx, found)
    if decision == "dup" and not scores.get("pages") and (words := substituted_words(x.title, y.title)):
        # "Effects of serotonin on ..." / "Effects of histamine on ...": neighbouring articles of one series
        # (agreeing pages place both at one article; without them a person decides)
        return "queue", {**scores, "doubt": f"a title word differs ({words[0]} / {words[1]})"}
    return decision, scores


def _column_verdict(x: _Norm, y: _Norm, ctx: PairContext) -> tuple[str, dict[str, Any]]:
    """A column title ("Editorial", "In this issue") says nothing about identity: the identifier decides,
    or the whole citation (volume, pages and issue, each known in both records and agreeing); an
    otherwise agreeing pair goes to a person."""
    s = ctx.scores
    if ctx.same_id:
        return _identifier_verdict(ctx, confirmations(x, y, ctx))
    doubt = {**s, "doubt": "a column title: the citation decides"}
    if ctx.title_sim < TITLE_SURE or not ctx.authors_allow or ctx.journal is False:
        return "no", s
    issues_known = s.get("issue") is True or not (x.issue or x.issue_numbers or y.issue or y.issue_numbers)
    if s.get("volume") and s.get("pages") and s.get("year") and issues_known:
        return "dup", {**s, "column": True}
    return ("queue" if ctx.authors_similar or (ctx.author is None and ctx.journal and s.get("year")) else "no"), doubt


def _identifier_verdict(ctx: PairContext, found: Evidence) -> tuple[str, dict[str, Any]]:
    """The same DOI or PMID: a similar title, or the confirmations, make it a duplicate; else a person decides."""
    if ctx.journal is False and ctx.scores.get("pages") is False:  # one DOI on two meeting abstracts
        return "queue", {**ctx.scores, "doubt": "same identifier, different journal and pages"}
    if ctx.title_sim >= TITLE_WITH_ID:
        return "dup", ctx.scores
    if found.contained:  # "Abuse potential of pregabalin" / "...: a systematic review"
        return "dup", {**ctx.scores, "contained": True}
    if found.identifier_journal_authors:  # a re-worded title in one database
        return "dup", ctx.scores
    return "queue", ctx.scores


def _title_verdict(x: _Norm, y: _Norm, ctx: PairContext, found: Evidence) -> tuple[str, dict[str, Any]]:
    """No shared identifier: the title thresholds, each needing more bibliographic agreement the lower it is."""
    if ctx.journal is False and not (found.volume_and_pages or found.pages_confirm or found.same_abstract):
        # the same abstract presented at two meetings, or a preprint and its paper: a person decides
        return ("queue" if ctx.title_sim >= TITLE_QUEUE else "no"), {**ctx.scores, "doubt": "different journals"}
    if ctx.title_sim >= TITLE_SURE:
        return ("queue" if _nothing_else_agrees(x, y, ctx, found) else "dup"), ctx.scores
    if ctx.title_sim >= TITLE_WITH_DETAILS and found.details >= DETAILS_CONFIRM and ctx.authors_allow:
        return "dup", ctx.scores
    if ctx.title_sim >= TITLE_QUEUE and ctx.authors_similar and (found.details or ctx.scores.get("year")):
        return "queue", ctx.scores
    return "no", ctx.scores


def _nothing_else_agrees(x: _Norm, y: _Norm, ctx: PairContext, found: Evidence) -> bool:
    """A near-identical title with no journal, volume or page agreeing, and either no authors and no
    shared year, or years that differ without the authors agreeing: a common title, a person decides."""
    if found.details:
        return False
    if ctx.author is None and not (x.year and x.year == y.year):
        return True
    return x.year != y.year and not ctx.authors_agree


def _judge(x: _Norm, y: _Norm, title_sim: float) -> tuple[str, str, dict[str, Any]]:
    """("dup" | "queue" | "no", rule, scores) for one candidate pair: measure, then vetoes, confirmations, verdict."""
    ctx = measure(x, y, title_sim)
    decision, scores = verdict(x, y, ctx)
    return decision, ctx.rule, scores


def judge_pair(a: DedupRecord, b: DedupRecord) -> tuple[str, str, dict[str, Any]]:
    """One pair judged exactly as ``find_duplicates`` judges it, without blocking: for tests and explanations."""
    x, y = _normalise(a), _normalise(b)
    ratio = float(cpdist([x.title], [y.title], scorer=fuzz.ratio)[0])
    return _judge(x, y, _title_similarity(x, y, ratio))


def related(x: _Norm, y: _Norm, ctx: PairContext) -> tuple[str, bool, dict[str, Any]] | None:
    """How two records that are not duplicates are related: (relation, whether x is the notice or derived
    item, its evidence), or None. Precision first: each relation needs its own evidence.

    - a notice (erratum, retraction, comment, reply, reprint, summary) whose title, without what it
      says it is, is the other record's title (``notice``);
    - a newer version of a review: one series (Cochrane CD number, DOI stem before ".pubN", BMJ
      Clinical Evidence topic), another version (``update``);
    - a meeting abstract and a later paper with a near-identical title and overlapping authors;
    - a translation: the same title and authors in another journal, one title marked as translated.
    """
    if x.notice or y.notice:
        return _notice_relation(x, y)
    if x.series and x.series == y.series:
        return _update_relation(x, y, ctx)
    if x.meeting != y.meeting:
        abstract, paper = (x, y) if x.meeting else (y, x)
        if (ctx.title_sim >= TITLE_WITH_ID and ctx.author is not None and ctx.author >= AUTHORS_DIFFERENT
                and _paper(paper) and abstract.year and paper.year
                and -YEARS_APART <= paper.year - abstract.year <= ABSTRACT_TO_PAPER_YEARS
                and not substituted_words(x.title, y.title)):  # "... prostate cancer" / "... breast cancer"
            return "abstract", abstract is x, {"title": round(ctx.title_sim, SCORE_DIGITS),
                                               "authors": round(ctx.author, SCORE_DIGITS)}
        return None
    if x.translated != y.translated and ctx.journal is False and ctx.title_sim >= TITLE_SURE and \
            ctx.authors_similar and not _years_apart(x, y):
        return "translation", y.translated, {"title": round(ctx.title_sim, SCORE_DIGITS)}
    return None


ABSTRACT_TO_PAPER_YEARS = 5  # a paper follows its meeting abstract within this many years
PAPER_MIN_SPAN = 2  # last minus first page of a paper (an abstract book's entry runs a page or two)
NOTICE_TITLE_MIN = 15  # characters the article title inside a notice needs (shorter is no evidence)


def _notice_relation(x: _Norm, y: _Norm) -> tuple[str, bool, dict[str, Any]] | None:
    """A notice about the other record: its title without the notice's words is the other's title."""
    if x.notice and y.notice:
        return None  # two notices: each is related to the article, not to each other
    n, art = (x, y) if x.notice else (y, x)
    if len(n.core) < NOTICE_TITLE_MIN or n.generic or generic_title(n.core) or art.generic:
        return None
    if n.year and art.year and art.year > n.year + YEARS_APART:
        return None  # a notice is not older than its article
    sim = float(fuzz.ratio(n.core, art.title)) / FUZZ_SCALE
    if sim < TITLE_WITH_ID and not _prefix_sim(n.core, art.title):
        return None
    return n.notice if n.notice in RELATIONS else "comment", n is x, {"title": round(sim, SCORE_DIGITS)}


def _update_relation(x: _Norm, y: _Norm, ctx: PairContext) -> tuple[str, bool, dict[str, Any]] | None:
    """Two versions of one review: the newer (higher ".pubN", else later year, else later issue) is ``a``."""
    if ctx.title_sim < TITLE_SERIES:
        return None
    for kx, ky in ((x.version, y.version), (x.year or 0, y.year or 0),
                   (max(map(int, x.issue_numbers), default=0), max(map(int, y.issue_numbers), default=0))):
        if kx and ky and kx != ky:
            return "update", kx > ky, {"title": round(ctx.title_sim, SCORE_DIGITS), "series": x.series}
    return None


def _paper(x: _Norm) -> bool:
    """A journal article, not another abstract: in a journal volume (no meeting source, no supplement),
    on a printed page range of several pages or under an article number ("e0137960")."""
    if x.meeting or x.notice or not x.volume:
        return False
    if x.page.isdigit() and x.last.isdigit():
        return int(x.last) - int(x.page) >= PAPER_MIN_SPAN
    return x.elocator


class _Groups:
    """Union-find that refuses a union crossing a cannot-link."""

    def __init__(self, ids: Iterable[int], cannot: Iterable[tuple[int, int]]) -> None:
        self.parent = {i: i for i in ids}
        self.members: dict[int, set[int]] = {i: {i} for i in self.parent}
        self.cannot: dict[int, set[int]] = defaultdict(set)
        for a, b in cannot:
            self.cannot[a].add(b)
            self.cannot[b].add(a)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ma, mb = self.members[ra], self.members[rb]
        if len(ma) > len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        if any(self.cannot.get(x, set()) & mb for x in ma):
            return False
        self.parent[ra] = rb
        mb |= ma
        del self.members[ra]
        return True


def completeness(r: DedupRecord) -> tuple[int, int, int]:
    """How complete a record is: screened first, then filled fields, then abstract length."""
    filled = sum(1 for v in (r.title, r.authors, r.year, r.journal, r.volume, r.issue, r.pages, r.doi, r.pmid,
                             r.abstract) if v)
    return (int(r.locked), filled, len(r.abstract or ""))


def find_duplicates(
    records: Sequence[DedupRecord],
    *,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    progress: Callable[[int], None] | None = None,
) -> DedupResult:
    """Groups of duplicates among ``records``, with explanations and a queue of doubtful pairs."""
    norms = [_normalise(r) for r in records]
    if progress:
        progress(20)
    pairs: set[tuple[int, int]] = set()
    for idx in _blocks(norms):
        for p in range(len(idx)):
            for q in range(p + 1, len(idx)):
                i, j = idx[p], idx[q]
                pairs.add((i, j) if i < j else (j, i))
    ordered = sorted(pairs)
    if progress:
        progress(20)
    sims: Iterable[float] = cpdist([norms[i].title for i, _ in ordered], [norms[j].title for _, j in ordered],
                  scorer=fuzz.ratio, workers=-1) if ordered else []
    if progress:
        progress(20)
    links: list[Link] = []
    queue: list[Link] = []
    candidates: list[Link] = []  # related, not duplicates
    apart: list[tuple[int, int]] = []  # certainly different items: no group may hold both
    special = [bool(n.notice or n.meeting or n.series or n.translated) for n in norms]
    for (i, j), ratio in zip(ordered, sims, strict=True):
        x, y = norms[i], norms[j]
        sim = _title_similarity(x, y, float(ratio))
        decision = "no"
        if sim >= TITLE_QUEUE or (x.doi and x.doi == y.doi) or (x.pmid and x.pmid == y.pmid) or _same_citation(x, y):
            decision, rule, scores = _judge(x, y, sim)
            if decision == "dup":
                links.append(Link(records[i].id, records[j].id, rule, scores))
            elif decision == "queue":
                queue.append(Link(records[i].id, records[j].id, rule, scores))
            elif scores.get("veto") in KEEP_APART:
                apart.append((records[i].id, records[j].id))
        elif x.page and x.page == y.page and x.volume and x.volume == y.volume and _issues_agree(x, y) is False:
            apart.append((records[i].id, records[j].id))  # two papers on one page of two issues
        if decision != "dup" and (special[i] or special[j]) and (found := related(x, y, measure(x, y, sim))):
            relation, x_first, evidence = found
            a, b = (records[i].id, records[j].id) if x_first else (records[j].id, records[i].id)
            candidates.append(Link(a, b, relation, evidence))
    if progress:
        progress(20)
    ids = [r.id for r in records]
    groups = _Groups(ids, [*cannot_link, *apart])
    accepted: list[Link] = []
    for a, b in must_link:
        if a in groups.parent and b in groups.parent and groups.union(a, b):
            accepted.append(Link(a, b, "manual", {}))
    links.sort(key=lambda lk: (-LINK_STRENGTH.get(lk.rule, 0), -lk.scores.get("title", 0), lk.a, lk.b))
    for lk in links:
        if groups.union(lk.a, lk.b):
            accepted.append(lk)
    by_id = {r.id: r for r in records}
    out_groups: list[list[int]] = []
    kept: list[int] = []
    for members in groups.members.values():
        if len(members) < 2:
            continue
        g = sorted(members)
        out_groups.append(g)
        kept.append(max(g, key=lambda i: (completeness(by_id[i]), -i)))
    same_group_queue = [q for q in queue if groups.find(q.a) != groups.find(q.b)]
    related_links: dict[tuple[int, int, str], Link] = {}
    for lk in candidates:  # one link per pair of groups and relation; none inside a group
        ra, rb = groups.find(lk.a), groups.find(lk.b)
        if ra != rb:
            related_links.setdefault((ra, rb, lk.rule), lk)
    if progress:
        progress(20)
    return DedupResult(groups=out_groups, kept=kept, links=accepted, queue=same_group_queue,
                       comparisons=len(ordered),
                       params={"max_block": MAX_BLOCK, "title_sure": TITLE_SURE,
                               "title_with_details": TITLE_WITH_DETAILS, "title_queue": TITLE_QUEUE,
                               "title_with_id": TITLE_WITH_ID},
                       related=list(related_links.values()))


__all__ = ["RELATIONS", "DedupRecord", "DedupResult", "Link", "completeness", "find_duplicates", "fold"]
