"""RIS output. A record imported from RIS is written back tag for tag (its raw record); any
other record is written from its normalised fields with the tags our reader derives them
from, so that export then re-import yields the same records and fields.

rispy's writer works on its mapped dictionaries, which cannot hold a repeated non-list tag
(two ``AB`` or ``SN`` lines) in order; writing ``TAG  - value`` pairs keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from screening.readers.types import RecordFields


def raw_from_fields(f: RecordFields) -> list[tuple[str, str]]:
    """RIS tags for a record that did not come from RIS (PubMed, CSV, Web of Science, by hand)."""
    out: list[tuple[str, str]] = [("TY", f.ris_type or "JOUR")]
    if f.ris_id:
        out.append(("ID", f.ris_id))
    if f.title:
        out.append(("TI", f.title))
    out += [("AU", a) for a in f.authors]
    if f.year is not None:
        out.append(("PY", str(f.year)))
    if f.journal:
        out.append(("JF", f.journal))
    if f.journal_abbrev:
        out.append(("JA", f.journal_abbrev))
    for tag, value in (("VL", f.volume), ("IS", f.issue)):
        if value:
            out.append((tag, value))
    if f.pages:
        start, sep, end = f.pages.partition("-")
        out.append(("SP", start if sep and end else f.pages))
        if sep and end:
            out.append(("EP", end))
    if f.abstract:
        out.append(("AB", f.abstract))
    if f.copyright:
        out.append(("AB", f.copyright))
    if f.doi:
        out.append(("DO", f.doi))
    if f.pmid:
        out.append(("N1", f"PMID: {f.pmid}"))
    out += [("KW", k) for k in f.keywords]
    out += [("SN", s) for s in f.issn]
    if f.language:
        out.append(("LA", f.language))
    if f.pub_type:
        out.append(("M3", f.pub_type))
    if f.database:
        out.append(("DB", f.database))
    out += [("UR", u) for u in f.urls]
    return out


def write_ris(records: Iterable[tuple[list[tuple[str, str]] | None, RecordFields]], fh: IO[str]) -> int:
    """Write records as RIS; each item is ``(raw RIS tags or None, fields)``. Returns the count."""
    n = 0
    for raw, fields in records:
        pairs = raw if raw else raw_from_fields(fields)
        if not pairs or pairs[0][0] != "TY":
            pairs = [("TY", fields.ris_type or "JOUR"), *[p for p in pairs if p[0] != "TY"]]
        for tag, value in pairs:
            # continuation lines of a multi-line value are written untagged, as vendors do
            fh.write(f"{tag}  - {value}\n")
        fh.write("ER  - \n\n")
        n += 1
    return n
