"""Property-based fuzzing of the importers (hypothesis): made-up RIS, PubMed and CSV files.

The files are built from random records and then roughened the ways real exports are: random
tags and values, CRLF/LF/CR line ends, BOMs (UTF-8, UTF-16 in both byte orders), stray cp1252
bytes in UTF-8, NULs, tags in lower case, a last record without ``ER``, cells and values of
hundreds of KB. For every file:

* the import ends with records or with an :class:`InputFileError`, never another exception;
* it takes at most ``SECONDS`` of CPU (the regular expressions and loops are linear);
* every record written is imported (``TY`` ... ``ER`` records, PubMed ``PMID`` records, CSV rows)
  and nothing stored holds what PostgreSQL refuses (NUL, values longer than their column).

A second property throws damaged and random bytes at the importer and asks only for the first
two. In the test suite each property runs a few dozen examples with a fixed seed; ``make fuzz``
runs thousands with fresh seeds (``SCREENING_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from screening.errors import InputFileError
from screening.records.ingest import COLUMN_LIMITS, FileReport, import_file
from screening.records.searches import add_search
from screening.storage.db import Database
from screening.storage.models import Record

SECONDS = 2.0
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
          HealthCheck.filter_too_much]
settings.register_profile("screening-ci", max_examples=25, deadline=None, database=None, derandomize=True,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("screening-fuzz", max_examples=int(os.environ.get("SCREENING_FUZZ_EXAMPLES") or 2000),
                          deadline=None, database=None, suppress_health_check=_QUIET, print_blob=True)
FUZZ = settings.get_profile("screening-fuzz" if os.environ.get("SCREENING_FUZZ_EXAMPLES") else "screening-ci")


@pytest.fixture(scope="module")
def fuzz_db(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path]]:
    """One migrated database and one folder for the whole module; every example is rolled back."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(template_db, folder / "fuzz.db")
    database = Database(f"sqlite:///{folder / 'fuzz.db'}")
    yield database, folder
    database.dispose()


def import_once(database: Database, path: Path) -> tuple[FileReport | None, list[tuple[object, ...]]]:
    """Import ``path`` into a new search and roll back: (report or None for an InputFileError, stored rows)."""
    session = database.writes()
    session.begin()
    try:
        search = add_search(session, "fuzz", "MEDLINE")
        started = time.process_time()  # CPU time: a busy test machine must not fail a fast import
        try:
            report = import_file(session, search.id, path)
        except InputFileError as exc:
            report = None
            assert str(path) in str(exc)
        took = time.process_time() - started
        assert took < SECONDS, f"the import took {took:.2f} s of CPU"
        columns = [Record.title, Record.abstract, Record.raw, *(Record.__table__.c[c] for _, c, _ in COLUMN_LIMITS)]
        rows = [tuple(r) for r in session.execute(select(*columns))] if report else []
        return report, rows
    finally:
        session.rollback()
        session.close()


def assert_storable(rows: list[tuple[object, ...]]) -> None:
    """Nothing PostgreSQL would refuse: no NUL anywhere, no value longer than its column."""
    for title, abstract, raw, *bounded in rows:
        assert "\x00" not in repr((title, abstract, raw))
        for value, (_, column, limit) in zip(bounded, COLUMN_LIMITS, strict=True):
            assert value is None or len(str(value)) <= limit, column


# ----------------------------------------------------------------------------------------------
# building blocks

