"""The shapes every reader yields, whatever the file format.

A reader keeps the record exactly as the file gave it (``raw``: every tag, in order, repeated
tags repeated) and derives the normalised fields from it, so that nothing is lost and the
fields can always be derived again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordFields:
    """Normalised bibliographic fields derived from a raw record."""

    ris_type: str | None = None
    ris_id: str | None = None
    title: str | None = None
    abstract: str | None = None
    copyright: str | None = None  # vendor copyright notices, kept apart from the abstract
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    journal_abbrev: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # "start-end" or a single page / article number
    doi: str | None = None  # bare, lower-case: 10.1000/xyz
    pmid: str | None = None
    accessions: dict[str, str] = field(default_factory=dict)  # e.g. {"embase": "L2029880245", "wos": "WOS:..."}
    issn: list[str] = field(default_factory=list)
    language: str | None = None
    keywords: list[str] = field(default_factory=list)
    pub_type: str | None = None
    database: str | None = None  # the database the vendor names in the record (DB tag), if any
    urls: list[str] = field(default_factory=list)


@dataclass
class ParsedRecord:
    """One record of an input file."""

    position: int  # 1-based position of the record in its file
    line: int  # 1-based line of the file where the record starts
    raw: list[tuple[str, str]]  # every tag and value, in file order; repeated tags repeated
    fields: RecordFields


@dataclass
class FileInfo:
    """What a reader learned about a whole file: format, encoding, warnings for the user."""

    path: str
    format: str  # "ris", "nbib", "csv", "wos", ...
    encoding: str  # as reported to the user: utf-8, utf-16, cp1252, ...
    warnings: list[str] = field(default_factory=list)
    n_records: int = 0
    source: str = ""  # the file the records are parsed from: ``path``, or a UTF-8 copy of a UTF-16 file
    codec: str = ""  # how ``source`` is decoded (with the ``encoding.STRAY_BYTES`` error handler)

    def __post_init__(self) -> None:
        self.source = self.source or self.path
        self.codec = self.codec or ("utf-8-sig" if self.encoding.startswith("utf-") else self.encoding)
