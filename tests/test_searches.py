"""The search log: TOML files in searches/, flags, reported vs imported hits."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO


def test_worked_example_medline_strategy_loads(run) -> None:
    run("search", "add", "--from", REPO / "searches" / "medline_ovid_2016.toml")
    out = json.loads(run("search", "list", "--json").output)
    assert out[0]["name"] == "medline_ovid_2016"
    assert out[0]["database"] == "MEDLINE" and out[0]["interface"] == "Ovid"
    text = (REPO / "searches" / "medline_ovid_2016.txt").read_text()
    assert "multispecialty community provider" in text
    assert sum(1 for line in text.splitlines() if line[:1].isdigit()) == 259


def test_every_search_file_in_the_repo_is_valid(run) -> None:
    files = sorted((REPO / "searches").glob("*.toml"))
    assert files
    for f in files:
        run("search", "add", "--from", f)
    assert len(json.loads(run("search", "list", "--json").output)) == len(files)


def test_duplicate_name_and_bad_date_are_user_errors(run, tmp_path: Path) -> None:
    run("search", "add", "s1", "--database", "MEDLINE")
    r = run("search", "add", "s1", "--database", "EMBASE", ok=False)
    assert r.exit_code != 0 and "exists already" in r.output and "Traceback" not in r.output
    r = run("search", "add", "s2", "--database", "EMBASE", "--searched", "Dec 2016", ok=False)
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndatabase = \n')
    r = run("search", "add", "--from", bad, ok=False)
    assert r.exit_code != 0 and str(bad) in r.output and "TOML" in r.output


def test_reported_vs_imported_hits_mismatch_is_flagged(run, tmp_path: Path) -> None:
    ris = tmp_path / "two.ris"
    ris.write_text("TY  - JOUR\nTI  - One\nER  - \n\nTY  - JOUR\nTI  - Two\nER  - \n")
    run("search", "add", "s1", "--database", "MEDLINE", "--hits", "3")
    run("import", ris, "--search", "s1")
    rows = json.loads(run("search", "list", "--json").output)
    assert rows[0]["imported"] == 2 and rows[0]["hits_reported"] == 3 and rows[0]["mismatch"] is True
    assert "MISMATCH" in run("search", "list").output
