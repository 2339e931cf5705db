"""Normalisation of the fields deduplication compares.

Cosmetic differences between databases must not decide anything (CiteSource#112: the same
records deduplicate differently raw and after a round trip through EndNote), so titles,
authors, journals and pages are reduced to comparable keys here, once per record.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote

from rapidfuzz.distance import OSA

TAG_RE = re.compile(r"<[^>]+>")
# "[Chinese]", "[Article in German]", "(author's transl)": language markers vendors append
LANG_SUFFIX_RE = re.compile(
    r"[\[(](?:article in |in )?(?:chinese|german|french|spanish|japanese|russian|italian|portuguese|polish|"
    r"dutch|korean|czech|hungarian|turkish|danish|swedish|norwegian|finnish|hebrew|english abstract|"
    r"author'?s transl)[^\])]*[\])]\s*\.?\s*$",
    re.I,
)
GLUED_AUTHORS_RE = re.compile(r"(?<=\.)(?=[A-Z][a-z])")
# EMBASE appends the original-language title: "... protection. French Dysfonction endotheliale ..."
TRANSLATED_SUFFIX_RE = re.compile(
    r"[.:]\s+(?:german|french|russian|spanish|chinese|japanese|italian|polish|portuguese|dutch|czech|hungarian|"
    r"turkish|korean|danish|swedish|norwegian|finnish|croatian|serbian|slovak|romanian|greek|hebrew|persian)\b.*$",
    re.I,
)
NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "μ": "mu", "ω": "omega",
         "ε": "epsilon", "λ": "lambda", "σ": "sigma", "τ": "tau", "θ": "theta"}
JOURNAL_STOP = {"the", "of", "and", "for", "in", "on", "de", "la", "le", "des", "du", "und", "der", "fur", "a"}
ERRATUM_RE = re.compile(
    r"^\s*(?:erratum|errata|correction\b\s*(?::|to\b)|corrigendum|retraction|retracted|withdrawn\b|"
    r"expression of concern|comment on\b|commentary on\b|reply to\b|reply\s*:|in reply\b|"
    r"author'?s'? (?:reply|response)|"
    r"response to (?:the )?(?:letter|comment|commentary|editorial)|re\s*:|letter to the editor)"
    r"|[\[(](?:erratum|corrigendum|correction|retraction)[\])]|\bauthor'?s'? reply\s*$|\s-\s*reply\s*$",
    re.I,
)
ANNOTATION_RE = re.compile(
    r"\s*\[(?:erratum|errata|comment|see comment|retraction|retracted|corrected|update|published erratum|review|"
    r"\d+ refs?|editorial|letter|news|electronic resource)[^\]]*\]\.?",
    re.I,
)
# A correction notice's title ends with the citation of the article it corrects: Web of Science
# "(vol 360, pg 542, 2009)" (also without commas, "(VOL 9 E98734 2014)" for an article number), Embase
# "(New England Journal of Medicine (2009) 360 (542-544))".
CORRECTS_CITATION_RE = re.compile(
    r"\s*\((?:vol\.?\s*\w+,?\s*(?:pg\.?\s*)?\w+,?\s*\d{4}"
    r"|[^()]+\(\d{4}\)\s*\d+(?::\d+)?\s*\(\s*[a-z]?\d+[a-z]?(?:\s*-\s*[a-z]?\d+[a-z]?)?\s*\))\)\s*\.?\s*$", re.I)
CONFERENCE_RE = re.compile(r"conference|congress|meeting|symposium|proceedings|abstracts?\b|poster", re.I)
INITIALS_MAX_LETTERS = 3  # a name word this short, upper-case or dotted, is initials ("JA", "J.A."), not a surname
JOURNAL_NAME_MIN = 8  # a colon after more letters than this starts the journal's subtitle ("Heart: official...")
JOURNAL_WORDS_MATCHED = 0.75  # share of the abbreviation's words that must start words of the full title
JOURNAL_LOOSE_MIN_WORDS = 3  # only an abbreviation of this many words may leave any unmatched


def repair_mojibake(text: str) -> str:
    """UTF-8 text that was decoded as Latin-1 somewhere on its way ("FernÃ¡ndez" -> "Fernández")."""
    if "Ã" in text or "â€" in text or "Â" in text:
        try:
            return text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            try:
                return text.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return text
    return text


def fold(text: str) -> str:
    """Lower-case ASCII: accents and Greek letters spelt out, HTML entities and tags removed."""
    if not text:
        return ""
    if text.isascii() and "<" not in text and "&" not in text:
        return text.lower()  # the common case: nothing to unescape, no accents, no Greek
    text = html.unescape(TAG_RE.sub(" ", repair_mojibake(text)))
    text = "".join(GREEK.get(ch, ch) for ch in text.lower())
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def strip_annotations(title: str) -> str:
    """MEDLINE's notes appended to a title ("[Erratum in: ...]", "[see comments]") are not the title.

    A title that opens with a bracket is MEDLINE's translated title ("[Editorial: recent advances in
    ...]"): that bracket is the title, never a note, whatever its first word.
    """
    t = title or ""
    head = ""
    if t.lstrip().startswith("[") and (end := _closing_bracket(t.lstrip())) > 0:
        head, t = t.lstrip()[:end + 1], t.lstrip()[end + 1:]
    return (head + ANNOTATION_RE.sub("", t)).strip()


def _closing_bracket(text: str) -> int:
    """Where the bracket opening ``text`` closes (nested brackets counted), or -1."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if depth == 0:
            return i
    return -1


