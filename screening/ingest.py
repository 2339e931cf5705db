"""Import database exports into a search: idempotent, atomic, streamed.

The caller owns the transaction (one command = one transaction), so a bad file anywhere in
a multi-file import leaves nothing behind. A file whose content hash was already imported
into the same search is skipped, which makes re-running an import a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import String, bindparam, cast, select
from sqlalchemy.orm import Session

from screening.errors import InputFileError
from screening.readers import open_file
from screening.readers.types import ParsedRecord, RecordFields
from screening.searches import get_search
from screening.storage.models import ImportFile, Record, utcnow

BATCH_ROWS = 2000  # rows per executemany: large enough to amortise, small enough to stay flat in memory


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


def estimate_records(path: str | Path) -> int:
    """A cheap count of record starts for a progress bar (a byte scan, no parsing)."""
    n_ris = n_nbib = lines = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            n_ris += chunk.count(b"TY  -")
            n_nbib += chunk.count(b"PMID-")
            lines += chunk.count(b"\n")
    return n_ris or n_nbib or max(lines - 1, 1)


def record_row(fields: RecordFields) -> dict[str, Any]:
    """The database columns derived from a record's normalised fields."""
    return {
        "ris_type": fields.ris_type, "ris_id": fields.ris_id, "title": fields.title,
        "abstract": fields.abstract, "copyright": fields.copyright, "authors": fields.authors,
        "year": fields.year, "journal": fields.journal, "journal_abbrev": fields.journal_abbrev,
        "volume": fields.volume, "issue": fields.issue, "pages": fields.pages, "doi": fields.doi,
        "pmid": fields.pmid, "accessions": fields.accessions, "issn": fields.issn,
        "language": fields.language, "keywords": fields.keywords, "pub_type": fields.pub_type,
        "database": fields.database, "urls": fields.urls,
    }


JSON_COLUMNS = ("raw", "authors", "accessions", "issn", "keywords", "urls")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _rows(records: Iterable[ParsedRecord], search_id: int, file_id: int, fmt: str):  # type: ignore[no-untyped-def]
    now = utcnow()
    for rec in records:
        row = record_row(rec.fields)
        row.update(search_id=search_id, import_file_id=file_id, position=rec.position, line=rec.line,
                   format=fmt, raw=rec.raw, created_at=now)
        for col in JSON_COLUMNS:
            row[col] = _dumps(row[col])
        yield row


class _BulkInsert:
    """Many rows into ``record`` through one compiled statement and the driver's executemany.

    The per-row work SQLAlchemy's ORM does (type processing, JSON encoding) is done once per row
    here instead, which is most of an import's time on large files. Portable: the statement is
    compiled for the connection's dialect and fed in that dialect's parameter style.
    """

    def __init__(self, session: Session, columns: list[str]) -> None:
        self.conn = session.connection()
        table = Record.__table__
        dialect = self.conn.dialect
        values = {c: bindparam(c, type_=String() if c in JSON_COLUMNS else table.c[c].type) for c in columns}
        stmt = table.insert().values(values)
        if dialect.name == "postgresql":
            stmt = table.insert().from_select(columns, select(*[
                cast(bindparam(c, type_=String()), table.c[c].type) if c in JSON_COLUMNS else
                bindparam(c, type_=table.c[c].type) for c in columns]))
        self.compiled = stmt.compile(dialect=dialect)
        self.sql = str(self.compiled)
        self.positional = bool(self.compiled.positional)
        self.order = list(self.compiled.positiontup or []) if self.positional else None

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        if self.positional:
            params: Any = [tuple(r[k] for k in self.order) for r in rows]  # type: ignore[union-attr]
        else:
            params = rows
        self.conn.exec_driver_sql(self.sql, params)


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
        return FileReport(path, done.format, done.encoding, done.n_records, skipped=True)
    info, records = open_file(path)
    imp = ImportFile(search_id=search_id, path=os.path.abspath(path), sha256=sha, format=info.format,
                     encoding=info.encoding, n_records=0, warnings=[])
    session.add(imp)
    session.flush()
    n = 0
    batch: list[dict[str, Any]] = []
    write: _BulkInsert | None = None
    for row in _rows(records, search_id, imp.id, info.format):
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            write = write or _BulkInsert(session, list(row))
            write(batch)
            n += len(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        write = write or _BulkInsert(session, list(batch[0]))
        write(batch)
        n += len(batch)
        if progress:
            progress(len(batch))
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
