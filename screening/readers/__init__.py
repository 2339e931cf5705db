"""Read database exports: the format is detected from the content, never from the extension.

``open_file(path)`` returns the file's :class:`FileInfo` and an iterator of
:class:`ParsedRecord`, one record at a time, so memory does not grow with the file. Before
any record is yielded, one cheap pass over the file checks the encoding (UTF-8 with or
without BOM, else cp1252, else latin-1, with a warning) and notes every line where a record
starts; when iteration ends, the records read must match those starts or the import fails
naming the lines, so no record is ever lost silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from screening.errors import InputFileError
from screening.readers.fields import (
    csv_column_map,
    fields_from_csv,
    fields_from_nbib,
    fields_from_ris,
    fields_from_wos,
)
from screening.readers.tagged import NbibParser, RawRisParser, RawWokParser, TaggedStats, iter_tagged
from screening.readers.types import FileInfo, ParsedRecord, RecordFields

__all__ = ["FileInfo", "ParsedRecord", "RecordFields", "fields_from_raw", "open_file"]

SNIFF_LINES = 400
# Record starts as loosely as a person would read them (a damaged separator still counts).
RIS_START_RE = re.compile(r"\ufeff?\s*TY\s*-")
NBIB_START_RE = re.compile(r"\ufeff?PMID\s*-")
WOS_START_RE = re.compile(r"\ufeff?PT [A-Z]")
CHUNK = 1 << 20

RIS_HINT = "Export the records again as RIS (or PubMed/MEDLINE format, or CSV) and import that file."
OVID_TAGGED_HINT = (
    "This is Ovid's tagged 'Complete Reference' format (no TY/ER tags), not RIS. In Ovid, select the "
    "records, choose Export, set Format to 'RIS' and import that file instead."
)

FIELDS_BY_FORMAT = {"ris": fields_from_ris, "nbib": fields_from_nbib, "wos": fields_from_wos, "csv": fields_from_csv}


def fields_from_raw(fmt: str, raw: list[tuple[str, str]] | list[list[str]]) -> RecordFields:
    """Derive the normalised fields again from a stored raw record."""
    return FIELDS_BY_FORMAT[fmt](raw)  # type: ignore[arg-type]


def _check_bytes(path: str) -> str:
    """Choose the text encoding with one streamed pass; refuse binary files."""
    with open(path, "rb") as fh:
        head = fh.read(CHUNK)
        if not head.strip():
            raise InputFileError(path, "the file is empty.", hint=RIS_HINT)
        if b"\x00" in head[:65536]:
            raise InputFileError(path, "this is a binary file, not a text export (it contains NUL bytes).",
                                 hint=RIS_HINT)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        chunk, offset = head, 0
        try:
            while chunk:
                decoder.decode(chunk)
                offset += len(chunk)
                chunk = fh.read(CHUNK)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    data = Path(path).read_bytes()
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _lines(path: str, encoding: str) -> Iterator[str]:
    # newline=None: universal newlines, so CRLF, LF and bare CR (Web of Science RIS) all end lines
    with open(path, encoding=encoding, newline=None) as fh:
        yield from fh


def _sniff(path: str, encoding: str) -> str:
    head: list[str] = []
    for line in _lines(path, encoding):
        head.append(line.lstrip("\ufeff").rstrip("\n"))
        if len(head) >= SNIFF_LINES:
            break
    text_lines = [h for h in head if h.strip()]
    if not text_lines:
        raise InputFileError(path, "the file has no text.", hint=RIS_HINT)
    if any(h.startswith("TY  -") for h in text_lines):
        return "ris"
    if any(h.startswith("PMID- ") for h in text_lines):
        return "nbib"
    if text_lines[0].startswith("FN ") or (any(h.startswith("PT ") for h in text_lines)
                                          and any(h.rstrip() == "ER" for h in text_lines)):
        return "wos"
    if any(h.startswith("<") and h.rstrip().endswith(". >") for h in text_lines[:5]) or any(
            h.startswith("VN  - Ovid") for h in text_lines[:20]):
        raise InputFileError(path, "not an importable export.", line=1, hint=OVID_TAGGED_HINT)
    first = text_lines[0]
    header = next(csv.reader([first], delimiter=max(",;\t", key=first.count)))
    if len(header) >= 2 and csv_column_map(header).get("title"):
        return "csv"
    if len(header) >= 2:
        raise InputFileError(path, "a table without a title column.", line=1,
                             hint="A CSV needs a header row with a 'title' column (and ideally 'abstract').")
    raise InputFileError(path, "not a recognised export: no RIS 'TY  - ' line, no PubMed 'PMID- ' line and "
                         "no CSV header with a title column in the first lines.", line=1, hint=RIS_HINT)


def _record_starts(path: str, encoding: str, fmt: str) -> list[int]:
    """Lines where a record starts, counted independently of the parser (reconciliation)."""
    start = {"ris": RIS_START_RE, "nbib": NBIB_START_RE, "wos": WOS_START_RE}[fmt]
    return [n for n, line in enumerate(_lines(path, encoding), 1) if start.match(line)]


def _tagged_records(path: str, encoding: str, fmt: str, info: FileInfo) -> Iterator[ParsedRecord]:
    parser = {"ris": RawRisParser, "nbib": NbibParser, "wos": RawWokParser}[fmt]()
    derive = FIELDS_BY_FORMAT[fmt]
    stats = TaggedStats()
    n = 0
    for start, raw in iter_tagged(_lines(path, encoding), parser, stats):
        n += 1
        yield ParsedRecord(position=n, line=start, raw=raw, fields=derive(raw))
    if stats.orphans:
        lines = ", ".join(map(str, stats.orphans[:10]))
        raise InputFileError(
            path, f"tagged lines outside any record at lines {lines}: a record start ('TY  - ' in RIS) is damaged "
            "or missing before them, so that record would be lost.", line=stats.orphans[0],
            hint="Fix the start line of that record (or export the file again) and import again.")
    expected = _record_starts(path, encoding, fmt)
    if len(expected) != n:
        lost = sorted(set(expected) - set(stats.starts))[:10]
        raise InputFileError(
            path, f"{len(expected)} records start in the file but {n} were read; the records starting at "
            f"lines {', '.join(map(str, lost))} could not be read.", line=lost[0] if lost else None,
            hint="Check those lines (a damaged export?) and export the file again.")
    if fmt in ("ris", "wos") and stats.missing_end:
        last = stats.missing_end[-1]
        end = "ER"
        if len(stats.missing_end) == 1 and last == stats.starts[-1]:
            info.warnings.append(f"the last record (line {last}) has no {end} line; it was imported.")
        else:
            lines = ", ".join(map(str, stats.missing_end[:10]))
            info.warnings.append(f"{len(stats.missing_end)} records have no {end} line (starting at lines {lines}); "
                                 "they were imported.")
    info.n_records = n


def _csv_records(path: str, encoding: str, info: FileInfo) -> Iterator[ParsedRecord]:
    with open(path, encoding=encoding, newline="") as fh:
        first_line = fh.readline()
        fh.seek(0)
        delimiter = max(",;\t", key=first_line.count)
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.lstrip("\ufeff") for h in next(reader)]
        columns = csv_column_map(header)
        n = 0
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(header):
                raise InputFileError(path, f"row has {len(row)} cells but the header has {len(header)}.",
                                     line=reader.line_num, hint="Check the quoting of that row.")
            n += 1
            raw = [(h, v) for h, v in zip(header, row, strict=False) if v != ""]
            yield ParsedRecord(position=n, line=reader.line_num, raw=raw, fields=fields_from_csv(raw, columns))
    info.n_records = n


def open_file(path: str | Path) -> tuple[FileInfo, Iterator[ParsedRecord]]:
    """Detect the format and encoding of ``path``; return its info and a record iterator.

    Raises :class:`InputFileError` (naming the file, the line and what to do) for empty,
    binary, unrecognised or refused files, and from the iterator when the records read do not
    match the record starts in the file.
    """
    path = str(path)
    try:
        encoding = _check_bytes(path)
    except FileNotFoundError:
        raise InputFileError(path, "no such file.") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a directory; give the export files themselves.") from None
    fmt = _sniff(path, encoding)
    info = FileInfo(path=path, format=fmt, encoding=encoding.replace("-sig", ""))
    if encoding not in ("utf-8-sig",):
        info.warnings.append(f"the file is not valid UTF-8; it was read as {encoding}. Check accented characters.")
    if fmt == "csv":
        return info, _csv_records(path, encoding, info)
    return info, _tagged_records(path, encoding, fmt, info)


def read_text_records(text: str, name: str = "<text>") -> list[ParsedRecord]:
    """Parse RIS text held in memory (tests and round trips)."""
    stats = TaggedStats()
    return [ParsedRecord(position=i, line=start, raw=raw, fields=fields_from_ris(raw))
            for i, (start, raw) in enumerate(iter_tagged(io.StringIO(text), RawRisParser(), stats), 1)]
