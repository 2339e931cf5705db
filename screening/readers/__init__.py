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
from collections.abc import Iterator
from pathlib import Path

from screening.errors import InputFileError
from screening.readers.chunks import Reconciler, parse_chunk, plan_chunks, split_lines
from screening.readers.fields import csv_column_map, fields_from_csv, fields_from_ris
from screening.readers.formats import FORMATS, csv_delimiter, csv_header, fields_from_raw, sniff_format
from screening.readers.tagged import RawRisParser, TaggedStats, iter_tagged
from screening.readers.types import FileInfo, ParsedRecord, RecordFields

__all__ = ["FORMATS", "FileInfo", "ParsedRecord", "RecordFields", "fields_from_raw", "open_file"]

SNIFF_LINES = 400
CHUNK = 1 << 20

RIS_HINT = "Export the records again as RIS (or PubMed/MEDLINE format, or CSV) and import that file."
OVID_TAGGED_HINT = (
    "This is Ovid's tagged 'Complete Reference' format (no TY/ER tags), not RIS. In Ovid, select the "
    "records, choose Export, set Format to 'RIS' and import that file instead."
)

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
    found = sniff_format(text_lines)
    if found is not None:
        return found.name
    if any(h.startswith("<") and h.rstrip().endswith(". >") for h in text_lines[:5]) or any(
            h.startswith("VN  - Ovid") for h in text_lines[:20]):
        raise InputFileError(path, "not an importable export.", line=1, hint=OVID_TAGGED_HINT)
    if len(csv_header(text_lines[0])) >= 2:
        raise InputFileError(path, "a table without a title column.", line=1,
                             hint="A CSV needs a header row with a 'title' column (and ideally 'abstract').")
    raise InputFileError(path, "not a recognised export: no RIS 'TY  - ' line, no PubMed 'PMID- ' line and "
                         "no CSV header with a title column in the first lines.", line=1, hint=RIS_HINT)


def _tagged_records(path: str, encoding: str, fmt: str, info: FileInfo) -> Iterator[ParsedRecord]:
    """Records chunk by chunk in this process (``screening.records.ingest`` parses chunks in parallel)."""
    reconciler = Reconciler(info)
    for offset, length in plan_chunks(path, fmt):
        records, stats = parse_chunk(path, encoding, fmt, offset, length)
        line_offset, position_offset = reconciler.add(stats)
        for rec in records:
            rec.line += line_offset
            rec.position += position_offset
            yield rec
    reconciler.finish()


def _csv_records(path: str, encoding: str, info: FileInfo) -> Iterator[ParsedRecord]:
    with open(path, encoding=encoding, newline="") as fh:
        first_line = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, delimiter=csv_delimiter(first_line))
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
    if FORMATS[fmt].tagged:
        return info, _tagged_records(path, encoding, fmt, info)
    return info, _csv_records(path, encoding, info)


def read_text_records(text: str, name: str = "<text>") -> list[ParsedRecord]:
    """Parse RIS text held in memory (tests and round trips)."""
    stats = TaggedStats()
    return [ParsedRecord(position=i, line=start, raw=raw, fields=fields_from_ris(raw))
            for i, (start, raw) in enumerate(iter_tagged(split_lines(text), RawRisParser(), stats), 1)]
