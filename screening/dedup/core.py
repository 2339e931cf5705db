"""Duplicate detection over plain records: identifiers, blocking, rapidfuzz scores, groups.

The rules, in the order they run (each says what it is for):

1. **Identifiers.** Records sharing a normalised DOI or PMID are candidates, not verdicts: a
   DOI can be shared by an article and its erratum/comment/reply, or be a journal/series DOI,
   so the pair must also pass the same plausibility checks as any other pair (titles agree,
   neither is an erratum of the other). Identifier matches then need less title similarity.
2. **Blocking.** Candidate pairs come only from records that share a block key: normalised
   title prefix, title suffix, first author + year, year + volume + first page, and the two
   rarest title words. Blocks larger than ``MAX_BLOCK`` are skipped (they carry no signal), so
   comparisons grow about linearly with the number of records.
3. **Vetoes** (the classic false positives): an erratum/comment/reply against the article;
   a conference abstract against the full paper; both DOIs present and different (updated
   Cochrane reviews, "pub2"); years more than one apart (one year is allowed: e-pub vs print);
   different first pages or volumes when both are known; the same title by different authors.
4. **Scores.** Title similarity (rapidfuzz ``ratio`` on normalised titles, 0-1), author
   similarity (surnames, ``token_set_ratio``), journal agreement (ISO 4 abbreviation aware),
   volume/pages/year agreement. A pair is a duplicate when the title is near-identical
   (>= 0.95) and the other evidence agrees or is missing; a pair with a similar title
   (>= 0.85) that the bibliographic details confirm (journal, volume, first page) is a
   duplicate too; anything in between goes to the queue for a person.
5. **Groups.** Union-find over accepted links, strongest first; a manual split (cannot-link)
   is never crossed, even transitively; a manual merge (must-link) is applied first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from screening.dedup.normalise import (
    CONFERENCE_RE,
    NON_ALNUM_RE,
    author_names,
    first_page,
    fold,
    is_erratum,
    journal_match,
    last_page,
    norm_journal,
    norm_number,
    norm_title,
    publication_kind,
    split_authors,
    surname,
)

MAX_BLOCK = 60  # a block this large is a common prefix or author, not evidence
TITLE_SURE = 0.95  # near-identical titles: duplicates unless something else disagrees
TITLE_WITH_DETAILS = 0.85  # similar titles confirmed by journal + volume + first page
TITLE_QUEUE = 0.80  # below this, never a duplicate; between this and the above, a person decides
TITLE_WITH_ID = 0.90  # same DOI/PMID: subtitles and punctuation may differ; translations go to a person
AUTHORS_DIFFERENT = 0.5  # surnames this different mean different papers with the same title


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
    supplement: str  # the supplement's number ("SUPPL. 51" in the issue or volume field)
    suppl_journal: bool  # MEDLINE's "J Rheumatol Suppl": the supplement number is its volume
    page: str
    last: str
    article_number: bool
    doi: str
    pmid: str
    erratum: bool
    kind: str


CORPORATE_RE = re.compile(r"\b(?:study|group|trial|consortium|collaborat\w*|investigators|committee|society|"
                          r"association|network|working party|task force)\b", re.I)
NON_LETTER_RE = re.compile(r"[^a-z]+")
SUPPLEMENT_RE = re.compile(r"\bsup(?:p|pl|plement)?\.?\s*(\d+)", re.I)
DOUBLED_DOI_PREFIX_RE = re.compile(r"^(10\.\d{4,9}/)(?=\1)")
# "e12724", "a1754": an article number; "S189" is a supplement page, not one
ARTICLE_NUMBER_RE = re.compile(r"\s*[a-rt-z]\d{3,}", re.I)
MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "anonymous", "[anonymous]", "anon"}


def _given(value: str) -> str:
    """Missing-value markers that exports write as text ("NA" from R, "Anonymous") count as missing."""
    v = (value or "").strip()
    return "" if v.lower() in MISSING else v


def _normalise(r: DedupRecord) -> _Norm:
    # a corporate author ("ASCUS-LSIL Triage Study Group") tells nothing about the personal authors
    authors = [a for a in r.authors if _given(a) and not CORPORATE_RE.search(a)]
    surnames = [s for s in (surname(a) for a in split_authors(authors)) if s]
    journals = [j for j in {norm_journal(_given(r.journal)), norm_journal(_given(r.journal_abbrev))} if j]
    doi = DOUBLED_DOI_PREFIX_RE.sub("", (r.doi or "").strip().lower())  # "10.3779/10.3779/j.issn..."
    if "[pii]" in doi or not doi.startswith("10."):
        doi = ""
    doi = NON_ALNUM_RE.sub("", doi)  # "10.1210/endrevbnz002" and "10.1210/endrev/bnz002" are one DOI
    return _Norm(
        title=(t := norm_title(r.title)), surnames=surnames, names=frozenset(author_names(authors)),
        glued=NON_LETTER_RE.sub("", fold(" ".join(authors))),
        initials=tuple("".join(sorted(w[0] for w in NON_LETTER_RE.split(fold(a)) if w))
                       for a in split_authors(authors)),
        numbers=tuple(sorted(re.findall(r"\d+", t.replace(" ", "")))), year=r.year, journals=journals,
        volume=norm_number(_given(r.volume)), issue=norm_number(_given(r.issue)),
        supplement=(m.group(1).lstrip("0") if (m := SUPPLEMENT_RE.search(f"{r.issue} {r.volume}")) else ""),
        suppl_journal=any(j.endswith(" suppl") or j.endswith(" supplement") for j in journals),
        page=first_page(_given(r.pages)), last=last_page(_given(r.pages)),
        article_number=bool(ARTICLE_NUMBER_RE.match(r.pages or "")), doi=doi, pmid=(r.pmid or "").strip(),
        erratum=is_erratum(r.title), kind=publication_kind(r.pub_type),
    )


def _blocks(norms: list[_Norm]) -> Iterable[list[int]]:
    """Index lists sharing a key; several keys so one bad field cannot hide a duplicate."""
    df: Counter[str] = Counter()
    tokens = []
    for n in norms:
        toks = {t for t in n.title.split() if len(t) > 2}
        tokens.append(toks)
        df.update(toks)
    keys: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, n in enumerate(norms):
        compact = n.title.replace(" ", "")
        if len(compact) >= 12:
            keys[("tp", compact[:28])].append(i)
            keys[("ts", compact[-28:])].append(i)
        if n.surnames and n.year:
            keys[("ay", f"{n.surnames[0]}|{n.year}")].append(i)
        if n.volume and n.page:
            keys[("vp", f"{n.year or ''}|{n.volume}|{n.page}")].append(i)
            keys[("vpa", f"{n.volume}|{n.page}|{n.surnames[0] if n.surnames else ''}")].append(i)
        rare = sorted(tokens[i], key=lambda t: (df[t], t))[:2]
        if len(rare) == 2:
            keys[("rt", "|".join(sorted(rare)))].append(i)
        if n.doi:
            keys[("doi", n.doi)].append(i)
        if n.pmid:
            keys[("pmid", n.pmid)].append(i)
    for (kind, _), idx in keys.items():
        if len(idx) < 2:
            continue
        if len(idx) > MAX_BLOCK and kind not in ("doi", "pmid"):
            continue
        yield idx[: MAX_BLOCK * 4]


def _within(page: str, other: _Norm) -> bool:
    """A single page that ends, or lies inside, the other record's short page range ("488" vs "487-488").

    Only short ranges: a one-page abstract inside a long article's range is a conference abstract
    in a supplement, not the article ("170S" vs "155-81").
    """
    if not (page.isdigit() and other.page.isdigit() and other.last.isdigit()):
        return False
    return page == other.last or (int(other.page) <= int(page) <= int(other.last)
                                  and int(other.last) - int(other.page) <= 3)


def _prefix_sim(a: str, b: str) -> float:
    """A title that is the start of the other (a translated title or subtitle appended) counts as the same."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 40 and long_.startswith(short):
        return TITLE_SURE
    return 0.0


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
    if sim < 1 and n >= 8:
        sim = max(sim, fuzz.ratio(x.glued[:n], y.glued[:n]) / 100)
    if sim < 0.8 and len(x.initials) >= 2 and x.initials == y.initials and min(map(len, x.initials)) >= 2:
        sim = 0.8
    return sim


