"""The registry of file formats: one record per format says everything the readers need.

A format is how it is recognised in the first lines of a file (``sniff``), how a record's
normalised fields are derived from its raw tags (``derive``) and, for tagged formats, which
rispy-based parser reads its lines, where a large file may be cut into chunks (``cut_marker``)
and what a record start looks like to a person (``start_re``, for the count reconciliation).
Adding a format is adding one entry to :data:`FORMATS`; nothing else keys on format names.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rispy import RisParser

from screening.readers.fields import (
    csv_column_map,
    fields_from_csv,
    fields_from_nbib,
    fields_from_ris,
    fields_from_wos,
)
from screening.readers.tagged import NbibParser, RawRisParser, RawWokParser
from screening.readers.types import RecordFields

Raw = Sequence[tuple[str, str]] | Sequence[list[str]]


@dataclass(frozen=True)
class Format:
    """One file format the importer reads."""

    name: str
    description: str
    sniff: Callable[[list[str]], bool]  # given the first non-blank lines (BOM and line ends removed)
    derive: Callable[[Any], RecordFields]  # raw (tag, value) pairs -> normalised fields
    parser: type[RisParser] | None = None  # tagged formats: the line parser
    cut_marker: bytes | None = None  # tagged formats: the exact bytes a record starts with, at a line start
    start_re: re.Pattern[str] | None = None  # a record start as loosely as a person reads one
    start_indented: bool = False  # may a (damaged) record start be indented?

    @property
    def tagged(self) -> bool:
        return self.parser is not None


def _is_ris(lines: list[str]) -> bool:
    return any(h[:5].upper() == "TY  -" for h in lines)


def _is_nbib(lines: list[str]) -> bool:
    return any(h.startswith("PMID- ") for h in lines)


def _is_wos(lines: list[str]) -> bool:
    return lines[0].startswith("FN ") or (any(h.startswith("PT ") for h in lines)
                                          and any(h.rstrip() == "ER" for h in lines))


def csv_header(line: str) -> list[str]:
    """The cells of a CSV header line, with the delimiter (comma, semicolon, tab) it uses most."""
    try:
        return next(csv.reader([line], delimiter=csv_delimiter(line)), [])
    except csv.Error:  # a cell over the csv module's size limit: not a header
        return []


def csv_delimiter(line: str) -> str:
    return max(",;\t", key=line.count)


def _is_csv(lines: list[str]) -> bool:
    header = csv_header(lines[0])
    return len(header) >= 2 and bool(csv_column_map(header).get("title"))


# A start pattern is matched at the start of a line (after a BOM, and after indentation where
# ``start_indented``): ``chunks`` anchors it on the line end before it, which keeps the scan fast
# whatever the pattern. ``[^\S\n]`` is ``\s`` within one line. RIS tags are read in any case
# (``RawRisParser``), so ``ty  - `` starts a record for the parser and for the count alike.
RIS = Format("ris", "RIS (every vendor: Ovid, EBSCOhost, Embase.com, Scopus, Web of Science, Cochrane, EndNote)",
             _is_ris, fields_from_ris, RawRisParser, b"TY  -", re.compile(r"[Tt][Yy][^\S\n]*-"), True)
NBIB = Format("nbib", "PubMed MEDLINE (.nbib, also saved as .txt or .ris)",
              _is_nbib, fields_from_nbib, NbibParser, b"PMID-", re.compile(r"PMID[^\S\n]*-"))
WOS = Format("wos", "Web of Science plain text", _is_wos, fields_from_wos, RawWokParser, b"PT ",
             re.compile(r"PT [A-Z]"))
CSV = Format("csv", "CSV with a header row naming a title column (Scopus, spreadsheets)", _is_csv, fields_from_csv)

FORMATS: dict[str, Format] = {f.name: f for f in (RIS, NBIB, WOS, CSV)}  # sniffed in this order


def sniff_format(lines: list[str]) -> Format | None:
    """The first registered format whose ``sniff`` recognises these lines, if any."""
    return next((f for f in FORMATS.values() if f.sniff(lines)), None)


def fields_from_raw(fmt: str, raw: Raw) -> RecordFields:
    """Derive the normalised fields again from a stored raw record."""
    return FORMATS[fmt].derive(raw)