def norm_title(title: str) -> str:
    """Words only; language markers dropped; a title translated into brackets is unwrapped."""
    t = CORRECTS_CITATION_RE.sub("", strip_annotations(title))
    t = LANG_SUFFIX_RE.sub("", t)
    t = TRANSLATED_SUFFIX_RE.sub("", t)
    t = t.strip().rstrip(".").strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    return NON_ALNUM_RE.sub(" ", fold(t)).strip()


def surname(author: str) -> str:
    """The family name of "Smith, John", "Smith J", "Smith JA", "J. Smith" or "John Smith".

    Particles stay attached ("van der Helm JJ" and "van der Helm, J" both give "vanderhelm").
    """
    raw = (author or "").strip()
    a = fold(raw)
    if not a:
        return ""
    if "," in a:
        return NON_ALNUM_RE.sub("", a.split(",", 1)[0])
    parts = a.split()
    raw_parts = raw.split()
    if len(parts) == 1:
        return NON_ALNUM_RE.sub("", parts[0])
    last = raw_parts[-1]
    if _initials(last):  # "Smith JA", "Smith J."
        return NON_ALNUM_RE.sub("", "".join(parts[:-1]))
    first = raw_parts[0]
    if _initials(first):  # "J. Smith", "JA Smith"
        return NON_ALNUM_RE.sub("", "".join(parts[1:]))
    return NON_ALNUM_RE.sub("", parts[-1])


def _initials(word: str) -> bool:
    """A short word in capitals or with dots ("JA", "J.", "J.A.") is initials, not a family name."""
    return len(word.replace(".", "")) <= INITIALS_MAX_LETTERS and (word.isupper() or "." in word)


def split_authors(authors: list[str]) -> list[str]:
    """Authors as given; a single value holding several authors (";" or " and ") is split."""
    out: list[str] = []
    for a in authors:
        if len(authors) == 1 and GLUED_AUTHORS_RE.search(a):  # "Dear A. E.Liu H.Gaspari T."
            out.extend(x for x in GLUED_AUTHORS_RE.split(a) if x.strip())
        elif ";" in a:
            out.extend(x for x in a.split(";") if x.strip())
        elif " and " in a:
            out.extend(x for x in a.split(" and ") if x.strip())
        else:
            out.append(a)
    return out


PLACE_RE = re.compile(r"\s*\([^)]*\)\s*$")


def norm_journal(journal: str) -> str:
    j = fold(journal or "")
    j = j.split(":")[0] if ":" in j and len(j.split(":")[0]) > JOURNAL_NAME_MIN else j
    j = PLACE_RE.sub("", j)  # NLM's place of publication: "Clin Sci (Lond)", "Med Klin (Munich)"
    tokens = [t for t in NON_ALNUM_RE.sub(" ", j).split() if t not in JOURNAL_STOP]
    return " ".join(tokens)


def journal_match(a: str, b: str) -> bool:
    """Full title vs abbreviation: the shorter's tokens are prefixes of the longer's tokens, in order.

    "j am med assoc" matches "journal american medical association"; a quarter of the shorter's
    tokens may be unmatched ("exp biol med maywood" vs "experimental biology medicine",
    "ross fiziol zh im i m sechenova" vs "rossiiskii fiziologicheskii zhurnal imen sechenova").
    """
    if not a or not b:
        return False
    if a == b:
        return True
    ta, tb = a.split(), b.split()
    # the abbreviation is the one with the shorter words, whatever the number of words
    return _abbreviates(ta, tb) or _abbreviates(tb, ta)