def _same_citation(x: _Norm, y: _Norm) -> bool:
    """Same year, volume and page range (several pages: one page of a supplement holds many abstracts)."""
    return bool(x.year and x.year == y.year and x.volume and x.volume == y.volume and x.page and x.page == y.page
                and x.last and x.last == y.last and x.last != x.page)


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


def _judge(x: _Norm, y: _Norm, title_sim: float) -> tuple[str, str, dict[str, Any]]:
    """("dup" | "queue" | "no", rule, scores) for one candidate pair."""
    same_doi = bool(x.doi and x.doi == y.doi)
    same_pmid = bool(x.pmid and x.pmid == y.pmid)
    rule = "doi" if same_doi else "pmid" if same_pmid else "fuzzy"
    scores: dict[str, Any] = {"title": round(title_sim, 3)}
    if x.erratum != y.erratum:
        return "no", rule, {**scores, "veto": "erratum/comment/reply vs article"}
    if x.kind and y.kind and x.kind != y.kind:
        return "no", rule, {**scores, "veto": "conference abstract vs full paper"}
    author = _author_sim(x, y)
    scores["authors"] = None if author is None else round(author, 3)
    # A wrong DOI in one database is common; an identical record otherwise still matches.
    journal = None
    if x.journals and y.journals:
        journal = any(journal_match(a, b) for a in x.journals for b in y.journals)
    # not a joint publication (one consensus report printed in two journals, each with its DOI)
    identical = (title_sim >= 0.99 and (author or 0) >= 0.9 and x.year == y.year and x.page == y.page
                 and not (x.volume and y.volume and x.volume != y.volume) and journal is not False)
    # the same journal, volume, page range and authors: one article whose DOI one database has in
    # another form ("jc.86.11.5108" / "jcem.86.11.7983"), whatever a series heading did to the title
    cited_alike = bool(_same_citation(x, y) and journal and (author or 0) >= 0.9)
    if x.doi and y.doi and x.doi != y.doi and not (identical or cited_alike):
        return "no", rule, {**scores, "veto": "different DOIs"}
    if x.pmid and y.pmid and x.pmid != y.pmid:
        return "no", rule, {**scores, "veto": "different PMIDs"}
    # an identifier and the title outweigh a wrong year (an issue number or a typo in the year field)
    if x.year and y.year and abs(x.year - y.year) > 1 and not ((same_doi or same_pmid) and title_sim >= TITLE_SURE):
        return "no", rule, {**scores, "veto": "years differ"}
    same_id = same_doi or same_pmid  # the identifier outweighs a mistyped page or volume
    if _shifted(x, y) or _shifted(y, x):
        scores["shifted"] = True  # one record's issue and page are the other's volume and issue
    elif x.page and y.page:
        # a typo in one end of the range is common ("2141-2147" vs "2142-2147"): either end agreeing is enough
        scores["pages"] = x.page == y.page or bool(x.last and x.last == y.last and len(x.last) >= 2) or (
            _within(x.page, y) or _within(y.page, x))  # "488" vs "487-488"
        # an article number ("e12724", "a1754") against printed pages is not a conflict
        if not scores["pages"] and not same_id and x.article_number == y.article_number:
            return "no", rule, {**scores, "veto": "different first pages"}
    if x.volume and y.volume:
        # MEDLINE files a supplement as its own journal ("J Rheumatol Suppl", volume 51) where
        # Embase has the journal's volume and "SUPPL. 51" as the issue
        scores["volume"] = x.volume == y.volume or _supplement_volume(x, y) or _supplement_volume(y, x)
        if not scores["volume"] and not same_id:
            return "no", rule, {**scores, "veto": "different volumes"}
    if journal is not None:
        scores["journal"] = journal
    if x.year and y.year:
        scores["year"] = x.year == y.year
    # the same identifier and every bibliographic detail agreeing outweigh a garbled author list or title
    confirmed = same_id and all(scores.get(k) for k in ("pages", "volume", "journal", "year"))
    if _same_citation(x, y) and journal and author is not None and author >= 0.9 and title_sim >= 0.3:
        # one article cited identically (journal, year, volume, page range, authors) under a translated
        # or re-worded title ("Preconditioning versus brain death..." / "Acute brain death abolishes...")
        return "dup", rule, {**scores, "citation": True}
    if author is not None and author < AUTHORS_DIFFERENT and not (confirmed and title_sim >= 0.98):
        return "no", rule, {**scores, "veto": "different authors"}
    if confirmed and title_sim >= 0.6 and (author is None or author >= 0.8):
        return "dup", rule, scores
    if _numbers_conflict(x.numbers, y.numbers) and x.title and y.title:
        return "queue", rule, {**scores, "doubt": "numbers in the titles differ"}  # "Part 1" vs "Part 2"
    if same_doi or same_pmid:
        if journal is False and scores.get("pages") is False:  # one DOI on two meeting abstracts
            return "queue", rule, {**scores, "doubt": "same identifier, different journal and pages"}
        if title_sim >= TITLE_WITH_ID:
            return "dup", rule, scores
        # the identifier, plus a title that is the other without its subtitle or series heading
        # ("Abuse potential of pregabalin" / "...: a systematic review"), or plus the journal and
        # the authors agreeing with a similar title (a re-worded title in one database)
        short, long_ = sorted((x.title, y.title), key=len)
        if len(short) >= 15 and short in long_ and scores.get("pages") is not False:
            return "dup", rule, {**scores, "contained": True}
        if title_sim >= TITLE_QUEUE and journal and (author or 0) >= 0.9 and scores.get("pages") is not False:
            return "dup", rule, scores  # (different pages: abstracts of one supplement sharing its DOI)
        return "queue", rule, scores
    if not x.title or not y.title:
        return "no", rule, scores
    details = sum(1 for v in (journal, scores.get("volume"), scores.get("pages")) if v)
    pages_confirm = bool(scores.get("pages")) and title_sim >= 0.9 and (author or 0) >= 0.9
    # one meeting abstract under two names of its proceedings ("J Thromb Haemost. Conference" /
    # "23rd Congress of the ISTH"): the same title, authors, year and volume
    same_abstract = (title_sim >= 0.99 and (author or 0) >= 0.9 and scores.get("year") and scores.get("volume")
                     and scores.get("pages") is not False and _meeting(x) and _meeting(y))
    if journal is False and not (scores.get("volume") and scores.get("pages")) and not pages_confirm \
            and not same_abstract:
        # the same abstract presented at two meetings, or a preprint and its paper: a person decides
        return ("queue" if title_sim >= TITLE_QUEUE else "no"), rule, {**scores, "doubt": "different journals"}
    if title_sim >= TITLE_SURE:
        if author is None and details == 0 and not (x.year and x.year == y.year):
            return "queue", rule, scores
        if x.year != y.year and details == 0 and (author or 0) < 0.9:
            return "queue", rule, scores
        return "dup", rule, scores
    if title_sim >= TITLE_WITH_DETAILS and details >= 2 and (author is None or author >= 0.8):
        return "dup", rule, scores
    if title_sim >= TITLE_QUEUE and (author or 0) >= 0.8 and (details >= 1 or scores.get("year")):
        return "queue", rule, scores
    return "no", rule, scores


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
    for (i, j), sim in zip(ordered, sims, strict=True):
        sim = float(sim) / 100
        if sim < TITLE_SURE:
            sim = max(sim, _prefix_sim(norms[i].title, norms[j].title))
        if sim < TITLE_QUEUE and not (norms[i].doi and norms[i].doi == norms[j].doi) and not (
                norms[i].pmid and norms[i].pmid == norms[j].pmid) and not _same_citation(norms[i], norms[j]):
            continue
        verdict, rule, scores = _judge(norms[i], norms[j], sim)
        if verdict == "dup":
            links.append(Link(records[i].id, records[j].id, rule, scores))
        elif verdict == "queue":
            queue.append(Link(records[i].id, records[j].id, rule, scores))
    if progress:
        progress(20)
    ids = [r.id for r in records]
    groups = _Groups(ids, cannot_link)
    accepted: list[Link] = []
    for a, b in must_link:
        if a in groups.parent and b in groups.parent and groups.union(a, b):
            accepted.append(Link(a, b, "manual", {}))
    strength = {"doi": 2, "pmid": 2, "fuzzy": 1}
    links.sort(key=lambda lk: (-strength.get(lk.rule, 0), -lk.scores.get("title", 0), lk.a, lk.b))
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
    if progress:
        progress(20)
    return DedupResult(groups=out_groups, kept=kept, links=accepted, queue=same_group_queue,
                       comparisons=len(ordered),
                       params={"max_block": MAX_BLOCK, "title_sure": TITLE_SURE,
                               "title_with_details": TITLE_WITH_DETAILS, "title_queue": TITLE_QUEUE,
                               "title_with_id": TITLE_WITH_ID})


__all__ = ["DedupRecord", "DedupResult", "Link", "completeness", "find_duplicates", "fold"]
