"""Tagged exports cut into chunks at record starts, so large files can be parsed in parallel.

A chunk always begins on a line where the parser itself starts a record (``TY  -`` in RIS,
``PMID-`` in PubMed, ``PT `` in Web of Science), so parsing chunks one after another gives
exactly what parsing the whole file gives: a record never spans two chunks. Each chunk is
parsed with line numbers and positions counted from its own start; :class:`Reconciler`
turns them into file line numbers and positions in file order, and when the last chunk is in
it checks that the records read match the record starts in the file (no record is ever lost
silently) and words the warnings.

Chunks are byte ranges of the file, so a worker process reads its own range: nothing large
goes through a pipe, and memory stays flat whatever the file's size.
"""

from __future__ import annotations

import codecs
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from screening.errors import InputFileError
from screening.readers.encoding import STRAY_BYTES, drop_nuls
from screening.readers.formats import FORMATS
from screening.readers.tagged import TaggedStats, iter_tagged
from screening.readers.types import FileInfo, ParsedRecord

CHUNK_BYTES = 2 << 20  # about 2,000 typical records: big enough to amortise a worker call


@dataclass
class ChunkStats:
    """What one chunk held, with line numbers counted from the chunk's first line (1)."""

    bytes: int = 0
    lines: int = 0
    records: int = 0
    expected_starts: list[int] = field(default_factory=list)  # lines that look like a record start
    tagged: TaggedStats = field(default_factory=TaggedStats)


def plan_chunks(path: str, fmt: str, size: int | None = None) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` byte ranges that cover the file, each beginning at a record start.

    Linear in the file: each block is searched once (with the few bytes before it, for a start
    line split between blocks), and nothing is kept but counts, however long a record is.
    """
    size = size or CHUNK_BYTES
    marker = FORMATS[fmt].cut_marker
    assert marker is not None, f"{fmt} is not a tagged format"
    offset = 0  # where the current chunk begins
    held = 0  # bytes read since then
    tail = b""  # the last bytes read, for a line end + marker split between two blocks
    with open(path, "rb") as fh:
        while True:
            block = fh.read(size)
            if not block:
                if held:
                    yield offset, held
                return
            window = tail + block
            # the last record start in the window (not at the chunk's very beginning) ends this chunk
            cut = max(window.rfind(b"\n" + marker), window.rfind(b"\r" + marker))
            at = held - len(tail) + cut + 1  # the chunk's length up to that line
            if cut < 0 or at <= 1:
                held += len(block)  # one record longer than the block: read on
            else:
                yield offset, at
                offset += at
                held = len(window) - cut - 1
            tail = window[-len(marker):]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: parsed records are acyclic, and the collector's passes
    over thousands of new lists and tuples were a quarter of parsing time. Reference counting
    still frees everything."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def universal_newlines(text: str) -> str:
    """CRLF, LF and bare CR (as Web of Science RIS has) all end a line, as in text-mode reading."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split_lines(text: str) -> list[str]:
    """Lines without their line ends."""
    lines = universal_newlines(text).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@cache
def _start_re(fmt: str) -> re.Pattern[str]:
    """The format's record start at the start of a line, anchored on the line end before it (fast to scan)."""
    spec = FORMATS[fmt]
    assert spec.start_re is not None, f"{fmt} is not a tagged format"
    indent = r"[^\S\n]*" if spec.start_indented else ""
    return re.compile(r"\n\ufeff?" + indent + f"(?:{spec.start_re.pattern})", spec.start_re.flags)


def _start_lines(text: str, fmt: str) -> list[int]:
    """Line numbers (from 1) of the lines that look like a record start (linear in the text)."""
    start_re = _start_re(fmt)
    end = text.find("\n")
    out = [1] if start_re.match("\n" + (text if end < 0 else text[:end])) else []
    line, pos = 1, 0  # line: the line that holds text[pos]
    for m in start_re.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        out.append(line + 1)  # the match begins with the line end before the start line
    return out


def parse_chunk(path: str, encoding: str, fmt: str, offset: int, length: int) -> tuple[list[ParsedRecord], ChunkStats]:
    """Parse one byte range of a tagged file; lines and positions count from the chunk's start."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    if offset == 0 and encoding.startswith("utf-8") and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    # universal newlines before NULs are dropped, so lines are those the encoding pass numbered
    text = drop_nuls(universal_newlines(data.decode(encoding.replace("-sig", ""), STRAY_BYTES)))
    lines = split_lines(text)
    stats = ChunkStats(bytes=length, lines=len(lines), expected_starts=_start_lines(text, fmt))
    spec = FORMATS[fmt]
    derive, parser = spec.derive, spec.parser
    assert parser is not None, f"{fmt} is not a tagged format"
    with paused_gc():
        records = [ParsedRecord(position=i, line=start, raw=raw, fields=derive(raw)) for i, (start, raw) in
                   enumerate(iter_tagged(lines, parser(), stats.tagged), 1)]
    stats.records = len(records)
    return records, stats


class Reconciler:
    """Chunk results in file order -> file line numbers, and the whole-file checks at the end."""

    def __init__(self, info: FileInfo) -> None:
        self.info = info
        self.line_offset = 0
        self.position_offset = 0
        self.starts: list[int] = []
        self.expected: list[int] = []
        self.missing_end: list[int] = []
        self.orphans: list[int] = []

    def add(self, stats: ChunkStats) -> tuple[int, int]:
        """Take the next chunk's figures; return the (line, position) offsets for its records."""
        offsets = self.line_offset, self.position_offset
        lo = self.line_offset
        self.starts += [lo + n for n in stats.tagged.starts]
        self.expected += [lo + n for n in stats.expected_starts]
        self.missing_end += [lo + n for n in stats.tagged.missing_end]
        self.orphans += [lo + n for n in stats.tagged.orphans]
        self.line_offset += stats.lines
        self.position_offset += stats.records
        return offsets

    def finish(self) -> None:
        """Fail naming the lines if records were lost; otherwise note records without an end tag."""
        path, n = self.info.path, self.position_offset
        if self.orphans:
            lines = ", ".join(map(str, self.orphans[:10]))
            raise InputFileError(
                path, f"tagged lines outside any record at lines {lines}: a record start ('TY  - ' in RIS) is "
                "damaged or missing before them, so that record would be lost.", line=self.orphans[0],
                hint="Fix the start line of that record (or export the file again) and import again.")
        if len(self.expected) != n:
            lost = sorted(set(self.expected) - set(self.starts))[:10]
            raise InputFileError(
                path, f"{len(self.expected)} records start in the file but {n} were read; the records starting at "
                f"lines {', '.join(map(str, lost))} could not be read.", line=lost[0] if lost else None,
                hint="Check those lines (a damaged export?) and export the file again.")
        if self.info.format in ("ris", "wos") and self.missing_end:
            last = self.missing_end[-1]
            if len(self.missing_end) == 1 and self.starts and last == self.starts[-1]:
                self.info.warnings.append(f"the last record (line {last}) has no ER line; it was imported.")
            else:
                lines = ", ".join(map(str, self.missing_end[:10]))
                self.info.warnings.append(
                    f"{len(self.missing_end)} records have no ER line (starting at lines {lines}); they were imported.")
        self.info.n_records = n