def _abbreviates_word(short: str, word: str) -> bool:
    """"surg" -> "surgery", and letters dropped inside: "natl" -> "national", "physiol" -> "physiology"."""
    if word.startswith(short):
        return True
    if not short or short[0] != word[0] or len(short) > len(word):
        return False
    rest = iter(word)
    return all(ch in rest for ch in short)


def _abbreviates(ta: list[str], tb: list[str]) -> bool:
    """Is ``ta`` an abbreviation of ``tb``: each token the start of the next of ``tb``'s tokens.

    A quarter of ``ta``'s tokens may match nothing (a place, a series letter), but none of
    ``tb``'s tokens may be skipped between two matches: "j periodontol" is not "j clin periodontol".
    """
    matched, i = 0, 0
    for tok in ta:
        if i < len(tb) and _abbreviates_word(tok, tb[i]):
            matched += 1
            i += 1
    return matched >= max(1, JOURNAL_WORDS_MATCHED * len(ta)) and (
        matched == len(ta) or len(ta) >= JOURNAL_LOOSE_MIN_WORDS)


PAGE_PARTS_RE = re.compile(r"[-,;]")
# the dashes databases write in page ranges: hyphen (Cochrane's U+2010), non-breaking hyphen,
# figure dash, en and em dash, minus sign
DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})


def first_page(pages: str) -> str:
    """The first page without letters or leading zeros ("e0123" -> "123", "S12-S15" -> "12")."""
    p = PAGE_PARTS_RE.split((pages or "").strip().translate(DASHES))[0]  # "532, 534-536, 538-540" starts at 532
    digits = "".join(ch for ch in p if ch.isdigit())
    return digits.lstrip("0")


def last_page(pages: str) -> str:
    """The last page, expanded against the first ("123-30" -> "130"); "" when there is none."""
    p = (pages or "").translate(DASHES)
    p = re.split(r"[,;]", p)[-1]  # "532, 534-536, 538-540" ends at 540
    if "-" not in p:
        return ""
    start, _, end = p.partition("-")
    s = "".join(ch for ch in start if ch.isdigit()).lstrip("0")
    e = "".join(ch for ch in end if ch.isdigit()).lstrip("0")
    if e and s and len(e) < len(s):
        e = s[: len(s) - len(e)] + e
    return e


def norm_number(value: str) -> str:
    """A clean volume number, or "" when the field is not one (garbled exports: "1)", "NA")."""
    v = (value or "").strip()
    return v.lstrip("0") if v.isdigit() else ""


def is_erratum(title: str) -> bool:
    t = strip_annotations(title)
    return bool(ERRATUM_RE.search(t) or CORRECTS_CITATION_RE.search(t))


def publication_kind(pub_type: str) -> str:
    """"conference", "article" or "" (unknown) from the record's stated type.

    Only a stated type counts: a supplement issue alone is no proof (the same abstract is
    often exported once with and once without its supplement number).
    """
    if not pub_type:
        return ""
    if CONFERENCE_RE.search(pub_type):
        return "conference"
    if re.search(r"article|jour|review", pub_type, re.I):
        return "article"
    return ""


NAME_WORD_RE = re.compile(r"[A-Z][a-z]+(?:['\-][A-Za-z][a-z]+)*")


def author_names(authors: list[str]) -> set[str]:
    """The capitalised name words of an author list, however the database glued or formatted it.

    "Milner T. D.Okhovat S.Clement W. A." and "Milner Thomas D.Okhovat SalehClement William A."
    share {milner, okhovat, clement}; initials are not name words. All-capitals lists fall back to
    words of two or more letters.
    """
    text = " ".join(authors)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", repair_mojibake(text))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))  # accents off, case kept
    if text != text.upper():  # some lower-case letters: name words are the capitalised ones
        words = NAME_WORD_RE.findall(text)
    else:
        words = [w for w in NON_NAME_RE.split(text) if len(w) > 1]
    return {fold(w) for w in words if len(w) > 1}


NON_NAME_RE = re.compile(r"[^A-Za-z'\-]+")


# --- fields mangled on the way through reference managers and spreadsheets ---------------------------
# Each repair below is one documented pattern (README "Deduplication rules"); a value that none of them
# explains is left as it came, and a value that is only a placeholder counts as missing.

MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec"), 1)}
# a page or issue range a spreadsheet read as a date and wrote back as one: "Sep-15" (9-15), "10-Dec"
# (10-12), "01-Jun" (1-6), "Jan-59" (1-59); the day or two-digit year a spreadsheet writes is 1-2 digits
SPREADSHEET_DATE_RE = re.compile(r"^\s*(?:(\d{1,2})[-/ ]([a-z]{3,9})\.?|([a-z]{3,9})\.?[-/ ](\d{1,2}))\s*$", re.I)
# the values exports write where there is no pagination
PLACEHOLDER_RE = re.compile(
    r"^\s*[(\[]?\s*(?:no pagination|no page numbers?|var\.?\s*pag(?:ings?|es)|various(?: pagings?)?|unpaginated|"
    r"pagination|n\.?\s*/?\s*a\.?|na|nan|null|none|not available|-+|\?+|\.)\s*[)\]]?\s*$", re.I)
# pages written into the issue field: "pp S337-S338", "p. 12", "pages 101-109", "Article 178"
ISSUE_PAGES_RE = re.compile(r"^\s*(?:pp?\.?|pages?|article(?:\s+(?:no\.?|number))?)\s*(\S+(?:\s*-\s*\S+)?)\s*$", re.I)
# Embase's source line, in the journal or the volume field: "Journal Name.12 (3) (pp 101-109)",
# "Journal of Hepatology. 50 (SUPPL. 1) (pp S337-S338), 2009.", "16 (1) (no pagination)", "9 (no pagination)"
_SOURCE_TAIL = (r"(?P<vol>\d+[a-z]?)?\s*(?:\((?P<iss>[^()]*)\))?\s*"
                r"(?P<pag>\((?:pp\.?\s*(?P<pages>[^()]*)|no pagination)\))?")
