"""Shared fixtures.

The schema is built once per session by ``alembic upgrade head`` into a template SQLite
file, and each test gets its own copy: as fast as ``create_all`` but on the migrated schema.
Set ``SCREENING_TEST_PG_URL`` to also run the tests marked ``postgres`` on a real server.

Export files: the small fixtures in ``tests/data`` (listed with their source and licence in
``tests/data/MANIFEST.tsv`` and ``README.md``) and the package's demo exports are always there.
The real vendor exports in ``../shared/data/ris`` are read in place (some are GPL, so they are
never copied); tests that need them are marked :data:`needs_shared` and skip where that folder
is not beside this checkout.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from screening.cli.params import PAIRS
from screening.records.searches import add_search
from screening.review.sampling import draw_sample
from screening.review.sets import create_set
from screening.storage.db import Database
from screening.storage.migrate import upgrade
from screening.storage.models import Record
from screening.team.users import add_user

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_RIS = SHARED / "data" / "ris"  # the real vendor exports, with MANIFEST.tsv
DATA = Path(__file__).resolve().parent / "data"  # our fixtures, with MANIFEST.tsv
DEMO = REPO / "screening" / "demo"  # the package's demo exports (CC0 and made by us)

HAVE_SHARED = SHARED_RIS.is_dir()
needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason="../shared (the shared data) is not beside this checkout")


def shared_param(*values: object, id: str) -> object:
    """One parametrised case that reads ../shared: skipped, with the reason, where it is absent."""
    return pytest.param(*values, marks=needs_shared, id=id)


def read_manifest(path: Path) -> list[dict[str, str]]:
    """The rows of a MANIFEST.tsv (one export file per row: path, format, records, ...)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(autouse=True)
def _feature_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking caches TF-IDF matrices on disk; tests keep theirs out of the home folder."""
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for one test."""
    path = tmp_path / "screening.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


class Cli:
    """Runs the real `screening` command (in process) against one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: object, input: str | None = None, ok: bool = True):
        from screening.cli import cli

        result = self.runner.invoke(cli, [str(a) for a in args], input=input,
                                    env={"SCREENING_DB": self.url}, catch_exceptions=not ok)
        if ok and result.exit_code != 0:
            raise AssertionError(f"screening {' '.join(map(str, args))} exited {result.exit_code}:\n"
                                 f"{result.output}")
        return result


@pytest.fixture
def run(db_url: str) -> Cli:
    """Call the CLI: ``run("import", path, "--search", "s1")``; ``ok=False`` for expected failures."""
    return Cli(db_url)


def fresh_pg_database(suffix: str) -> str:
    """A new, empty database on the real PostgreSQL server (dropped first if a run left it); skips the
    test when no server is configured. Returns its URL."""
    url = pg_url()
    if not url:
        pytest.skip("SCREENING_TEST_PG_URL is not set (CI sets it and starts a real server)")
    from sqlalchemy import create_engine, make_url, text

    server = make_url(url)
    name = f"{server.database}_{suffix}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def pg_url() -> str | None:
    return os.environ.get("SCREENING_TEST_PG_URL")


# --- builders of review data, shared by test modules (import them from conftest) ----------------

def pairs_of(text: str) -> list[tuple[str, str]]:
    """Pairs written as on the command line (a+b,a+c), parsed by the CLI's own type."""
    return PAIRS.convert(text, None, None)


def make_records(session, search: str, n: int) -> None:
    """``n`` records in a new search of that name (titles "<search> record <i>")."""
    s = add_search(session, search, "MEDLINE")
    rows = [{"search_id": s.id, "title": f"{search} record {i}", "abstract": f"About {search} {i}", "raw": [],
             "format": "ris", "authors": [f"Author{i}, A"], "year": 2000 + i % 17} for i in range(n)]
    for i in range(0, n, 5000):
        session.execute(insert(Record), rows[i:i + 5000])


def small_review(db: Database, n: int = 40, seed: int = 7) -> None:
    """Set "access" of ``n`` records; screeners alice, bob, carol in three pairs, PI pat; a 25% test
    sample in batches of 5 (so ``n // 20`` batches when ``n`` is a multiple of 20)."""
    with db.transaction() as s:
        make_records(s, "medline", n)
        for u in ("alice", "bob", "carol"):
            add_user(s, u, "screener")
        add_user(s, "pat", "pi")
        create_set(s, "access", all_records=True, criteria="Include primary care models.", actor="pat")
        draw_sample(s, "access", pairs=pairs_of("alice+bob,alice+carol,bob+carol"), seed=seed, batch_size=5,
                    share=0.25, actor="pat")