STRAY = "\ue000"  # a placeholder for a byte that is not UTF-8, swapped in when the file is written
STRAY_BYTES = b"\xe9\xe8\x81\xfc\xc3\x9d\x92\xff"  # (no 0xA0: read as cp1252 it is a space)
PLAIN = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="-" + STRAY)  # no line ends
WORDS = st.text(PLAIN, max_size=40)
SPECIAL = st.sampled_from([
    "Copyright © 2020 Elsevier Ltd. All rights reserved.", "the copyright holder " * 8 + "agreed. Results",
    "(c) 2019 " * 30, "(" * 3000, " " * 3000 + "x", "10.1000/" + "x" * 400, "9" * 150, "PMID: 12345678",
    "https://doi.org/10.1016/j.x.2020.01.001", "Accession Number: 123", "Smith JA, Doe B, Roe C", "1234-5678 (Print)",
    "Café naïve – Zürich 中文 𝔘", "] " * 500 + "copyright",
])
HUGE = st.integers(100_000, 300_000).map(lambda n: ("word " * (n // 5 + 1))[:n])
ROUGH = st.lists(st.sampled_from([STRAY, "\x00", "é", "\ufeff", " "]), max_size=2).map("".join)


@st.composite
def values(draw: st.DrawFn, huge: bool = True) -> str:
    kinds = [WORDS, WORDS, SPECIAL] + ([HUGE] if huge and draw(st.integers(0, 9)) == 0 else [])
    value = draw(st.one_of(*kinds))
    rough = draw(ROUGH)
    at = draw(st.integers(0, len(value)))
    return value[:at] + rough + value[at:]


RIS_TAGS = st.one_of(
    st.sampled_from(["TI", "T1", "AB", "N2", "AU", "A1", "PY", "Y1", "JF", "JO", "VL", "IS", "SP", "EP", "DO", "KW",
                     "N1", "SN", "UR", "L2", "ID", "M3", "LA", "DB", "C2", "C3", "C5", "U2", "AN", "DP", "AD"]),
    st.tuples(st.sampled_from(string.ascii_uppercase), st.sampled_from(string.ascii_uppercase + string.digits)).map(
        "".join).filter(lambda t: t not in ("TY", "ER")),
)
NBIB_TAGS = st.one_of(
    st.sampled_from(["TI", "AB", "AU", "FAU", "DP", "JT", "TA", "VI", "IP", "PG", "LID", "AID", "LA", "OT", "MH", "PT",
                     "IS", "PMC"]),
    st.lists(st.sampled_from(string.ascii_uppercase), min_size=2, max_size=4).map("".join).filter(
        lambda t: t not in ("PMID", "TY")),
)


@dataclass
class Made:
    text: str
    records: int  # records written
    wide: str | None  # None (UTF-8), "utf-16-le" or "utf-16-be"
    bom: bool  # a UTF-8 BOM


@st.composite
def ris_files(draw: st.DrawFn) -> Made:
    n = draw(st.integers(1, 6))
    lines: list[str] = []
    for i in range(n):
        lower = draw(st.booleans())
        start = "ty" if lower and draw(st.booleans()) else "TY"
        lines.append(f"{start}  - {draw(st.sampled_from(['JOUR', 'BOOK', '']))}")
        for tag, value in draw(st.lists(st.tuples(RIS_TAGS, values()), max_size=6)):
            if lower and draw(st.booleans()):
                tag = tag.lower()
            lines.append(f"{tag}  - {value}")
            lines += ["      " + v for v in draw(st.lists(values(huge=False), max_size=2))]  # continuation lines
        if i < n - 1 or draw(st.booleans()):  # the last record may lack its ER
            lines.append("er  - " if lower and draw(st.booleans()) else "ER  - ")
        lines += [""] * draw(st.integers(0, 2))
    return _finish(draw, lines, n)


@st.composite
def nbib_files(draw: st.DrawFn) -> Made:
    n = draw(st.integers(1, 6))
    lines: list[str] = []
    for _ in range(n):
        lines.append(f"PMID- {draw(st.integers(1, 10**9))}")
        for tag, value in draw(st.lists(st.tuples(NBIB_TAGS, values()), max_size=6)):
            lines.append(f"{tag:<4}- {value}")
            lines += ["      " + v for v in draw(st.lists(values(huge=False), max_size=2))]
        lines.append("")
    return _finish(draw, lines, n)


@st.composite
def csv_files(draw: st.DrawFn) -> Made:
    header = ["Title", *draw(st.lists(st.sampled_from(["Abstract", "Authors", "Year", "DOI", "Volume", "Source title",
                                                       "Author Keywords", "ISSN", "PubMed ID"]),
                                      unique=True, min_size=1, max_size=5))]
    rows = draw(st.lists(st.lists(st.one_of(values(), st.just("first line\nsecond line")),
                                  min_size=len(header), max_size=len(header)), min_size=1, max_size=6))
    rows = [r for r in rows if any(c.replace("\x00", "").replace(STRAY, "x").strip() for c in r)]
    rows = rows or [["a title", *[""] * (len(header) - 1)]]
    buf = io.StringIO()
    csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
               lineterminator="\n").writerows([header, *rows])
    return _finish(draw, buf.getvalue().split("\n")[:-1], len(rows))  # (cells' own line ends too)


def _finish(draw: st.DrawFn, lines: list[str], n: int) -> Made:
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    head, *rest = text.split("\x00")  # a few stray NULs, as damaged exports have (a file of NULs is binary)
    text = head + "".join(("\x00" if i < 4 else "") + part for i, part in enumerate(rest))
    wide = draw(st.sampled_from([None, None, None, "utf-16-le", "utf-16-be"]))
    return Made(text=text, records=n, wide=wide, bom=wide is None and draw(st.booleans()))


def write(made: Made, path: Path) -> None:
    if made.wide:  # (no stray bytes in UTF-16: there the placeholder is a plain character)
        boms = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
        data = boms[made.wide] + made.text.replace(STRAY, "?").encode(made.wide)
    else:
        parts = made.text.split(STRAY)
        data = b"".join(part.encode("utf-8") + (STRAY_BYTES[i % len(STRAY_BYTES):][:1] if i < len(parts) - 1 else b"")
                        for i, part in enumerate(parts))
        data = (codecs.BOM_UTF8 if made.bom else b"") + data
    path.write_bytes(data)


# ----------------------------------------------------------------------------------------------
# the properties

@FUZZ
@given(made=st.one_of(ris_files(), nbib_files(), csv_files()))
def test_every_record_written_is_imported_and_storable(fuzz_db: tuple[Database, Path], made: Made) -> None:
    database, folder = fuzz_db
    path = folder / "made.txt"
    write(made, path)
    event(f"encoding: {made.wide or ('utf-8 with BOM' if made.bom else 'utf-8')}")
    for feature in ("\x00", STRAY, "\r", "ty  - ", "er  - "):
        if feature in made.text:
            event(f"has {feature!r}")
    if len(made.text) > 100_000:
        event("over 100 KB")
    report, rows = import_once(database, path)
    assert report is not None, "a well-formed file was refused"
    assert report.records == made.records == len(rows)
    assert_storable(rows)


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    made = draw(st.one_of(ris_files(), nbib_files(), csv_files()))
    data = made.text.encode("utf-8", "replace")
    for _ in range(draw(st.integers(1, 8))):  # insert, delete or overwrite a few bytes anywhere
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(max_size=8))
        data = data[:at] + junk + data[at + draw(st.integers(0, 3)):]
    prefix = draw(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE,
                                   codecs.BOM_UTF32_LE]))
    return prefix + data


@FUZZ
@given(data=st.one_of(damaged_files(), st.binary(max_size=3000),
                      st.tuples(st.sampled_from([b"TY  - JOUR\n", b"PMID- 1\n", b"Title,Abstract\n", b"\xff\xfe",
                                                 b"FN Clarivate\nVR 1.0\nPT J\n"]),
                                st.binary(max_size=3000)).map(b"".join)))
def test_any_bytes_end_in_records_or_a_named_error(fuzz_db: tuple[Database, Path], data: bytes) -> None:
    database, folder = fuzz_db
    path = folder / "damaged.txt"
    path.write_bytes(data)
    report, rows = import_once(database, path)
    event("refused (InputFileError)" if report is None else f"imported {report.format}")
    if report is not None:
        assert report.records == len(rows)
        assert_storable(rows)
