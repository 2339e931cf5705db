"""`screening import` and `screening export` through the CLI: counts, idempotence, atomicity, errors.

Each import test runs on our own fixtures (the package's demo exports and tests/data) and, where
../shared is beside the checkout, once more on the real vendor exports there.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import DATA, DEMO, SHARED_RIS, shared_param

RIS = SHARED_RIS
MEDLINE = RIS / "ovid_medline" / "medline.ris"  # real Ovid MEDLINE, 190 records (no licence stated: read in place)
OVID = DEMO / "ovid_medline_dinosaur.ris"  # Ovid MEDLINE layout, 12 records (made by us)
SCOPUS = DEMO / "scopus_dinosaur.ris"  # Scopus RIS with a BOM, 10 records: the bytes of ../shared's _baseline_scopus
EMBASE = DEMO / "embase_dinosaur.ris"  # Embase.com RIS, 10 records: the bytes of ../shared's _baseline_embase
NBIB = DATA / "pubmed_citation_manager.nbib"  # PubMed .nbib (CRLF), 3 records (made by us)


def export_rows(run, *extra: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(run("export", "--format", "csv", "--all", *extra).stdout)))


def setup(run) -> None:
    run("search", "add", "s1", "--database", "MEDLINE", "--interface", "Ovid")


@pytest.mark.parametrize(("medline", "n", "pmid", "doi"), [
    shared_param(MEDLINE, 190, "32487818", "10.1097/coh.0000000000000634", id="shared"),
    pytest.param(OVID, 12, "30922926", "10.1016/j.ejmg.2019.03.004", id="fixture"),
])
def test_import_is_idempotent_and_keeps_provenance(run, medline: Path, n: int, pmid: str, doi: str) -> None:
    setup(run)
    first = json.loads(run("import", medline, "--search", "s1", "--json").stdout)
    assert first["records"] == n
    again = json.loads(run("import", medline, "--search", "s1", "--json").stdout)
    assert again["records"] == 0 and again["files"][0]["skipped"]
    rows = export_rows(run)
    assert len(rows) == n
    assert {r["search"] for r in rows} == {"s1"} and {r["database"] for r in rows} == {"MEDLINE"}
    assert [int(r["file_position"]) for r in rows] == list(range(1, n + 1))
    assert rows[0]["pmid"] == pmid and rows[0]["doi"] == doi
    assert rows[0]["ris_id"] == pmid


@pytest.mark.parametrize(("medline", "scopus"), [
    shared_param(MEDLINE, RIS / "scopus_ris" / "_baseline_scopus.ris", id="shared"),
    pytest.param(OVID, SCOPUS, id="fixture"),
])
def test_one_bad_file_leaves_the_database_unchanged(run, tmp_path: Path, medline: Path, scopus: Path) -> None:
    setup(run)
    run("import", scopus, "--search", "s1")
    garbage = tmp_path / "garbage.ris"
    garbage.write_bytes(bytes(range(256)) * 20)
    r = run("import", medline, garbage, "--search", "s1", ok=False)
    assert r.exit_code != 0 and str(garbage) in r.output and "Traceback" not in r.output
    assert len(export_rows(run)) == 10  # the medline records of the failed command are not there


def test_bad_record_names_the_line_and_stores_nothing(run, tmp_path: Path) -> None:
    setup(run)
    bad = tmp_path / "broken.ris"
    bad.write_text("TY  - JOUR\nTI  - fine\nER  - \n\nTY -JOUR\nTI  - broken start tag\nER  - \n")
    r = run("import", bad, "--search", "s1", ok=False)
    assert r.exit_code != 0
    # line 6 is the first tagged line left outside any record by the damaged start on line 5
    assert f"{bad}, line 6:" in r.output and "Traceback" not in r.output
    assert len(export_rows(run)) == 0


@pytest.mark.parametrize(("name", "content", "word"), [
    ("empty.ris", b"", "empty"),
    ("image.ris", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
])
def test_empty_and_binary_files_fail_cleanly(run, tmp_path: Path, name: str, content: bytes, word: str) -> None:
    setup(run)
    f = tmp_path / name
    f.write_bytes(content)
    r = run("import", f, "--search", "s1", ok=False)
    assert r.exit_code != 0 and word in r.output and str(f) in r.output and "Traceback" not in r.output
    assert export_rows(run) == []


def test_unknown_search_and_missing_file_are_user_errors(run, tmp_path: Path) -> None:
    r = run("import", OVID, "--search", "nope", ok=False)
    assert r.exit_code != 0 and "no search named 'nope'" in r.output
    setup(run)
    r = run("import", tmp_path / "missing.ris", "--search", "s1", ok=False)
    assert r.exit_code != 0 and "no such file" in r.output


def test_uninitialised_database_says_run_init(tmp_path: Path) -> None:
    from conftest import Cli

    r = Cli(f"sqlite:///{tmp_path}/new.db")("search", "list", ok=False)
    assert r.exit_code != 0 and "screening init" in r.output


@pytest.mark.parametrize(("ris_files", "nbib", "total"), [
    shared_param((MEDLINE, RIS / "embase_com" / "_baseline_embase.ris"), RIS / "pubmed_nbib" / "blue-light.nbib",
                 280, id="shared"),
    pytest.param((OVID, EMBASE), NBIB, 12 + 10 + 3, id="fixture"),
    pytest.param((OVID, SCOPUS, DATA / "wos_bare_cr.ris", DATA / "endnote_continuation.ris"),
                 DEMO / "pubmed_dinosaur.nbib", 12 + 10 + 2 + 2 + 50, id="fixture-more-vendors"),
])
def test_ris_export_reimports_to_the_same_records(run, tmp_path: Path, ris_files: tuple[Path, ...], nbib: Path,
                                                  total: int) -> None:
    setup(run)
    run("search", "add", "s2", "--database", "PubMed")
    run("import", *ris_files, "--search", "s1")
    run("import", nbib, "--search", "s2")
    out = tmp_path / "all.ris"
    run("export", "--format", "ris", "--out", out)
    before = export_rows(run)
    run("search", "add", "again", "--database", "MEDLINE")
    run("import", out, "--search", "again")
    after = [r for r in export_rows(run) if r["search"] == "again"]
    assert len(after) == len(before) == total
    keys = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "ris_id")
    for a, b in zip(before, after, strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_export_csv_contract_columns(run) -> None:
    setup(run)
    run("import", EMBASE, "--search", "s1")
    header = run("export", "--format", "csv").stdout.splitlines()[0].split(",")
    for col in ("record_id", "ris_id", "search", "database", "title", "abstract", "authors", "year", "journal",
                "volume", "issue", "pages", "doi", "pmid", "duplicate_of"):
        assert col in header


@pytest.mark.parametrize(("where", "message"), [
    # a mistyped path is not created (only `screening init` creates a database): it is named
    ("no/such/dir/x.db", "there is no database at {path}"),
    ("a-folder.db", "cannot use the database"),  # there, but SQLite cannot open it
])
def test_unreachable_database_is_a_clear_error(tmp_path: Path, where: str, message: str) -> None:
    from conftest import Cli

    (tmp_path / "a-folder.db").mkdir()
    path = tmp_path / where
    r = Cli(f"sqlite:///{path}")("search", "list", ok=False)
    assert r.exit_code != 0 and message.format(path=path) in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(("parts", "total"), [
    shared_param((MEDLINE, RIS / "embase_com" / "embase.ris", RIS / "scopus_ris" / "_baseline_scopus.ris"),
                 190 + 6 + 10, id="shared"),
    pytest.param((OVID, EMBASE, SCOPUS), 12 + 10 + 10, id="fixture"),
])
def test_parallel_import_stores_what_a_serial_import_stores(run, tmp_path: Path, monkeypatch,
                                                            parts: tuple[Path, ...], total: int) -> None:
    """Large files are parsed in worker processes; the rows must be the same, in the same order."""
    import screening.records.ingest as ingest
    from screening.readers import chunks

    big = tmp_path / "big.ris"
    big.write_bytes(b"".join(p.read_bytes() for p in parts))
    run("search", "add", "serial", "--database", "MEDLINE")
    run("search", "add", "parallel", "--database", "MEDLINE")
    run("import", big, "--search", "serial")
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(ingest, "_workers", lambda path: 2)
    plan = list(chunks.plan_chunks(str(big), "ris", size=20_000))
    assert len(plan) > 4
    run("import", big, "--search", "parallel")  # same content, another search: imported again
    rows = export_rows(run)
    by_search = {s: [r for r in rows if r["search"] == s] for s in ("serial", "parallel")}
    assert len(by_search["serial"]) == total
    drop = {"record_id", "search", "duplicate_of"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in by_search["parallel"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in by_search["serial"]]


@pytest.mark.parametrize(("medline", "scopus", "total"), [
    shared_param(MEDLINE, RIS / "scopus_ris" / "_baseline_scopus.ris", 200, id="shared"),
    pytest.param(OVID, SCOPUS, 22, id="fixture"),
])
def test_a_large_import_keeps_the_database_in_wal_mode(run, db_url: str, medline: Path, scopus: Path,
                                                       total: int) -> None:
    """Imports write through a rollback journal when they have the database to themselves (faster),
    and leave it in WAL mode for the screeners' concurrent reads; with another connection open
    they stay in WAL and still succeed."""
    import sqlite3

    setup(run)
    path = db_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path)
    other.execute("SELECT count(*) FROM record").fetchone()  # a reader has the database open
    run("import", medline, "--search", "s1")
    other.close()
    run("import", scopus, "--search", "s1")
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM record").fetchone()[0] == total


def test_a_row_puts_every_field_under_its_own_column() -> None:
    from screening.readers import read_text_records
    from screening.records.ingest import ROW_COLUMNS, _row, record_row
    from screening.storage.models import Record

    rec = read_text_records("TY  - JOUR\nTI  - A title\nAB  - An abstract\nAU  - Smith, J.\nPY  - 2020\n"
                            "JO  - J Test\nVL  - 3\nIS  - 4\nSP  - 5\nEP  - 9\nDO  - 10.1/x\nKW  - k\nSN  - 1234-5678\n"
                            "LA  - eng\nDB  - MEDLINE\nUR  - https://x.org/1\nN1  - PMID: 123\nER  - \n")[0]
    row = dict(zip(ROW_COLUMNS, _row(rec, (7, 8, "ris", "now")), strict=True))
    # the writer's statement takes rows as they come only in the table's own column order
    assert [c.name for c in Record.__table__.columns if c.name in ROW_COLUMNS] == list(ROW_COLUMNS)
    expected = record_row(rec.fields)
    for column, value in expected.items():
        assert row[column] == (json.dumps(value, separators=(",", ":")) if isinstance(value, list | dict) else value)
    assert row["search_id"] == 7 and row["import_file_id"] == 8 and row["position"] == 1
    assert row["format"] == "ris" and row["created_at"] == "now"
