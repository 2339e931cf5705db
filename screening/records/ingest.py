"""Import database exports into a search: idempotent, atomic, streamed.

The caller owns the transaction (one command = one transaction), so a bad file anywhere in
a multi-file import leaves nothing behind. A file whose content hash was already imported
into the same search is skipped, which makes re-running an import a no-op.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import String, Table, bindparam, cast, select
from sqlalchemy.orm import Session

from screening.errors import InputFileError
from screening.readers import FORMATS, open_file, release
from screening.readers.chunks import ChunkStats, Reconciler, parse_chunk, paused_gc, plan_chunks
from screening.readers.types import FileInfo, ParsedRecord, RecordFields
from screening.records.searches import get_search
from screening.storage.models import ImportFile, Record, utcnow

BATCH_ROWS = 2000  # rows per executemany: large enough to amortise, small enough to stay flat in memory
PARALLEL_MIN_BYTES = 8 << 20  # below this, starting parse processes costs more than it saves
MAX_WORKERS = 4


@dataclass
class FileReport:
    path: str
    format: str | None
    encoding: str | None
    records: int
    skipped: bool = False  # the same content was imported into this search before
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    search: str
    files: list[FileReport]

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files if not f.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {"search": self.search, "records": self.records, "files": [asdict(f) for f in self.files]}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_row(fields: RecordFields) -> dict[str, Any]:
    """The database columns derived from a record's normalised fields."""
    return {c: getattr(fields, c) for c in FIELD_COLUMNS}


FIELD_COLUMNS = ("ris_type", "ris_id", "title", "abstract", "copyright", "authors", "year", "journal",
                 "journal_abbrev", "volume", "issue", "pages", "doi", "pmid", "accessions", "issn", "language",
                 "keywords", "pub_type", "database", "urls")
# A row as the writer takes it, in the table's column order (so the compiled INSERT ... VALUES
# takes rows as they come). The per-file values (search, file, format, time) are ``fixed``.
ROW_COLUMNS = ("search_id", "import_file_id", "position", "line", "format", "raw", *FIELD_COLUMNS, "created_at")
JSON_COLUMNS = frozenset(("raw", "authors", "accessions", "issn", "keywords", "urls"))
POSITION, LINE = 2, 3


def _column_limits() -> tuple[tuple[int, str, int], ...]:
    """``(index in a row, column, length)`` of every bounded text column a record's fields fill."""
    table = Record.__table__
    assert isinstance(table, Table)
    return tuple((i, c, t.length) for i, c in enumerate(ROW_COLUMNS)
                 if c in FIELD_COLUMNS and isinstance(t := table.c[c].type, String) and t.length)


# Read from the schema, so a migration that widens a column widens the check. SQLite stores a
# longer value whole; PostgreSQL refuses it (StringDataRightTruncation) and the import with it.
COLUMN_LIMITS = _column_limits()


def _dumps(value: Any) -> str:
    # orjson: the raw record is most of a row, and encoding it with the json module was a
    # fifth of an import's time
    return orjson.dumps(value).decode()


def _row(rec: ParsedRecord, fixed: tuple[Any, Any, str, Any]) -> list[Any]:
    """A record as the writer takes it (``ROW_COLUMNS``); ``fixed`` is (search, file, format, time)."""
    f = rec.fields
    d = _dumps
    search_id, file_id, fmt, created_at = fixed
    return [search_id, file_id, rec.position, rec.line, fmt, d(rec.raw), f.ris_type, f.ris_id, f.title,
            f.abstract, f.copyright, d(f.authors), f.year, f.journal, f.journal_abbrev, f.volume, f.issue,
            f.pages, f.doi, f.pmid, d(f.accessions), d(f.issn), f.language, d(f.keywords), f.pub_type,
            f.database, d(f.urls), created_at]


def fit_columns(row: list[Any]) -> list[tuple[str, int]]:
    """Cut the derived values of ``row`` that are longer than their column; return ``(column, length)`` of each.

    Only the derived column is cut: the raw record (``raw``) keeps the value whole.
    """
    cut: list[tuple[str, int]] = []
    for i, column, limit in COLUMN_LIMITS:
        value = row[i]
        if value is not None and len(value) > limit:
            cut.append((column, len(value)))
            row[i] = value[:limit]
    return cut


Cuts = list[tuple[int, str, int]]  # (line of the record, column, the value's length) of each value cut


