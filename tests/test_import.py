"""`screening import` and `screening export` through the CLI: counts, idempotence, atomicity, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import SHARED

RIS = SHARED / "data" / "ris"
MEDLINE = RIS / "ovid_medline" / "medline.ris"


def export_rows(run, *extra: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(run("export", "--format", "csv", "--all", *extra).stdout)))


def setup(run) -> None:
    run("search", "add", "s1", "--database", "MEDLINE", "--interface", "Ovid")


def test_import_is_idempotent_and_keeps_provenance(run) -> None:
    setup(run)
    first = json.loads(run("import", MEDLINE, "--search", "s1", "--json").stdout)
    assert first["records"] == 190
    again = json.loads(run("import", MEDLINE, "--search", "s1", "--json").stdout)
    assert again["records"] == 0 and again["files"][0]["skipped"]
    rows = export_rows(run)
    assert len(rows) == 190
    assert {r["search"] for r in rows} == {"s1"} and {r["database"] for r in rows} == {"MEDLINE"}
    assert [int(r["file_position"]) for r in rows] == list(range(1, 191))
    assert rows[0]["pmid"] == "32487818" and rows[0]["doi"] == "10.1097/coh.0000000000000634"
    assert rows[0]["ris_id"] == "32487818"


def test_one_bad_file_leaves_the_database_unchanged(run, tmp_path: Path) -> None:
    setup(run)
    run("import", RIS / "scopus_ris" / "_baseline_scopus.ris", "--search", "s1")
    garbage = tmp_path / "garbage.ris"
    garbage.write_bytes(bytes(range(256)) * 20)
    r = run("import", MEDLINE, garbage, "--search", "s1", ok=False)
    assert r.exit_code != 0 and str(garbage) in r.output and "Traceback" not in r.output
    assert len(export_rows(run)) == 10  # the medline records of the failed command are not there


def test_bad_record_names_the_line_and_stores_nothing(run, tmp_path: Path) -> None:
    setup(run)
    bad = tmp_path / "broken.ris"
    bad.write_text("TY  - JOUR\nTI  - fine\nER  - \n\nTY -JOUR\nTI  - broken start tag\nER  - \n")
    r = run("import", bad, "--search", "s1", ok=False)
    assert r.exit_code != 0
    assert len(export_rows(run)) == 0


def test_empty_and_binary_files_fail_cleanly(run, tmp_path: Path) -> None:
    setup(run)
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"")
    binary = tmp_path / "image.ris"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    for f, word in ((empty, "empty"), (binary, "binary")):
        r = run("import", f, "--search", "s1", ok=False)
        assert r.exit_code != 0 and word in r.output and str(f) in r.output and "Traceback" not in r.output
    assert export_rows(run) == []


def test_unknown_search_and_missing_file_are_user_errors(run, tmp_path: Path) -> None:
    r = run("import", MEDLINE, "--search", "nope", ok=False)
    assert r.exit_code != 0 and "no search named 'nope'" in r.output
    setup(run)
    r = run("import", tmp_path / "missing.ris", "--search", "s1", ok=False)
    assert r.exit_code != 0 and "no such file" in r.output


def test_uninitialised_database_says_run_init(tmp_path: Path) -> None:
    from conftest import Cli

    r = Cli(f"sqlite:///{tmp_path}/new.db")("search", "list", ok=False)
    assert r.exit_code != 0 and "screening init" in r.output


def test_ris_export_reimports_to_the_same_records(run, tmp_path: Path) -> None:
    setup(run)
    run("search", "add", "s2", "--database", "PubMed")
    run("import", MEDLINE, RIS / "embase_com" / "_baseline_embase.ris", "--search", "s1")
    run("import", RIS / "pubmed_nbib" / "blue-light.nbib", "--search", "s2")
    out = tmp_path / "all.ris"
    run("export", "--format", "ris", "--out", out)
    before = export_rows(run)
    run("search", "add", "again", "--database", "MEDLINE")
    run("import", out, "--search", "again")
    after = [r for r in export_rows(run) if r["search"] == "again"]
    assert len(after) == len(before) == 280
    keys = ("title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "ris_id")
    for a, b in zip(before, after, strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_export_csv_contract_columns(run) -> None:
    setup(run)
    run("import", RIS / "embase_com" / "embase.ris", "--search", "s1")
    header = run("export", "--format", "csv").stdout.splitlines()[0].split(",")
    for col in ("record_id", "ris_id", "search", "database", "title", "abstract", "authors", "year", "journal",
                "volume", "issue", "pages", "doi", "pmid", "duplicate_of"):
        assert col in header


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    from conftest import Cli

    r = Cli(f"sqlite:///{tmp_path}/no/such/dir/x.db")("search", "list", ok=False)
    assert r.exit_code != 0 and "cannot use the database" in r.output and "Traceback" not in r.output


def test_parallel_import_stores_what_a_serial_import_stores(run, tmp_path: Path, monkeypatch) -> None:
    """Large files are parsed in worker processes; the rows must be the same, in the same order."""
    import screening.records.ingest as ingest
    from screening.readers import chunks

    big = tmp_path / "big.ris"
    big.write_bytes(b"".join((RIS / p).read_bytes() for p in (
        "ovid_medline/medline.ris", "embase_com/embase.ris", "scopus_ris/_baseline_scopus.ris")))
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
    assert len(by_search["serial"]) == 190 + 6 + 10
    drop = {"record_id", "search", "duplicate_of"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in by_search["parallel"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in by_search["serial"]]


def test_a_large_import_keeps_the_database_in_wal_mode(run, db_url: str) -> None:
    """Imports write through a rollback journal when they have the database to themselves (faster),
    and leave it in WAL mode for the screeners' concurrent reads; with another connection open
    they stay in WAL and still succeed."""
    import sqlite3

    setup(run)
    path = db_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path)
    other.execute("SELECT count(*) FROM record").fetchone()  # a reader has the database open
    run("import", MEDLINE, "--search", "s1")
    other.close()
    run("import", RIS / "scopus_ris" / "_baseline_scopus.ris", "--search", "s1")
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM record").fetchone()[0] == 200


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
