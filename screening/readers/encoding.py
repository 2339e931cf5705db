"""How a file's bytes become text: one streamed pass over the whole file decides, before any record is read.

* UTF-8 (with or without BOM) is the rule. A file that is UTF-8 but for a few stray bytes (a
  cp1252 "é" pasted into a UTF-8 export) stays UTF-8: only the stray bytes are read as cp1252, by
  the codecs error handler :data:`STRAY_BYTES`, and the warning names their lines. A file with no
  valid multi-byte UTF-8 sequence at all is a single-byte file: cp1252, else latin-1.
* UTF-16 and UTF-32 files with a byte-order mark are transcoded, block by block, into a temporary
  UTF-8 copy that the parsers read; :func:`remove_copy` (or the copy's finaliser) deletes it.
* NUL bytes are dropped as text is parsed (:func:`drop_nuls`; PostgreSQL cannot store them) and
  the warning names their lines. A file whose first 64 KiB are mostly control bytes is refused
  as binary.

The handler is registered when this module is imported, so worker processes that parse chunks
(``screening.records.ingest``) decode exactly as the main process does, whatever their start method.
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
import weakref
from dataclasses import dataclass, field
from typing import BinaryIO

from screening.errors import InputFileError

BLOCK = 1 << 20
BINARY_PROBE = 65536
STRAY_BYTES = "screening-stray-cp1252"  # codecs error handler: invalid bytes read as cp1252

# cp1252 leaves five bytes undefined; latin-1 reads them (as C1 controls), as the old fallback did
_CP1252 = tuple(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256))
_CP1252_UNDEFINED = bytes(b for b in range(128, 256) if not bytes([b]).decode("cp1252", "ignore"))
# bytes no text export holds (NUL and the C0 controls but tab, line ends, form feed, DOS EOF, escape)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\v\f\r\x1a\x1b") + b"\x7f"
_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
_DECODERS = {"utf-16-le": codecs.utf_16_le_decode, "utf-16-be": codecs.utf_16_be_decode,
             "utf-32-le": codecs.utf_32_le_decode, "utf-32-be": codecs.utf_32_be_decode}
RIS_HINT = "Export the records again as RIS (or PubMed/MEDLINE format, or CSV) and import that file."


def _stray_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Codecs error handler: the bytes that are not UTF-8 are read as cp1252, one character each."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(STRAY_BYTES, _stray_bytes)


def drop_nuls(text: str) -> str:
    """Text without NUL characters (cheap when there are none, the usual case)."""
    return text.replace("\x00", "") if "\x00" in text else text


def _breaks(data: bytes, start: int, end: int, after_cr: bool) -> int:
    """Line ends in ``data[start:end]`` as universal newlines count them (CRLF, LF, a bare CR);
    ``after_cr``: the byte before ``start`` is a CR (whose LF is then no new line end)."""
    if start >= end:
        return 0
    n = data.count(b"\n", start, end)
    if data.find(b"\r", start, end) >= 0:
        n += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    return n - 1 if after_cr and data[start] == 10 else n


def _text_breaks(text: str, start: int, end: int, after_cr: bool) -> int:
    """``_breaks`` for decoded text (line ends are the same characters)."""
    if start >= end:
        return 0
    n = text.count("\n", start, end)
    if text.find("\r", start, end) >= 0:
        n += text.count("\r", start, end) - text.count("\r\n", start, end)
    return n - 1 if after_cr and text[start] == "\n" else n


class _Breaks:
    """Line ends counted over the first ``upto`` bytes of a file (or of a stream of blocks)."""

    def __init__(self) -> None:
        self.upto = 0  # the bytes counted so far
        self.lines = 0  # line ends in them
        self.after_cr = False  # they end with CR (whose LF may open the next block)

    def block_done(self, block: bytes) -> None:
        self.upto += len(block)
        self.lines += _breaks(block, 0, len(block), self.after_cr)
        self.after_cr = block[-1:] == b"\r"

    def catch_up(self, path: str, until: int) -> None:
        """Count the line ends of the file's bytes up to ``until``, read again (once something is found)."""
        if self.upto >= until:
            return
        with open(path, "rb") as fh:
            fh.seek(self.upto)
            while self.upto < until and (block := fh.read(min(BLOCK, until - self.upto))):
                self.block_done(block)


