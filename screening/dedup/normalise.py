r"""Normalisation of the fields deduplication compares.

Cosmetic differences between databases must not decide anything (CiteSource#112: the same
records deduplicate differently raw and after a round trip through EndNote), so titles,
authors, journals and pages are reduced to comparable keys here, once per record.

Every regular expression here runs in linear time on any text (tests/test_dedup_linear.py): a
pattern anchored at the end of a value is not searched from every start (each start scanning to the
end is quadratic), but the end is found first with string methods and the pattern matched at the few
places it can begin; blanks around optional parts are matched possessively (``\s*+``), so a long run
of them is never split every possible way; and a quantifier that real values never fill is bounded.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote

from rapidfuzz.distance import OSA

# "[Chinese]", "[Article in German]", "(author's transl)": language markers vendors append. The bracket and
# words that open the marker; the marker runs to the closing bracket that ends the title (``_lang_suffix_start``).
LANG_MARKER_RE = re.compile(
    r"[\[(](?:article in |in )?(?:chinese|german|french|spanish|japanese|russian|italian|portuguese|polish|"
    r"dutch|korean|czech|hungarian|turkish|danish|swedish|norwegian|finnish|hebrew|english abstract|"
    r"author'?s transl)",
    re.I,
)
GLUED_AUTHORS_RE = re.compile(r"(?<=\.)(?=[A-Z][a-z])")
# EMBASE appends the original-language title: "... protection. French Dysfonction endotheliale ...". Its
# start; the rest of the line after it is the translated title (``_translated_suffix_start``).
TRANSLATED_SUFFIX_RE = re.compile(
    r"[.:]\s++(?:german|french|russian|spanish|chinese|japanese|italian|polish|portuguese|dutch|czech|hungarian|"
    r"turkish|korean|danish|swedish|norwegian|finnish|croatian|serbian|slovak|romanian|greek|hebrew|persian)\b",
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
# MEDLINE's notes appended to a title: the bracket and words that open them ("[Erratum in: ...]", "[23 refs]");
# the note runs to the next "]" (``_strip_notes``)
ANNOTATION_RE = re.compile(
    r"\[(?:erratum|errata|comment|see comment|retraction|retracted|corrected|update|published erratum|review|"
    r"\d++ refs?|editorial|letter|news|electronic resource)",
    re.I,
)
# A correction notice's title ends with the citation of the article it corrects: Web of Science
# "(vol 360, pg 542, 2009)" (also without commas, "(VOL 9 E98734 2014)" for an article number), Embase
# "(New England Journal of Medicine (2009) 360 (542-544))". Matched whole, brackets included, only where
# it can be: ending on the bracket that ends the title (``_corrects_citation_start``). A volume or page is
# never longer than ``CITED_NUMBER_MAX`` letters and digits (the bound keeps two runs of them linear).
CITED_NUMBER_MAX = 40
CORRECTS_CITATION_RE = re.compile(
    rf"\((?:vol\.?\s*+\w{{1,{CITED_NUMBER_MAX}}},?\s*+(?:pg\.?\s*+)?\w{{1,{CITED_NUMBER_MAX}}},?\s*+\d{{4}}"
    r"|[^()]++\(\d{4}\)\s*+\d++(?::\d++)?\s*+\(\s*+[a-z]?\d++[a-z]?(?:\s*+-\s*+[a-z]?\d++[a-z]?)?\s*+\))\)", re.I)
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
    text = html.unescape(_long_charrefs(_strip_tags(repair_mojibake(text))))
    text = "".join(GREEK.get(ch, ch) for ch in text.lower())
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _strip_tags(text: str) -> str:
    """Each HTML tag ("<i>", "</sup>") replaced by a space: what ``re.sub(r"<[^>]+>", " ", text)`` did, in
    linear time (that pattern scanned to the end of the text from every "<" no ">" follows)."""
    out: list[str] = []
    done = 0
    start = text.find("<")
    while start >= 0:
        end = text.find(">", start + 1)
        if end < 0:  # no ">" after this "<", nor after any later one
            break
        if end == start + 1:  # "<>" is no tag
            start = text.find("<", end)
            continue
        out += (text[done:start], " ")
        done = end + 1
        start = text.find("<", done)
    out.append(text[done:])
    return "".join(out)


# A numeric character reference longer than Python converts to a number ("&#" and thousands of digits):
# html.unescape would raise ValueError on it (int's limit on digits); its value is the same without the
# leading zeros, and any number of more than 7 digits is past the last code point ("\ufffd").
LONG_CHARREF_RE = re.compile(r"&#([0-9]{12,})")
CODE_POINT_DIGITS = 7  # 0x10FFFF = 1114111


def _long_charrefs(text: str) -> str:
    if "&#" not in text:
        return text

    def short(m: re.Match[str]) -> str:
        digits = m.group(1).lstrip("0") or "0"
        return "&#" + (digits if len(digits) <= CODE_POINT_DIGITS else "9" * (CODE_POINT_DIGITS + 1))

    return LONG_CHARREF_RE.sub(short, text)


def strip_annotations(title: str) -> str:
    """MEDLINE's notes appended to a title ("[Erratum in: ...]", "[see comments]") are not the title.

    A title that opens with a bracket is MEDLINE's translated title ("[Editorial: recent advances in
    ...]"): that bracket is the title, never a note, whatever its first word.
    """
    t = title or ""
    head = ""
    if t.lstrip().startswith("[") and (end := _closing_bracket(t.lstrip())) > 0:
        head, t = t.lstrip()[:end + 1], t.lstrip()[end + 1:]
    return (head + _strip_notes(t)).strip()


def _strip_notes(text: str) -> str:
    r"""``text`` without the notes MEDLINE appends ("[Erratum in: ...].", " [Review] [23 refs]"), each with the
    blanks before it: what ``re.sub(r"\s*\[(?:erratum|...)[^\]]*\]\.?", "", text)`` did, in linear time (that
    pattern split every run of blanks every way and scanned to the end from every "[" no "]" follows)."""
    out: list[str] = []
    done = 0
    start = text.find("[")
    while start >= 0:
        if not ANNOTATION_RE.match(text, start):
            start = text.find("[", start + 1)
            continue
        end = text.find("]", start + 1)  # (a note's opening words hold no "]")
        if end < 0:  # no "]" after this note's start, nor after any later one
            break
        end += 2 if text.startswith(".", end + 1) else 1
        out.append(text[done:_blanks_start(text, start, done)])
        done = end
        start = text.find("[", done)
    out.append(text[done:])
    return "".join(out)


def _blanks_start(text: str, at: int, floor: int = 0) -> int:
    r"""Where the run of blanks (``\s``) that ends at ``at`` begins, not before ``floor``."""
    return floor + len(text[floor:at].rstrip())


def _bracket_at_end(text: str, brackets: str, full_stop: bool = True) -> int:
    r"""Where the closing bracket that ends ``text`` is, blanks after it allowed and, with ``full_stop``, one
    full stop among them (what ``[\])]\s*\.?\s*$`` ends on); -1 when the text does not end with one."""
    t = text.rstrip()
    if full_stop and t.endswith("."):
        t = t[:-1].rstrip()
    return len(t) - 1 if t and t[-1] in brackets else -1


OPENING_RE = re.compile(r"[\[(]")


def _lang_suffix_start(text: str) -> int:
    r"""Where a language marker that ends ``text`` begins ("... [Article in German].", "... (author's transl)"),
    or -1: the leftmost "[" or "(" that opens the marker words and that no closing bracket follows before
    the one ending the text (the old ``[\[(](?:marker words)[^\])]*[\])]\s*\.?\s*$``, without its search
    from every bracket to the end)."""
    close = _bracket_at_end(text, "])")
    if close < 0:
        return -1
    after = max(text.rfind("]", 0, close), text.rfind(")", 0, close))
    for m in OPENING_RE.finditer(text, after + 1, close):
        if LANG_MARKER_RE.match(text, m.start()):
            return m.start()
    return -1


def _corrects_citation_start(text: str) -> int:
    r"""Where the citation of a corrected article that ends ``text`` begins, with the blanks before it, or -1
    (the old ``\s*\((?:...)\)\s*\.?\s*$``, matched only where it can start: its outer bracket is one of the
    last three "(" before the bracket ending the text, as it holds at most two more)."""
    close = _bracket_at_end(text, ")")
    if close < 0:
        return -1
    starts: list[int] = []
    at = close
    while len(starts) < 3 and (at := text.rfind("(", 0, at)) >= 0:
        starts.append(at)
    for start in reversed(starts):  # the leftmost match
        if CORRECTS_CITATION_RE.fullmatch(text, start, close + 1):
            return _blanks_start(text, start)
    return -1


def _translated_suffix_start(text: str) -> int:
    r"""Where Embase's original-language title that ends ``text`` begins (". French Dysfonction ..."), or -1.

    The old ``[.:]\s+(?:languages)\b.*$``, not searched from every full stop: ``.*$`` runs to the end of
    the text, or to a line break that ends it, so the language word is on the last line; the full stop
    before it may be on an earlier one only when the blanks between them hold the line break.
    """
    end = len(text) - 1 if text.endswith("\n") else len(text)
    line = text.rfind("\n", 0, end)
    begin = 0 if line < 0 else max(_blanks_start(text, line) - 1, 0)
    m = TRANSLATED_SUFFIX_RE.search(text, begin, end)
    return m.start() if m else -1


def _cut(text: str, start: int) -> str:
    return text[:start] if start >= 0 else text


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
    t = strip_annotations(title)
    t = _cut(t, _corrects_citation_start(t))
    t = _cut(t, _lang_suffix_start(t))
    if (start := _translated_suffix_start(t)) >= 0:  # (a line break ending the text stays, as it did)
        t = t[:start] + ("\n" if t.endswith("\n") else "")
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


def _place_start(journal: str) -> int:
    r"""Where a bracket that ends a journal title begins, with the blanks before it, or -1: what
    ``re.sub(r"\s*\([^)]*\)\s*$", "", journal)`` removed, in linear time (that pattern split every run of
    blanks every way and scanned to the end from every "(")."""
    close = _bracket_at_end(journal, ")", full_stop=False)
    if close < 0:
        return -1
    start = journal.find("(", journal.rfind(")", 0, close) + 1, close)
    return _blanks_start(journal, start) if start >= 0 else -1


def norm_journal(journal: str) -> str:
    j = fold(journal or "")
    j = j.split(":")[0] if ":" in j and len(j.split(":")[0]) > JOURNAL_NAME_MIN else j
    j = _cut(j, _place_start(j))  # NLM's place of publication: "Clin Sci (Lond)", "Med Klin (Munich)"
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
    return bool(ERRATUM_RE.search(t)) or _corrects_citation_start(t) >= 0


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
# the values exports write where there is no pagination (blanks around the optional brackets and the "/" are
# matched possessively: "[ ... ]" written as "\s*[(\[]?\s*" split a long run of blanks every way)
PLACEHOLDER_RE = re.compile(
    r"^\s*+(?:[(\[]\s*+)?(?:no pagination|no page numbers?|var\.?\s*+pag(?:ings?|es)|various(?: pagings?)?|"
    r"unpaginated|pagination|n\.?\s*+(?:/\s*+)?a\.?|na|nan|null|none|not available|-++|\?++|\.)\s*+(?:[)\]]\s*+)?$",
    re.I)
# pages written into the issue field: "pp S337-S338", "p. 12", "pages 101-109", "Article 178". The pages are
# one word, or two joined by a dash with blanks beside it ("S337 - S338"): the first word is cut where the
# blanks are, not at every dash it holds ("\S+(?:\s*-\s*\S+)?" tried every dash of "1-2-3-...").
ISSUE_PAGES_RE = re.compile(r"^\s*+(?:pp?\.?|pages?|article(?:\s+(?:no\.?|number))?)\s*+"
                            r"(\S+?(?:-\s++|\s++-\s*+)\S+|\S+)\s*+$", re.I)
# Embase's source line, in the journal or the volume field: "Journal Name.12 (3) (pp 101-109)",
# "Journal of Hepatology. 50 (SUPPL. 1) (pp S337-S338), 2009.", "16 (1) (no pagination)", "9 (no pagination)".
# Every part starts and ends with something not blank, so the blanks between them are matched possessively
# (as "\s*" between optional parts, a run of blanks was split every way: four ways in the journal's).
_SOURCE_TAIL = (r"\s*+(?P<vol>\d++[a-z]?)?\s*+(?:\((?P<iss>[^()]*+)\))?\s*+"
                r"(?P<pag>\((?:pp\.?\s*+(?P<pages>[^()]*+)|no pagination)\))?\s*+")
# in the journal: the name, a full stop, the parts, then nothing or what follows a [.,;] (``source_in_journal``)
SOURCE_NAME_END_RE = re.compile(r"[^\s.]\s*+(?=\.)")
SOURCE_AFTER_NAME_RE = re.compile(r"\." + _SOURCE_TAIL, re.I)
SOURCE_IN_VOLUME_RE = re.compile(r"^" + _SOURCE_TAIL + r"$", re.I)
YEAR_LIKE_RE = re.compile(r"^\s*(1[89]\d\d|20\d\d)\s*$")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?|spring|summer|autumn|fall|winter"
DATE_WORDS_RE = re.compile(rf"^\s*(?:{_MONTH})(?:\s*[-/]\s*(?:{_MONTH}))?\s*$", re.I)
# an issue: a number or a range of numbers, optionally after "No." / "Issue"; what follows may mark a supplement
# (numbers and the rest of the line possessive: giving back digits to "(.*)" never reaches a "$" it missed)
ISSUE_RE = re.compile(r"^\s*+(?:(?:no|nr|n|issue|iss|num|number|heft)\.?\s*+)?(\d++)(?:\s*+[-/&,+]\s*+(\d++))?(.*+)$",
                      re.I)
SUPPLEMENT_MARK_RE = re.compile(r"sup|spec|special|\bs\s*\d|^\s*s\b|meeting|abstr|congress|conference", re.I)
ISSUE_RANGE_MAX = 6  # a combined issue "1-3" spans a few issues; a wider "range" is something else
DOI_IN_TEXT_RE = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.I)
# what exports write after a DOI ("[doi]", "[pii]", punctuation), matched on the DOI read backwards: the same
# run as "(?:\[doi\]|\[pii\]|[.,;)\]}>'])+$" without trying it from every character of a long one
DOI_TRAILERS_REVERSED_RE = re.compile(r"(?:\]iod\[|\]iip\[|[.,;)\]}>'])+", re.I)
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
    doi = m.group(0)
    if trailers := DOI_TRAILERS_REVERSED_RE.match(doi[::-1]):
        doi = doi[:len(doi) - trailers.end()]
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
    if not volume and (line := source_in_journal(journal)) and _source_line(line):
        journal, volume = line["name"] or "", line["vol"] or ""
        issue = issue or (line["iss"] or "").strip()
        pages = pages or (line["pages"] or "").strip()
        done.append("source line in journal")
    elif (m := SOURCE_IN_VOLUME_RE.match(volume)) and _source_line(parts := m.groupdict()):
        old_issue = issue
        volume = parts["vol"] or ""
        if (iss := parts["iss"]) is not None and not placeholder(iss):
            issue = iss.strip()
            # the issue field held the article number ("16 (1) (no pagination)", issue "143", pages "143")
            if old_issue and old_issue != issue and not pages:
                pages = old_issue
        pages = pages or (parts["pages"] or "").strip()
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


def source_in_journal(journal: str) -> dict[str, str | None] | None:
    r"""Embase's source line in a journal field, split: ``name``, ``vol``, ``iss``, ``pag``, ``pages`` (None for a
    part it lacks), or None when the field is not one ("Journal Name.12 (3) (pp 101-109)", "J Hepatol. 50
    (SUPPL. 1) (pp S337-S338), 2009.").

    What ``^(?P<name>.*?[^\s.])\s*\.\s*(parts)\s*(?:[.,;].*)?$`` matched, in linear time. That pattern tried
    every full stop of the first line as the name's end (the shortest name first) and from each scanned
    the rest of the line with ``.*`` for a ``$`` a line break may never let it reach. Here each name's end
    is tried once with the parts after it, which take the most they can (giving any back only ends them on
    a digit or a bracket, where nothing can follow); what may follow them is checked in constant time: the
    end of the text (or a line break ending it), or a [.,;] after the last line break that does not end it.
    """
    first_line = journal.find("\n")
    body = len(journal) - 1 if journal.endswith("\n") else len(journal)
    last_break = journal.rfind("\n", 0, body)  # "(?:[.,;].*)?$" cannot cross it
    for name in SOURCE_NAME_END_RE.finditer(journal):
        if 0 <= first_line <= name.start():  # the name is on the first line
            break
        parts = SOURCE_AFTER_NAME_RE.match(journal, name.end())
        end = parts.end() if parts else -1
        if parts and (end >= body or (journal[end] in ".,;" and end > last_break)):
            return {"name": journal[:name.start() + 1], **parts.groupdict()}
    return None


def _source_line(parts: dict[str, str | None]) -> bool:
    """A source line's tail: a volume with an issue or pagination after it ("12 (3)", "9 (no pagination)"),
    or no volume but a numbered issue and the pagination ("(4) (no pagination)"), never a bracketed name."""
    iss = parts["iss"]
    if parts["vol"]:
        return iss is not None or bool(parts["pag"])
    return bool(iss and any(ch.isdigit() for ch in iss) and parts["pag"])


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
# (the blanks around the optional brackets matched possessively: "\s*[\])]?\s*" split a run of them every way)
NOTICE_PREFIX_RE = re.compile(
    r"^\s*+(?:[\[(]\s*+)?(?:" + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _NOTICE_PREFIXES) +
    r")\s*+(?:[\])]\s*+)?(?:[:.\-\u2013\u2014]+|(?=[\"'\u2018\u201c]))\s*", re.I)
# "X. Erratum", "X - Author's reply", "X: Retracted article": the words that end a notice's title
# (``_notice_suffix``), after a run of these separators and blanks
NOTICE_SUFFIX_RE = re.compile(
    r"(?P<erratum>errat(?:um|a)|correction|corrigendum)"
    r"|(?P<reply>(?:a |the )?(?:authors?'?s?'? )?reply)"
    r"|(?P<retraction>retraction|retracted(?: article)?)", re.I)
NOTICE_SUFFIX_LONGEST = len("the authors's' reply")
NOTICE_SEPARATORS = ".:;,-\u2013"
# a notice's title may name its kind in brackets at the end ("(WITHDRAWN PAPER. 1996 ART. NO. CD000153)"):
# the bracket and words that open it (``_notice_bracket``)
NOTICE_BRACKET_RE = re.compile(r"[\[(](?:(?P<retraction>withdrawn|retracted)"
                               r"|(?P<reprint>reprint(?:ed)?\s++(?:from|of)))\b", re.I)
# the citation of the retracted or corrected article that ends a notice ('... [Journal 12 (2009) 100-110]'): a
# bracket holding a year, in brackets of its own or not (``_trailing_citation_start``)
YEAR_IN_CITATION_RE = re.compile(r"(?:19|20)\d\d")
QUOTES = "\"'\u2018\u2019\u201c\u201d"


def _notice_suffix(t: str) -> tuple[str, int] | None:
    r"""The kind of notice the end of ``t`` names and where that ending begins, with the separators and blanks
    before it ("X - Author's reply." -> ("reply", 1)), or None: the leftmost match of the old
    ``\s*[.:;,\-\u2013]+\s*(?:kind words)\s*\.?\s*$``, found from the end instead of searched from every
    blank and separator (each of which scanned to the end of its run and back)."""
    end = len(t.rstrip())
    if t.startswith(".", end - 1):
        end = len(t[:end - 1].rstrip())
    best: tuple[str, int] | None = None
    for word in range(max(end - NOTICE_SUFFIX_LONGEST, 0), end):
        if not (m := NOTICE_SUFFIX_RE.fullmatch(t, word, end)) or not m.lastgroup:
            continue
        blanks = _blanks_start(t, word)
        separators = len(t[:blanks].rstrip(NOTICE_SEPARATORS))
        if separators == blanks:  # no separator before the words
            continue
        at = _blanks_start(t, separators)
        if best is None or at < best[1]:
            best = m.lastgroup, at
    return best


def _notice_bracket(t: str) -> tuple[str, int] | None:
    r"""The kind of notice a bracket ending ``t`` names ("(WITHDRAWN PAPER. ...)", "(Reprinted from ...)") and
    where it begins, with the blanks before it, or None: the leftmost match of the old
    ``\s*[\[(](?:kind words)\b[^\])]*[\])]\s*\.?\s*$``, only at the brackets it can start at."""
    close = _bracket_at_end(t, "])")
    if close < 0:
        return None
    after = max(t.rfind("]", 0, close), t.rfind(")", 0, close))
    for opening in OPENING_RE.finditer(t, after + 1, close):
        if (m := NOTICE_BRACKET_RE.match(t, opening.start())) and m.lastgroup:
            return m.lastgroup, _blanks_start(t, opening.start())
    return None


def _trailing_citation_start(t: str) -> int:
    r"""Where the bracketed citation that ends a notice begins, with the blanks before it, or -1: the old
    ``\s*[\[(][^\[\]()]*\(?(?:19|20)\d\d\)?[^\[\]()]*[\])]\s*\.?\s*$`` (which tried every year in the
    bracket from every bracket), checked with string methods at the one or two brackets it can start at."""
    close = _bracket_at_end(t, "])")
    if close < 0:
        return -1
    starts: list[int] = []
    at = close
    while len(starts) < 2 and (at := max(t.rfind("[", 0, at), t.rfind("(", 0, at))) >= 0:
        starts.append(at)
    for start in reversed(starts):  # the leftmost match
        inner = t[start + 1:close]
        if "[" in inner or "]" in inner or inner.count("(") > 1 or inner.count(")") > 1:
            continue
        if "(" in inner:  # "(2009)" or "(2009": the bracket opens the year
            year = inner.index("(") + 1
            if YEAR_IN_CITATION_RE.match(inner, year) and (")" not in inner or inner.index(")") == year + 4):
                return _blanks_start(t, start)
        elif ")" in inner:  # "2009)": the bracket closes it
            year = inner.index(")") - 4
            if year >= 0 and YEAR_IN_CITATION_RE.fullmatch(inner, year, year + 4):
                return _blanks_start(t, start)
        elif YEAR_IN_CITATION_RE.search(inner):
            return _blanks_start(t, start)
    return -1


def notice(title: str) -> tuple[str, str]:
    """What a notice title says it is and the title of the article it is about:
    ("erratum" | "retraction" | "comment" | "reply" | "reprint" | "abstract", article title), or ("", title).

    "Correction to: X", "Erratum: X", "Retraction notice to 'X' [J 12 (2009) 100]", "RETRACTED: X",
    "WITHDRAWN: X", "Comment on: X", "Re: X", "Reply to: X", "X - Author's reply", "Reprint of: X",
    "Summary of: X", and X ending with the citation of the article it corrects ("(vol 27, pg 305, 2017)").
    """
    t = strip_annotations(title)
    t = _cut(t, _lang_suffix_start(t)).strip().rstrip(".").strip()
    if t.startswith("[") and t.endswith("]"):  # a translated title: what it says is inside the brackets
        t = t[1:-1].strip()
    if (start := _corrects_citation_start(t)) >= 0:
        return "erratum", t[:start]
    kind = ""
    for _ in range(2):  # "Reply to comment on: X" is a reply about X
        m = NOTICE_PREFIX_RE.match(t)
        if not m or not m.lastgroup or len(t) - m.end() < NOTICE_CORE_MIN:
            break
        kind = kind or m.lastgroup
        t = t[m.end():]
    for ending in (_notice_suffix, _notice_bracket):  # "X. A reply": the end says what it is
        if (found := ending(t)) and found[1] >= NOTICE_CORE_MIN:
            kind, t = found[0], t[:found[1]]
            break
    if not kind:
        return "", title
    t = _cut(t, _trailing_citation_start(t)).strip().strip(QUOTES).strip()
    return kind, t


NOTICE_CORE_MIN = 10  # characters of an article title a notice must still hold to be about one


def translated_title(title: str) -> bool:
    """A title the database marks as translated from the article's language: in brackets ("[...]"), or
    followed by a language note ("[Article in Russian]", "(author's transl)", Embase's ". Russian")."""
    t = strip_annotations(title).strip().rstrip(".").strip()
    return bool((t.startswith("[") and t.endswith("]")) or _lang_suffix_start(t) >= 0 or LANGUAGE_NOTE_RE.search(t))


LANGUAGE_NOTE_RE = re.compile(r"[.:]\s+(?:german|french|russian|spanish|chinese|japanese|italian|polish|portuguese|"
                              r"dutch|czech|hungarian|turkish|korean|danish|swedish|norwegian|finnish|croatian|serbian|"
                              r"slovak|romanian|greek|hebrew|persian)\s*$", re.I)
