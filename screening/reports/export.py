"""Exports of records as CSV (the contract's columns) or RIS, streamed from the database."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.dedup.service import Related, related_to
from screening.readers.types import RecordFields
from screening.readers.writer import write_ris
from screening.review.conflicts import final_decisions
from screening.review.sets import get_set
from screening.storage.models import Record, Search, SetMember

EXPORT_FORMATS = ("csv", "ris")
CSV_COLUMNS = [
    "record_id", "ris_id", "search", "database", "title", "abstract", "authors", "year", "journal",
    "volume", "issue", "pages", "doi", "pmid", "duplicate_of", "related_to", "relation", "journal_abbrev", "issn",
    "keywords", "pub_type", "language", "accessions", "source", "file_position",
]


def record_fields(r: Record) -> RecordFields:
    """The normalised fields of a stored record, as the readers produce them."""
    return RecordFields(
        ris_type=r.ris_type, ris_id=r.ris_id, title=r.title, abstract=r.abstract, copyright=r.copyright,
        authors=list(r.authors or []), year=r.year, journal=r.journal, journal_abbrev=r.journal_abbrev,
        volume=r.volume, issue=r.issue, pages=r.pages, doi=r.doi, pmid=r.pmid,
        accessions=dict(r.accessions or {}), issn=list(r.issn or []), language=r.language,
        keywords=list(r.keywords or []), pub_type=r.pub_type, database=r.database, urls=list(r.urls or []),
    )


def select_records(session: Session, *, all_records: bool = False, set_name: str | None = None,
                   included: bool = False) -> Iterator[tuple[Record, Search | None]]:
    """The records an export covers, in import order, streamed in chunks."""
    stmt = select(Record, Search).outerjoin(Search, Record.search_id == Search.id).order_by(Record.id)
    if not all_records:
        stmt = stmt.where(Record.duplicate_of.is_(None))
    set_id = None
    if set_name:
        set_id = get_set(session, set_name).id
        stmt = stmt.where(Record.id.in_(select(SetMember.record_id).where(SetMember.set_id == set_id)))
    keep: set[int] | None = None
    if included:
        keep = {rid for rid, d in final_decisions(session, set_id).items() if d == "include"}
    for rec, search in session.execute(stmt.execution_options(yield_per=2000)):
        if keep is not None and rec.id not in keep:
            continue
        yield rec, search


def csv_row(r: Record, s: Search | None, related: Sequence[Related] = ()) -> dict[str, Any]:
    """One record as a CSV row; ``related`` are the records linked to it (``related_to`` and ``relation``
    list them in the same order: "retraction" = that record retracts this one, "erratum of" = this
    record is that one's erratum)."""
    return {
        "record_id": r.id, "ris_id": r.ris_id or "", "search": s.name if s else "",
        "database": s.database if s else (r.database or ""), "title": r.title or "",
        "abstract": r.abstract or "", "authors": "; ".join(r.authors or []),
        "year": "" if r.year is None else r.year, "journal": r.journal or "", "volume": r.volume or "",
        "issue": r.issue or "", "pages": r.pages or "", "doi": r.doi or "", "pmid": r.pmid or "",
        "duplicate_of": r.duplicate_of or "", "related_to": "; ".join(str(x.record_id) for x in related),
        "relation": "; ".join(x.relation for x in related), "journal_abbrev": r.journal_abbrev or "",
        "issn": "; ".join(r.issn or []), "keywords": "; ".join(r.keywords or []),
        "pub_type": r.pub_type or "", "language": r.language or "",
        "accessions": json.dumps(r.accessions, ensure_ascii=False) if r.accessions else "",
        "source": r.source or "", "file_position": r.position or "",
    }


def export_records(session: Session, fh: IO[str], fmt: str, *, all_records: bool = False,
                   set_name: str | None = None, included: bool = False) -> int:
    """Write the selected records to ``fh``; returns how many were written."""
    rows = select_records(session, all_records=all_records, set_name=set_name, included=included)
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        links = related_to(session)  # every link: a small table, read once
        for r, s in rows:
            writer.writerow(csv_row(r, s, links.get(r.id, ())))
            n += 1
        return n
    def items() -> Iterator[tuple[list[tuple[str, str]] | None, RecordFields]]:
        nonlocal n
        for r, _s in rows:
            n += 1
            raw = [(t, v) for t, v in r.raw] if r.format == "ris" and r.raw else None
            yield raw, record_fields(r)

    write_ris(items(), fh)
    return n