class _TextLines:
    """Line numbers of positions in the decoded text of one block, asked for in increasing order.

    Lines are counted only when something is found (a clean file costs nothing): the blocks before
    are then read again once, and the block's text is counted up to each position asked for.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.breaks = _Breaks()
        self.text, self.offset = "", 0
        self.pos, self.line = 0, 0  # line: the line of text[pos]; 0 until a line is asked for

    def start(self, text: str, offset: int) -> None:
        """The next block's text; ``offset``: the file offset of its first byte (no line end before it is held back)."""
        self.text, self.offset, self.pos, self.line = text, offset, 0, 0

    def line_of(self, at: int) -> int:
        if not self.line or at < self.pos:
            self.breaks.catch_up(self.path, self.offset)
            self.pos, self.line = 0, self.breaks.lines + 1
        if at > self.pos:
            after_cr = self.text[self.pos - 1] == "\r" if self.pos else self.breaks.after_cr
            self.line += _text_breaks(self.text, self.pos, at, after_cr)
            self.pos = at
        return self.line


class _Found:
    """Where something was found in a file, for one warning: how many, and the first lines it is on."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.items = 0
        self.lines: list[int] = []  # the first ten lines, in file order
        self.more = False  # found on more lines than those

    def note(self, text: str, count: int, lines: _TextLines) -> None:
        """``count`` more found in ``text``; note their first lines (a few searches, whatever the count)."""
        self.items += count
        at = 0
        while count and not self.more and (m := self.pattern.search(text, at)):
            line = lines.line_of(m.start())
            if not self.lines or line != self.lines[-1]:
                if len(self.lines) == 10:
                    self.more = True
                    break
                self.lines.append(line)
            at = _line_end(text, m.end())

    def where(self) -> str:
        listed = ", ".join(map(str, self.lines))
        return f"line{'s' if len(self.lines) > 1 else ''} {listed}{' and others' if self.more else ''}"


def _line_end(text: str, at: int) -> int:
    ends = [i for i in (text.find("\n", at), text.find("\r", at)) if i >= 0]
    return min(ends) if ends else len(text)


@dataclass
class Decoding:
    """How to read a file's text."""

    codec: str  # the codec to decode ``source`` with, always with errors=STRAY_BYTES
    name: str  # the encoding reported to the user: utf-8, utf-16, utf-32, cp1252, latin-1
    source: str  # the file to read: the file itself, or a temporary UTF-8 copy of a UTF-16/32 file
    warnings: list[str] = field(default_factory=list)
    has_nuls: bool = False


def decoding(path: str) -> Decoding:
    """Choose how to read ``path`` with one streamed pass; refuse empty and binary files."""
    with open(path, "rb") as fh:
        head = fh.read(BLOCK)
        if not head.strip():
            raise InputFileError(path, "the file is empty.", hint=RIS_HINT)
        for bom, codec, name in _BOMS:
            if head.startswith(bom):
                fh.seek(len(bom))
                copy = _transcode(path, fh, codec, name)
                try:
                    found = decoding(copy)
                except InputFileError as exc:  # worded for the user's file, not for our copy
                    os.remove(copy)
                    raise InputFileError(path, exc.problem, line=exc.line, hint=exc.hint) from None
                except BaseException:
                    os.remove(copy)
                    raise
                found.name = name
                return found
        _refuse_binary(path, head)
        return _scan(path, fh, head)


def _refuse_binary(path: str, head: bytes) -> None:
    """Refuse a file whose start is mostly NULs, or whose other bytes hold many control bytes.

    A few NULs in a text export (damage) are dropped with a warning instead, wherever they are.
    """
    probe = head[:BINARY_PROBE]
    nuls = probe.count(0)
    controls = len(probe) - len(probe.translate(None, _CONTROL)) - nuls
    if (nuls > 8 and 3 * nuls > len(probe)) or (controls > 8 and 20 * controls > len(probe) - nuls):
        utf16 = probe[1::2].count(0) > len(probe) // 4 or probe[::2].count(0) > len(probe) // 4
        hint = ("It looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with BOM) and "
                "import it again." if utf16 else RIS_HINT)
        raise InputFileError(path, "this is a binary file, not a text export (it is full of NUL or control bytes).",
                             hint=hint)


