"""The team backend: the same migrations and commands against a real PostgreSQL server.

`.ci/run` starts a server and sets SCREENING_TEST_PG_URL; without it these tests are skipped
(locally), never faked. The import tests run on our fixtures and, where ../shared is beside the
checkout, on the real vendor exports there too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from conftest import DEMO, SHARED_RIS, Cli, fresh_pg_database, shared_param

pytestmark = pytest.mark.postgres

MEDLINE = SHARED_RIS / "ovid_medline/medline.ris"  # real Ovid MEDLINE, 190 records
OVID = DEMO / "ovid_medline_dinosaur.ris"  # Ovid MEDLINE layout, 12 records (made by us)


@pytest.fixture
def pg(worker_id: str) -> Cli:
    """A fresh, migrated database on the real server, one per xdist worker."""
    cli = Cli(fresh_pg_database(worker_id))
    cli("init")
    return cli


@pytest.mark.parametrize(("medline", "embase", "n_medline", "n_embase"), [
    shared_param(MEDLINE, SHARED_RIS / "embase_com/_baseline_embase.ris", 190, 10, id="shared"),
    pytest.param(OVID, DEMO / "embase_dinosaur.ris", 12, 10, id="fixture"),
])
def test_postgres_migrate_import_dedup_export(pg: Cli, medline: Path, embase: Path, n_medline: int,
                                              n_embase: int) -> None:
    assert create_engine(pg.url).dialect.name == "postgresql"
    pg("search", "add", "medline", "--database", "MEDLINE", "--interface", "Ovid")
    pg("search", "add", "embase", "--database", "Embase", "--interface", "Embase.com")
    pg("import", medline, "--search", "medline")
    pg("import", embase, "--search", "embase")
    again = json.loads(pg("import", medline, "--search", "medline", "--json").output)
    assert again["records"] == 0 and again["files"][0]["skipped"] is True
    summary = json.loads(pg("dedup", "--json").output)
    total = n_medline + n_embase  # 200 with the real exports
    assert summary["records"] == total
    rows = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--all").output)))
    assert len(rows) == total
    assert sum(1 for r in rows if r["pmid"]) >= total
    searches = json.loads(pg("search", "list", "--json").output)
    assert {s["name"]: s["imported"] for s in searches} == {"medline": n_medline, "embase": n_embase}


@pytest.mark.parametrize("medline", [shared_param(MEDLINE, id="shared"), pytest.param(OVID, id="fixture")])
def test_postgres_failed_import_leaves_nothing(pg: Cli, tmp_path, medline: Path) -> None:
    bad = tmp_path / "garbage.ris"
    bad.write_bytes(bytes(range(256)) * 20)
    pg("search", "add", "s1", "--database", "MEDLINE")
    r = pg("import", medline, bad, "--search", "s1", ok=False)
    assert r.exit_code != 0 and "garbage.ris" in r.output
    rows = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--all").output)))
    assert rows == []


def test_postgres_dual_review_round(pg: Cli, tmp_path) -> None:
    ris = tmp_path / "set.ris"
    with open(ris, "w") as f:
        for i in range(40):
            f.write(f"TY  - JOUR\nID  - r{i}\nTI  - Study {i} of integrated care number {i * 7919}\n"
                    f"AU  - Author{i}, A\nPY  - 2010\nER  - \n\n")
    pg("search", "add", "m", "--database", "MEDLINE")
    pg("import", ris, "--search", "m")
    pg("dedup")
    for u, role in (("alice", "screener"), ("bob", "screener"), ("pat", "pi")):
        pg("user", "add", u, "--role", role)
    pg("set", "create", "s", "--all", "--as", "pat")
    pg("sample", "s", "--share", "0.25", "--batch-size", "5", "--pairs", "alice+bob", "--seed", "3", "--as", "pat")
    for u in ("alice", "bob"):
        for item in json.loads(pg("queue", "--as", u, "--set", "s", "--json").stdout):
            decision = "include" if (u == "alice" or item["record_id"] % 2) else "exclude"
            pg("decide", "--as", u, item["record_id"], decision)
    conflicts = json.loads(pg("conflicts", "s", "--as", "pat", "--json").stdout)
    assert conflicts and all(len(c["decisions"]) == 2 for c in conflicts)
    for c in conflicts:
        pg("resolve", "--as", "pat", c["record_id"], "include")
    agreement = json.loads(pg("agreement", "s", "--by", "pair", "--json").stdout)
    assert agreement[0]["n_items"] == 10
    pg("phase", "s", "single", "--as", "pat", "--force", "--reason", "postgres test")
    status = json.loads(pg("status", "s", "--json").stdout)
    assert status["phase"] == "single"
    assert sum(v["single_assigned"] for v in status["screeners"].values()) == 30
    included = list(csv.DictReader(io.StringIO(pg("export", "--format", "csv", "--set", "s", "--included").stdout)))
    assert len(included) == 10
