"""Tagged formats (RIS, PubMed/MEDLINE, Web of Science) read with rispy's parsers, one record at a time.

rispy does the line work: its parser classes (``RisParser``, ``WokParser``) decide what a line's
tag and content are, and its tag tables decide which tags hold lists. Two things rispy does
not do, and that cost records on real exports (``../shared/data/ris/README.md``), are done here
by subclassing rather than by a parser of our own:

* ``parse_lines`` builds a list of every record and loses a final record without ``ER``: we
  drive the same ``parse_line`` from a generator that yields each record as it ends, so memory
  stays flat and an ``ER``-less record is kept (with a warning).
* ``_add_tag`` maps tags to names and keeps only the first value of a repeated non-list tag:
  we keep every ``(tag, value)`` pair in file order instead, so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from rispy import RisParser, WokParser
from rispy.config import LIST_TYPE_TAGS, WOK_LIST_TYPE_TAGS

# Untagged continuation lines under these tags are further values (EndNote writes one keyword
# or affiliation per line under a single tag); under any other tag they continue the value.
RIS_MULTI_LINE_TAGS = frozenset(LIST_TYPE_TAGS) | {"AD", "SN", "M2", "C1"}


class RawRisParser(RisParser):
    """rispy's RIS line rules; ``TY  -  JOUR`` (Cochrane's two spaces) is handled by ``parse_line``."""

    CONTINUATION_IS_VALUE: ClassVar[frozenset[str]] = RIS_MULTI_LINE_TAGS
    CONTINUATION_JOIN: ClassVar[str] = "\n"

    def parse_line(self, line: str) -> tuple[str, str] | tuple[None, str]:
        # rispy requires "XY  -"; some exports put a BOM before the first tag (rispy then
        # silently loses the record) or end the separator without a trailing space. A tag in
        # lower case ("ab  - ") is still a tag, not text continuing the previous value.
        if line.startswith("  -", 2):
            tag = line[:2]
            if (tag.isupper() or (tag := tag.upper()).isupper()) and tag[0].isalpha():
                return tag, line[6:].strip()
        if line.startswith("\ufeff"):
            return self.parse_line(line[1:])
        return None, line.strip()


class NbibParser(RisParser):
    """PubMed MEDLINE (.nbib): 2-4 letter tags padded to four, ``- ``, 6-space continuations."""

    START_TAG = "PMID"
    END_TAG = ""
    CONTINUATION_IS_VALUE: ClassVar[frozenset[str]] = frozenset()
    CONTINUATION_JOIN: ClassVar[str] = " "

    def parse_line(self, line: str) -> tuple[str, str] | tuple[None, str]:
        if line[:1] == "\ufeff":
            line = line[1:]
        if line[4:6] == "- " and line[:1].isalpha() and line[:1].isupper():
            return line[:4].rstrip(), line[6:].strip()
        return None, line.strip()


class RawWokParser(WokParser):
    """Web of Science plain text: rispy's ``WokParser`` line rules (tag, one space, value)."""

    CONTINUATION_IS_VALUE: ClassVar[frozenset[str]] = frozenset(WOK_LIST_TYPE_TAGS) | {"C1", "DE", "ID", "EM"}
    CONTINUATION_JOIN: ClassVar[str] = " "

    def parse_line(self, line: str) -> tuple[str, str] | tuple[None, str]:
        if line[:1] == "\ufeff":
            line = line[1:]
        if line[:2] == "  " or not line.strip():
            return None, line.strip()
        return line[:2], line[3:].strip()


@dataclass
class TaggedStats:
    """What the generator saw, for count reconciliation and the user's warnings."""

    starts: list[int] = field(default_factory=list)  # line numbers of record starts it recognised
    missing_end: list[int] = field(default_factory=list)  # records that ended without the end tag
    orphans: list[int] = field(default_factory=list)  # tagged lines outside any record: a damaged start?
    warnings: list[str] = field(default_factory=list)


def iter_tagged(
    lines: Iterable[str], parser: RisParser, stats: TaggedStats
) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """Yield ``(start_line, raw)`` per record; ``raw`` keeps every tag and value in order.

    ``lines`` are the file's lines without their line ends (see ``chunks.split_lines``).

    Lines between records (Ovid's numbering and "Link to" lines, Cochrane's ``Record #``
    headers, WoS's ``FN``/``VR``/``EF``) are ignored, as rispy ignores them.
    """
    start_tag, end_tag = parser.START_TAG, parser.END_TAG
    multi = parser.CONTINUATION_IS_VALUE
    join = parser.CONTINUATION_JOIN
    parse_line = parser.parse_line
    ignore = frozenset(parser.ignore)
    raw: list[tuple[str, str]] | None = None
    # continuation lines of raw[-1]'s value, joined once when the value ends: adding each line to
    # the value as it came copied the value every time (quadratic in a value of many lines)
    more: list[str] = []
    start = 0
    for n, line in enumerate(lines, 1):
        if not line:
            continue  # (a line of spaces parses as no tag and no content: skipped below)
        tag, content = parse_line(line)
        if tag is None:
            if content and raw is not None:
                last_tag, last_value = raw[-1]
                if more:
                    more.append(content)
                elif not last_value:
                    raw[-1] = (last_tag, content)
                elif last_tag in multi:
                    raw.append((last_tag, content))
                else:
                    more.append(content)
            continue
        if more and raw is not None:  # a tag line ends the value being continued
            raw[-1] = (raw[-1][0], join.join([raw[-1][1], *more]))
            more = []
        if tag == start_tag:
            if raw is not None:  # a new record began: the previous one ends here
                if end_tag:
                    stats.missing_end.append(start)
                yield start, raw
            raw = [(tag, content)]
            start = n
            stats.starts.append(n)
            continue
        if raw is None:
            if tag not in ignore and tag != end_tag:
                stats.orphans.append(n)
            continue
        if end_tag and tag == end_tag:
            yield start, raw
            raw = None
            continue
        if tag in ignore:
            continue
        raw.append((tag, content))
    if raw is not None:
        if more:
            raw[-1] = (raw[-1][0], join.join([raw[-1][1], *more]))
        if end_tag:
            stats.missing_end.append(start)
        yield start, raw