_STRAY_RE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, decoded with surrogateescape
_NUL_RE = re.compile("\x00")


def _scan(path: str, fh: BinaryIO, head: bytes) -> Decoding:
    """The UTF-8 check, stray bytes and NULs with their first lines, in one pass of linear time.

    Each block is decoded once with ``surrogateescape`` (a byte that is not UTF-8 becomes a lone
    surrogate), so even a file of accented cp1252 text is searched at the regex engine's speed.
    """
    lines = _TextLines(path)
    stray, nuls = _Found(_STRAY_RE), _Found(_NUL_RE)
    multibyte = cp1252_undefined = False
    carry = b""  # a UTF-8 sequence cut by the end of the previous block
    block, offset = head, 0
    while block:
        following = fh.read(BLOCK)
        data = carry + block if carry else block
        text, used = codecs.utf_8_decode(data, "surrogateescape", not following)
        carry = data[used:]
        lines.start(text, offset)
        if "\x00" in text:
            nuls.note(text, text.count("\x00"), lines)
        if not text.isascii():
            # a stray byte is one lone surrogate, which surrogatepass writes as three bytes
            n_stray = (len(text.encode("utf-8", "surrogatepass")) - used) // 2
            if n_stray:
                stray.note(text, n_stray, lines)
            multibyte = multibyte or len(text) - len(text.encode("ascii", "ignore")) > n_stray
            cp1252_undefined = cp1252_undefined or any(bytes([b]) in block for b in _CP1252_UNDEFINED)
        offset += len(block)
        block = following
    found = Decoding(codec="utf-8-sig", name="utf-8", source=path, has_nuls=bool(nuls.items))
    if stray.items and multibyte:
        found.warnings.append(
            f"the file is UTF-8 but {stray.items} byte{'s are' if stray.items > 1 else ' is'} not, on "
            f"{stray.where()}; {'they were' if stray.items > 1 else 'it was'} read as cp1252 (Windows Latin-1). "
            "Check the accented characters there.")
    elif stray.items:
        found.codec = found.name = "latin-1" if cp1252_undefined else "cp1252"
        found.warnings.append(f"the file is not valid UTF-8; it was read as {found.name}. Check accented characters.")
    if nuls.items:
        found.warnings.append(
            f"the file holds {nuls.items} NUL byte{'s' if nuls.items > 1 else ''} (on {nuls.where()}), which no "
            f"text holds; {'they were' if nuls.items > 1 else 'it was'} dropped. Check those lines against the "
            "database's own record.")
    return found


def _transcode(path: str, fh: BinaryIO, codec: str, name: str) -> str:
    """A UTF-8 copy of the rest of ``fh`` (after its byte-order mark), written block by block."""
    decode = _DECODERS[codec]
    fd, copy = tempfile.mkstemp(prefix="screening-", suffix=".utf8")
    try:
        with os.fdopen(fd, "wb") as out:
            breaks = _Breaks()
            pending = b""
            while True:
                block = fh.read(BLOCK)
                data = pending + block if pending else block
                final = not block
                try:
                    text, used = decode(data, "strict", final)
                except UnicodeDecodeError as exc:
                    before = decode(data[:exc.start], "ignore", True)[0].encode("utf-8")
                    line = breaks.lines + 1 + _breaks(before, 0, len(before), breaks.after_cr)
                    raise InputFileError(path, f"this {name} file has bytes that are not {name} "
                                         f"({exc.reason}).", line=line,
                                         hint="Save the file again as UTF-8 and import that.") from None
                pending = data[used:]
                if text:
                    encoded = text.encode("utf-8")
                    out.write(encoded)
                    breaks.block_done(encoded)
                if final:
                    break
    except BaseException:
        os.remove(copy)
        raise
    return copy


def remove_copy(found: Decoding, path: str) -> None:
    """Delete the temporary UTF-8 copy of a UTF-16/32 file, if ``found`` made one."""
    if found.source != path:
        try:
            os.remove(found.source)
        except FileNotFoundError:
            pass


def remove_copy_with(owner: object, found: Decoding, path: str) -> None:
    """Delete the copy when ``owner`` is garbage collected or the interpreter exits, at the latest."""
    if found.source != path:
        weakref.finalize(owner, remove_copy, found, path)
