"""Normalisation of the fields deduplication compares.

Cosmetic differences between databases must not decide anything (CiteSource#112: the same
records deduplicate differently raw and after a round trip through EndNote), so titles,
authors, journals and pages are reduced to comparable keys here, once per record.
"""

from __future__ import annotations

import html
import re
import unicodedata

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
# "(vol 360, pg 542, 2009)", Embase "(New England Journal of Medicine (2009) 360 (542-544))".
CORRECTS_CITATION_RE = re.compile(
    r"\s*\((?:vol\.?\s*\w+,\s*pg\.?\s*\w+,\s*\d{4}"
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
    text = html.unescape(TAG_RE.sub(" ", repair_mojibake(text)))
    text = "".join(GREEK.get(ch, ch) for ch in text.lower())
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def strip_annotations(title: str) -> str:
    """MEDLINE's notes appended to a title ("[Erratum in: ...]", "[see comments]") are not the title."""
    return ANNOTATION_RE.sub("", title or "").strip()


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
    text = unicodedata.normalize("NFKD", repair_mojibake(" ".join(authors)))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))  # accents off, case kept
    if any(ch.islower() for ch in text):
        words = NAME_WORD_RE.findall(text)
    else:
        words = [w for w in re.split(r"[^A-Za-z'\-]+", text) if len(w) > 1]
    return {fold(w) for w in words if len(w) > 1}