SOURCE_IN_JOURNAL_RE = re.compile(r"^(?P<name>.*?[^\s.])\s*\.\s*" + _SOURCE_TAIL + r"\s*(?:[.,;].*)?$", re.I)
SOURCE_IN_VOLUME_RE = re.compile(r"^\s*" + _SOURCE_TAIL + r"\s*$", re.I)
YEAR_LIKE_RE = re.compile(r"^\s*(1[89]\d\d|20\d\d)\s*$")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?|spring|summer|autumn|fall|winter"
DATE_WORDS_RE = re.compile(rf"^\s*(?:{_MONTH})(?:\s*[-/]\s*(?:{_MONTH}))?\s*$", re.I)
# an issue: a number or a range of numbers, optionally after "No." / "Issue"; what follows may mark a supplement
ISSUE_RE = re.compile(r"^\s*(?:(?:no|nr|n|issue|iss|num|number|heft)\.?\s*)?(\d+)(?:\s*[-/&,+]\s*(\d+))?(.*)$", re.I)
SUPPLEMENT_MARK_RE = re.compile(r"sup|spec|special|\bs\s*\d|^\s*s\b|meeting|abstr|congress|conference", re.I)
ISSUE_RANGE_MAX = 6  # a combined issue "1-3" spans a few issues; a wider "range" is something else
DOI_IN_TEXT_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.I)
DOI_TRAILERS_RE = re.compile(r"(?:\[doi\]|\[pii\]|[.,;)\]}>'])+$", re.I)
ROMAN_RE = re.compile(r"^(?=[ivxlc])(c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def undate(value: str) -> str:
    """A range a spreadsheet turned into a date, back as a range: "Sep-15" -> "9-15", "10-Dec" -> "10-12",
    "21-Aug" -> "21-8" (MEDLINE's 21-28, which ``last_page`` expands).

    The spreadsheet keeps the order of the two numbers: a first number that can be a day stays first
    ("10-Dec", "01-Jun"); one that cannot becomes a month and year ("Sep-15", "Jan-59").
    """
    m = SPREADSHEET_DATE_RE.match(value or "")
    if not m:
        return value
    word = m.group(2) or m.group(3)
    month = MONTHS.get(word.lower()[:3])
    if month is None or (len(word) > 3 and not _month_name(word)):
        return value
    return f"{int(m.group(1))}-{month}" if m.group(1) else f"{month}-{int(m.group(4))}"


def _month_name(word: str) -> bool:
    full = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december", "sept")
    return any(f.startswith(word.lower()) for f in full)


def placeholder(value: str) -> bool:
    """"no pagination", "var.pagings", "n/a", "-": a value that says there is none."""
    return bool(PLACEHOLDER_RE.match(value or ""))


def norm_doi(value: str) -> str:
    """The DOI in a value as exports write it: bare, as a URL ("https://doi.org/10.1000/x", percent-encoded),
    after "doi:", or in a list with other identifiers ("S0140-6736(20)30001-1 [pii] 10.1016/... [doi]").
    Lower case; "" when the value holds no DOI (a publisher id alone is none)."""
    v = unquote(value or "")
    m = DOI_IN_TEXT_RE.search(v)
    if not m:
        return ""
    doi = DOI_TRAILERS_RE.sub("", m.group(0))
    for stop in ("&", "?", "#"):  # a URL query or fragment after the DOI belongs to the link
        doi = doi.split(stop, 1)[0]
    return doi.lower()


def roman_page(value: str) -> int | None:
    """A page numbered in roman numerals (a journal's front matter: "iii"), as a number; None otherwise."""
    v = (value or "").strip().lower()
    if not v or not ROMAN_RE.match(v):
        return None
    total = 0
    for ch, nxt in zip(v, v[1:] + " ", strict=True):
        value_ = ROMAN_VALUES[ch]
        total += -value_ if ROMAN_VALUES.get(nxt, 0) > value_ else value_
    return total


@dataclass
class Citation:
    """The citation fields of one record after the repairs below (strings as they came otherwise)."""

    journal: str
    volume: str
    issue: str
    pages: str
    repairs: tuple[str, ...] = ()  # which repairs applied, for the explanation and the tests


def repair_citation(journal: str, volume: str, issue: str, pages: str, year: int | None) -> Citation:
    """Volume, issue and pages as the publication has them, undoing what exports do to them.

    In order: placeholders are missing values; Embase's source line in the journal or volume field
    ("Journal Name.12 (3) (pp 101-109)", "16 (1) (no pagination)") is split into its parts, the
    issue field then holding the article number; pages written into the issue field move to the
    pages; spreadsheet dates ("Sep-15") become the ranges they were; a year in the pages field is
    no page. Each repair only fills a field that is empty or replaces the value it explains.
    """
    journal, volume, issue, pages = (journal or "").strip(), (volume or "").strip(), (issue or "").strip(), \
        (pages or "").strip()
    done: list[str] = []
    if placeholder(pages):
        pages = ""
        done.append("placeholder pages")
    if placeholder(issue):
        issue = ""
        done.append("placeholder issue")
    if placeholder(volume):
        volume = ""
    if not volume and (m := SOURCE_IN_JOURNAL_RE.match(journal)) and _source_line(m):
        journal, volume = m.group("name"), m.group("vol") or ""
        issue = issue or (m.group("iss") or "").strip()
        pages = pages or (m.group("pages") or "").strip()
        done.append("source line in journal")
    elif (m := SOURCE_IN_VOLUME_RE.match(volume)) and _source_line(m):
        old_issue = issue
        volume = m.group("vol") or ""
        if m.group("iss") is not None and not placeholder(m.group("iss")):
            issue = m.group("iss").strip()
            # the issue field held the article number ("16 (1) (no pagination)", issue "143", pages "143")
            if old_issue and old_issue != issue and not pages:
                pages = old_issue
        pages = pages or (m.group("pages") or "").strip()
        done.append("source line in volume")
    if (m := ISSUE_PAGES_RE.match(issue)) and not ISSUE_RE.match(issue):
        pages, issue = pages or m.group(1), ""
        done.append("pages in issue")
    elif ARTICLE_NUMBER_FIELD_RE.match(issue):  # "e0168396", "CD001869": an article number, not an issue
        pages, issue = pages or issue, ""
        done.append("article number in issue")
    if (undone := undate(pages)) != pages:
        pages = undone
        done.append("spreadsheet date in pages")
    if (undone := undate(issue)) != issue:
        issue = undone
        done.append("spreadsheet date in issue")
    if (m := YEAR_LIKE_RE.match(pages)) and (year is None or abs(int(m.group(1)) - year) <= 1):
        pages = ""
        done.append("year in pages")
    elif DATE_WORDS_RE.match(pages):  # "Jan-Feb", "Spring": the issue's date, not its pages
        pages = ""
        done.append("date in pages")
    return Citation(journal, volume, issue, pages, tuple(done))


ARTICLE_NUMBER_FIELD_RE = re.compile(r"^\s*(?:e|cd|ar)\d{3,}\s*$", re.I)


def _source_line(m: re.Match[str]) -> bool:
    """A source line's tail: a volume with an issue or pagination after it ("12 (3)", "9 (no pagination)"),
    or no volume but a numbered issue and the pagination ("(4) (no pagination)"), never a bracketed name."""
    iss = m.group("iss")
    if m.group("vol"):
        return iss is not None or bool(m.group("pag"))
    return bool(iss and any(ch.isdigit() for ch in iss) and m.group("pag"))


def issue_numbers(issue: str) -> tuple[frozenset[str], bool]:
    """The issue's numbers ("3" -> {3}, combined "3-4" -> {3, 4}) and whether it is a supplement.

    A supplement ("5 Suppl 2", "SUPPL. 1", "S3"), a month ("MAY") or anything that does not start
    with a number gives no numbers: two issues are compared only when both are plain numbers.
    """
    v = (issue or "").strip()
    if not v:
        return frozenset(), False
    if SUPPLEMENT_MARK_RE.search(v):
        return frozenset(), True
    m = ISSUE_RE.match(v)
    if not m:
        return frozenset(), False
    lo, hi = int(m.group(1)), int(m.group(2)) if m.group(2) else int(m.group(1))
    if hi < lo or hi - lo > ISSUE_RANGE_MAX:
        nums = {lo, hi}
    else:
        nums = set(range(lo, hi + 1))
    nums |= {int(n) for n in re.findall(r"\d+", m.group(3) or "")}  # "12 Pt 2": issue 12, part 2
    return frozenset(str(n) for n in nums), False


# --- titles that are no evidence, and titles that differ in a word that matters -----------------------

# the columns journals publish in issue after issue under one title (matched on the normalised title)
GENERIC_TITLE_RE = re.compile(
    r"^(?:the )?(?:"
    r"(?:guest |invited |special issue |issue |opening )?editorials?(?: (?:notes?|comments?|introduction|overview))?"
    r"|editor s (?:comments?|notes?|introduction|preface|corner|page|choice|message|column|remarks|letter)"
    r"|editors? (?:comments?|notes?|introduction|preface|corner|page|choice|message|column|remarks|letter)"
    r"|(?:a )?(?:letter|message|note|notes|words?|greetings?) from the (?:editors?|editor in chief|president|chair)"
    r"|from the (?:editors?|editor s desk|editor in chief|editorial board|president|chair)"
    r"|president s (?:message|column|page|letter|corner)|chair s (?:message|column|letter)"
    r"|(?:what s )?in this issue|this issue|inside this issue|in brief|in the news|news(?: and views)?"
    r"|book reviews?|books? received|reviews? of books|book notes|new books"
    r"|corrections?|errat(?:um|a)|corrigend(?:um|a)|retraction|expression of concern|notice of retraction"
    r"|(?:author |subject |cumulative |annual )?index(?: to volume)?|(?:table of )?contents|issue information"
    r"|masthead|front matter|back matter|(?:front |back |about the )?cover|preface|foreword|introduction"
    r"|announcements?|acknowledge?ments?|(?:thank you to (?:our )?|list of |acknowledge?ment (?:of|to) )?"
    r"(?:reviewers?|referees?)(?: \d{4})?|reviewer acknowledge?ments?|obituary|obituaries|calendar(?: of events)?"
    r"|letters?(?: to the editor)?|correspondence|abstracts?|commentary|highlights|erratum notice|errata notice"
    r"|upcoming events|meeting report|conference report|call for papers|information for authors"
    r"|instructions (?:to|for) authors|guidelines for authors"
    r")(?: \d{1,3})?$")


def generic_title(title: str) -> bool:
    """A column title ("Editorial", "Editor's Comments", "In this issue", "Book reviews") on a normalised title."""
    return bool(GENERIC_TITLE_RE.match(title))


# words whose replacement by another never makes another paper
FUNCTION_WORDS = frozenset(
    "a an the of in on at to for and or by from as into onto via vs versus its their his her is are was were be "
    "been this these that those using use".split())
ROMAN_WORD_RE = re.compile(r"^(?:i{1,3}|iv|v|vi{1,3}|ix|x)$")
IRREGULAR = {"mice": "mouse", "women": "woman", "men": "man", "children": "child", "feet": "foot", "teeth": "tooth",
             "analyses": "analysis", "diagnoses": "diagnosis", "data": "datum", "criteria": "criterion",
             "phenomena": "phenomenon", "bacteria": "bacterium", "vertebrae": "vertebra"}
# British spellings and their American forms, as regular expressions on one word
SPELLING = [(re.compile(p), r) for p, r in (
    (r"ae", "e"), (r"oe", "e"), (r"our(?=s?$|ed$|ing$|ite)", "or"), (r"is(?=e$|es$|ed$|er$|ers$|ing$|ation)", "iz"),
    (r"ys(?=e$|es$|ed$|ing$)", "yz"), (r"([^aeiou])re(s?)$", r"\1er\2"), (r"ogue(s?)$", r"og\1"),
    (r"ll(?=ed$|ing$|er$|ers$)", "l"), (r"ph", "f"), (r"amme(s?)$", r"am\1"), (r"ence$", "ense"))]
GLUED_WORDS = 4  # up to this many words of one title may be written as one in the other ("bitereffectongut")
TYPO_MIN_LETTERS = 5  # one letter wrong, missing or swapped in a word this long is a typo, not another word


def _word_key(w: str) -> str:
    """One spelling of a word: irregular and regular plurals to the singular, British to American."""
    if w in IRREGULAR:
        return IRREGULAR[w]
    for pattern, repl in SPELLING:
        w = pattern.sub(repl, w)
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("es") and (w[-3:-2] in ("s", "x", "z") or w[-4:-2] in ("ch", "sh")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    return w


def _content(w: str) -> bool:
    """A word that names something: not a function word, a number, a single letter or a roman numeral."""
    return len(w) > 1 and w not in FUNCTION_WORDS and not w.isdigit() and not ROMAN_WORD_RE.match(w)


def content_words(title: str) -> int:
    """How many content words a normalised title has ("Editorial" 1; a research article's title many)."""
    return sum(1 for w in title.split() if _content(w))


def _variant(u: str, v: str) -> bool:
    """Two spellings of one word: the same key, a typo (one edit in a long word), or an abbreviation ("natl")."""
    if _word_key(u) == _word_key(v):
        return True
    if min(len(u), len(v)) >= TYPO_MIN_LETTERS and OSA.distance(u, v) <= 1:
        return True
    short, long_ = sorted((u, v), key=len)
    if len(short) <= 4 and short[0] == long_[0] and not long_.startswith(short):  # "vs" versus, "natl" national
        rest = iter(long_)
        return all(ch in rest for ch in short)
    return False


def _unglue(only_a: list[str], only_b: list[str], wa: list[str], wb: list[str]) -> tuple[list[str], list[str]]:
    """Drop the words one title writes together and the other apart ("healthcare" / "health care")."""
    drop_a: set[str] = set()
    drop_b: set[str] = set()
    for words, only_other, drop_self, drop_other in ((wa, only_b, drop_a, drop_b), (wb, only_a, drop_b, drop_a)):
        for n in range(2, GLUED_WORDS + 1):
            for i in range(len(words) - n + 1):
                if (glued := "".join(words[i:i + n])) in only_other:
                    drop_other.add(glued)
                    drop_self.update(words[i:i + n])
    return [w for w in only_a if w not in drop_a], [w for w in only_b if w not in drop_b]


def substituted_words(a: str, b: str) -> tuple[str, str] | None:
    """A content word of one normalised title replaced by another word in the other ("serotonin" /
    "histamine"), or None when the titles differ only in spelling (British/American, typos, plurals),
    spacing ("healthcare"), function words, numbers, or in words one of them adds or drops."""
    if a == b:
        return None
    wa, wb = a.split(), b.split()
    ca, cb = Counter(wa), Counter(wb)  # as multisets: "system ... system" / "better ... system" differ
    only_a = [w for w in (ca - cb) if _content(w)]
    only_b = [w for w in (cb - ca) if _content(w)]
    if not only_a or not only_b:
        return None
    only_a, only_b = _unglue(only_a, only_b, wa, wb)
    rest_b = list(only_b)
    left = []
    for u in only_a:
        match = next((v for v in rest_b if _variant(u, v)), None)
        if match is None:
            left.append(u)
        else:
            rest_b.remove(match)
    if left and rest_b:
        return left[0], rest_b[0]
    return None


# --- notices about another article: what they are and which article they are about ------------------

# a title that announces what the record is, followed by the title of the article it is about
_NOTICE_PREFIXES = (
    ("retraction", r"retraction(?:\s+(?:notice|note|statement))?(?:\s+(?:to|of|for))?"
                   r"|notice of retraction(?:\s+(?:to|of|for))?|retracted(?:\s+article)?|withdrawn"),
    ("erratum", r"errat(?:um|a)(?:\s+(?:to|in|for|on))?|corrigend(?:um|a)(?:\s+(?:to|for|on))?"
                r"|correction(?:\s+notice)?(?:\s+(?:to|for|of))?(?=\s*[:\"'\u2018\u201c]|\s+to\b|\s+for\b)"
                r"|notice of correction|published erratum"),
    ("reply", r"(?:(?:in\s+)?reply|authors?'?\s*(?:reply|response)|author'?s\s+(?:reply|response))"
              r"(?:\s+to(?:\s+(?:the\s+)?(?:comments?|commentary|letters?|editorial|correspondence)"
              r"(?:\s+(?:on|by|to|regarding))?)?)?"
              r"|response to (?:the )?(?:letter|comment|commentary|editorial|correspondence|critique)s?"
              r"(?:\s+(?:on|by|to))?"),
    ("comment", r"comments?\s+on|commentary\s+on|comment|commentary(?=\s*:)|re(?=\s*:)"
                r"|letter to the editor(?:\s+(?:on|re))?|letter(?:\s+(?:on|re|regarding))"),
    ("reprint", r"reprint(?:ed)?(?:\s+(?:of|from))?"),
    ("abstract", r"summary of"),
)
NOTICE_PREFIX_RE = re.compile(
    r"^\s*[\[(]?\s*(?:" + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _NOTICE_PREFIXES) +
    r")\s*[\])]?\s*(?:[:.\-\u2013\u2014]+|(?=[\"'\u2018\u201c]))\s*", re.I)
NOTICE_SUFFIX_RE = re.compile(
    r"\s*[.:;,\-\u2013]+\s*(?:(?P<erratum>errat(?:um|a)|correction|corrigendum)"
    r"|(?P<reply>(?:a |the )?(?:authors?'?s?'? )?reply)"
    r"|(?P<retraction>retraction|retracted(?: article)?))\s*\.?\s*$", re.I)
# a notice's title may name its kind in brackets at the end ("(WITHDRAWN PAPER. 1996 ART. NO. CD000153)")
NOTICE_BRACKET_RE = re.compile(r"\s*[\[(](?:(?P<retraction>withdrawn|retracted)"
                               r"|(?P<reprint>reprint(?:ed)?\s+(?:from|of)))\b[^\])]*[\])]\s*\.?\s*$", re.I)
# the citation of the retracted or corrected article that ends a notice ('... [Journal 12 (2009) 100-110]')
TRAILING_CITATION_RE = re.compile(r"\s*[\[(][^\[\]()]*\(?(?:19|20)\d\d\)?[^\[\]()]*[\])]\s*\.?\s*$")
QUOTES = "\"'\u2018\u2019\u201c\u201d"


def notice(title: str) -> tuple[str, str]:
    """What a notice title says it is and the title of the article it is about:
    ("erratum" | "retraction" | "comment" | "reply" | "reprint" | "abstract", article title), or ("", title).

    "Correction to: X", "Erratum: X", "Retraction notice to 'X' [J 12 (2009) 100]", "RETRACTED: X",
    "WITHDRAWN: X", "Comment on: X", "Re: X", "Reply to: X", "X - Author's reply", "Reprint of: X",
    "Summary of: X", and X ending with the citation of the article it corrects ("(vol 27, pg 305, 2017)").
    """
    t = LANG_SUFFIX_RE.sub("", strip_annotations(title)).strip().rstrip(".").strip()
    if t.startswith("[") and t.endswith("]"):  # a translated title: what it says is inside the brackets
        t = t[1:-1].strip()
    if CORRECTS_CITATION_RE.search(t):
        return "erratum", CORRECTS_CITATION_RE.sub("", t)
    kind = ""
    for _ in range(2):  # "Reply to comment on: X" is a reply about X
        m = NOTICE_PREFIX_RE.match(t)
        if not m or not m.lastgroup or len(t) - m.end() < NOTICE_CORE_MIN:
            break
        kind = kind or m.lastgroup
        t = t[m.end():]
    for pattern in (NOTICE_SUFFIX_RE, NOTICE_BRACKET_RE):  # "X. A reply": the end says what it is
        if (m := pattern.search(t)) and m.lastgroup and m.start() >= NOTICE_CORE_MIN:
            kind, t = m.lastgroup, t[:m.start()]
            break
    if not kind:
        return "", title
    t = TRAILING_CITATION_RE.sub("", t).strip().strip(QUOTES).strip()
    return kind, t


NOTICE_CORE_MIN = 10  # characters of an article title a notice must still hold to be about one


def translated_title(title: str) -> bool:
    """A title the database marks as translated from the article's language: in brackets ("[...]"), or
    followed by a language note ("[Article in Russian]", "(author's transl)", Embase's ". Russian")."""
    t = strip_annotations(title).strip().rstrip(".").strip()
    return bool((t.startswith("[") and t.endswith("]")) or LANG_SUFFIX_RE.search(t) or LANGUAGE_NOTE_RE.search(t))


LANGUAGE_NOTE_RE = re.compile(r"[.:]\s+(?:german|french|russian|spanish|chinese|japanese|italian|polish|portuguese|"
                              r"dutch|czech|hungarian|turkish|korean|danish|swedish|norwegian|finnish|croatian|serbian|"
                              r"slovak|romanian|greek|hebrew|persian)\s*$", re.I)