def parse_rows(path: str, encoding: str, fmt: str, offset: int, length: int,
               fixed: tuple[Any, ...]) -> tuple[list[list[Any]], ChunkStats, Cuts]:
    """One chunk of a tagged file as rows ready to write (run in a worker process for large files).

    The third item lists the values cut to their column's length, with the record's line in the chunk.
    """
    records, stats = parse_chunk(path, encoding, fmt, offset, length)
    rows = [_row(r, fixed) for r in records]
    cuts = [(row[LINE], column, n) for row in rows for column, n in fit_columns(row)]
    return rows, stats, cuts


class _BulkInsert:
    """Many rows into ``record`` through one compiled statement and the driver's executemany.

    The per-row work SQLAlchemy's ORM does (type processing, JSON encoding) is done once per row
    here instead (in the parse workers), which is most of an import's time on large files.
    Portable: the statement is compiled for the connection's dialect and fed in that dialect's
    parameter style.
    """

    def __init__(self, session: Session, search_id: int, file_id: int, fmt: str) -> None:
        self.conn = session.connection()
        table = Record.__table__
        assert isinstance(table, Table)
        dialect = self.conn.dialect
        # the timestamp in the form the driver stores, converted once here rather than per row
        to_db = table.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        now = utcnow()
        self.fixed = (search_id, file_id, fmt, to_db(now) if to_db else now)
        columns = list(ROW_COLUMNS)
        # INSERT ... VALUES (not INSERT ... SELECT, which SQLite runs at half the speed) with the
        # JSON columns bound as text already encoded; PostgreSQL casts that text to its JSON type.
        cast_json = dialect.name == "postgresql"
        stmt = table.insert().values({
            c: cast(bindparam(c, type_=String()), table.c[c].type) if cast_json and c in JSON_COLUMNS else
            bindparam(c, type_=String() if c in JSON_COLUMNS else table.c[c].type) for c in columns})
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.columns = columns
        self.positional = bool(compiled.positional)
        order = list(compiled.positiontup or []) if self.positional else columns
        self.order = None if order == columns else [columns.index(c) for c in order]

    def __call__(self, rows: list[list[Any]]) -> None:
        """Write rows made by ``_row`` with this writer's ``fixed`` values."""
        if not self.positional:
            self.conn.exec_driver_sql(self.sql, [dict(zip(self.columns, r, strict=True)) for r in rows])
            return
        if self.order is not None:
            rows = [[r[i] for i in self.order] for r in rows]
        # the driver's own cursor on this transaction's connection: it takes the lists as they are
        # (the pool's connection is open inside a transaction, never None: SQLAlchemy types it optional)
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, rows)
        finally:
            cursor.close()


def _chunk_results(path: str, encoding: str, fmt: str,
                   fixed: tuple[Any, ...]) -> Iterator[tuple[list[list[Any]], ChunkStats, Cuts]]:
    """Parsed chunks in file order: in worker processes for a large file, here for a small one.

    At most two chunks per worker are in flight, so memory stays flat while this process writes.
    The workers end with this process, even when it is killed (``_die_with_parent``).
    """
    chunks = plan_chunks(path, fmt)
    workers = _workers(path)
    if workers <= 1:
        for offset, length in chunks:
            yield parse_rows(path, encoding, fmt, offset, length, fixed)
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        pending: deque[Future[tuple[list[list[Any]], ChunkStats, Cuts]]] = deque()
        for offset, length in chunks:
            pending.append(pool.submit(parse_rows, path, encoding, fmt, offset, length, fixed))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the importer ends, however it ends.

    A worker whose importer was killed (SIGKILL, the OOM killer) would otherwise wait for work
    forever, holding its memory. Linux kills it with its parent (``PR_SET_PDEATHSIG``); elsewhere
    a thread notices that the parent is gone.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            done = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            done = False
        if done:
            if os.getppid() != parent:  # the parent died before the signal was asked for
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _workers(path: str) -> int:
    """Parse processes for a file: none for small files, where starting them costs more than it saves."""
    if os.path.getsize(path) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _import_tagged(session: Session, imp: ImportFile, info: FileInfo,
                   progress: Callable[[int], None] | None) -> int:
    write = _BulkInsert(session, imp.search_id, imp.id, info.format)
    reconciler = Reconciler(info)
    source = info.source
    cuts: Cuts = []
    # progress is in bytes of the user's file; a UTF-16 file is parsed from its (smaller) UTF-8 copy
    scale = os.path.getsize(info.path) / max(1, os.path.getsize(source)) if source != info.path else 1.0
    done = 0
    with paused_gc():
        for rows, stats, chunk_cuts in _chunk_results(source, info.codec, info.format, write.fixed):
            line_offset, position_offset = reconciler.add(stats)
            for row in rows:
                row[POSITION] += position_offset
                row[LINE] += line_offset
            cuts += [(line + line_offset, column, n) for line, column, n in chunk_cuts]
            for i in range(0, len(rows), BATCH_ROWS):
                write(rows[i:i + BATCH_ROWS])
            if progress:
                now = round((done + stats.bytes) * scale) - round(done * scale)
                done += stats.bytes
                progress(now)
    reconciler.finish()
    _warn_cuts(info, cuts)
    return info.n_records


