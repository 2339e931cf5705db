"""`screening copy --to URL`: a whole review moved between databases, ids kept, then verified.

The source review is built once per module through the real commands (searches with their
strategies, the demo exports, dedup, the team, a set with criteria, a sample, decisions, a PI's
resolutions, the move to single screening, a ranking run) and only ever read by the tests. The
PostgreSQL round trip runs when ``SCREENING_TEST_PG_URL`` is set (CI starts a real server).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine, func, select, text, update

from conftest import DEMO, REPO, Cli, fresh_pg_database
from screening.cli import cli
from screening.errors import Conflict, DatabaseError, InvalidValue
from screening.storage import copy as copy_module
from screening.storage.copy import CopyMismatch, copy_database, summarise, tables
from screening.storage.db import Database
from screening.storage.migrate import upgrade
from screening.storage.models import Record, ScreeningSet, Search
from screening.team.auth import sign_in

SET = "dinosaurs"


def build_review(run: Cli) -> None:
    """A small review with a row in (nearly) every table, made through the commands."""
    searches = {"demo_embase": "embase_dinosaur.ris", "demo_scopus": "scopus_dinosaur.ris",
                "demo_ebsco": "ebsco_dinosaur.ris", "demo_ovid": "ovid_medline_dinosaur.ris"}
    run("search", "add", "--from", REPO / "searches" / "medline_ovid_2016.toml")  # a 259-line strategy
    for name, export in searches.items():
        run("search", "add", "--from", REPO / "searches" / f"{name}.toml")
        run("import", DEMO / export, "--search", name)
    run("dedup")
    for user, role in (("alice", "screener"), ("bob", "screener"), ("carol", "screener"), ("pat", "pi")):
        run("user", "add", user, "--role", role)
    removed = [r for r in csv.DictReader(io.StringIO(run("export", "--format", "csv", "--all").stdout))
               if r["duplicate_of"]]
    run("dedup", "split", removed[0]["record_id"], "--as", "pat", "--note", "kept apart for the test")
    run("dedup", "link", removed[0]["record_id"], removed[0]["duplicate_of"], "--relation", "comment", "--as", "pat")
    run("dedup")
    run("user", "password", "pat", "--password-stdin", input="a long enough password\n")
    run("set", "create", SET, "--all", "--criteria", "Primary studies of dinosaur biology.", "--as", "pat")
    run("set", "add-record", SET, "--title", "A field guide to sauropod trackways", "--source", "citation chasing",
        "--author", "Tracker, T", "--year", "2019", "--as", "pat")
    run("sample", SET, "--share", "0.25", "--batch-size", "5", "--pairs", "alice+bob,alice+carol,bob+carol",
        "--seed", "2016", "--as", "pat")
    for user in ("alice", "bob", "carol"):
        for item in json.loads(run("queue", "--as", user, "--set", SET, "--json").stdout):
            decision = "include" if (user == "alice" or item["record_id"] % 3) else "exclude"
            run("decide", "--as", user, item["record_id"], decision, "--reason", "" if decision == "include"
                else "not primary", "--note", f"by {user}")
    conflicts = json.loads(run("conflicts", SET, "--as", "pat", "--json").stdout)
    assert conflicts, "the review should have conflicts for the PI"
    for i, c in enumerate(conflicts[:-1]):  # one is left open
        run("resolve", "--as", "pat", c["record_id"], "exclude" if i % 2 else "include", "--note", f"call {i}")
    run("phase", SET, "single", "--as", "pat", "--force", "--reason", "copy test")
    run("rank", SET)
    run("fulltext", "start", SET, "--screeners", "alice", "--seed", "1", "--as", "pat")
    reports = json.loads(run("fulltext", "list", f"{SET} (full text)", "--json").stdout)
    run("fulltext", "report", f"{SET} (full text)", reports[0]["record_id"], "not-retrieved", "--reason", "no library",
        "--as", "pat")
    pdf = Path(run.url.removeprefix("sqlite:///")).with_name("paper.pdf")
    pdf.write_bytes(b"%PDF-1.4 a full text to carry along")
    run("fulltext", "report", f"{SET} (full text)", reports[1]["record_id"], "retrieved", "--file", pdf, "--as", "pat")
    with Database(run.url).transaction() as s:  # a signed-in session of the web app
        sign_in(s, "pat", "a long enough password")


@pytest.fixture(scope="module")
def source_url(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> str:
    path = tmp_path_factory.mktemp("copy_source") / "source.db"
    path.write_bytes(template_db.read_bytes())
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as mp:  # ranking caches its features out of the home folder
        mp.setenv("SCREENING_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        build_review(Cli(url))
    return url


@pytest.fixture
def source(source_url: str) -> Iterator[Database]:
    database = Database(source_url)
    yield database
    database.dispose()


def record_ids(csv_text: str) -> list[int]:
    return [int(row["record_id"]) for row in csv.DictReader(io.StringIO(csv_text))]


def views(run: Cli) -> dict[str, object]:
    """What the commands show of a review: must read the same from any copy of it.

    JSON answers are compared as data: a JSON object's key order is not part of the answer
    (``status`` lists its screeners in the order the database returns their assignments).
    """
    conflicts = json.loads(run("conflicts", SET, "--as", "pat", "--json").stdout)
    included = run("export", "--format", "csv", "--set", SET, "--included").stdout
    shown: dict[str, object] = {
        "status": json.loads(run("status", SET, "--json").stdout),
        "searches": json.loads(run("search", "list", "--json").stdout),
        "users": json.loads(run("user", "list", "--json").stdout),
        "conflicts": conflicts,
        "included": included,
        "export": run("export", "--format", "csv", "--all").stdout,
        "export_ris": run("export", "--format", "ris", "--set", SET).stdout,
    }
    for rid in [c["record_id"] for c in conflicts] + record_ids(included)[:3]:
        shown[f"history {rid}"] = json.loads(run("history", rid, "--as", "pat", "--json").stdout)
    return shown


def sql_nulls(url: str) -> dict[str, list[tuple[int, bool]]]:
    """Which JSON cells are SQL NULL (as opposed to JSON null): a copy keeps the difference."""
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {"record": [tuple(r) for r in conn.execute(
                   select(Record.id, Record.dedup_scores.is_(None)).order_by(Record.id))],
               "screening_set": [tuple(r) for r in conn.execute(
                   select(ScreeningSet.id, ScreeningSet.gate.is_(None)).order_by(ScreeningSet.id))]}
    engine.dispose()
    return out


def test_sqlite_round_trip_keeps_everything(source: Database, source_url: str, tmp_path: Path) -> None:
    before = summarise(source)
    empty = {name for name, t in before.items() if t.rows == 0}
    assert empty <= {"dedup_pair"}, f"the review should fill every table: {empty} are empty"
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    seen: list[tuple[int, int]] = []
    report = copy_database(source, target_url, progress=lambda n, total: seen.append((n, total)))

    target = Database(target_url)
    after = summarise(target)
    assert report.tables == before == after
    assert [t.name for t in tables()] == list(report.tables)
    assert report.rows == sum(t.rows for t in before.values())
    assert sum(n for n, _ in seen) == 2 * report.rows and {total for _, total in seen} == {2 * report.rows}
    assert report.as_dict()["tables"]["record"] == {"rows": before["record"].rows,
                                                    "checksum": before["record"].checksum}
    assert views(Cli(target_url)) == views(Cli(source_url))
    assert sql_nulls(target_url) == sql_nulls(source_url)
    with target.read() as s:
        strategy = s.scalar(select(Search.strategy).where(Search.name == "medline_ovid_2016"))
    target.dispose()
    assert strategy == (REPO / "searches" / "medline_ovid_2016.txt").read_text(encoding="utf-8")


def test_cli_copy_then_the_copy_works(source_url: str, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    out = json.loads(Cli(source_url)("copy", "--to", target_url, "--json").stdout)
    assert out["verified"] is True and out["target"] == target_url
    assert out["tables"]["decision"]["rows"] > 0 and len(out["tables"]["record"]["checksum"]) == 64
    assert out["files"]["copied"] == 1 and out["files"]["missing"] == []
    copied = Cli(target_url)
    reports = json.loads(copied("fulltext", "list", f"{SET} (full text)", "--json").stdout)
    listed = [r for r in reports if r["file_sha256"]]
    assert len(listed) == 1
    sha = listed[0]["file_sha256"]
    assert (tmp_path / "copy.db.files" / sha[:2] / sha).read_bytes() == b"%PDF-1.4 a full text to carry along"
    assert copied("status", SET, "--json").stdout == Cli(source_url)("status", SET, "--json").stdout  # same backend
    # the copy goes on as a review: new rows get new ids after the copied ones
    top = max(record_ids(copied("export", "--format", "csv", "--all").stdout))
    copied("set", "add-record", SET, "--title", "Late find", "--source", "grey literature", "--as", "pat")
    assert max(record_ids(copied("export", "--format", "csv", "--all").stdout)) == top + 1

    text_out = Cli(source_url)("copy", "--to", f"sqlite:///{tmp_path / 'again.db'}").output
    assert "row counts and checksums match" in text_out and " record " in text_out


def test_refuses_a_target_with_data(source: Database, source_url: str, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'busy.db'}"
    other = Cli(target_url)
    other("init")
    other("user", "add", "zoe", "--role", "admin")
    target = Database(target_url)
    before = summarise(target)
    with pytest.raises(Conflict) as err:
        copy_database(source, target_url)
    assert err.value.reason == "target_not_empty" and "app_user" in str(err.value)
    r = Cli(source_url)("copy", "--to", target_url, ok=False)
    assert r.exit_code == 1 and "already holds data" in r.output and "app_user" in r.output
    assert summarise(target) == before
    target.dispose()


def test_refuses_a_second_copy_into_the_same_target(source: Database, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    first = copy_database(source, target_url)
    with pytest.raises(Conflict, match="already holds data"):
        copy_database(source, target_url)
    target = Database(target_url)
    assert summarise(target) == first.tables
    target.dispose()


def test_a_mismatch_names_the_table_and_keeps_nothing(source: Database, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = copy_module._insert

    def lossy(conn, statement, rows):  # type: ignore[no-untyped-def]
        real(conn, statement, rows[:-1] if statement.table.name == "decision" else rows)

    monkeypatch.setattr(copy_module, "_insert", lossy)
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    with pytest.raises(CopyMismatch) as err:
        copy_database(source, target_url)
    assert err.value.table == "decision" and "table decision" in str(err.value)
    target = Database(target_url)
    assert all(t.rows == 0 for t in summarise(target).values())  # migrated, but empty
    target.dispose()


def test_checksums_see_every_difference(db: Database) -> None:
    """NULL vs "", JSON null vs SQL NULL, key order vs value: what the checksum must and must not tell apart."""
    with db.transaction() as s:
        s.add_all([ScreeningSet(name="a", criteria=None, gate=None), ScreeningSet(name="b", criteria="")])
    first = summarise(db)["screening_set"]
    with db.transaction() as s:
        s.execute(update(ScreeningSet).where(ScreeningSet.name == "b").values(criteria=None))
    assert summarise(db)["screening_set"] != first  # "" became NULL
    with db.transaction() as s:
        s.execute(update(ScreeningSet).where(ScreeningSet.name == "b").values(criteria=""))
    assert summarise(db)["screening_set"] == first
    set_gate = text("UPDATE screening_set SET gate = :gate WHERE name = 'a'")
    with db.engine.begin() as conn:  # the same JSON written with its keys in another order and spacing
        conn.execute(set_gate, {"gate": '{"b": 1, "a": [1.5, null]}'})
    one = summarise(db)["screening_set"]
    with db.engine.begin() as conn:
        conn.execute(set_gate, {"gate": '{"a":[1.5,null],"b":1}'})
    assert summarise(db)["screening_set"] == one
    with db.engine.begin() as conn:
        conn.execute(set_gate, {"gate": '{"a":[1.5,null],"b":2}'})
    assert summarise(db)["screening_set"] != one
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE screening_set SET gate = 'null' WHERE name = 'b'"))
    with_json_null = summarise(db)["screening_set"]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE screening_set SET gate = NULL WHERE name = 'b'"))
    assert summarise(db)["screening_set"] != with_json_null


def test_forward_references_and_small_batches(db: Database, tmp_path: Path) -> None:
    """A record marked a duplicate of a later one, across batches of two, and JSON null vs SQL NULL kept."""
    with db.transaction() as s:
        s.add_all([Record(title=f"r{i}", raw=[["TI", f"r{i}"]]) for i in range(9)])
        s.add_all([ScreeningSet(name="gated", gate={"statistic": "kappa", "threshold": 0.6}),
                   ScreeningSet(name="plain")])
    with db.transaction() as s:
        for dup, kept in ((1, 8), (2, 9), (3, 1), (5, 6)):
            s.execute(update(Record).where(Record.id == dup).values(duplicate_of=kept, dedup_scores={"t": 0.5}))
        s.execute(update(ScreeningSet).where(ScreeningSet.name == "plain").values(gate=None))  # JSON null
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    report = copy_database(db, target_url, batch_size=2)
    target = Database(target_url)
    assert report.tables == summarise(db) == summarise(target)
    with target.transaction() as s:
        rows = s.execute(select(Record.id, Record.duplicate_of).where(Record.duplicate_of.is_not(None))).all()
        assert {r.id: r.duplicate_of for r in rows} == {1: 8, 2: 9, 3: 1, 5: 6}
    target.dispose()
    assert sql_nulls(target_url) == sql_nulls(db.url)


def test_bad_and_same_targets_are_user_errors(source: Database, source_url: str) -> None:
    with pytest.raises(InvalidValue) as err:
        copy_database(source, "nosuchdialect://x/y")
    assert err.value.field == "target_url"
    r = Cli(source_url)("copy", "--to", "nosuchdialect://x/y", ok=False)
    assert r.exit_code == 1 and r.output.startswith("Error: --to:")
    with pytest.raises(InvalidValue, match="is the source database"):
        copy_database(source, source_url)


def test_refuses_a_source_on_an_older_schema(tmp_path: Path) -> None:
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old_url, "0001")
    old = Database(old_url)
    target = tmp_path / "copy.db"
    with pytest.raises(DatabaseError) as err:
        copy_database(old, f"sqlite:///{target}")
    old.dispose()
    assert err.value.reason == "schema_outdated" and "init" in str(err.value)
    assert not target.exists()  # refused before the target was touched


def test_the_command_is_documented() -> None:
    assert isinstance(cli.get_command(click.Context(cli), "copy"), click.Command)
    assert "screening copy --to" in (REPO / "README.md").read_text(encoding="utf-8")


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def empty_pg(worker_id: str) -> Iterator[str]:
    """A new, empty database (no schema: `copy` migrates it) on the real server."""
    yield fresh_pg_database(f"copy_{worker_id}")


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back(source: Database, source_url: str, empty_pg: str, tmp_path: Path) -> None:
    expected = summarise(source)
    expected_views = views(Cli(source_url))

    out = json.loads(Cli(source_url)("copy", "--to", empty_pg, "--json").stdout)
    assert {name: (t["rows"], t["checksum"]) for name, t in out["tables"].items()} == {
        name: (t.rows, t.checksum) for name, t in expected.items()}
    pg = Database(empty_pg)
    assert pg.engine.dialect.name == "postgresql"
    assert summarise(pg) == expected
    assert views(Cli(empty_pg)) == expected_views
    assert sql_nulls(empty_pg) == sql_nulls(source_url)

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    report = copy_database(pg, back_url)
    assert report.tables == expected
    back = Database(back_url)
    assert summarise(back) == expected
    back.dispose()
    assert views(Cli(back_url)) == expected_views
    assert sql_nulls(back_url) == sql_nulls(source_url)

    # the sequences were moved past the copied ids: the review goes on on the server
    on_pg = Cli(empty_pg)
    with pg.transaction() as s:
        top_record = s.scalar(select(func.max(Record.id)))
    on_pg("user", "add", "dan", "--role", "screener")
    on_pg("set", "add-record", SET, "--title", "Late find", "--source", "grey literature", "--as", "pat")
    with pg.transaction() as s:
        assert s.scalar(select(func.max(Record.id))) == top_record + 1
    with pytest.raises(Conflict, match="already holds data"):
        copy_database(back, empty_pg)
    pg.dispose()


@pytest.mark.postgres
def test_a_row_postgres_refuses_is_named_and_nothing_is_kept(db: Database, empty_pg: str) -> None:
    """SQLite keeps a name longer than its column; PostgreSQL does not: a typed error, and the target stays empty."""
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO app_user (name, role, created_at) VALUES (:n, 'screener', '2024-01-01')"),
                     {"n": "x" * 300})
    with pytest.raises(DatabaseError) as err:
        copy_database(db, empty_pg)
    assert err.value.reason == "copy_refused" and "table app_user" in str(err.value)
    pg = Database(empty_pg)
    assert all(t.rows == 0 for t in summarise(pg).values())
    pg.dispose()
