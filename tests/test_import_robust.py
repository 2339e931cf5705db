"""The importer is linear and total: adversarial text, odd encodings, NULs, long values, killed imports.

Every file here is made up by the test. Each section names the failure it guards against; on the
code before these fixes each of them hung, lost or mangled text, let a value through that
PostgreSQL refuses, or left worker processes behind.
"""

from __future__ import annotations

import codecs
import csv
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from screening.errors import InputFileError
from screening.readers import chunks, encoding, fields, open_file
from screening.readers.tagged import NbibParser, RawRisParser, RawWokParser, TaggedStats, iter_tagged
from screening.records.ingest import COLUMN_LIMITS, import_file
from screening.records.searches import add_search
from screening.storage.models import ImportFile, Record


class TooSlow(AssertionError):
    pass


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail if the block uses more than ``seconds`` of CPU; a regex stuck in backtracking is interrupted.

    CPU time, not wall time: a busy test machine must not fail a linear function, and a
    super-linear one burns CPU whatever else runs.
    """
    start = time.process_time()
    main = threading.current_thread() is threading.main_thread()
    if main:
        def interrupt(signum: int, frame: object) -> None:
            raise TooSlow(f"still running after {seconds * 4} s of CPU")

        previous = signal.signal(signal.SIGVTALRM, interrupt)
        signal.setitimer(signal.ITIMER_VIRTUAL, seconds * 4)  # a margin: interrupt a hang, measure the rest
    try:
        yield
    finally:
        if main:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, previous)
    took = time.process_time() - start
    if took > seconds:
        raise TooSlow(f"took {took:.2f} s of CPU (at most {seconds} s)")


def read(path: Path) -> tuple[Any, list[Any]]:
    info, records = open_file(path)
    return info, list(records)


def ris(*records: str, eol: str = "\n") -> str:
    return eol.join(records)


# ----------------------------------------------------------------------------------------------
# 1. Every regular expression applied to record text runs in linear time

# The pattern split_abstract used: a run of "sentences holding a notice word" to the end. Kept here
# as the reference its replacement must agree with (on texts short enough for it to finish).
OLD_NOTICE_RE = re.compile(
    r"(?:^|(?<=[.!?\]])\s)((?:[^.!?]*?(?:copyright|©|\(c\)\s*\d{4}|all rights reserved)[^.!?]*[.!?]?\s*)+)$", re.I
)


def test_a_sentence_repeating_copyright_does_not_hang_the_abstract_split() -> None:
    # 323 bytes: the old pattern took about six times longer per repetition of the word (hours here)
    abstract = ("Objective: to describe how the copyright holder, the copyright office, the copyright "
                "agent, the copyright lawyer, the copyright registry and the copyright owner interact in "
                "practice across several jurisdictions today. Methods: interviews with forty-two people "
                "working at publishers and libraries. Results: the roles overlap")
    assert len(abstract.encode()) == 323 and abstract.count("copyright") == 6
    with within(0.5):
        text, notice = fields.split_abstract([abstract])
    assert text == abstract and notice is None


@pytest.mark.parametrize("abstract", [
    "Background. We did things. Copyright © 2020 Elsevier Ltd. All rights reserved.",
    "We did things. © 2019 Wiley Periodicals, Inc.",
    "Results were good. (PsycInfo Database Record (c) 2020 APA, all rights reserved)",
    "This article is protected by copyright. All rights reserved.",
    "Copyright of Journal X is the property of Publisher Y and its content may not be copied.",
    "Results [truncated] Copyright 2020 the authors",
    "Plain abstract with no notice at all.",
    "©2020 The Authors. Published by Elsevier B.V.",
])
def test_notice_split_gives_what_the_old_pattern_gave(abstract: str) -> None:
    m = OLD_NOTICE_RE.search(abstract)
    assert fields.notice_start(abstract) == (m.start(1) if m else None)


def test_notice_start_agrees_with_the_old_pattern_on_random_short_texts() -> None:
    tokens = ["copyright", "Copyright", "©", "(c) 2020", "(C)2019", "all rights reserved", "ALL RIGHTS RESERVED",
              ".", ". ", "!", "?", " ", "  ", "]", "] ", "x", "Elsevier", "\n", "2020", "(c)", "B.V.", "the"]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 9)))
        pos = rng.choice([0, rng.randint(0, len(text))])
        m = OLD_NOTICE_RE.search(text, pos)
        assert fields.notice_start(text, pos) == (m.start(1) if m else None), (text, pos)


ADVERSARIAL = {  # 10-100 KB each, built to make backtracking patterns over record text blow up
    "spaces": "a" + " " * 100_000 + "x",
    "spaces then bracket": "1234-5678" + " " * 50_000 + "(Print" + " " * 50_000 + "x",
    "open brackets": "(" * 100_000,
    "open brackets, closed": "(" * 100_000 + ")",
    "copyright words": "the copyright holder " * 4_000 + "agreed. Results were good",
    "copyright sentences": "Copyright 2020. " * 5_000 + "Results",
    "(c) and spaces": "(c) " * 20_000 + "(c)" + " " * 20_000 + "x",
    "brackets and spaces": "] " * 40_000 + "copyright",
    "property of": "is the property of " * 4_000 + "x may not be",
    "pmid": "PMID " * 20_000 + "PMID:" + " " * 20_000 + "x",
    "pubmed embase": "PUBMED " * 8_000 + "EMBASE" + " " * 40_000,
    "dois": "10.1234/" * 10_000 + "10." + "1" * 20_000,
    "years": "1999" * 25_000,
    "accession": "Accession Number:" + " " * 60_000 + "x" + "Accession Number: " * 2_000,
    "urls": "?AN=" * 10_000 + "eid=2-s2.0-" * 5_000 + "&D=med" * 5_000,
    "authors": "van der Helm JJ, " * 5_000 + "x" * 10_000,
    "author initials": "A" * 50_000 + ", " + "B " * 20_000 + ", c",
    "commas": "a, " * 30_000,
    "semicolons": "kw; " * 25_000,
    "mixed": "(c) 2020, PMID: 1 10.1000/x [abstract] All rights reserved? " * 1_500,
}
TAGS = {"ris": ("TY", "ID", "TI", "AB", "N2", "AU", "A1", "PY", "Y1", "DA", "JF", "T2", "JO", "JA", "VL", "IS", "SP",
                "EP", "C7", "DO", "L1", "L2", "L3", "UR", "LK", "M3", "N1", "DB", "SN", "LA", "KW", "PT", "C2", "C3",
                "C5", "U2", "AN", "DP"),
        "nbib": ("PMID", "TI", "AB", "AU", "FAU", "DP", "DEP", "JT", "TA", "VI", "IP", "PG", "LID", "AID", "LA", "OT",
                 "MH", "PT", "IS", "PMC"),
        "wos": ("TI", "AB", "AU", "AF", "PY", "SO", "JI", "VL", "IS", "BP", "EP", "AR", "DI", "PM", "UT", "LA", "DE",
                "ID", "DT", "SN", "EI")}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_deriving_fields_is_linear_in_the_text(name: str) -> None:
    text = ADVERSARIAL[name]
    ris_raw = [(t, text) for t in TAGS["ris"]]
    csv_raw = [(c, text) for c in ("Title", "Abstract", "Authors", "Year", "DOI", "Pages", "ISSN", "Keywords")]
    with within(1.0):
        fields.fields_from_ris(ris_raw)
        fields.fields_from_nbib([(t, text) for t in TAGS["nbib"]])
        fields.fields_from_wos([(t, text) for t in TAGS["wos"]])
        fields.fields_from_csv(csv_raw)
        fields.split_abstract([text, text + " Copyright 2020 X. All rights reserved."])
        fields.clean_doi(text)
        fields.parse_year(text)
        fields.split_authors([text])
        fields.strip_trailing_note(text)


@pytest.mark.parametrize(("value", "stripped"), [
    ("1234-5678 (Print)", "1234-5678"), ("1234-5678 (Linking) ", "1234-5678"), ("1234-5678", "1234-5678"),
    ("a (b) (c)", "a"), ("a (b\nc) (d)", "a (b\nc)"), ("(x)", ""), ("a ) b", "a ) b"), ("a (b) x", "a (b) x"),
])
def test_trailing_note_is_stripped_as_the_old_pattern_did(value: str, stripped: str) -> None:
    assert fields.strip_trailing_note(value) == stripped == re.sub(r"\s*\(.*?\)\s*$", "", value)


@pytest.mark.parametrize("fmt", ["ris", "nbib", "wos"])
def test_finding_record_starts_is_linear_on_one_long_line(fmt: str) -> None:
    start = {"ris": "TY  - ", "nbib": "PMID- ", "wos": "PT J "}[fmt]
    text = ("x " + start) * 100_000  # a megabyte on one line: every start candidate is inside it
    with within(0.5):
        assert chunks._start_lines(text, fmt) == []
        assert chunks._start_lines(start + "\n" + text + "\n   " + start, fmt) == ([1, 3] if fmt == "ris" else [1])


@pytest.mark.parametrize(("parser", "tag"), [(RawRisParser, "TI  - "), (NbibParser, "TI  - "),
                                             (RawWokParser, "TI ")])
def test_a_value_of_many_lines_is_joined_in_linear_time(parser: type, tag: str) -> None:
    start = {RawRisParser: "TY  - JOUR", NbibParser: "PMID- 1", RawWokParser: "PT J"}[parser]
    lines = [start, tag + "first", *(["      continued"] * 100_000)]
    with within(1.0):
        records = list(iter_tagged(lines, parser(), TaggedStats()))
    value = records[0][1][1][1]
    assert len(records) == 1 and value.startswith("first") and value.count("continued") == 100_000


def test_a_record_longer_than_many_blocks_is_cut_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "long.ris"
    first = "TY  - JOUR\nAB  - " + "word " * 400_000 + "\nER  - \n\n"
    second = "TY  - JOUR\nTI  - next\nER  - \n"
    path.write_text(first + second)
    with within(1.0):
        planned = list(chunks.plan_chunks(str(path), "ris", size=256))
    assert planned == [(0, len(first)), (len(first), len(second))]


# ----------------------------------------------------------------------------------------------
# 2. One stray byte in a UTF-8 file: only that byte is read as cp1252

def stray_file(tmp_path: Path, eol: str = "\n") -> Path:
    path = tmp_path / "stray.ris"
    body = ris("TY  - JOUR", "TI  - Café naïve – Zürich", "AU  - Müller, J", "ER  - ", "",
               "TY  - JOUR", "TI  - @STRAY@ résumé", "ER  - ", "", eol=eol)
    path.write_bytes(body.encode("utf-8").replace(b"@STRAY@", b"Cr\xe8me br\xfbl\xe9e"))
    return path


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_stray_byte_in_utf8_is_read_alone_and_its_line_named(tmp_path: Path, eol: str) -> None:
    info, records = read(stray_file(tmp_path, eol))
    assert [r.fields.title for r in records] == ["Café naïve – Zürich", "Crème brûlée résumé"]
    assert records[0].fields.authors == ["Müller, J"]
    assert info.encoding == "utf-8"
    assert len(info.warnings) == 1 and "line 7" in info.warnings[0] and "3 bytes" in info.warnings[0]


def test_stray_bytes_are_found_across_block_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"TI  - ligne {i} é – ü" + (" \xe9t\xe9" if i % 7 == 3 else "") for i in range(300)]
    text = "TY  - JOUR\r\n" + "\r\n".join(lines) + "\r\nER  - \r\n"
    path = tmp_path / "blocks.ris"
    path.write_bytes(text.encode("utf-8", "surrogateescape").replace("\xe9t\xe9".encode(), b"\xe9t\xe9"))
    whole = encoding.decoding(str(path)).warnings
    for block in (1, 2, 3, 5, 64):
        monkeypatch.setattr(encoding, "BLOCK", block)
        assert encoding.decoding(str(path)).warnings == whole
    assert "on lines 5, 12, 19" in whole[0]


def test_a_file_without_any_utf8_sequence_is_still_read_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.ris"
    path.write_bytes("TY  - JOUR\nTI  - Caf\u00e9 \u2013 na\u00efve\nER  - \n".encode("cp1252"))
    info, records = read(path)
    assert info.encoding == "cp1252" and records[0].fields.title == "Café – naïve"


def test_worker_processes_register_the_same_decoding() -> None:
    code = ("import codecs, screening.records.ingest as i; "
            "print(b'caf\\xc3\\xa9 \\xe9'.decode('utf-8', 'screening-stray-cp1252'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", check=True)
    assert out.stdout.strip() == "café é"


# ----------------------------------------------------------------------------------------------
# 3. A CSV cell over Python's csv default limit (128 KiB) imports

def test_a_csv_cell_over_128_kib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    abstract = "word " * 60_000  # 300 KB
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Title", "Abstract"], ["first", abstract], ["second", "short"]])
    limit = csv.field_size_limit()
    _, records = read(path)
    assert [r.fields.title for r in records] == ["first", "second"]
    assert records[0].fields.abstract == abstract.strip()
    assert csv.field_size_limit() == limit  # our limit is ours: restored for everyone else


def test_a_quote_never_closed_in_csv_is_a_named_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from screening import readers

    monkeypatch.setattr(readers, "CSV_FIELD_LIMIT", 1000)
    path = tmp_path / "quote.csv"
    path.write_text('Title,Abstract\nfine,fine\nbad,"never closed\n' + "more text\n" * 200)
    with pytest.raises(InputFileError) as exc:
        read(path)
    assert exc.value.line is not None and "quote" in str(exc.value)


# ----------------------------------------------------------------------------------------------
# 4. A tag in lower case is a tag

def test_a_lower_case_tag_is_not_glued_into_the_previous_value(tmp_path: Path) -> None:
    path = tmp_path / "lower.ris"
    path.write_text(ris("TY  - JOUR", "TI  - The title", "ab  - The abstract", "Au  - Smith, J", "ER  - ", "",
                        "ty  - JOUR", "ti  - Second", "er  - ", ""))
    info, records = read(path)
    assert [r.fields.title for r in records] == ["The title", "Second"]
    assert records[0].fields.abstract == "The abstract" and records[0].fields.authors == ["Smith, J"]
    assert [r.line for r in records] == [1, 7] and info.warnings == []


def test_a_damaged_lower_case_start_is_still_counted(tmp_path: Path) -> None:
    path = tmp_path / "damaged.ris"
    path.write_text(ris("TY  - JOUR", "TI  - fine", "ER  - ", "", "ty -JOUR", "ER  - ", ""))
    with pytest.raises(InputFileError) as exc:
        read(path)
    assert exc.value.line == 5


# ----------------------------------------------------------------------------------------------
# 5. UTF-16 (and UTF-32) with a byte-order mark

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32"])
@pytest.mark.parametrize("kind", ["ris", "csv"])
def test_a_utf16_file_is_read_from_a_temporary_copy_that_is_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str, kind: str) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    text = (ris("TY  - JOUR", "TI  - Ünïcödé 𝔘𝔫𝔦 – 中文", "ER  - ", "", "TY  - JOUR", "TI  - two", "ER  - ", "",
                eol="\r\n") if kind == "ris" else "Title,Abstract\r\nÜnïcödé 𝔘𝔫𝔦 – 中文,x\r\ntwo,y\r\n")
    path = tmp_path / f"wide.{kind}"
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}
    path.write_bytes(bom.get(codec, b"") + text.encode(codec))
    info, records = read(path)
    assert [r.fields.title for r in records] == ["Ünïcödé 𝔘𝔫𝔦 – 中文", "two"]
    assert info.encoding == codec[:6] and info.warnings == [] and info.format == kind
    assert [r.line for r in records] == ([1, 5] if kind == "ris" else [2, 3])
    assert list(temp.iterdir()) == []  # the copy is gone once the records are read
    info, _ = open_file(path)  # not read to the end: the copy goes with the info
    assert len(list(temp.iterdir())) == 1
    del info, _
    assert list(temp.iterdir()) == []


def test_a_utf16_file_imports_through_the_cli(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    path = tmp_path / "wide.ris"
    path.write_bytes(codecs.BOM_UTF16_LE + ris("TY  - JOUR", "TI  - Été", "ER  - ", "").encode("utf-16-le"))
    run("search", "add", "s1", "--database", "MEDLINE")
    out = run("import", path, "--search", "s1").output
    assert "1 records (ris, utf-16)" in out and list(temp.iterdir()) == []


def test_a_broken_utf16_file_is_a_named_error_and_leaves_no_copy(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    path = tmp_path / "broken.ris"
    good = ris("TY  - JOUR", "TI  - one", "ER  - ", "TY  - JOUR", "TI  - ", eol="\r\n").encode("utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + good + b"\x00\xd8" + "x\r\n".encode("utf-16-le"))  # a lone surrogate
    with pytest.raises(InputFileError) as exc:
        read(path)
    assert exc.value.line == 5 and str(path) in str(exc.value) and list(temp.iterdir()) == []


def test_utf16_without_a_mark_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "nomark.ris"
    path.write_bytes(ris("TY  - JOUR", "TI  - one", "ER  - ", "").encode("utf-16-le"))
    with pytest.raises(InputFileError) as exc:
        read(path)
    assert "UTF-16" in str(exc.value)


# ----------------------------------------------------------------------------------------------
# 6. NUL bytes are dropped, with their lines named, wherever they are

def nul_file(tmp_path: Path, at_line: int) -> Path:
    records = [ris("TY  - JOUR", f"TI  - record {i}", "AB  - " + "x" * 200, "ER  - ", "")
               for i in range(at_line // 5 + 1)]
    lines = "\n".join(records).split("\n")
    lines[at_line - 1] = "TI  - with\x00a NUL\x00"
    path = tmp_path / "nul.ris"
    path.write_bytes("\n".join(lines).encode())
    return path


@pytest.mark.parametrize("at_line", [2, 2002])  # in the first 64 KiB (once refused as binary) and far after it
def test_nul_bytes_are_dropped_and_their_line_named(db, tmp_path: Path, at_line: int) -> None:
    path = nul_file(tmp_path, at_line)
    assert (path.stat().st_size > 65536) == (at_line > 1000)
    with db.transaction() as s:
        search = add_search(s, "s1", "MEDLINE")
        report = import_file(s, search.id, path)
    assert report.warnings == [f"the file holds 2 NUL bytes (on line {at_line}), which no text holds; they were "
                               "dropped. Check those lines against the database's own record."]
    with db.read() as s:
        titles = s.scalars(select(Record.title)).all()
        raw = s.scalars(select(Record.raw)).all()
    assert "with" + "a NUL" in titles and not any("\x00" in t for t in titles)
    assert "\x00" not in repr(raw)


def test_nul_bytes_in_a_csv_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"Title,Abstract\nfirst,one\x00\nsec\x00ond,two\n")
    info, records = read(path)
    assert [r.fields.title for r in records] == ["first", "second"] and "on lines 2, 3" in info.warnings[0]


def test_a_binary_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.ris"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200) + b"TY  - JOUR\n")
    with pytest.raises(InputFileError, match="binary"):
        read(path)


# ----------------------------------------------------------------------------------------------
# 7. Values longer than their column are cut to it, with a warning; the raw record keeps them

def test_column_lengths_are_read_from_the_schema() -> None:
    limits = {column: n for _, column, n in COLUMN_LIMITS}
    assert set(limits) == {"ris_type", "ris_id", "volume", "issue", "pages", "doi", "pmid", "language", "pub_type",
                           "database"}
    assert limits == {c: Record.__table__.c[c].type.length for c in limits}  # (doi 300, pmid 50, ... today)


@pytest.mark.parametrize("kind", ["ris", "csv"])
def test_a_value_longer_than_its_column_is_cut_and_named(db, tmp_path: Path, kind: str) -> None:
    doi = "10.1000/" + "x" * 400
    volume = "9" * 150
    path = tmp_path / f"long.{kind}"
    if kind == "ris":
        path.write_text(ris("TY  - JOUR", "TI  - fine", "ER  - ", "", "TY  - JOUR", "TI  - long", f"DO  - {doi}",
                            f"VL  - {volume}", "ER  - ", ""))
    else:
        path.write_text(f"Title,DOI,Volume\nfine,,\nlong,{doi},{volume}\n")
    with db.transaction() as s:
        search = add_search(s, "s1", "MEDLINE")
        report = import_file(s, search.id, path)
    line = 5 if kind == "ris" else 3
    assert len(report.warnings) == 1 and "2 values" in report.warnings[0]
    assert f"line {line}: doi (408 characters, the column holds 300)" in report.warnings[0]
    assert f"line {line}: volume (150 characters, the column holds 100)" in report.warnings[0]
    with db.read() as s:
        stored_doi, stored_volume, raw = s.execute(
            select(Record.doi, Record.volume, Record.raw).where(Record.title == "long")).one()
        stored = s.scalars(select(ImportFile.warnings)).one()
    assert stored_doi == doi[:300] and stored_volume == volume[:100]
    assert ["DO" if kind == "ris" else "DOI", doi] in raw
    assert stored == report.warnings


# ----------------------------------------------------------------------------------------------
# 8. Worker processes die with the importer

def children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (zombies count as gone)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state not in "ZX":
            out.add(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in "ZX"


def table_counts(path: str) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def big_tagged_file(path: Path, n: int) -> None:
    abstract = "patients with primary care access were followed for outcomes over years " * 4
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(f"TY  - JOUR\nID  - {i}\nTI  - Study number {i} of care\nAU  - Author{i % 97}, A.\n"
                         f"PY  - 20{i % 20:02d}\nAB  - {abstract}\nER  - \n\n" for i in range(n)))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a single CPU imports without worker processes")
def test_killing_the_importer_kills_its_workers_and_stores_nothing(run, db_url: str, tmp_path: Path) -> None:
    from screening.records.ingest import PARALLEL_MIN_BYTES

    path = tmp_path / "big.ris"
    big_tagged_file(path, 60_000)
    assert path.stat().st_size >= 2 * PARALLEL_MIN_BYTES
    run("search", "add", "s1", "--database", "MEDLINE")
    db_file = db_url.removeprefix("sqlite:///")
    before = table_counts(db_file)
    env = dict(os.environ, SCREENING_DB=db_url)
    proc = subprocess.Popen([sys.executable, "-m", "screening", "import", str(path), "--search", "s1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            workers |= children(proc.pid)
            if len(workers) >= 2:
                break
            time.sleep(0.01)
        assert workers, f"no worker process appeared (import exit {proc.returncode})"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL, "the import ended before it was killed: use a larger file"
        deadline = time.monotonic() + 3
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [w for w in workers if alive(w)]
        for w in left:  # do not leave them behind for the next test either
            os.kill(w, signal.SIGKILL)
        assert not left, f"worker processes {left} outlived the killed import"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert table_counts(db_file) == before
    assert before["record"] == 0 and before["import_file"] == 0


def test_the_worker_initializer_asks_to_die_with_the_parent() -> None:
    import multiprocessing

    from screening.records import ingest

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1, initializer=ingest._die_with_parent, initargs=(os.getpid(),)) as pool:
        assert pool.apply(_death_signal) == signal.SIGKILL


def _death_signal() -> int:
    import ctypes

    value = ctypes.c_int()
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
    return value.value


# ----------------------------------------------------------------------------------------------
# Everything together in a large file, parsed by the workers

def test_a_large_file_with_every_oddity_imports_through_the_workers(db, tmp_path: Path) -> None:
    from screening.records.ingest import PARALLEL_MIN_BYTES

    path = tmp_path / "odd.ris"
    big_tagged_file(path, 25_000)
    with open(path, "ab") as fh:
        fh.write("TY  - JOUR\nTI  - Zürich\x00 \xe9t\xe9\nab  - lower\nDO  - 10.1000/{}\nER  - \n".format(
            "y" * 400).encode("utf-8", "surrogateescape").replace("\xe9".encode(), b"\xe9"))
    assert path.stat().st_size > PARALLEL_MIN_BYTES
    lines = 25_000 * 8 + 1
    with db.transaction() as s:
        search = add_search(s, "s1", "MEDLINE")
        report = import_file(s, search.id, path)
    assert report.records == 25_001 and report.encoding == "utf-8"
    assert [w.split(";")[0].split(" (")[0].split(",")[0] for w in report.warnings] == [
        "the file is UTF-8 but 2 bytes are not", "the file holds 1 NUL byte",
        "1 value longer than its database column was cut to fit"]
    assert "on line 200002;" in report.warnings[0] and "(on line 200002)" in report.warnings[1]
    assert f"starting at line {lines}: doi (408 characters" in report.warnings[2]
    with db.read() as s:
        title, abstract, doi = s.execute(
            select(Record.title, Record.abstract, Record.doi).where(Record.line == lines)).one()
    assert title == "Zürich été" and abstract == "lower" and len(doi or "") == 300
