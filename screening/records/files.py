"""The review's file store: full texts (PDFs) kept once each, by the SHA-256 of their content.

A file is copied in under ``ab/abcdef...`` (its digest), so the same PDF attached twice is stored
once, a record's file never depends on where the user kept it, and nothing is lost when records
are merged (the events that name a file stay, and the file stays with them). The store lives
beside a SQLite database (``review.db.files/``) or where ``SCREENING_FILES`` says (a team server
sets it to a shared folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from screening.errors import InputFileError, NotFound, OutputFileError
from screening.storage.models import ReportEvent

PDF_MAGIC = b"%PDF-"
PDF_HEADER_WITHIN = 1024  # readers accept the header anywhere in the first kilobyte (PDF 1.7, annex H)


def store_root(db_url: str) -> Path:
    """Where a review's files live: ``$SCREENING_FILES``, else beside its SQLite file, else in the user's data."""
    if os.environ.get("SCREENING_FILES"):
        return Path(os.environ["SCREENING_FILES"])
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".files")
    return Path.home() / ".local" / "share" / "screening" / "files" / (url.database or "review")


class FileStore:
    """Content-addressed files under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, path: str | Path) -> str:
        """Copy a PDF in (once per content); returns its SHA-256."""
        source = Path(path)
        try:
            digest = hashlib.sha256()
            with open(source, "rb") as fh:
                head = fh.read(PDF_HEADER_WITHIN)
                if PDF_MAGIC not in head:
                    raise InputFileError(str(source), "is not a PDF: a report's full text is stored as its PDF "
                                         "(save or print the article as PDF and attach that).")
                digest.update(head)
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise InputFileError(str(source), f"cannot read it ({exc.strerror}).") from None
        sha = digest.hexdigest()
        target = self.path_of(sha)
        if not target.exists():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
                os.close(fd)
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputFileError(str(target), f"{exc.strerror}; check SCREENING_FILES and its permissions") \
                    from None
        return sha

    def path_of(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def get(self, sha: str) -> Path:
        path = self.path_of(sha)
        if not path.exists():
            raise NotFound("file", sha, f"the file {sha[:12]}... is not in the file store at {self.root}.")
        return path


@dataclass
class StoreCopy:
    """What :func:`copy_store` did: files copied, already there, and named by an event but missing."""

    root: str
    copied: int
    present: int
    missing: list[str]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def copy_store(session: Session, source_url: str, target_url: str) -> StoreCopy:
    """Copy every file the review's report events name into the store of the database at ``target_url``.

    ``screening copy`` moves the tables; the files live beside a SQLite database (or where
    ``SCREENING_FILES`` says), so a review moved to another database would otherwise lose its full
    texts. Files already in the target store (the same content) are not copied again.
    """
    source, target = FileStore(store_root(source_url)), FileStore(store_root(target_url))
    shas = sorted({sha for sha in session.scalars(select(ReportEvent.file_sha256).distinct()) if sha})
    copied = present = 0
    missing: list[str] = []
    for sha in shas:
        if target.path_of(sha).exists():
            present += 1
        elif not source.path_of(sha).exists():
            missing.append(sha)
        else:
            target.put(source.path_of(sha))
            copied += 1
    return StoreCopy(str(target.root), copied, present, missing)