def _warn_cuts(info: FileInfo, cuts: Cuts) -> None:
    if not cuts:
        return
    limits = {column: limit for _, column, limit in COLUMN_LIMITS}
    listed = "; ".join(f"line {line}: {column} ({n} characters, the column holds {limits[column]})"
                       for line, column, n in cuts[:10])
    more = f"; and {len(cuts) - 10} more" if len(cuts) > 10 else ""
    one = len(cuts) == 1
    info.warnings.append(
        f"{len(cuts)} value{'' if one else 's'} longer than {'its' if one else 'their'} database column "
        f"{'was' if one else 'were'} cut to fit, in the records starting at {listed}{more}. The raw record "
        f"keeps {'it' if one else 'them'} whole.")


def _import_records(session: Session, imp: ImportFile, info: FileInfo, records: Iterable[ParsedRecord],
                    progress: Callable[[int], None] | None) -> int:
    write = _BulkInsert(session, imp.search_id, imp.id, info.format)
    n = done = 0
    size = os.path.getsize(info.path)
    lines = _count_lines(info.source) if progress else 1
    cuts: Cuts = []
    for batch in _batched(records, BATCH_ROWS):
        rows = [_row(r, write.fixed) for r in batch]
        for row in rows:
            cuts += [(row[LINE], column, length) for column, length in fit_columns(row)]
        write(rows)
        n += len(batch)
        if progress:  # in bytes, estimated from the line the reader has reached
            now = min(size, size * batch[-1].line // max(lines, 1))
            progress(now - done)
            done = now
    if progress:
        progress(size - done)
    _warn_cuts(info, cuts)
    return n


def _count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))


def _batched(items: Iterable[ParsedRecord], size: int) -> Iterator[list[ParsedRecord]]:
    batch: list[ParsedRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(
    session: Session, search_id: int, path: str | Path, *, progress: Callable[[int], None] | None = None
) -> FileReport:
    """Import one file into a search (inside the caller's transaction)."""
    path = str(path)
    if not os.path.isfile(path):
        raise InputFileError(path, "no such file.", hint="Check the path and try again.")
    sha = file_sha256(path)
    done = session.scalar(select(ImportFile).where(ImportFile.search_id == search_id, ImportFile.sha256 == sha))
    if done is not None:
        if progress:
            progress(os.path.getsize(path))
        return FileReport(path, done.format, done.encoding, done.n_records, skipped=True)
    info, records = open_file(path)
    try:
        imp = ImportFile(search_id=search_id, path=os.path.abspath(path), sha256=sha, format=info.format,
                         encoding=info.encoding, n_records=0, warnings=[])
        session.add(imp)
        session.flush()
        if FORMATS[info.format].tagged:
            n = _import_tagged(session, imp, info, progress)
        else:
            n = _import_records(session, imp, info, records, progress)
    finally:
        release(info)  # the UTF-8 copy a UTF-16 file was read from
    if n == 0:
        raise InputFileError(path, "no records found.",
                             hint="Is this a database export (RIS, PubMed/MEDLINE .nbib or CSV)?")
    imp.n_records = n
    imp.warnings = list(info.warnings)
    return FileReport(path, info.format, info.encoding, n, warnings=list(info.warnings))


def import_files(
    session: Session, search_name: str, paths: Iterable[str | Path],
    *, progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import several files into one search; the caller's transaction makes it all-or-nothing."""
    search = get_search(session, search_name)
    reports = [import_file(session, search.id, p, progress=progress) for p in paths]
    return ImportReport(search.name, reports)
