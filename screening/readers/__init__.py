"""Read database exports: the format is detected from the content, never from the extension.

``open_file(path)`` returns the file's :class:`FileInfo` and an iterator of
:class:`ParsedRecord`, one record at a time, so memory does not grow with the file. Before
any record is yielded, one cheap pass over the file chooses the encoding (``encoding``: UTF-8
with or without BOM, stray non-UTF-8 bytes read as cp1252 with their lines named; else cp1252,
else latin-1; UTF-16/32 with a BOM through a temporary UTF-8 copy) and finds NUL bytes, which
are dropped with a warning. Each chunk notes every line where a record starts; when iteration
ends, the records read must match those starts or the import fails naming the lines, so no
record is ever lost silently. Everything applied to record text runs in linear time.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from screening.errors import InputFileError
from screening.readers import encoding
from screening.readers.chunks import Reconciler, parse_chunk, plan_chunks, split_lines
from screening.readers.fields import csv_column_map, fields_from_csv, fields_from_ris
from screening.readers.formats import FORMATS, csv_delimiter, csv_header, fields_from_raw, sniff_format
from screening.readers.tagged import RawRisParser, TaggedStats, iter_tagged
from screening.readers.types import FileInfo, ParsedRecord, RecordFields

__all__ = ["FORMATS", "FileInfo", "ParsedRecord", "RecordFields", "fields_from_raw", "open_file", "release"]

SNIFF_LINES = 400
CSV_FIELD_LIMIT = 1 << 30  # Python's csv refuses cells over 128 KiB by default; abstracts in CSV can be longer

RIS_HINT = encoding.RIS_HINT
OVID_TAGGED_HINT = (
    "This is Ovid's tagged 'Complete Reference' format (no TY/ER tags), not RIS. In Ovid, select the "
    "records, choose Export, set Format to 'RIS' and import that file instead."
)


def _lines(path: str, codec: str) -> Iterator[str]:
    # newline=None: universal newlines, so CRLF, LF and bare CR (Web of Science RIS) all end lines
    with open(path, encoding=codec, errors=encoding.STRAY_BYTES, newline=None) as fh:
        yield from fh


def _sniff(path: str, source: str, codec: str) -> str:
    """The format of the file at ``path``, read from ``source`` (itself or its UTF-8 copy)."""
    head: list[str] = []
    for line in _lines(source, codec):
        head.append(encoding.drop_nuls(line).lstrip("\ufeff").rstrip("\n"))
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


def _tagged_records(info: FileInfo) -> Iterator[ParsedRecord]:
    """Records chunk by chunk in this process (``screening.records.ingest`` parses chunks in parallel)."""
    try:
        reconciler = Reconciler(info)
        for offset, length in plan_chunks(info.source, info.format):
            records, stats = parse_chunk(info.source, info.codec, info.format, offset, length)
            line_offset, position_offset = reconciler.add(stats)
            for rec in records:
                rec.line += line_offset
                rec.position += position_offset
                yield rec
        reconciler.finish()
    finally:
        release(info)


def _csv_records(info: FileInfo, nuls: bool) -> Iterator[ParsedRecord]:
    path = info.path
    limit = csv.field_size_limit()
    try:
        with open(info.source, encoding=info.codec, errors=encoding.STRAY_BYTES, newline="") as fh:
            first_line = encoding.drop_nuls(fh.readline())
            fh.seek(0)
            lines: Iterable[str] = (encoding.drop_nuls(line) for line in fh) if nuls else fh
            reader = csv.reader(lines, delimiter=csv_delimiter(first_line))
            csv.field_size_limit(CSV_FIELD_LIMIT)
            n = 0
            try:
                header = [h.lstrip("\ufeff") for h in next(reader, [])]
                columns = csv_column_map(header)
                for row in reader:
                    if not any(c.strip() for c in row):
                        continue
                    if len(row) > len(header):
                        raise InputFileError(path, f"row has {len(row)} cells but the header has {len(header)}.",
                                             line=reader.line_num, hint="Check the quoting of that row.")
                    n += 1
                    raw = [(h, v) for h, v in zip(header, row, strict=False) if v != ""]
                    yield ParsedRecord(position=n, line=reader.line_num, raw=raw, fields=fields_from_csv(raw, columns))
            except csv.Error as exc:
                raise InputFileError(path, f"the table cannot be read from here on ({exc}).", line=reader.line_num,
                                     hint="Check the quoting of that row (a quote that is never closed?).") from None
            info.n_records = n
    finally:
        csv.field_size_limit(limit)
        release(info)


def open_file(path: str | Path) -> tuple[FileInfo, Iterator[ParsedRecord]]:
    """Detect the format and encoding of ``path``; return its info and a record iterator.

    Raises :class:`InputFileError` (naming the file, the line and what to do) for empty,
    binary, unrecognised or refused files, and from the iterator when the records read do not
    match the record starts in the file. A UTF-16 file is read from a temporary UTF-8 copy
    (``info.source``), deleted when the iterator ends or by :func:`release`.
    """
    path = str(path)
    try:
        found = encoding.decoding(path)
    except FileNotFoundError:
        raise InputFileError(path, "no such file.") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a directory; give the export files themselves.") from None
    try:
        fmt = _sniff(path, found.source, found.codec)
    except BaseException:
        encoding.remove_copy(found, path)
        raise
    info = FileInfo(path=path, format=fmt, encoding=found.name, warnings=list(found.warnings), source=found.source,
                    codec=found.codec)
    encoding.remove_copy_with(info, found, path)
    if FORMATS[fmt].tagged:
        return info, _tagged_records(info)
    return info, _csv_records(info, found.has_nuls)


def release(info: FileInfo) -> None:
    """Delete the temporary copy a UTF-16 file is read from (nothing to do for other files)."""
    if info.source != info.path:
        try:
            os.remove(info.source)
        except FileNotFoundError:
            pass


def read_text_records(text: str, name: str = "<text>") -> list[ParsedRecord]:
    """Parse RIS text held in memory (tests and round trips)."""
    stats = TaggedStats()
    return [ParsedRecord(position=i, line=start, raw=raw, fields=fields_from_ris(raw))
            for i, (start, raw) in enumerate(iter_tagged(split_lines(text), RawRisParser(), stats), 1)]
